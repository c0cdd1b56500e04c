//! What can happen to the app: keys already mapped to intents, ticks, and results coming back
//! from the runtime (keystore, store, chat engine). `update` is the only consumer.
use keybot_keystore::Address;

use super::error::AppError;
use super::screens::chat::ChatAction;
use super::screens::earnings::EarningsAction;
use super::screens::market::MarketAction;
use super::screens::onboarding::OnboardingAction;
use super::screens::unlock::UnlockAction;
use super::screens::wallet::WalletAction;
use super::state::Screen;

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
    /// Ctrl-U: everything before the cursor goes (as in a shell), to type a prefilled field anew.
    ClearToStart,
    Paste(String),
}

#[derive(Debug, Clone)]
pub enum Action {
    /// Milliseconds since the app started; drives auto-lock and spinners.
    Tick(u64),
    /// Any key or mouse input (resets the idle timer) — sent before the mapped action, with
    /// when it was typed (milliseconds since the app started, from the key's timestamp).
    UserActivity(u64),
    /// A frame was drawn at this time (milliseconds since start): what it shows is now seen.
    Drawn(u64),
    /// The terminal's size: columns, rows.
    Resize(u16, u16),
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

    // Results from the runtime. Each screen's own are its enum, beside its `update`
    // (`screens::*::…Action`); these stay here because `update` itself handles them.
    WalletReady {
        accounts: Vec<(u32, Address, String)>,
    },
    Notice(String),
    /// A failure with no screen of its own to answer: shown on the error line.
    Error(AppError),
    Onboarding(OnboardingAction),
    Unlock(UnlockAction),
    Wallet(WalletAction),
    Chat(ChatAction),
    Market(MarketAction),
    Earnings(EarningsAction),
}
