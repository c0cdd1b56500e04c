//! The Market screen's on-chain sections through `update` alone: the book is made by hand, as
//! the chain thread's sync would hand it over, so these tests state what each key does with it.
use std::collections::BTreeMap;

use alloy::primitives::{Address, B256, Bytes, U256};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::action::{Action, Edit};
use super::effect::Effect;
use super::keymap;
use super::market_update_tests::sample_item;
use super::screens::market::{MarketAction, MarketEffect};
use super::screens::market_onchain::{MarketBook, MarketTx, SYNC_MS, Section};
use super::screens::wallet::WalletAction;
use super::state::*;
use super::update::update;
use crate::chain::ChainError;
use crate::market::book::{Book, Listing, Purchase, PurchaseState};
use crate::service::vault::ConsentState;
use crate::store::Consent;

fn me() -> Address {
    "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
        .parse()
        .unwrap()
}

fn stranger() -> Address {
    Address::repeat_byte(0x42)
}

pub(crate) fn listing(id: u64, seller: Address, title: &str) -> Listing {
    Listing {
        id,
        seller,
        token: Address::ZERO,
        price: U256::from(5u64) * U256::from(10u64).pow(U256::from(15u64)),
        content_hash: B256::repeat_byte(id as u8),
        key_commit: B256::repeat_byte(0xcc),
        data: Bytes::from_static(b"KBM1..."),
        uri: String::new(),
        meta: format!(
            r#"{{"v":1,"title":{},"tags":[],"bytes":2048,"redactions":{{"email":2,"seed_phrase":1}},"type":"text/plain"}}"#,
            serde_json::to_string(title).unwrap()
        ),
        active: true,
        block: 10 + id,
        tx_hash: B256::repeat_byte(0x10 + id as u8),
        sales: 0,
    }
}

pub(crate) fn purchase(
    id: u64,
    l: &Listing,
    buyer: Address,
    deadline: u64,
    state: PurchaseState,
) -> Purchase {
    Purchase {
        id,
        listing: l.id,
        buyer,
        seller: l.seller,
        token: l.token,
        price: l.price,
        buyer_key: Bytes::from(vec![2; 64]),
        deadline,
        state,
        delivery: (state == PurchaseState::Delivered).then(|| Bytes::from(vec![9; 96])),
        settles_at: if state == PurchaseState::Delivered {
            SETTLES_AT
        } else {
            0
        },
        settled_on_chain: false,
        proven_wrong: None,
        disputed: false,
        dispute_reason: None,
        dispute_secret: None,
        block: 20 + id,
        tx_hash: B256::repeat_byte(0x20 + id as u8),
    }
}

/// The waiting purchases' deadline in [`sample_market`].
pub(crate) const DEADLINE: u64 = 10_000;
/// When the delivered purchase's challenge window closes.
pub(crate) const SETTLES_AT: u64 = 5_000;

/// My listing 1 bought by a stranger (purchase 1, waiting), a stranger's listing 2 on offer, my
/// purchases of it: 2 waiting (deadline 10000), 3 delivered (challengeable until 5000), 4
/// refunded. The chain's clock: `now` (1000 in most tests).
pub(crate) fn sample_market(now: u64) -> MarketBook {
    let mine = listing(1, me(), "My notes");
    let theirs = listing(2, stranger(), "Recipes\u{1b}[31m from a stranger");
    let mut purchases = BTreeMap::new();
    for p in [
        purchase(1, &mine, stranger(), DEADLINE, PurchaseState::Paid),
        purchase(2, &theirs, me(), DEADLINE, PurchaseState::Paid),
        purchase(3, &theirs, me(), 900, PurchaseState::Delivered),
        purchase(4, &theirs, me(), 500, PurchaseState::Refunded),
    ] {
        purchases.insert(p.id, p);
    }
    let mut listings = BTreeMap::new();
    listings.insert(1, mine);
    listings.insert(2, theirs);
    MarketBook {
        book: Book {
            listings,
            purchases,
            withdrawals: vec![],
        },
        own: vec![me()],
        now,
        chain_id: 31337,
        market: Address::repeat_byte(0x4d),
        disputes: BTreeMap::new(),
        listed: BTreeMap::new(),
    }
}

