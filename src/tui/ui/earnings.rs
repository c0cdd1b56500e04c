//! Draws the Earnings screen: the token table, earnings per day of the selected token with the
//! accounts' balances beside it, the listings and the recent sales, refunds and withdrawals.
//! Only reads the state; every stranger's text (titles, symbols) is cleaned here.
use alloy::primitives::{Address, U256};
use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Bar, BarChart, Block, Cell, Paragraph, Row, Table, TableState};
use unicode_width::UnicodeWidthStr;

use super::{block, muted, shorten};
use crate::chain::amount;
use crate::market::earnings::{DAY, EntryKind, utc_date};
use crate::sanitize::clean_line;
use crate::tui::screens::earnings::{chart_days, day_span};
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
    let title = shorten(&title, usize::from(area.width.saturating_sub(4)));
    let Some(data) = &e.data else {
        let mut lines = vec![Line::from(if e.loading {
            "reading the market's events…"
        } else {
            "no earnings read yet (r reads them)"
        })];
        if let Some(err) = &e.error {
            lines.push(Line::styled(
                shorten(&clean_line(err), usize::from(area.width.saturating_sub(2))),
                t.style(Role::Error),
            ));
        }
        f.render_widget(Paragraph::new(lines).block(block(&title, t, true)), area);
        return;
    };
    let tokens = data.earnings.tokens.len().max(1) as u16;
    let [top, middle, listings, recent] = Layout::vertical([
        Constraint::Length(tokens + 3 + u16::from(e.error.is_some())),
        // The chart: 4 rows of bars and its x axis at 80x24, taller on a taller screen.
        Constraint::Length((area.height / 3).max(7)),
        Constraint::Length((data.earnings.listings.len().max(1) as u16 + 3).min(area.height / 4)),
        Constraint::Min(3),
    ])
    .areas(area);
    token_table(f, top, s, data, t, &title);
    // The balances as wide as their longest line (up to half the width; at least as wide as
    // "no selling accounts yet"), the chart the rest.
    let balances = balance_lines(s, data);
    let widest = balances.iter().map(|l| l.width()).max().unwrap_or(0);
    let want = u16::try_from(widest + 2).unwrap_or(u16::MAX).max(25);
    let [chart, balance_area] = Layout::horizontal([
        Constraint::Min(0),
        Constraint::Length(want.min(middle.width / 2)),
    ])
    .areas(middle);
    per_day(f, chart, s, data, t);
    balance_list(f, balance_area, &balances, t);
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
    let constraints = [Constraint::Ratio(1, 7); 7];
    let widths = column_widths(&constraints, area);
    let rows: Vec<Row> = data
        .earnings
        .tokens
        .iter()
        .map(|f| {
            let cells = [
                symbol_of(data, f.token),
                number(f.earned, f.token),
                number(f.settling, f.token),
                number(f.pending, f.token),
                number(f.claimable, f.token),
                number(f.withdrawn, f.token),
                number(f.refunded, f.token),
            ];
            fitted_row(&cells, &widths)
        })
        .collect();
    let mut inner = block(title, t, true);
    // The screen's keys on its first pane, as on every other screen (`?` lists them all); an
    // error takes their place: it says why the figures may be old, which matters more.
    inner = match &e.error {
        Some(err) => inner.title_bottom(Line::styled(
            format!(
                " {} ",
                shorten(
                    &format!("out of date: {}", clean_line(err)),
                    usize::from(area.width.saturating_sub(4))
                )
            ),
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
    let header = fitted_row(
        &[
            "token",
            "earned",
            "settling",
            "pending",
            "claimable",
            "withdrawn",
            "refunded",
        ],
        &widths,
    )
    .style(t.style(Role::Muted));
    let table = Table::new(rows, constraints)
        .header(header)
        .row_highlight_style(t.style(Role::Selection))
        .block(inner);
    let mut state = TableState::default().with_selected(Some(e.selected));
    f.render_stateful_widget(table, area, &mut state);
}

/// The bars' values are parts of the highest shown day, which is this many.
const CHART_SCALE: u64 = 1_000_000;

/// Earned per day of the selected token, oldest left: amounts in the token's units on the y axis
/// (the highest shown day at the top, half of it midway when there is room, 0 at the axis), the
/// dates on the x axis under their bars, each day's amount in its bar where it fits. As many of
/// the latest days as fit the width, a "…" at the start of the x axis where older days do not.
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
    let decimals = data.token(token).map_or(0, |tk| tk.decimals);
    let symbol = shorten(&symbol_of(data, token), 8);
    let label = |v: U256| format!("{} {symbol}", amount::format(v, decimals));
    let inner = Block::bordered().inner(area);
    let plan = plan_chart(days, inner.width, &label, decimals);
    let shown = &plan.shown;
    let top = shown.iter().map(|(_, v)| *v).max().unwrap_or_default();
    let total = shown
        .iter()
        .fold(U256::ZERO, |sum, (_, v)| sum.saturating_add(*v));
    let title = chart_title(
        &symbol_of(data, token),
        &amount_of(data, token, total),
        shown,
        usize::from(area.width.saturating_sub(4)),
    );
    f.render_widget(block(&title, t, false), area);
    if inner.height < 2 || inner.width <= plan.y_width + 1 {
        return;
    }
    let [y_axis, older, plot] = Layout::horizontal([
        Constraint::Length(plan.y_width + 1),
        Constraint::Length(u16::from(plan.older)),
        Constraint::Min(0),
    ])
    .areas(inner);
    let rows = inner.height - 1;
    let mid = (rows >= 4).then(|| label(top / U256::from(2)));
    let axis = y_axis_lines(
        &label(top),
        mid.as_deref(),
        &label(U256::ZERO),
        rows,
        usize::from(plan.y_width),
        t,
    );
    f.render_widget(Paragraph::new(axis), y_axis);
    // The x axis: a line under the bars (after a "…" where older days are left out), the bars'
    // dates drawn over it.
    let x_axis = Rect {
        y: inner.bottom() - 1,
        height: 1,
        x: older.x,
        width: older.width + plot.width,
    };
    let line = format!(
        "{}{}",
        if plan.older { "…" } else { "" },
        "─".repeat(usize::from(plot.width))
    );
    f.render_widget(Paragraph::new(muted(line, t)), x_axis);
    f.render_widget(day_bars(&plan, top, rows, decimals, t), plot);
}

/// The bars of the planned days, `top` their highest, in `rows` rows.
fn day_bars<'a>(plan: &ChartPlan, top: U256, rows: u16, decimals: u8, t: &Theme) -> BarChart<'a> {
    let least = CHART_SCALE.div_ceil(u64::from(rows.max(1)) * 8);
    let bars: Vec<Bar> = plan
        .shown
        .iter()
        .map(|(day, v)| {
            let date = utc_date(*day);
            let date = match plan.fit.whole_dates {
                true => date,
                // "MM-DD": the title has the year where there is room, Recent always.
                false => date
                    .get(date.len().saturating_sub(5)..)
                    .unwrap_or("")
                    .to_owned(),
            };
            // A day with any earnings shows at least a sliver.
            let part = bar_part(*v, top);
            let part = if v.is_zero() { 0 } else { part.max(least) };
            Bar::with_label(date, part).text_value(amount::format(*v, decimals))
        })
        .collect();
    BarChart::vertical(bars)
        .max(CHART_SCALE)
        .bar_width(plan.fit.bar_width)
        .bar_gap(1)
        .bar_style(t.style(Role::Success))
        .value_style(t.style(Role::Success).add_modifier(Modifier::REVERSED))
        .label_style(t.style(Role::Muted))
}

/// What the chart shows in its width.
struct ChartPlan {
    fit: DayFit,
    /// The days shown, oldest first (from [`chart_days`]).
    shown: Vec<(u64, U256)>,
    /// Older days are left out.
    older: bool,
    /// The y axis's labels' width (its line comes after them).
    y_width: u16,
}

/// The chart of `days` in `width` columns, `label` the y axis's amounts: the y axis first as
/// wide as its labels could be whichever days are shown (a day's amount at the top, half of one
/// midway), then, where the days that fit need less, as narrow as they need, which may leave
/// room for more days (kept where their labels fit too).
fn plan_chart(
    days: &[(u64, U256)],
    width: u16,
    label: &dyn Fn(U256) -> String,
    decimals: u8,
) -> ChartPlan {
    let span = day_span(days);
    let value_width = days
        .iter()
        .map(|(_, v)| amount::format(*v, decimals).width())
        .max()
        .unwrap_or(0) as u16;
    let cap = usize::from(width / 3);
    let labels_width = |values: &mut dyn Iterator<Item = U256>| {
        values
            .flat_map(|v| [label(v).width(), label(v / U256::from(2)).width()])
            .chain([label(U256::ZERO).width()])
            .max()
            .unwrap_or(0)
            .min(cap) as u16
    };
    let plan = |y_width: u16| {
        let plot = width.saturating_sub(y_width + 1);
        let mut fit = fit_days(span, plot, value_width);
        let older = fit.days < span;
        if older {
            // One column for the "…".
            fit = fit_days(span, plot.saturating_sub(1), value_width);
        }
        let shown = chart_days(days, fit.days);
        ChartPlan {
            fit,
            shown,
            older,
            y_width,
        }
    };
    let top = |p: &ChartPlan| p.shown.iter().map(|(_, v)| *v).max().unwrap_or_default();
    let first = plan(labels_width(&mut days.iter().map(|(_, v)| *v)));
    let needed = labels_width(&mut [top(&first)].into_iter());
    if needed >= first.y_width {
        return first;
    }
    let second = plan(needed);
    if labels_width(&mut [top(&second)].into_iter()) <= needed {
        second
    } else {
        first
    }
}

/// `v` in millionths of `top` (the highest bar).
fn bar_part(v: U256, top: U256) -> u64 {
    if top.is_zero() {
        return 0;
    }
    let scale = U256::from(CHART_SCALE);
    let part = match v.checked_mul(scale) {
        Some(m) => m / top,
        // Only for amounts near 2^256: `top` is at least as large.
        None => v / (top / scale).max(U256::from(1)),
    };
    u64::try_from(part).unwrap_or(CHART_SCALE).min(CHART_SCALE)
}

/// "Earned per day · SYMBOL · TOTAL from DATE to DATE" in `room` columns; where that does not
/// fit, the number of days in place of the dates, cut with "…" where even that does not fit.
fn chart_title(symbol: &str, total: &str, shown: &[(u64, U256)], room: usize) -> String {
    let head = format!("Earned per day · {symbol} · {total}");
    let (long, short) = match (shown.first(), shown.last()) {
        (Some((first, _)), Some((last, _))) if first != last => (
            format!("{head} from {} to {}", utc_date(*first), utc_date(*last)),
            format!("{head} in {} days", shown.len()),
        ),
        (Some((day, _)), _) => (format!("{head} on {}", utc_date(*day)), head),
        // No room for a single day.
        _ => {
            let bare = format!("Earned per day · {symbol}");
            (bare.clone(), bare)
        }
    };
    if long.width() <= room {
        long
    } else {
        shorten(&short, room)
    }
}

/// The widest a bar grows where few days leave room.
const WIDE_BAR: u16 = 16;

/// How the chart's days fit its plot.
#[derive(Debug, PartialEq, Eq)]
struct DayFit {
    /// How many of the latest days are shown.
    days: usize,
    bar_width: u16,
    /// "YYYY-MM-DD" under each bar, else "MM-DD".
    whole_dates: bool,
}

/// All `span` days with whole dates when they fit `width` columns (bars wide enough for every
/// day's amount, `value` columns, where that fits too; up to [`WIDE_BAR`] where there is room),
/// else with month and day, else as many of the latest days as fit with month and day.
fn fit_days(span: usize, width: u16, value: u16) -> DayFit {
    let fits = |bar: u16| span.saturating_mul(usize::from(bar) + 1) <= usize::from(width) + 1;
    for (bar_width, whole_dates) in [
        (value.max(10), true),
        (10, true),
        (value.max(5), false),
        (5, false),
    ] {
        if fits(bar_width) {
            let room = ((usize::from(width) + 1) / span.max(1)).saturating_sub(1);
            let wide = u16::try_from(room).unwrap_or(u16::MAX).min(WIDE_BAR);
            return DayFit {
                days: span,
                bar_width: bar_width.max(wide),
                whole_dates,
            };
        }
    }
    DayFit {
        days: (usize::from(width) + 1) / 6,
        bar_width: 5,
        whole_dates: false,
    }
}

/// The y axis, one line per row of bars and one for the x axis: `top` at the top, `mid` (if any)
/// halfway, `zero` at the x axis, each right-aligned in `width` columns before the axis line.
fn y_axis_lines(
    top: &str,
    mid: Option<&str>,
    zero: &str,
    rows: u16,
    width: usize,
    t: &Theme,
) -> Vec<Line<'static>> {
    let line = |text: &str, tick: &'static str| {
        Line::from(vec![
            Span::raw(format!("{:>width$}", shorten(text, width))),
            Span::styled(tick, t.style(Role::Muted)),
        ])
    };
    let mut lines: Vec<Line> = (0..rows)
        .map(|row| match (row, mid) {
            (0, _) => line(top, "┤"),
            (r, Some(mid)) if r == rows / 2 => line(mid, "┤"),
            _ => line("", "│"),
        })
        .collect();
    lines.push(line(zero, "└"));
    lines
}

