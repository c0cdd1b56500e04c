//! The bot on the chat screen (issue 23): a turn with the wallet's and the market's tools,
//! driven event by event through [`crate::bot::turn::Machine`]. Pure, like the rest of `update`:
//! each round is an effect the runtime hands to the engine, reads go to the chain thread, and a
//! proposal opens the wallet's own review (origin: the chat screen), whose outcome comes back
//! here as the user's decision. The model is told only that decision.
use std::sync::Arc;

use serde_json::json;

use crate::bot::format;
use crate::bot::tools::{self, Decision, Proposal, Ran, Read};
use crate::bot::turn::{CallRecord, Machine, Setup, Step, Work};
use crate::chat::Message as ChatMessage;
use crate::chat::engine::{Prompt, Stats, StopReason};
use crate::service::settings::{BOT_ROUNDS, BOT_TOOLS, BOT_TRANSFER_CAPS, transfer_caps};
use crate::store::Role;
use crate::tui::effect::Effect;
use crate::tui::screens::Screen;
use crate::tui::screens::chat::{ChatEffect, ChatLine};
use crate::tui::screens::wallet::WalletEffect;
use crate::tui::state::*;

/// One round for the engine: the prompt, and the tools whose grammar holds it (None: the last
/// round, which answers in words).
#[derive(Debug, Clone)]
pub struct BotRound {
    pub prompt: Prompt,
    pub tools: Option<Arc<Setup>>,
}

/// A turn with tools under way.
#[derive(Debug, Clone, PartialEq)]
pub struct BotTurn {
    pub machine: Machine,
    /// The round's text so far; only what is not a call is shown while it streams.
    pub raw: String,
    /// The round's proposals not reviewed yet, in the order the model made them.
    pub proposals: Vec<Work>,
    /// The proposal whose review is open: its call's index and what it proposes.
    pub reviewing: Option<(usize, Proposal)>,
    /// Reads handed to the runtime and not answered yet.
    pub reads: usize,
    /// A market proposal waits for the market's book to be read.
    pub awaiting_book: bool,
    /// Calls already in the transcript.
    pub shown: usize,
}

/// Whether a question in the open conversation goes with tools: the model supports them and the
/// user did not switch them off for it (`t`).
pub(crate) fn active(c: &ChatView) -> bool {
    c.tools.is_some()
        && match c.current {
            Some(id) => !c.tools_off.contains(&id),
            None => !c.tools_off_new,
        }
}

/// Where the conversations whose tools are off are kept: the store's settings, by their uids
/// (the same on every machine a backup is restored to).
pub const TOOLS_OFF: &str = "chat.tools_off";

/// `t`: tools on or off for the open conversation (or the next new one); kept in the store.
pub(crate) fn toggle(s: &mut State) -> Vec<Effect> {
    let c = &mut s.chat;
    if c.tools.is_none() {
        s.message = Some((
            Level::Info,
            "this model's template takes no tools: it chats without them".into(),
        ));
        return vec![];
    }
    let (on, effects) = match c.current {
        Some(id) => {
            if !c.tools_off.remove(&id) {
                c.tools_off.insert(id);
            }
            (!c.tools_off.contains(&id), vec![save_tools_off(c)])
        }
        None => {
            c.tools_off_new = !c.tools_off_new;
            (!c.tools_off_new, vec![])
        }
    };
    s.message = Some((
        Level::Info,
        if on {
            "tools on: the model may read your wallet and market and propose transactions you review"
        } else {
            "tools off: the model only chats in this conversation"
        }
        .into(),
    ));
    effects
}

/// The conversations whose tools are off, to the store.
pub(crate) fn save_tools_off(c: &ChatView) -> Effect {
    Effect::Chat(ChatEffect::SaveToolsOff(
        c.tools_off.iter().copied().collect(),
    ))
}