/// Unlocked with account 0 (`me`) on a local network.
fn unlocked() -> State {
    let mut s = State::new(true);
    update(
        &mut s,
        Action::WalletReady {
            accounts: vec![(0, me(), String::new())],
        },
    );
    update(
        &mut s,
        Action::Wallet(WalletAction::NetworkConfigured(Some(NetInfo {
            name: "local".into(),
            chain_id: 31337,
            tokens: vec![],
        }))),
    );
    s
}

fn state(now: u64) -> State {
    let mut s = unlocked();
    update(&mut s, Action::Screen(Screen::Market));
    update(
        &mut s,
        Action::Market(MarketAction::Synced(Ok(Box::new(sample_market(now))))),
    );
    s
}

fn key(s: &State, c: char) -> Action {
    keymap::key(s, KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)).unwrap()
}

fn press(s: &mut State, c: char) -> Vec<Effect> {
    let a = key(s, c);
    update(s, a)
}

fn to_section(s: &mut State, section: Section) {
    while s.market.chain.section != section {
        assert!(press(s, ']').is_empty());
    }
}

fn error(s: &State) -> Option<&str> {
    match &s.message {
        Some((Level::Error, m)) => Some(m),
        _ => None,
    }
}

/// The effect asks for a review and the wallet waits for it under the same id.
fn prepared(s: &State, fx: Vec<Effect>) -> MarketTx {
    let [Effect::Market(MarketEffect::Prepare { id, tx })] = <[Effect; 1]>::try_from(fx).unwrap()
    else {
        panic!("no prepare effect")
    };
    assert_eq!(s.screen, Screen::Wallet, "the review is the wallet's");
    match &s.wallet.mode {
        WalletMode::Send(flow) => assert_eq!(flow.step, SendStep::Preparing { id }),
        other => panic!("{other:?}"),
    }
    *tx
}

#[test]
fn the_sections_switch_with_brackets_round_the_end() {
    let mut s = state(1000);
    assert_eq!(s.market.chain.section, Section::Vault);
    assert!(matches!(key(&s, ']'), Action::Command(']')));
    press(&mut s, ']');
    assert_eq!(s.market.chain.section, Section::Listings);
    press(&mut s, '[');
    press(&mut s, '[');
    assert_eq!(s.market.chain.section, Section::Purchases);
    // Tab and the digits stay the app's.
    assert_eq!(s.screen, Screen::Market);
}

#[test]
fn buy_opens_a_review_of_the_buy_and_an_own_listing_is_refused() {
    let mut s = state(1000);
    to_section(&mut s, Section::Browse);
    // Newest first: the stranger's listing 2, then mine.
    let a = update(&mut s, Action::Down);
    assert!(a.is_empty());
    assert!(press(&mut s, 'b').is_empty());
    assert!(error(&s).unwrap().contains("your own"), "{:?}", s.message);
    assert_eq!(s.screen, Screen::Market);
    update(&mut s, Action::Up);
    let fx = buy_again(&mut s);
    match prepared(&s, fx) {
        MarketTx::Buy {
            listing,
            buyer,
            again,
        } => {
            assert_eq!(listing.id, 2);
            assert_eq!(buyer, me());
            assert!(again, "the user said yes to a second copy");
        }
        other => panic!("{other:?}"),
    }
}

/// `b` on a listing the user already bought (purchase 2 of listing 2) asks first, as `market
/// buy` refuses without --again; y opens the review of a second purchase.
fn buy_again(s: &mut State) -> Vec<Effect> {
    assert!(press(s, 'b').is_empty());
    match &s.overlay {
        Some(Overlay::BuyAgain {
            listing, purchase, ..
        }) => assert_eq!((listing.id, *purchase), (2, 2)),
        other => panic!("{other:?}"),
    }
    assert!(matches!(key(s, 'y'), Action::Confirm(true)));
    let fx = update(s, Action::Confirm(true));
    assert_eq!(s.overlay, None);
    fx
}

