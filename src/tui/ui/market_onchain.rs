//! The Market screen's on-chain sections: the section bar, my listings with the purchases
//! waiting for a delivery, browse, my purchases, and the sell and save-to-file forms. Every
//! title, URI and reason in the book was written by a stranger: each goes through `clean`.
use alloy::primitives::{Address, U256};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, List, ListItem, Paragraph, Wrap};
use unicode_width::UnicodeWidthStr;

use super::{block, centered, human_size, input_line, muted, shorten};
use crate::chain::amount;
use crate::market::book::{Listing, Purchase, PurchaseState};
use crate::market::meta::Meta;
use crate::tui::state::{MarketBook, MarketMode, Section, State};
use crate::tui::theme::{Role, Theme};

/// One line naming the sections, the current one highlighted.
pub fn draw_sections(f: &mut Frame, area: Rect, s: &State, t: &Theme) {
    let current = s.market.chain.section;
    let mut spans = Vec::new();
    for (i, sec) in Section::ALL.iter().enumerate() {
        if i > 0 {
            spans.push(Span::styled(" │ ", t.style(Role::Muted)));
        }
        let role = if *sec == current {
            Role::Selection
        } else {
            Role::Muted
        };
        spans.push(Span::styled(format!(" {} ", sec.title()), t.style(role)));
    }
    spans.push(Span::styled("   [ ] switch", t.style(Role::Muted)));
    f.render_widget(
        Paragraph::new(super::fit(Line::from(spans), usize::from(area.width))),
        area,
    );
}

/// Strangers' text (titles, reasons) for one line of the screen.
fn clean(text: &str) -> String {
    crate::sanitize::clean_line(text).into_owned()
}

/// A price in its token's units when the network knows the token.
fn price(s: &State, token: Address, units: U256) -> String {
    if token == Address::ZERO {
        return format!("{} ETH", amount::format(units, 18));
    }
    match s
        .net
        .info
        .as_ref()
        .and_then(|i| i.tokens.iter().find(|t| t.address == token))
    {
        Some(t) => format!("{} {}", amount::format(units, t.decimals), clean(&t.symbol)),
        None => format!("{units} units of {}", token.to_checksum(None)),
    }
}

/// The title of a listing from its metadata, cleaned.
fn title_of(l: &Listing) -> String {
    match Meta::parse(&l.meta) {
        Ok(m) => clean(&m.title),
        Err(_) => "(unreadable metadata)".into(),
    }
}

fn cell(text: &str, width: usize) -> String {
    let text = shorten(text, width);
    let pad = " ".repeat(width.saturating_sub(text.width()));
    format!("{text}{pad}")
}

pub fn draw(f: &mut Frame, area: Rect, s: &State, t: &Theme) {
    let c = &s.market.chain;
    let [body, bottom] = Layout::vertical([
        Constraint::Min(3),
        Constraint::Length(if editing(s) { 3 } else { 1 }),
    ])
    .areas(area);
    match c.market.as_deref() {
        None => {
            let text = match (&c.problem, s.net.info.is_some()) {
                (_, false) => "no network configured: `keybot chain dev`, or `keybot chain add NAME --rpc URL`".to_owned(),
                (Some(why), _) => clean(why),
                (None, _) => "reading the market from the chain…".to_owned(),
            };
            f.render_widget(
                Paragraph::new(muted(text, t))
                    .wrap(Wrap { trim: false })
                    .block(block(c.section.title(), t, true)),
                body,
            );
        }
        Some(m) => match c.section {
            Section::Listings => listings(f, body, s, m, t),
            Section::Browse => browse(f, body, s, m, t),
            Section::Purchases => purchases(f, body, s, m, t),
            Section::Vault => {}
        },
    }
    bottom_line(f, bottom, s, t);
}

fn editing(s: &State) -> bool {
    matches!(
        s.market.mode,
        MarketMode::SaveTo { .. } | MarketMode::Dispute { .. } | MarketMode::Reprice { .. }
    )
}

