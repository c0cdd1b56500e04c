use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::ListItem;

use super::input_line;
use crate::tui::state::State;
use crate::tui::theme::{Role, Theme};

pub fn draw(f: &mut Frame, area: Rect, s: &State, t: &Theme, _: &mut super::RenderCache) {
    let st = &s.settings;
    let items: Vec<ListItem> = st
        .items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let value = match (&st.editing, i == st.selected) {
                (Some(input), true) => input_line(input, t, true),
                _ => Line::from(Span::styled(item.value.clone(), t.style(Role::Accent))),
            };
            // The label column gives way first, so the value stays readable.
            let inner = usize::from(area.width.saturating_sub(2));
            let label_w = inner.saturating_sub(16).min(52);
            let mut spans = vec![Span::raw(format!(
                "{:<label_w$}",
                super::shorten(item.label, label_w.saturating_sub(1))
            ))];
            spans.extend(value.spans);
            ListItem::new(super::fit(Line::from(spans), inner))
        })
        .collect();
    super::selectable_list(
        f,
        area,
        items,
        st.selected,
        "Settings (Enter edits, Enter saves)",
        t,
    );
}
