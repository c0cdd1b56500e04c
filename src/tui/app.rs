//! The terminal app's runtime: one tokio runtime, one queue. Input, a tick, the chat engine and
//! background work feed the queue; the loop drains everything pending, runs it through the pure
//! `update`, routes the effects to the services, and redraws at most every ~16 ms.
//!
//! The runtime does no work itself: no store, chain, model or keystore call runs on the event
//! loop. Store work goes to the store worker (`service::store_worker`), the model to the chat
//! service's engine thread, chain work to the chain thread, and the rest (opening the vault,
//! reading the model registry, files) to `spawn_blocking`. Each answers through the queue.
use std::io::IsTerminal;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use crossterm::event::{Event as TermEvent, EventStream};
use futures_util::StreamExt;
use keybot_keystore::secret::{Password, Secret32};
use keybot_keystore::{Phrase, Wallet};
use tokio::sync::mpsc::{UnboundedSender, unbounded_channel};

use super::action::Action;
use super::chain_worker::{ChainWorker, Job};
use super::effect::Effect;
use super::error::{AppError, ModelError, UnlockError};
use super::screens::chat::{ChatAction, ChatEffect};
use super::screens::chat_bot::{self, BotRound};
use super::screens::earnings::{EarningsAction, EarningsEffect};
use super::screens::market::{MarketAction, MarketEffect, MarketItem};
use super::screens::onboarding::{OnboardingAction, OnboardingEffect};
use super::screens::settings::SettingsEffect;
use super::screens::unlock::{UnlockAction, UnlockEffect};
use super::screens::wallet::{WalletAction, WalletEffect};
use super::state::{Level, ModelStatus, NetInfo, NetLevel, NetView, Screen, SecretText, State};
use super::terminal::TerminalGuard;
use super::theme::{self, Theme};
use super::{keymap, ui, update};
use crate::chain::{ChainConfig, Client, Network};
use crate::chat::{self, ChatEvent, GenerateRequest, LoadRequest};
use crate::config::Paths;
use crate::service::accounts::{self, Account};
use crate::service::chat::{self as chat_service, Answer, ChatEngine, TurnRequest};
use crate::service::settings::{self, Settings};
use crate::service::store_worker::StoreWorker;
use crate::service::wallet::{self as wallet_service, Unlocked};
use crate::store::{ConversationId, Store};

/// What arrives in the queue.
pub enum Event {
    /// Terminal input, stamped when it left the terminal (for the input-latency figure).
    Term(TermEvent, Instant),
    Tick,
    Chat(ChatEvent),
    Action(Action),
    /// A vault was opened or created: the secrets go to the runtime, never into `State`.
    Opened(Box<Opened>),
    /// A saved question, ready to be answered (after its conversation reached `update`).
    Generate(Box<GenerateRequest>),
    /// The default model, ready to be loaded.
    Load(Box<LoadRequest>),
    /// A chain job whose store part is done.
    Chain(Box<Job>),
    /// A theme read from its file, and a warning about it, if any.
    Theme(Box<(Theme, Option<String>)>),
    Terminate,
}

/// Everything unlocking reads, gathered off the event loop.
pub struct Opened {
    unlocked: Unlocked,
    settings: Settings,
    /// Lines to show once: settings that were bad and replaced, a default model that moved.
    notes: Vec<String>,
    accounts: Vec<Account>,
    default_model: Option<String>,
    theme: (Theme, Option<String>),
    /// The configured network with the store key for the chain thread; or why it cannot start.
    network: Result<Option<(String, Network, Secret32)>, anyhow::Error>,
}

/// How the vault is opened.
enum Open {
    Existing(Password),
    Create {
        phrase: SecretText,
        passphrase: SecretText,
        password: Password,
    },
}

/// Runs the app until the user quits. Needs a terminal on stdin and stdout.
pub fn run(paths: &Paths) -> Result<()> {
    let start = Instant::now();
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        bail!(
            "the terminal app needs a terminal; for scripts use the subcommands (see keybot --help)"
        );
    }
    let tokio_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    tokio_runtime.block_on(main_loop(paths.clone(), start))
}

/// The unlocked half of the runtime, dropped whole on lock.
struct Session {
    wallet: Arc<Wallet>,
    store: StoreWorker,
}

/// Routes effects to the services and their results back into the queue.
struct Runtime {
    paths: Paths,
    queue: UnboundedSender<Event>,
    session: Option<Session>,
    chat: ChatEngine,
    /// The chain thread, while unlocked and only when a network is configured.
    chain: Option<ChainWorker>,
    settings: Settings,
    theme: Theme,
}

async fn main_loop(paths: Paths, start: Instant) -> Result<()> {
    let (tx, mut rx) = unbounded_channel::<Event>();
    let mut timings = Figures::from_env(start);
    let mut state = State::new(paths.vault().exists());
    let (theme, theme_warning) = theme::load("dark", Some(&paths.config_dir.join("themes")));
    let mut runtime = Runtime::new(paths, tx.clone(), theme, theme_warning);

    spawn_input(tx.clone());
    spawn_ticks(tx.clone());
    spawn_signals(tx.clone());

    let (_guard, mut terminal) = TerminalGuard::enter().context("cannot set up the terminal")?;
    // Rendered messages, kept between frames (a memo; `ui` fills it).
    let mut render_cache = ui::RenderCache::default();
    if let Ok(size) = terminal.size() {
        update::update(&mut state, Action::Resize(size.width, size.height));
    }
    terminal.draw(|f| ui::draw_with(f, &state, &runtime.theme, &mut render_cache))?;
    timings.first_frame();
    #[expect(
        clippy::panic,
        reason = "on purpose: the terminal test checks that a panic restores the terminal"
    )]
    if cfg!(debug_assertions) && std::env::var_os("KEYBOT_DEBUG_PANIC").is_some() {
        panic!("KEYBOT_DEBUG_PANIC is set: panicking after the first frame (debug builds only)");
    }
    let mut last_draw = Instant::now();
    while let Some(first) = rx.recv().await {
        timings.saw(&first);
        let mut dirty = runtime.handle(&mut state, first, start);
        while let Ok(ev) = rx.try_recv() {
            timings.saw(&ev);
            dirty |= runtime.handle(&mut state, ev, start);
        }
        if state.quit {
            break;
        }
        if !dirty {
            continue;
        }
        // Coalesce: a burst of tokens or keys becomes one frame.
        let since = last_draw.elapsed();
        if since < Duration::from_millis(16) {
            tokio::time::sleep(Duration::from_millis(16) - since).await;
            while let Ok(ev) = rx.try_recv() {
                timings.saw(&ev);
                runtime.handle(&mut state, ev, start);
            }
            if state.quit {
                break;
            }
        }
        terminal.draw(|f| ui::draw_with(f, &state, &runtime.theme, &mut render_cache))?;
        last_draw = Instant::now();
        // What this frame shows is seen from now on: a review's `y` counts only after it.
        update::update(&mut state, Action::Drawn(ms_since(start, last_draw)));
        timings.drawn(state.generating());
    }
    timings.write();
    runtime.chat.stop();
    runtime.finish();
    Ok(())
}

/// Figures for `scripts/bench-tui.sh`, written to `KEYBOT_TIMINGS=FILE` at exit: time from start to
/// the first frame, and for each key the time from leaving the terminal to the frame that shows
/// it (marked when a generation was running). Off unless the variable is set.
struct Figures {
    file: Option<std::path::PathBuf>,
    start: Instant,
    first_frame_ms: Option<f64>,
    pending: Vec<Instant>,
    keys: Vec<(f64, bool)>,
}

impl Figures {
    fn from_env(start: Instant) -> Figures {
        let file = std::env::var_os("KEYBOT_TIMINGS").map(Into::into);
        Figures {
            file,
            start,
            first_frame_ms: None,
            pending: Vec::new(),
            keys: Vec::new(),
        }
    }

    fn first_frame(&mut self) {
        self.first_frame_ms = Some(self.start.elapsed().as_secs_f64() * 1e3);
    }

    fn saw(&mut self, ev: &Event) {
        if let (Some(_), Event::Term(TermEvent::Key(_), at)) = (&self.file, ev) {
            self.pending.push(*at);
        }
    }

