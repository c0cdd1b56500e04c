//! The Market screen: the sale vault's items, the selected item's preview with every removal
//! coloured by kind (theme roles), and the consent and delete steps.
use std::borrow::Cow;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, ListItem, Paragraph, Wrap};
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use super::cache::{self, PreviewKey, RenderCache};
use super::{block, centered, input_line, muted, shorten, styled};
use crate::market::Kind;
use crate::market::vault::{Entry, Preview};
use crate::sanitize::clean_line;
use crate::tui::state::{MarketItem, MarketMode, Section, State};
use crate::tui::theme::{Role, Theme};

pub fn draw(f: &mut Frame, area: Rect, s: &State, t: &Theme, cache: &mut RenderCache) {
    let [bar, area] = Layout::vertical([Constraint::Length(1), Constraint::Min(3)]).areas(area);
    super::market_onchain::draw_sections(f, bar, s, t);
    if s.market.chain.section != Section::Vault {
        return super::market_onchain::draw(f, area, s, t);
    }
    draw_vault(f, area, s, t, cache);
    super::market_onchain::sell_form(f, area, s, t);
}

fn draw_vault(f: &mut Frame, area: Rect, s: &State, t: &Theme, cache: &mut RenderCache) {
    let m = &s.market;
    let Some(items) = &m.items else {
        f.render_widget(
            Paragraph::new(muted("reading the sale vault…", t)).block(block("Sale vault", t, true)),
            area,
        );
        return;
    };
    // The file prompt (`f`) is at the bottom, on an empty vault too.
    let prompt = match &m.mode {
        MarketMode::AddFile(p) => Some((p, super::vault_file::height(p, area.width))),
        _ => None,
    };
    if items.is_empty() {
        let prompt_h = prompt.map_or(0, |(_, h)| h);
        let [top, bottom] =
            Layout::vertical([Constraint::Min(3), Constraint::Length(prompt_h)]).areas(area);
        empty(f, top, t);
        if let Some((p, _)) = prompt {
            super::vault_file::draw(f, bottom, p, t);
        }
        return;
    }
    let list_h = (items.len() as u16 + 2).min(8).min(area.height / 3).max(3);
    let bottom_h = match (&m.mode, prompt) {
        (_, Some((_, h))) => h,
        (MarketMode::RemoveText(_), _) => 3,
        _ => 1,
    };
    let [list, preview, bottom] = Layout::vertical([
        Constraint::Length(list_h),
        Constraint::Min(4),
        Constraint::Length(bottom_h),
    ])
    .areas(area);
    draw_items(f, list, s, t);
    if let Some(item) = m.item() {
        draw_preview(f, preview, s, item, t, cache);
    }
    match &m.mode {
        MarketMode::RemoveText(input) => f.render_widget(
            Paragraph::new(input_line(input, t, true)).block(block(
                "Text to remove, every occurrence (Enter removes it, Esc cancels)",
                t,
                true,
            )),
            bottom,
        ),
        MarketMode::AddFile(p) => super::vault_file::draw(f, bottom, p, t),
        _ => f.render_widget(
            Paragraph::new(super::fit(
                muted(keys(bottom.width), t),
                usize::from(bottom.width),
            )),
            bottom,
        ),
    }
    match &m.mode {
        MarketMode::Consent { sha256, .. } => {
            if let Some(item) = m.item() {
                consent(f, area, s, item, sha256, t);
            }
        }
        MarketMode::ConfirmDelete(_) => {
            if let Some(item) = m.item() {
                confirm_delete(f, area, item, s.listed_as(item.item.id), t);
            }
        }
        _ => {}
    }
}

/// The vault's keys on its bottom line, shorter where the full line does not fit.
fn keys(width: u16) -> &'static str {
    const FULL: &str = "n/N span · k keep · r redact · x text · M model · c consent · s sell · f add file · d delete · ? keys";
    if usize::from(width) >= FULL.width() {
        FULL
    } else {
        "n/N span · k keep · r redact · x text · M model · c consent · s sell · ? keys"
    }
}