/// The balances of the accounts that sold, as the wallet last read them: one line each.
fn balance_lines(s: &State, data: &EarningsData) -> Vec<String> {
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
        lines.push(format!("{name}: {text}"));
    }
    lines
}

/// `lines` (from [`balance_lines`]), each cut with "…" where it does not fit, the last shown
/// saying how many more there are where not all fit.
fn balance_list(f: &mut Frame, area: Rect, lines: &[String], t: &Theme) {
    let width = usize::from(area.width.saturating_sub(2));
    let room = usize::from(area.height.saturating_sub(2));
    let mut shown: Vec<Line> = lines
        .iter()
        .map(|l| Line::from(shorten(l, width)))
        .collect();
    if shown.len() > room {
        shown.truncate(room.saturating_sub(1));
        let more = lines.len() - shown.len();
        shown.push(muted(shorten(&format!("… and {more} more"), width), t));
    }
    if shown.is_empty() {
        shown.push(muted(shorten("no selling accounts yet", width), t));
    }
    f.render_widget(
        Paragraph::new(shown).block(block("Balances", t, false)),
        area,
    );
}

/// The widths a [`Table`] without a highlight symbol gives `widths` in `area` (borders
/// included), so that cells can be cut with "…" before it cuts them silently.
fn column_widths(widths: &[Constraint], area: Rect) -> Vec<usize> {
    Layout::horizontal(widths.iter().copied())
        .flex(Flex::Start)
        .spacing(1)
        .split(Rect::new(0, 0, area.width.saturating_sub(2), 1))
        .iter()
        .map(|r| usize::from(r.width))
        .collect()
}