    fn drawn(&mut self, generating: bool) {
        let now = Instant::now();
        for at in self.pending.drain(..) {
            self.keys.push(((now - at).as_secs_f64() * 1e3, generating));
        }
    }

    fn write(&self) {
        let Some(file) = &self.file else { return };
        let mut out = format!(
            "first_frame_ms {:.2}\n",
            self.first_frame_ms.unwrap_or(f64::NAN)
        );
        for (ms, generating) in &self.keys {
            out.push_str(&format!(
                "key_ms {ms:.2} {}\n",
                if *generating { "generating" } else { "idle" }
            ));
        }
        let _ = std::fs::write(file, out);
    }
}

/// Milliseconds from the app's start to `at` (0 for an instant before it).
fn ms_since(start: Instant, at: Instant) -> u64 {
    u64::try_from(at.saturating_duration_since(start).as_millis()).unwrap_or(u64::MAX)
}

fn spawn_input(tx: UnboundedSender<Event>) {
    tokio::spawn(async move {
        let mut events = EventStream::new();
        while let Some(Ok(ev)) = events.next().await {
            if tx.send(Event::Term(ev, Instant::now())).is_err() {
                break;
            }
        }
    });
}

fn spawn_ticks(tx: UnboundedSender<Event>) {
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(Duration::from_millis(250));
        loop {
            interval.tick().await;
            if tx.send(Event::Tick).is_err() {
                break;
            }
        }
    });
}

fn spawn_signals(tx: UnboundedSender<Event>) {
    use tokio::signal::unix::{SignalKind, signal};
    for kind in [SignalKind::terminate(), SignalKind::hangup()] {
        let tx = tx.clone();
        if let Ok(mut s) = signal(kind) {
            tokio::spawn(async move {
                if s.recv().await.is_some() {
                    let _ = tx.send(Event::Terminate);
                }
            });
        }
    }
}

impl Runtime {
    fn new(
        paths: Paths,
        queue: UnboundedSender<Event>,
        theme: Theme,
        theme_warning: Option<String>,
    ) -> Runtime {
        let events = queue.clone();
        let runtime = Runtime {
            paths,
            queue,
            session: None,
            chat: ChatEngine::new(move |ev| events.send(Event::Chat(ev)).is_ok()),
            chain: None,
            settings: Settings::default(),
            theme,
        };
        if let Some(w) = theme_warning {
            runtime.error(AppError::Theme(w));
        }
        runtime
    }

    /// Handles one queued event; returns whether the screen may have changed.
    fn handle(&mut self, state: &mut State, ev: Event, start: Instant) -> bool {
        let actions: Vec<Action> = match ev {
            Event::Term(TermEvent::Key(k), at) => {
                let typed = Action::UserActivity(ms_since(start, at));
                match keymap::key(state, k) {
                    Some(a) => vec![typed, a],
                    None => vec![typed],
                }
            }
            Event::Term(TermEvent::Mouse(m), _) => keymap::mouse(m).into_iter().collect(),
            Event::Term(TermEvent::Paste(p), at) => vec![
                Action::UserActivity(ms_since(start, at)),
                Action::Edit(super::action::Edit::Paste(p)),
            ],
            Event::Term(TermEvent::Resize(cols, rows), _) => vec![Action::Resize(cols, rows)],
            Event::Term(..) => vec![],
            Event::Tick => vec![Action::Tick(start.elapsed().as_millis() as u64)],
            Event::Chat(c) => vec![Action::Chat(ChatAction::Event(c))],
            Event::Action(a) => vec![a],
            Event::Opened(opened) => self.opened(state, *opened),
            Event::Generate(req) => {
                if let Err(e) = self.chat.generate(*req) {
                    self.error(e);
                }
                return false;
            }
            Event::Load(req) => {
                if let Err(e) = self.chat.load(*req) {
                    self.error(e);
                }
                return false;
            }
            Event::Chain(job) => {
                self.chain_job(*job);
                return false;
            }
            Event::Theme(loaded) => {
                let (theme, warning) = *loaded;
                self.theme = theme;
                if let Some(w) = warning {
                    self.error(AppError::Theme(w));
                }
                return true;
            }
            Event::Terminate => {
                state.quit = true;
                return true;
            }
        };
        let tick_only = matches!(actions.as_slice(), [Action::Tick(_)]);
        // Only what a tick can change is copied, not the whole state: the state holds typed
        // passwords and phrase words, which must not be duplicated on every tick.
        let before = tick_only.then(|| TickView::of(state));
        for a in actions {
            for effect in update::update(state, a) {
                self.perform(effect);
            }
        }
        // A tick changes only the clock unless something (auto-lock) happened.
        before.is_none_or(|b| b != TickView::of(state))
    }

    /// Takes over what unlocking gathered: the session, its settings (shown on the settings
    /// screen), its theme and its chain thread.
    fn opened(&mut self, state: &mut State, opened: Opened) -> Vec<Action> {
        let Opened {
            unlocked,
            settings,
            notes,
            accounts,
            default_model,
            theme: (theme, theme_warning),
            network,
        } = opened;
        let store = match StoreWorker::start(unlocked.store) {
            Ok(s) => s,
            Err(e) => {
                return vec![Action::Unlock(UnlockAction::UnlockFailed(
                    UnlockError::StoreThread(Arc::new(e)),
                ))];
            }
        };
        self.session = Some(Session {
            wallet: Arc::new(unlocked.wallet),
            store,
        });
        for item in &mut state.settings.items {
            item.value = match item.key {
                settings::DEFAULT_MODEL => default_model.clone().unwrap_or_default(),
                key => settings.text(key).unwrap_or_default(),
            };
        }
        self.settings = settings;
        self.theme = theme;
        let notes: Vec<String> = theme_warning.into_iter().chain(notes).collect();
        let (network, unusable) = match network {
            Ok(Some((name, network, key))) => (self.start_chain(name, network, key), None),
            Ok(None) => (None, None),
            Err(e) => (None, Some(Arc::new(e))),
        };
        if !notes.is_empty() || unusable.is_some() {
            self.error(AppError::Opened {
                notes,
                network: unusable,
            });
        }
        vec![
            Action::WalletReady {
                accounts: rows(accounts),
            },
            Action::Wallet(WalletAction::NetworkConfigured(network)),
        ]
    }

    /// Puts an action in the queue.
    fn dispatch(&self, a: Action) {
        let _ = self.queue.send(Event::Action(a));
    }

    fn error(&self, e: impl Into<AppError>) {
        self.dispatch(Action::Error(e.into()));
    }

    /// Runs `work` off the event loop and queues what it returns.
    fn blocking(&self, work: impl FnOnce() -> Event + Send + 'static) {
        let queue = self.queue.clone();
        tokio::task::spawn_blocking(move || {
            let _ = queue.send(work());
        });
    }

    /// At exit: the chain thread gets a moment to close its store, and the store thread finishes
    /// its queued jobs and closes the store, before the process tears its libraries down.
    fn finish(&mut self) {
        if let Some(chain) = self.chain.take() {
            chain.finish(Duration::from_secs(2));
        }
        if let Some(session) = self.session.take() {
            session.store.finish();
        }
    }

    /// Reads or writes the model registry off the loop, in order: "make it the default" and
    /// the "load the default" that follows it run one after the other (on the store thread,
    /// whose jobs run in order; before unlocking, in `spawn_blocking`).
    fn models(&self, work: impl FnOnce() -> Event + Send + 'static) {
        if self.session.is_some() {
            self.with_store(move |_, _, queue| {
                let _ = queue.send(work());
            });
        } else {
            self.blocking(work);
        }
    }

    /// Runs `job` on the store worker (while unlocked); it answers through the queue it is given.
    fn with_store(
        &self,
        job: impl FnOnce(&mut Store, &Wallet, &UnboundedSender<Event>) + Send + 'static,
    ) {
        let Some(session) = &self.session else { return };
        let queue = self.queue.clone();
        let wallet = Arc::clone(&session.wallet);
        if !session.store.run(move |store| job(store, &wallet, &queue)) {
            self.error(AppError::StoreStopped);
        }
    }

