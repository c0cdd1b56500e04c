//! The app drawn as text, for the screen snapshot tests (tests/fast/tui_snapshots.rs,
//! tests/fast/tui_earnings.rs).
use keybot::tui::state::State;
use keybot::tui::theme::{self, Theme};
use keybot::tui::ui;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

/// The dark theme, colours on.
pub fn theme() -> Theme {
    theme::load_with("dark", None, false).0
}

/// The screen for `s` at `w`×`h`, one line per row, trailing spaces trimmed.
pub fn render(s: &State, w: u16, h: u16) -> String {
    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
    term.draw(|f| ui::draw(f, s, &theme())).unwrap();
    let buf = term.backend().buffer().clone();
    let mut out = String::new();
    for y in 0..h {
        let line: String = (0..w).map(|x| buf[(x, y)].symbol().to_owned()).collect();
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}
