//! Drawing. Everything here reads `State` and draws; nothing sends, awaits or touches files.
//! Text that came from the model, a file or the chain goes through `sanitize` before it is drawn.
//! The one thing drawing writes is the [`RenderCache`], a memo of rendered messages that the
//! runtime keeps between frames.
mod cache;
mod chat;
mod earnings;
mod help;
pub(crate) mod market;
mod market_onchain;
mod onboarding;
mod send;
mod settings;
mod unlock;
mod vault_file;
mod wallet;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, List, ListItem, ListState, Paragraph, Wrap};
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use super::state::{Level, ModelStatus, NetLevel, Overlay, Screen, State};
use super::theme::{Role, Theme};

pub use cache::RenderCache;

/// Draws a frame from scratch (tests, one-off frames); the runtime uses [`draw_with`].
pub fn draw(f: &mut Frame, s: &State, t: &Theme) {
    draw_with(f, s, t, &mut RenderCache::default());
}

/// Draws a frame, reusing (and filling) the messages rendered for the previous ones.
pub fn draw_with(f: &mut Frame, s: &State, t: &Theme, cache: &mut RenderCache) {
    let area = f.area();
    f.render_widget(Block::default().style(t.style(Role::Text)), area);
    let [tabs, body, status] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(1),
    ])
    .areas(area);
    draw_tabs(f, tabs, s, t);
    draw_screen(f, body, s, t, cache);
    draw_status(f, status, s, t);
    match &s.overlay {
        Some(Overlay::Help) => help::draw(f, area, s, t),
        Some(Overlay::ConfirmQuit) => confirm(
            f,
            area,
            t,
            "An answer is still being generated. Quit anyway? (y/n)",
        ),
        Some(Overlay::ConfirmDelete(_)) => confirm(
            f,
            area,
            t,
            "Delete this conversation and all its messages? (y/n)",
        ),
        Some(Overlay::ApprovalStays(stays)) => confirm(
            f,
            area,
            t,
            &format!(
                "Nothing was paid, but your approval stays: the market may still take exactly {} from {}. Reset it to 0 now (a review opens)? (y/n)",
                crate::sanitize::clean_line(&stays.amount),
                crate::chain::safety::short(stays.owner)
            ),
        ),
        Some(Overlay::BuyAgain {
            listing, purchase, ..
        }) => confirm(
            f,
            area,
            t,
            &format!(
                "You already bought listing #{} (purchase #{purchase}). Buy another copy? (y/n)",
                listing.id
            ),
        ),
        Some(Overlay::Log) => help::log(f, area, s, t),
        None => {}
    }
}

/// A spinner's frame for background work, turning with the clock's ticks.
pub(super) fn spinner(now_ms: u64) -> char {
    const FRAMES: [char; 8] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧'];
    FRAMES[(now_ms / 250 % FRAMES.len() as u64) as usize]
}

/// The shown screen's body. A match over [`Screen`] rather than a column of the screen table
/// (`SCREENS`): the table is `update`'s, and keeping drawing out of it means neither side
/// imports the other; a new screen is a compile error here until it is drawn.
fn draw_screen(f: &mut Frame, area: Rect, s: &State, t: &Theme, cache: &mut RenderCache) {
    match s.screen {
        Screen::Onboarding => onboarding::draw(f, area, s, t, cache),
        Screen::Unlock => unlock::draw(f, area, s, t, cache),
        Screen::Wallet => wallet::draw(f, area, s, t, cache),
        Screen::Chat => chat::draw(f, area, s, t, cache),
        Screen::Settings => settings::draw(f, area, s, t, cache),
        Screen::Market => market::draw(f, area, s, t, cache),
        Screen::Earnings => earnings::draw(f, area, s, t, cache),
    }
}

