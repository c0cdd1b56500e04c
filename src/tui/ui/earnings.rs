//! Draws the Earnings screen: the token table, earnings per day of the selected token with the
//! accounts' balances beside it, the listings and the recent sales, refunds and withdrawals.
//! Only reads the state; every stranger's text (titles, symbols) is cleaned here.
use alloy::primitives::{Address, U256};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Cell, Paragraph, Row, Sparkline, Table, TableState};

use super::{block, muted};
use crate::chain::amount;
use crate::market::earnings::{DAY, utc_date};
use crate::sanitize::clean_line;
use crate::tui::state::{EarningsData, State};
use crate::tui::theme::{Role, Theme};

pub fn draw(f: &mut Frame, area: Rect, s: &State, t: &Theme, _: &mut super::RenderCache) {
    let e = &s.earnings;
    let title = match (&s.net.info, &e.data) {
        (Some(net), Some(d)) => format!(
            "Earnings · {} · block {}{}",
            clean_line(&net.name),
            d.earnings.block,
            if e.loading { " · reading…" } else { "" }
        ),
        _ => "Earnings".into(),
    };
    let Some(data) = &e.data else {
        let mut lines = vec![Line::from(if e.loading {
            "reading the market's events…"
        } else {
            "no earnings read yet (r reads them)"
        })];
        if let Some(err) = &e.error {
            lines.push(Line::styled(
                clean_line(err).into_owned(),
                t.style(Role::Error),
            ));
        }
        f.render_widget(Paragraph::new(lines).block(block(&title, t, true)), area);
        return;
    };
    let tokens = data.earnings.tokens.len().max(1) as u16;
    let [top, middle, listings, recent] = Layout::vertical([
        Constraint::Length(tokens + 3 + u16::from(e.error.is_some())),
        Constraint::Length(if area.height >= 40 { 10 } else { 5 }),
        Constraint::Length((data.earnings.listings.len().max(1) as u16 + 3).min(area.height / 4)),
        Constraint::Min(3),
    ])
    .areas(area);
    token_table(f, top, s, data, t, &title);
    let [chart, balances] =
        Layout::horizontal([Constraint::Percentage(60), Constraint::Percentage(40)]).areas(middle);
    per_day(f, chart, s, data, t);
    balance_list(f, balances, s, data, t);
    listing_table(f, listings, data, t);
    recent_list(f, recent, data, t);
}

/// `v` in `token`'s units with its symbol, or base units and a short address.
fn amount_of(data: &EarningsData, token: Address, v: U256) -> String {
    match data.token(token) {
        Some(tk) => format!(
            "{} {}",
            amount::format(v, tk.decimals),
            clean_line(&tk.symbol)
        ),
        None => {
            let a = token.to_checksum(None);
            format!("{v} of {}…", &a[..8])
        }
    }
}

fn symbol_of(data: &EarningsData, token: Address) -> String {
    match data.token(token) {
        Some(tk) => clean_line(&tk.symbol).into_owned(),
        None => {
            let a = token.to_checksum(None);
            format!("{}…", &a[..8])
        }
    }
}

