//! The wallet's chain part, driven through `update` alone: the send flow from the form to the
//! result, loud-warning confirmation, backing out, and the network indicator's retry backoff.
use alloy::primitives::{Address, B256, U256};

use super::action::{Action, Edit};
use super::effect::Effect;
use super::screens::wallet::{WalletAction, WalletEffect};
use super::state::*;
use super::update::update;
use crate::chain::balance::AccountBalance;
use crate::chain::safety::Warning;
use crate::chain::send::{Asset, Outcome, Review, SendRequest};
use crate::chain::{ChainError, Token, amount};

/// What a dead local RPC answers.
fn offline() -> ChainError {
    ChainError::Offline {
        rpc: "http://127.0.0.1:8545".into(),
        reason: "Connection refused (os error 111)".into(),
    }
}

const ME: &str = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
pub(crate) const THEM: &str = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";

fn me() -> Address {
    ME.parse().unwrap()
}

fn them() -> Address {
    THEM.parse().unwrap()
}

fn tusd() -> Token {
    Token {
        symbol: "tUSD".into(),
        address: Address::repeat_byte(0x11),
        decimals: 6,
    }
}

/// Unlocked, on the wallet screen, with the network `local` configured and online at block 7.
pub(crate) fn online() -> State {
    let mut s = State::new(true);
    update(
        &mut s,
        Action::WalletReady {
            accounts: vec![(0, me(), String::new())],
        },
    );
    let fx = update(
        &mut s,
        Action::Wallet(WalletAction::NetworkConfigured(Some(NetInfo {
            name: "local".into(),
            chain_id: 31337,
            tokens: vec![tusd()],
        }))),
    );
    assert!(
        matches!(fx.as_slice(), [Effect::Wallet(WalletEffect::RefreshChain { addresses })] if addresses == &[me()])
    );
    // Entering the screen while that refresh runs starts no second one.
    assert!(update(&mut s, Action::Screen(Screen::Wallet)).is_empty());
    update(
        &mut s,
        Action::Wallet(WalletAction::ChainRefreshed(Ok((7, vec![])))),
    );
    // The first read of the market after unlocking has answered: this network has none, so it
    // is not read again off the Market screen.
    update(
        &mut s,
        Action::Market(crate::tui::screens::market::MarketAction::Synced(Err(
            ChainError::Node("no market".into()).into(),
        ))),
    );
    s
}

pub(crate) fn typed(s: &mut State, text: &str) {
    for c in text.chars() {
        update(s, Action::Edit(Edit::Char(c)));
    }
}

pub(crate) fn review(to: Address, warnings: Vec<Warning>) -> Box<Review> {
    Box::new(Review {
        network: "local".into(),
        chain_id: 31337,
        intent: SendRequest {
            from: me(),
            to,
            asset: Asset::Eth,
            amount: U256::from(1_500_000_000_000_000_000u128),
        }
        .into(),
        nonce: 0,
        gas_limit: 21_000,
        max_fee_per_gas: 2_000_000_000,
        max_priority_fee_per_gas: 1_000_000_000,
        eth_balance: U256::from(10u64).pow(U256::from(22u64)),
        warnings,
    })
}

fn step(s: &State) -> &SendStep {
    match &s.wallet.mode {
        WalletMode::Send(flow) => &flow.step,
        other => panic!("not in the send flow: {other:?}"),
    }
}

fn form(s: &State) -> &SendForm {
    match &s.wallet.mode {
        WalletMode::Send(flow) => &flow.form,
        other => panic!("not in the send flow: {other:?}"),
    }
}

/// Opens the form and fills it; returns the id of the prepare effect.
fn submit_valid(s: &mut State, to: &str, value: &str) -> u64 {
    update(s, Action::Command('s'));
    typed(s, to);
    update(s, Action::FocusNext);
    typed(s, value);
    let fx = update(s, Action::Submit);
    let [Effect::Wallet(WalletEffect::PrepareSend { id, request })] = fx.as_slice() else {
        panic!("expected a prepare effect, got {fx:?}")
    };
    assert_eq!(request.from, me());
    assert_eq!(request.asset, Asset::Eth);
    assert_eq!(request.amount, amount::parse(value, 18).unwrap());
    assert_eq!(*step(s), SendStep::Preparing { id: *id });
    *id
}