    /// A store job whose result becomes an action; a store error becomes an error line.
    fn store_action(
        &self,
        job: impl FnOnce(&mut Store) -> crate::store::Result<Option<Action>> + Send + 'static,
    ) {
        self.with_store(move |store, _, queue| {
            let action = match job(store) {
                Ok(Some(a)) => a,
                Ok(None) => return,
                Err(e) => Action::Error(e.into()),
            };
            let _ = queue.send(Event::Action(action));
        });
    }

    /// Routes one effect to the part of the runtime for its screen; nothing here waits for an
    /// answer.
    fn perform(&mut self, effect: Effect) {
        match effect {
            Effect::Quit => {}
            Effect::Lock => self.lock(),
            Effect::Copy(text) => self.copy(text),
            Effect::Onboarding(effect) => self.perform_onboarding(effect),
            Effect::Unlock(effect) => self.perform_unlock(effect),
            Effect::Wallet(effect) => self.perform_wallet(effect),
            Effect::Chat(effect) => self.perform_chat(effect),
            Effect::Settings(effect) => self.perform_settings(effect),
            Effect::Market(effect) => self.perform_market(effect),
            Effect::Earnings(effect) => self.perform_earnings(effect),
        }
    }

    /// The sale vault, on the store thread (the consent signs there too, with account 0 and the
    /// clock read there). Each change answers with the item it changed, or the list; a refusal
    /// or a store error becomes an error line.
    fn perform_market(&mut self, effect: MarketEffect) {
        use crate::service::vault;
        fn items(store: &Store) -> Result<Vec<MarketItem>> {
            Ok(vault::list(store)?.into_iter().map(Into::into).collect())
        }
        fn updated(view: vault::ItemView) -> Result<Vec<Action>> {
            Ok(vec![Action::Market(MarketAction::Updated(Box::new(
                view.into(),
            )))])
        }
        match effect {
            MarketEffect::List => self
                .vault_job(|store, _| Ok(vec![Action::Market(MarketAction::Items(items(store)?))])),
            MarketEffect::AddChat(conversation) => self.vault_job(move |store, _| {
                let id = vault::add_chat(store, conversation, None)?.item.id;
                Ok(vec![Action::Market(MarketAction::Added {
                    items: items(store)?,
                    id,
                })])
            }),
            MarketEffect::AddFile(path) => self.add_file(path),
            MarketEffect::ReadWithModel(id) => self.read_with_model(id),
            MarketEffect::AddModelSpans { id, spans } => self.vault_job(move |store, _| {
                let before = vault::view(store, id)?.preview.entries.len();
                let view = vault::add_model_spans(store, id, &spans)?;
                let added = view.preview.entries.len().saturating_sub(before);
                let mut actions = updated(view)?;
                actions.push(Action::Notice(match added {
                    0 => format!("the model read item {id}: nothing more to remove"),
                    n => format!(
                        "the model read item {id}: {n} more removal{} (found by the model; k keeps one)",
                        if n == 1 { "" } else { "s" }
                    ),
                }));
                Ok(actions)
            }),
            MarketEffect::ListFolder { folder, input } => self.list_folder(folder, input),
            // Each change says so: the preview changes, and so does what a consent covers.
            MarketEffect::Keep { id, span } => self.vault_job(move |store, _| {
                let mut actions = updated(vault::keep(store, id, span)?)?;
                actions.push(Action::Notice(format!(
                    "span {span} of item {id} kept: the buyer gets it"
                )));
                Ok(actions)
            }),
            MarketEffect::Redact { id, span } => self.vault_job(move |store, _| {
                let mut actions = updated(vault::redact(store, id, span)?)?;
                actions.push(Action::Notice(format!(
                    "span {span} of item {id} removed again"
                )));
                Ok(actions)
            }),
            MarketEffect::RedactText { id, text } => self.vault_job(move |store, _| {
                let mut actions = updated(vault::redact_text(store, id, &text)?)?;
                // The text itself is private: not repeated on the status line or in the log.
                actions.push(Action::Notice(format!(
                    "item {id}: every occurrence of that text removed"
                )));
                Ok(actions)
            }),
            MarketEffect::Consent { id, sha256 } => self.vault_job(move |store, wallet| {
                // What is signed is what the user was shown, or nothing.
                if vault::view(store, id)?.preview.sha256() != sha256 {
                    bail!(
                        "item {id} changed since it was shown; nothing was signed: look at it again"
                    );
                }
                let account = keybot_keystore::AccountRef::Hd(0);
                let (view, _) = vault::consent(store, wallet, account, id, vault::now_secs())?;
                let by = match &view.consent {
                    vault::ConsentState::Given(c) => c.account.clone(),
                    _ => "account 0".into(),
                };
                let mut actions = updated(view)?;
                actions.push(Action::Notice(format!(
                    "consent for item {id} signed by {by}"
                )));
                Ok(actions)
            }),
            MarketEffect::Remove(id) => self.vault_job(move |store, _| {
                vault::remove(store, id)?;
                Ok(vec![
                    Action::Market(MarketAction::Items(items(store)?)),
                    Action::Notice(format!("item {id} is deleted from the sale vault")),
                ])
            }),
            MarketEffect::Sync => self.market_sync(),
            MarketEffect::Prepare { id, tx } => self.market_prepare(id, tx),
            MarketEffect::Save {
                purchase,
                listing,
                path,
                book,
            } => self.save_delivery(purchase, listing, path, book),
        }
    }

    /// `f` on the vault: a text file copied into the vault by the service `market add --file`
    /// uses; a refusal is the prompt's (it stays open), with the command line's line.
    fn add_file(&self, typed: String) {
        use crate::service::vault;
        let path = home_path(&typed);
        self.with_store(move |store, _, queue| {
            let added = vault::add_file(store, &path, None).and_then(|v| {
                let items: Vec<MarketItem> =
                    vault::list(store)?.into_iter().map(Into::into).collect();
                Ok(MarketAction::FileAdded {
                    items,
                    id: v.item.id,
                })
            });
            let action = added.unwrap_or_else(|e| {
                MarketAction::FileRefused(
                    crate::sanitize::clean_line(&format!("{e:#}")).into_owned(),
                )
            });
            let _ = queue.send(Event::Action(Action::Market(action)));
        });
    }

    /// The model reads item `id`: its text and the settings are read on the store thread, the
    /// model loads and reads on a thread of its own (a read takes seconds to minutes, and the
    /// store keeps serving the screens meanwhile); the answer comes back as an action.
    fn read_with_model(&self, id: crate::store::ItemId) {
        let data_dir = self.paths.data_dir.clone();
        self.with_store(move |store, _, queue| {
            let answer =
                move |found| Event::Action(Action::Market(MarketAction::ModelRead { id, found }));
            let read = crate::service::vault::view(store, id)
                .map_err(|e| format!("{e:#}"))
                .and_then(|v| {
                    let (settings, _) = crate::service::settings::Settings::load(store)
                        .map_err(|e| e.to_string())?;
                    Ok((v.item.text, settings))
                });
            let (text, settings) = match read {
                Ok(r) => r,
                Err(why) => {
                    let _ = queue.send(answer(Err(crate::sanitize::clean_line(&why).into_owned())));
                    return;
                }
            };
            let to_queue = queue.clone();
            let spawned = std::thread::Builder::new()
                .name("model-reader".into())
                .spawn(move || {
                    let found =
                        crate::market::model_reader::read_with_default(&data_dir, &settings, &text)
                            .map_err(|e| crate::sanitize::clean_line(&e.to_string()).into_owned());
                    let _ = to_queue.send(answer(found));
                });
            if let Err(e) = spawned {
                let _ = queue.send(answer(Err(format!("cannot start its thread: {e}"))));
            }
        });
    }

    /// The file prompt's Tab: the names in `folder` (as typed), read off the loop.
    fn list_folder(&self, folder: String, input: String) {
        let path = if folder.is_empty() {
            std::path::PathBuf::from(".")
        } else {
            home_path(&folder)
        };
        self.blocking(move || {
            let entries = list_dir(&path).map_err(|e| {
                let shown = crate::sanitize::clean_line(&folder).into_owned();
                let shown = if shown.is_empty() { ".".into() } else { shown };
                format!("cannot list {shown}: {e}")
            });
            Event::Action(Action::Market(MarketAction::Listing { input, entries }))
        });
    }