fn empty(f: &mut Frame, area: Rect, t: &Theme) {
    let key = |k: &str, what: &str| {
        Line::from(vec![
            Span::styled(format!("  {k:<34}"), t.style(Role::Accent)),
            Span::raw(what.to_owned()),
        ])
    };
    let lines = vec![
        styled("The sale vault is empty.", t.style(Role::Title)),
        Line::from(""),
        Line::from(
            "Nothing is ever offered for sale unless you put it here, see exactly what a buyer \
             would get (secrets and contact data removed), and consent.",
        ),
        Line::from(""),
        key(
            "m on the Chat screen's list",
            "puts the selected conversation here",
        ),
        key("f here", "adds a text file (Tab completes its path)"),
        key("keybot market add --file PATH", "adds a text file"),
    ];
    f.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(block("Sale vault", t, true)),
        area,
    );
}

fn draw_items(f: &mut Frame, area: Rect, s: &State, t: &Theme) {
    let m = &s.market;
    let items = m.items.as_deref().unwrap_or_default();
    let inner = usize::from(area.width.saturating_sub(2));
    // id, size and consent have fixed widths; the title and the summary share the rest.
    let rest = inner.saturating_sub(5 + 10 + 21);
    let title_w = (rest / 2).clamp(8, 40);
    let summary_w = rest.saturating_sub(title_w).max(8);
    let rows: Vec<ListItem> = items
        .iter()
        .map(|i| {
            let listed = s.listed_as(i.item.id);
            let (label, consent_role) = match listed {
                [] if i.consent.is_given() => (i.consent.label().to_owned(), Role::Success),
                [] => (i.consent.label().to_owned(), Role::Warning),
                ids => (listed_label(ids), Role::Accent),
            };
            let title = shorten(&clean_line(&i.item.title), title_w);
            // Padded by columns, not chars: a wide (CJK) title keeps the columns aligned.
            let pad = " ".repeat(title_w.saturating_sub(title.width()));
            ListItem::new(Line::from(vec![
                Span::styled(format!("{:>4} ", i.item.id), t.style(Role::Muted)),
                Span::raw(format!("{title}{pad}")),
                Span::styled(
                    format!("{:>9} ", super::human_size(i.item.text.len())),
                    t.style(Role::Muted),
                ),
                Span::styled(
                    format!(" {:<20}", shorten(&label, 20)),
                    t.style(consent_role),
                ),
                if m.model_reading == Some(i.item.id) {
                    let reading = format!("{} the model is reading…", super::spinner(s.now_ms));
                    Span::styled(shorten(&reading, summary_w), t.style(Role::Accent))
                } else {
                    Span::raw(shorten(&i.preview.summary(), summary_w))
                },
            ]))
        })
        .collect();
    let title = format!(
        "Sale vault ({} item{})",
        items.len(),
        if items.len() == 1 { "" } else { "s" }
    );
    super::selectable_list(f, area, rows, m.selected, &title, t);
}

/// What a piece of the drawn preview is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Piece {
    /// The item's own text, as the buyer gets it.
    Text,
    /// A removal's marker (`[3:email]`); its kind is a secret's where a secret is in it.
    Removed(Kind),
    /// A kept span with its number (`«5 kept email: text»`): the buyer gets the text.
    Kept(Kind),
}

/// A run of the drawn preview, with the numbers of the spans it stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment<'a> {
    pub text: Cow<'a, str>,
    pub piece: Piece,
    pub numbers: Vec<usize>,
}

