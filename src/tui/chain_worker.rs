//! The app's chain I/O, off the UI thread. One thread per unlocked session, started only when a
//! network is configured (without one no client exists and no socket is ever opened). It runs a
//! single-threaded tokio runtime with its own connection to the store (SQLite in WAL mode, the
//! same file the UI's connection uses): the store is `Send` but not `Sync`, so it stays on this
//! one thread, shared by the jobs running on it, which each call it synchronously between awaits.
//! Why a runtime of its own and not the app's (ARCHITECTURE §3 asks for one): those jobs hold the
//! store across awaits, so they are not `Send` and must run on a `LocalSet` pinned to one thread;
//! the app's multi-threaded runtime could drive a `LocalSet` only from a thread that blocks on it,
//! which is what this thread is. Its runtime is single-threaded and owns no worker threads.
//! Sending goes through the same transaction service as the command line
//! ([`crate::service::tx`]). Results go back to the UI's queue as actions carrying typed
//! [`ChainError`]s.
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use alloy::primitives::Address;
use keybot_keystore::secret::Secret32;
use tokio::sync::mpsc::{UnboundedSender, unbounded_channel};

use super::action::Action;
use super::app::Event;
use super::chain_market;
use super::error::{AppError, MarketReadError};
use super::screens::earnings::{EarningsAction, EarningsData};
use super::screens::wallet::WalletAction;
use crate::chain::send::Progress;
use crate::chain::{ChainError, Client, Intent, activity, balance};
use crate::service::{market, tx};
use crate::store::{SentTx, Store};

/// How long a send is followed before it is reported as pending.
pub const SEND_WAIT: Duration = Duration::from_secs(120);

pub enum Job {
    Refresh(Vec<Address>),
    Activity {
        own: Vec<Address>,
    },
    /// Reconcile, then prepare the review of `intent` (the addresses dealt with come from
    /// this thread's store).
    Prepare {
        id: u64,
        intent: Box<Intent>,
        own: Vec<Address>,
    },
    Broadcast(Box<SentTx>),
    /// Read the market index (the Market screen); with the wallet (`market.delivery = auto`),
    /// deliver the purchases of the user's listings too. Locking drops this thread, and with
    /// its tasks the wallet.
    MarketSync {
        own: Vec<Address>,
        deliver: Option<std::sync::Arc<keybot_keystore::Wallet>>,
        /// With the wallet (`market.challenge = auto`), a delivered key of the user's purchases
        /// that this client finds wrong is challenged at once.
        challenge: Option<std::sync::Arc<keybot_keystore::Wallet>>,
    },
    /// Build a market transaction (`item`: the vault item a sale lists) and answer with the
    /// wallet's review `id`. The wallet gives a purchase the buyer's market key.
    MarketPrepare {
        id: u64,
        tx: Box<super::screens::market_onchain::MarketTx>,
        item: Option<Box<crate::service::vault::ItemView>>,
        wallet: std::sync::Arc<keybot_keystore::Wallet>,
        own: Vec<Address>,
    },
    /// Read the market's new events, then the earnings of `own` (Earnings screen).
    Earnings {
        own: Vec<Address>,
    },
    /// A bot round's reads (by call index), answered with the chat screen's `ToolResults`.
    BotReads {
        reads: Vec<(usize, crate::bot::tools::Read)>,
        own: Vec<Address>,
        wallet: std::sync::Arc<keybot_keystore::Wallet>,
    },
    /// Build the review of `seller`'s withdrawal of `token` from the market; answered as the
    /// wallet's review (its send flow confirms and sends it).
    PrepareWithdraw {
        id: u64,
        seller: Address,
        token: Address,
        own: Vec<Address>,
    },
}

/// The handle the runtime keeps; dropping it ends the thread (and closes its store connection).
pub struct ChainWorker {
    jobs: UnboundedSender<Job>,
    /// Says when the thread has ended (its tasks dropped, its store closed).
    done: std::sync::mpsc::Receiver<()>,
}

/// Signals on drop: the chain thread's end, however it ends.
struct Ended(std::sync::mpsc::Sender<()>);

