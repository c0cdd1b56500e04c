//! The send flow (form, review, result) and the activity list, drawn over the wallet screen.
//! Token symbols, RPC errors and the review's values go through `sanitize` before drawing.
use ratatui::Frame;
use ratatui::layout::Rect;
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
use crate::tui::state::{ActivityView, SendField, SendFlow, SendStep, State};
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
            let mut lines = form(s, flow, t, false);
            lines.push(Line::from(""));
            lines.push(styled(
                "checking the chain and preparing the review… (Esc cancels)",
                t.style(Role::Warning),
            ));
            ("Send", lines)
        }
        SendStep::Review {
            review,
            confirm,
            error,
        } => {
            let mut lines = review_lines(review, t);
            lines.push(Line::from(""));
            if review.has_loud_warning() {
                let challenge = review.challenge();
                lines.push(styled(
                    format!(
                        "To sign and send, type the 4 characters that come after {} in the \
                         recipient's address and press Enter:",
                        challenge.after
                    ),
                    t.style(Role::Warning),
                ));
                lines.push(input_line(confirm, t, true));
                lines.push(muted(format!("{back} (nothing is signed)"), t));
            } else {
                lines.push(styled(
                    format!("y sign and send · n / {back} (nothing is signed)"),
                    t.style(Role::Accent),
                ));
            }
            if let Some(e) = error {
                lines.push(styled(clean_line(e).into_owned(), t.style(Role::Error)));
            }
            ("Review: exactly what will be signed", lines)
        }
        SendStep::Sending { review, progress } => {
            let mut lines = review_lines(review, t);
            lines.push(Line::from(""));
            lines.push(styled("signed; sending…", t.style(Role::Warning)));
            if let Some(p) = progress {
                lines.push(muted(clean_line(p).into_owned(), t));
            }
            ("Sending", lines)
        }
        SendStep::Done {
            review,
            hash,
            outcome,
        } => ("Sent", done(review, hash, outcome, back_after, t)),
    };
    f.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(block(title, t, true)),
        area,
    );
}

/// How a confirmed send ended: what was sent, the outcome, the transaction hash.
fn done(
    review: &Review,
    hash: &Option<B256>,
    outcome: &Result<Outcome, ChainError>,
    back: &'static str,
    t: &Theme,
) -> Vec<Line<'static>> {
    let mut lines = vec![
        Line::from(clean_line(&review.intent.headline()).into_owned()),
        Line::from(""),
    ];
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

fn review_lines(review: &Review, t: &Theme) -> Vec<Line<'static>> {
    let mut lines: Vec<Line> = review
        .lines()
        .into_iter()
        .map(|(k, v)| {
            Line::from(vec![
                Span::styled(format!("{k:>10}  "), t.style(Role::Muted)),
                Span::styled(clean_line(&v).into_owned(), t.style(Role::Text)),
            ])
        })
        .collect();
    if !review.warnings.is_empty() {
        lines.push(Line::from(""));
    }
    for w in &review.warnings {
        let role = if w.is_loud() {
            Role::Error
        } else {
            Role::Warning
        };
        lines.push(styled(format!("⚠ {}", review.warning(w)), t.style(role)));
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
