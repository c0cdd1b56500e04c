//! The wallet's on-chain part of `update`: the network indicator and its retry backoff,
//! balances, the send flow (form → review → result) and the activity list. Pure, like the rest
//! of `update`: the runtime does the chain I/O and answers with actions.
use super::review;
use super::{Plan, Steps, WalletAction, WalletEffect};
use crate::chain::send::{Outcome, Review, SendRequest};
use crate::chain::{ChainError, amount, safety};
use crate::tui::action::{Action, Edit};
use crate::tui::effect::Effect;
use crate::tui::screens::market::MarketEffect;
use crate::tui::screens::market_onchain::MarketTx;
use crate::tui::state::*;

/// Starts a refresh of the block number and the listed accounts' balances, unless there is no
/// network (then nothing is ever asked) or one is running already.
pub(crate) fn refresh_now(s: &mut State) -> Vec<Effect> {
    if s.net.info.is_none() || s.net.refreshing {
        return vec![];
    }
    s.net.refreshing = true;
    vec![Effect::Wallet(WalletEffect::RefreshChain {
        addresses: s.wallet.accounts.iter().map(|a| a.address).collect(),
    })]
}

/// Called on every tick: a refresh (or a retry while offline) starts when it is due.
pub(crate) fn tick(s: &mut State) -> Vec<Effect> {
    if s.unlocked() && s.net.info.is_some() && s.now_ms >= s.net.next_refresh_ms {
        return refresh_now(s);
    }
    vec![]
}

/// Entering the wallet screen reads fresh balances, unless offline (then the retry timer
/// decides: no hammering a dead RPC).
pub(crate) fn entered_wallet(s: &mut State) -> Vec<Effect> {
    if matches!(s.net.status, NetStatus::Offline { .. }) {
        return vec![];
    }
    refresh_now(s)
}

/// The network answered: online, retry delay back to its start.
fn succeeded(s: &mut State, block: u64) {
    s.net.status = NetStatus::Online { block };
    s.net.backoff_ms = 0;
    s.net.next_refresh_ms = s.now_ms + REFRESH_MS;
}

/// The network failed: offline, and the next try waits twice as long as the last (2 s, 4 s, …,
/// at most 60 s).
fn failed(s: &mut State, reason: String) {
    s.net.status = NetStatus::Offline { reason };
    s.net.backoff_ms = if s.net.backoff_ms == 0 {
        RETRY_FIRST_MS
    } else {
        (s.net.backoff_ms * 2).min(RETRY_MAX_MS)
    };
    s.net.next_refresh_ms = s.now_ms + s.net.backoff_ms;
}

/// Chain results from the runtime (`update` sends only those here).
pub(crate) fn result(s: &mut State, action: Action) -> Vec<Effect> {
    match action {
        Action::Wallet(WalletAction::NetworkConfigured(info)) => {
            s.net = NetView {
                info,
                next_refresh_ms: s.now_ms,
                ..NetView::default()
            };
            refresh_now(s)
        }
        Action::Wallet(WalletAction::ChainRefreshed(r)) => {
            if s.net.info.is_none() {
                return vec![];
            }
            s.net.refreshing = false;
            match r {
                Ok((block, balances)) => {
                    s.net.balances = balances;
                    succeeded(s, block);
                }
                Err(why) => failed(s, why.to_string()),
            }
            vec![]
        }
        Action::Wallet(WalletAction::ActivityLoaded { entries, synced }) => {
            s.net.syncing = false;
            if let WalletMode::Activity(view) = &mut s.wallet.mode {
                view.entries = entries;
                view.loading = false;
                view.offline = synced.as_ref().err().map(ToString::to_string);
                view.selected = view.selected.min(view.entries.len().saturating_sub(1));
            }
            if s.net.info.is_some() {
                match synced {
                    Ok(head) => succeeded(s, head),
                    Err(why) => failed(s, why.to_string()),
                }
            }
            vec![]
        }
        Action::Wallet(WalletAction::ReviewReady { id, review, plan }) => {
            review_ready(s, id, review, plan)
        }
        Action::Wallet(WalletAction::SendProgress(p)) => {
            if let WalletMode::Send(flow) = &mut s.wallet.mode
                && let SendStep::Sending { progress, .. } = &mut flow.step
            {
                *progress = Some(p);
            }
            vec![]
        }
        Action::Wallet(WalletAction::SendFinished {
            hash,
            outcome,
            said,
        }) => send_finished(s, hash, outcome, said),
        _ => vec![],
    }
}

