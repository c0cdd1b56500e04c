//! The Earnings screen drawn into ratatui's TestBackend at 80x24 and 160x48, compared with
//! reviewed snapshots (insta): before any sale, after sales in two tokens over several days (the
//! chart), a refund, a dispute and a withdrawal, and nine days of different amounts in one token
//! (the chart's axes, also checked line by line). Entering the screen asks for a sync.
use crate::common::screen;

use std::collections::BTreeMap;

use alloy::primitives::{Address, B256, Bytes, U256};
use keybot::chain::Token;
use keybot::chain::balance::AccountBalance;
use keybot::market::earnings::{DAY, Earnings};
use keybot::market::events::{Located, MarketEvent};
use keybot::tui::action::Action;
use keybot::tui::effect::Effect;
use keybot::tui::screens::earnings::{EarningsAction, EarningsEffect};
use keybot::tui::state::*;
use keybot::tui::update::update;
use screen::render;

const SELLER_0: &str = "0x9858EfFD232B4033E47d90003D41EC34EcaEda94";
const SELLER_1: &str = "0x6Fac4D18c912343BF86fa7049364Dd4E424Ab9C0";
const BUYER: Address = Address::repeat_byte(0xb0);
const TUSD: Address = Address::repeat_byte(0x70);
/// 2026-11-20, a fixed day so the snapshots do not move.
const START: u64 = 20_777 * DAY;

fn both(name: &str, s: &State) {
    insta::assert_snapshot!(format!("{name}_80x24"), render(s, 80, 24));
    insta::assert_snapshot!(format!("{name}_160x48"), render(s, 160, 48));
}

fn tusd() -> Token {
    Token {
        symbol: "tUSD".into(),
        address: TUSD,
        decimals: 6,
    }
}

fn sellers() -> [Address; 2] {
    [SELLER_0.parse().unwrap(), SELLER_1.parse().unwrap()]
}

/// Unlocked on the Earnings screen of network "local"; entering asked for one sync.
fn on_earnings() -> State {
    let mut s = State::new(true);
    let [a0, a1] = sellers();
    update(
        &mut s,
        Action::WalletReady {
            accounts: vec![(0, a0, "shop".into()), (1, a1, String::new())],
        },
    );
    s.net.info = Some(NetInfo {
        name: "local".into(),
        chain_id: 31337,
        tokens: vec![tusd()],
    });
    s.net.status = NetStatus::Online { block: 120 };
    s.net.balances = vec![
        AccountBalance {
            address: a0,
            eth: U256::from(9_990_000_000_000_000_000u128),
            tokens: vec![(tusd(), U256::from(12_500_000u64))],
        },
        AccountBalance {
            address: a1,
            eth: U256::from(100_000_000_000_000_000u128),
            tokens: vec![(tusd(), U256::from(7_000_000u64))],
        },
    ];
    let fx = update(&mut s, Action::Screen(Screen::Earnings));
    assert!(
        matches!(fx.as_slice(), [Effect::Earnings(EarningsEffect::Sync)]),
        "{fx:?}"
    );
    s
}

fn loaded(s: &mut State, earnings: Earnings) {
    let mut tokens = vec![Token {
        symbol: "ETH".into(),
        address: Address::ZERO,
        decimals: 18,
    }];
    tokens.push(tusd());
    update(
        s,
        Action::Earnings(EarningsAction::Loaded(Ok(Box::new(EarningsData {
            earnings,
            tokens,
        })))),
    );
}

fn at(block: u64, event: MarketEvent) -> Located {
    Located {
        block,
        tx_hash: B256::repeat_byte(block as u8),
        log_index: 0,
        event,
    }
}

fn listed(id: u64, seller: Address, token: Address, title: &str) -> MarketEvent {
    MarketEvent::Listed {
        listing: id,
        seller,
        token,
        price: U256::from(1),
        content_hash: B256::repeat_byte(1),
        key_commit: B256::repeat_byte(2),
        data: Bytes::from_static(b"KBM1"),
        uri: String::new(),
        meta: format!(
            r#"{{"v":1,"title":"{title}","tags":[],"bytes":10,"redactions":{{}},"type":"text/plain"}}"#
        ),
    }
}

fn bought(id: u64, listing: u64, seller: Address, token: Address, price: U256) -> MarketEvent {
    MarketEvent::Purchased {
        purchase: id,
        listing,
        buyer: BUYER,
        seller,
        token,
        price,
        buyer_key: Bytes::from(vec![2u8; 64]),
        deadline: 0,
    }
}

/// A delivery at `time`, settling 3 days later (MARKET.md v2).
fn delivered(id: u64, seller: Address, time: u64) -> MarketEvent {
    MarketEvent::Delivered {
        purchase: id,
        seller,
        delivery: Bytes::from(vec![4u8; 96]),
        settles_at: time + 3 * DAY,
    }
}