impl Drop for Ended {
    fn drop(&mut self) {
        let _ = self.0.send(());
    }
}

impl ChainWorker {
    pub fn start(
        client: Client,
        store_path: PathBuf,
        key: Secret32,
        events: UnboundedSender<Event>,
    ) -> std::io::Result<ChainWorker> {
        let (jobs, mut rx) = unbounded_channel::<Job>();
        let (ended, done) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("chain".into())
            .spawn(move || {
                // Sent when this closure returns, whichever way: its store and tasks are gone.
                let _ended = Ended(ended);
                let send = |a: Action| {
                    let _ = events.send(Event::Action(a));
                };
                let rt = match crate::chain::runtime() {
                    Ok(rt) => rt,
                    Err(e) => return send(Action::Error(AppError::ChainRuntime(Arc::new(e)))),
                };
                let store = match Store::open(&store_path, &key) {
                    Ok(s) => Some(Rc::new(s)),
                    Err(e) => {
                        send(Action::Error(AppError::ChainStore(Arc::new(e))));
                        None
                    }
                };
                drop(key);
                let local = tokio::task::LocalSet::new();
                local.block_on(&rt, async move {
                    while let Some(job) = rx.recv().await {
                        tokio::task::spawn_local(run(
                            job,
                            client.clone(),
                            store.clone(),
                            events.clone(),
                        ));
                    }
                });
            })?;
        Ok(ChainWorker { jobs, done })
    }

    /// At exit: no more jobs; waits up to `limit` for the thread to drop its tasks and close its
    /// store (a request waiting on a slow node is abandoned, not awaited).
    pub fn finish(self, limit: Duration) {
        let ChainWorker { jobs, done } = self;
        drop(jobs);
        let _ = done.recv_timeout(limit);
    }

    /// Queues a job; gives it back when the thread is gone.
    pub fn send(&self, job: Job) -> Result<(), Box<Job>> {
        self.jobs.send(job).map_err(|e| Box::new(e.0))
    }
}

/// Runs one job and sends its answer (and any notices on the way) to the UI's queue. Each kind
/// of job is a step of its own below; this only routes.
async fn run(job: Job, client: Client, store: Option<Rc<Store>>, events: UnboundedSender<Event>) {
    let send = |a: Action| {
        let _ = events.send(Event::Action(a));
    };
    let store = store.as_deref();
    match job {
        Job::Refresh(addresses) => refresh(&client, store, &addresses, &send).await,
        Job::Earnings { own } => {
            let loaded = match store {
                Some(store) => earnings(&client, store, &own).await,
                None => Err(no_store().into()),
            };
            send(Action::Earnings(EarningsAction::Loaded(loaded)));
        }
        Job::PrepareWithdraw {
            id,
            seller,
            token,
            own,
        } => {
            let review = prepare_withdraw(&client, store, seller, token, &own)
                .await
                .map(Box::new);
            send(Action::Wallet(WalletAction::ReviewReady {
                id,
                review,
                plan: None,
            }));
        }
        Job::Activity { own } => activity(&client, store, &own, &send).await,
        Job::BotReads { reads, own, wallet } => {
            let mut results = Vec::with_capacity(reads.len());
            for (index, read) in reads {
                let answer = match store {
                    Some(store) => {
                        let reader = crate::service::bot::Reader {
                            client: Some(&client),
                            store,
                            wallet: &wallet,
                            own: &own,
                        };
                        reader.read(&read).await
                    }
                    None => Err(no_store().to_string()),
                };
                results.push((index, answer));
            }
            send(Action::Chat(super::screens::chat::ChatAction::ToolResults(
                results,
            )));
        }
        Job::Prepare { id, intent, own } => {
            let review = tx::prepare(&client, store, *intent, &own)
                .await
                .map(Box::new);
            send(Action::Wallet(WalletAction::ReviewReady {
                id,
                review,
                plan: None,
            }));
        }
        Job::Broadcast(record) => broadcast(&client, store, &record, &send).await,
        Job::MarketSync {
            own,
            deliver,
            challenge,
        } => {
            let r = match store {
                Some(store) => {
                    chain_market::sync(&client, store, own, deliver, challenge, &send).await
                }
                None => Err(no_store().into()),
            };
            send(chain_market::synced(r));
        }
        Job::MarketPrepare {
            id,
            tx,
            item,
            wallet,
            own,
        } => {
            let r =
                chain_market::prepare(&client, store, *tx, item.map(|i| *i), &wallet, &own).await;
            chain_market::answer(id, r, &send);
        }
    }
}