/// The chain thread's answer to the review the wallet waits for.
fn review_ready(
    s: &mut State,
    review: Result<Box<crate::chain::send::Review>, crate::chain::ChainError>,
) {
    let id = match &s.wallet.mode {
        WalletMode::Send(flow) => match flow.step {
            SendStep::Preparing { id } => id,
            ref other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    };
    update(
        s,
        Action::Wallet(WalletAction::ReviewReady {
            id,
            review,
            plan: None,
        }),
    );
}

#[test]
fn backing_out_of_a_market_review_returns_to_the_market_not_the_send_form() {
    let mut s = state(1000);
    to_section(&mut s, Section::Browse);
    let back_in_the_market = |s: &State| {
        assert_eq!(s.screen, Screen::Market);
        assert_eq!(s.wallet.mode, WalletMode::Accounts);
        assert_eq!(s.market.chain.section, Section::Browse);
    };
    // Esc while the review is being built.
    let fx = buy_again(&mut s);
    prepared(&s, fx);
    update(&mut s, Action::Back);
    back_in_the_market(&s);
    // Esc on the review itself.
    let fx = buy_again(&mut s);
    prepared(&s, fx);
    review_ready(
        &mut s,
        Ok(super::chain_update_tests::review(stranger(), vec![])),
    );
    assert!(matches!(
        &s.wallet.mode,
        WalletMode::Send(flow) if matches!(flow.step, SendStep::Review { .. })
    ));
    assert!(update(&mut s, Action::Back).is_empty(), "nothing is signed");
    back_in_the_market(&s);
    // A review that cannot be built is said there too.
    let fx = buy_again(&mut s);
    prepared(&s, fx);
    review_ready(
        &mut s,
        Err(crate::chain::ChainError::Offline {
            rpc: "http://127.0.0.1:8545".into(),
            reason: "Connection refused (os error 111)".into(),
        }),
    );
    back_in_the_market(&s);
    assert!(
        error(&s).unwrap().contains("Connection refused"),
        "{:?}",
        s.message
    );
}

#[test]
fn approve_delivery_produces_the_deliver_intent_for_the_waiting_purchase() {
    let mut s = state(1000);
    to_section(&mut s, Section::Listings);
    let fx = press(&mut s, 'a');
    match prepared(&s, fx) {
        MarketTx::Deliver { purchase } => {
            assert_eq!(purchase.id, 1);
            assert_eq!(purchase.seller, me());
        }
        other => panic!("{other:?}"),
    }
    // Within the last hour before the deadline (and after it) nothing is offered: a late
    // delivery reverts, and a pending one shows the key.
    for now in [
        DEADLINE - crate::service::market::DELIVERY_MARGIN,
        DEADLINE + 1,
    ] {
        let mut s = state(now);
        to_section(&mut s, Section::Listings);
        assert!(press(&mut s, 'a').is_empty());
        assert_eq!(
            error(&s),
            Some("no purchase is waiting for a delivery"),
            "at {now}"
        );
    }
}

#[test]
fn refund_is_offered_only_after_the_deadline() {
    let mut s = state(1000);
    to_section(&mut s, Section::Purchases);
    // Newest first: 4 refunded, 3 delivered, 2 waiting.
    update(&mut s, Action::Down);
    update(&mut s, Action::Down);
    assert!(press(&mut s, 'r').is_empty());
    assert!(error(&s).unwrap().contains("after its deadline"));
    assert_eq!(s.screen, Screen::Market);
    // The chain's clock passes the deadline: the next sync makes it refundable.
    update(
        &mut s,
        Action::Market(MarketAction::Synced(Ok(Box::new(sample_market(
            DEADLINE + 1,
        ))))),
    );
    let fx = press(&mut s, 'r');
    match prepared(&s, fx) {
        MarketTx::Refund { purchase } => assert_eq!(purchase.id, 2),
        other => panic!("{other:?}"),
    }
    // A delivered one is never refunded.
    let mut s = state(5000);
    to_section(&mut s, Section::Purchases);
    update(&mut s, Action::Down);
    assert!(press(&mut s, 'r').is_empty());
    assert!(error(&s).unwrap().contains("delivered"));
}

#[test]
fn challenge_is_offered_for_a_delivery_until_its_window_closes() {
    let mut s = state(1000);
    to_section(&mut s, Section::Purchases);
    // Newest first: 4 refunded, 3 delivered, 2 waiting.
    assert!(press(&mut s, 'c').is_empty());
    assert!(
        error(&s).unwrap().contains("purchase 4 is not delivered"),
        "{:?}",
        s.message
    );
    update(&mut s, Action::Down);
    let fx = press(&mut s, 'c');
    match prepared(&s, fx) {
        MarketTx::Challenge { purchase } => assert_eq!(purchase.id, 3),
        other => panic!("{other:?}"),
    }
    // The window closed: the payment is the seller's, nothing is offered.
    let mut s = state(SETTLES_AT);
    to_section(&mut s, Section::Purchases);
    update(&mut s, Action::Down);
    assert!(press(&mut s, 'c').is_empty());
    assert!(
        error(&s).unwrap().contains("window is over"),
        "{:?}",
        s.message
    );
    // A waiting purchase has no key to challenge.
    update(&mut s, Action::Down);
    assert!(press(&mut s, 'c').is_empty());
    assert!(error(&s).unwrap().contains("not delivered"));
}

#[test]
fn dispute_asks_for_a_reason_and_reviews_it_only_for_a_delivery() {
    let mut s = state(1000);
    to_section(&mut s, Section::Purchases);
    // Newest first: 4 refunded, 3 delivered, 2 waiting. Only the delivery can be disputed.
    assert!(press(&mut s, 'd').is_empty());
    assert!(
        error(&s).unwrap().contains("not delivered"),
        "{:?}",
        s.message
    );
    assert_eq!(s.market.mode, MarketMode::Browse);
    update(&mut s, Action::Down);
    assert!(press(&mut s, 'd').is_empty());
    assert!(matches!(
        s.market.mode,
        MarketMode::Dispute { purchase: 3, .. }
    ));
    // Letters are the reason's now, d included.
    assert!(matches!(key(&s, 'd'), Action::Edit(Edit::Char('d'))));
    // An empty reason is refused and the form stays.
    assert!(update(&mut s, Action::Submit).is_empty());
    assert!(error(&s).unwrap().contains("what is wrong"));
    assert!(matches!(s.market.mode, MarketMode::Dispute { .. }));
    // Too long for the contract: refused here, before any review.
    for _ in 0..=crate::chain::market_contract::MAX_REASON {
        update(&mut s, Action::Edit(Edit::Char('x')));
    }
    assert!(update(&mut s, Action::Submit).is_empty());
    assert!(
        error(&s).unwrap().contains("1024 at most"),
        "{:?}",
        s.message
    );
    // Esc drops it.
    update(&mut s, Action::Back);
    assert_eq!(s.market.mode, MarketMode::Browse);
    press(&mut s, 'd');
    for c in "the key opens something else".chars() {
        update(&mut s, Action::Edit(Edit::Char(c)));
    }
    let fx = update(&mut s, Action::Submit);
    match prepared(&s, fx) {
        MarketTx::Dispute { purchase, reason } => {
            assert_eq!(purchase.id, 3);
            assert_eq!(reason, "the key opens something else");
        }
        other => panic!("{other:?}"),
    }
    // Once disputed (the next sync says so), never again.
    let mut disputed = sample_market(1000);
    disputed.book.purchases.get_mut(&3).unwrap().disputed = true;
    let mut s = state(1000);
    update(
        &mut s,
        Action::Market(MarketAction::Synced(Ok(Box::new(disputed)))),
    );
    to_section(&mut s, Section::Purchases);
    update(&mut s, Action::Down);
    assert!(press(&mut s, 'd').is_empty());
    assert!(error(&s).unwrap().contains("already disputed"));
}

#[test]
fn save_to_file_asks_for_a_path_and_hands_over_the_purchase_and_its_listing() {
    let mut s = state(1000);
    to_section(&mut s, Section::Purchases);
    // A purchase that is not delivered has nothing to save.
    update(&mut s, Action::Down);
    update(&mut s, Action::Down);
    assert!(press(&mut s, 's').is_empty());
    assert!(error(&s).unwrap().contains("not delivered"));
    update(&mut s, Action::Up);
    assert!(press(&mut s, 's').is_empty());
    assert!(s.typing(), "the path is typed");
    // A new file in the home folder is offered; the user types another.
    match &s.market.mode {
        MarketMode::SaveTo {
            purchase: 3, path, ..
        } => {
            assert_eq!(path.text, "~/keybot-purchase-3.txt");
            assert_eq!(path.cursor, path.text.chars().count());
        }
        other => panic!("{other:?}"),
    }
    for _ in 0.."keybot-purchase-3.txt".len() + 2 {
        update(&mut s, Action::Edit(Edit::Backspace));
    }
    for c in "/tmp/out.txt".chars() {
        update(&mut s, Action::Edit(Edit::Char(c)));
    }
    match update(&mut s, Action::Submit).as_slice() {
        [
            Effect::Market(MarketEffect::Save {
                purchase,
                listing,
                path,
                ..
            }),
        ] => {
            assert_eq!(purchase.id, 3);
            assert_eq!(listing.id, 2);
            assert_eq!(path, std::path::Path::new("/tmp/out.txt"));
        }
        other => panic!("{other:?}"),
    }
    // The prompt stays until the file is written. While the save runs, another Enter sends
    // nothing (it would only be refused as existing) and the path does not change.
    assert!(s.typing());
    assert!(update(&mut s, Action::Submit).is_empty());
    update(&mut s, Action::Edit(Edit::Char('x')));
    assert!(
        matches!(&s.market.mode, MarketMode::SaveTo { path, saving: true, .. } if path.text == "/tmp/out.txt")
    );
    // A refusal (the file exists) leaves the path to be changed, with the reason on the
    // message line, and Enter saves again.
    update(&mut s, Action::Market(MarketAction::SaveFailed(3)));
    update(
        &mut s,
        Action::Error(crate::tui::error::AppError::Vault(std::sync::Arc::new(
            anyhow::anyhow!("/tmp/out.txt exists; a delivery is saved to a new file only"),
        ))),
    );
    assert!(s.typing());
    assert!(error(&s).unwrap().contains("exists"));
    assert!(
        matches!(&s.market.mode, MarketMode::SaveTo { path, saving: false, .. } if path.text == "/tmp/out.txt")
    );
    assert_eq!(update(&mut s, Action::Submit).len(), 1, "saved again");
    // Written: the prompt closes (an answer for another purchase does not close it).
    update(&mut s, Action::Market(MarketAction::Saved(2)));
    assert!(s.typing());
    update(&mut s, Action::Market(MarketAction::Saved(3)));
    assert!(!s.typing());
}

#[test]
fn sell_is_offered_on_a_consented_item_and_reviews_the_listing() {
    let mut s = state(1000);
    update(
        &mut s,
        Action::Market(MarketAction::Items(vec![sample_item(7)])),
    );
    assert!(press(&mut s, 's').is_empty());
    assert!(error(&s).unwrap().contains("no consent"));
    let mut item = sample_item(7);
    item.consent = ConsentState::Given(Consent {
        account: me().to_checksum(None),
        sha256: item.preview.sha256(),
        time: 1,
        signature: "0x00".into(),
    });
    update(&mut s, Action::Market(MarketAction::Items(vec![item])));
    assert!(press(&mut s, 's').is_empty());
    assert!(s.typing());
    // A price that is not a number is refused in one line; nothing is asked.
    update(&mut s, Action::Edit(Edit::Char('x')));
    assert!(update(&mut s, Action::Submit).is_empty());
    assert!(error(&s).unwrap().starts_with("price"));
    update(&mut s, Action::Edit(Edit::Backspace));
    for c in "0.5".chars() {
        update(&mut s, Action::Edit(Edit::Char(c)));
    }
    let fx = update(&mut s, Action::Submit);
    match prepared(&s, fx) {
        MarketTx::Sell { item, token, price } => {
            assert_eq!(item, 7);
            assert_eq!(token.address, Address::ZERO);
            assert_eq!(
                price,
                U256::from(5u64) * U256::from(10u64).pow(U256::from(17u64))
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_market_is_synced_on_entering_and_then_every_interval_never_twice_at_once() {
    let mut s = unlocked();
    let syncs = |fx: &[Effect]| {
        fx.iter()
            .filter(|e| matches!(e, Effect::Market(MarketEffect::Sync)))
            .count()
    };
    let offline = || ChainError::Offline {
        rpc: "http://127.0.0.1:8545".into(),
        reason: "connection refused".into(),
    };
    // With deliveries approved one by one, off the Market screen the market is read once
    // after unlocking (to learn whether the user sells anything), and no more without listings.
    assert_eq!(syncs(&update(&mut s, Action::Tick(SYNC_MS))), 1);
    update(
        &mut s,
        Action::Market(MarketAction::Synced(Err(offline().into()))),
    );
    assert_eq!(syncs(&update(&mut s, Action::Tick(SYNC_MS * 2 + 10))), 0);
    assert_eq!(syncs(&update(&mut s, Action::Screen(Screen::Market))), 1);
    // Still running: no second one.
    assert_eq!(syncs(&update(&mut s, Action::Tick(SYNC_MS * 4))), 0);
    update(
        &mut s,
        Action::Market(MarketAction::Synced(Err(offline().into()))),
    );
    assert_eq!(
        s.market.chain.problem.as_deref(),
        Some("offline: cannot reach http://127.0.0.1:8545 (connection refused)")
    );
    assert_eq!(syncs(&update(&mut s, Action::Tick(SYNC_MS * 4 + 10))), 0);
    assert_eq!(syncs(&update(&mut s, Action::Tick(SYNC_MS * 5 + 10))), 1);
    update(
        &mut s,
        Action::Market(MarketAction::Synced(Err(offline().into()))),
    );
    // Elsewhere, with market.delivery = auto, the background sync goes on (it delivers).
    update(&mut s, Action::Screen(Screen::Chat));
    assert_eq!(syncs(&update(&mut s, Action::Tick(SYNC_MS * 7))), 0);
    for item in &mut s.settings.items {
        if item.key == crate::service::settings::MARKET_DELIVERY {
            item.value = "auto".into();
        }
    }
    assert_eq!(syncs(&update(&mut s, Action::Tick(SYNC_MS * 7 + 10))), 1);
}

#[test]
fn a_seller_is_read_off_the_market_screen_too() {
    let mut s = state(1000);
    let syncs = |fx: &[Effect]| {
        fx.iter()
            .filter(|e| matches!(e, Effect::Market(MarketEffect::Sync)))
            .count()
    };
    // The sample book has my listing 1: its purchases are followed from any screen.
    update(&mut s, Action::Screen(Screen::Chat));
    assert_eq!(syncs(&update(&mut s, Action::Tick(SYNC_MS * 3))), 1);
}

#[test]
fn a_new_purchase_waiting_for_the_key_is_said_on_any_screen_and_counted_on_the_tab() {
    let mut s = state(1000);
    assert_eq!(s.waiting_for_you(), 1, "purchase 1 waits for my key");
    update(&mut s, Action::Screen(Screen::Chat));
    // The next read has a second purchase of my listing.
    let mut m = sample_market(1000);
    let mine = m.book.listings[&1].clone();
    m.book.purchases.insert(
        5,
        purchase(5, &mine, stranger(), DEADLINE, PurchaseState::Paid),
    );
    update(
        &mut s,
        Action::Market(MarketAction::Synced(Ok(Box::new(m.clone())))),
    );
    match &s.message {
        Some((Level::Info, text)) => {
            assert!(
                text.contains("new purchase #5 of your listing #1"),
                "{text}"
            )
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(s.waiting_for_you(), 2);
    // The same book read again says nothing new.
    s.message = None;
    update(
        &mut s,
        Action::Market(MarketAction::Synced(Ok(Box::new(m)))),
    );
    assert_eq!(s.message, None);
}

#[test]
fn my_listings_reprice_and_delist_through_the_review() {
    let mut s = state(1000);
    to_section(&mut s, Section::Listings);
    // The selection starts on the purchase waiting for its key; p and x say where to go.
    assert!(press(&mut s, 'p').is_empty());
    assert!(error(&s).unwrap().contains("↑ to your listings"));
    update(&mut s, Action::Up);
    assert_eq!(s.market.chain.listing_sel, Some(0));
    assert!(press(&mut s, 'a').is_empty(), "a is for a delivery");
    // Reprice: zero and the same price are refused, a new one opens the review.
    press(&mut s, 'p');
    assert!(s.typing(), "the price is typed");
    for (typed, why) in [
        ("0", "price is zero"),
        ("0.005", "already costs that"),
        ("abc", "price:"),
    ] {
        for c in typed.chars() {
            update(&mut s, Action::Edit(Edit::Char(c)));
        }
        assert!(update(&mut s, Action::Submit).is_empty(), "{typed}");
        assert!(error(&s).unwrap().contains(why), "{typed}: {:?}", s.message);
        update(&mut s, Action::Edit(Edit::ClearToStart));
    }
    for c in "0.007".chars() {
        update(&mut s, Action::Edit(Edit::Char(c)));
    }
    let fx = update(&mut s, Action::Submit);
    match prepared(&s, fx) {
        MarketTx::Reprice { listing, price } => {
            assert_eq!(listing.id, 1);
            assert_eq!(
                price,
                U256::from(7u64) * U256::from(10u64).pow(U256::from(15u64))
            );
        }
        other => panic!("{other:?}"),
    }
    update(&mut s, Action::Back);
    assert_eq!(s.screen, Screen::Market);
    // Delist: straight to the review.
    let fx = press(&mut s, 'x');
    match prepared(&s, fx) {
        MarketTx::Delist { listing } => assert_eq!(listing.id, 1),
        other => panic!("{other:?}"),
    }
    update(&mut s, Action::Back);
    // Down goes back to the deliveries, where a approves.
    update(&mut s, Action::Down);
    assert_eq!(s.market.chain.listing_sel, None);
    let fx = press(&mut s, 'a');
    assert!(matches!(prepared(&s, fx), MarketTx::Deliver { .. }));
}

/// A token purchase as the app runs it: step 1 of 2 (the approval), confirmed, then straight on
/// to step 2 (the purchase) without going back to Browse; Esc at step 2 says that the approval
/// stays and offers its reset, whose y opens the review of an approval of 0.
#[test]
fn a_token_purchase_runs_as_two_steps_and_stopping_offers_the_reset() {
    use crate::chain::send::Outcome;
    use crate::tui::screens::wallet::{Plan, Stays};
    let mut s = state(1000);
    to_section(&mut s, Section::Browse);
    let fx = buy_again(&mut s);
    let tx = prepared(&s, fx);
    let token = crate::chain::Token {
        symbol: "tUSD".into(),
        address: Address::repeat_byte(0x77),
        decimals: 6,
    };
    let stays = Stays {
        owner: me(),
        token: token.clone(),
        amount: "5 tUSD".into(),
    };
    let review = crate::tui::chain_update_tests::review(Address::repeat_byte(0x77), vec![]);
    let id = s.wallet.send_seq;
    update(
        &mut s,
        Action::Wallet(WalletAction::ReviewReady {
            id,
            review: Ok(review.clone()),
            plan: Some(Box::new(Plan {
                remaining: 1,
                next: Box::new(tx.clone()),
                leaves: Some(stays.clone()),
            })),
        }),
    );
    let steps = |s: &State| match &s.wallet.mode {
        WalletMode::Send(flow) => flow.steps.clone().map(|st| (st.at, st.of)),
        other => panic!("{other:?}"),
    };
    assert_eq!(steps(&s), Some((1, 2)));
    update(&mut s, Action::Drawn(1));
    update(&mut s, Action::UserActivity(2));
    let fx = update(&mut s, Action::Command('y'));
    assert!(matches!(
        fx.as_slice(),
        [Effect::Wallet(
            crate::tui::screens::wallet::WalletEffect::SignAndSend { .. }
        )]
    ));
    // Confirmed: the next step is prepared at once, the user stays in the flow.
    let fx = update(
        &mut s,
        Action::Wallet(WalletAction::SendFinished {
            hash: None,
            outcome: Ok(Outcome::Confirmed { block: 9 }),
            said: None,
        }),
    );
    let next = fx
        .iter()
        .find_map(|e| match e {
            Effect::Market(MarketEffect::Prepare { tx, .. }) => Some((**tx).clone()),
            _ => None,
        })
        .expect("step 2 is prepared");
    assert_eq!(next, tx);
    assert_eq!(s.screen, Screen::Wallet);
    let id = s.wallet.send_seq;
    update(
        &mut s,
        Action::Wallet(WalletAction::ReviewReady {
            id,
            review: Ok(review),
            plan: None,
        }),
    );
    assert_eq!(steps(&s), Some((2, 2)));
    // Esc at step 2: back to the market, and the approval that stays is said, with its reset.
    update(&mut s, Action::Back);
    assert_eq!(s.screen, Screen::Market);
    assert_eq!(s.overlay, Some(Overlay::ApprovalStays(Box::new(stays))));
    assert!(matches!(key(&s, 'n'), Action::Confirm(false)));
    let fx = update(&mut s, Action::Confirm(true));
    match prepared(&s, fx) {
        MarketTx::ResetApproval { owner, token: t } => {
            assert_eq!((owner, t), (me(), token));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn saying_no_to_the_reset_says_what_stays() {
    use crate::tui::screens::wallet::Stays;
    let mut s = state(1000);
    s.overlay = Some(Overlay::ApprovalStays(Box::new(Stays {
        owner: me(),
        token: crate::chain::Token {
            symbol: "tUSD".into(),
            address: Address::repeat_byte(0x77),
            decimals: 6,
        },
        amount: "5 tUSD".into(),
    })));
    assert!(update(&mut s, Action::Confirm(false)).is_empty());
    assert_eq!(s.overlay, None);
    match &s.message {
        Some((Level::Info, m)) => assert!(m.contains("exactly 5 tUSD"), "{m}"),
        other => panic!("{other:?}"),
    }
}
