//! The chat screen: conversations, the message box, the model's status and the streamed answer.
//! Its view state and its part of `update`.
use crate::chat::{ChatEvent, Message as ChatMessage};
use crate::store::{Conversation, ConversationId, Message, Role};
use crate::tui::action::Action;
use crate::tui::effect::Effect;
use crate::tui::error::ModelError;
use crate::tui::screens::market::{ADD_KEY, MarketEffect};
use crate::tui::screens::settings::SettingsEffect;
use crate::tui::state::*;

use super::chat_bot::{self, BotRound, BotTurn};

/// The chat screen's results from the runtime.
#[derive(Debug, Clone)]
pub enum ChatAction {
    Conversations(Vec<Conversation>),
    ConversationOpened {
        conversation: Conversation,
        messages: Vec<Message>,
    },
    /// A token, the end or an error of the generation under way.
    Event(ChatEvent),
    ModelMissing(String),
    /// Download progress of `model pull`, percent.
    ModelProgress(u8),
    /// A model was pulled or added and registered under this name.
    ModelInstalled(String),
    ModelFailed(ModelError),
    /// The loaded model's tools, ready (or why they are not: the model chats without them).
    ToolsReady(Result<std::sync::Arc<crate::bot::turn::Setup>, String>),
    /// Answers to the reads of a bot round, by call index.
    ToolResults(Vec<(usize, Result<serde_json::Value, String>)>),
    /// How many proposals of other programs wait (`keybot mcp`), after unlocking.
    QueueCount(usize),
    /// The oldest waiting one, for `P`.
    Queued(Option<crate::store::QueuedProposal>),
    /// The conversations whose tools the user switched off, from the store.
    ToolsOff(Vec<ConversationId>),
}

/// What the chat screen asks the runtime to do.
#[derive(Debug)]
pub enum ChatEffect {
    ListConversations {
        search: Option<String>,
    },
    OpenConversation(ConversationId),
    NewConversation,
    RenameConversation(ConversationId, String),
    DeleteConversation(ConversationId),
    SetSystemPrompt(ConversationId, String),
    /// A chat turn: store the user's message (in a new conversation when `conversation` is
    /// None), then generate the answer for the whole conversation; with `bot`, its first round
    /// with the tools instead.
    Send {
        conversation: Option<ConversationId>,
        text: String,
        history: Vec<ChatMessage>,
        regenerate: bool,
        bot: Option<BotRound>,
    },
    /// The next round of a turn with tools.
    Generate(BotRound),
    /// Run these reads of a bot round (by call index) and answer with `ToolResults`.
    RunTools(Vec<(usize, crate::bot::tools::Read)>),
    /// Build the loaded model's tools for the active network's tokens (`ToolsReady`).
    PrepareTools {
        format: crate::bot::format::ToolFormat,
        symbols: Vec<String>,
    },
    /// Count the proposals other programs queued (`QueueCount`).
    CheckQueue,
    /// Read which conversations have their tools off (`ToolsOff`).
    LoadToolsOff,
    /// Keep which conversations have their tools off.
    SaveToolsOff(Vec<ConversationId>),
    /// The oldest queued proposal (`Queued`).
    NextQueued,
    /// The user's decision on queued proposal `id`.
    DecideQueued {
        id: i64,
        decision: Result<crate::bot::tools::Decision, String>,
    },
    /// Save the turn: its tool calls (one JSON object each) first, then the answer (none when
    /// `text` is empty).
    SaveAnswer {
        conversation: ConversationId,
        text: String,
        tokens: u32,
        tools: Vec<String>,
    },
    /// Removes the last `count` messages (edit the last question).
    DeleteLastMessages {
        conversation: ConversationId,
        count: usize,
    },
    StopGeneration,
    LoadModel,
    /// Download and register a model (`REPO:FILE`).
    PullModel(String),
    /// Register a GGUF file that is already on this machine.
    AddModel(String),
}