/// The preview as the screen draws it: the buyer's text, each removal as its numbered marker and
/// each kept span marked with its number. The same text `keybot market preview --numbered`
/// prints (`Preview::numbered`), in pieces the screen can colour.
pub fn segments<'a>(original: &'a str, preview: &Preview) -> Vec<Segment<'a>> {
    let mut marks: Vec<(usize, usize, Segment<'a>)> = Vec::new();
    for span in &preview.removed {
        let numbers: Vec<usize> = preview
            .entries
            .iter()
            .filter(|e| e.removed && e.start < span.end && span.start < e.end)
            .map(|e| e.number)
            .collect();
        let list: Vec<String> = numbers.iter().map(usize::to_string).collect();
        marks.push((
            span.start,
            span.end,
            Segment {
                text: Cow::Owned(format!("[{}:{}]", list.join(","), span.kind)),
                piece: Piece::Removed(span.kind),
                numbers,
            },
        ));
    }
    for e in preview.entries.iter().filter(|e| !e.removed) {
        let hidden = preview
            .removed
            .iter()
            .any(|s| s.start < e.end && e.start < s.end);
        if let (false, Some(text)) = (hidden, original.get(e.start..e.end)) {
            marks.push((
                e.start,
                e.end,
                Segment {
                    text: Cow::Owned(format!("«{} kept {}: {text}»", e.number, e.kind)),
                    piece: Piece::Kept(e.kind),
                    numbers: vec![e.number],
                },
            ));
        }
    }
    marks.sort_by_key(|m| m.0);
    let mut out = Vec::with_capacity(marks.len() * 2 + 1);
    let mut at = 0;
    let plain = |from: usize, to: usize| Segment {
        text: Cow::Borrowed(original.get(from..to).unwrap_or_default()),
        piece: Piece::Text,
        numbers: vec![],
    };
    for (start, end, mark) in marks {
        if start < at {
            continue;
        }
        if start > at {
            out.push(plain(at, start));
        }
        out.push(mark);
        at = end;
    }
    if at < original.len() {
        out.push(plain(at, original.len()));
    }
    out
}

/// The role a piece of the preview is drawn in.
fn role_of(piece: Piece) -> Role {
    match piece {
        Piece::Text => Role::Text,
        Piece::Removed(k) if k.is_secret() => Role::RedactSecret,
        Piece::Removed(Kind::Custom) => Role::RedactManual,
        Piece::Removed(Kind::Name | Kind::Place) => Role::RedactPerson,
        Piece::Removed(_) => Role::RedactPii,
        Piece::Kept(_) => Role::RedactKept,
    }
}

fn draw_preview(
    f: &mut Frame,
    area: Rect,
    s: &State,
    item: &MarketItem,
    t: &Theme,
    cache: &mut RenderCache,
) {
    let m = &s.market;
    // Wide enough: the spans and what the selected one held in a panel beside the text.
    let (area, panel) = if area.width >= SIDE_MIN {
        let [text, panel] =
            Layout::horizontal([Constraint::Min(40), Constraint::Length(SIDE_W)]).areas(area);
        (text, Some(panel))
    } else {
        (area, None)
    };
    let inner_w = usize::from(area.width.saturating_sub(2)).max(10);
    let inner_h = usize::from(area.height.saturating_sub(2));
    let p = &item.preview;
    // Wrapping an item (up to 1 MiB) and hashing its preview is done once, not every frame.
    let key = PreviewKey {
        item: item.item.id,
        bytes: item.item.text.len(),
        entries: p.entries.clone(),
        span: m.span,
        width: inner_w,
        theme: cache::theme_key(t),
    };
    let drawn = cache.preview(key, || {
        let segments = segments(&item.item.text, p);
        let (lines, at) = wrap(&segments, inner_w, m.span, t);
        cache::Preview {
            lines: std::rc::Rc::new(lines),
            at,
            sha256: p.sha256().into(),
        }
    });
    let (lines, at, sha) = (&drawn.lines, drawn.at, &drawn.sha256);
    let consent_role = if item.consent.is_given() {
        Role::Success
    } else {
        Role::Warning
    };
    let summary = format!("removed: {}", p.summary());
    let mut head = wrap_styled(
        &[
            (item.consent.label(), t.style(consent_role)),
            (
                &format!(" · sha256 {}… · ", &sha[..12]),
                t.style(Role::Muted),
            ),
            (&summary, t.style(Role::Text)),
        ],
        inner_w,
    );
    head.push(span_line(item, m.span, t));
    if panel.is_none()
        && let Some(line) = held_line(item, m.span, inner_w, t)
    {
        head.push(line);
    }
    let text_h = inner_h.saturating_sub(head.len());
    // Where the text starts: the scroll offset from the top, or from two lines above the
    // selected span while the preview follows it; never before the first line or past the last.
    let base = match (m.follow, at) {
        (true, Some(line)) => line as i64 - 2,
        _ => 0,
    };
    let last = lines.len().saturating_sub(text_h) as i64;
    let top = (base + i64::from(m.scroll)).clamp(0, last) as usize;
    let shown = lines.len().min(top + text_h);
    let title = format!(
        "Preview of item {}: what a buyer gets (lines {}–{} of {})",
        item.item.id,
        (top + 1).min(shown),
        shown,
        lines.len()
    );
    head.extend(lines.iter().skip(top).take(text_h).cloned());
    f.render_widget(Paragraph::new(head).block(block(&title, t, false)), area);
    if let Some(panel) = panel {
        spans_panel(f, panel, item, m.span, t);
    }
}