#[test]
fn send_flow_form_review_confirm_result() {
    let mut s = online();
    update(&mut s, Action::Command('s'));
    assert!(s.typing(), "the form takes letters as text");
    // A mistyped address: one line, nothing asked of the runtime, the form stays.
    typed(&mut s, "0x1234");
    update(&mut s, Action::FocusNext);
    typed(&mut s, "1.5");
    let fx = update(&mut s, Action::Submit);
    assert!(fx.is_empty());
    assert_eq!(*step(&s), SendStep::Form);
    let err = form(&s).error.clone().unwrap();
    assert!(err.starts_with("to:") && !err.contains('\n'), "{err}");
    assert_eq!(form(&s).field, SendField::To);
    // More decimals than the asset has is refused too (ETH has 18; tUSD 6).
    update(&mut s, Action::Back);
    update(&mut s, Action::Command('s'));
    typed(&mut s, THEM);
    update(&mut s, Action::FocusNext);
    typed(&mut s, "0.0000001");
    update(&mut s, Action::FocusNext);
    update(&mut s, Action::Edit(Edit::Right));
    assert_eq!(form(&s).asset, 1);
    assert!(update(&mut s, Action::Submit).is_empty());
    assert!(form(&s).error.as_ref().unwrap().contains("decimal places"));
    update(&mut s, Action::Back);
    assert_eq!(s.wallet.mode, WalletMode::Accounts);

    let id = submit_valid(&mut s, THEM, "1.5");
    // The review arrives; confirming with y signs exactly that review.
    let r = review(them(), vec![Warning::NewAddress]);
    update(
        &mut s,
        Action::Wallet(WalletAction::ReviewReady {
            id,
            review: Ok(r.clone()),
            plan: None,
        }),
    );
    assert!(matches!(step(&s), SendStep::Review { .. }));
    assert!(!s.typing(), "no loud warning: y is a command");
    assert!(
        update(&mut s, Action::Submit).is_empty(),
        "Enter does not sign"
    );
    // A y typed before the review was drawn does not sign; one typed after it does.
    update(&mut s, Action::UserActivity(5));
    assert!(update(&mut s, Action::Command('y')).is_empty());
    update(&mut s, Action::Drawn(10));
    update(&mut s, Action::UserActivity(9));
    assert!(
        update(&mut s, Action::Command('y')).is_empty(),
        "typed before the frame"
    );
    update(&mut s, Action::UserActivity(11));
    let fx = update(&mut s, Action::Command('y'));
    let [Effect::Wallet(WalletEffect::SignAndSend { account, review })] = fx.as_slice() else {
        panic!("expected a sign effect, got {fx:?}")
    };
    assert_eq!((*account, review), (0, &r));
    assert!(matches!(step(&s), SendStep::Sending { .. }));
    // Esc while sending does not undo anything.
    assert!(update(&mut s, Action::Back).is_empty());
    update(
        &mut s,
        Action::Wallet(WalletAction::SendProgress("broadcast 0xab; waiting".into())),
    );
    let hash = B256::repeat_byte(9);
    let fx = update(
        &mut s,
        Action::Wallet(WalletAction::SendFinished {
            hash: Some(hash),
            outcome: Ok(Outcome::Confirmed { block: 8 }),
            said: None,
        }),
    );
    assert!(
        matches!(
            fx.as_slice(),
            [Effect::Wallet(WalletEffect::RefreshChain { .. })]
        ),
        "balances are read again"
    );
    assert!(matches!(
        step(&s),
        SendStep::Done { hash: Some(h), outcome: Ok(Outcome::Confirmed { block: 8 }), .. } if *h == hash
    ));
    update(&mut s, Action::Submit);
    assert_eq!(s.wallet.mode, WalletMode::Accounts);
}

