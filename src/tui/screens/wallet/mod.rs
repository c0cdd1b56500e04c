//! The wallet screen: accounts, labels, and (in `onchain`) balances, the send flow and activity.
//! Its view state and its part of `update`.
pub(crate) mod onchain;
pub mod review;

use alloy::primitives::B256;
use keybot_keystore::Address;

use crate::chain::ChainError;
use crate::chain::activity::Entry;
use crate::chain::balance::AccountBalance;
use crate::chain::send::{Outcome, Review, SendRequest};
use crate::tui::action::Action;
use crate::tui::effect::Effect;
use crate::tui::error::SendBusy;
use crate::tui::screens::market_onchain::MarketTx;
use crate::tui::state::*;

/// The wallet screen's results from the runtime. Chain errors are typed ([`ChainError`]): the
/// screen words them (one clean line, its `Display`) where it shows them.
#[derive(Debug, Clone)]
pub enum WalletAction {
    AccountsDerived(Vec<(u32, Address, String)>),
    /// The network from `config.toml` after unlocking; None: none configured (offline, and no
    /// socket is ever opened).
    NetworkConfigured(Option<NetInfo>),
    /// The block number and the balances of the listed accounts, or why they could not be read.
    ChainRefreshed(Result<(u64, Vec<AccountBalance>), ChainError>),
    /// The activity list from the store, after a sync with the chain (its head) or not (why).
    ActivityLoaded {
        entries: Vec<Entry>,
        synced: Result<u64, ChainError>,
    },
    /// The review of prepare request `id`, or why it could not be made (nothing was signed).
    ReviewReady {
        id: u64,
        review: Result<Box<Review>, ChainError>,
        /// Set when the review is one step of several (a token purchase's approval).
        plan: Option<Box<Plan>>,
    },
    /// A line about a send on its way (broadcast, waiting).
    SendProgress(String),
    /// How a confirmed send ended. `hash` is None when it was never signed.
    SendFinished {
        hash: Option<B256>,
        outcome: Result<Outcome, ChainError>,
        /// What a confirmed market transaction did, read from its events, in words.
        said: Option<String>,
    },
}

/// What the wallet screen asks the runtime to do.
#[derive(Debug)]
pub enum WalletEffect {
    DeriveAccounts {
        count: u32,
    },
    SetAccountLabel {
        index: u32,
        label: String,
    },
    /// Read the block number and the balances of these accounts (only with a network).
    RefreshChain {
        addresses: Vec<Address>,
    },
    /// Sync activity with the chain (when there is a network), then list it from the store.
    SyncActivity,
    /// Check the chain and build the review of a send; signs nothing.
    PrepareSend {
        id: u64,
        request: SendRequest,
    },
    /// The user confirmed this review: sign it with HD account `account`, record it, broadcast
    /// it once and follow it.
    SignAndSend {
        account: u32,
        review: Box<Review>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub index: u32,
    pub address: Address,
    pub label: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WalletView {
    pub accounts: Vec<Account>,
    pub selected: usize,
    /// Editing the selected account's label.
    pub labelling: Option<Input>,
    /// The account list, or the send flow, or the activity list.
    pub mode: WalletMode,
    /// Numbers each prepare request, so a late answer to a cancelled one is ignored.
    pub send_seq: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum WalletMode {
    #[default]
    Accounts,
    Send(Box<SendFlow>),
    Activity(ActivityView),
}

/// The send form's fields, in Tab order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SendField {
    #[default]
    To,
    Amount,
    Asset,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SendForm {
    /// Index into the wallet's account list: the sender.
    pub account: usize,
    pub to: Input,
    pub amount: Input,
    /// 0 is ETH, `i` is the network's token `i - 1`.
    pub asset: usize,
    pub field: SendField,
    /// The latest one-line problem (validation, or why the review could not be prepared).
    pub error: Option<String>,
}

/// Where a send stands. Nothing is signed before `Review` is confirmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendStep {
    Form,
    /// Waiting for the runtime to check the chain and build the review.
    Preparing {
        id: u64,
    },
    Review {
        review: Box<Review>,
        /// Four characters of the recipient ([`Review::challenge`]), typed when a warning is loud.
        confirm: Input,
        error: Option<String>,
        /// How far the body (the decoded call) is scrolled, in rows.
        scroll: usize,
        /// When the review was first drawn (`now_ms`): a `y` typed before that never signs.
        shown_at: Option<u64>,
    },
    /// Confirmed: being signed, broadcast and followed.
    Sending {
        review: Box<Review>,
        progress: Option<String>,
    },
    Done {
        review: Box<Review>,
        hash: Option<B256>,
        outcome: Result<Outcome, ChainError>,
        /// What a confirmed market transaction did, in words ("Listed #2 for 5 tUSD.").
        said: Option<String>,
    },
}

/// Where a review stands among several (a token purchase: allow exactly the price, then pay
/// it), and what comes next once it is confirmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Steps {
    pub at: u8,
    pub of: u8,
    /// The next step's transaction, built once this one is confirmed.
    pub next: Option<Box<MarketTx>>,
    /// What a confirmed earlier step left standing (an approval), offered for reset when the
    /// user stops before the end.
    pub stays: Option<Stays>,
    /// What this step leaves standing once confirmed.
    pub leaves: Option<Stays>,
}

/// An approval a confirmed step left: the market may take exactly `amount` of `token`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stays {
    pub owner: Address,
    pub token: crate::chain::Token,
    /// "5 tUSD", in words.
    pub amount: String,
}

