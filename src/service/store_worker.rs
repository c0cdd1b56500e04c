//! The app's store, on a thread of its own. SQLite calls block (a write waits for fsync), so
//! none of them runs on the app's event loop: the runtime hands the worker jobs and each job
//! sends its own typed result back. Jobs run one at a time in the order they were given, so a
//! chat message saved before its answer is also stored before it.
use std::sync::mpsc::{Sender, channel};

use crate::store::Store;

type Job = Box<dyn FnOnce(&mut Store) + Send>;

/// The handle the runtime keeps. Dropping it lets the thread finish the jobs already queued,
/// then close the store (locking the app drops it).
pub struct StoreWorker {
    jobs: Sender<Job>,
}

impl StoreWorker {
    pub fn start(mut store: Store) -> std::io::Result<StoreWorker> {
        let (jobs, rx) = channel::<Job>();
        std::thread::Builder::new()
            .name("store".into())
            .spawn(move || {
                while let Ok(job) = rx.recv() {
                    job(&mut store);
                }
            })?;
        Ok(StoreWorker { jobs })
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
}