    /// "Save a delivery": both hashes checked, written to a new file (never over one); the
    /// prompt closes when it is written and stays open on a refusal.
    fn save_delivery(
        &self,
        purchase: Box<crate::market::book::Purchase>,
        listing: Box<crate::market::book::Listing>,
        path: std::path::PathBuf,
        book: Box<super::screens::market_onchain::MarketBook>,
    ) {
        let path = home_path(&path.to_string_lossy());
        self.vault_job(move |store, wallet| {
            use crate::service::market as svc;
            let keys = svc::BuyerKeys::scan(wallet, &book.book, &book.own)?;
            let settings = crate::service::settings::Settings::load(store)?.0;
            let buyer = svc::Buyer {
                wallet,
                keys: &keys,
                chain_id: book.chain_id,
                market: book.market,
                now: book.now,
                own: &book.own,
                ipfs_gateway: settings.ipfs_gateway(),
            };
            let save = || -> Result<usize> {
                // The copy checked before paying, when this store has it.
                let kept =
                    store.purchased_ciphertext(book.chain_id, book.market, listing.content_hash)?;
                Ok(svc::save_delivery(
                    &buyer,
                    &purchase,
                    &listing,
                    &path,
                    kept.as_deref(),
                )?)
            };
            let written = match save() {
                Ok(n) => n,
                // The prompt takes Enter again, and the reason is the error line.
                Err(e) => {
                    return Ok(vec![
                        Action::Market(MarketAction::SaveFailed(purchase.id)),
                        Action::Error(AppError::Vault(Arc::new(e))),
                    ]);
                }
            };
            Ok(vec![
                Action::Market(MarketAction::Saved(purchase.id)),
                Action::Notice(format!(
                    "purchase {}: {written} bytes checked and written to {}",
                    purchase.id,
                    crate::sanitize::clean_line(&path.display().to_string())
                )),
            ])
        });
    }

    /// The market index, read on the chain thread with the user's own addresses (derived on
    /// the store's thread); with `market.delivery = auto` the wallet goes along to deliver.
    fn market_sync(&self) {
        let Some(session) = &self.session else { return };
        if self.chain.is_none() {
            return self.dispatch(Action::Market(MarketAction::Synced(Err(
                crate::chain::ChainError::Stopped.into(),
            ))));
        }
        let deliver = (self.settings.market_delivery == settings::Delivery::Auto)
            .then(|| Arc::clone(&session.wallet));
        let challenge = (self.settings.market_challenge == settings::Challenge::Auto)
            .then(|| Arc::clone(&session.wallet));
        self.with_store(move |store, wallet, queue| {
            let own = own_addresses(wallet, store);
            let _ = queue.send(Event::Chain(Box::new(Job::MarketSync {
                own,
                deliver,
                challenge,
            })));
        });
    }

    /// A market transaction: the vault item a sale lists is read on the store's thread, the
    /// transaction and its review are built on the chain thread.
    fn market_prepare(&self, id: u64, tx: Box<super::screens::market_onchain::MarketTx>) {
        use super::screens::market_onchain::MarketTx;
        let Some(session) = &self.session else { return };
        let wallet_arc = Arc::clone(&session.wallet);
        self.with_store(move |store, wallet, queue| {
            let own = own_addresses(wallet, store);
            let item = match &*tx {
                MarketTx::Sell { item, .. } => {
                    crate::service::vault::view(store, *item).ok().map(Box::new)
                }
                _ => None,
            };
            let _ = queue.send(Event::Chain(Box::new(Job::MarketPrepare {
                id,
                tx,
                item,
                wallet: wallet_arc,
                own,
            })));
        });
    }

    /// A sale-vault job on the store worker; its actions go to the queue in order, an error as
    /// one line.
    fn vault_job(
        &self,
        job: impl FnOnce(&mut Store, &Wallet) -> Result<Vec<Action>> + Send + 'static,
    ) {
        self.with_store(move |store, wallet, queue| {
            let actions = job(store, wallet)
                .unwrap_or_else(|e| vec![Action::Error(AppError::Vault(Arc::new(e)))]);
            for a in actions {
                let _ = queue.send(Event::Action(a));
            }
        });
    }

    /// The Earnings screen's effects: both go to the chain thread with the user's own
    /// addresses, derived on the store's thread (as for activity).
    fn perform_earnings(&mut self, effect: EarningsEffect) {
        let job = move |own: Vec<keybot_keystore::Address>| match effect {
            EarningsEffect::Sync => Job::Earnings { own },
            EarningsEffect::PrepareWithdraw { id, seller, token } => Job::PrepareWithdraw {
                id,
                seller,
                token,
                own,
            },
        };
        if self.session.is_none() {
            return self.chain_job(job(vec![]));
        }
        self.with_store(move |store, wallet, queue| {
            let own = own_addresses(wallet, store);
            let _ = queue.send(Event::Chain(Box::new(job(own))));
        });
    }

    fn perform_onboarding(&mut self, effect: OnboardingEffect) {
        match effect {
            OnboardingEffect::GeneratePhrase { words } => self.generate_phrase(words),
            OnboardingEffect::CreateWallet {
                phrase,
                passphrase,
                password,
            } => self.open_session(Open::Create {
                phrase,
                passphrase,
                password,
            }),
        }
    }

    fn perform_unlock(&mut self, effect: UnlockEffect) {
        let UnlockEffect::Unlock { password } = effect;
        self.open_session(Open::Existing(password));
    }

    fn perform_settings(&mut self, effect: SettingsEffect) {
        let SettingsEffect::SaveSetting { key, value } = effect;
        self.save_setting(key, value);
    }

    fn perform_wallet(&mut self, effect: WalletEffect) {
        match effect {
            WalletEffect::DeriveAccounts { count } => self.derive_accounts(count),
            WalletEffect::SetAccountLabel { index, label } => self.store_action(move |store| {
                accounts::set_label(store, index, &label).map(|()| None)
            }),
            WalletEffect::RefreshChain { addresses } => self.chain_job(Job::Refresh(addresses)),
            WalletEffect::SyncActivity => self.sync_activity(),
            WalletEffect::PrepareSend { id, request } => self.prepare_send(id, request),
            WalletEffect::SignAndSend { account, review } => self.sign_and_send(account, &review),
        }
    }

    /// The chat screen's effects: the conversations in the store (each change answers with the
    /// new list), the turns and the model.
    fn perform_chat(&mut self, effect: ChatEffect) {
        match effect {
            // A new conversation is only state until its first message is stored.
            ChatEffect::NewConversation => {}
            ChatEffect::ListConversations { search } => self.store_action(move |store| {
                let list = chat_service::conversations(store, search.as_deref())?;
                Ok(Some(Action::Chat(ChatAction::Conversations(list))))
            }),
            ChatEffect::OpenConversation(id) => self.store_action(move |store| {
                Ok(Some(Action::Chat(ChatAction::ConversationOpened {
                    conversation: store.conversation(id)?,
                    messages: store.messages(id)?,
                })))
            }),
            ChatEffect::RenameConversation(id, title) => {
                self.conversations_after(move |store| store.rename_conversation(id, &title))
            }
            ChatEffect::DeleteConversation(id) => {
                self.conversations_after(move |store| store.delete_conversation(id))
            }
            ChatEffect::SetSystemPrompt(id, prompt) => {
                self.conversations_after(move |store| store.set_system_prompt(id, &prompt))
            }
            ChatEffect::DeleteLastMessages {
                conversation,
                count,
            } => self.delete_last_messages(conversation, count),
            ChatEffect::Send {
                conversation,
                text,
                history,
                regenerate,
                bot,
            } => self.chat_turn(
                TurnRequest {
                    conversation,
                    text,
                    history,
                    regenerate,
                },
                bot,
            ),
            ChatEffect::Generate(round) => {
                let req = self.bot_request(round);
                if let Err(e) = self.chat.generate(req) {
                    self.error(e);
                }
            }
            ChatEffect::RunTools(reads) => self.run_tools(reads),
            e @ (ChatEffect::PrepareTools { .. }
            | ChatEffect::CheckQueue
            | ChatEffect::NextQueued
            | ChatEffect::DecideQueued { .. }
            | ChatEffect::LoadToolsOff
            | ChatEffect::SaveToolsOff(_)) => self.bot_store(e),
            ChatEffect::SaveAnswer {
                conversation,
                text,
                tokens,
                tools,
            } => self.save_answer(Answer {
                conversation,
                text,
                tokens,
                replace_last: false,
                tools,
            }),
            ChatEffect::StopGeneration => self.chat.stop(),
            ChatEffect::PullModel(spec) => self.pull_model(spec),
            ChatEffect::AddModel(path) => self.add_model(path),
            ChatEffect::LoadModel => self.load_model(),
        }
    }