/// The conversation for the model. `with_calls` (the tools are on): each stored call becomes
/// the assistant's call and the tool's result; without, only the words (a stored call is the
/// wallet's, not the conversation's).
pub(crate) fn history(c: &ChatView, system: Option<&str>, with_calls: bool) -> Vec<ChatMessage> {
    let mut h = Vec::with_capacity(c.messages.len() + 1);
    if let Some(p) = system.filter(|p| !p.is_empty()) {
        h.push(ChatMessage::new("system", p));
    }
    for m in &c.messages {
        match m.role {
            Role::User => h.push(ChatMessage::user(m.text.clone())),
            Role::Assistant => h.push(ChatMessage::new("assistant", m.text.clone())),
            Role::Tool if with_calls => {
                if let Ok(r) = serde_json::from_str::<serde_json::Value>(&m.text) {
                    let name = r["name"].as_str().unwrap_or_default().to_owned();
                    h.push(ChatMessage::tool_calls(
                        String::new(),
                        [(name, r["arguments"].clone())],
                    ));
                    h.push(ChatMessage::tool_result(r["result"].to_string()));
                }
            }
            Role::Tool | Role::System => {}
        }
    }
    h
}

/// A turn for `history` (the question last): the first round to generate. None: the turn goes
/// without the tools, as a plain chat, because the conversation is not about the wallet or the
/// market (`bot.tools = asked`; see [`crate::bot::route`]).
pub(crate) fn start(s: &mut State, history: Vec<ChatMessage>) -> Option<BotRound> {
    let setup = s.chat.tools.clone()?;
    if !setup.wanted(&history, s.settings.get(BOT_TOOLS) == Some("always")) {
        return None;
    }
    let rounds = s
        .settings
        .get(BOT_ROUNDS)
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(4);
    let machine = Machine::new(setup, history, rounds);
    let round = round_of(&machine);
    s.chat.bot = Some(BotTurn {
        machine,
        raw: String::new(),
        proposals: Vec::new(),
        reviewing: None,
        reads: 0,
        awaiting_book: false,
        shown: 0,
    });
    Some(round)
}

fn round_of(m: &Machine) -> BotRound {
    BotRound {
        prompt: m.prompt(),
        tools: (!m.last_round()).then(|| m.setup()),
    }
}

/// A piece of the round: the answer shows as it streams; a call is held back.
pub(crate) fn piece(c: &mut ChatView, p: &str) {
    if let Some(bot) = &mut c.bot {
        bot.raw.push_str(p);
        c.streaming = Some(format::shown_prefix(&bot.raw).to_owned());
    }
}

/// The round ended: the answer ends the turn; calls are read and run.
pub(crate) fn done(s: &mut State, reason: StopReason) -> Vec<Effect> {
    let Some(bot) = &mut s.chat.bot else {
        return vec![];
    };
    if reason == StopReason::Stopped {
        // Stopped by the user: what was shown is the answer, and nothing more runs.
        let shown = format::shown_prefix(&bot.raw).to_owned();
        let calls = bot.machine.calls().to_vec();
        return finish(s, shown, calls);
    }
    let raw = std::mem::take(&mut bot.raw);
    match bot.machine.generated(&raw, Stats::default()) {
        Step::Done {
            outcome,
            raw_is_answer,
        } => finish(
            s,
            if raw_is_answer { raw } else { outcome.answer },
            outcome.calls,
        ),
        Step::Generate => next_round(s),
        Step::Run(work) => run(s, work),
    }
}

/// Reads go to the runtime at once; proposals are reviewed one after the other.
fn run(s: &mut State, work: Vec<Work>) -> Vec<Effect> {
    let Some(bot) = &mut s.chat.bot else {
        return vec![];
    };
    let (reads, proposals): (Vec<Work>, Vec<Work>) = work
        .into_iter()
        .partition(|w| matches!(w.call, tools::Call::Read(_)));
    let reads: Vec<(usize, Read)> = reads
        .into_iter()
        .filter_map(|w| match w.call {
            tools::Call::Read(r) => Some((w.index, r)),
            tools::Call::Propose(_) => None,
        })
        .collect();
    bot.reads = reads.len();
    bot.proposals = proposals;
    s.chat.streaming = Some(String::new());
    let mut effects = Vec::new();
    if !reads.is_empty() {
        effects.push(Effect::Chat(ChatEffect::RunTools(reads)));
    }
    effects.extend(next_proposal(s));
    effects
}

