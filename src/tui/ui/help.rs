use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};

use super::{block, centered};
use crate::tui::keymap;
use crate::tui::state::State;
use crate::tui::theme::{Role, Theme};

pub fn draw(f: &mut Frame, area: Rect, s: &State, t: &Theme) {
    let rows = keymap::help(s);
    let r = centered(area, 64, rows.len() as u16 + 4);
    let lines: Vec<Line> = rows
        .into_iter()
        .map(|(k, what)| {
            Line::from(vec![
                Span::styled(format!("{k:>20}  "), t.style(Role::Accent)),
                Span::raw(what),
            ])
        })
        .collect();
    f.render_widget(Clear, r);
    f.render_widget(
        Paragraph::new(lines).block(block(&format!("Keys: {}", s.screen.title()), t, true)),
        r,
    );
}