    fn generate_phrase(&self, words: usize) {
        self.blocking(move || {
            Event::Action(match Phrase::generate(words) {
                Ok(p) => Action::Onboarding(OnboardingAction::PhraseGenerated(
                    p.words().iter().map(|w| (*w).to_owned()).collect(),
                )),
                Err(e) => Action::Error(AppError::Phrase(Arc::new(e))),
            })
        });
    }

    /// Drops every secret: the wallet, the store (its thread ends), the chain thread, and the
    /// model, whose KV cache holds the conversation.
    /// Drops every secret: the chain thread and the store thread are waited for (the store's
    /// queued jobs finish first), so that no thread holding the store key outlives the lock,
    /// and none is still closing its store when a process exits after locking.
    fn lock(&mut self) {
        if let Some(chain) = self.chain.take() {
            chain.finish(Duration::from_secs(1));
        }
        if let Some(session) = self.session.take() {
            session.store.finish();
        }
        self.chat.unload();
    }

    fn derive_accounts(&self, count: u32) {
        self.with_store(move |store, wallet, queue| {
            let r = accounts::set_count(store, count)
                .map_err(anyhow::Error::from)
                .and_then(|()| accounts::list(wallet, store, count));
            let _ = queue.send(Event::Action(match r {
                Ok(list) => Action::Wallet(WalletAction::AccountsDerived(rows(list))),
                Err(e) => Action::Error(AppError::Accounts(Arc::new(e))),
            }));
        });
    }

    /// A change to a conversation, then the list it changed.
    fn conversations_after(
        &self,
        change: impl FnOnce(&mut Store) -> crate::store::Result<()> + Send + 'static,
    ) {
        self.store_action(move |store| {
            change(store)?;
            Ok(Some(Action::Chat(ChatAction::Conversations(
                store.list_conversations()?,
            ))))
        });
    }

    /// Removes the last `count` messages of a conversation (editing the last question).
    fn delete_last_messages(&self, conversation: ConversationId, count: usize) {
        self.store_action(move |store| {
            for _ in 0..count {
                store.delete_last_message(conversation)?;
            }
            Ok(None)
        });
    }

    fn save_answer(&self, answer: Answer) {
        self.store_action(move |store| {
            let list = chat_service::save_answer(store, &answer)?;
            Ok(Some(Action::Chat(ChatAction::Conversations(list))))
        });
    }

    fn add_model(&self, path: String) {
        let data_dir = self.paths.data_dir.clone();
        self.blocking(move || {
            let path = match (path.strip_prefix("~/"), std::env::var_os("HOME")) {
                (Some(rest), Some(home)) => std::path::Path::new(&home).join(rest),
                _ => std::path::PathBuf::from(&path),
            };
            Event::Action(match chat::install::add(&data_dir, &path, None) {
                Ok((entry, _)) => Action::Chat(ChatAction::ModelInstalled(entry.name)),
                Err(e) => Action::Chat(ChatAction::ModelFailed(ModelError::Add(Arc::new(e)))),
            })
        });
    }

    /// The registry's default model, loaded with the current settings.
    fn load_model(&self) {
        let data_dir = self.paths.data_dir.clone();
        let settings = self.settings.clone();
        // A server's API key opens with the unlocked wallet.
        let wallet = self.session.as_ref().map(|s| Arc::clone(&s.wallet));
        // The first question about the wallet after a load starts from the tools' state that
        // `ask` or an earlier session saved (a registered GGUF's; a server keeps its own).
        let prompts = self.paths.cache_dir.join("prompts");
        self.models(move || {
            match settings::default_model(&data_dir)
                .and_then(|m| settings::with_api_key(m, &data_dir, wallet.as_deref()))
            {
                Ok(model) => {
                    let mut req = settings.load_request(&model);
                    req.prompt_cache = Some(prompts);
                    Event::Load(Box::new(req))
                }
                Err(why) => Event::Action(Action::Chat(ChatAction::ModelMissing(why))),
            }
        });
    }

    /// Activity for every account the user derived (the count is in the store) and imported: the
    /// addresses are derived on the store's thread, then the job goes to the chain thread.
    fn sync_activity(&self) {
        if self.session.is_none() {
            return self.chain_job(Job::Activity { own: vec![] });
        }
        self.with_store(|store, wallet, queue| {
            let own = own_addresses(wallet, store);
            let _ = queue.send(Event::Chain(Box::new(Job::Activity { own })));
        });
    }

    /// The intent goes to the chain thread with the user's own addresses, derived on the
    /// store's thread (the transaction service reads the known counterparties itself).
    fn prepare_send(&self, id: u64, request: crate::chain::send::SendRequest) {
        let intent = Box::new(request.into());
        if self.session.is_none() {
            return self.chain_job(Job::Prepare {
                id,
                intent,
                own: vec![],
            });
        }
        self.with_store(move |store, wallet, queue| {
            let own = own_addresses(wallet, store);
            let _ = queue.send(Event::Chain(Box::new(Job::Prepare { id, intent, own })));
        });
    }

    /// Opens (or creates) the vault and gathers what the unlocked app needs, off the loop.
    fn open_session(&self, how: Open) {
        let paths = self.paths.clone();
        let creating = matches!(how, Open::Create { .. });
        self.blocking(move || match open_session(&paths, how) {
            Ok(opened) => Event::Opened(Box::new(opened)),
            Err(e) if creating => Event::Action(Action::Error(AppError::CreateWallet(Arc::new(e)))),
            Err(e) => Event::Action(Action::Unlock(UnlockAction::UnlockFailed(UnlockError::of(
                e,
            )))),
        });
    }

    /// A question: saved on the store thread (its conversation created and shown first when
    /// it is new), then answered by the engine with the current sampling settings.
    fn chat_turn(&self, turn: TurnRequest, bot: Option<BotRound>) {
        let sampling = self.settings.sampling();
        let bot = bot.map(|round| self.bot_request(round));
        self.with_store(move |store, _, queue| {
            match chat_service::begin_turn(store, turn, sampling) {
                Ok(mut turn) => {
                    // A turn with tools: its first round, not the plain chat request.
                    if let Some(req) = bot {
                        turn.generate = req;
                    }
                    // Queued before the request, so `update` knows a new conversation before
                    // the first piece of its answer arrives.
                    if let Some((conversation, messages)) = turn.created {
                        let _ = queue.send(Event::Action(Action::Chat(
                            ChatAction::ConversationOpened {
                                conversation,
                                messages,
                            },
                        )));
                    }
                    let _ = queue.send(Event::Generate(Box::new(turn.generate)));
                }
                Err(e) => {
                    let _ = queue.send(Event::Action(Action::Error(e.into())));
                }
            }
        });
    }