/// What the no-model screen offers to download: small (about 0.5 GB), good at code and chat.
pub const SUGGESTED_MODEL: &str =
    "Qwen/Qwen2.5-Coder-0.5B-Instruct-GGUF:qwen2.5-coder-0.5b-instruct-q4_k_m.gguf";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatLine {
    pub role: Role,
    pub text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ChatFocus {
    #[default]
    Input,
    List,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelStatus {
    /// No model configured: the screen explains how to get one.
    Missing(String),
    /// Downloading the suggested model, percent.
    Downloading(u8),
    Loading(u8),
    Ready {
        name: String,
        device: String,
        gpu_layers: u32,
        total_layers: u32,
        ctx: u32,
    },
    /// The line shown for a model that failed to install or load (a `ModelError`'s or the
    /// engine's `ChatError`'s); only drawn, and compared on every tick, so kept as the text.
    Failed(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct ChatView {
    pub conversations: Vec<Conversation>,
    pub selected: usize,
    pub current: Option<ConversationId>,
    pub messages: Vec<ChatLine>,
    pub input: Input,
    pub focus: ChatFocus,
    /// The answer being streamed, if any.
    pub streaming: Option<String>,
    /// Lines scrolled up from the bottom; 0 follows the tail.
    pub scroll: u16,
    pub search: Option<Input>,
    pub renaming: Option<Input>,
    /// Editing the selected conversation's system prompt.
    pub system_prompt: Option<Input>,
    /// Typing the path of a GGUF file to add (offered when there is no model).
    pub model_path: Option<Input>,
    pub model: ModelStatus,
    pub tokens_per_second: Option<f64>,
    pub ctx_used: Option<(usize, usize)>,
    /// The loaded model's tools (None: no model, or its template takes none).
    pub tools: Option<std::sync::Arc<crate::bot::turn::Setup>>,
    /// Conversations the user switched the tools off for (`t`), and whether the next new one
    /// starts without them.
    pub tools_off: std::collections::BTreeSet<ConversationId>,
    pub tools_off_new: bool,
    /// A turn with tools under way.
    pub bot: Option<BotTurn>,
    /// Tool calls in the transcript shown whole (arguments and result), not folded (`x`).
    pub tools_expanded: bool,
    /// The most recent conversation was opened after unlocking.
    pub opened_once: bool,
}

impl Default for ChatView {
    fn default() -> Self {
        ChatView {
            conversations: Vec::new(),
            selected: 0,
            current: None,
            messages: Vec::new(),
            input: Input::default(),
            focus: ChatFocus::Input,
            streaming: None,
            scroll: 0,
            search: None,
            renaming: None,
            system_prompt: None,
            model_path: None,
            model: ModelStatus::Missing(String::new()),
            tokens_per_second: None,
            ctx_used: None,
            tools: None,
            tools_off: Default::default(),
            tools_off_new: false,
            bot: None,
            tools_expanded: false,
            opened_once: false,
        }
    }
}

/// Keys are text in the message box (only once a model is there: without one its letters are
/// the offers, p and a) and in any of the small fields (path, search, rename, system prompt).
pub(crate) fn typing(s: &State) -> bool {
    let c = &s.chat;
    // Without a model the message box has no use; letters are the offers (p, a).
    let no_model = matches!(
        c.model,
        ModelStatus::Missing(_) | ModelStatus::Failed(_) | ModelStatus::Downloading(_)
    );
    (c.focus == ChatFocus::Input && !no_model)
        || c.model_path.is_some()
        || c.search.is_some()
        || c.renaming.is_some()
        || c.system_prompt.is_some()
}

pub(crate) const HELP: &[(&str, &str)] = &[
    ("Enter", "send"),
    ("Alt-Enter / Ctrl-J", "new line"),
    ("Esc", "stop the answer / leave the input"),
    ("Tab", "input ↔ conversation list"),
    ("n r d", "new, rename, delete (list)"),
    ("/", "search conversations (list)"),
    ("s", "system prompt of the conversation (list)"),
    ("g", "regenerate the last answer (list)"),
    (
        "t",
        "tools on/off for the conversation: the model reads your wallet and proposes (list)",
    ),
    ("x", "show tool calls whole / folded (list)"),
    (
        "P",
        "review the oldest proposal another program made (keybot mcp) (list)",
    ),
    ("e", "edit the last question (list)"),
    (
        "m",
        "put the conversation into the sale vault and open its preview (list)",
    ),
    (
        "p / a",
        "no model yet: download the suggested one / add a file",
    ),
    ("PgUp/PgDn, wheel", "scroll"),
];

/// Conversations from the store, the model's download and load, and the engine's events.
pub(crate) fn owns(action: &Action) -> bool {
    matches!(action, Action::Chat(_))
}

pub(crate) fn result(s: &mut State, action: Action) -> Vec<Effect> {
    match action {
        Action::Chat(ChatAction::Conversations(list)) => {
            s.chat.conversations = list;
            s.chat.selected = s
                .chat
                .selected
                .min(s.chat.conversations.len().saturating_sub(1));
            // Right after unlocking, reopen the most recent conversation, as a chat client does.
            if !s.chat.opened_once && s.chat.current.is_none() && s.chat.streaming.is_none() {
                s.chat.opened_once = true;
                if let Some(first) = s.chat.conversations.first() {
                    return vec![Effect::Chat(ChatEffect::OpenConversation(first.id))];
                }
            }
            vec![]
        }
        Action::Chat(ChatAction::ConversationOpened {
            conversation,
            messages,
        }) => opened(&mut s.chat, conversation, messages),
        Action::Chat(ChatAction::ModelProgress(p)) => {
            s.chat.model = ModelStatus::Downloading(p);
            vec![]
        }
        Action::Chat(ChatAction::ModelInstalled(name)) => {
            if let Some(item) = s
                .settings
                .items
                .iter_mut()
                .find(|i| i.key == "model.default")
            {
                item.value = name.clone();
            }
            s.chat.model = ModelStatus::Loading(0);
            s.message = Some((Level::Info, format!("model {name} is ready to load")));
            vec![
                Effect::Settings(SettingsEffect::SaveSetting {
                    key: "model.default".into(),
                    value: name,
                }),
                Effect::Chat(ChatEffect::LoadModel),
            ]
        }
        Action::Chat(ChatAction::ModelFailed(why)) => {
            let why = why.to_string();
            s.chat.model = ModelStatus::Failed(why.clone());
            s.message = Some((Level::Error, why));
            vec![]
        }
        Action::Chat(ChatAction::ModelMissing(why)) => {
            s.chat.model = ModelStatus::Missing(why);
            vec![]
        }
        Action::Chat(ChatAction::Event(event)) => chat_event(s, event),
        Action::Chat(ChatAction::ToolsReady(r)) => {
            match r {
                Ok(setup) => s.chat.tools = Some(setup),
                Err(why) => {
                    s.chat.tools = None;
                    s.message = Some((Level::Info, format!("chatting without tools: {why}")));
                }
            }
            vec![]
        }
        Action::Chat(ChatAction::ToolResults(results)) => chat_bot::reads_answered(s, results),
        Action::Chat(ChatAction::QueueCount(n)) => {
            if n > 0 {
                s.message = Some((
                    Level::Info,
                    format!(
                        "{n} proposal(s) from other programs wait for your review: P in the chat list"
                    ),
                ));
            }
            vec![]
        }
        Action::Chat(ChatAction::Queued(q)) => chat_bot::queued(s, q),
        Action::Chat(ChatAction::ToolsOff(ids)) => {
            s.chat.tools_off = ids.into_iter().collect();
            vec![]
        }
        _ => vec![],
    }
}

fn opened(c: &mut ChatView, conversation: Conversation, messages: Vec<Message>) -> Vec<Effect> {
    let mut effects = Vec::new();
    c.current = Some(conversation.id);
    if let Some(i) = c.conversations.iter().position(|x| x.id == conversation.id) {
        c.selected = i;
    } else {
        // A conversation this question created: it keeps the choice made before it existed.
        if std::mem::take(&mut c.tools_off_new) {
            c.tools_off.insert(conversation.id);
            effects.push(chat_bot::save_tools_off(c));
        }
        c.conversations.insert(0, conversation);
        c.selected = 0;
    }
    c.messages = messages
        .into_iter()
        .map(|m| ChatLine {
            role: m.role,
            text: m.text,
        })
        .collect();
    c.scroll = 0;
    effects
}

/// The keys of the chat screen: an open small field (rename, path, system prompt, search) has
/// them first, then the offers when there is no model, then the input or the list.
pub(crate) fn update(s: &mut State, action: Action) -> Vec<Effect> {
    let c = &mut s.chat;
    if c.renaming.is_some() {
        return renaming(c, action);
    }
    if c.model_path.is_some() {
        return model_path(c, action);
    }
    let no_model = matches!(c.model, ModelStatus::Missing(_) | ModelStatus::Failed(_));
    match action {
        Action::Command('p') if no_model => {
            c.model = ModelStatus::Downloading(0);
            return vec![Effect::Chat(ChatEffect::PullModel(
                SUGGESTED_MODEL.to_owned(),
            ))];
        }
        Action::Command('a') if no_model => {
            c.model_path = Some(Input::default());
            return vec![];
        }
        _ => {}
    }
    if c.system_prompt.is_some() {
        return system_prompt(c, action);
    }
    if c.search.is_some() {
        return search(c, action);
    }
    if let Action::Command(ADD_KEY) = action {
        return add_to_vault(s);
    }
    if let Action::Command(k) = action
        && let Some(why) = without_model(c, k)
    {
        s.message = Some((Level::Error, why.into()));
        return vec![];
    }
    match (c.focus, action) {
        // A bot turn waiting on its tools (the engine is idle): Esc ends the turn here.
        (_, Action::Back) if chat_bot::waiting(c) => chat_bot::stop(s),
        (_, Action::Back) if c.streaming.is_some() => {
            vec![Effect::Chat(ChatEffect::StopGeneration)]
        }
        (ChatFocus::Input, Action::Back | Action::FocusNext) => {
            c.focus = ChatFocus::List;
            vec![]
        }
        (ChatFocus::List, Action::FocusNext | Action::Back) => {
            c.focus = ChatFocus::Input;
            vec![]
        }
        (ChatFocus::Input, Action::Edit(e)) => {
            c.input.apply(&e, true);
            vec![]
        }
        (ChatFocus::Input, Action::Submit) => send(s),
        (_, action @ (Action::ScrollUp(_) | Action::ScrollDown(_))) => scroll(c, action),
        (_, action @ (Action::PageUp | Action::PageDown)) => scroll(c, action),
        (ChatFocus::List, action) => list_key(s, action),
        _ => vec![],
    }
}

fn scroll(c: &mut ChatView, action: Action) -> Vec<Effect> {
    match action {
        Action::ScrollUp(n) => c.scroll = c.scroll.saturating_add(n),
        Action::ScrollDown(n) => c.scroll = c.scroll.saturating_sub(n),
        Action::PageUp => c.scroll = c.scroll.saturating_add(10),
        Action::PageDown => c.scroll = c.scroll.saturating_sub(10),
        _ => {}
    }
    vec![]
}

/// The conversation list's keys: move, open, and the commands on the selected conversation.
fn list_key(s: &mut State, action: Action) -> Vec<Effect> {
    let c = &mut s.chat;
    match action {
        Action::Up => {
            c.selected = c.selected.saturating_sub(1);
            vec![]
        }
        Action::Down => {
            c.selected = (c.selected + 1).min(c.conversations.len().saturating_sub(1));
            vec![]
        }
        Action::Submit => match c.conversations.get(c.selected) {
            Some(conv) => {
                c.focus = ChatFocus::Input;
                vec![Effect::Chat(ChatEffect::OpenConversation(conv.id))]
            }
            None => vec![],
        },
        Action::Command('n') => {
            c.tools_off_new = false;
            c.focus = ChatFocus::Input;
            c.current = None;
            c.messages.clear();
            vec![Effect::Chat(ChatEffect::NewConversation)]
        }
        Action::Command('r') => {
            if let Some(conv) = c.conversations.get(c.selected) {
                let mut input = Input::default();
                input.set(&conv.title);
                c.renaming = Some(input);
            }
            vec![]
        }
        Action::Command('d') => {
            if let Some(conv) = c.conversations.get(c.selected) {
                s.overlay = Some(Overlay::ConfirmDelete(conv.id));
            }
            vec![]
        }
        Action::Command('s') => {
            if let Some(conv) = c.conversations.get(c.selected) {
                let mut input = Input::default();
                input.set(&conv.system_prompt);
                c.system_prompt = Some(input);
            }
            vec![]
        }
        Action::Command('/') => {
            c.search = Some(Input::default());
            vec![]
        }
        Action::Command('g') => regenerate(s),
        Action::Command('e') => edit_last(s),
        Action::Command('t') => chat_bot::toggle(s),
        Action::Command('x') => {
            c.tools_expanded = !c.tools_expanded;
            vec![]
        }
        Action::Command('P') => vec![Effect::Chat(ChatEffect::NextQueued)],
        _ => vec![],
    }
}

/// Why command key `k` does nothing while there is no model to answer: `n` (a new
/// conversation could not be answered), and in the message box, which takes no letters
/// then, any key that is not one of the offers. None where the key does something.
fn without_model(c: &ChatView, k: char) -> Option<&'static str> {
    let downloading = matches!(c.model, ModelStatus::Downloading(_));
    if !downloading && !matches!(c.model, ModelStatus::Missing(_) | ModelStatus::Failed(_)) {
        return None;
    }
    match (k, c.focus, downloading) {
        ('n', _, false) => {
            Some("no chat model to answer a new chat: p downloads one, a adds a GGUF file")
        }
        ('n', _, true) => {
            Some("the model is still downloading; a new chat can start once it is loaded")
        }
        (_, ChatFocus::Input, false) => {
            Some("no chat model: p downloads one, a adds a GGUF file, Tab goes to the list")
        }
        (_, ChatFocus::Input, true) => {
            Some("the model is still downloading; Tab goes to the conversation list")
        }
        (_, ChatFocus::List, _) => None,
    }
}

/// `m`: a copy of the conversation goes into the sale vault (the Market screen then opens on
/// its preview): the one selected in the list, or the open one when the list has no focus.
fn add_to_vault(s: &mut State) -> Vec<Effect> {
    let c = &s.chat;
    let id = match c.focus {
        ChatFocus::List => c.conversations.get(c.selected).map(|x| x.id),
        ChatFocus::Input => c.current,
    };
    let why = match id {
        None => "no conversation to add: open one, or select it in the list (Tab)",
        // Its answer is not stored yet: the copy would miss it.
        Some(id) if s.generating() && c.current == Some(id) => {
            "wait for the answer to finish (Esc stops it), then add the conversation"
        }
        Some(id) => return vec![Effect::Market(MarketEffect::AddChat(id))],
    };
    s.message = Some((Level::Error, why.into()));
    vec![]
}

fn renaming(c: &mut ChatView, action: Action) -> Vec<Effect> {
    let Some(input) = &mut c.renaming else {
        return vec![];
    };
    match action {
        Action::Edit(e) => input.apply(&e, false),
        Action::Back => c.renaming = None,
        Action::Submit => {
            let title = crate::sanitize::clean_line(input.text.trim()).into_owned();
            c.renaming = None;
            if let Some(conv) = c.conversations.get_mut(c.selected)
                && !title.is_empty()
            {
                conv.title = title.clone();
                return vec![Effect::Chat(ChatEffect::RenameConversation(conv.id, title))];
            }
        }
        _ => {}
    }
    vec![]
}

fn model_path(c: &mut ChatView, action: Action) -> Vec<Effect> {
    let Some(input) = &mut c.model_path else {
        return vec![];
    };
    match action {
        Action::Edit(e) => input.apply(&e, false),
        Action::Back => c.model_path = None,
        Action::Submit => {
            let path = input.take();
            c.model_path = None;
            if !path.trim().is_empty() {
                c.model = ModelStatus::Loading(0);
                return vec![Effect::Chat(ChatEffect::AddModel(path.trim().to_owned()))];
            }
        }
        _ => {}
    }
    vec![]
}

fn system_prompt(c: &mut ChatView, action: Action) -> Vec<Effect> {
    let Some(input) = &mut c.system_prompt else {
        return vec![];
    };
    match action {
        Action::Edit(e) => input.apply(&e, true),
        Action::Back => c.system_prompt = None,
        Action::Submit => {
            let prompt = crate::sanitize::clean(input.text.trim()).into_owned();
            c.system_prompt = None;
            if let Some(conv) = c.conversations.get_mut(c.selected) {
                conv.system_prompt = prompt.clone();
                return vec![Effect::Chat(ChatEffect::SetSystemPrompt(conv.id, prompt))];
            }
        }
        _ => {}
    }
    vec![]
}

fn search(c: &mut ChatView, action: Action) -> Vec<Effect> {
    let Some(input) = &mut c.search else {
        return vec![];
    };
    match action {
        Action::Edit(e) => {
            input.apply(&e, false);
            return vec![Effect::Chat(ChatEffect::ListConversations {
                search: Some(input.text.clone()),
            })];
        }
        Action::Back => {
            c.search = None;
            return vec![Effect::Chat(ChatEffect::ListConversations { search: None })];
        }
        Action::Submit => {
            c.search = None;
            c.focus = ChatFocus::List;
        }
        _ => {}
    }
    vec![]
}

/// The conversation for the model: with tools, each stored call as the call and its result;
/// without, only the words (a stored call is the wallet's, not the conversation's).
fn history(c: &ChatView) -> Vec<ChatMessage> {
    let system = c
        .current
        .and_then(|id| c.conversations.iter().find(|x| x.id == id))
        .map(|conv| conv.system_prompt.as_str());
    chat_bot::history(c, system, chat_bot::active(c))
}

fn can_generate(s: &mut State) -> bool {
    if s.chat.streaming.is_some() {
        return false;
    }
    if !matches!(s.chat.model, ModelStatus::Ready { .. }) {
        s.message = Some((
            Level::Error,
            "no model is loaded yet (see the chat screen for how to get one)".into(),
        ));
        return false;
    }
    true
}

fn send(s: &mut State) -> Vec<Effect> {
    if s.chat.input.text.trim().is_empty() || !can_generate(s) {
        return vec![];
    }
    let c = &mut s.chat;
    let text = c.input.take();
    c.messages.push(ChatLine {
        role: Role::User,
        text: text.clone(),
    });
    c.streaming = Some(String::new());
    c.scroll = 0;
    let history = history(c);
    let bot = if chat_bot::active(c) {
        chat_bot::start(s, history.clone())
    } else {
        None
    };
    // Without a current conversation the runtime creates one first (titled from the question).
    vec![Effect::Chat(ChatEffect::Send {
        conversation: s.chat.current,
        text,
        history,
        regenerate: false,
        bot,
    })]
}

/// The last answer again: it and the calls that led to it are removed (here and in the store)
/// and the question is answered anew.
fn regenerate(s: &mut State) -> Vec<Effect> {
    if !can_generate(s) {
        return vec![];
    }
    let c = &mut s.chat;
    let Some(conversation) = c.current else {
        return vec![];
    };
    let Some(pos) = c.messages.iter().rposition(|m| m.role == Role::User) else {
        return vec![];
    };
    let count = c.messages.len() - pos - 1;
    if count == 0 {
        return vec![];
    }
    c.messages.truncate(pos + 1);
    c.streaming = Some(String::new());
    c.focus = ChatFocus::Input;
    let history = history(c);
    let bot = if chat_bot::active(c) {
        chat_bot::start(s, history.clone())
    } else {
        None
    };
    vec![
        Effect::Chat(ChatEffect::DeleteLastMessages {
            conversation,
            count,
        }),
        Effect::Chat(ChatEffect::Send {
            conversation: Some(conversation),
            text: String::new(),
            history,
            regenerate: true,
            bot,
        }),
    ]
}

/// Puts the last question back into the input (and removes it and its answer) for editing.
fn edit_last(s: &mut State) -> Vec<Effect> {
    let c = &mut s.chat;
    if c.streaming.is_some() {
        return vec![];
    }
    let Some(pos) = c.messages.iter().rposition(|m| m.role == Role::User) else {
        return vec![];
    };
    let question = c.messages[pos].text.clone();
    let removed = c.messages.len() - pos;
    c.messages.truncate(pos);
    c.input.set(&question);
    c.focus = ChatFocus::Input;
    match c.current {
        Some(conversation) => vec![Effect::Chat(ChatEffect::DeleteLastMessages {
            conversation,
            count: removed,
        })],
        None => vec![],
    }
}

/// The symbols of the active network's tokens: a transfer's `token` is one of them.
pub(crate) fn token_symbols(net: &NetView) -> Vec<String> {
    net.info
        .iter()
        .flat_map(|n| n.tokens.iter().map(|t| t.symbol.clone()))
        .collect()
}

fn chat_event(s: &mut State, event: ChatEvent) -> Vec<Effect> {
    let c = &mut s.chat;
    match event {
        ChatEvent::LoadProgress(p) => {
            c.model = ModelStatus::Loading((p.clamp(0.0, 1.0) * 100.0) as u8)
        }
        ChatEvent::Loaded(info) => {
            c.tools = None;
            let tools = match info.tools {
                crate::bot::format::Support::Format(format) => {
                    Some(Effect::Chat(ChatEffect::PrepareTools {
                        format,
                        symbols: token_symbols(&s.net),
                    }))
                }
                other => {
                    if let Some(why) = other.why_not() {
                        s.message = Some((Level::Info, why.to_owned()));
                    }
                    None
                }
            };
            let c = &mut s.chat;
            c.model = ModelStatus::Ready {
                name: info
                    .path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                device: info.device.clone(),
                gpu_layers: info.gpu_layers,
                total_layers: info.n_layer + 1,
                ctx: info.n_ctx,
            };
            return tools.into_iter().collect();
        }
        ChatEvent::Unloaded => {
            c.model = ModelStatus::Missing(String::new());
            c.tools = None;
        }
        ChatEvent::Notice(m) => s.message = Some((Level::Info, m)),
        ChatEvent::TurnsDropped(n) => {
            s.message = Some((
                Level::Info,
                format!(
                    "the conversation outgrew the context: the model no longer sees the oldest {n} messages"
                ),
            ));
        }
        ChatEvent::Piece(p) if c.bot.is_some() => chat_bot::piece(c, &p),
        ChatEvent::Piece(p) => {
            if let Some(text) = &mut c.streaming {
                text.push_str(&p);
            }
        }
        ChatEvent::Stats(st) => {
            c.tokens_per_second = Some(st.generate_tps());
            c.ctx_used = Some((st.ctx_used, st.ctx_size));
        }
        ChatEvent::Done(reason) if c.bot.is_some() => return chat_bot::done(s, reason),
        ChatEvent::Done(_) => {
            if let Some(text) = c.streaming.take() {
                c.messages.push(ChatLine {
                    role: Role::Assistant,
                    text: text.clone(),
                });
                if let Some(conversation) = c.current {
                    return vec![Effect::Chat(ChatEffect::SaveAnswer {
                        conversation,
                        text,
                        tokens: 0,
                        tools: Vec::new(),
                    })];
                }
            }
        }
        ChatEvent::Error(e) => {
            chat_bot::failed(c);
            if let Some(text) = c.streaming.take()
                && !text.is_empty()
            {
                c.messages.push(ChatLine {
                    role: Role::Assistant,
                    text,
                });
            }
            if matches!(c.model, ModelStatus::Loading(_)) {
                c.model = ModelStatus::Failed(e.to_string());
            }
            s.message = Some((Level::Error, e.to_string()));
        }
        ChatEvent::Prompt { .. } | ChatEvent::Bench(_) => {}
    }
    vec![]
}