/// Sales over six days in ETH (account 0) and tUSD (account 1), a refund, a dispute and a
/// withdrawal, one block per event.
fn two_tokens() -> Earnings {
    let [a0, a1] = sellers();
    let eth = |milli: u64| U256::from(milli) * U256::from(10u64).pow(U256::from(15u64));
    let usd = |n: u64| U256::from(n * 1_000_000);
    let mut events = vec![
        at(1, listed(1, a0, Address::ZERO, "Flat viewing notes")),
        at(2, listed(2, a1, TUSD, "Recipes, redacted")),
    ];
    let mut times = BTreeMap::new();
    let mut block = 3;
    let mut purchase = 1;
    for day in 0..6u64 {
        for (listing, seller, token, price) in [
            (1, a0, Address::ZERO, eth(10 * (day + 1))),
            (2, a1, TUSD, usd(5)),
        ] {
            if (day + listing) % 3 == 0 {
                continue;
            }
            events.push(at(block, bought(purchase, listing, seller, token, price)));
            times.insert(block, START + day * DAY + 3_600);
            block += 1;
            let time = START + day * DAY + 7_200;
            events.push(at(block, delivered(purchase, seller, time)));
            times.insert(block, time);
            block += 1;
            purchase += 1;
        }
    }
    events.push(at(block, bought(purchase, 2, a1, TUSD, usd(5))));
    times.insert(block, START + 6 * DAY);
    block += 1;
    events.push(at(
        block,
        MarketEvent::Refunded {
            purchase,
            buyer: BUYER,
            token: TUSD,
            amount: usd(5),
        },
    ));
    times.insert(block, START + 6 * DAY + 60);
    block += 1;
    events.push(at(
        block,
        MarketEvent::Disputed {
            purchase: 1,
            buyer: BUYER,
            secret: None,
            reason: "does not open".into(),
        },
    ));
    block += 1;
    events.push(at(
        block,
        MarketEvent::Withdrawn {
            seller: a1,
            token: TUSD,
            amount: usd(10),
        },
    ));
    times.insert(block, START + 6 * DAY + 120);
    block += 1;
    events.push(at(
        block,
        bought(purchase + 1, 1, a0, Address::ZERO, eth(70)),
    ));
    times.insert(block, START + 6 * DAY + 180);
    Earnings::compute(&events, &times, &sellers(), block, START + 6 * DAY + 180)
}

#[test]
fn earnings_screen_before_any_sale() {
    let mut s = on_earnings();
    both("earnings_reading", &s);
    loaded(
        &mut s,
        Earnings::compute(&[], &BTreeMap::new(), &sellers(), 120, START),
    );
    let screen = render(&s, 80, 24);
    assert!(screen.contains("no sales yet"), "{screen}");
    both("earnings_no_sales", &s);
}

#[test]
fn earnings_screen_with_sales_in_two_tokens() {
    let mut s = on_earnings();
    let e = two_tokens();
    assert_eq!(e.tokens.len(), 2);
    // ETH was delivered on days 0, 1, 3 and 4: the first two settled on days 3 and 4, the
    // last two are still in their challenge window on day 6.
    assert_eq!(e.daily[&Address::ZERO].len(), 2);
    let milli = U256::from(10u64).pow(U256::from(15u64));
    let eth = e.token(Address::ZERO).unwrap();
    assert_eq!(eth.earned, U256::from(30u64) * milli);
    assert_eq!(eth.settling, U256::from(90u64) * milli);
    loaded(&mut s, e);
    let wide = render(&s, 160, 48);
    for needle in [
        "Earned per day · ETH",
        "Flat viewing notes",
        "withdrawal",
        "refund",
    ] {
        assert!(wide.contains(needle), "{needle} missing:\n{wide}");
    }
    both("earnings_two_tokens", &s);
    // At 120 columns no title or balance is cut.
    let mid = render(&s, 120, 30);
    for needle in [
        "Earnings · local · block 23 ",
        "Earned per day · ETH · 0.03 ETH from 2026-11-23 to 2026-11-24 ",
        "account 0: 9.99 ETH · 12.5 tUSD",
        "account 1: 0.1 ETH · 7 tUSD",
    ] {
        assert!(mid.contains(needle), "{needle} missing:\n{mid}");
    }
    // The chart follows the selected token.
    update(&mut s, Action::Down);
    let wide = render(&s, 160, 48);
    assert!(wide.contains("Earned per day · tUSD"), "{wide}");
    both("earnings_two_tokens_tusd", &s);
}

/// tUSD sales (account 1) delivered on consecutive days from START, `cents[d]` hundredths of a
/// tUSD on day d (none where 0); each is the seller's 3 days after its delivery, and all of them
/// have settled by `now`.
fn tusd_days(cents: &[u64]) -> Earnings {
    let [_, a1] = sellers();
    let mut events = vec![at(1, listed(1, a1, TUSD, "Daily notes"))];
    let mut times = BTreeMap::new();
    let mut block = 2;
    let mut purchase = 1;
    for (day, c) in (0u64..).zip(cents) {
        if *c == 0 {
            continue;
        }
        let price = U256::from(c * 10_000);
        events.push(at(block, bought(purchase, 1, a1, TUSD, price)));
        times.insert(block, START + day * DAY + 3_600);
        block += 1;
        let time = START + day * DAY + 7_200;
        events.push(at(block, delivered(purchase, a1, time)));
        times.insert(block, time);
        block += 1;
        purchase += 1;
    }
    let now = START + (cents.len() as u64 + 4) * DAY;
    Earnings::compute(&events, &times, &sellers(), block, now)
}

