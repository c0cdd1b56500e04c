//! The send flow (form, review, result) and the activity list, drawn over the wallet screen.
//! Token symbols, RPC errors and the review's values go through `sanitize` before drawing.
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{List, ListItem, ListState, Paragraph, Wrap};

use super::{block, input_line, muted, styled};
use alloy::primitives::B256;

use crate::chain::ChainError;
use crate::chain::amount;
use crate::chain::safety;
use crate::chain::send::{Outcome, Review};
use crate::sanitize::clean_line;
use crate::store::TxStatus;
use crate::tui::state::review::{self as review_layout, BodyRow};
use crate::tui::state::{ActivityView, SendField, SendFlow, SendStep, State, Steps};
use crate::tui::theme::{Role, Theme};

pub fn draw(f: &mut Frame, area: Rect, s: &State, flow: &SendFlow, t: &Theme) {
    // A review another screen opened goes back there, not to a send form.
    let (back, back_after) = match flow.origin {
        Some(_) => ("Esc back", "Enter / Esc back"),
        None => ("Esc back to the form", "Enter / Esc back to the accounts"),
    };
    let (title, lines) = match &flow.step {
        SendStep::Form => ("Send", form(s, flow, t, true)),
        SendStep::Preparing { .. } => {
            let mut lines = if flow.origin.is_some() {
                Vec::new()
            } else {
                form(s, flow, t, false)
            };
            if let Some(st) = &flow.steps {
                lines.push(styled(
                    format!("Step {} of {}", st.at, st.of),
                    t.style(Role::Accent),
                ));
            }
            lines.push(Line::from(""));
            lines.push(styled(
                format!(
                    "{} checking the chain and preparing the review… (Esc cancels)",
                    super::spinner(s.now_ms)
                ),
                t.style(Role::Warning),
            ));
            ("Send", lines)
        }
        SendStep::Review {
            review,
            confirm,
            error,
            scroll,
            ..
        } => {
            let view = ReviewView {
                review,
                steps: flow.steps.as_ref(),
                confirm,
                error: error.as_deref(),
                scroll: *scroll,
                back,
            };
            return draw_review(f, area, &view, t);
        }
        SendStep::Sending { review, progress } => {
            let mut lines = header_lines(review, flow, area.width, t);
            lines.push(Line::from(""));
            lines.push(styled(
                format!("{} signed; sending…", super::spinner(s.now_ms)),
                t.style(Role::Warning),
            ));
            if let Some(p) = progress {
                lines.push(muted(clean_line(p).into_owned(), t));
            }
            ("Sending", lines)
        }
        SendStep::Done {
            review,
            hash,
            outcome,
            said,
        } => (
            "Result",
            done(review, hash, outcome, said.as_deref(), back_after, t),
        ),
    };
    f.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(block(title, t, true)),
        area,
    );
}

/// The receipt's header: the step, the sentence of what moves and the fee, wrapped as the
/// review lays them out.
fn header_lines(review: &Review, flow: &SendFlow, width: u16, t: &Theme) -> Vec<Line<'static>> {
    let rows = review_layout::rows(
        review,
        flow.steps.as_ref(),
        review_layout::inner_width(width),
    );
    title_lines(&rows.header, t)
}

/// The header's rows as the review draws them.
fn title_lines(header: &[String], t: &Theme) -> Vec<Line<'static>> {
    header
        .iter()
        .map(|l| styled(l.clone(), t.style(Role::Title)))
        .collect()
}

/// What the review draws from.
struct ReviewView<'a> {
    review: &'a Review,
    steps: Option<&'a Steps>,
    confirm: &'a crate::tui::state::Input,
    error: Option<&'a str>,
    scroll: usize,
    back: &'static str,
}

/// The review as a receipt: the header (step, sentence, fee) fixed at the top, the decoded
/// call scrolling under it with a mark when more is above or below, and the keys at the foot,
/// always on the screen.
fn draw_review(f: &mut Frame, area: Rect, v: &ReviewView, t: &Theme) {
    let title = "Review: exactly what will be signed";
    let outer = block(title, t, true);
    let inner = outer.inner(area);
    f.render_widget(outer, area);
    let rows = review_layout::rows(v.review, v.steps, inner.width);
    let footer = footer(v, inner.width, t);
    let [head, above, body, below, foot] = Layout::vertical([
        Constraint::Length(rows.header.len() as u16),
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(1),
        Constraint::Length(footer.len() as u16),
    ])
    .areas(inner);
    f.render_widget(Paragraph::new(title_lines(&rows.header, t)), head);
    let height = usize::from(body.height);
    let max = rows.body.len().saturating_sub(height);
    let scroll = v.scroll.min(max);
    let shown: Vec<Line> = rows
        .body
        .iter()
        .skip(scroll)
        .take(height)
        .map(|r| body_line(r, rows.label_w, t))
        .collect();
    f.render_widget(Paragraph::new(shown), body);
    if scroll > 0 {
        f.render_widget(
            Paragraph::new(muted(format!("▲ {scroll} more above (↑/PgUp)"), t)),
            above,
        );
    }
    if scroll < max {
        f.render_widget(
            Paragraph::new(styled(
                format!("▼ {} more below (↓/PgDn)", max - scroll),
                t.style(Role::Accent),
            )),
            below,
        );
    }
    f.render_widget(Paragraph::new(footer), foot);
}

