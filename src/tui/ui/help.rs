//! The help (the shown screen's keys, then the app's) and the message log: overlays that fill
//! the screen at most, scroll (↑/↓ PgUp/PgDn) and say so when there is more.
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};
use unicode_width::UnicodeWidthStr;

use super::{block, centered, muted, shorten};
use crate::tui::keymap::{self, HELP_KEYS_W};
use crate::tui::state::{Level, State};
use crate::tui::theme::{Role, Theme};

/// The popup is as wide as its longest line (within the screen); a description that does not
/// fit is wrapped under itself rather than cut.
pub fn draw(f: &mut Frame, area: Rect, s: &State, t: &Theme) {
    let rows = keymap::help_lines(s, area.width);
    let widest = rows.iter().map(|(_, what)| what.width()).max().unwrap_or(0);
    // Borders, and a blank column before the right one.
    let w = (HELP_KEYS_W + widest + 3).min(usize::from(area.width)) as u16;
    let lines: Vec<Line> = rows
        .into_iter()
        .map(|(k, what)| {
            Line::from(vec![
                Span::styled(
                    format!("{k:>w$}  ", w = HELP_KEYS_W - 2),
                    t.style(Role::Accent),
                ),
                Span::raw(what),
            ])
        })
        .collect();
    let title = format!("Keys: {}", s.screen.title());
    scrolled(f, area, w, lines, s.overlay_scroll, &title, t);
}

/// The message log: the last messages with the time each was shown, newest at the bottom.
pub fn log(f: &mut Frame, area: Rect, s: &State, t: &Theme) {
    let w = area.width;
    let text_w = usize::from(w).saturating_sub(2 + 10);
    let lines: Vec<Line> = if s.log.is_empty() {
        vec![muted("no messages yet", t)]
    } else {
        s.log
            .iter()
            .map(|m| {
                let secs = m.at_ms / 1000;
                let when = format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60);
                let role = if m.level == Level::Error {
                    Role::Error
                } else {
                    Role::Text
                };
                Line::from(vec![
                    Span::styled(format!("{when}  "), t.style(Role::Muted)),
                    Span::styled(
                        shorten(&crate::sanitize::clean_line(&m.text), text_w),
                        t.style(role),
                    ),
                ])
            })
            .collect()
    };
    scrolled(
        f,
        area,
        w,
        lines,
        s.overlay_scroll,
        "Messages (time since start)",
        t,
    );
}

/// `lines` in a box `w` wide in the middle of `area`, from row `scroll`, with a foot that says
/// how to scroll and close, and how much is above and below.
fn scrolled(
    f: &mut Frame,
    area: Rect,
    w: u16,
    lines: Vec<Line<'static>>,
    scroll: usize,
    title: &str,
    t: &Theme,
) {
    let room = keymap::overlay_rows(area.height + 2);
    let max = lines.len().saturating_sub(room);
    let scroll = scroll.min(max);
    let mut shown: Vec<Line> = lines.into_iter().skip(scroll).take(room).collect();
    let mut foot = String::from("Esc close");
    if max > 0 {
        foot.push_str(" · ↑/↓ PgUp/PgDn scroll");
    }
    if scroll > 0 {
        foot.push_str(&format!(" · ▲ {scroll} above"));
    }
    if scroll < max {
        foot.push_str(&format!(" · ▼ {} below", max - scroll));
    }
    shown.push(muted(shorten(&foot, usize::from(w).saturating_sub(2)), t));
    let r = centered(area, w, shown.len() as u16 + 2);
    f.render_widget(Clear, r);
    f.render_widget(Paragraph::new(shown).block(block(title, t, true)), r);
}