fn draw_tabs(f: &mut Frame, area: Rect, s: &State, t: &Theme) {
    let full = tabs_line(s, t, false);
    // Narrow: the other screens by their numbers only, so the help key stays on the line.
    let line = if full.width() <= usize::from(area.width) {
        full
    } else {
        fit(tabs_line(s, t, true), usize::from(area.width))
    };
    f.render_widget(Paragraph::new(line).style(t.style(Role::StatusBar)), area);
}

fn tabs_line(s: &State, t: &Theme, compact: bool) -> Line<'static> {
    let mut spans = vec![Span::styled(" keybot ", t.style(Role::Title))];
    if s.unlocked() {
        for (i, screen) in Screen::main().enumerate() {
            let style = if screen == s.screen {
                t.style(Role::Selection)
            } else {
                t.style(Role::Muted)
            };
            // Purchases waiting for the user's key are counted on the Market tab.
            let waiting = match screen {
                Screen::Market => s.waiting_for_you(),
                _ => 0,
            };
            let count = if waiting > 0 {
                format!(" ({waiting})")
            } else {
                String::new()
            };
            let text = if compact && screen != s.screen {
                format!(" {}{count} ", i + 1)
            } else {
                format!(" {} {}{count} ", i + 1, screen.title())
            };
            spans.push(Span::styled(text, style));
        }
    } else {
        spans.push(Span::styled(
            format!(" {} ", s.screen.title()),
            t.style(Role::Accent),
        ));
    }
    spans.push(Span::styled(
        if compact { " ? help" } else { "   ? help" },
        t.style(Role::Muted),
    ));
    Line::from(spans)
}

/// Lock state, account, network, model and backend, speed, context use — then the latest
/// message. The model's part gives way first when the bar is narrow (its file name shortened,
/// then the backend dropped) so the rest stays whole at 80 columns.
fn draw_status(f: &mut Frame, area: Rect, s: &State, t: &Theme) {
    let mut spans: Vec<Span> = Vec::new();
    if s.unlocked() {
        spans.push(Span::styled(" unlocked ", t.style(Role::StatusOk)));
        if let Some(acc) = s.wallet.accounts.get(s.wallet.selected) {
            let a = acc.address.to_checksum(None);
            spans.push(Span::raw(format!(" {}…{} ", &a[..6], &a[a.len() - 4..])));
        }
        let (mut net, level) = s.net.indicator(s.now_ms);
        // While something runs the spinner turns: in place of the network's "◌", or before it.
        if s.busy() {
            net = match net.strip_prefix('◌') {
                Some(rest) => format!("{}{rest}", spinner(s.now_ms)),
                None => format!("{} {net}", spinner(s.now_ms)),
            };
        }
        let role = match level {
            NetLevel::None => Role::Muted,
            NetLevel::Ok => Role::StatusOk,
            NetLevel::Busy => Role::StatusWarn,
            NetLevel::Bad => Role::StatusErr,
        };
        spans.push(Span::styled(format!(" {net} "), t.style(role)));
        let mut tail: Vec<Span> = Vec::new();
        if let Some(tps) = s.chat.tokens_per_second {
            tail.push(Span::raw(format!(" {tps:.1} tok/s ")));
        }
        if let Some((used, size)) = s.chat.ctx_used {
            tail.push(Span::raw(format!(" ctx {used}/{size} ")));
        }
        let used: usize = spans.iter().chain(&tail).map(Span::width).sum();
        let room = usize::from(area.width).saturating_sub(used);
        let (text, role) = model_status(&s.chat.model, room);
        spans.push(Span::styled(text, t.style(role)));
        spans.extend(tail);
    } else {
        spans.push(Span::styled(" locked ", t.style(Role::StatusWarn)));
    }
    if let Some((level, msg)) = &s.message {
        let role = if *level == Level::Error {
            Role::StatusErr
        } else {
            Role::Accent
        };
        // Whole, or cut with "…" (the log, `L`, has it whole).
        let used: usize = spans.iter().map(Span::width).sum();
        let room = usize::from(area.width).saturating_sub(used + 2);
        let mut text = crate::sanitize::clean_line(msg).into_owned();
        if text.width() > room {
            text = format!("{} (L: log)", shorten(&text, room.saturating_sub(9).max(1)));
        }
        spans.push(Span::styled(format!(" {text} "), t.style(role)));
    }
    f.render_widget(
        Paragraph::new(Line::from(spans)).style(t.style(Role::StatusBar)),
        area,
    );
}