/// The read results from the runtime.
pub(crate) fn reads_answered(
    s: &mut State,
    results: Vec<(usize, Result<serde_json::Value, String>)>,
) -> Vec<Effect> {
    let Some(bot) = &mut s.chat.bot else {
        return vec![];
    };
    let mut all = false;
    for (index, r) in results {
        bot.reads = bot.reads.saturating_sub(1);
        all = bot.machine.answer(index, Ran::read(r));
    }
    if all { next_round(s) } else { vec![] }
}

/// Opens the review of the next proposal; one the wallet refuses (over a cap, a token this
/// network does not have, a listing that is not for sale, a send already under way) is answered
/// with its reason at once. A market proposal made before the market was read waits for it.
fn next_proposal(s: &mut State) -> Vec<Effect> {
    loop {
        let Some(bot) = &mut s.chat.bot else {
            return vec![];
        };
        if bot.reviewing.is_some() || bot.awaiting_book || bot.proposals.is_empty() {
            return vec![];
        }
        let w = bot.proposals.remove(0);
        let tools::Call::Propose(proposal) = w.call.clone() else {
            continue;
        };
        match open_review(s, &proposal, w.from_user, None) {
            Ok(Opening::Review(effects)) => {
                if let Some(bot) = &mut s.chat.bot {
                    bot.reviewing = Some((w.index, proposal));
                }
                return effects;
            }
            Ok(Opening::NeedBook) => {
                // Asked again once the book is read (`book_read`).
                let effects = crate::tui::screens::market_onchain::sync_now(s);
                if let Some(bot) = &mut s.chat.bot {
                    bot.proposals.insert(0, w);
                    bot.awaiting_book = true;
                }
                return effects;
            }
            Err(line) => {
                let Some(bot) = &mut s.chat.bot else {
                    return vec![];
                };
                if bot.machine.answer(w.index, Ran::error(line)) {
                    return next_round(s);
                }
            }
        }
    }
}

/// The market's book was read (or could not be): a proposal waiting for it goes on.
pub(crate) fn book_read(s: &mut State) -> Vec<Effect> {
    let Some(bot) = &mut s.chat.bot else {
        return vec![];
    };
    if !std::mem::take(&mut bot.awaiting_book) {
        return vec![];
    }
    if s.market.chain.market.is_none() {
        let why = s
            .market
            .chain
            .problem
            .clone()
            .unwrap_or_else(|| "the market could not be read".into());
        let Some(bot) = &mut s.chat.bot else {
            return vec![];
        };
        if !bot.proposals.is_empty() {
            let w = bot.proposals.remove(0);
            if bot.machine.answer(w.index, Ran::error(why)) {
                return next_round(s);
            }
        }
    }
    next_proposal(s)
}

/// How a proposal's review opens.
enum Opening {
    Review(Vec<Effect>),
    /// The market's book is needed first.
    NeedBook,
}