fn bottom_line(f: &mut Frame, area: Rect, s: &State, t: &Theme) {
    if let MarketMode::SaveTo {
        purchase,
        path,
        saving,
    } = &s.market.mode
    {
        let title = if *saving {
            format!("Saving purchase {purchase}: checking and writing… (Esc closes this line)")
        } else {
            format!(
                "Save purchase {purchase} to a new file (Enter saves, Ctrl-U clears, Esc cancels)"
            )
        };
        f.render_widget(
            Paragraph::new(input_line(path, t, true)).block(block(&title, t, true)),
            area,
        );
        return;
    }
    if let MarketMode::Dispute { purchase, reason } = &s.market.mode {
        f.render_widget(
            Paragraph::new(input_line(reason, t, true)).block(block(
                &format!(
                    "Dispute purchase {purchase}: what is wrong (public, on chain; Enter reviews, Esc cancels)"
                ),
                t,
                true,
            )),
            area,
        );
        return;
    }
    if let MarketMode::Reprice { listing, price } = &s.market.mode {
        f.render_widget(
            Paragraph::new(input_line(price, t, true)).block(block(
                &format!(
                    "New price of listing {listing}, in its token (Enter reviews, Esc cancels)"
                ),
                t,
                true,
            )),
            area,
        );
        return;
    }
    let c = &s.market.chain;
    let keys = match c.section {
        Section::Listings if c.listing_sel.is_some() => {
            "↑/↓ select · p reprice · x delist → review · ↓ deliveries · g sync · ? keys"
        }
        Section::Listings => {
            "↑/↓ select a delivery · a approve → review · ↑ listings · g sync · ? keys"
        }
        Section::Browse => "↑/↓ select · b buy → review · g sync · ? keys",
        Section::Purchases => {
            "↑/↓ select · s save · c challenge · r refund · d dispute · g sync · ? keys"
        }
        Section::Vault => "",
    };
    let state = match (&c.problem, c.market.is_some()) {
        _ if c.syncing => format!("  {} reading the market…", super::spinner(s.now_ms)),
        (Some(why), true) => format!("  (not synced: {})", clean(why)),
        _ => String::new(),
    };
    f.render_widget(
        Paragraph::new(super::fit(
            muted(format!("{keys}{state}"), t),
            usize::from(area.width),
        )),
        area,
    );
}

fn delivery_setting(s: &State) -> String {
    s.settings
        .items
        .iter()
        .find(|i| i.key == crate::service::settings::MARKET_DELIVERY)
        .map(|i| i.value.clone())
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "approve".into())
}

fn listings(f: &mut Frame, area: Rect, s: &State, m: &MarketBook, t: &Theme) {
    let mine = m.mine();
    let pending = m.pending();
    let list_h = (mine.len().max(1) as u16 + 2).min(area.height / 2).max(3);
    let [top, low] = Layout::vertical([Constraint::Length(list_h), Constraint::Min(3)]).areas(area);
    let inner = usize::from(area.width.saturating_sub(2));
    let title_w = inner.saturating_sub(6 + 22 + 9 + 11 + 10).clamp(8, 60);
    let rows: Vec<ListItem> = if mine.is_empty() {
        vec![ListItem::new(muted(
            "no listings yet: s on a consented item of the sale vault sells it",
            t,
        ))]
    } else {
        mine.iter()
            .map(|l| {
                let waiting = pending.iter().filter(|p| p.listing == l.id).count();
                ListItem::new(super::fit(
                    Line::from(vec![
                        Span::styled(format!("{:>5} ", l.id), t.style(Role::Muted)),
                        Span::raw(cell(&title_of(l), title_w)),
                        Span::raw(format!(
                            " {:>20} ",
                            shorten(&price(s, l.token, l.price), 20)
                        )),
                        Span::raw(format!("{:>3} sold ", l.sales)),
                        Span::styled(
                            format!("{:>2} waiting ", waiting),
                            t.style(if waiting > 0 {
                                Role::Warning
                            } else {
                                Role::Muted
                            }),
                        ),
                        Span::styled(
                            if l.active { "active" } else { "delisted" },
                            t.style(if l.active { Role::Success } else { Role::Muted }),
                        ),
                    ]),
                    area.width.saturating_sub(2).into(),
                ))
            })
            .collect()
    };
    let on_listing = s.market.chain.listing_sel;
    let mut ls = ratatui::widgets::ListState::default().with_selected(on_listing);
    f.render_stateful_widget(
        List::new(rows)
            .highlight_style(t.style(Role::Selection))
            .block(block(
                &format!("My listings ({})", mine.len()),
                t,
                on_listing.is_some(),
            )),
        top,
        &mut ls,
    );
    let rows: Vec<ListItem> = pending
        .iter()
        .map(|p| {
            ListItem::new(super::fit(
                Line::from(vec![
                    Span::styled(format!("purchase {:<4} ", p.id), t.style(Role::Accent)),
                    Span::raw(format!("listing {:<4} ", p.listing)),
                    Span::raw(format!(
                        "{:>14}  ",
                        shorten(&price(s, p.token, p.price), 14)
                    )),
                    Span::styled(
                        format!("by {}  ", short_address(&p.buyer)),
                        t.style(Role::Muted),
                    ),
                    Span::raw(deadline(m.now, p.deadline)),
                ]),
                area.width.saturating_sub(2).into(),
            ))
        })
        .collect();
    let title = format!(
        "Waiting for delivery ({}) · market.delivery = {}",
        pending.len(),
        delivery_setting(s)
    );
    if rows.is_empty() {
        return empty_section(f, low, &title, "no purchase is waiting for its key", t);
    }
    if s.market.chain.listing_sel.is_some() {
        // The selection is up on the listings.
        f.render_widget(List::new(rows).block(block(&title, t, false)), low);
        return;
    }
    super::selectable_list(f, low, rows, s.market.chain.pending_sel, &title, t);
}