/// The model's part of the status bar in at most `room` columns (when it can): the full file
/// name and backend, else the name shortened with "…", else the name alone, shortened.
fn model_status(model: &ModelStatus, room: usize) -> (String, Role) {
    match model {
        ModelStatus::Ready {
            name,
            device,
            gpu_layers,
            total_layers,
            ..
        } => {
            let name = crate::sanitize::clean_line(name);
            let backend = if crate::chat::remote::runs_on_server(device) {
                format!(" · {device}")
            } else {
                format!(" · {device} · GPU {gpu_layers}/{total_layers} layers")
            };
            let full = format!(" {name}{backend} ");
            if full.width() <= room {
                return (full, Role::StatusOk);
            }
            // The file name is what gives way: keep at least a few characters of it.
            const MIN_NAME: usize = 8;
            let text = if room >= backend.width() + 2 + MIN_NAME {
                format!(" {}{backend} ", shorten(&name, room - backend.width() - 2))
            } else if room >= 2 + MIN_NAME {
                format!(" {} ", shorten(&name, room - 2))
            } else {
                // No room at all: the rest of the bar matters more.
                String::new()
            };
            (text, Role::StatusOk)
        }
        ModelStatus::Loading(p) => (format!(" loading model {p}% "), Role::StatusWarn),
        ModelStatus::Downloading(p) => (format!(" downloading model {p}% "), Role::StatusWarn),
        ModelStatus::Missing(_) => (" no model ".to_owned(), Role::StatusWarn),
        ModelStatus::Failed(_) => (" model failed ".to_owned(), Role::StatusErr),
    }
}

/// `text` in at most `max` columns: cut, with "…" at the end when something was left out.
pub(super) fn shorten(text: &str, max: usize) -> String {
    if text.width() <= max {
        return text.to_owned();
    }
    let mut out = String::new();
    let mut w = 0;
    for c in text.chars() {
        let cw = c.width().unwrap_or(0);
        if w + cw + 1 > max {
            break;
        }
        out.push(c);
        w += cw;
    }
    out.push('…');
    out
}

/// `line` in at most `width` columns: whole, or cut with "…" where it stops (never cut silently
/// by the terminal's edge).
pub(super) fn fit(line: Line<'static>, width: usize) -> Line<'static> {
    if line.width() <= width {
        return line;
    }
    let style = line.style;
    let mut out: Vec<Span<'static>> = Vec::new();
    let mut used = 0;
    for span in line.spans {
        let w = span.width();
        if used + w < width {
            used += w;
            out.push(span);
            continue;
        }
        // The span that crosses the edge: cut with "…" in its own style.
        let text = shorten(&span.content, width.saturating_sub(used));
        out.push(Span::styled(text, span.style));
        break;
    }
    Line::from(out).style(style)
}

/// An address (or any long token) in at most `width` columns, cut in the middle: both ends
/// stay readable, which is what a person compares.
pub(super) fn middle(text: &str, width: usize) -> String {
    let chars: Vec<char> = text.chars().collect();
    if chars.len() <= width {
        return text.to_owned();
    }
    let keep = width.saturating_sub(1);
    let head = keep.div_ceil(2);
    let tail = keep - head;
    let mut out: String = chars[..head].iter().collect();
    out.push('…');
    out.extend(&chars[chars.len() - tail..]);
    out
}

/// A size for people: `812 B`, `4.2 KiB`, `1.0 MiB`.
pub(super) fn human_size(bytes: usize) -> String {
    match bytes {
        0..1024 => format!("{bytes} B"),
        1024..1_048_576 => format!("{:.1} KiB", bytes as f64 / 1024.0),
        _ => format!("{:.1} MiB", bytes as f64 / 1_048_576.0),
    }
}

fn confirm(f: &mut Frame, area: Rect, t: &Theme, text: &str) {
    // Tall enough for the text wrapped at 58 columns.
    let rows = textwrap::wrap(text, 56).len() as u16;
    let r = centered(area, 60, rows + 2);
    f.render_widget(Clear, r);
    f.render_widget(
        Paragraph::new(text).wrap(Wrap { trim: true }).block(
            Block::default()
                .borders(Borders::ALL)
                .border_style(t.style(Role::Warning))
                .title(" confirm "),
        ),
        r,
    );
}

/// A box of at most `w`x`h` in the middle of `area`.
pub(super) fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}

