//! The Earnings screen: what the wallet's accounts earned on the network's market, per token
//! (earned, pending in escrow, claimable, withdrawn, refunded), per day, per listing, and the
//! recent sales, refunds and withdrawals, with the accounts' balances beside them. The figures
//! come from the stored events (market::earnings), read again by the chain thread on entering
//! and with every balance refresh. A withdrawal goes through the wallet's review and confirm
//! flow: `w` prepares it and shows the wallet's review; nothing is signed before `y` there.
use alloy::primitives::{Address, U256};

use crate::chain::Token;
use crate::market::earnings::Earnings;
use crate::tui::action::Action;
use crate::tui::effect::Effect;
use crate::tui::error::MarketReadError;
use crate::tui::state::*;

/// What the chain thread read: the figures and the tokens to word them with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EarningsData {
    pub earnings: Earnings,
    /// ETH and the network's tokens (symbol, decimals); a token not among them is shown by
    /// address in base units.
    pub tokens: Vec<Token>,
}

impl EarningsData {
    pub fn token(&self, address: Address) -> Option<&Token> {
        self.tokens.iter().find(|t| t.address == address)
    }
}

/// The days from the first day of a token's earnings per day (`daily`, oldest first, as
/// `Earnings::daily` holds them) to its last, both counted: how many days a chart of all of it
/// shows. 0 when there are none.
pub fn day_span(daily: &[(u64, U256)]) -> usize {
    match (daily.first(), daily.last()) {
        (Some((first, _)), Some((last, _))) => {
            usize::try_from(last.saturating_sub(*first)).map_or(usize::MAX, |d| d.saturating_add(1))
        }
        _ => 0,
    }
}

