//! One module per screen: its view state, its part of `update` and its keys for the help; its
//! drawing is in `ui`. [`SCREENS`] is the one list of them: the tab bar, the number keys,
//! `typing()`, the help overlay and the routing in `update` all read it, so a new screen is a
//! new module plus a row here (and its variant of [`Screen`], which `ui::draw_screen` must then
//! draw: its match has no catch-all). The table holds no drawing, so the screens never import
//! `ui`, and `ui` reads only the state.
pub mod bot_market;
pub mod chat;
pub mod chat_bot;
pub mod earnings;
pub mod market;
pub mod market_onchain;
pub mod onboarding;
pub mod settings;
pub mod unlock;
pub mod vault_file;
pub mod wallet;

use super::action::Action;
use super::effect::Effect;
use super::state::State;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    Onboarding,
    Unlock,
    Wallet,
    Chat,
    Settings,
    Market,
    Earnings,
}

/// A row of the screen table.
pub struct ScreenDef {
    pub id: Screen,
    pub title: &'static str,
    /// Reachable once unlocked: a tab, a number key (1…9, Alt-1…9 while typing) and Tab, in the
    /// table's order.
    pub main: bool,
    /// Whether keys go to one of its text fields now (so letters and digits are text).
    pub typing: fn(&State) -> bool,
    /// Its keys for the help overlay: (keys, what they do).
    pub help: &'static [(&'static str, &'static str)],
    /// Its part of `update`: the keys while it is shown.
    pub update: fn(&mut State, Action) -> Vec<Effect>,
    /// Which results from the runtime are its own (they arrive whichever screen is shown)…
    pub owns: fn(&Action) -> bool,
    /// …and what it does with them.
    pub result: fn(&mut State, Action) -> Vec<Effect>,
}

pub const SCREENS: &[ScreenDef] = &[
    ScreenDef {
        id: Screen::Onboarding,
        title: "Welcome",
        main: false,
        typing: onboarding::typing,
        help: onboarding::HELP,
        update: onboarding::update,
        owns: onboarding::owns,
        result: onboarding::result,
    },
    ScreenDef {
        id: Screen::Unlock,
        title: "Unlock",
        main: false,
        typing: unlock::typing,
        help: unlock::HELP,
        update: unlock::update,
        owns: unlock::owns,
        result: unlock::result,
    },
    ScreenDef {
        id: Screen::Wallet,
        title: "Wallet",
        main: true,
        typing: wallet::typing,
        help: wallet::HELP,
        update: wallet::update,
        owns: wallet::owns,
        result: wallet::result,
    },
    ScreenDef {
        id: Screen::Chat,
        title: "Chat",
        main: true,
        typing: chat::typing,
        help: chat::HELP,
        update: chat::update,
        owns: chat::owns,
        result: chat::result,
    },
    ScreenDef {
        id: Screen::Settings,
        title: "Settings",
        main: true,
        typing: settings::typing,
        help: settings::HELP,
        update: settings::update,
        owns: settings::owns,
        result: settings::result,
    },
    // After the others, so the screens before it keep their number keys.
    ScreenDef {
        id: Screen::Market,
        title: "Market",
        main: true,
        typing: market::typing,
        help: market::HELP,
        update: market::update,
        owns: market::owns,
        result: market::result,
    },
    // After the Market, for the same reason.
    ScreenDef {
        id: Screen::Earnings,
        title: "Earnings",
        main: true,
        typing: earnings::typing,
        help: earnings::HELP,
        update: earnings::update,
        owns: earnings::owns,
        result: earnings::result,
    },
];

impl Screen {
    /// Its row of [`SCREENS`].
    #[expect(
        clippy::expect_used,
        reason = "SCREENS has a row for every Screen; screens::tests::every_screen_has_one_row_and_the_number_keys_follow_the_table checks it"
    )]
    pub fn def(self) -> &'static ScreenDef {
        SCREENS
            .iter()
            .find(|d| d.id == self)
            .expect("every screen has a row in SCREENS")
    }

    pub fn title(self) -> &'static str {
        self.def().title
    }

    /// Reachable with Tab and the number keys once unlocked.
    pub fn is_main(self) -> bool {
        self.def().main
    }

    /// The screens reachable once unlocked, in tab order.
    pub fn main() -> impl Iterator<Item = Screen> {
        SCREENS.iter().filter(|d| d.main).map(|d| d.id)
    }

    /// The screen of number key `n` (1-based), if there is one.
    pub fn numbered(n: usize) -> Option<Screen> {
        Self::main().nth(n.checked_sub(1)?)
    }

    /// The next screen in tab order after this one (the first after the last).
    pub fn next(self) -> Screen {
        let main: Vec<Screen> = Self::main().collect();
        let i = main.iter().position(|x| *x == self).unwrap_or(0);
        main[(i + 1) % main.len()]
    }
}

/// A screen without results of its own.
pub(crate) fn owns_nothing(_: &Action) -> bool {
    false
}

/// The `result` of a screen whose `owns` is [`owns_nothing`].
pub(crate) fn no_result(_: &mut State, _: Action) -> Vec<Effect> {
    vec![]
}

#[cfg(test)]
mod tests {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

    use super::*;
    use crate::tui::keymap;

    #[test]
    fn every_screen_has_one_row_and_the_number_keys_follow_the_table() {
        for id in [
            Screen::Onboarding,
            Screen::Unlock,
            Screen::Wallet,
            Screen::Chat,
            Screen::Settings,
            Screen::Market,
            Screen::Earnings,
        ] {
            assert_eq!(SCREENS.iter().filter(|d| d.id == id).count(), 1, "{id:?}");
        }
        let main: Vec<Screen> = Screen::main().collect();
        // Market and Earnings came last, so the screens before them kept their numbers.
        assert_eq!(
            main,
            [
                Screen::Wallet,
                Screen::Chat,
                Screen::Settings,
                Screen::Market,
                Screen::Earnings
            ]
        );
        assert_eq!(Screen::Settings.next(), Screen::Market);
        assert_eq!(Screen::Market.next(), Screen::Earnings);
        assert_eq!(Screen::Earnings.next(), Screen::Wallet);

        // Unlocked, on the settings screen (no field open, so digits are commands).
        let mut s = State::new(true);
        s.screen = Screen::Settings;
        for (n, screen) in main.iter().enumerate() {
            let digit = char::from(b'1' + n as u8);
            for mods in [KeyModifiers::NONE, KeyModifiers::ALT] {
                let action = keymap::key(&s, KeyEvent::new(KeyCode::Char(digit), mods));
                assert!(
                    matches!(action, Some(Action::Screen(x)) if x == *screen),
                    "{digit} {mods:?}: {action:?}"
                );
            }
        }
        // A number without a screen stays a command key.
        let action = keymap::key(&s, KeyEvent::new(KeyCode::Char('9'), KeyModifiers::NONE));
        assert!(matches!(action, Some(Action::Command('9'))), "{action:?}");
        // The help lists the screens from the table.
        let help = keymap::help(&s);
        assert!(
            help.iter().any(|(k, v)| k == "1 2 3 4 5 / Alt-1..5"
                && v == "wallet, chat, settings, market, earnings"),
            "{help:?}"
        );
    }
}