    /// The bot's effects around its turns: the loaded model's tools, the queue of proposals
    /// other programs made (`keybot mcp`), and the conversations whose tools are off.
    fn bot_store(&self, effect: ChatEffect) {
        match effect {
            ChatEffect::CheckQueue => self.store_action(|store| {
                let n = store.proposals(true)?.len();
                Ok(Some(Action::Chat(ChatAction::QueueCount(n))))
            }),
            ChatEffect::LoadToolsOff => self.store_action(|store| {
                let uids = store.setting(chat_bot::TOOLS_OFF)?.unwrap_or_default();
                let mut ids = Vec::new();
                for uid in uids.split_whitespace() {
                    // A conversation deleted since is simply not there any more.
                    if let Some(c) = store.conversation_by_uid(uid)? {
                        ids.push(c.id);
                    }
                }
                Ok(Some(Action::Chat(ChatAction::ToolsOff(ids))))
            }),
            ChatEffect::SaveToolsOff(ids) => self.store_action(move |store| {
                let mut uids = Vec::new();
                for id in ids {
                    if let Ok(c) = store.conversation(id) {
                        uids.push(c.uid);
                    }
                }
                store.set_setting(chat_bot::TOOLS_OFF, &uids.join(" "))?;
                Ok(None)
            }),
            ChatEffect::NextQueued => self.store_action(|store| {
                let first = store.proposals(true)?.into_iter().next();
                Ok(Some(Action::Chat(ChatAction::Queued(first))))
            }),
            ChatEffect::DecideQueued { id, decision } => self.store_action(move |store| {
                if let Some((state, line)) = crate::service::bot::queue_state(&decision) {
                    store.decide_proposal(id, state, &line)?;
                }
                Ok(None)
            }),
            ChatEffect::PrepareTools { format, symbols } => self.blocking(move || {
                let r = crate::bot::turn::Setup::new(format, &symbols).map(Arc::new);
                Event::Action(Action::Chat(ChatAction::ToolsReady(r)))
            }),
            _ => {}
        }
    }

    /// A bot round as the engine's request: the current sampling settings, held to the call
    /// grammar while the tools are on.
    fn bot_request(&self, round: BotRound) -> crate::chat::GenerateRequest {
        let mut sampling = self.settings.sampling();
        if let Some(setup) = &round.tools {
            setup.constrain(&mut sampling);
        }
        crate::chat::GenerateRequest {
            prompt: round.prompt,
            sampling,
            max_tokens: None,
        }
    }

    /// A bot round's reads: on the chain thread with the user's addresses (derived on the
    /// store's thread); without a network, on the store's thread, where only the reads that
    /// need no network answer (the rest say "offline" and open no socket).
    fn run_tools(&self, reads: Vec<(usize, crate::bot::tools::Read)>) {
        let chain = self
            .chain
            .as_ref()
            .and(self.session.as_ref())
            .map(|s| Arc::clone(&s.wallet));
        self.with_store(move |store, wallet, queue| {
            let own = own_addresses(wallet, store);
            if let Some(wallet) = chain {
                let _ = queue.send(Event::Chain(Box::new(Job::BotReads { reads, own, wallet })));
                return;
            }
            use futures_util::FutureExt;
            let reader = crate::service::bot::Reader {
                client: None,
                store,
                wallet,
                own: &own,
            };
            let results = reads
                .into_iter()
                .map(|(i, r)| {
                    let answer = reader
                        .read(&r)
                        .now_or_never()
                        .unwrap_or_else(|| Err(crate::service::bot::OFFLINE.into()));
                    (i, answer)
                })
                .collect();
            let _ = queue.send(Event::Action(Action::Chat(ChatAction::ToolResults(
                results,
            ))));
        });
    }

    /// A setting the settings screen checked: the default model goes to the model registry,
    /// the others to the typed settings and the store.
    fn save_setting(&mut self, key: String, value: String) {
        if key == settings::DEFAULT_MODEL {
            let data_dir = self.paths.data_dir.clone();
            return self.models(move || {
                Event::Action(match settings::set_default_model(&data_dir, &value) {
                    Ok(()) => Action::Notice(format!("{value} is the default model")),
                    Err(e) => Action::Error(AppError::DefaultModel(e)),
                })
            });
        }
        if let Err(e) = self.settings.set(&key, &value) {
            return self.error(AppError::Setting(e));
        }
        let theme = (key == settings::THEME).then(|| self.settings.theme.clone());
        self.store_action(move |store| store.set_setting(&key, &value).map(|()| None));
        if let Some(name) = theme {
            let dir = self.paths.config_dir.join("themes");
            self.blocking(move || Event::Theme(Box::new(theme::load(&name, Some(&dir)))));
        }
    }

    fn copy(&self, text: String) {
        // OSC 52 reaches the clipboard through the terminal (also over SSH); the local tools
        // are a fallback for terminals that ignore it.
        let _ = crossterm::execute!(
            std::io::stdout(),
            crossterm::style::Print(super::clipboard::osc52(&text))
        );
        self.blocking(move || {
            let how = match super::clipboard::copy_with_helper(&text) {
                Ok(h) => format!(" (terminal and {})", h.program()),
                Err(_) => " (through the terminal, OSC 52)".to_owned(),
            };
            Event::Action(Action::Notice(format!("copied {text}{how}")))
        });
    }

    fn pull_model(&self, spec: String) {
        let data_dir = self.paths.data_dir.clone();
        let queue = self.queue.clone();
        self.blocking(move || {
            let mut last = u8::MAX;
            let r = chat::install::pull(&data_dir, &spec, None, None, &mut |done, total| {
                let pct = (done.saturating_mul(100))
                    .checked_div(total)
                    .map_or(0, |p| p.min(100) as u8);
                if pct != last {
                    last = pct;
                    let _ = queue.send(Event::Action(Action::Chat(ChatAction::ModelProgress(pct))));
                }
            });
            Event::Action(match r {
                Ok((entry, _)) => Action::Chat(ChatAction::ModelInstalled(entry.name)),
                Err(e) => Action::Chat(ChatAction::ModelFailed(ModelError::Pull(Arc::new(e)))),
            })
        });
    }

    /// Starts the chain thread for the configured network (no client exists without one).
    fn start_chain(&mut self, name: String, network: Network, key: Secret32) -> Option<NetInfo> {
        self.chain = None;
        let client = match Client::new(&name, &network) {
            Ok(c) => c,
            Err(e) => {
                self.error(e);
                return None;
            }
        };
        match ChainWorker::start(client, self.paths.store(), key, self.queue.clone()) {
            Ok(worker) => self.chain = Some(worker),
            Err(e) => {
                self.error(AppError::ChainThread(Arc::new(e)));
                return None;
            }
        }
        Some(NetInfo {
            name,
            chain_id: network.chain_id,
            tokens: network.tokens,
        })
    }

    /// Hands a job to the chain thread; without one (it stopped), answers as an offline job
    /// would. `update` asks for nothing when no network is configured.
    fn chain_job(&self, job: Job) {
        let job = match &self.chain {
            Some(worker) => match worker.send(job) {
                Ok(()) => return,
                Err(job) => *job,
            },
            None => job,
        };
        let why = || crate::chain::ChainError::Stopped;
        self.dispatch(match job {
            Job::Refresh(_) => Action::Wallet(WalletAction::ChainRefreshed(Err(why()))),
            Job::Activity { .. } => Action::Wallet(WalletAction::ActivityLoaded {
                entries: vec![],
                synced: Err(why()),
            }),
            Job::Prepare { id, .. } => Action::Wallet(WalletAction::ReviewReady {
                id,
                review: Err(why()),
                plan: None,
            }),
            Job::Broadcast(record) => Action::Wallet(WalletAction::SendFinished {
                hash: Some(record.hash),
                outcome: Err(why()),
                said: None,
            }),
            Job::MarketSync { .. } => Action::Market(MarketAction::Synced(Err(why().into()))),
            Job::Earnings { .. } => Action::Earnings(EarningsAction::Loaded(Err(why().into()))),
            Job::BotReads { reads, .. } => Action::Chat(ChatAction::ToolResults(
                reads
                    .into_iter()
                    .map(|(i, _)| (i, Err(why().to_string())))
                    .collect(),
            )),
            Job::MarketPrepare { id, .. } | Job::PrepareWithdraw { id, .. } => {
                Action::Wallet(WalletAction::ReviewReady {
                    id,
                    review: Err(why()),
                    plan: None,
                })
            }
        });
    }

    /// Signs the confirmed review with the account it names, and hands the signed bytes to the
    /// chain thread, which records them before broadcasting (never signed twice).
    fn sign_and_send(&self, account: u32, review: &crate::chain::send::Review) {
        use crate::chain::ChainError;
        let fail = |why: ChainError| {
            self.dispatch(Action::Wallet(WalletAction::SendFinished {
                hash: None,
                outcome: Err(why),
                said: None,
            }))
        };
        let Some(wallet) = self.session.as_ref().map(|s| &s.wallet) else {
            return fail(ChainError::Keystore(
                "the wallet is locked; nothing was signed".into(),
            ));
        };
        if self.chain.is_none() {
            return fail(ChainError::NoNetwork);
        }
        let account = keybot_keystore::AccountRef::Hd(account);
        match crate::service::tx::sign(wallet, account, review) {
            Ok(record) => self.chain_job(Job::Broadcast(Box::new(record))),
            Err(e) => fail(e),
        }
    }
}