/// A send ended: the flow shows how; a confirmed step of several goes straight on to the next;
/// a proposal of the model's hears the outcome.
fn send_finished(
    s: &mut State,
    hash: Option<alloy::primitives::B256>,
    outcome: Result<Outcome, ChainError>,
    said: Option<String>,
) -> Vec<Effect> {
    if let WalletMode::Send(flow) = &mut s.wallet.mode
        && let SendStep::Sending { review, .. } = &flow.step
    {
        let review = review.clone();
        if matches!(outcome, Ok(Outcome::Confirmed { .. }))
            && let Some(next) = next_step(flow)
        {
            // Straight on to the next step: the user is not dropped back to the list.
            s.wallet.send_seq += 1;
            let id = s.wallet.send_seq;
            flow.step = SendStep::Preparing { id };
            let mut effects = vec![Effect::Market(MarketEffect::Prepare { id, tx: next })];
            effects.extend(entered_wallet(s));
            return effects;
        }
        // A proposal of the model's: signed is signed (the hash), whatever the chain
        // says next; the bot hears how it ended.
        let decided = flow
            .proposed
            .take()
            .map(|by| (decision_of(hash, &outcome), by.queued));
        let market_changed =
            flow.origin.is_some() && matches!(outcome, Ok(Outcome::Confirmed { .. }));
        flow.step = SendStep::Done {
            review,
            hash,
            outcome,
            said,
        };
        if let Some((decision, queued)) = decided {
            let mut effects = crate::tui::screens::chat_bot::decided(s, decision, queued);
            effects.extend(entered_wallet(s));
            return effects;
        }
        // A market transaction changed the book: it is read again now, not in 15 s.
        if market_changed {
            let mut effects = crate::tui::screens::market_onchain::sync_now(s);
            effects.extend(entered_wallet(s));
            return effects;
        }
    } else {
        s.message = Some(match outcome {
            Ok(_) => (Level::Info, "a send finished; see the activity list".into()),
            Err(e) => (Level::Error, e.to_string()),
        });
    }
    // The balances changed.
    entered_wallet(s)
}

/// How a send the model proposed ended, for the bot: signed is signed (the hash), whatever the
/// chain says next; otherwise why not.
fn decision_of(
    hash: Option<alloy::primitives::B256>,
    outcome: &Result<Outcome, ChainError>,
) -> Result<crate::bot::tools::Decision, String> {
    match (hash, outcome) {
        (Some(h), Ok(o)) => crate::service::bot::decision_of(h, o),
        (_, Err(e)) => Err(format!("not sent: {e}")),
        (None, Ok(_)) => Err("not sent".to_owned()),
    }
}

/// A confirmed step's successor: the step count moves on, and what the confirmed step left
/// standing (an approval) is remembered for the way out.
fn next_step(flow: &mut SendFlow) -> Option<Box<MarketTx>> {
    let steps = flow.steps.as_mut()?;
    let next = steps.next.take()?;
    steps.at = steps.at.saturating_add(1);
    if let Some(left) = steps.leaves.take() {
        steps.stays = Some(left);
    }
    Some(next)
}