/// A table row of `cells`, each cut with "…" to its column's width.
fn fitted_row<S: AsRef<str>>(cells: &[S], widths: &[usize]) -> Row<'static> {
    Row::new(
        cells
            .iter()
            .zip(widths)
            .map(|(c, w)| Cell::from(shorten(c.as_ref(), *w)))
            .collect::<Vec<_>>(),
    )
}

fn listing_table(f: &mut Frame, area: Rect, data: &EarningsData, t: &Theme) {
    if data.earnings.listings.is_empty() {
        f.render_widget(
            Paragraph::new(muted("no listings", t)).block(block("Listings", t, false)),
            area,
        );
        return;
    }
    let constraints = [
        Constraint::Length(4),
        Constraint::Min(10),
        Constraint::Length(5),
        Constraint::Length(14),
        Constraint::Length(7),
        Constraint::Length(8),
        Constraint::Length(10),
    ];
    let widths = column_widths(&constraints, area);
    let rows: Vec<Row> = data
        .earnings
        .listings
        .iter()
        .map(|l| {
            let cells = [
                l.listing.to_string(),
                clean_line(&l.title).into_owned(),
                l.sales.to_string(),
                amount_of(data, l.token, l.revenue),
                l.refunds.to_string(),
                l.disputes.to_string(),
                match l.last_sale {
                    Some((_, Some(time))) => utc_date(time / DAY),
                    Some((block, None)) => format!("block {block}"),
                    None => "-".into(),
                },
            ];
            fitted_row(&cells, &widths)
        })
        .collect();
    let header = fitted_row(
        &[
            "#",
            "title",
            "sales",
            "revenue",
            "refunds",
            "disputes",
            "last sale",
        ],
        &widths,
    )
    .style(t.style(Role::Muted));
    f.render_widget(
        Table::new(rows, constraints)
            .header(header)
            .block(block("Listings", t, false)),
        area,
    );
}