/// Told with a review that is a step of several: how many follow, the next one's transaction,
/// and what this one leaves standing once confirmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub remaining: u8,
    pub next: Box<MarketTx>,
    pub leaves: Option<Stays>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendFlow {
    pub form: SendForm,
    pub step: SendStep,
    /// The screen whose review this is (the market's, the earnings' withdrawal): backing out
    /// and the end go back there, since it has no send form to return to. None for a send.
    pub origin: Option<Screen>,
    /// Set when this review is one step of several.
    pub steps: Option<Steps>,
    /// Set when the model proposed this transaction (the chat screen's bot): the review says so
    /// first, and its outcome goes back to the bot as the user's decision.
    pub proposed: Option<ProposedBy>,
}

/// Who proposed a transaction the user did not start themselves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProposedBy {
    /// Every address it names was typed by the user in the conversation; when not, the review's
    /// loud warning asks for the address's characters.
    pub from_user: bool,
    /// Another program's proposal from the queue (`keybot mcp`): its id there, where the
    /// decision goes. None: the chat's own model proposed it.
    pub queued: Option<i64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ActivityView {
    pub entries: Vec<Entry>,
    /// A sync is running.
    pub loading: bool,
    /// Why the list may be out of date (offline, no network).
    pub offline: Option<String>,
    pub selected: usize,
}

/// Opens the send flow waiting for the review of a transaction another screen asked the chain
/// thread for, from the wallet screen's `account`; backing out and the end go back to `origin`.
/// The id the review will come under; refused while a transaction is being prepared or sent,
/// whose flow its answer must still find.
pub(crate) fn await_review(s: &mut State, account: usize, origin: Screen) -> Result<u64, SendBusy> {
    if let WalletMode::Send(flow) = &s.wallet.mode
        && matches!(
            flow.step,
            SendStep::Sending { .. } | SendStep::Preparing { .. }
        )
    {
        return Err(SendBusy);
    }
    s.wallet.send_seq += 1;
    let id = s.wallet.send_seq;
    s.wallet.mode = WalletMode::Send(Box::new(SendFlow {
        form: SendForm {
            account,
            ..SendForm::default()
        },
        step: SendStep::Preparing { id },
        origin: Some(origin),
        steps: None,
        proposed: None,
    }));
    s.screen = Screen::Wallet;
    Ok(id)
}

/// Keys are text while a label is edited, in the send form, and in a review whose loud warning
/// asks for characters of the address.
pub(crate) fn typing(s: &State) -> bool {
    s.wallet.labelling.is_some()
        || match &s.wallet.mode {
            WalletMode::Send(flow) => match &flow.step {
                SendStep::Form => true,
                SendStep::Review { review, .. } => review.has_loud_warning(),
                _ => false,
            },
            _ => false,
        }
}

pub(crate) const HELP: &[(&str, &str)] = &[
    ("↑/↓ j/k", "select an account"),
    ("n", "derive the next account"),
    ("l", "label the account"),
    ("c", "copy the address"),
    ("s", "send from the account: form → review → result"),
    (
        "y / 4 chars",
        "review: sign and send (a loud warning asks for 4 chars of the address)",
    ),
    ("a", "activity: sent and received"),
    ("r", "read balances again (retry now when offline)"),
    (
        "Esc",
        "back (nothing is signed before the review is confirmed)",
    ),
];

/// The accounts the runtime derived, and every chain result (network, balances, activity, the
/// send flow's review and outcome).
pub(crate) fn owns(action: &Action) -> bool {
    matches!(action, Action::Wallet(_))
}

pub(crate) fn result(s: &mut State, action: Action) -> Vec<Effect> {
    let Action::Wallet(WalletAction::AccountsDerived(accounts)) = action else {
        return onchain::result(s, action);
    };
    s.wallet.accounts = accounts
        .into_iter()
        .map(|(index, address, label)| Account {
            index,
            address,
            label,
        })
        .collect();
    s.wallet.selected = s
        .wallet
        .selected
        .min(s.wallet.accounts.len().saturating_sub(1));
    // A new account's balance.
    onchain::entered_wallet(s)
}

pub(crate) fn update(s: &mut State, action: Action) -> Vec<Effect> {
    let w = &mut s.wallet;
    if let Some(input) = &mut w.labelling {
        match action {
            Action::Edit(e) => input.apply(&e, false),
            Action::Back => w.labelling = None,
            Action::Submit => {
                let label = crate::sanitize::clean_line(input.text.trim()).into_owned();
                w.labelling = None;
                if let Some(acc) = w.accounts.get_mut(w.selected) {
                    acc.label = label.clone();
                    return vec![Effect::Wallet(WalletEffect::SetAccountLabel {
                        index: acc.index,
                        label,
                    })];
                }
            }
            _ => {}
        }
        return vec![];
    }
    if onchain::owns_key(s, &action) {
        return onchain::wallet_key(s, action);
    }
    let w = &mut s.wallet;
    match action {
        Action::Up => w.selected = w.selected.saturating_sub(1),
        Action::Down => w.selected = (w.selected + 1).min(w.accounts.len().saturating_sub(1)),
        Action::Command('n') => {
            return vec![Effect::Wallet(WalletEffect::DeriveAccounts {
                count: w.accounts.len() as u32 + 1,
            })];
        }
        Action::Command('l') if !w.accounts.is_empty() => {
            let mut input = Input::default();
            input.set(&w.accounts[w.selected].label);
            w.labelling = Some(input);
        }
        Action::Command('c') => {
            if let Some(acc) = w.accounts.get(w.selected) {
                return vec![Effect::Copy(acc.address.to_checksum(None))];
            }
        }
        _ => {}
    }
    vec![]
}
