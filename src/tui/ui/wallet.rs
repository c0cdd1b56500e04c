use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{ListItem, Paragraph};

use super::{block, input_line, muted};
use crate::chain::amount;
use crate::sanitize::clean_line;
use crate::tui::qr;
use crate::tui::state::{Account, NetStatus, State, WalletMode};
use crate::tui::theme::{Role, Theme};

pub fn draw(f: &mut Frame, area: Rect, s: &State, t: &Theme, _: &mut super::RenderCache) {
    match &s.wallet.mode {
        WalletMode::Accounts => accounts(f, area, s, t),
        WalletMode::Send(flow) => super::send::draw(f, area, s, flow, t),
        WalletMode::Activity(view) => super::send::activity(f, area, s, view, t),
    }
}

fn accounts(f: &mut Frame, area: Rect, s: &State, t: &Theme) {
    let w = &s.wallet;
    // The address (42 characters) must fit whole on the right; the list takes what is left.
    let list_w = area.width.saturating_sub(46).clamp(24, 44);
    let [left, right] =
        Layout::horizontal([Constraint::Length(list_w), Constraint::Min(20)]).areas(area);
    let items: Vec<ListItem> = w
        .accounts
        .iter()
        .map(|a| {
            let addr = a.address.to_checksum(None);
            ListItem::new(super::fit(
                Line::from(vec![
                    Span::styled(format!("{:>3} ", a.index), t.style(Role::Muted)),
                    Span::raw(format!("{}…{} ", &addr[..8], &addr[addr.len() - 6..])),
                    Span::styled(clean_line(&a.label).into_owned(), t.style(Role::Accent)),
                ]),
                usize::from(list_w.saturating_sub(2)),
            ))
        })
        .collect();
    super::selectable_list(f, left, items, w.selected, "Accounts", t);

    let Some(acc) = w.accounts.get(w.selected) else {
        f.render_widget(
            Paragraph::new(muted("no accounts", t)).block(block("Address", t, false)),
            right,
        );
        return;
    };
    let addr = acc.address.to_checksum(None);
    // Whole where it fits; else cut in the middle, both ends kept to compare.
    let panel_w = usize::from(right.width.saturating_sub(2));
    let head = vec![
        Line::from(Span::styled(
            format!("account {}  m/44'/60'/0'/0/{}", acc.index, acc.index),
            t.style(Role::Muted),
        )),
        Line::from(Span::styled(
            super::middle(&addr, panel_w),
            t.style(Role::Title),
        )),
    ];
    let mut money = Vec::new();
    balances(&mut money, s, acc, t);
    let hints = [
        muted("s send · a activity · r refresh", t),
        muted("n new account · l label · c copy address", t),
    ];
    let lines = if let Some(input) = &w.labelling {
        let mut lines = head;
        lines.push(Line::from(""));
        lines.extend(money);
        lines.extend([
            Line::from(""),
            Line::from("label:"),
            input_line(input, t, true),
        ]);
        lines
    } else {
        let room = (
            usize::from(right.height.saturating_sub(2)),
            usize::from(right.width.saturating_sub(2)),
        );
        with_qr(head, money, hints, &addr, room, t)
    };
    let lines: Vec<Line> = lines.into_iter().map(|l| super::fit(l, panel_w)).collect();
    f.render_widget(
        Paragraph::new(lines).block(block("Address", t, false)),
        right,
    );
}

/// The address panel with its QR code. A cut-off QR code does not scan, so it is drawn whole
/// or not at all; to fit it the blank lines go first, then the key hints (they are in the
/// help too), and only when even that is too little does the code give way to a note.
fn with_qr(
    head: Vec<Line<'static>>,
    money: Vec<Line<'static>>,
    hints: [Line<'static>; 2],
    addr: &str,
    (room_h, room_w): (usize, usize),
    t: &Theme,
) -> Vec<Line<'static>> {
    let layout = |gaps: bool, qr: Vec<Line<'static>>, with_hints: bool| {
        let mut lines = head.clone();
        if gaps {
            lines.push(Line::from(""));
        }
        lines.extend(money.iter().cloned());
        if gaps {
            lines.push(Line::from(""));
        }
        lines.extend(qr);
        if with_hints {
            lines.extend(hints.iter().cloned());
        }
        lines
    };
    match qr::render(&qr::payment_uri(addr), qr::style()) {
        Ok(q) if q.iter().all(|l| l.width() <= room_w) => {
            for (gaps, with_hints) in [(true, true), (false, true), (false, false)] {
                let lines = layout(gaps, q.clone(), with_hints);
                if lines.len() <= room_h {
                    return lines;
                }
            }
            let note = muted("(make the window larger to see the QR code)", t);
            layout(true, vec![note], true)
        }
        Ok(_) => layout(
            true,
            vec![muted("(make the window larger to see the QR code)", t)],
            true,
        ),
        Err(e) => layout(true, vec![muted(format!("no QR code: {e}"), t)], true),
    }
}

/// The account's balances (ETH and each configured token, exact decimals), or why there are
/// none: no network, offline (the last known ones are kept and marked), not read yet.
fn balances(lines: &mut Vec<Line<'static>>, s: &State, acc: &Account, t: &Theme) {
    let net = &s.net;
    let Some(info) = &net.info else {
        lines.push(muted("no network configured: offline", t));
        lines.push(muted("(keybot chain add, or keybot chain dev)", t));
        return;
    };
    let name = clean_line(&info.name).into_owned();
    match &net.status {
        NetStatus::Online { block } => {
            lines.push(muted(format!("balances on {name} at block {block}"), t))
        }
        NetStatus::Offline { reason } => {
            lines.push(Line::from(Span::styled(
                "offline: balances may be out of date".to_owned(),
                t.style(Role::Error),
            )));
            lines.push(muted(clean_line(reason).into_owned(), t));
        }
        NetStatus::Unknown => lines.push(muted(format!("reading balances on {name}…"), t)),
    }
    let Some(b) = net.balance(acc.address) else {
        if net.online() {
            lines.push(muted("(not read yet)", t));
        }
        return;
    };
    let row = |value: String, symbol: &str| {
        Line::from(vec![
            Span::styled(format!("{value:>24} "), t.style(Role::Text)),
            Span::styled(clean_line(symbol).into_owned(), t.style(Role::Accent)),
        ])
    };
    lines.push(row(amount::format(b.eth, 18), "ETH"));
    for (token, units) in &b.tokens {
        lines.push(row(amount::format(*units, token.decimals), &token.symbol));
    }
}