/// The preview's width from which the spans panel is beside it, and the panel's width.
const SIDE_MIN: u16 = 120;
const SIDE_W: u16 = 44;
/// At most this many lines of a span's text in the panel.
const HELD_LINES: usize = 6;

/// What span `e` held in the item's own text, on one line's terms (no control character):
/// drawn on this screen only, to choose what to keep; nothing holding it is logged or has it
/// in its `Debug` (the item's text is not in `VaultItem`'s). A secret's is not shown at all:
/// it is always removed, so there is nothing to choose.
fn held<'a>(item: &'a MarketItem, e: &Entry) -> Option<Cow<'a, str>> {
    if e.kind.is_secret() {
        return None;
    }
    item.item.text.get(e.start..e.end).map(clean_line)
}

/// The role a span is drawn in, removed or kept.
fn entry_role(e: &Entry) -> Role {
    role_of(if e.removed {
        Piece::Removed(e.kind)
    } else {
        Piece::Kept(e.kind)
    })
}

/// Narrow screens (no panel): the selected span's text on one line of the preview's head.
fn held_line(
    item: &MarketItem,
    span: Option<usize>,
    width: usize,
    t: &Theme,
) -> Option<Line<'static>> {
    let e = span.and_then(|n| item.preview.entry(n))?;
    let text = held(item, e)?;
    let label = "it held: ";
    Some(Line::from(vec![
        Span::styled(label, t.style(Role::Muted)),
        Span::styled(
            shorten(&text, width.saturating_sub(label.len())),
            t.style(entry_role(e)),
        ),
    ]))
}

/// The panel beside the preview: every span (number, kind, removed or kept), the selected one
/// marked, and under them what the selected one held.
fn spans_panel(f: &mut Frame, area: Rect, item: &MarketItem, span: Option<usize>, t: &Theme) {
    let p = &item.preview;
    let width = usize::from(area.width.saturating_sub(2)).max(10);
    let inner_h = usize::from(area.height.saturating_sub(2));
    let selected = span.and_then(|n| p.entry(n));
    let mut foot: Vec<Line<'static>> = match selected {
        None if p.entries.is_empty() => vec![],
        None => wrap_styled(
            &[(
                "n selects a span; what it held shows here",
                t.style(Role::Muted),
            )],
            width,
        ),
        Some(e) => match held(item, e) {
            None => wrap_styled(
                &[(
                    &format!(
                        "span {} is a {}: not shown, always removed",
                        e.number, e.kind
                    ),
                    t.style(Role::Muted),
                )],
                width,
            ),
            Some(text) => {
                let mut lines = wrap_styled(&[(&text, t.style(entry_role(e)))], width);
                if lines.len() > HELD_LINES {
                    let more = lines.len() - (HELD_LINES - 1);
                    lines.truncate(HELD_LINES - 1);
                    lines.push(muted(format!("… {more} more lines"), t));
                }
                let head = muted(format!("span {} held:", e.number), t);
                std::iter::once(head).chain(lines).collect()
            }
        },
    };
    // The list takes what the foot leaves, with a line between them.
    let rows = inner_h.saturating_sub(foot.len() + usize::from(!foot.is_empty()));
    let at = selected.map_or(0, |e| e.number - 1);
    let first = at
        .saturating_sub(rows / 2)
        .min(p.entries.len().saturating_sub(rows));
    let kind_w = width.saturating_sub(14).min(14);
    let mut lines: Vec<Line<'static>> = p
        .entries
        .iter()
        .skip(first)
        .take(rows)
        .map(|e| {
            let state = match (e.removed, e.manual, e.kind.is_secret()) {
                (true, _, true) => "secret",
                (true, true, _) => "by you",
                (true, false, _) => "removed",
                (false, ..) => "kept",
            };
            let chosen = selected.is_some_and(|s| s.number == e.number);
            let mark = if chosen { "▸" } else { " " };
            let kind = shorten(&e.kind.to_string(), kind_w);
            let row = format!("{mark}{:>3} {kind:<kind_w$} ", e.number);
            let (row_style, state_style) = if chosen {
                let st = t.style(Role::Selection);
                (st, st)
            } else {
                (t.style(Role::Text), t.style(entry_role(e)))
            };
            Line::from(vec![
                Span::styled(row, row_style),
                Span::styled(state.to_owned(), state_style),
            ])
        })
        .collect();
    if !foot.is_empty() {
        lines.push(Line::from(""));
        lines.append(&mut foot);
    }
    let title = format!("Spans ({})", p.entries.len());
    f.render_widget(Paragraph::new(lines).block(block(&title, t, false)), area);
}