fn token_table(f: &mut Frame, area: Rect, s: &State, data: &EarningsData, t: &Theme, title: &str) {
    let e = &s.earnings;
    let number = |v: U256, token: Address| match data.token(token) {
        Some(tk) => amount::format(v, tk.decimals),
        None => v.to_string(),
    };
    let rows: Vec<Row> = data
        .earnings
        .tokens
        .iter()
        .map(|f| {
            Row::new(vec![
                Cell::from(symbol_of(data, f.token)),
                Cell::from(number(f.earned, f.token)),
                Cell::from(number(f.settling, f.token)),
                Cell::from(number(f.pending, f.token)),
                Cell::from(number(f.claimable, f.token)),
                Cell::from(number(f.withdrawn, f.token)),
                Cell::from(number(f.refunded, f.token)),
            ])
        })
        .collect();
    let mut inner = block(title, t, true);
    // The screen's keys on its first pane, as on every other screen (`?` lists them all); an
    // error takes their place: it says why the figures may be old, which matters more.
    inner = match &e.error {
        Some(err) => inner.title_bottom(Line::styled(
            format!(" out of date: {} ", clean_line(err)),
            t.style(Role::Error),
        )),
        // With no sales there is no token to select or withdraw yet.
        None if rows.is_empty() => inner.title_bottom(muted(" r read again ", t).right_aligned()),
        None => {
            inner.title_bottom(muted(" ↑/↓ token · w withdraw · r read again ", t).right_aligned())
        }
    };
    if rows.is_empty() {
        f.render_widget(
            Paragraph::new(vec![
                Line::from("no sales yet"),
                muted("list an item: `keybot market sell ITEM --price AMOUNT`", t),
            ])
            .block(inner),
            area,
        );
        return;
    }
    let header = Row::new([
        "token",
        "earned",
        "settling",
        "pending",
        "claimable",
        "withdrawn",
        "refunded",
    ])
    .style(t.style(Role::Muted));
    let table = Table::new(rows, [Constraint::Ratio(1, 7); 7])
        .header(header)
        .row_highlight_style(t.style(Role::Selection))
        .block(inner);
    let mut state = TableState::default().with_selected(Some(e.selected));
    f.render_stateful_widget(table, area, &mut state);
}

/// Earned per day of the selected token over the last days that fit, oldest left.
fn per_day(f: &mut Frame, area: Rect, s: &State, data: &EarningsData, t: &Theme) {
    let token = data
        .earnings
        .tokens
        .get(s.earnings.selected)
        .map(|f| f.token);
    let days = token.and_then(|tk| data.earnings.daily.get(&tk));
    let Some((token, days)) = token.zip(days).filter(|(_, d)| !d.is_empty()) else {
        f.render_widget(
            Paragraph::new(muted("no sales yet", t)).block(block("Earned per day", t, false)),
            area,
        );
        return;
    };
    // From the first day with a delivery (or as many days back as fit), each day as wide as
    // the chart allows.
    let width = area.width.saturating_sub(2).max(1) as u64;
    let last = days.last().map(|(d, _)| *d).unwrap_or_default();
    let first = days[0].0.max(last.saturating_sub(width - 1));
    let span = last - first + 1;
    let each = (width / span).max(1) as usize;
    let decimals = data.token(token).map_or(0, |tk| tk.decimals);
    // Bars in thousandths of the token (the sparkline scales them to its height); a day with
    // any earnings shows at least a sliver.
    let scale = U256::from(10u64).pow(U256::from(decimals.saturating_sub(3)));
    let mut per_day = vec![0u64; span as usize];
    let mut total = U256::ZERO;
    for (day, v) in days.iter().filter(|(d, _)| *d >= first) {
        per_day[(day - first) as usize] = u64::try_from(*v / scale).unwrap_or(u64::MAX).max(1);
        total += *v;
    }
    let bars: Vec<u64> = per_day
        .iter()
        .flat_map(|v| std::iter::repeat_n(*v, each))
        .collect();
    let title = format!(
        "Earned per day · {} · {} to {} · {}",
        symbol_of(data, token),
        utc_date(first),
        utc_date(last),
        amount_of(data, token, total)
    );
    f.render_widget(
        Sparkline::default()
            .data(&bars)
            .style(t.style(Role::Success))
            .block(block(&title, t, false)),
        area,
    );
}

