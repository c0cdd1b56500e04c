//! Every kind of review the app opens (send, approve, list, buy, deliver, challenge, dispute,
//! refund, withdraw, reprice, delist, deploy, the reset of an approval), drawn at 80x24 and
//! 160x48: each says first, in words, what moves (its sentence) and the worst-case fee, and
//! its key line is on the screen, whatever the size; a long call scrolls with a mark. The
//! sentences of the market's own builders are checked on a real chain in the app's market
//! flow test; here the calls carry the same sentences (`market::receipt`).
use crate::common::screen::render;

use alloy::dyn_abi::DynSolValue;
use alloy::json_abi::Function;
use alloy::primitives::{Address, B256, Bytes, U256};
use keybot::chain::intent::{Call, Deploy, Intent};
use keybot::chain::send::{Asset, Review, SendRequest};
use keybot::chain::{Token, safety::Warning};
use keybot::market::book::{Listing, Purchase, PurchaseState};
use keybot::market::meta::Meta;
use keybot::market::receipt;
use keybot::service::market::{self as svc, Market};
use keybot::tui::action::Action;
use keybot::tui::state::*;
use keybot::tui::update::update;

const ME: &str = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
const SELLER: &str = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
const MARKET: &str = "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0";

fn addr(a: &str) -> Address {
    a.parse().unwrap()
}

fn tusd() -> Token {
    Token {
        symbol: "tUSD".into(),
        address: addr("0x5FbDB2315678afecb367f032d93F642f64180aa3"),
        decimals: 6,
    }
}

fn market() -> Market {
    Market {
        address: addr(MARKET),
        deployed: 1,
    }
}

fn five() -> U256 {
    U256::from(5_000_000u64)
}

fn listing() -> Listing {
    Listing {
        id: 1,
        seller: addr(SELLER),
        token: tusd().address,
        price: five(),
        content_hash: B256::repeat_byte(0xc1),
        key_commit: B256::repeat_byte(0xc2),
        data: Bytes::from(vec![7u8; 64]),
        uri: String::new(),
        meta: Meta::new("Supplier call notes", &[], 1234, Default::default()).to_json(),
        active: true,
        block: 3,
        tx_hash: B256::repeat_byte(3),
        sales: 0,
    }
}

fn purchase() -> Purchase {
    Purchase {
        id: 3,
        listing: 1,
        buyer: addr(ME),
        seller: addr(SELLER),
        token: tusd().address,
        price: five(),
        buyer_key: Bytes::from(vec![4u8; 64]),
        deadline: 1_800_000_000,
        state: PurchaseState::Delivered,
        delivery: Some(Bytes::from(vec![9u8; 96])),
        settles_at: 1_800_100_000,
        settled_on_chain: false,
        proven_wrong: None,
        disputed: false,
        dispute_reason: None,
        dispute_secret: None,
        block: 4,
        tx_hash: B256::repeat_byte(4),
    }
}

/// A DataMarket call by its signature, named like the app's, with `purpose` as its sentence.
fn market_call(from: &str, signature: &str, args: Vec<DynSolValue>, purpose: String) -> Intent {
    Call::new(
        addr(from),
        addr(MARKET),
        Function::parse(signature).unwrap(),
        args,
        U256::ZERO,
    )
    .unwrap()
    .labelled("DataMarket")
    .purpose(purpose)
    .into()
}