fn body_line(row: &BodyRow, label_w: usize, t: &Theme) -> Line<'static> {
    match row {
        BodyRow::Field { label, text } => Line::from(vec![
            Span::styled(format!("{label:>label_w$}  "), t.style(Role::Muted)),
            Span::styled(text.clone(), t.style(Role::Text)),
        ]),
        BodyRow::Warning { loud, text } => styled(
            text.clone(),
            t.style(if *loud { Role::Error } else { Role::Warning }),
        ),
        BodyRow::Blank => Line::from(""),
    }
}

/// The review's foot: the keys (or the request for a loud warning's characters), then an
/// error; exactly [`review_layout::footer_rows`] rows.
fn footer(v: &ReviewView, width: u16, t: &Theme) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    if v.review.has_loud_warning() {
        for l in review_layout::wrap(
            &review_layout::challenge_prompt(v.review),
            usize::from(width),
        ) {
            lines.push(styled(l, t.style(Role::Warning)));
        }
        lines.push(input_line(v.confirm, t, true));
        lines.push(muted(
            super::shorten(
                &format!("{} (nothing is signed) · ↑/↓ scroll", v.back),
                usize::from(width),
            ),
            t,
        ));
    } else {
        lines.push(styled(
            super::shorten(
                &format!(
                    "y sign and send · n / {} (nothing is signed) · ↑/↓ PgUp/PgDn scroll",
                    v.back
                ),
                usize::from(width),
            ),
            t.style(Role::Accent),
        ));
    }
    if let Some(e) = v.error {
        lines.push(styled(
            super::shorten(&clean_line(e), usize::from(width)),
            t.style(Role::Error),
        ));
    }
    lines
}

/// How a confirmed send ended: what it did in words, the outcome, the transaction hash.
fn done(
    review: &Review,
    hash: &Option<B256>,
    outcome: &Result<Outcome, ChainError>,
    said: Option<&str>,
    back: &'static str,
    t: &Theme,
) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    if let (Ok(Outcome::Confirmed { .. }), Some(said)) = (outcome, said) {
        lines.push(styled(
            clean_line(said).into_owned(),
            t.style(Role::Success),
        ));
    } else if let Ok(Outcome::Confirmed { .. }) = outcome {
        lines.push(styled(
            clean_line(&done_sentence(review)).into_owned(),
            t.style(Role::Success),
        ));
    } else {
        lines.push(Line::from(
            clean_line(&review.intent.sentence()).into_owned(),
        ));
    }
    lines.push(Line::from(""));
    let (text, role) = match outcome {
        Ok(o @ Outcome::Confirmed { .. }) => (describe(o), Role::Success),
        Ok(o @ Outcome::StillPending) => (describe(o), Role::Warning),
        Ok(o) => (describe(o), Role::Error),
        Err(e) => (clean_line(&e.to_string()).into_owned(), Role::Error),
    };
    lines.push(styled(text, t.style(role)));
    if let Some(h) = hash {
        lines.push(muted(format!("transaction {h}"), t));
    }
    lines.push(Line::from(""));
    lines.push(muted(back, t));
    lines
}

/// A confirmed transaction that is not the market's, in words: "Sent 1.5 ETH to 0x…".
fn done_sentence(review: &Review) -> String {
    use crate::chain::Intent;
    match &review.intent {
        Intent::Transfer(r) => format!(
            "Sent {} to {}.",
            r.asset.format(r.amount),
            safety::short(r.to)
        ),
        Intent::Call(c) if c.function.name == "approve" => match &c.purpose {
            Some(p) => format!("Done: {}", p.trim_start_matches("You ")),
            None => format!("Approved on {}.", safety::short(c.contract)),
        },
        Intent::Call(c) => format!(
            "Done: {} on {}.",
            c.function.name,
            safety::short(c.contract)
        ),
        Intent::Deploy(d) => format!("Deployed {}.", d.label),
    }
}

/// A short line for how a send ended.
fn describe(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Confirmed { block } => format!("confirmed in block {block}"),
        Outcome::Reverted { block } => {
            format!("reverted on chain in block {block} (the fee was spent)")
        }
        Outcome::StillPending => "pending: not mined yet; the activity list (a) follows it".into(),
        Outcome::RpcLost { reason } => format!(
            "RPC lost: recorded, will not be signed again ({})",
            clean_line(reason)
        ),
    }
}