/// The review of prepare request `id`, unless the user went back since (then it is dropped).
/// The status line is cleared: an old message must not sit under the review.
fn review_ready(
    s: &mut State,
    id: u64,
    review: Result<Box<Review>, ChainError>,
    plan: Option<Box<Plan>>,
) -> Vec<Effect> {
    if let WalletMode::Send(flow) = &mut s.wallet.mode
        && flow.step == (SendStep::Preparing { id })
    {
        match review {
            Ok(mut review) => {
                s.message = None;
                // First in the review: who proposed it, and loudly when the address is not one
                // the user typed.
                if let Some(by) = flow.proposed {
                    review.mark_proposed_by_model(by.from_user);
                }
                flow.steps = steps_with(flow.steps.take(), plan.map(|p| *p));
                flow.step = SendStep::Review {
                    review,
                    confirm: Input::default(),
                    error: None,
                    scroll: 0,
                    shown_at: None,
                }
            }
            Err(why) if flow.proposed.is_some() => {
                // The model is told why its proposal could not be reviewed.
                let line = why.to_string();
                s.message = Some((Level::Error, line.clone()));
                return leave(s, Err(line));
            }
            Err(why) if flow.origin.is_some() => {
                s.message = Some((Level::Error, why.to_string()));
                return back_out(s);
            }
            Err(why) => {
                flow.form.error = Some(why.to_string());
                flow.step = SendStep::Form;
            }
        }
    }
    vec![]
}

/// The steps after a review came: the first of a plan starts them; a later one says how many
/// remain and what follows (none: this is the last).
fn steps_with(steps: Option<Steps>, plan: Option<Plan>) -> Option<Steps> {
    match (steps, plan) {
        (None, None) => None,
        (None, Some(p)) => Some(Steps {
            at: 1,
            of: p.remaining.saturating_add(1),
            next: Some(p.next),
            stays: None,
            leaves: p.leaves,
        }),
        (Some(mut st), plan) => {
            st.of = st
                .at
                .saturating_add(plan.as_ref().map_or(0, |p| p.remaining));
            st.leaves = plan.as_ref().and_then(|p| p.leaves.clone());
            st.next = plan.map(|p| p.next);
            Some(st)
        }
    }
}

/// Back from a review (or its preparation) that nothing was signed in: to the send form, or for
/// a review another screen opened, to that screen. When an earlier step left an approval
/// standing, the way out says so and offers to reset it.
fn back_out(s: &mut State) -> Vec<Effect> {
    leave(s, Ok(crate::bot::tools::Decision::Declined))
}

/// Leaves the review for its origin; a proposal of the model's gets `decision` as the user's
/// word (the bot goes on with it).
fn leave(s: &mut State, decision: Result<crate::bot::tools::Decision, String>) -> Vec<Effect> {
    let WalletMode::Send(flow) = &mut s.wallet.mode else {
        return vec![];
    };
    let proposed = flow.proposed.take();
    let stays = flow.steps.as_mut().and_then(|st| st.stays.take());
    match flow.origin {
        Some(screen) => {
            s.wallet.mode = WalletMode::Accounts;
            s.screen = screen;
        }
        None => flow.step = SendStep::Form,
    }
    if let Some(stays) = stays {
        s.overlay = Some(Overlay::ApprovalStays(Box::new(stays)));
    }
    if let Some(by) = proposed {
        return crate::tui::screens::chat_bot::decided(s, decision, by.queued);
    }
    vec![]
}

/// Whether a key on the wallet screen belongs to the chain part: `s` send, `a` activity, `r`
/// refresh in the account list, and everything inside the send flow and the activity list.
pub(crate) fn owns_key(s: &State, action: &Action) -> bool {
    s.wallet.mode != WalletMode::Accounts || matches!(action, Action::Command('s' | 'a' | 'r'))
}

/// Handles a key [`owns_key`] said is for the chain part.
pub(crate) fn wallet_key(s: &mut State, action: Action) -> Vec<Effect> {
    match &s.wallet.mode {
        WalletMode::Accounts => match action {
            Action::Command('s') if !s.wallet.accounts.is_empty() => {
                s.wallet.mode = WalletMode::Send(Box::new(SendFlow {
                    form: SendForm {
                        account: s.wallet.selected,
                        ..SendForm::default()
                    },
                    step: SendStep::Form,
                    origin: None,
                    steps: None,
                    proposed: None,
                }));
                vec![]
            }
            Action::Command('a') => open_activity(s),
            Action::Command('r') => {
                if s.net.info.is_none() {
                    s.message = Some((Level::Error, NO_NETWORK.into()));
                }
                refresh_now(s)
            }
            _ => vec![],
        },
        WalletMode::Activity(_) => activity_key(s, action),
        WalletMode::Send(_) => send_key(s, action),
    }
}