/// Why a job that needs the store could not run: this thread could not open it.
fn no_store() -> ChainError {
    ChainError::Store("the store is not open".into())
}

/// The block number and the balances of `addresses`; once online with a market, the market's
/// indexer runs too (the Earnings screen shows what it stored).
async fn refresh(
    client: &Client,
    store: Option<&Store>,
    addresses: &[Address],
    send: &dyn Fn(Action),
) {
    let r = async {
        let rows = balance::balances(client, addresses).await?;
        let block = client.block_number().await?;
        Ok::<_, ChainError>((block, rows))
    }
    .await;
    let online = r.is_ok();
    send(Action::Wallet(WalletAction::ChainRefreshed(r)));
    if online
        && client.network.market.is_some()
        && let Some(store) = store
    {
        let loaded = earnings(client, store, addresses).await;
        send(Action::Earnings(EarningsAction::Loaded(loaded)));
    }
}

/// The review of `seller`'s withdrawal of `token`, with what passed its window but is not
/// settled on chain yet settled in the same call.
pub(super) async fn prepare_withdraw(
    client: &Client,
    store: Option<&Store>,
    seller: Address,
    token: Address,
    own: &[Address],
) -> Result<crate::chain::send::Review, ChainError> {
    let refused = |e: anyhow::Error| {
        ChainError::Refused(crate::chain::Refusal::BadCall {
            function: "withdraw".into(),
            reason: format!("{e:#}"),
        })
    };
    let m = market::market_of(client).map_err(|e| refused(e.into()))?;
    let (settle, claimable) = match store {
        Some(store) => {
            let book = market::sync(client, store, m).await?;
            let now = market::chain_time(client).await?;
            (
                book.to_settle(seller, token, now),
                Some(book.claimable(seller, token, now)),
            )
        }
        None => (Vec::new(), None),
    };
    let amount = match claimable {
        Some(units) => market::format_price(client, token, units),
        None => "everything the market holds for you".into(),
    };
    let call = market::withdraw_call(seller, m, token, seller, settle)
        .map_err(refused)?
        .purpose(crate::market::receipt::withdraw(&amount, m.address, seller));
    tx::prepare(client, store, Intent::Call(call), own).await
}

/// The activity list: synced with the chain (or why not), then listed from the store.
async fn activity(client: &Client, store: Option<&Store>, own: &[Address], send: &dyn Fn(Action)) {
    let Some(store) = store else {
        return send(Action::Wallet(WalletAction::ActivityLoaded {
            entries: vec![],
            synced: Err(no_store()),
        }));
    };
    let synced = activity::sync(client, store, own).await;
    let chain_id = client.network.chain_id;
    let entries = match (store.sent_txs(chain_id), store.transfers(chain_id)) {
        (Ok(sent), Ok(transfers)) => activity::entries(&sent, &transfers, own),
        (Err(e), _) | (_, Err(e)) => {
            send(Action::Error(e.into()));
            vec![]
        }
    };
    send(Action::Wallet(WalletAction::ActivityLoaded {
        entries,
        synced,
    }));
}

/// Broadcasts a signed transaction once and follows it, with a line of progress on the way.
/// Without the store it cannot be recorded first, so it is not sent.
async fn broadcast(client: &Client, store: Option<&Store>, record: &SentTx, send: &dyn Fn(Action)) {
    let hash = record.hash;
    let mut progress = |p: Progress| {
        send(Action::Wallet(WalletAction::SendProgress(match p {
            Progress::Broadcast(h) => format!("broadcast {h}; waiting for the receipt"),
            Progress::Waiting { seconds } => {
                format!("broadcast {hash}; waiting {seconds} s for the receipt")
            }
        })))
    };
    let (outcome, said) =
        match tx::broadcast_with_logs(client, store, record, SEND_WAIT, &mut progress).await {
            Ok((outcome, logs)) => {
                let said = match outcome {
                    crate::chain::send::Outcome::Confirmed { .. } => {
                        market_result(client, record, &logs).await
                    }
                    _ => None,
                };
                (Ok(outcome), said)
            }
            Err(e) => (Err(e), None),
        };
    send(Action::Wallet(WalletAction::SendFinished {
        hash: Some(hash),
        outcome,
        said,
    }));
}