#[test]
fn a_failed_prepare_goes_back_to_the_form_and_late_answers_are_dropped() {
    let mut s = online();
    let id = submit_valid(&mut s, THEM, "2");
    update(
        &mut s,
        Action::Wallet(WalletAction::ReviewReady {
            id,
            review: Err(ChainError::Insufficient {
                what: "ETH".into(),
                need: Some("2 ETH".into()),
                have: Some("1 ETH".into()),
            }),
            plan: None,
        }),
    );
    assert_eq!(*step(&s), SendStep::Form);
    assert!(form(&s).error.as_ref().unwrap().contains("insufficient"));
    // Cancelled while preparing: the answer that comes later is ignored.
    let fx = update(&mut s, Action::Submit);
    let [Effect::Wallet(WalletEffect::PrepareSend { id, .. })] = fx.as_slice() else {
        panic!()
    };
    let id = *id;
    update(&mut s, Action::Back);
    assert_eq!(*step(&s), SendStep::Form);
    update(
        &mut s,
        Action::Wallet(WalletAction::ReviewReady {
            id,
            review: Ok(review(them(), vec![])),
            plan: None,
        }),
    );
    assert_eq!(*step(&s), SendStep::Form);
}

#[test]
fn a_loud_warning_needs_characters_the_lookalike_does_not_share() {
    let mut s = online();
    // A look-alike of a known address: same first and last 4 hex digits.
    let known: Address = "0x1234000000000000000000000000000000000abc"
        .parse()
        .unwrap();
    let fake: Address = "0x1234ffffffffffffffffffffffffffffffff0abc"
        .parse()
        .unwrap();
    let id = submit_valid(&mut s, &fake.to_checksum(None), "1.5");
    update(
        &mut s,
        Action::Wallet(WalletAction::ReviewReady {
            id,
            review: Ok(review(
                fake,
                vec![Warning::LooksLike(known), Warning::NewAddress],
            )),
            plan: None,
        }),
    );
    update(&mut s, Action::Drawn(1));
    update(&mut s, Action::UserActivity(2));
    assert!(s.typing(), "the confirmation is typed");
    // y is text here, and Enter with the wrong text signs nothing.
    // The last four, which the look-alike was made to share, confirm nothing.
    for wrong in ["y", "1234", "0abd", "0ABC"] {
        typed(&mut s, wrong);
        assert!(update(&mut s, Action::Submit).is_empty(), "{wrong}");
        let SendStep::Review { error, confirm, .. } = step(&s) else {
            panic!()
        };
        assert!(error.as_ref().unwrap().contains("nothing was signed"));
        assert!(confirm.text.is_empty());
    }
    // The four after the shared prefix 0x1234: where the two addresses differ.
    typed(&mut s, "FFFF");
    let fx = update(&mut s, Action::Submit);
    assert!(matches!(
        fx.as_slice(),
        [Effect::Wallet(WalletEffect::SignAndSend { account: 0, .. })]
    ));
}

#[test]
fn esc_from_the_review_signs_nothing() {
    let mut s = online();
    let id = submit_valid(&mut s, THEM, "1");
    update(
        &mut s,
        Action::Wallet(WalletAction::ReviewReady {
            id,
            review: Ok(review(them(), vec![])),
            plan: None,
        }),
    );
    let fx = update(&mut s, Action::Back);
    assert!(fx.is_empty());
    assert_eq!(*step(&s), SendStep::Form);
    // The form kept what was typed; Esc again leaves the flow, still without signing.
    assert_eq!(form(&s).to.text, THEM);
    assert!(update(&mut s, Action::Back).is_empty());
    assert_eq!(s.wallet.mode, WalletMode::Accounts);
    // y on the account list is not a confirmation of anything.
    assert!(update(&mut s, Action::Command('y')).is_empty());
}

#[test]
fn without_a_network_nothing_is_ever_asked() {
    let mut s = State::new(true);
    update(
        &mut s,
        Action::WalletReady {
            accounts: vec![(0, me(), String::new())],
        },
    );
    assert!(
        update(
            &mut s,
            Action::Wallet(WalletAction::NetworkConfigured(None))
        )
        .is_empty()
    );
    assert_eq!(s.net.indicator(0).0, "no network");
    for now in [0, 1_000, 60_000, 500_000] {
        assert!(update(&mut s, Action::Tick(now)).is_empty());
    }
    assert!(update(&mut s, Action::Screen(Screen::Wallet)).is_empty());
    assert!(update(&mut s, Action::Command('r')).is_empty());
    assert!(update(&mut s, Action::Command('a')).is_empty());
    let WalletMode::Activity(view) = &s.wallet.mode else {
        panic!()
    };
    assert!(view.offline.as_ref().unwrap().contains("no network"));
    update(&mut s, Action::Back);
    // The form validates, then says there is no network; no prepare effect.
    update(&mut s, Action::Command('s'));
    typed(&mut s, THEM);
    update(&mut s, Action::FocusNext);
    typed(&mut s, "1");
    assert!(update(&mut s, Action::Submit).is_empty());
    assert!(form(&s).error.as_ref().unwrap().contains("no network"));
}