/// A section with no rows: its title, and instead of the rows what there is to do.
fn empty_section(f: &mut Frame, area: Rect, title: &str, why: &str, t: &Theme) {
    f.render_widget(
        Paragraph::new(muted(why, t)).block(block(title, t, true)),
        area,
    );
}

fn short_address(a: &alloy::primitives::Address) -> String {
    let full = a.to_checksum(None);
    format!("{}…{}", &full[..6], &full[full.len() - 4..])
}

/// When a deadline is, from the chain's clock.
fn deadline(now: u64, deadline: u64) -> String {
    if deadline > now {
        let left = deadline - now;
        format!("{} h {:02} min left", left / 3600, left % 3600 / 60)
    } else {
        "deadline passed".into()
    }
}

fn browse(f: &mut Frame, area: Rect, s: &State, m: &MarketBook, t: &Theme) {
    let offers = m.offers();
    let title = format!("Listings on the market ({})", offers.len());
    if offers.is_empty() {
        return empty_section(f, area, &title, "no active listings", t);
    }
    let inner = usize::from(area.width.saturating_sub(2));
    let wide = inner >= 120;
    let title_w = if wide {
        36
    } else {
        inner.saturating_sub(6 + 16 + 10 + 1).clamp(8, 40)
    };
    let rows: Vec<ListItem> = offers
        .iter()
        .map(|l| offer_row(s, m, l, title_w, wide, t))
        .collect();
    let [list, detail] = Layout::vertical([
        Constraint::Min(3),
        Constraint::Length(if wide { 0 } else { 4 }),
    ])
    .areas(area);
    super::selectable_list(f, list, rows, s.market.chain.browse_sel, &title, t);
    if !wide && let Some(l) = offers.get(s.market.chain.browse_sel) {
        offer_detail(f, detail, m, l, t);
    }
}

