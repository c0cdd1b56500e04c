use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::Paragraph;

use super::{block, centered, input_line, muted, styled};
use crate::tui::state::State;
use crate::tui::theme::{Role, Theme};

pub fn draw(f: &mut Frame, area: Rect, s: &State, t: &Theme, _: &mut super::RenderCache) {
    let r = centered(area, 60, 9);
    let u = &s.unlock;
    let mut lines = vec![
        Line::from("Your wallet is locked."),
        Line::from(""),
        Line::from(vec![ratatui::text::Span::raw("password: ")]).patch_style(t.style(Role::Text)),
        input_line(&u.input, t, !u.busy),
        Line::from(""),
    ];
    if u.busy {
        lines.push(muted(
            "unlocking… (the key derivation takes about a second)",
            t,
        ));
    } else if let Some(e) = &u.error {
        lines.push(styled(e.clone(), t.style(Role::Error)));
    } else {
        lines.push(muted("Enter unlocks · Ctrl-C quits", t));
    }
    f.render_widget(Paragraph::new(lines).block(block("Unlock", t, true)), r);
}