/// The wallet's review of `proposal`: a transfer from the account selected on the wallet
/// screen, a withdrawal from the account that earned it, a market transaction from the account
/// its listing, purchase or item belongs to.
fn open_review(
    s: &mut State,
    proposal: &Proposal,
    from_user: bool,
    queued: Option<i64>,
) -> Result<Opening, String> {
    let Some(net) = &s.net.info else {
        return Err(crate::service::bot::OFFLINE.into());
    };
    let (account, effect) = match proposal {
        Proposal::Transfer { .. } => {
            let account = s.wallet.selected;
            let from = s
                .wallet
                .accounts
                .get(account)
                .map(|a| a.address)
                .ok_or("no account to send from")?;
            let caps = transfer_caps(s.settings.get(BOT_TRANSFER_CAPS).unwrap_or_default())?;
            let request =
                crate::service::bot::transfer_request(proposal, &net.tokens, from, &caps)?;
            (account, Pending::Send(request))
        }
        Proposal::Withdraw { token } => {
            let token = match token {
                None => alloy::primitives::Address::ZERO,
                Some(key) => {
                    crate::chain::network::find_token(&net.tokens, key)
                        .ok_or_else(|| {
                            format!(
                                "no token {:?} on this network",
                                crate::sanitize::clean_line(key)
                            )
                        })?
                        .address
                }
            };
            let data = s
                .earnings
                .data
                .as_ref()
                .ok_or("the earnings are not read yet (the Earnings screen reads them)")?;
            let seller = data
                .earnings
                .claimant(token)
                .ok_or("nothing to withdraw in this token")?;
            (account_of(s, seller)?, Pending::Withdraw { seller, token })
        }
        other => match crate::tui::screens::bot_market::plan(s, other)? {
            crate::tui::screens::bot_market::Plan::NeedBook => return Ok(Opening::NeedBook),
            crate::tui::screens::bot_market::Plan::Review { from, tx } => {
                (account_of(s, from)?, Pending::Market(Box::new(tx)))
            }
        },
    };
    let id = crate::tui::screens::wallet::await_review(s, account, Screen::Chat)
        .map_err(|e| format!("{e}: not proposed"))?;
    if let WalletMode::Send(flow) = &mut s.wallet.mode {
        flow.proposed = Some(ProposedBy { from_user, queued });
    }
    Ok(Opening::Review(vec![match effect {
        Pending::Send(request) => Effect::Wallet(WalletEffect::PrepareSend { id, request }),
        Pending::Withdraw { seller, token } => Effect::Earnings(
            crate::tui::screens::earnings::EarningsEffect::PrepareWithdraw { id, seller, token },
        ),
        Pending::Market(tx) => {
            Effect::Market(crate::tui::screens::market::MarketEffect::Prepare { id, tx })
        }
    }]))
}

/// What the review is built from, before its id is known.
enum Pending {
    Send(crate::chain::send::SendRequest),
    Withdraw {
        seller: alloy::primitives::Address,
        token: alloy::primitives::Address,
    },
    Market(Box<crate::tui::screens::market_onchain::MarketTx>),
}

/// The wallet screen's row of one of the user's addresses.
fn account_of(s: &State, address: alloy::primitives::Address) -> Result<usize, String> {
    s.wallet
        .accounts
        .iter()
        .position(|a| a.address == address)
        .ok_or_else(|| {
            format!(
                "{} is not one of the wallet screen's accounts",
                address.to_checksum(None)
            )
        })
}

/// The user's word on the proposal under review: signed (the hash), declined, or why it failed.
/// The model is told only this.
pub(crate) fn decided(
    s: &mut State,
    decision: Result<Decision, String>,
    queued: Option<i64>,
) -> Vec<Effect> {
    if let Some(id) = queued {
        // Another program's proposal: the decision goes to the queue, and nothing else waits.
        s.message = Some((
            Level::Info,
            format!(
                "proposal {id}: {}",
                match &decision {
                    Ok(d) => d.for_model(),
                    Err(line) => line.clone(),
                }
            ),
        ));
        return vec![Effect::Chat(ChatEffect::DecideQueued { id, decision })];
    }
    let Some(bot) = &mut s.chat.bot else {
        return vec![];
    };
    let Some((index, proposal)) = bot.reviewing.take() else {
        return vec![];
    };
    let ran = match decision {
        Ok(d) => Ran::decided(proposal, d),
        Err(line) => Ran::error(line),
    };
    if bot.machine.answer(index, ran) {
        return next_round(s);
    }
    next_proposal(s)
}