pub(super) fn block(title: &str, t: &Theme, focused: bool) -> Block<'static> {
    Block::default()
        .borders(Borders::ALL)
        .border_style(t.style(if focused {
            Role::BorderFocus
        } else {
            Role::Border
        }))
        .title(Span::styled(format!(" {title} "), t.style(Role::Title)))
}

/// A list in a focused block titled `title`, the `selected` row highlighted.
pub(super) fn selectable_list(
    f: &mut Frame,
    area: Rect,
    rows: Vec<ListItem<'_>>,
    selected: usize,
    title: &str,
    t: &Theme,
) {
    // What is off the list's edges is said at its foot: a row never vanishes without a mark.
    // The list scrolls just far enough to show the selection (ratatui's own rule, from the top).
    let visible = usize::from(area.height.saturating_sub(2)).max(1);
    let len = rows.len();
    let offset = selected
        .min(len.saturating_sub(1))
        .saturating_sub(visible - 1);
    let mut marks = Vec::new();
    if offset > 0 {
        marks.push(format!("▲ {offset} more"));
    }
    if offset + visible < len {
        marks.push(format!("▼ {} more", len - offset - visible));
    }
    let mut frame = block(title, t, true);
    if !marks.is_empty() {
        frame = frame.title_bottom(Span::styled(
            format!(" {} ", marks.join(" · ")),
            t.style(Role::Accent),
        ));
    }
    let mut ls = ListState::default().with_selected(Some(selected));
    f.render_stateful_widget(
        List::new(rows)
            .highlight_style(t.style(Role::Selection))
            .block(frame),
        area,
        &mut ls,
    );
}

/// An input field's text as drawn: bullets for secrets, a block cursor at the cursor position.
pub(super) fn input_line<'a>(input: &super::state::Input, t: &Theme, focused: bool) -> Line<'a> {
    let shown: String = if input.secret {
        "•".repeat(input.text.chars().count())
    } else {
        input.text.clone()
    };
    let chars: Vec<char> = shown.chars().collect();
    let cursor = input.cursor.min(chars.len());
    let before: String = chars[..cursor].iter().collect();
    let at: String = chars
        .get(cursor)
        .map(|c| c.to_string())
        .unwrap_or_else(|| " ".into());
    let after: String = chars
        .get(cursor + 1..)
        .map(|r| r.iter().collect())
        .unwrap_or_default();
    let mut spans = vec![Span::styled(before, t.style(Role::Input))];
    if focused {
        spans.push(Span::styled(
            at,
            t.style(Role::Input)
                .add_modifier(ratatui::style::Modifier::REVERSED),
        ));
    } else {
        spans.push(Span::styled(at, t.style(Role::Input)));
    }
    spans.push(Span::styled(after, t.style(Role::Input)));
    Line::from(spans)
}

pub(super) fn muted(text: impl Into<String>, t: &Theme) -> Line<'static> {
    Line::from(Span::styled(text.into(), t.style(Role::Muted)))
}

pub(super) fn styled(text: impl Into<String>, style: Style) -> Line<'static> {
    Line::from(Span::styled(text.into(), style))
}