/// The selected span, what it is and what a key does with it.
fn span_line(item: &MarketItem, span: Option<usize>, t: &Theme) -> Line<'static> {
    let p = &item.preview;
    let Some(e) = span.and_then(|n| p.entry(n)) else {
        let text = if p.entries.is_empty() {
            "no spans: nothing detected or removed (x removes text)".to_owned()
        } else {
            format!("{} spans: n selects the next one", p.entries.len())
        };
        return muted(text, t);
    };
    let what = match (e.removed, e.manual, e.kind.is_secret()) {
        (true, _, true) => format!("{}, removed: a secret, always removed", e.kind),
        (true, true, _) => "removed by you: k puts it back".to_owned(),
        (true, false, _) => format!("{}, removed: k keeps it", e.kind),
        (false, ..) => format!("{}, kept: the buyer gets it; r removes it again", e.kind),
    };
    let role = role_of(if e.removed {
        Piece::Removed(e.kind)
    } else {
        Piece::Kept(e.kind)
    });
    Line::from(vec![
        Span::styled(
            format!("span {} of {}", e.number, p.entries.len()),
            t.style(role),
        ),
        Span::raw(format!(": {what}")),
    ])
}

/// Lines of at most `width` columns, broken between words (a marker is moved whole to the next
/// line when it fits there), and the first line of span `selected`.
fn wrap(
    segments: &[Segment],
    width: usize,
    selected: Option<usize>,
    t: &Theme,
) -> (Vec<Line<'static>>, Option<usize>) {
    let mut w = Wrapper::new(width);
    let mut at = None;
    for seg in segments {
        let chosen = selected.is_some_and(|n| seg.numbers.contains(&n));
        let mut style = t.style(role_of(seg.piece));
        if chosen {
            // The selection's colours, and a modifier that shows without colour too.
            style = t
                .style(Role::Selection)
                .add_modifier(Modifier::BOLD | Modifier::UNDERLINED);
        }
        for (i, part) in seg.text.split('\n').enumerate() {
            if i > 0 {
                w.newline();
            }
            // The item's text is clean (a vault invariant); cleaning again costs a scan.
            let part = clean_line(part);
            if chosen && at.is_none() {
                if w.used > 0 && w.used + part.width().min(w.width) > w.width {
                    w.newline();
                }
                at = Some(w.lines.len());
            }
            if seg.piece == Piece::Text {
                for word in part.split_inclusive(' ') {
                    w.word(word, style);
                }
            } else {
                w.word(&part, style);
            }
        }
    }
    w.newline();
    // The text's last newline ends its last line; it does not start another.
    if w.lines.len() > 1 && w.lines.last().is_some_and(|l| l.width() == 0) {
        w.lines.pop();
    }
    (w.lines, at)
}

/// Styled text in lines of at most `width` columns, broken between words.
fn wrap_styled(parts: &[(&str, Style)], width: usize) -> Vec<Line<'static>> {
    let mut w = Wrapper::new(width);
    for (text, style) in parts {
        for word in text.split_inclusive(' ') {
            w.word(word, *style);
        }
    }
    w.newline();
    w.lines
}

struct Wrapper {
    width: usize,
    lines: Vec<Line<'static>>,
    spans: Vec<Span<'static>>,
    /// The text of the current style not yet made a span.
    run: String,
    style: Style,
    /// Columns used on the current line.
    used: usize,
}