/// Every call of the round is answered: its calls go into the transcript and the next round is
/// generated.
fn next_round(s: &mut State) -> Vec<Effect> {
    let c = &mut s.chat;
    let Some(bot) = &mut c.bot else {
        return vec![];
    };
    for r in &bot.machine.calls()[bot.shown..] {
        c.messages.push(ChatLine {
            role: Role::Tool,
            text: record_text(r),
        });
    }
    bot.shown = bot.machine.calls().len();
    bot.raw.clear();
    c.streaming = Some(String::new());
    vec![Effect::Chat(ChatEffect::Generate(round_of(&bot.machine)))]
}

/// The turn is over: the calls and the answer go into the transcript and the store.
fn finish(s: &mut State, answer: String, calls: Vec<CallRecord>) -> Vec<Effect> {
    let c = &mut s.chat;
    let Some(bot) = c.bot.take() else {
        return vec![];
    };
    let calls: Vec<String> = calls.iter().map(record_text).collect();
    for text in &calls[bot.shown.min(calls.len())..] {
        c.messages.push(ChatLine {
            role: Role::Tool,
            text: text.clone(),
        });
    }
    c.streaming = None;
    let answer = answer.trim().to_owned();
    if answer.is_empty() {
        s.message = Some((Level::Info, "the model gave no answer in words".into()));
    } else {
        c.messages.push(ChatLine {
            role: Role::Assistant,
            text: answer.clone(),
        });
    }
    match c.current {
        Some(conversation) => vec![Effect::Chat(ChatEffect::SaveAnswer {
            conversation,
            text: answer,
            tokens: 0,
            tools: calls,
        })],
        None => vec![],
    }
}

/// A call as the transcript keeps it: one JSON object.
pub fn record_text(r: &CallRecord) -> String {
    json!({"name": r.name, "arguments": r.arguments, "result": r.result}).to_string()
}

/// `P`: the oldest proposal another program queued (`keybot mcp`) opens its review, with the
/// loud warning (the user typed none of it); the decision goes back to the queue.
pub(crate) fn queued(s: &mut State, q: Option<crate::store::QueuedProposal>) -> Vec<Effect> {
    let Some(q) = q else {
        s.message = Some((
            Level::Info,
            "no proposals from other programs wait for you".into(),
        ));
        return vec![];
    };
    let Ok(p) = tools::parse_queued(&q.tool, &q.arguments) else {
        s.message = Some((
            Level::Error,
            format!("proposal {} is not one keybot reads: declined", q.id),
        ));
        return vec![Effect::Chat(ChatEffect::DecideQueued {
            id: q.id,
            decision: Err("not a proposal keybot reads".into()),
        })];
    };
    match open_review(s, &p, false, Some(q.id)) {
        Ok(Opening::Review(effects)) => effects,
        Ok(Opening::NeedBook) => {
            s.message = Some((
                Level::Info,
                "reading the market first: press P again in a moment".into(),
            ));
            crate::tui::screens::market_onchain::sync_now(s)
        }
        Err(line) => {
            s.message = Some((
                Level::Error,
                format!("proposal {} cannot be reviewed now: {line}", q.id),
            ));
            vec![]
        }
    }
}

/// Whether the turn waits on its tools (reads or a review), not on the engine.
pub(crate) fn waiting(c: &ChatView) -> bool {
    c.bot.as_ref().is_some_and(|b| {
        b.reads > 0 || b.reviewing.is_some() || b.awaiting_book || !b.proposals.is_empty()
    })
}

/// Esc while the turn waits on its tools: it ends with what it has; answers that come later
/// find no turn and are dropped (a review already open stays the user's to decide).
pub(crate) fn stop(s: &mut State) -> Vec<Effect> {
    let calls = s
        .chat
        .bot
        .as_ref()
        .map(|b| b.machine.calls().to_vec())
        .unwrap_or_default();
    let effects = finish(s, String::new(), calls);
    s.message = Some((Level::Info, "stopped: the model was not asked again".into()));
    effects
}

/// The engine failed mid-turn: the turn ends; a review already open stays the user's to
/// decide, and nothing more is asked of the model.
pub(crate) fn failed(c: &mut ChatView) {
    c.bot = None;
}