#[test]
fn offline_retries_back_off_doubling_to_a_cap_and_reset_on_success() {
    let mut s = online();
    assert_eq!(s.net.indicator(s.now_ms).0, "● local #7");
    // The periodic refresh is due after REFRESH_MS.
    assert!(update(&mut s, Action::Tick(REFRESH_MS - 1)).is_empty());
    let fx = update(&mut s, Action::Tick(REFRESH_MS));
    assert!(matches!(
        fx.as_slice(),
        [Effect::Wallet(WalletEffect::RefreshChain { .. })]
    ));
    assert_eq!(s.net.indicator(s.now_ms).0, "◌ local syncing");
    // While one runs, no second one starts.
    assert!(update(&mut s, Action::Tick(REFRESH_MS + 100_000)).is_empty());

    let mut now = REFRESH_MS + 100_000;
    let mut delays = vec![];
    for _ in 0..7 {
        update(
            &mut s,
            Action::Wallet(WalletAction::ChainRefreshed(Err(offline()))),
        );
        let delay = s.net.next_refresh_ms - now;
        delays.push(delay);
        assert_eq!(
            s.net.indicator(now).0,
            format!("○ local offline (retry in {}s)", delay / 1000)
        );
        // Nothing before the delay is over (entering the wallet screen does not hammer either).
        update(&mut s, Action::Screen(Screen::Chat));
        assert!(update(&mut s, Action::Screen(Screen::Wallet)).is_empty());
        assert!(update(&mut s, Action::Tick(now + delay - 1)).is_empty());
        now += delay;
        let fx = update(&mut s, Action::Tick(now));
        assert!(matches!(
            fx.as_slice(),
            [Effect::Wallet(WalletEffect::RefreshChain { .. })]
        ));
    }
    assert_eq!(
        delays,
        [2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000]
    );
    assert!(matches!(s.net.status, NetStatus::Offline { .. }));
    // Back online: the delay starts again from the first step after the next failure.
    let balance = AccountBalance {
        address: me(),
        eth: U256::from(5u64),
        tokens: vec![(tusd(), U256::from(1_500_000u64))],
    };
    update(
        &mut s,
        Action::Wallet(WalletAction::ChainRefreshed(Ok((
            42,
            vec![balance.clone()],
        )))),
    );
    assert_eq!(s.net.indicator(now).0, "● local #42");
    assert_eq!(s.net.backoff_ms, 0);
    assert_eq!(s.net.balance(me()), Some(&balance));
    assert_eq!(s.net.next_refresh_ms, now + REFRESH_MS);
    now += REFRESH_MS;
    update(&mut s, Action::Tick(now));
    update(
        &mut s,
        Action::Wallet(WalletAction::ChainRefreshed(Err(offline()))),
    );
    assert_eq!(s.net.next_refresh_ms - now, RETRY_FIRST_MS);
    // Offline keeps the last balances (drawn as possibly out of date).
    assert_eq!(s.net.balance(me()), Some(&balance));
}

#[test]
fn activity_lists_entries_and_says_offline() {
    let mut s = online();
    let fx = update(&mut s, Action::Command('a'));
    assert!(matches!(
        fx.as_slice(),
        [Effect::Wallet(WalletEffect::SyncActivity)]
    ));
    assert!(s.net.syncing);
    update(
        &mut s,
        Action::Wallet(WalletAction::ActivityLoaded {
            entries: vec![],
            synced: Err(offline()),
        }),
    );
    let WalletMode::Activity(view) = &s.wallet.mode else {
        panic!()
    };
    assert!(!view.loading && view.offline.as_ref().unwrap().contains("offline"));
    assert!(matches!(s.net.status, NetStatus::Offline { .. }));
    assert!(!s.net.syncing);
    update(&mut s, Action::Back);
    assert_eq!(s.wallet.mode, WalletMode::Accounts);
}