/// What a confirmed market transaction did, in words, from the market contract's own events in
/// its receipt's `logs` ("Listed #2 for 5 tUSD."); None for any other transaction. Only logs
/// the market emitted count: a token contract could emit a log that looks like the market's.
pub(crate) async fn market_result(
    client: &Client,
    record: &SentTx,
    logs: &[alloy::rpc::types::Log],
) -> Option<String> {
    use crate::chain::market_contract::DataMarket;
    use crate::market::events::MarketEvent;
    use alloy::sol_types::SolCall as _;
    let m = market::market_of(client).ok()?;
    if record.to != m.address {
        return None;
    }
    let events: Vec<MarketEvent> = logs
        .iter()
        .filter(|l| l.address() == m.address)
        .filter_map(MarketEvent::decode)
        .collect();
    let to = record.call.as_ref().and_then(|c| {
        DataMarket::withdrawCall::abi_decode(&c.data)
            .ok()
            .map(|w| w.to)
    });
    // A reprice's event names no token: the listing's, read from the market itself.
    let mut tokens = Vec::new();
    for e in &events {
        if let MarketEvent::Repriced { listing, .. } = e {
            let contract = DataMarket::new(m.address, client.provider());
            if let Ok(l) = contract
                .listings(alloy::primitives::U256::from(*listing))
                .call()
                .await
            {
                tokens.push((*listing, l.token));
            }
        }
    }
    let token_of = |id: u64| tokens.iter().find(|(l, _)| *l == id).map(|(_, t)| *t);
    let price = |token, units| market::format_price(client, token, units);
    crate::market::receipt::done(&events, &price, to, &token_of)
}