/// The parts of the state a tick can change, to tell whether a tick needs a redraw.
#[derive(PartialEq)]
struct TickView {
    screen: Screen,
    message: Option<(Level, String)>,
    model: ModelStatus,
    net: NetView,
    indicator: (String, NetLevel),
    /// The spinner's frame while something runs in the background.
    spinner: Option<u64>,
}

impl TickView {
    fn of(state: &State) -> TickView {
        TickView {
            screen: state.screen,
            message: state.message.clone(),
            model: state.chat.model.clone(),
            net: state.net.clone(),
            indicator: state.net.indicator(state.now_ms),
            spinner: state.busy().then_some(state.now_ms / 250),
        }
    }
}

/// A typed path with a leading `~` in the home folder (`$HOME`).
fn home_path(typed: &str) -> std::path::PathBuf {
    let home = std::env::var_os("HOME").map(std::path::PathBuf::from);
    super::screens::vault_file::expand_home(typed, home.as_deref())
}

/// The names in a folder for the file prompt's completion (at most 10,000; names that are not
/// UTF-8 are left out: they could not be typed either).
fn list_dir(path: &std::path::Path) -> std::io::Result<Vec<super::screens::vault_file::DirEntry>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(path)?.take(10_000) {
        let entry = entry?;
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        // A link to a folder is completed as a folder.
        let dir = std::fs::metadata(entry.path()).is_ok_and(|m| m.is_dir());
        out.push(super::screens::vault_file::DirEntry { name, dir });
    }
    Ok(out)
}

/// The wallet screen's rows.
fn rows(accounts: Vec<Account>) -> Vec<(u32, keybot_keystore::Address, String)> {
    accounts
        .into_iter()
        .map(|a| (a.index, a.address, a.label))
        .collect()
}

/// Opens or creates the vault through the wallet service, then reads what the unlocked app
/// starts with: the settings (bad ones reported and replaced), the accounts and their labels,
/// the default model, the theme, and the configured network. Runs off the event loop.
fn open_session(paths: &Paths, how: Open) -> Result<Opened> {
    let unlocked = match how {
        Open::Existing(password) => wallet_service::open(paths, &password)?,
        Open::Create {
            phrase,
            passphrase,
            password,
        } => {
            let u = wallet_service::create(paths, &phrase, &passphrase, &password)?;
            tracing::info!("wallet created from the terminal app");
            u
        }
    };
    let store = &unlocked.store;
    let mut notes = Vec::new();
    if let Some(note) = settings::migrate_default_model(store, &paths.data_dir)? {
        notes.push(note);
    }
    let (settings, problems) = Settings::load(store)?;
    notes.extend(problems);
    let count = accounts::count(store).unwrap_or_else(|e| {
        notes.push(format!("{e}; showing one account"));
        1
    });
    let accounts = accounts::list(&unlocked.wallet, store, count)?;
    let theme = theme::load(&settings.theme, Some(&paths.config_dir.join("themes")));
    let network = ChainConfig::load(paths).and_then(|config| {
        Ok(match config.select(None)? {
            Some((name, network)) => Some((
                name.to_owned(),
                network.clone(),
                wallet_service::database_key(&unlocked.wallet)?,
            )),
            None => None,
        })
    });
    Ok(Opened {
        default_model: settings::default_model_name(&paths.data_dir),
        unlocked,
        settings,
        notes,
        accounts,
        theme,
        network,
    })
}

/// The user's own addresses: every derived account (the count the store keeps) and every
/// imported key. Runs where the store is, never on the event loop (derivation is not free).
fn own_addresses(wallet: &Wallet, store: &Store) -> Vec<keybot_keystore::Address> {
    crate::chain::activity::own_addresses(wallet, Some(store)).unwrap_or_default()
}

#[cfg(test)]
#[path = "market_runtime_tests.rs"]
mod market_runtime_tests;

#[cfg(test)]
#[path = "market_flow_tests.rs"]
mod market_flow_tests;

#[cfg(test)]
#[path = "vault_file_runtime_tests.rs"]
mod vault_file_runtime_tests;

#[cfg(test)]
#[path = "model_reader_runtime_tests.rs"]
mod model_reader_runtime_tests;

#[cfg(test)]
#[allow(clippy::too_many_lines, reason = "a test tells one story start to end")]
mod tests {
    use super::*;

