//! The terminal app's runtime: one tokio runtime, one queue. Input, a tick, the chat engine and
//! background tasks feed the queue; the loop drains everything pending, runs it through the pure
//! `update`, performs the effects, and redraws at most every ~16 ms.
use std::io::IsTerminal;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use crossterm::event::{Event as TermEvent, EventStream};
use futures_util::StreamExt;
use keybot_keystore::bip85::Purpose;
use keybot_keystore::secret::Password;
use keybot_keystore::{Phrase, Wallet, vault};
use tokio::sync::mpsc::{UnboundedSender, unbounded_channel};

use super::action::Action;
use super::chain_worker::{ChainWorker, Job};
use super::effect::Effect;
use super::state::{Level, ModelStatus, NetInfo, NetLevel, NetView, Screen, SecretText, State};
use super::terminal::TerminalGuard;
use super::theme::{self, Theme};
use super::{keymap, ui, update};
use crate::chain::{ChainConfig, Client};
use crate::chat::{
    self, ChatEvent, Engine, GenerateRequest, GpuLayers, LoadRequest, Prompt, SamplingParams,
};
use crate::config::Paths;
use crate::store::{NewMessage, Role, Store, Timings};

/// What arrives in the queue.
pub enum Event {
    /// Terminal input, stamped when it left the terminal (for the input-latency figure).
    Term(TermEvent, Instant),
    Tick,
    Chat(ChatEvent),
    Action(Action),
    /// A vault was opened or created: the secrets go to the runtime, never into `State`.
    Opened(Box<(Wallet, Store)>),
    Terminate,
}

/// Runs the app until the user quits. Needs a terminal on stdin and stdout.
pub fn run(paths: &Paths) -> Result<()> {
    let start = Instant::now();
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        bail!(
            "the terminal app needs a terminal; for scripts use the subcommands (see keybot --help)"
        );
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    rt.block_on(main_loop(paths.clone(), start))
}

struct Runtime {
    paths: Paths,
    tx: UnboundedSender<Event>,
    wallet: Option<Wallet>,
    store: Option<Store>,
    engine: Option<Engine>,
    /// The chain thread, while unlocked and only when a network is configured.
    chain: Option<ChainWorker>,
    theme: Theme,
    theme_warning: Option<String>,
}