/// Syncs the market and computes the earnings of `own`, with the tokens to word them.
async fn earnings(
    client: &Client,
    store: &Store,
    own: &[Address],
) -> Result<Box<EarningsData>, MarketReadError> {
    let m = market::market_of(client)?;
    let confirmations = market::default_confirmations(client);
    let earnings = market::sync_earnings(client, store, m, own, confirmations).await?;
    let mut tokens: Vec<crate::chain::Token> = market::token_of(client, Address::ZERO)
        .into_iter()
        .collect();
    tokens.extend(client.network.tokens.iter().cloned());
    Ok(Box::new(EarningsData { earnings, tokens }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::Network;
    use crate::chain::send::{self, Asset, Review, SendRequest};
    use alloy::primitives::U256;
    use tokio::sync::mpsc::UnboundedReceiver;

    /// A network whose RPC refuses connections (a closed local port): every job must come back
    /// as an action with a one-line error, never hang or panic.
    fn worker() -> (tempfile::TempDir, ChainWorker, UnboundedReceiver<Event>) {
        let dir = tempfile::tempdir().unwrap();
        let net = Network {
            chain_id: 31337,
            rpc: "http://127.0.0.1:1".into(),
            dev: true,
            market: None,
            market_block: None,
            tokens: vec![],
        };
        let client = Client::new("local", &net).unwrap();
        let (tx, rx) = unbounded_channel();
        let w = ChainWorker::start(
            client,
            dir.path().join(crate::store::FILE_NAME),
            Secret32::new([7; 32]),
            tx,
        )
        .unwrap();
        (dir, w, rx)
    }

    fn next(rx: &mut UnboundedReceiver<Event>) -> Action {
        let rt = crate::chain::runtime().unwrap();
        match rt.block_on(async { tokio::time::timeout(Duration::from_secs(30), rx.recv()).await })
        {
            Ok(Some(Event::Action(a))) => a,
            _ => panic!("no action from the chain thread"),
        }
    }

    #[test]
    fn earnings_against_a_dead_rpc_or_without_a_market_answer_in_one_line() {
        let (_dir, w, mut rx) = worker();
        assert!(w.send(Job::Earnings { own: vec![] }).is_ok());
        match next(&mut rx) {
            Action::Earnings(EarningsAction::Loaded(Err(e))) => {
                let e = e.to_string();
                assert!(e.contains("has no market") && !e.contains('\n'), "{e}")
            }
            other => panic!("{other:?}"),
        }
        assert!(
            w.send(Job::PrepareWithdraw {
                id: 9,
                seller: Address::repeat_byte(1),
                token: Address::ZERO,
                own: vec![],
            })
            .is_ok()
        );
        match next(&mut rx) {
            Action::Wallet(WalletAction::ReviewReady { id: 9, review, .. }) => {
                assert!(review.unwrap_err().to_string().contains("has no market"))
            }
            other => panic!("{other:?}"),
        }
        w.finish(Duration::from_secs(10));
    }

    #[test]
    fn jobs_against_a_dead_rpc_answer_offline() {
        let (dir, w, mut rx) = worker();
        assert!(w.send(Job::Refresh(vec![Address::ZERO])).is_ok());
        match next(&mut rx) {
            Action::Wallet(WalletAction::ChainRefreshed(Err(e))) => {
                assert!(
                    e.is_offline() && e.to_string().starts_with("offline"),
                    "{e}"
                )
            }
            other => panic!("{other:?}"),
        }
        assert!(w.send(Job::Activity { own: vec![] }).is_ok());
        match next(&mut rx) {
            Action::Wallet(WalletAction::ActivityLoaded { entries, synced }) => {
                assert!(entries.is_empty());
                assert!(synced.unwrap_err().to_string().contains("offline"));
            }
            other => panic!("{other:?}"),
        }
        let request = SendRequest {
            from: Address::repeat_byte(1),
            to: Address::repeat_byte(2),
            asset: Asset::Eth,
            amount: U256::from(1u64),
        };
        assert!(
            w.send(Job::Prepare {
                id: 4,
                intent: Box::new(request.clone().into()),
                own: vec![],
            })
            .is_ok()
        );
        match next(&mut rx) {
            Action::Wallet(WalletAction::ReviewReady { id: 4, review, .. }) => {
                assert!(review.unwrap_err().to_string().starts_with("offline"))
            }
            other => panic!("{other:?}"),
        }
        // A signed transaction whose broadcast cannot reach the RPC is recorded, not lost.
        let review = Review {
            network: "local".into(),
            chain_id: 31337,
            intent: request.into(),
            nonce: 0,
            gas_limit: 21_000,
            max_fee_per_gas: 1,
            max_priority_fee_per_gas: 1,
            eth_balance: U256::ZERO,
            warnings: vec![],
        };
        let wallet = keybot_keystore::Wallet::new(
            keybot_keystore::Phrase::parse(
                "test test test test test test test test test test test junk",
            )
            .unwrap(),
            "",
        )
        .unwrap();
        let signed = wallet
            .sign_transaction(keybot_keystore::AccountRef::Hd(0), review.unsigned())
            .unwrap();
        let record = send::sent_record(&review, &signed);
        assert!(w.send(Job::Broadcast(Box::new(record))).is_ok());
        match next(&mut rx) {
            Action::Wallet(WalletAction::SendFinished {
                hash: Some(h),
                outcome: Ok(crate::chain::send::Outcome::RpcLost { .. }),
                ..
            }) => assert_eq!(h, signed.hash),
            other => panic!("{other:?}"),
        }
        // It is in the store (the UI's own connection sees it), left open for reconcile.
        let store = Store::open(
            &dir.path().join(crate::store::FILE_NAME),
            &Secret32::new([7; 32]),
        )
        .unwrap();
        let sent = store.sent_txs(31337).unwrap();
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].hash, signed.hash);
        assert!(sent[0].status.is_open());
        // Waited for, not left running: a thread still closing its store while the test binary
        // exits can crash in the TLS and SQLCipher libraries' exit handlers.
        w.finish(Duration::from_secs(10));
    }
}
