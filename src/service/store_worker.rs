//! The app's store, on a thread of its own. SQLite calls block (a write waits for fsync), so
//! none of them runs on the app's event loop: the runtime hands the worker jobs and each job
//! sends its own typed result back. Jobs run one at a time in the order they were given, so a
//! chat message saved before its answer is also stored before it.
use std::sync::mpsc::{Sender, channel};
use std::thread::JoinHandle;

use crate::store::Store;

type Job = Box<dyn FnOnce(&mut Store) + Send>;

/// The handle the runtime keeps. Dropping it lets the thread finish the jobs already queued,
/// then close the store (locking the app drops it); [`StoreWorker::finish`] also waits for that.
pub struct StoreWorker {
    jobs: Sender<Job>,
    thread: JoinHandle<()>,
}

impl StoreWorker {
    pub fn start(mut store: Store) -> std::io::Result<StoreWorker> {
        let (jobs, rx) = channel::<Job>();
        let thread = std::thread::Builder::new()
            .name("store".into())
            .spawn(move || {
                while let Ok(job) = rx.recv() {
                    job(&mut store);
                }
            })?;
        Ok(StoreWorker { jobs, thread })
    }

    /// Lets the thread finish the jobs already queued, close the store, and waits for it: at
    /// exit, so that no queued write is lost and no SQLCipher call is still running while the
    /// process tears down its C libraries (that raced into a segmentation fault at quit on a
    /// loaded machine).
    pub fn finish(self) {
        let StoreWorker { jobs, thread } = self;
        drop(jobs);
        let _ = thread.join();
    }

    /// Queues `job`; false when the thread is gone (it panicked), and the job was dropped.
    pub fn run(&self, job: impl FnOnce(&mut Store) + Send + 'static) -> bool {
        self.jobs.send(Box::new(job)).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jobs_run_in_order_on_the_worker_thread() {
        let dir = tempfile::tempdir().unwrap();
        let key = keybot_keystore::secret::Secret32::new([7; 32]);
        let store = Store::open(&dir.path().join("keybot.db"), &key).unwrap();
        let worker = StoreWorker::start(store).unwrap();
        let (tx, rx) = channel();
        let here = std::thread::current().id();
        for i in 0..20 {
            let tx = tx.clone();
            assert!(worker.run(move |s| {
                s.set_setting("k", &i.to_string()).unwrap();
                let v = s.setting("k").unwrap().unwrap();
                tx.send((v, std::thread::current().id())).unwrap();
            }));
        }
        for i in 0..20 {
            let (v, thread) = rx.recv().unwrap();
            assert_eq!(v, i.to_string());
            assert_ne!(thread, here);
        }
    }

    #[test]
    fn finish_runs_every_queued_job_and_closes_the_store_before_it_returns() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keybot.db");
        let key = keybot_keystore::secret::Secret32::new([7; 32]);
        let worker = StoreWorker::start(Store::open(&path, &key).unwrap()).unwrap();
        // A gate holds the first job until everything is queued, so that `finish` starts with
        // all of them still waiting.
        let (open, gate) = channel::<()>();
        assert!(worker.run(move |_| gate.recv().unwrap()));
        for i in 0..50 {
            assert!(worker.run(move |s| s.set_setting(&format!("k{i}"), "v").unwrap()));
        }
        open.send(()).unwrap();
        worker.finish();
        // Every write is there, read by a store opened after the worker closed its own.
        let store = Store::open(&path, &key).unwrap();
        for i in 0..50 {
            assert_eq!(
                store.setting(&format!("k{i}")).unwrap().as_deref(),
                Some("v")
            );
        }
    }
}