fn form(s: &State, flow: &SendFlow, t: &Theme, focused: bool) -> Vec<Line<'static>> {
    let form = &flow.form;
    let label = |text: &str, field: SendField| {
        let role = if focused && form.field == field {
            Role::BorderFocus
        } else {
            Role::Muted
        };
        Span::styled(format!("{text:>8}  "), t.style(role))
    };
    let from = match s.wallet.accounts.get(form.account) {
        Some(a) => format!(
            "{}  (account {}{}{})",
            a.address.to_checksum(None),
            a.index,
            if a.label.is_empty() { "" } else { " " },
            clean_line(&a.label)
        ),
        None => "?".into(),
    };
    let asset = s.net.asset(form.asset);
    let mut lines = vec![
        Line::from(vec![
            Span::styled(format!("{:>8}  ", "from"), t.style(Role::Muted)),
            Span::raw(from),
        ]),
        Line::from(
            [vec![label("to", SendField::To)], {
                input_line(&form.to, t, focused && form.field == SendField::To).spans
            }]
            .concat(),
        ),
        Line::from(
            [vec![label("amount", SendField::Amount)], {
                input_line(&form.amount, t, focused && form.field == SendField::Amount).spans
            }]
            .concat(),
        ),
        Line::from(vec![
            label("asset", SendField::Asset),
            Span::styled(
                format!("‹ {} ›", clean_line(asset.symbol())),
                t.style(if focused && form.field == SendField::Asset {
                    Role::Selection
                } else {
                    Role::Input
                }),
            ),
            Span::styled(
                if s.net.asset_count() > 1 {
                    "  (←/→ to change)"
                } else {
                    "  (no tokens configured)"
                },
                t.style(Role::Muted),
            ),
        ]),
        Line::from(""),
    ];
    if let Some(e) = &form.error {
        lines.push(styled(clean_line(e).into_owned(), t.style(Role::Error)));
        lines.push(Line::from(""));
    }
    if focused {
        lines.push(muted(
            "Enter review · Tab / ↑↓ field · ←/→ asset · Esc cancel",
            t,
        ));
    }
    lines
}

pub fn activity(f: &mut Frame, area: Rect, s: &State, view: &ActivityView, t: &Theme) {
    let name = s
        .net
        .info
        .as_ref()
        .map(|i| clean_line(&i.name).into_owned());
    let title = match &name {
        Some(n) => format!("Activity on {n}"),
        None => "Activity".into(),
    };
    let mut head = Vec::new();
    if view.loading {
        head.push(styled("syncing with the chain…", t.style(Role::Warning)));
    } else if let Some(why) = &view.offline {
        head.push(styled(
            format!("showing what was recorded — {}", clean_line(why)),
            t.style(Role::Error),
        ));
    }
    let mut items: Vec<ListItem> = head.into_iter().map(ListItem::new).collect();
    let offset = items.len();
    if view.entries.is_empty() && !view.loading {
        items.push(ListItem::new(muted("no activity yet", t)));
    }
    for e in &view.entries {
        let status_role = match e.status {
            TxStatus::Confirmed => Role::Success,
            TxStatus::Signed | TxStatus::Pending => Role::Warning,
            TxStatus::Reverted | TxStatus::Failed | TxStatus::Dropped => Role::Error,
        };
        items.push(ListItem::new(Line::from(vec![
            Span::styled(format!("{:<9} ", e.status.as_str()), t.style(status_role)),
            Span::raw(format!(
                "{} {:>20} ",
                if e.outgoing { "sent" } else { "recv" },
                amount::format(e.amount, e.asset.decimals),
            )),
            Span::styled(
                format!("{:<6} ", clean_line(&e.asset.symbol)),
                t.style(Role::Accent),
            ),
            Span::raw(format!(
                "{} {}  ",
                if e.outgoing { "to  " } else { "from" },
                safety::short(e.counterparty)
            )),
            Span::styled(
                e.block.map_or("-".into(), |b| format!("block {b}")),
                t.style(Role::Muted),
            ),
        ])));
    }
    items.push(ListItem::new(Line::from("")));
    items.push(ListItem::new(muted(
        "↑/↓ select · r sync again · Esc / a back to the accounts",
        t,
    )));
    let selected = (!view.entries.is_empty()).then_some(offset + view.selected);
    let mut state = ListState::default().with_selected(selected);
    f.render_stateful_widget(
        List::new(items)
            .highlight_style(t.style(Role::Selection))
            .block(block(&title, t, true)),
        area,
        &mut state,
    );
}
