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
            let mut spans = vec![Span::raw(format!("{:<52}", item.label))];
            spans.extend(value.spans);
            ListItem::new(Line::from(spans))
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
