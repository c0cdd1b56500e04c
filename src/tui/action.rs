//! What can happen to the app: keys already mapped to intents, ticks, and results coming back
//! from the runtime (keystore, store, chat engine). `update` is the only consumer.
use keybot_keystore::Address;

use alloy::primitives::B256;

use crate::chain::ChainError;
use crate::chain::activity::Entry;
use crate::chain::balance::AccountBalance;
use crate::chain::send::{Outcome, Review};
use crate::chat::ChatEvent;
use crate::store::{Conversation, Message};

use super::state::{NetInfo, Screen};

/// A change to the focused text input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Edit {
    Char(char),
    Backspace,
    Delete,
    Left,
    Right,
    Home,
    End,
    /// A line break inside a multi-line input (Alt-Enter / Ctrl-J in the chat box).
    Newline,
    Paste(String),
}

#[derive(Debug, Clone)]
pub enum Action {
    /// Milliseconds since the app started; drives auto-lock and spinners.
    Tick(u64),
    /// Any key or mouse input (resets the idle timer) — sent before the mapped action.
    UserActivity,
    Edit(Edit),
    Submit,
    /// Esc: stop a generation, close an overlay, leave a field.
    Back,
    Up,
    Down,
    PageUp,
    PageDown,
    ScrollUp(u16),
    ScrollDown(u16),
    /// Tab inside a screen: move focus.
    FocusNext,
    Screen(Screen),
    NextScreen,
    ToggleHelp,
    Quit,
    Lock,
    /// A screen-specific command key (`n`, `r`, `d`, `c`, `e`, `g`, `/`, …) outside text input.
    Command(char),
    /// y/n answers in a confirm overlay.
    Confirm(bool),

    // Results from the runtime.
    PhraseGenerated(Vec<String>),
    WalletReady {
        accounts: Vec<(u32, Address, String)>,
    },
    UnlockFailed(String),
    AccountsDerived(Vec<(u32, Address, String)>),
    Conversations(Vec<Conversation>),
    ConversationOpened {
        conversation: Conversation,
        messages: Vec<Message>,
    },
    Chat(ChatEvent),
    ModelMissing(String),
    /// Download progress of `model pull`, percent.
    ModelProgress(u8),
    /// A model was pulled or added and registered under this name.
    ModelInstalled(String),
    ModelFailed(String),
    Notice(String),
    Error(String),

    // Chain results from the runtime. Errors are typed ([`ChainError`]): `update` words them
    // (one clean line, its `Display`) where it shows them.
    /// The network from `config.toml` after unlocking; None: none configured (offline, and no
    /// socket is ever opened).
    NetworkConfigured(Option<NetInfo>),
    /// The block number and the balances of the listed accounts, or why they could not be read.
    ChainRefreshed(Result<(u64, Vec<AccountBalance>), ChainError>),
    /// The activity list from the store, after a sync with the chain (its head) or not (why).
    ActivityLoaded {
        entries: Vec<Entry>,
        synced: Result<u64, ChainError>,
    },
    /// The review of prepare request `id`, or why it could not be made (nothing was signed).
    ReviewReady {
        id: u64,
        review: Result<Box<Review>, ChainError>,
    },
    /// A line about a send on its way (broadcast, waiting).
    SendProgress(String),
    /// How a confirmed send ended. `hash` is None when it was never signed.
    SendFinished {
        hash: Option<B256>,
        outcome: Result<Outcome, ChainError>,
    },
}