/// Every kind of review, by name.
fn intents() -> Vec<(&'static str, Intent)> {
    let l = listing();
    let p = purchase();
    let price = "5 tUSD";
    vec![
        (
            "send",
            SendRequest {
                from: addr(ME),
                to: addr(SELLER),
                asset: Asset::Token(tusd()),
                amount: U256::from(12_500_000u64),
            }
            .into(),
        ),
        (
            "approve",
            svc::approve_call(addr(ME), &tusd(), market(), five()).into(),
        ),
        (
            "reset_approval",
            svc::approve_call(addr(ME), &tusd(), market(), U256::ZERO).into(),
        ),
        (
            "list",
            market_call(
                SELLER,
                "function list(uint256 price, address token, bytes32 contentHash, bytes32 keyCommit, bytes data, string uri, string meta)",
                vec![
                    DynSolValue::Uint(five(), 256),
                    DynSolValue::Address(tusd().address),
                    DynSolValue::FixedBytes(B256::repeat_byte(0xc1), 32),
                    DynSolValue::FixedBytes(B256::repeat_byte(0xc2), 32),
                    DynSolValue::Bytes(vec![7u8; 300]),
                    DynSolValue::String(String::new()),
                    DynSolValue::String(l.meta.clone()),
                ],
                receipt::list(7, "Supplier call notes", price),
            ),
        ),
        (
            "buy",
            svc::buy_call(addr(ME), market(), &l, &[4u8; 64], five())
                .unwrap()
                .amount_of(2, tusd())
                .purpose(receipt::buy(&l, price))
                .into(),
        ),
        (
            "deliver",
            market_call(
                SELLER,
                "function deliver(uint256 purchaseId, bytes delivery)",
                vec![
                    DynSolValue::Uint(U256::from(3u64), 256),
                    DynSolValue::Bytes(vec![9u8; 96]),
                ],
                receipt::deliver(&p, price),
            ),
        ),
        (
            "challenge",
            market_call(
                ME,
                "function challenge(uint256 purchaseId, uint256 b, uint256 bInv, bytes buyerKey, bytes s, bytes delivery)",
                vec![
                    DynSolValue::Uint(U256::from(3u64), 256),
                    DynSolValue::Uint(U256::from(11u64), 256),
                    DynSolValue::Uint(U256::from(13u64), 256),
                    DynSolValue::Bytes(vec![4u8; 64]),
                    DynSolValue::Bytes(vec![5u8; 64]),
                    DynSolValue::Bytes(vec![9u8; 96]),
                ],
                receipt::challenge(&p, price),
            ),
        ),
        (
            "dispute",
            market_call(
                ME,
                "function dispute(uint256 purchaseId, uint256 secret, string reason)",
                vec![
                    DynSolValue::Uint(U256::from(3u64), 256),
                    DynSolValue::Uint(U256::from(17u64), 256),
                    DynSolValue::String("the key opens something else".into()),
                ],
                receipt::dispute(&p),
            ),
        ),
        (
            "refund",
            svc::refund_call(&p, market(), None)
                .unwrap()
                .purpose(receipt::refund(&p, price, p.buyer))
                .into(),
        ),
        (
            "withdraw",
            svc::withdraw_call(
                addr(SELLER),
                market(),
                tusd().address,
                addr(SELLER),
                vec![3],
            )
            .unwrap()
            .purpose(receipt::withdraw("7.5 tUSD", addr(MARKET), addr(SELLER)))
            .into(),
        ),
        (
            "reprice",
            svc::reprice_call(&l, market(), U256::from(7_000_000u64))
                .unwrap()
                .amount_of(1, tusd())
                .purpose(receipt::reprice(&l, price, "7 tUSD"))
                .into(),
        ),
        ("delist", svc::delist_call(&l, market()).unwrap().into()),
        (
            "deploy",
            Deploy {
                from: addr(ME),
                label: "DataMarket".into(),
                code: Bytes::from(vec![0x60u8; 4000]),
                args: vec![("accepts".into(), "ETH, tUSD".into())],
                errors: vec![],
            }
            .into(),
        ),
    ]
}

fn review_of(intent: Intent, warnings: Vec<Warning>) -> Box<Review> {
    Box::new(Review {
        network: "local".into(),
        chain_id: 31337,
        intent,
        nonce: 3,
        gas_limit: 141_724,
        max_fee_per_gas: 2_000_000_007,
        max_priority_fee_per_gas: 1_000_000_000,
        eth_balance: U256::from(10u64).pow(U256::from(22u64)),
        warnings,
    })
}