impl Wrapper {
    fn new(width: usize) -> Wrapper {
        Wrapper {
            width: width.max(1),
            lines: Vec::new(),
            spans: Vec::new(),
            run: String::new(),
            style: Style::default(),
            used: 0,
        }
    }

    fn flush(&mut self) {
        if !self.run.is_empty() {
            let text = std::mem::take(&mut self.run);
            self.spans.push(Span::styled(text, self.style));
        }
    }

    fn newline(&mut self) {
        self.flush();
        self.lines.push(Line::from(std::mem::take(&mut self.spans)));
        self.used = 0;
    }

    fn push(&mut self, c: char, style: Style) {
        if style != self.style {
            self.flush();
            self.style = style;
        }
        self.run.push(c);
    }

    /// A word (or a marker) goes on the next line if it does not fit here but would there;
    /// one longer than a line is broken where the line ends.
    fn word(&mut self, word: &str, style: Style) {
        let w = word.trim_end_matches(' ').width();
        if self.used > 0 && self.used + w > self.width && w <= self.width {
            self.newline();
        }
        for c in word.chars() {
            let cw = c.width().unwrap_or(0);
            if self.used + cw > self.width {
                if c == ' ' {
                    continue;
                }
                self.newline();
            }
            self.push(c, style);
            self.used += cw;
        }
    }
}

/// The consent step: what will be signed, with which account, before y or Enter signs it.
fn consent(f: &mut Frame, area: Rect, s: &State, item: &MarketItem, sha256: &str, t: &Theme) {
    let account = s
        .wallet
        .accounts
        .iter()
        .find(|a| a.index == 0)
        .map(|a| a.address.to_checksum(None))
        .unwrap_or_else(|| "account 0".into());
    let title = shorten(&clean_line(&item.item.title), 40);
    let field = |k: &str, v: String| {
        Line::from(vec![
            Span::styled(format!("{k:<11}"), t.style(Role::Muted)),
            Span::raw(v),
        ])
    };
    let lines = vec![
        Line::from(format!(
            "Consent that item {} (\"{title}\") may be offered exactly as previewed.",
            item.item.id
        )),
        Line::from(""),
        field("removed", item.preview.summary()),
        field("size", format!("{} bytes", item.preview.text.len())),
        field("sha256", sha256.to_owned()),
        field("account 0", account),
        field("time", "now, when you sign".into()),
        Line::from(""),
        muted(
            "Signs the consent statement (EIP-191) and keeps it here; nothing leaves this \
             machine. A later change to a span voids it.",
            t,
        ),
        Line::from(""),
        Line::from(vec![
            Span::styled("y / Enter", t.style(Role::Accent)),
            Span::raw(" sign    "),
            Span::styled("Esc", t.style(Role::Accent)),
            Span::raw(" cancel"),
        ]),
    ];
    let r = centered(area, 80, 14);
    f.render_widget(Clear, r);
    f.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(block("Consent", t, true).border_style(t.style(Role::Warning))),
        r,
    );
}

/// "listed #1" or "listed #1, #4".
fn listed_label(ids: &[u64]) -> String {
    let ids: Vec<String> = ids.iter().map(|id| format!("#{id}")).collect();
    format!("listed {}", ids.join(", "))
}

fn confirm_delete(f: &mut Frame, area: Rect, item: &MarketItem, listed: &[u64], t: &Theme) {
    let mut text = format!(
        "Delete item {} (\"{}\") from the sale vault? Its copy is overwritten in the store; \
         the conversation or file it came from is not touched.",
        item.item.id,
        shorten(&clean_line(&item.item.title), 40)
    );
    if !listed.is_empty() {
        text.push_str(&format!(
            " It is {} on the market: deleting it here does not delist it (x in My listings \
             does), and its key stays so that paid purchases can still be delivered.",
            listed_label(listed)
        ));
    }
    text.push_str(" (y/n)");
    let rows = textwrap::wrap(&text, 60).len() as u16;
    let r = centered(area, 64, rows + 2);
    f.render_widget(Clear, r);
    f.render_widget(
        Paragraph::new(text)
            .wrap(Wrap { trim: true })
            .block(block("confirm", t, true).border_style(t.style(Role::Warning))),
        r,
    );
}
