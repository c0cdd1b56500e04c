use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};
use unicode_width::UnicodeWidthStr;

use super::{block, centered};
use crate::tui::keymap;
use crate::tui::state::State;
use crate::tui::theme::{Role, Theme};

/// The keys column's width (right-aligned, then two spaces).
const KEYS_W: usize = 22;

/// The popup is as wide as its longest line (within the screen); a description that does not
/// fit is wrapped under itself rather than cut.
pub fn draw(f: &mut Frame, area: Rect, s: &State, t: &Theme) {
    let rows = keymap::help(s);
    let widest = rows.iter().map(|(_, what)| what.width()).max().unwrap_or(0);
    // Borders, and a blank column before the right one.
    let w = (KEYS_W + widest + 3).min(usize::from(area.width)) as u16;
    let text_w = usize::from(w.saturating_sub(2))
        .saturating_sub(KEYS_W)
        .max(10);
    let mut lines: Vec<Line> = Vec::new();
    for (k, what) in rows {
        for (i, part) in wrap(&what, text_w).into_iter().enumerate() {
            let keys = if i == 0 { k.as_str() } else { "" };
            lines.push(Line::from(vec![
                Span::styled(format!("{keys:>20}  "), t.style(Role::Accent)),
                Span::raw(part),
            ]));
        }
    }
    let r = centered(area, w, lines.len() as u16 + 2);
    f.render_widget(Clear, r);
    f.render_widget(
        Paragraph::new(lines).block(block(&format!("Keys: {}", s.screen.title()), t, true)),
        r,
    );
}

/// `text` in lines of at most `width` columns, broken between words (a word longer than a
/// line is cut).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        if !line.is_empty() && line.width() + 1 + word.width() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    lines.push(line);
    lines
}