    /// foundry's `cast`, from PATH; missing under CI=true is a failure, elsewhere a skip.
    fn cast() -> Option<std::path::PathBuf> {
        let found = std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|d| d.join("cast"))
                .find(|p| p.is_file())
        });
        if found.is_none() {
            assert!(
                !crate::test_support::in_ci(),
                "cast is required in CI (put it on PATH)"
            );
            eprintln!("SKIPPED: cast not found; this test fails in CI");
        }
        found
    }

    fn cast_address(cast: &std::path::Path, phrase: &str, passphrase: &str, index: u32) -> String {
        let out = std::process::Command::new(cast)
            .args(["wallet", "address", "--mnemonic", phrase])
            .args(["--mnemonic-passphrase", passphrase])
            .args(["--mnemonic-index", &index.to_string()])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    }

    /// The onboarding's effect, routed by the runtime to the wallet service: the wallet it
    /// opens uses the BIP-39 passphrase (the app used to drop it), and the accounts the wallet
    /// screen gets are the ones `cast` derives from the same phrase and passphrase.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_app_creates_a_wallet_with_its_passphrase_as_cast_derives_it() {
        let Some(cast) = cast() else { return };
        let phrase = "test test test test test test test test test test test junk";
        let passphrase = "a 25th word, with spaces";
        let home = tempfile::tempdir().unwrap();
        let paths = Paths::resolve(Some(home.path())).unwrap();
        let (tx, mut rx) = unbounded_channel();
        let mut runtime = Runtime::new(paths.clone(), tx, theme::load("dark", None).0, None);
        let mut state = State::new(false);
        runtime.perform(Effect::Onboarding(OnboardingEffect::CreateWallet {
            phrase: SecretText::from(phrase.to_owned()),
            passphrase: SecretText::from(passphrase.to_owned()),
            password: Password::new("purple elephant dances quietly".into()),
        }));
        let opened = loop {
            match rx.recv().await.unwrap() {
                Event::Opened(o) => break o,
                Event::Action(Action::Error(e)) => panic!("{e}"),
                _ => {}
            }
        };
        assert!(paths.vault().exists());
        runtime.handle(&mut state, Event::Opened(opened), Instant::now());
        // Three accounts, as the wallet screen asks for them.
        runtime.perform(Effect::Wallet(WalletEffect::DeriveAccounts { count: 3 }));
        let accounts = loop {
            match rx.recv().await.unwrap() {
                Event::Action(Action::Wallet(WalletAction::AccountsDerived(a))) => break a,
                Event::Action(Action::Error(e)) => panic!("{e}"),
                _ => {}
            }
        };
        assert_eq!(accounts.len(), 3);
        for (index, address, _) in &accounts {
            assert_eq!(
                address.to_checksum(None),
                cast_address(&cast, phrase, passphrase, *index),
                "account {index}"
            );
        }
        // Without the passphrase the same phrase is another wallet.
        assert_ne!(
            accounts[0].1.to_checksum(None),
            cast_address(&cast, phrase, "", 0)
        );
        // And the vault reopens to the same accounts.
        runtime.perform(Effect::Lock);
        let reopened = wallet_service::open(
            &paths,
            &Password::new("purple elephant dances quietly".into()),
        )
        .unwrap();
        assert_eq!(reopened.wallet.addresses(0, 1).unwrap()[0], accounts[0].1);
    }

    /// Handles queued events until `done` holds for the state (an error line fails the test).
    pub(super) async fn until(
        runtime: &mut Runtime,
        rx: &mut tokio::sync::mpsc::UnboundedReceiver<Event>,
        state: &mut State,
        what: &str,
        done: impl Fn(&State) -> bool,
    ) {
        let start = Instant::now();
        let wait = async {
            while !done(state) {
                let ev = rx.recv().await.expect("the queue is open");
                if let Event::Action(Action::Error(e)) = &ev {
                    panic!("waiting for {what}: {e}");
                }
                runtime.handle(state, ev, start);
            }
        };
        tokio::time::timeout(Duration::from_secs(60), wait)
            .await
            .unwrap_or_else(|_| panic!("timed out waiting for {what}"));
    }

    pub(super) fn press(runtime: &mut Runtime, state: &mut State, c: char) {
        use crossterm::event::{KeyCode, KeyModifiers};
        key(runtime, state, KeyCode::Char(c), KeyModifiers::NONE);
    }

    /// A key as the terminal gives it, through the key map and the runtime.
    pub(super) fn key(
        runtime: &mut Runtime,
        state: &mut State,
        code: crossterm::event::KeyCode,
        modifiers: crossterm::event::KeyModifiers,
    ) {
        let key = crossterm::event::KeyEvent::new(code, modifiers);
        runtime.handle(
            state,
            Event::Term(TermEvent::Key(key), Instant::now()),
            Instant::now(),
        );
    }

    /// The password of the runtime tests' wallets.
    pub(super) fn password() -> Password {
        Password::new("purple elephant dances quietly".into())
    }

    /// A runtime over `paths`, and the state of an app that has just asked it to unlock the
    /// wallet there with [`password`].
    pub(super) fn unlocking(
        paths: &Paths,
    ) -> (Runtime, tokio::sync::mpsc::UnboundedReceiver<Event>, State) {
        let (tx, rx) = unbounded_channel();
        let mut runtime = Runtime::new(paths.clone(), tx, theme::load("dark", None).0, None);
        runtime.perform(Effect::Unlock(UnlockEffect::Unlock {
            password: password(),
        }));
        (runtime, rx, State::new(true))
    }

    /// The chat screen's vault key through the runtime and a real store: the open conversation
    /// is copied into the sale vault on the store thread and the Market screen opens on its
    /// preview; text removed there and the consent signed there (account 0, on the store
    /// thread) are in the store when it is opened again, and the consent verifies.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_chat_key_puts_the_conversation_into_the_vault_and_its_consent_is_signed() {
        use crate::service::vault::{self, ConsentState};
        use crate::store::{NewMessage, Role, Timings};
        let home = tempfile::tempdir().unwrap();
        let paths = Paths::resolve(Some(home.path())).unwrap();
        let phrase = "test test test test test test test test test test test junk";
        let mut made = wallet_service::create(&paths, phrase, "", &password()).unwrap();
        let conversation = made
            .store
            .create_conversation("Project notes", "", "")
            .unwrap();
        for (role, text) in [
            (
                Role::User,
                "Ask the quorvex halloran team about the release.",
            ),
            (Role::Assistant, "I will ask quorvex halloran today."),
        ] {
            let msg = NewMessage {
                role,
                text,
                timings: Timings::default(),
            };
            made.store.add_message(conversation.id, &msg).unwrap();
        }
        let seller = made
            .wallet
            .address(keybot_keystore::AccountRef::Hd(0))
            .unwrap();
        drop(made);

        let (mut runtime, mut rx, mut state) = unlocking(&paths);
        let rx = &mut rx;
        until(&mut runtime, rx, &mut state, "unlocking", |s| s.unlocked()).await;
        // Unlocking lists the conversations and reopens the latest one.
        until(&mut runtime, rx, &mut state, "the conversation", |s| {
            s.chat.current == Some(conversation.id) && !s.chat.messages.is_empty()
        })
        .await;
        assert_eq!(state.screen, Screen::Chat);
        // No model here, so the message box does not take letters: `m` is the vault key.
        assert!(!state.typing());
        press(&mut runtime, &mut state, 'm');
        until(&mut runtime, rx, &mut state, "the Market screen", |s| {
            s.screen == Screen::Market
        })
        .await;
        let item = state
            .market
            .item()
            .expect("the new item is selected")
            .clone();
        assert_eq!(item.item.source, format!("chat {}", conversation.id));
        assert_eq!(item.item.title, "Project notes");
        assert!(
            item.preview
                .text
                .contains("Ask the quorvex halloran team about the release.")
        );
        let id = item.item.id;

        // A team's codename the detectors cannot know: removed by hand, every occurrence.
        press(&mut runtime, &mut state, 'x');
        assert!(state.typing());
        for c in "quorvex halloran".chars() {
            press(&mut runtime, &mut state, c);
        }
        runtime.handle(&mut state, Event::Action(Action::Submit), Instant::now());
        until(&mut runtime, rx, &mut state, "the redaction", |s| {
            s.market
                .item()
                .is_some_and(|i| !i.preview.text.contains("quorvex"))
        })
        .await;
        assert_eq!(
            state
                .market
                .item()
                .unwrap()
                .preview
                .counts_by_key()
                .get("custom"),
            Some(&2)
        );
        // The success is said, without repeating the private text.
        until(
            &mut runtime,
            rx,
            &mut state,
            "the redaction's notice",
            |s| {
                s.log
                    .iter()
                    .any(|m| m.text.contains("every occurrence of that text removed"))
            },
        )
        .await;
        assert!(!state.log.iter().any(|m| m.text.contains("quorvex")));

        // The consent step, then y: signed on the store thread.
        press(&mut runtime, &mut state, 'c');
        assert!(matches!(
            state.market.mode,
            crate::tui::state::MarketMode::Consent { .. }
        ));
        press(&mut runtime, &mut state, 'y');
        until(&mut runtime, rx, &mut state, "the consent", |s| {
            s.market.item().is_some_and(|i| i.consent.is_given())
        })
        .await;
        let shown = state.market.item().unwrap().clone();
        runtime.perform(Effect::Lock);

        let reopened = wallet_service::open(&paths, &password()).unwrap();
        let stored = vault::view(&reopened.store, id).unwrap();
        assert_eq!(stored.item.text, item.item.text);
        assert_eq!(stored.preview, shown.preview);
        let ConsentState::Given(consent) = &stored.consent else {
            panic!("no consent in the store: {:?}", stored.consent)
        };
        assert_eq!(consent.sha256, shown.preview.sha256());
        assert_eq!(consent.account, seller.to_checksum(None));
        let statement = crate::market::consent::statement(id, &consent.sha256, consent.time);
        assert!(keybot_keystore::sign::verify_message(
            seller,
            statement.as_bytes(),
            &keybot_keystore::sign::parse_signature(&consent.signature).unwrap()
        ));
        assert!((consent.time - vault::now_secs()).abs() < 600);
    }

    /// Unlocking through the runtime: a GPU-layers value the store cannot read reaches the user
    /// as one error line, and the settings screen shows the default, not a silent "auto" that
    /// still says "lots" (or the reverse).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_bad_stored_setting_is_reported_at_unlock_and_shown_as_its_default() {
        let home = tempfile::tempdir().unwrap();
        let paths = Paths::resolve(Some(home.path())).unwrap();
        let phrase = "test test test test test test test test test test test junk";
        let made = wallet_service::create(&paths, phrase, "", &password()).unwrap();
        made.store
            .set_setting(settings::GPU_LAYERS, "lots")
            .unwrap();
        made.store.set_setting(settings::TEMP, "0.3").unwrap();
        drop(made);
        let (mut runtime, mut rx, mut state) = unlocking(&paths);
        let opened = loop {
            match rx.recv().await.unwrap() {
                Event::Opened(o) => break o,
                Event::Action(a) => panic!("{a:?}"),
                _ => {}
            }
        };
        runtime.handle(&mut state, Event::Opened(opened), Instant::now());
        let error = loop {
            if let Event::Action(Action::Error(e)) = rx.recv().await.unwrap() {
                break e;
            }
        };
        let error = error.to_string();
        assert!(
            error.contains("model.gpu_layers") && error.contains("lots"),
            "{error}"
        );
        assert_eq!(state.settings.get(settings::GPU_LAYERS), Some("auto"));
        assert_eq!(state.settings.get(settings::TEMP), Some("0.3"));
        assert_eq!(runtime.settings.gpu_layers, chat::GpuLayers::Auto);
        assert_eq!(runtime.settings.sampling.temp, 0.3);
    }
}