async fn main_loop(paths: Paths, start: Instant) -> Result<()> {
    let (tx, mut rx) = unbounded_channel::<Event>();
    let mut timings = Figures::from_env(start);
    let mut state = State::new(paths.vault().exists());
    let (theme, theme_warning) = theme::load("dark", Some(&paths.config_dir.join("themes")));
    let mut rt = Runtime {
        paths,
        tx: tx.clone(),
        wallet: None,
        store: None,
        engine: None,
        chain: None,
        theme,
        theme_warning,
    };

    spawn_input(tx.clone());
    spawn_ticks(tx.clone());
    spawn_signals(tx.clone());

    let (_guard, mut terminal) = TerminalGuard::enter().context("cannot set up the terminal")?;
    // Rendered messages, kept between frames (a memo; `ui` fills it).
    let mut render_cache = ui::RenderCache::default();
    terminal.draw(|f| ui::draw_with(f, &state, &rt.theme, &mut render_cache))?;
    timings.first_frame();
    if cfg!(debug_assertions) && std::env::var_os("KEYBOT_DEBUG_PANIC").is_some() {
        panic!("KEYBOT_DEBUG_PANIC is set: panicking after the first frame (debug builds only)");
    }
    let mut last_draw = Instant::now();
    while let Some(first) = rx.recv().await {
        timings.saw(&first);
        let mut dirty = rt.handle(&mut state, first, start);
        while let Ok(ev) = rx.try_recv() {
            timings.saw(&ev);
            dirty |= rt.handle(&mut state, ev, start);
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
                rt.handle(&mut state, ev, start);
            }
            if state.quit {
                break;
            }
        }
        terminal.draw(|f| ui::draw_with(f, &state, &rt.theme, &mut render_cache))?;
        last_draw = Instant::now();
        timings.drawn(state.generating());
    }
    timings.write();
    if let Some(engine) = &rt.engine {
        engine.stop();
    }
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
    /// Handles one queued event; returns whether the screen may have changed.
    fn handle(&mut self, state: &mut State, ev: Event, start: Instant) -> bool {
        let actions: Vec<Action> = match ev {
            Event::Term(TermEvent::Key(k), _) => match keymap::key(state, k) {
                Some(a) => vec![Action::UserActivity, a],
                None => vec![Action::UserActivity],
            },
            Event::Term(TermEvent::Mouse(m), _) => keymap::mouse(m).into_iter().collect(),
            Event::Term(TermEvent::Paste(p), _) => vec![
                Action::UserActivity,
                Action::Edit(super::action::Edit::Paste(p)),
            ],
            Event::Term(TermEvent::Resize(..), _) => return true,
            Event::Term(..) => vec![],
            Event::Tick => vec![Action::Tick(start.elapsed().as_millis() as u64)],
            Event::Chat(c) => vec![Action::Chat(c)],
            Event::Action(a) => vec![a],
            Event::Opened(opened) => {
                let (wallet, store) = *opened;
                self.wallet = Some(wallet);
                self.store = Some(store);
                self.apply_theme_setting();
                if let Some(w) = self.theme_warning.take() {
                    self.error(w);
                }
                let accounts = self.accounts(self.saved_account_count());
                load_settings(state, self.store.as_ref());
                let network = self.start_chain();
                vec![
                    Action::WalletReady { accounts },
                    Action::NetworkConfigured(network),
                ]
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
                self.perform(state, effect);
            }
        }
        // A tick changes only the clock unless something (auto-lock) happened.
        before.is_none_or(|b| b != TickView::of(state))
    }

    fn send(&self, a: Action) {
        let _ = self.tx.send(Event::Action(a));
    }

    fn error(&self, e: impl std::fmt::Display) {
        self.send(Action::Error(e.to_string()));
    }

    fn perform(&mut self, state: &State, effect: Effect) {
        match effect {
            Effect::Quit => {}
            Effect::GeneratePhrase { words } => match Phrase::generate(words) {
                Ok(p) => self.send(Action::PhraseGenerated(
                    p.words().iter().map(|w| (*w).to_owned()).collect(),
                )),
                Err(e) => self.error(e),
            },
            Effect::CreateWallet { phrase, password } => {
                let paths = self.paths.clone();
                let tx = self.tx.clone();
                tokio::task::spawn_blocking(move || {
                    let r = create_and_open(&paths, &phrase, &password);
                    let _ = tx.send(match r {
                        Ok(opened) => Event::Opened(Box::new(opened)),
                        Err(e) => Event::Action(Action::Error(format!("{e:#}"))),
                    });
                });
            }
            Effect::Unlock { password } => {
                let paths = self.paths.clone();
                let tx = self.tx.clone();
                tokio::task::spawn_blocking(move || {
                    let r = open(&paths, &password);
                    let _ = tx.send(match r {
                        Ok(opened) => Event::Opened(Box::new(opened)),
                        Err(e) => Event::Action(Action::UnlockFailed(format!("{e:#}"))),
                    });
                });
            }
            Effect::Lock => {
                self.chain = None;
                self.wallet = None;
                self.store = None;
                // The model's KV cache holds the conversation: drop the model too.
                self.engine = None;
            }
            Effect::DeriveAccounts { count } => {
                let accounts = self.accounts(count);
                if let Some(store) = &self.store {
                    let _ = store.set_setting("wallet.accounts", &count.to_string());
                }
                self.send(Action::AccountsDerived(accounts));
            }
            Effect::SetAccountLabel { index, label } => {
                if let Some(store) = &self.store
                    && let Err(e) = store.set_setting(&format!("wallet.label.{index}"), &label)
                {
                    self.error(e);
                }
            }
            Effect::Copy(text) => {
                // OSC 52 reaches the clipboard through the terminal (also over SSH); the local tools
                // are a fallback for terminals that ignore it.
                let _ = crossterm::execute!(
                    std::io::stdout(),
                    crossterm::style::Print(super::clipboard::osc52(&text))
                );
                let tx = self.tx.clone();
                tokio::task::spawn_blocking(move || {
                    let how = match super::clipboard::copy_with_helper(&text) {
                        Ok(h) => format!(" (terminal and {})", h.program()),
                        Err(_) => " (through the terminal, OSC 52)".to_owned(),
                    };
                    let _ = tx.send(Event::Action(Action::Notice(format!("copied {text}{how}"))));
                });
            }
            Effect::ListConversations { search } => self.with_store(|store| {
                let list = match search.as_deref().filter(|s| !s.is_empty()) {
                    Some(q) => store.search_conversations(q)?,
                    None => store.list_conversations()?,
                };
                Ok(Some(Action::Conversations(list)))
            }),
            Effect::OpenConversation(id) => self.with_store(|store| {
                let conversation = store.conversation(id)?;
                let messages = store.messages(id)?;
                Ok(Some(Action::ConversationOpened {
                    conversation,
                    messages,
                }))
            }),
            Effect::NewConversation => {}
            Effect::RenameConversation(id, title) => self.with_store(|store| {
                store.rename_conversation(id, &title)?;
                Ok(Some(Action::Conversations(store.list_conversations()?)))
            }),
            Effect::DeleteConversation(id) => self.with_store(|store| {
                store.delete_conversation(id)?;
                Ok(Some(Action::Conversations(store.list_conversations()?)))
            }),
            Effect::SetSystemPrompt(id, prompt) => self.with_store(|store| {
                store.set_system_prompt(id, &prompt)?;
                Ok(Some(Action::Conversations(store.list_conversations()?)))
            }),
            Effect::Send {
                conversation,
                text,
                history,
                regenerate,
            } => self.send_chat(state, conversation, text, history, regenerate),
            Effect::SaveAnswer {
                conversation,
                text,
                tokens,
                replace_last,
            } => self.with_store_mut(|store| {
                let timings = Timings {
                    tokens: Some(tokens),
                    ..Timings::default()
                };
                if replace_last {
                    store.update_last_assistant(conversation, &text, timings)?;
                } else {
                    store.add_message(
                        conversation,
                        &NewMessage {
                            role: Role::Assistant,
                            text: &text,
                            timings,
                        },
                    )?;
                }
                Ok(Some(Action::Conversations(store.list_conversations()?)))
            }),
            Effect::DeleteLastMessages {
                conversation,
                count,
            } => self.with_store_mut(|store| {
                for _ in 0..count {
                    store.delete_last_message(conversation)?;
                }
                Ok(None)
            }),
            Effect::StopGeneration => {
                if let Some(engine) = &self.engine {
                    engine.stop();
                }
            }
            Effect::PullModel(spec) => {
                let data_dir = self.paths.data_dir.clone();
                let tx = self.tx.clone();
                tokio::task::spawn_blocking(move || {
                    let mut last = u8::MAX;
                    let progress_tx = tx.clone();
                    let r =
                        chat::install::pull(&data_dir, &spec, None, None, &mut |done, total| {
                            let pct = (done.saturating_mul(100))
                                .checked_div(total)
                                .map_or(0, |p| p.min(100) as u8);
                            if pct != last {
                                last = pct;
                                let _ = progress_tx.send(Event::Action(Action::ModelProgress(pct)));
                            }
                        });
                    let _ = tx.send(Event::Action(match r {
                        Ok((entry, _)) => Action::ModelInstalled(entry.name),
                        Err(e) => Action::ModelFailed(format!("download failed: {e:#}")),
                    }));
                });
            }
            Effect::AddModel(path) => {
                let data_dir = self.paths.data_dir.clone();
                let tx = self.tx.clone();
                tokio::task::spawn_blocking(move || {
                    let path = match (path.strip_prefix("~/"), std::env::var_os("HOME")) {
                        (Some(rest), Some(home)) => std::path::Path::new(&home).join(rest),
                        _ => std::path::PathBuf::from(&path),
                    };
                    let _ = tx.send(Event::Action(
                        match chat::install::add(&data_dir, &path, None) {
                            Ok((entry, _)) => Action::ModelInstalled(entry.name),
                            Err(e) => Action::ModelFailed(format!("{e:#}")),
                        },
                    ));
                });
            }
            Effect::LoadModel => self.load_model(state),
            Effect::RefreshChain { addresses } => self.chain_job(Job::Refresh(addresses)),
            Effect::SyncActivity => {
                let own = self.own_addresses();
                self.chain_job(Job::Activity { own });
            }
            Effect::PrepareSend { id, request } => {
                let known = match &self.store {
                    Some(store) => match store.counterparties() {
                        Ok(k) => k,
                        Err(e) => {
                            return self.send(Action::ReviewReady {
                                id,
                                review: Err(e.to_string()),
                            });
                        }
                    },
                    None => Default::default(),
                };
                let own = self.own_addresses();
                self.chain_job(Job::Prepare {
                    id,
                    request,
                    known,
                    own,
                });
            }
            Effect::SignAndSend { account, review } => self.sign_and_send(account, &review),
            Effect::SaveSetting { key, value } => {
                if let Some(store) = &self.store
                    && let Err(e) = store.set_setting(&key, &value)
                {
                    self.error(e);
                }
                if key == "ui.theme" {
                    self.apply_theme_setting();
                    if let Some(w) = self.theme_warning.take() {
                        self.error(w);
                    }
                }
            }
        }
    }

    /// Reads `config.toml` and, when a network is configured, starts the chain thread. Without
    /// one no client is created at all.
    fn start_chain(&mut self) -> Option<NetInfo> {
        self.chain = None;
        let config = match ChainConfig::load(&self.paths) {
            Ok(c) => c,
            Err(e) => {
                self.error(format!("{e:#}"));
                return None;
            }
        };
        let (name, network) = match config.select(None) {
            Ok(Some(selected)) => selected,
            Ok(None) => return None,
            Err(e) => {
                self.error(format!("{e:#}"));
                return None;
            }
        };
        let client = match Client::new(name, network) {
            Ok(c) => c,
            Err(e) => {
                self.error(e);
                return None;
            }
        };
        let key = match self
            .wallet
            .as_ref()
            .map(|w| w.purpose_key(Purpose::Database))
        {
            Some(Ok(k)) => k,
            Some(Err(e)) => {
                self.error(e);
                return None;
            }
            None => return None,
        };
        match ChainWorker::start(client, self.paths.store(), key, self.tx.clone()) {
            Ok(worker) => self.chain = Some(worker),
            Err(e) => {
                self.error(format!("cannot start the chain thread: {e}"));
                return None;
            }
        }
        Some(NetInfo {
            name: name.to_owned(),
            chain_id: network.chain_id,
            tokens: network.tokens.clone(),
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
        let why = || "offline: the chain connection is not running".to_owned();
        self.send(match job {
            Job::Refresh(_) => Action::ChainRefreshed(Err(why())),
            Job::Activity { .. } => Action::ActivityLoaded {
                entries: vec![],
                synced: Err(why()),
            },
            Job::Prepare { id, .. } => Action::ReviewReady {
                id,
                review: Err(why()),
            },
            Job::Broadcast(record) => Action::SendFinished {
                hash: Some(record.hash),
                outcome: Err(format!("{}; the signed transaction was not sent", why())),
            },
        });
    }

    fn own_addresses(&self) -> Vec<keybot_keystore::Address> {
        let Some(wallet) = &self.wallet else {
            return vec![];
        };
        crate::chain::activity::own_addresses(wallet).unwrap_or_default()
    }

    /// Signs the confirmed review with the account it names, and hands the signed bytes to the
    /// chain thread, which records them before broadcasting (never signed twice).
    fn sign_and_send(&self, account: u32, review: &crate::chain::send::Review) {
        let fail = |why: String| {
            self.send(Action::SendFinished {
                hash: None,
                outcome: Err(format!("{why}; nothing was signed")),
            })
        };
        let Some(wallet) = &self.wallet else {
            return fail("the wallet is locked".into());
        };
        if self.chain.is_none() {
            return fail("offline: no network configured".into());
        }
        let account = keybot_keystore::AccountRef::Hd(account);
        match wallet.address(account) {
            Ok(a) if a == review.request.from => {}
            Ok(_) => return fail("the account does not match the review".into()),
            Err(e) => return fail(e.to_string()),
        }
        let signed = match wallet.sign_transaction(account, review.unsigned()) {
            Ok(s) => s,
            Err(e) => return fail(e.to_string()),
        };
        let record = crate::chain::send::sent_record(review, &signed);
        self.chain_job(Job::Broadcast(Box::new(record)));
    }

    fn with_store(&self, f: impl FnOnce(&Store) -> crate::store::Result<Option<Action>>) {
        let Some(store) = &self.store else { return };
        match f(store) {
            Ok(Some(a)) => self.send(a),
            Ok(None) => {}
            Err(e) => self.error(e),
        }
    }

    fn with_store_mut(
        &mut self,
        f: impl FnOnce(&mut Store) -> crate::store::Result<Option<Action>>,
    ) {
        let Some(store) = &mut self.store else { return };
        let r = f(store);
        match r {
            Ok(Some(a)) => self.send(a),
            Ok(None) => {}
            Err(e) => self.error(e),
        }
    }

    fn apply_theme_setting(&mut self) {
        let name = self
            .store
            .as_ref()
            .and_then(|s| s.setting("ui.theme").ok().flatten())
            .unwrap_or_else(|| "dark".into());
        let (theme, warning) = theme::load(&name, Some(&self.paths.config_dir.join("themes")));
        self.theme = theme;
        self.theme_warning = warning;
    }

    fn saved_account_count(&self) -> u32 {
        self.store
            .as_ref()
            .and_then(|s| s.setting_as::<u32>("wallet.accounts").ok().flatten())
            .unwrap_or(1)
            .clamp(1, 1000)
    }

    fn accounts(&self, count: u32) -> Vec<(u32, keybot_keystore::Address, String)> {
        let Some(wallet) = &self.wallet else {
            return vec![];
        };
        let Ok(addresses) = wallet.addresses(0, count) else {
            return vec![];
        };
        addresses
            .into_iter()
            .zip(0..)
            .map(|(a, i)| {
                let label = self
                    .store
                    .as_ref()
                    .and_then(|s| s.setting(&format!("wallet.label.{i}")).ok().flatten())
                    .unwrap_or_default();
                (i, a, label)
            })
            .collect()
    }

    fn engine(&mut self) -> Option<&Engine> {
        if self.engine.is_none() {
            match Engine::spawn() {
                Ok(mut engine) => {
                    let events = engine.take_events();
                    let tx = self.tx.clone();
                    std::thread::Builder::new()
                        .name("chat-events".into())
                        .spawn(move || {
                            while let Ok(ev) = events.recv() {
                                if tx.send(Event::Chat(ev)).is_err() {
                                    break;
                                }
                            }
                        })
                        .ok()?;
                    self.engine = Some(engine);
                }
                Err(e) => {
                    self.error(e);
                    return None;
                }
            }
        }
        self.engine.as_ref()
    }

    fn load_model(&mut self, state: &State) {
        let data_dir = self.paths.data_dir.clone();
        let registry = match chat::registry::Registry::load(&data_dir) {
            Ok(r) => r,
            Err(e) => return self.error(e),
        };
        let wanted = state
            .settings
            .get("model.default")
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .or(registry.default.clone());
        let Some(name) = wanted else {
            return self.send(Action::ModelMissing(
                "no model is registered on this machine yet".into(),
            ));
        };
        let entry = match registry.get(&name) {
            Ok(e) => e.clone(),
            Err(e) => return self.send(Action::ModelMissing(e.to_string())),
        };
        let gpu_layers = match state.settings.get("model.gpu_layers") {
            Some("all") => GpuLayers::All,
            Some(n) => n.parse().map(GpuLayers::Count).unwrap_or(GpuLayers::Auto),
            None => GpuLayers::Auto,
        };
        let ctx = state.settings.get("model.ctx").and_then(|c| c.parse().ok());
        let req = LoadRequest {
            path: entry.path,
            ctx,
            threads: None,
            gpu_layers,
            template: None,
            // The engine hashes the file before loading it: a swapped file is refused.
            expected_sha256: Some(entry.sha256),
        };
        if let Some(engine) = self.engine()
            && let Err(e) = engine.send(chat::engine::ChatCommand::Load(Box::new(req)))
        {
            self.error(e);
        }
    }

    fn send_chat(
        &mut self,
        state: &State,
        conversation: i64,
        text: String,
        history: Vec<chat::Message>,
        regenerate: bool,
    ) {
        let Some(store) = &mut self.store else { return };
        let created = conversation == 0;
        let conversation = if created {
            let title: String = crate::sanitize::clean_line(&text)
                .chars()
                .take(48)
                .collect();
            match store.create_conversation(&title, "", "") {
                Ok(c) => c.id,
                Err(e) => return self.error(e),
            }
        } else {
            conversation
        };
        if !regenerate
            && let Err(e) = store.add_message(
                conversation,
                &NewMessage {
                    role: Role::User,
                    text: &text,
                    timings: Timings::default(),
                },
            )
        {
            return self.error(e);
        }
        // A conversation made for this first question joins the list and becomes current; an
        // existing one is already shown as it should be (with the regenerated answer removed).
        if created
            && let (Ok(c), Ok(m)) = (
                store.conversation(conversation),
                store.messages(conversation),
            )
        {
            self.send(Action::ConversationOpened {
                conversation: c,
                messages: m,
            });
        }
        let f = |k: &str| state.settings.get(k).and_then(|v| v.parse::<f32>().ok());
        let d = SamplingParams::default();
        let sampling = SamplingParams {
            temp: f("sampling.temp").unwrap_or(d.temp),
            top_k: f("sampling.top_k").map(|v| v as i32).unwrap_or(d.top_k),
            top_p: f("sampling.top_p").unwrap_or(d.top_p),
            min_p: f("sampling.min_p").unwrap_or(d.min_p),
            ..d
        };
        let req = GenerateRequest {
            prompt: Prompt::Chat(history),
            sampling,
            max_tokens: None,
        };
        if let Some(engine) = self.engine()
            && let Err(e) = engine.generate(req)
        {
            self.error(e);
        }
    }
}

fn load_settings(state: &mut State, store: Option<&Store>) {
    let Some(store) = store else { return };
    for item in &mut state.settings.items {
        if let Ok(Some(v)) = store.setting(item.key) {
            item.value = v;
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
}

impl TickView {
    fn of(state: &State) -> TickView {
        TickView {
            screen: state.screen,
            message: state.message.clone(),
            model: state.chat.model.clone(),
            net: state.net.clone(),
            indicator: state.net.indicator(state.now_ms),
        }
    }
}

fn open(paths: &Paths, password: &Password) -> Result<(Wallet, Store)> {
    let wallet = vault::open(&paths.vault(), password)?;
    let store = Store::open_for(paths, &wallet)?;
    Ok((wallet, store))
}

fn create_and_open(
    paths: &Paths,
    phrase: &SecretText,
    password: &Password,
) -> Result<(Wallet, Store)> {
    let wallet = Wallet::new(Phrase::parse(phrase)?, "")?;
    vault::create(&paths.vault(), &wallet, password)?;
    tracing::info!("wallet created from the terminal app");
    let store = Store::open_for(paths, &wallet)?;
    Ok((wallet, store))
}
