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
    if state.overlay.as_ref().is_some_and(Overlay::asks) {
        return match key.code {
            KeyCode::Char('y') | KeyCode::Char('Y') | KeyCode::Enter => Some(Action::Confirm(true)),
            KeyCode::Char('n') | KeyCode::Char('N') | KeyCode::Esc => Some(Action::Confirm(false)),
            _ => None,
        };
    }
    // The help and the message log scroll; their closing keys close them.
    if matches!(state.overlay, Some(Overlay::Help | Overlay::Log)) {
        return match key.code {
            KeyCode::Up | KeyCode::Char('k') => Some(Action::Up),
            KeyCode::Down | KeyCode::Char('j') => Some(Action::Down),
            KeyCode::PageUp => Some(Action::PageUp),
            KeyCode::PageDown | KeyCode::Char(' ') => Some(Action::PageDown),
            KeyCode::Esc
            | KeyCode::Char('?')
            | KeyCode::Enter
            | KeyCode::Char('q')
            | KeyCode::Char('L') => Some(Action::ToggleHelp),
            _ => None,
        };
    }
    // Alt-number switches screens even while typing.
    if alt && let Some(screen) = numbered(key.code) {
        return Some(Action::Screen(screen));
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
            KeyCode::Char('u') if ctrl => Edit::ClearToStart,
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
        code if state.unlocked() && numbered(code).is_some() => numbered(code).map(Action::Screen),
        KeyCode::Tab if state.screen == Screen::Chat => Some(Action::FocusNext),
        KeyCode::Tab => Some(Action::NextScreen),
        // On the Market screen `k` keeps a span (its items move with the arrows).
        KeyCode::Char('k') if state.screen != Screen::Market => Some(Action::Up),
        KeyCode::Char('j') if state.screen != Screen::Market => Some(Action::Down),
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

/// The screen a number key 1…9 stands for (the screen table's main screens, in order).
fn numbered(code: KeyCode) -> Option<Screen> {
    match code {
        KeyCode::Char(c @ '1'..='9') => Screen::numbered(usize::from(c as u8 - b'0')),
        _ => None,
    }
}

/// The keys of the current screen (its row of the screen table), then the app-wide ones, for
/// the help overlay: (keys, what they do).
pub fn help(state: &State) -> Vec<(String, String)> {
    let own = state.screen.def().help.iter();
    let mut rows: Vec<(String, String)> =
        own.map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let main: Vec<Screen> = Screen::main().collect();
    let numbers: Vec<String> = (1..=main.len()).map(|n| n.to_string()).collect();
    let titles: Vec<String> = main.iter().map(|x| x.title().to_lowercase()).collect();
    rows.push((
        format!("{} / Alt-1..{}", numbers.join(" "), main.len()),
        titles.join(", "),
    ));
    rows.extend(
        [
            ("Tab / Shift-Tab", "next screen"),
            ("Ctrl-L", "lock now"),
            ("? / F1", "this help (↑/↓ PgUp/PgDn scroll)"),
            ("L", "the log: the last 100 messages, with their times"),
            ("q / Ctrl-C", "quit"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned())),
    );
    rows
}

/// The help's rows wrapped for a terminal `cols` wide: (keys, text) where keys is empty on a
/// description's continuation rows. `ui` draws exactly these; `update` bounds the scroll with
/// their count.
pub fn help_lines(state: &State, cols: u16) -> Vec<(String, String)> {
    let text_w = usize::from(cols).saturating_sub(HELP_KEYS_W + 4).max(10);
    let mut lines = Vec::new();
    for (k, what) in help(state) {
        for (i, part) in textwrap::wrap(&what, text_w).into_iter().enumerate() {
            let keys = if i == 0 { k.clone() } else { String::new() };
            lines.push((keys, part.into_owned()));
        }
    }
    lines
}

/// The keys column of the help (right-aligned, then two spaces).
pub const HELP_KEYS_W: usize = 22;

/// The rows an overlay that fills the screen has for its lines in a terminal `rows` high: less
/// the frame's two lines, the border and the hint line at its foot.
pub fn overlay_rows(rows: u16) -> usize {
    usize::from(rows.saturating_sub(5)).max(1)
}