/// The chart's rows at `w`×`h`: from its title's row to its x axis (the row with "└").
fn chart_rows(s: &State, w: u16, h: u16) -> Vec<String> {
    let screen = render(s, w, h);
    let lines: Vec<String> = screen.lines().map(str::to_owned).collect();
    let start = lines
        .iter()
        .position(|l| l.contains("Earned per day"))
        .unwrap_or_else(|| panic!("no chart:\n{screen}"));
    let end = lines[start..]
        .iter()
        .position(|l| l.contains('└') && !l.starts_with('└'))
        .unwrap_or_else(|| panic!("no x axis:\n{screen}"));
    lines[start..=start + end].to_vec()
}

/// Nine days of tUSD with different amounts (one without any): the y axis is in tUSD with the
/// highest day (20) at the top and half of it midway, the x axis has the days' dates. 80
/// columns show the latest six with month and day, 160 all nine with the year.
#[test]
fn the_chart_has_amounts_on_its_y_axis_and_dates_on_its_x_axis() {
    let cents = [500, 1_250, 0, 300, 2_000, 725, 150, 1_500, 900];
    let mut s = on_earnings();
    loaded(&mut s, tusd_days(&cents));
    // Earned 3 days after each delivery: the first day with earnings is START's day + 3.
    let first = START / DAY + 3;
    let last = first + cents.len() as u64 - 1;
    let date = |day: u64| keybot::market::earnings::utc_date(day);

    let wide = chart_rows(&s, 160, 48);
    let (top, axis) = (&wide[1], &wide[wide.len() - 1]);
    assert!(top.contains("20 tUSD┤"), "top of the y axis: {top}");
    assert!(
        wide.iter().any(|l| l.contains("10 tUSD┤")),
        "middle of the y axis:\n{}",
        wide.join("\n")
    );
    assert!(axis.contains("0 tUSD└"), "x axis: {axis}");
    for day in first..=last {
        assert!(axis.contains(&date(day)), "{} missing: {axis}", date(day));
    }
    // Each day's amount in its bar.
    for amount in ["12.5", "7.25", "1.5", "15", "9"] {
        assert!(
            wide.iter().any(|l| l.contains(amount)),
            "{amount} missing:\n{}",
            wide.join("\n")
        );
    }
    let title = format!(
        "Earned per day · tUSD · 73.25 tUSD from {} to {}",
        date(first),
        date(last)
    );
    assert!(wide[0].contains(&title), "{title} missing: {}", wide[0]);

    // 80 columns: the latest six days, month and day; the y axis still tops at 20.
    let narrow = chart_rows(&s, 80, 24);
    let (top, axis) = (&narrow[1], &narrow[narrow.len() - 1]);
    assert!(top.contains("20 tUSD┤"), "top of the y axis: {top}");
    let short = |day: u64| date(day)[5..].to_owned();
    assert!(axis.contains(&short(last - 5)), "first shown day: {axis}");
    assert!(axis.contains(&short(last)), "last day: {axis}");
    assert!(!axis.contains(&short(last - 6)), "one day too many: {axis}");
    assert!(
        axis.contains("└…"),
        "older days left out without a …: {axis}"
    );
    let title = "Earned per day · tUSD · 55.75 tUSD in 6 days";
    assert!(narrow[0].contains(title), "{title} missing: {}", narrow[0]);
    both("earnings_tusd_days", &s);
}

/// A token's symbol comes from its contract: escape sequences and bidi controls are removed
/// before it reaches the chart, and a long one is cut with "…" on the y axis.
#[test]
fn the_charts_labels_have_the_symbol_cleaned_and_cut() {
    let mut s = on_earnings();
    let gold = Token {
        symbol: "\u{1b}[2JGOLD\u{202e}COIN-OF-THE-REALM".into(),
        address: TUSD,
        decimals: 6,
    };
    update(
        &mut s,
        Action::Earnings(EarningsAction::Loaded(Ok(Box::new(EarningsData {
            earnings: tusd_days(&[500, 2_000]),
            tokens: vec![gold],
        })))),
    );
    for (w, h) in [(80, 24), (160, 48)] {
        let screen = render(&s, w, h);
        assert!(
            !screen.contains('\u{1b}') && !screen.contains('\u{202e}') && !screen.contains("[2J"),
            "{screen}"
        );
        let chart = chart_rows(&s, w, h);
        assert!(chart[1].contains("20 GOLDCOI…┤"), "{}", chart.join("\n"));
    }
    let wide = chart_rows(&s, 160, 48);
    assert!(
        wide[0].contains("Earned per day · GOLDCOIN-OF-THE-REALM · 25 GOLDCOIN-OF-THE-REALM"),
        "{}",
        wide[0]
    );
}