/// The app with `review` open as the Market screen opens its reviews, sized `cols`x`rows`.
fn showing(review: Box<Review>, steps: Option<Steps>, cols: u16, rows: u16) -> State {
    let mut s = State::new(true);
    update(
        &mut s,
        Action::WalletReady {
            accounts: vec![(0, addr(ME), String::new())],
        },
    );
    update(&mut s, Action::Resize(cols, rows));
    s.screen = Screen::Wallet;
    s.wallet.mode = WalletMode::Send(Box::new(SendFlow {
        form: SendForm::default(),
        step: SendStep::Review {
            review,
            confirm: Input::default(),
            error: None,
            scroll: 0,
            shown_at: None,
        },
        origin: Some(Screen::Market),
        steps,
        proposed: None,
    }));
    s
}

#[test]
fn every_review_says_what_moves_first_and_keeps_its_keys_on_screen() {
    for (name, intent) in intents() {
        let sentence = intent.sentence();
        assert!(sentence.starts_with("You "), "{name}: {sentence}");
        assert!(!sentence.contains("0x0000"), "{name}: {sentence}");
        for (cols, rows) in [(80u16, 24u16), (160, 48)] {
            let review = review_of(intent.clone(), vec![]);
            let s = showing(review, None, cols, rows);
            let screen = render(&s, cols, rows);
            insta::assert_snapshot!(format!("review_{name}_{cols}x{rows}"), screen);
            let lines: Vec<&str> = screen.lines().collect();
            // The sentence's first words open the receipt, right under the title.
            let first_words: String = sentence.split(' ').take(3).collect::<Vec<_>>().join(" ");
            assert!(
                lines[2].contains(&first_words),
                "{name} {cols}x{rows}: {:?}",
                &lines[..4]
            );
            assert!(
                screen.contains("The network fee is at most 0.000283"),
                "{name} {cols}x{rows}"
            );
            // The key line is inside the frame, above the status line.
            let keys = lines
                .iter()
                .position(|l| l.contains("y sign and send"))
                .unwrap_or_else(|| panic!("{name} {cols}x{rows}: no key line\n{screen}"));
            assert!(keys < usize::from(rows) - 2, "{name} {cols}x{rows}");
        }
    }
}

#[test]
fn a_long_review_scrolls_and_says_what_is_below() {
    let (_, challenge) = intents()
        .into_iter()
        .find(|(n, _)| *n == "challenge")
        .unwrap();
    let review = review_of(challenge, vec![Warning::NewAddress, Warning::OwnAccount]);
    let mut s = showing(review, None, 80, 24);
    let top = render(&s, 80, 24);
    assert!(top.contains("more below (↓/PgDn)"), "{top}");
    assert!(!top.contains("more above"), "{top}");
    // PgDn to the end: the last row (the fee cap's warnings) is on the screen, nothing below.
    for _ in 0..10 {
        update(&mut s, Action::PageDown);
    }
    let bottom = render(&s, 80, 24);
    assert!(bottom.contains("more above (↑/PgUp)"), "{bottom}");
    assert!(!bottom.contains("more below"), "{bottom}");
    assert!(bottom.contains("⚠"), "{bottom}");
    insta::assert_snapshot!("review_challenge_scrolled_80x24", bottom);
    // One ↓ more changes nothing; one ↑ shows a row above again.
    update(&mut s, Action::Down);
    assert_eq!(render(&s, 80, 24), bottom);
    update(&mut s, Action::Up);
    assert!(render(&s, 80, 24).contains("more below"));
    // A larger terminal shows it all: no marks.
    let mut big = s.clone();
    update(&mut big, Action::Resize(160, 48));
    let all = render(&big, 160, 48);
    assert!(
        !all.contains("more below") && !all.contains("more above"),
        "{all}"
    );
}

#[test]
fn a_step_of_a_purchase_says_which_step() {
    let (_, approve) = intents()
        .into_iter()
        .find(|(n, _)| *n == "approve")
        .unwrap();
    let steps = Steps {
        at: 1,
        of: 2,
        next: None,
        stays: None,
        leaves: None,
    };
    let s = showing(review_of(approve, vec![]), Some(steps), 80, 24);
    let screen = render(&s, 80, 24);
    assert!(
        screen.contains("Step 1 of 2: You allow the market"),
        "{screen}"
    );
    insta::assert_snapshot!("review_approve_step_1_of_2_80x24", screen);
}