/// The balances of the accounts that sold, as the wallet last read them.
fn balance_list(f: &mut Frame, area: Rect, s: &State, data: &EarningsData, t: &Theme) {
    // The wallet's accounts in their order, then any other selling address (imported).
    let selling = |a: &Address| data.earnings.listings.iter().any(|l| l.seller == *a);
    let mut sellers: Vec<Address> = s
        .wallet
        .accounts
        .iter()
        .map(|a| a.address)
        .filter(selling)
        .collect();
    for l in &data.earnings.listings {
        if !sellers.contains(&l.seller) {
            sellers.push(l.seller);
        }
    }
    let mut lines = Vec::new();
    for seller in &sellers {
        let a = seller.to_checksum(None);
        let name = match s.wallet.accounts.iter().find(|x| x.address == *seller) {
            Some(acc) => format!("account {}", acc.index),
            None => format!("{}…", &a[..8]),
        };
        let text = match s.net.balance(*seller) {
            Some(b) => {
                let mut parts = vec![format!("{} ETH", amount::format(b.eth, 18))];
                parts.extend(b.tokens.iter().map(|(tk, v)| {
                    format!(
                        "{} {}",
                        amount::format(*v, tk.decimals),
                        clean_line(&tk.symbol)
                    )
                }));
                parts.join(" · ")
            }
            None => "balance not read yet".into(),
        };
        lines.push(Line::from(format!("{name}: {text}")));
    }
    if lines.is_empty() {
        lines.push(muted("no selling accounts yet", t));
    }
    f.render_widget(
        Paragraph::new(lines).block(block("Balances", t, false)),
        area,
    );
}

fn listing_table(f: &mut Frame, area: Rect, data: &EarningsData, t: &Theme) {
    if data.earnings.listings.is_empty() {
        f.render_widget(
            Paragraph::new(muted("no listings", t)).block(block("Listings", t, false)),
            area,
        );
        return;
    }
    let rows: Vec<Row> = data
        .earnings
        .listings
        .iter()
        .map(|l| {
            Row::new(vec![
                Cell::from(l.listing.to_string()),
                Cell::from(clean_line(&l.title).into_owned()),
                Cell::from(l.sales.to_string()),
                Cell::from(amount_of(data, l.token, l.revenue)),
                Cell::from(l.refunds.to_string()),
                Cell::from(l.disputes.to_string()),
                Cell::from(match l.last_sale {
                    Some((_, Some(time))) => utc_date(time / DAY),
                    Some((block, None)) => format!("block {block}"),
                    None => "-".into(),
                }),
            ])
        })
        .collect();
    let header = Row::new([
        "#",
        "title",
        "sales",
        "revenue",
        "refunds",
        "disputes",
        "last sale",
    ])
    .style(t.style(Role::Muted));
    let widths = [
        Constraint::Length(4),
        Constraint::Min(10),
        Constraint::Length(5),
        Constraint::Length(14),
        Constraint::Length(7),
        Constraint::Length(8),
        Constraint::Length(10),
    ];
    f.render_widget(
        Table::new(rows, widths)
            .header(header)
            .block(block("Listings", t, false)),
        area,
    );
}

fn recent_list(f: &mut Frame, area: Rect, data: &EarningsData, t: &Theme) {
    let room = area.height.saturating_sub(2) as usize;
    let lines: Vec<Line> = data
        .earnings
        .entries
        .iter()
        .rev()
        .take(room)
        .map(|x| {
            let role = match x.kind {
                crate::market::earnings::EntryKind::Sale => Role::Success,
                crate::market::earnings::EntryKind::Refund => Role::Warning,
                crate::market::earnings::EntryKind::Withdrawal => Role::Accent,
            };
            Line::from(vec![
                ratatui::text::Span::styled(format!("{:<10} ", x.kind.name()), t.style(role)),
                ratatui::text::Span::raw(format!(
                    "{:>16}  {:<10}  {:#x}",
                    amount_of(data, x.token, x.amount),
                    match x.time {
                        Some(time) => utc_date(time / DAY),
                        None => format!("block {}", x.block),
                    },
                    x.tx_hash
                )),
            ])
        })
        .collect();
    let lines = if lines.is_empty() {
        vec![muted("no sales, refunds or withdrawals yet", t)]
    } else {
        lines
    };
    f.render_widget(Paragraph::new(lines).block(block("Recent", t, false)), area);
}