/// The chart's bars of a token's earnings per day (`daily`, oldest first): the last `count`
/// days up to the last day with earnings, none before the first, a day without earnings as
/// zero; oldest first.
pub fn chart_days(daily: &[(u64, U256)], count: usize) -> Vec<(u64, U256)> {
    let (Some((first, _)), Some((last, _))) = (daily.first(), daily.last()) else {
        return vec![];
    };
    if count == 0 {
        return vec![];
    }
    let back = u64::try_from(count - 1).unwrap_or(u64::MAX);
    let start = last.saturating_sub(back).max(*first);
    (start..=*last)
        .map(|day| {
            let v = daily
                .binary_search_by_key(&day, |(d, _)| *d)
                .map_or(U256::ZERO, |i| daily[i].1);
            (day, v)
        })
        .collect()
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EarningsView {
    pub data: Option<Box<EarningsData>>,
    /// A sync is running.
    pub loading: bool,
    /// Why the figures may be out of date or missing (offline, no market).
    pub error: Option<String>,
    /// The selected row of the token table: the chart's token and what `w` withdraws.
    pub selected: usize,
}

#[derive(Debug, Clone)]
pub enum EarningsAction {
    /// The figures after a sync, or why there are none (one line: offline, no market…).
    Loaded(Result<Box<EarningsData>, MarketReadError>),
}

#[derive(Debug)]
pub enum EarningsEffect {
    /// Read the market's new events, then the figures of the wallet's addresses.
    Sync,
    /// Build the review of `seller`'s withdrawal of `token`; the answer is the wallet's
    /// `ReviewReady { id }` (the wallet's send flow shows and confirms it).
    PrepareWithdraw {
        id: u64,
        seller: Address,
        token: Address,
    },
}

pub(crate) fn typing(_: &State) -> bool {
    false
}

pub(crate) const HELP: &[(&str, &str)] = &[
    (
        "↑/↓ j/k",
        "select a token (the chart's, and what w withdraws)",
    ),
    (
        "w",
        "withdraw the token's claimable earnings: review, then y to sign",
    ),
    ("r", "read the market's events again"),
];

pub(crate) fn owns(action: &Action) -> bool {
    matches!(action, Action::Earnings(_))
}

pub(crate) fn result(s: &mut State, action: Action) -> Vec<Effect> {
    let Action::Earnings(EarningsAction::Loaded(r)) = action else {
        return vec![];
    };
    let e = &mut s.earnings;
    e.loading = false;
    match r {
        Ok(data) => {
            e.selected = e.selected.min(data.earnings.tokens.len().saturating_sub(1));
            e.data = Some(data);
            e.error = None;
        }
        // The last figures stay, marked out of date.
        Err(why) => e.error = Some(crate::sanitize::clean_line(&why.to_string()).into_owned()),
    }
    vec![]
}

/// Entering the screen reads the market again (the stored figures stay shown meanwhile).
pub(crate) fn entered(s: &mut State) -> Vec<Effect> {
    sync(s)
}

fn sync(s: &mut State) -> Vec<Effect> {
    if s.net.info.is_none() {
        s.earnings.error =
            Some("no network configured: `keybot chain dev` or `keybot chain add`".into());
        return vec![];
    }
    if s.earnings.loading {
        return vec![];
    }
    s.earnings.loading = true;
    vec![Effect::Earnings(EarningsEffect::Sync)]
}

pub(crate) fn update(s: &mut State, action: Action) -> Vec<Effect> {
    let rows = s
        .earnings
        .data
        .as_ref()
        .map_or(0, |d| d.earnings.tokens.len());
    match action {
        Action::Up | Action::Command('k') => {
            s.earnings.selected = s.earnings.selected.saturating_sub(1)
        }
        Action::Down | Action::Command('j') => {
            s.earnings.selected = (s.earnings.selected + 1).min(rows.saturating_sub(1))
        }
        Action::Command('r') => return sync(s),
        Action::Command('w') => return withdraw(s),
        _ => {}
    }
    vec![]
}

/// The selected token's first claimable (address, amount) goes to the wallet's review.
fn withdraw(s: &mut State) -> Vec<Effect> {
    let Some(data) = &s.earnings.data else {
        s.message = Some((Level::Info, "no earnings read yet".into()));
        return vec![];
    };
    let Some(token) = data
        .earnings
        .tokens
        .get(s.earnings.selected)
        .map(|t| t.token)
    else {
        s.message = Some((Level::Info, "nothing to withdraw: no sales yet".into()));
        return vec![];
    };
    let Some(seller) = data.earnings.claimant(token) else {
        s.message = Some((Level::Info, "nothing to withdraw in this token".into()));
        return vec![];
    };
    let Some(account) = s.wallet.accounts.iter().position(|a| a.address == seller) else {
        s.message = Some((
            Level::Error,
            format!(
                "{} is not in the account list: `keybot market withdraw`",
                seller.to_checksum(None)
            ),
        ));
        return vec![];
    };
    let id = match super::wallet::await_review(s, account, Screen::Earnings) {
        Ok(id) => id,
        Err(why) => {
            s.message = Some((Level::Error, why.to_string()));
            return vec![];
        }
    };
    vec![Effect::Earnings(EarningsEffect::PrepareWithdraw {
        id,
        seller,
        token,
    })]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::ChainError;
    use crate::market::earnings::TokenFigures;

    fn unlocked() -> State {
        let mut s = State::new(true);
        s.screen = Screen::Earnings;
        s.net.info = Some(NetInfo {
            name: "local".into(),
            chain_id: 31337,
            tokens: vec![],
        });
        s.wallet.accounts = (0..2)
            .map(|i| Account {
                index: i,
                address: Address::repeat_byte(i as u8 + 1),
                label: String::new(),
            })
            .collect();
        s
    }

    #[test]
    fn the_charts_days_are_the_last_that_fit_with_the_quiet_days_as_zero() {
        let v = |n: u64| U256::from(n);
        let daily = [(10, v(5)), (12, v(7)), (15, v(1))];
        assert_eq!(day_span(&daily), 6);
        assert_eq!(day_span(&[]), 0);
        assert_eq!(day_span(&daily[..1]), 1);
        let all = vec![
            (10, v(5)),
            (11, v(0)),
            (12, v(7)),
            (13, v(0)),
            (14, v(0)),
            (15, v(1)),
        ];
        // Room for all of it, or more: from the first day, never before it.
        assert_eq!(chart_days(&daily, 6), all);
        assert_eq!(chart_days(&daily, 100), all);
        assert_eq!(chart_days(&daily, usize::MAX), all);
        // Less room: the latest days.
        assert_eq!(chart_days(&daily, 4), all[2..]);
        assert_eq!(chart_days(&daily, 1), vec![(15, v(1))]);
        assert!(chart_days(&daily, 0).is_empty());
        assert!(chart_days(&[], 5).is_empty());
        // A day at the start of time does not underflow.
        assert_eq!(chart_days(&[(0, v(3))], 7), vec![(0, v(3))]);
    }

    #[test]
    fn withdraw_goes_to_the_wallets_review_with_the_sellers_account() {
        let mut s = unlocked();
        assert!(matches!(
            entered(&mut s).as_slice(),
            [Effect::Earnings(EarningsEffect::Sync)]
        ));
        assert!(entered(&mut s).is_empty(), "one sync at a time");
        let earnings = Earnings {
            tokens: vec![TokenFigures {
                token: Address::ZERO,
                earned: U256::from(5),
                claimable: U256::from(5),
                ..TokenFigures::default()
            }],
            claimable: vec![(Address::repeat_byte(2), Address::ZERO, U256::from(5))],
            ..Earnings::default()
        };
        result(
            &mut s,
            Action::Earnings(EarningsAction::Loaded(Ok(Box::new(EarningsData {
                earnings,
                tokens: vec![],
            })))),
        );
        assert!(!s.earnings.loading);
        let fx = update(&mut s, Action::Command('w'));
        match fx.as_slice() {
            [Effect::Earnings(EarningsEffect::PrepareWithdraw { id, seller, token })] => {
                assert_eq!((*seller, *token), (Address::repeat_byte(2), Address::ZERO));
                assert_eq!(s.screen, Screen::Wallet);
                match &s.wallet.mode {
                    WalletMode::Send(flow) => {
                        assert_eq!(flow.form.account, 1);
                        assert_eq!(flow.step, SendStep::Preparing { id: *id });
                    }
                    other => panic!("{other:?}"),
                }
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_withdrawal_waits_while_a_send_is_on_its_way() {
        let mut s = unlocked();
        let earnings = Earnings {
            claimable: vec![(Address::repeat_byte(2), Address::ZERO, U256::from(5))],
            tokens: vec![TokenFigures {
                token: Address::ZERO,
                claimable: U256::from(5),
                ..TokenFigures::default()
            }],
            ..Earnings::default()
        };
        result(
            &mut s,
            Action::Earnings(EarningsAction::Loaded(Ok(Box::new(EarningsData {
                earnings,
                tokens: vec![],
            })))),
        );
        let sending = WalletMode::Send(Box::new(SendFlow {
            form: SendForm::default(),
            step: SendStep::Sending {
                review: crate::tui::chain_update_tests::review(Address::repeat_byte(9), vec![]),
                progress: None,
            },
            origin: None,
            steps: None,
            proposed: None,
        }));
        s.wallet.mode = sending.clone();
        assert!(update(&mut s, Action::Command('w')).is_empty());
        assert_eq!(s.wallet.mode, sending, "the send keeps its flow");
        assert_eq!(s.screen, Screen::Earnings);
        assert!(
            matches!(&s.message, Some((Level::Error, m)) if m.contains("on its way")),
            "{:?}",
            s.message
        );
    }

    #[test]
    fn nothing_claimable_sends_nothing_and_an_error_keeps_the_figures() {
        let mut s = unlocked();
        assert!(update(&mut s, Action::Command('w')).is_empty());
        s.earnings.loading = true;
        result(
            &mut s,
            Action::Earnings(EarningsAction::Loaded(Err(ChainError::NoNetwork.into()))),
        );
        assert!(s.earnings.error.is_some() && !s.earnings.loading);
        s.net.info = None;
        assert!(entered(&mut s).is_empty());
    }
}