fn recent_list(f: &mut Frame, area: Rect, data: &EarningsData, t: &Theme) {
    let room = area.height.saturating_sub(2) as usize;
    let width = usize::from(area.width.saturating_sub(2));
    let lines: Vec<Line> = data
        .earnings
        .entries
        .iter()
        .rev()
        .take(room)
        .map(|x| {
            let role = match x.kind {
                EntryKind::Sale => Role::Success,
                EntryKind::Refund => Role::Warning,
                EntryKind::Withdrawal => Role::Accent,
            };
            let kind = format!("{:<10} ", x.kind.name());
            // The transaction's hash gives way first, cut with "…".
            let rest = format!(
                "{:>16}  {:<10}  {:#x}",
                amount_of(data, x.token, x.amount),
                match x.time {
                    Some(time) => utc_date(time / DAY),
                    None => format!("block {}", x.block),
                },
                x.tx_hash
            );
            let rest = shorten(&rest, width.saturating_sub(kind.width()));
            Line::from(vec![Span::styled(kind, t.style(role)), Span::raw(rest)])
        })
        .collect();
    let lines = if lines.is_empty() {
        vec![muted("no sales, refunds or withdrawals yet", t)]
    } else {
        lines
    };
    f.render_widget(Paragraph::new(lines).block(block("Recent", t, false)), area);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_fit_with_whole_dates_then_month_and_day_then_the_latest_that_fit() {
        // 3 days of 10 columns and 2 gaps fit 32 columns; wider bars where there is room.
        assert_eq!(
            fit_days(3, 32, 4),
            DayFit {
                days: 3,
                bar_width: 10,
                whole_dates: true
            }
        );
        assert_eq!(fit_days(2, 80, 4).bar_width, WIDE_BAR);
        // An amount wider than a date widens the bars where that fits...
        assert_eq!(fit_days(3, 40, 12).bar_width, 12);
        // ...and is left out of them (not cut) where it does not.
        assert_eq!(fit_days(3, 32, 12).bar_width, 10);
        // "MM-DD" where whole dates do not fit.
        assert_eq!(
            fit_days(6, 35, 4),
            DayFit {
                days: 6,
                bar_width: 5,
                whole_dates: false
            }
        );
        // The latest 6 of 30 days in 36 columns.
        assert_eq!(
            fit_days(30, 36, 4),
            DayFit {
                days: 6,
                bar_width: 5,
                whole_dates: false
            }
        );
        assert_eq!(fit_days(30, 4, 4).days, 0);
    }

    #[test]
    fn bars_are_millionths_of_the_highest() {
        let v = |n: u64| U256::from(n);
        assert_eq!(bar_part(v(5), v(10)), CHART_SCALE / 2);
        assert_eq!(bar_part(v(10), v(10)), CHART_SCALE);
        assert_eq!(bar_part(v(0), v(10)), 0);
        assert_eq!(bar_part(v(3), U256::ZERO), 0);
        assert_eq!(bar_part(U256::MAX, U256::MAX), CHART_SCALE);
        assert_eq!(bar_part(U256::MAX / v(4), U256::MAX), CHART_SCALE / 4);
    }

    #[test]
    fn the_charts_title_has_its_dates_where_they_fit() {
        let days = [(20_780, U256::from(1)), (20_781, U256::from(2))];
        let long = "Earned per day · tUSD · 3 tUSD from 2026-11-23 to 2026-11-24";
        assert_eq!(chart_title("tUSD", "3 tUSD", &days, 80), long);
        assert_eq!(
            chart_title("tUSD", "3 tUSD", &days, 50),
            "Earned per day · tUSD · 3 tUSD in 2 days"
        );
        assert_eq!(
            chart_title("tUSD", "3 tUSD", &days, 20),
            "Earned per day · tU…"
        );
        assert_eq!(
            chart_title("tUSD", "1 tUSD", &days[..1], 80),
            "Earned per day · tUSD · 1 tUSD on 2026-11-23"
        );
    }
}