const NO_NETWORK: &str = "no network configured: add one with `keybot chain add NAME --rpc URL` or run `keybot chain dev`";

fn open_activity(s: &mut State) -> Vec<Effect> {
    let configured = s.net.info.is_some();
    s.wallet.mode = WalletMode::Activity(ActivityView {
        loading: configured,
        offline: (!configured).then(|| NO_NETWORK.to_owned()),
        ..ActivityView::default()
    });
    if !configured {
        return vec![];
    }
    s.net.syncing = true;
    vec![Effect::Wallet(WalletEffect::SyncActivity)]
}

fn activity_key(s: &mut State, action: Action) -> Vec<Effect> {
    let WalletMode::Activity(view) = &mut s.wallet.mode else {
        return vec![];
    };
    match action {
        Action::Back | Action::Command('a') => s.wallet.mode = WalletMode::Accounts,
        Action::Up => view.selected = view.selected.saturating_sub(1),
        Action::Down => {
            view.selected = (view.selected + 1).min(view.entries.len().saturating_sub(1))
        }
        Action::Command('r') if !view.loading && s.net.info.is_some() => {
            view.loading = true;
            s.net.syncing = true;
            return vec![Effect::Wallet(WalletEffect::SyncActivity)];
        }
        _ => {}
    }
    vec![]
}

fn send_key(s: &mut State, action: Action) -> Vec<Effect> {
    let WalletMode::Send(flow) = &mut s.wallet.mode else {
        return vec![];
    };
    match &mut flow.step {
        SendStep::Form => form_key(s, action),
        SendStep::Preparing { .. } => {
            if matches!(action, Action::Back) {
                // The answer, when it comes, no longer matches and is dropped.
                return back_out(s);
            }
            vec![]
        }
        SendStep::Review { .. } => review_key(s, action),
        SendStep::Sending { .. } => {
            if matches!(action, Action::Back) {
                s.message = Some((
                    Level::Info,
                    "already signed and handed to the network; waiting for the receipt".into(),
                ));
            }
            vec![]
        }
        SendStep::Done { .. } => {
            if matches!(action, Action::Back | Action::Submit) {
                if let Some(screen) = flow.origin {
                    s.screen = screen;
                }
                s.wallet.mode = WalletMode::Accounts;
            }
            vec![]
        }
    }
}

/// The review's keys: y (or the 4 characters a loud warning asks for) signs and sends; Esc or n
/// goes back to the form, or to the screen that opened the review.
fn review_key(s: &mut State, action: Action) -> Vec<Effect> {
    let WalletMode::Send(flow) = &mut s.wallet.mode else {
        return vec![];
    };
    let max = review::max_scroll(flow, s.size);
    let page = review::page(flow, s.size);
    let SendStep::Review {
        review,
        confirm,
        error,
        scroll,
        shown_at,
    } = &mut flow.step
    else {
        return vec![];
    };
    let loud = review.has_loud_warning();
    // A key typed before the review was on the screen is not an answer to it.
    let seen = shown_at.is_some_and(|at| s.key_ms > at);
    let confirmed = match action {
        Action::Back | Action::Command('n') => return back_out(s),
        Action::Up | Action::ScrollUp(_) => {
            *scroll = scroll.saturating_sub(1);
            return vec![];
        }
        Action::Down | Action::ScrollDown(_) => {
            *scroll = (*scroll + 1).min(max);
            return vec![];
        }
        Action::PageUp => {
            *scroll = scroll.saturating_sub(page);
            return vec![];
        }
        Action::PageDown => {
            *scroll = (*scroll + page).min(max);
            return vec![];
        }
        Action::Command('y') | Action::Submit if !seen => {
            *error = Some("the review was not on the screen yet: read it, then press y".into());
            return vec![];
        }
        Action::Edit(e) if loud => {
            confirm.apply(&e, false);
            *error = None;
            return vec![];
        }
        Action::Command('y') if !loud => true,
        Action::Submit if loud => {
            // The same challenge as the command line: characters a look-alike lacks.
            let challenge = review.challenge();
            if challenge.accepts(&confirm.text) {
                true
            } else {
                confirm.wipe();
                *error = Some(format!(
                    "those are not the 4 characters after {} in the recipient's address; \
                     nothing was signed",
                    challenge.after
                ));
                false
            }
        }
        Action::Submit => {
            *error = Some("press y to sign and send, or Esc to go back".into());
            false
        }
        _ => false,
    };
    if !confirmed {
        return vec![];
    }
    let review = review.clone();
    let Some(account) = s.wallet.accounts.get(flow.form.account) else {
        return back_out(s);
    };
    let account = account.index;
    flow.step = SendStep::Sending {
        review: review.clone(),
        progress: None,
    };
    vec![Effect::Wallet(WalletEffect::SignAndSend {
        account,
        review,
    })]
}

