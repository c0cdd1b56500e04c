//! One module per screen: its view state, its part of `update`, and (in `ui`) its drawing.
pub mod chat;
pub mod onboarding;
pub mod settings;
pub mod unlock;
pub mod wallet;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    Onboarding,
    Unlock,
    Wallet,
    Chat,
    Settings,
}

impl Screen {
    /// The screens reachable with Tab and number keys once unlocked, in order.
    pub const MAIN: [Screen; 3] = [Screen::Wallet, Screen::Chat, Screen::Settings];

    pub fn title(self) -> &'static str {
        match self {
            Screen::Onboarding => "Welcome",
            Screen::Unlock => "Unlock",
            Screen::Wallet => "Wallet",
            Screen::Chat => "Chat",
            Screen::Settings => "Settings",
        }
    }
}