/// What a listing's metadata says was removed ("2 email, 1 phone"); empty when nothing was.
fn removed_text(meta: &Meta) -> String {
    meta.redactions
        .iter()
        .map(|(k, n)| format!("{n} {}", clean(k)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A row of browse: id, title, price and size; on a wide screen the seller's record and what
/// was removed too (a narrow one shows them under the list, for the selected row).
fn offer_row(
    s: &State,
    m: &MarketBook,
    l: &Listing,
    title_w: usize,
    wide: bool,
    t: &Theme,
) -> ListItem<'static> {
    let meta = Meta::parse(&l.meta).ok();
    let size = meta
        .as_ref()
        .map_or("?".into(), |m| human_size(m.bytes as usize));
    let mut spans = vec![
        Span::styled(format!("{:>5} ", l.id), t.style(Role::Muted)),
        Span::raw(cell(&title_of(l), title_w)),
        Span::raw(format!(
            " {:>15} ",
            shorten(&price(s, l.token, l.price), 15)
        )),
        Span::styled(format!("{size:>9}"), t.style(Role::Muted)),
    ];
    if wide {
        let record = m.book.seller_record(l.seller);
        let removed = meta
            .as_ref()
            .map(removed_text)
            .filter(|r| !r.is_empty())
            .unwrap_or_else(|| "nothing removed".into());
        let seller = if m.own.contains(&l.seller) {
            "(you)".to_owned()
        } else {
            short_address(&l.seller)
        };
        spans.push(Span::styled(
            format!("  seller {seller}: {}", record_text(m, l.seller)),
            t.style(if record.disputes > 0 || record.proven_wrong > 0 {
                Role::Warning
            } else {
                Role::Muted
            }),
        ));
        spans.push(Span::raw(format!("  removed: {}", shorten(&removed, 30))));
    }
    ListItem::new(Line::from(spans))
}

/// Under a narrow browse list: the selected listing's seller, its record and what was removed.
fn offer_detail(f: &mut Frame, area: Rect, m: &MarketBook, l: &Listing, t: &Theme) {
    let record = m.book.seller_record(l.seller);
    let removed = Meta::parse(&l.meta)
        .map(|meta| removed_text(&meta))
        .unwrap_or_default();
    let lines = vec![
        Line::from(format!(
            "seller {}: {}, {} refunded",
            short_address(&l.seller),
            record_text(m, l.seller),
            record.refunds,
        )),
        Line::from(format!(
            "removed: {}",
            if removed.is_empty() {
                "nothing".into()
            } else {
                removed
            }
        )),
    ];
    f.render_widget(
        Paragraph::new(lines).block(block("Selected", t, false)),
        area,
    );
}

/// A seller's record as browse shows it: deliveries, then what went wrong, only when something
/// did: keys a challenge proved wrong, and disputes as this client checked them.
fn record_text(m: &MarketBook, seller: Address) -> String {
    let r = m.book.seller_record(seller);
    let mut text = format!("{} delivered", r.deliveries);
    if r.proven_wrong > 0 {
        text.push_str(&format!(", {} wrong keys refunded", r.proven_wrong));
    }
    if r.disputes > 0 {
        text.push_str(&format!(
            ", {} disputed ({} proven, {} refuted)",
            r.disputes,
            m.proven_disputes(seller),
            m.refuted_disputes(seller)
        ));
    }
    text
}

/// A purchase's state as the buyer reads it.
fn status(m: &MarketBook, p: &Purchase) -> (String, Role) {
    match p.state {
        PurchaseState::Paid if m.refundable(p) => {
            ("deadline passed: r refunds".into(), Role::Warning)
        }
        PurchaseState::Paid => (
            format!("waiting, {}", deadline(m.now, p.deadline)),
            Role::Muted,
        ),
        PurchaseState::Delivered if p.disputed => (
            format!(
                "disputed: {}",
                clean(p.dispute_reason.as_deref().unwrap_or(""))
            ),
            Role::Error,
        ),
        PurchaseState::Delivered if m.challengeable(p) => (
            format!(
                "delivered: s saves · challengeable until {}",
                crate::market::earnings::utc_time(p.settles_at)
            ),
            Role::Success,
        ),
        PurchaseState::Delivered => ("delivered: s saves to a file".into(), Role::Success),
        PurchaseState::Refunded if p.proven_wrong.is_some() => {
            ("key proven wrong: refunded".into(), Role::Warning)
        }
        PurchaseState::Refunded => ("refunded".into(), Role::Muted),
    }
}

fn purchases(f: &mut Frame, area: Rect, s: &State, m: &MarketBook, t: &Theme) {
    let mine = m.purchases();
    let title = format!("My purchases ({})", mine.len());
    if mine.is_empty() {
        return empty_section(
            f,
            area,
            &title,
            "no purchases yet: b in Browse buys a listing",
            t,
        );
    }
    let inner = usize::from(area.width.saturating_sub(2));
    let title_w = inner.saturating_sub(6 + 17 + 29).clamp(8, 40);
    let rows: Vec<ListItem> = mine
        .iter()
        .map(|p| {
            let name = m
                .book
                .listings
                .get(&p.listing)
                .map(title_of)
                .unwrap_or_else(|| format!("listing {}", p.listing));
            let (text, role) = status(m, p);
            // The status takes what is left of the row, cut with "…" (the highlight marks
            // nothing more: no symbol column).
            let room = inner.saturating_sub(6 + title_w + 17);
            ListItem::new(super::fit(
                Line::from(vec![
                    Span::styled(format!("{:>5} ", p.id), t.style(Role::Muted)),
                    Span::raw(cell(&name, title_w)),
                    Span::raw(format!(
                        " {:>15} ",
                        shorten(&price(s, p.token, p.price), 15)
                    )),
                    Span::styled(shorten(&text, room), t.style(role)),
                ]),
                area.width.saturating_sub(2).into(),
            ))
        })
        .collect();
    super::selectable_list(f, area, rows, s.market.chain.purchase_sel, &title, t);
}

/// The sell form over the vault.
pub fn sell_form(f: &mut Frame, area: Rect, s: &State, t: &Theme) {
    let MarketMode::Sell { id, price, token } = &s.market.mode else {
        return;
    };
    let token = s.net.sell_token(*token);
    let lines = vec![
        Line::from(format!(
            "List item {id} exactly as its consented preview, encrypted under a fresh key."
        )),
        Line::from(""),
        Line::from(vec![
            Span::styled("price  ", t.style(Role::Muted)),
            Span::raw(""),
        ]),
        input_line(price, t, true),
        Line::from(vec![
            Span::styled("token  ", t.style(Role::Muted)),
            Span::styled(clean(&token.symbol), t.style(Role::Accent)),
            Span::styled("  (Tab: next token)", t.style(Role::Muted)),
        ]),
        Line::from(""),
        muted(
            "Enter: the key is kept here, then the listing is reviewed before it is signed. Esc cancels.",
            t,
        ),
    ];
    let r = centered(area, 72, 11);
    f.render_widget(Clear, r);
    f.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(block("Sell", t, true)),
        r,
    );
}