fn form_key(s: &mut State, action: Action) -> Vec<Effect> {
    let assets = s.net.asset_count();
    let WalletMode::Send(flow) = &mut s.wallet.mode else {
        return vec![];
    };
    let form = &mut flow.form;
    match action {
        Action::Back => {
            s.wallet.mode = WalletMode::Accounts;
            return vec![];
        }
        Action::FocusNext | Action::Down => {
            form.field = match form.field {
                SendField::To => SendField::Amount,
                SendField::Amount => SendField::Asset,
                SendField::Asset => SendField::To,
            }
        }
        Action::Up => {
            form.field = match form.field {
                SendField::To => SendField::Asset,
                SendField::Amount => SendField::To,
                SendField::Asset => SendField::Amount,
            }
        }
        Action::Edit(e) => {
            form.error = None;
            match form.field {
                SendField::To => form.to.apply(&e, false),
                SendField::Amount => form.amount.apply(&e, false),
                SendField::Asset => match e {
                    Edit::Left => form.asset = (form.asset + assets - 1) % assets,
                    Edit::Right | Edit::Char(' ') => form.asset = (form.asset + 1) % assets,
                    _ => {}
                },
            }
        }
        Action::Submit => return submit(s),
        _ => {}
    }
    vec![]
}

/// Checks the form locally; on a problem says so in one line and changes nothing else.
fn submit(s: &mut State) -> Vec<Effect> {
    let asset_of = |i| s.net.asset(i);
    let configured = s.net.info.is_some();
    let WalletMode::Send(flow) = &mut s.wallet.mode else {
        return vec![];
    };
    let form = &mut flow.form;
    let Some(from) = s.wallet.accounts.get(form.account).map(|a| a.address) else {
        return vec![];
    };
    let to = match safety::parse_address(&form.to.text) {
        Ok(a) => a,
        Err(e) => {
            form.error = Some(format!("to: {e}"));
            form.field = SendField::To;
            return vec![];
        }
    };
    let asset = asset_of(form.asset);
    let units = match amount::parse(&form.amount.text, asset.decimals()) {
        Ok(u) if u.is_zero() => {
            form.error = Some("amount: zero; nothing to send".into());
            form.field = SendField::Amount;
            return vec![];
        }
        Ok(u) => u,
        Err(e) => {
            form.error = Some(e.to_string());
            form.field = SendField::Amount;
            return vec![];
        }
    };
    if !configured {
        form.error = Some(NO_NETWORK.into());
        return vec![];
    }
    form.error = None;
    s.wallet.send_seq += 1;
    let id = s.wallet.send_seq;
    flow.step = SendStep::Preparing { id };
    vec![Effect::Wallet(WalletEffect::PrepareSend {
        id,
        request: SendRequest {
            from,
            to,
            asset,
            amount: units,
        },
    })]
}
