//! Keys to actions. Which keys mean what depends on whether a text field has focus: while typing,
//! letters and digits are text; otherwise they are commands.
use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseEvent, MouseEventKind};

use super::action::{Action, Edit};
use super::state::{Overlay, Screen, State};

pub fn key(state: &State, key: KeyEvent) -> Option<Action> {
    if key.kind == KeyEventKind::Release {
        return None;
    }
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    let alt = key.modifiers.contains(KeyModifiers::ALT);
    match key.code {
        KeyCode::Char('c') if ctrl => return Some(Action::Quit),
        KeyCode::Char('l') if ctrl => return Some(Action::Lock),
        KeyCode::F(1) => return Some(Action::ToggleHelp),
        _ => {}
    }
    if matches!(
        state.overlay,
        Some(Overlay::ConfirmQuit | Overlay::ConfirmDelete(_))
    ) {
        return match key.code {
            KeyCode::Char('y') | KeyCode::Char('Y') | KeyCode::Enter => Some(Action::Confirm(true)),
            KeyCode::Char('n') | KeyCode::Char('N') | KeyCode::Esc => Some(Action::Confirm(false)),
            _ => None,
        };
    }
    if state.overlay == Some(Overlay::Help) {
        return matches!(
            key.code,
            KeyCode::Esc | KeyCode::Char('?') | KeyCode::Enter | KeyCode::Char('q')
        )
        .then_some(Action::ToggleHelp);
    }
    // Alt-number switches screens even while typing.
    if alt && let KeyCode::Char(c @ '1'..='3') = key.code {
        return Some(Action::Screen(Screen::MAIN[(c as u8 - b'1') as usize]));
    }
    match key.code {
        KeyCode::Enter if alt || ctrl => return Some(Action::Edit(Edit::Newline)),
        KeyCode::Char('j') if ctrl => return Some(Action::Edit(Edit::Newline)),
        KeyCode::Enter => return Some(Action::Submit),
        KeyCode::Esc => return Some(Action::Back),
        KeyCode::Up => return Some(Action::Up),
        KeyCode::Down => return Some(Action::Down),
        KeyCode::PageUp => return Some(Action::PageUp),
        KeyCode::PageDown => return Some(Action::PageDown),
        KeyCode::BackTab => return Some(Action::NextScreen),
        _ => {}
    }
    if state.typing() {
        let edit = match key.code {
            KeyCode::Char(c) if !ctrl => Edit::Char(c),
            KeyCode::Backspace => Edit::Backspace,
            KeyCode::Delete => Edit::Delete,
            KeyCode::Left => Edit::Left,
            KeyCode::Right => Edit::Right,
            KeyCode::Home => Edit::Home,
            KeyCode::End => Edit::End,
            KeyCode::Tab => return Some(Action::FocusNext),
            _ => return None,
        };
        return Some(Action::Edit(edit));
    }
    match key.code {
        KeyCode::Char('?') => Some(Action::ToggleHelp),
        KeyCode::Char('q') => Some(Action::Quit),
        KeyCode::Char(c @ '1'..='3') if state.unlocked() => {
            Some(Action::Screen(Screen::MAIN[(c as u8 - b'1') as usize]))
        }
        KeyCode::Tab if state.screen == Screen::Chat => Some(Action::FocusNext),
        KeyCode::Tab => Some(Action::NextScreen),
        KeyCode::Char('k') => Some(Action::Up),
        KeyCode::Char('j') => Some(Action::Down),
        KeyCode::Char(c) => Some(Action::Command(c)),
        _ => None,
    }
}

pub fn mouse(m: MouseEvent) -> Option<Action> {
    match m.kind {
        MouseEventKind::ScrollUp => Some(Action::ScrollUp(3)),
        MouseEventKind::ScrollDown => Some(Action::ScrollDown(3)),
        _ => None,
    }
}

/// The keys of the current screen, for the help overlay: (keys, what they do).
pub fn help(state: &State) -> Vec<(&'static str, &'static str)> {
    let mut rows = match state.screen {
        Screen::Onboarding => vec![
            ("↑/↓ Enter", "choose"),
            ("Enter", "next step"),
            ("Esc", "back to the start"),
        ],
        Screen::Unlock => vec![("Enter", "unlock with the password")],
        Screen::Wallet => vec![
            ("↑/↓ j/k", "select an account"),
            ("n", "derive the next account"),
            ("l", "label the account"),
            ("c", "copy the address"),
            ("s", "send from the account: form → review → result"),
            (
                "y / 4 chars",
                "review: sign and send (a loud warning asks for 4 chars of the address)",
            ),
            ("a", "activity: sent and received"),
            ("r", "read balances again (retry now when offline)"),
            (
                "Esc",
                "back (nothing is signed before the review is confirmed)",
            ),
        ],
        Screen::Chat => vec![
            ("Enter", "send"),
            ("Alt-Enter / Ctrl-J", "new line"),
            ("Esc", "stop the answer / leave the input"),
            ("Tab", "input ↔ conversation list"),
            ("n r d", "new, rename, delete (list)"),
            ("/", "search conversations (list)"),
            ("s", "system prompt of the conversation (list)"),
            ("g", "regenerate the last answer (list)"),
            ("e", "edit the last question (list)"),
            (
                "p / a",
                "no model yet: download the suggested one / add a file",
            ),
            ("PgUp/PgDn, wheel", "scroll"),
        ],
        Screen::Settings => vec![
            ("↑/↓", "select"),
            ("Enter", "edit / save"),
            ("Esc", "cancel"),
        ],
    };
    rows.extend([
        ("1 2 3 / Alt-1..3", "wallet, chat, settings"),
        ("Tab / Shift-Tab", "next screen"),
        ("Ctrl-L", "lock now"),
        ("? / F1", "this help"),
        ("q / Ctrl-C", "quit"),
    ]);
    rows
}
