//! The bot on the chat screen, driven through `update` alone (the engine's events and the
//! runtime's answers are given by hand): a read runs and its call is folded into the
//! transcript; a proposal opens the wallet's review with the model's warnings first, and
//! declining it tells the model "declined" and signs nothing. The same turn against the real
//! model and anvil is `tests/chain/app_bot.rs`.
use std::sync::Arc;

use alloy::primitives::B256;
use serde_json::json;

use super::action::Action;
use super::chain_update_tests::{THEM, online, review, typed};
use super::effect::Effect;
use super::screens::chat::{ChatAction, ChatEffect};
use super::screens::chat_bot::BotRound;
use super::screens::wallet::{WalletAction, WalletEffect};
use super::state::*;
use super::update::update;
use crate::bot::format::{Support, ToolFormat};
use crate::bot::tools::Read;
use crate::bot::turn::Setup;
use crate::chain::safety::Warning;
use crate::chain::send::Outcome;
use crate::chat::engine::{ChatEvent, ModelInfo, Prompt, StopReason};
use crate::store::{Conversation, Role};

fn event(s: &mut State, ev: ChatEvent) -> Vec<Effect> {
    update(s, Action::Chat(ChatAction::Event(ev)))
}

/// Online with a model whose template takes tools, on the chat screen, conversation 1 open.
fn ready() -> State {
    let mut s = online();
    let fx = event(
        &mut s,
        ChatEvent::Loaded(Box::new(ModelInfo {
            path: "m.gguf".into(),
            architecture: "qwen2".into(),
            n_layer: 24,
            n_ctx: 4096,
            n_ctx_train: 32768,
            threads: 2,
            device: "CPU".into(),
            gpu_layers: 0,
            template: "embedded".into(),
            tools: Support::Format(ToolFormat::Hermes),
        })),
    );
    let [Effect::Chat(ChatEffect::PrepareTools { format, symbols })] = fx.as_slice() else {
        panic!("the tools are prepared for the network's tokens: {fx:?}")
    };
    assert_eq!(symbols, &["tUSD"]);
    let setup = Setup::new(*format, symbols).unwrap();
    update(
        &mut s,
        Action::Chat(ChatAction::ToolsReady(Ok(Arc::new(setup)))),
    );
    s.screen = Screen::Chat;
    update(
        &mut s,
        Action::Chat(ChatAction::ConversationOpened {
            conversation: Conversation {
                id: 1,
                uid: "u".into(),
                title: "t".into(),
                system_prompt: String::new(),
                model: String::new(),
                created_at: 0,
                updated_at: 0,
            },
            messages: vec![],
        }),
    );
    s.chat.focus = ChatFocus::Input;
    s
}

/// Types `question` and sends it: the first round goes with the tools.
fn ask(s: &mut State, question: &str) {
    typed(s, question);
    let fx = update(s, Action::Submit);
    let [
        Effect::Chat(ChatEffect::Send {
            bot: Some(round), ..
        }),
    ] = fx.as_slice()
    else {
        panic!("a turn with tools: {fx:?}")
    };
    assert!(round.tools.is_some());
    assert!(matches!(round.prompt, Prompt::Tools { .. }));
}

/// The engine streams `text` as one round and ends it.
fn round(s: &mut State, text: &str) -> Vec<Effect> {
    for piece in text.split_inclusive(' ') {
        event(s, ChatEvent::Piece(piece.to_owned()));
    }
    event(s, ChatEvent::Done(StopReason::EndOfTurn))
}

fn next_round(fx: &[Effect]) -> &BotRound {
    let [Effect::Chat(ChatEffect::Generate(round))] = fx else {
        panic!("the next round: {fx:?}")
    };
    round
}

/// The chain thread's answer to review `id` (a review of a send to THEM with the warnings
/// `own`); the warnings the wallet's review then shows, in order.
fn reviewed(s: &mut State, id: u64, own: Vec<Warning>) -> Vec<Warning> {
    update(
        s,
        Action::Wallet(WalletAction::ReviewReady {
            id,
            review: Ok(review(THEM.parse().unwrap(), own)),
            plan: None,
        }),
    );
    let WalletMode::Send(flow) = &s.wallet.mode else {
        panic!("the send flow")
    };
    let SendStep::Review { review, .. } = &flow.step else {
        panic!("the review: {:?}", flow.step)
    };
    review.warnings.clone()
}

#[test]
fn a_read_runs_is_folded_into_the_transcript_and_saved_before_the_answer() {
    let mut s = ready();
    ask(&mut s, "how much do I have?");
    let fx = round(
        &mut s,
        "<tool_call>\n{\"name\": \"balances\", \"arguments\": {}}\n</tool_call>",
    );
    assert_eq!(
        s.chat.streaming.as_deref(),
        Some(""),
        "a call is never shown as text"
    );
    let [Effect::Chat(ChatEffect::RunTools(reads))] = fx.as_slice() else {
        panic!("the read goes to the runtime: {fx:?}")
    };
    assert_eq!(reads, &[(0, Read::Balances)]);
    let fx = update(
        &mut s,
        Action::Chat(ChatAction::ToolResults(vec![(
            0,
            Ok(json!({"accounts": [{"ETH": "10000"}]})),
        )])),
    );
    assert!(next_round(&fx).tools.is_some());
    let last = s.chat.messages.last().unwrap();
    assert_eq!(last.role, Role::Tool);
    assert!(last.text.contains("\"balances\"") && last.text.contains("10000"));
    let fx = round(&mut s, "You have 10000 ETH.");
    let [Effect::Chat(ChatEffect::SaveAnswer { text, tools, .. })] = fx.as_slice() else {
        panic!("the turn is saved: {fx:?}")
    };
    assert_eq!(text, "You have 10000 ETH.");
    assert_eq!(tools.len(), 1);
    assert!(s.chat.bot.is_none() && s.chat.streaming.is_none());
    let roles: Vec<Role> = s.chat.messages.iter().map(|m| m.role).collect();
    assert_eq!(roles, [Role::User, Role::Tool, Role::Assistant]);
}

#[test]
fn a_proposal_opens_the_wallet_review_and_declining_tells_the_model_only_that() {
    let mut s = ready();
    // The user never typed the address: the review's loud warning says so first.
    ask(&mut s, "pay the seller 5 tUSD");
    let call = format!(
        "<tool_call>\n{{\"name\": \"transfer\", \"arguments\": {{\"to\": \"{THEM}\", \"amount\": \"5\", \"token\": \"tUSD\"}}}}\n</tool_call>"
    );
    let fx = round(&mut s, &call);
    let [Effect::Wallet(WalletEffect::PrepareSend { id, request })] = fx.as_slice() else {
        panic!("the proposal goes to the wallet's review: {fx:?}")
    };
    assert_eq!(
        request.to,
        THEM.parse::<alloy::primitives::Address>().unwrap()
    );
    assert_eq!(request.amount, alloy::primitives::U256::from(5_000_000u64));
    assert_eq!(s.screen, Screen::Wallet);
    assert_eq!(
        reviewed(&mut s, *id, vec![Warning::NewAddress]),
        [
            Warning::NotTypedByUser,
            Warning::ProposedByModel,
            Warning::NewAddress
        ]
    );
    assert!(
        s.typing(),
        "the loud warning asks for the address's characters"
    );
    // y is a letter of the challenge here, never a signature.
    update(&mut s, Action::UserActivity(100));
    update(&mut s, Action::Drawn(50));
    let fx = update(&mut s, Action::Command('y'));
    assert!(
        fx.iter()
            .all(|e| !matches!(e, Effect::Wallet(WalletEffect::SignAndSend { .. })))
    );
    // Esc declines: back on the chat screen, the model's next round has "declined".
    let fx = update(&mut s, Action::Back);
    assert_eq!(s.screen, Screen::Chat);
    let round2 = next_round(&fx);
    let Prompt::Tools { messages, .. } = &round2.prompt else {
        panic!("tools on")
    };
    assert_eq!(messages.last().unwrap().content, "\"declined\"");
    let tool = s.chat.messages.last().unwrap();
    assert_eq!(tool.role, Role::Tool);
    assert!(tool.text.contains("declined"), "{}", tool.text);
}

#[test]
fn a_signed_proposal_tells_the_model_the_hash() {
    let mut s = ready();
    ask(&mut s, &format!("send 0.5 ETH to {THEM}"));
    let call = format!(
        "<tool_call>\n{{\"name\": \"transfer\", \"arguments\": {{\"to\": \"{THEM}\", \"amount\": \"0.5\"}}}}\n</tool_call>"
    );
    let fx = round(&mut s, &call);
    let [Effect::Wallet(WalletEffect::PrepareSend { id, .. })] = fx.as_slice() else {
        panic!("{fx:?}")
    };
    assert_eq!(
        reviewed(&mut s, *id, vec![]),
        [Warning::ProposedByModel],
        "typed by the user"
    );
    update(&mut s, Action::Drawn(50));
    update(&mut s, Action::UserActivity(100));
    let fx = update(&mut s, Action::Command('y'));
    assert!(matches!(
        fx.as_slice(),
        [Effect::Wallet(WalletEffect::SignAndSend { .. })]
    ));
    let hash = B256::repeat_byte(7);
    let fx = update(
        &mut s,
        Action::Wallet(WalletAction::SendFinished {
            hash: Some(hash),
            outcome: Ok(Outcome::Confirmed { block: 9 }),
            said: None,
        }),
    );
    let round2 = fx
        .iter()
        .find_map(|e| match e {
            Effect::Chat(ChatEffect::Generate(r)) => Some(r),
            _ => None,
        })
        .expect("the next round");
    let Prompt::Tools { messages, .. } = &round2.prompt else {
        panic!()
    };
    assert_eq!(
        messages.last().unwrap().content,
        format!("\"signed: tx {hash}\"")
    );
}

#[test]
fn over_the_cap_no_review_opens_and_tools_can_be_switched_off() {
    let mut s = ready();
    s.settings
        .items
        .iter_mut()
        .find(|i| i.key == "bot.transfer_caps")
        .expect("the setting is listed")
        .value = "1 tUSD".into();
    ask(&mut s, &format!("send 5 tUSD to {THEM}"));
    let call = format!(
        "<tool_call>\n{{\"name\": \"transfer\", \"arguments\": {{\"to\": \"{THEM}\", \"amount\": \"5\", \"token\": \"tUSD\"}}}}\n</tool_call>"
    );
    let fx = round(&mut s, &call);
    next_round(&fx);
    assert_eq!(s.screen, Screen::Chat, "no review opened");
    assert!(
        s.chat
            .messages
            .last()
            .unwrap()
            .text
            .contains("over the cap")
    );
    round(&mut s, "I cannot send that much.");
    // `t` in the list: the next question goes without tools (a plain turn).
    update(&mut s, Action::Back);
    let fx = update(&mut s, Action::Command('t'));
    assert!(
        matches!(fx.as_slice(), [Effect::Chat(ChatEffect::SaveToolsOff(ids))] if ids == &[1]),
        "the choice is kept in the store: {fx:?}"
    );
    update(&mut s, Action::FocusNext);
    typed(&mut s, "hi");
    let fx = update(&mut s, Action::Submit);
    let [
        Effect::Chat(ChatEffect::Send {
            bot: None, history, ..
        }),
    ] = fx.as_slice()
    else {
        panic!("a plain turn: {fx:?}")
    };
    assert!(
        history.iter().all(|m| m.role != "tool"),
        "without tools the calls stay out of the prompt"
    );
}

#[test]
fn a_market_proposal_waits_for_the_book_opens_its_review_and_a_wrong_one_is_answered_at_once() {
    use super::market_chain_tests::{listing, sample_market};
    use super::screens::market::{MarketAction, MarketEffect};
    use super::screens::market_onchain::MarketTx;
    let mut s = ready();
    ask(&mut s, "buy listing 3 for at most 0.01 ETH");
    let fx = round(
        &mut s,
        "<tool_call>\n{\"name\": \"market_proposal\", \"arguments\": {\"action\": \"buy\", \"id\": 3, \"price\": \"0.01\"}}\n</tool_call>",
    );
    // The market was never read: it is read first, the proposal waits.
    assert!(
        matches!(fx.as_slice(), [Effect::Market(MarketEffect::Sync)]),
        "{fx:?}"
    );
    assert_eq!(s.screen, Screen::Chat);
    // A stranger's listing 3 (0.005 ETH) besides the sample's (listing 2, bought already).
    let mut book = sample_market(1000);
    book.book.listings.insert(
        3,
        listing(3, alloy::primitives::Address::repeat_byte(0x42), "Garden"),
    );
    let fx = update(
        &mut s,
        Action::Market(MarketAction::Synced(Ok(Box::new(book)))),
    );
    let [Effect::Market(MarketEffect::Prepare { tx, .. })] = fx.as_slice() else {
        panic!("the buy's review: {}", fx.len())
    };
    assert!(matches!(&**tx, MarketTx::Buy { listing, .. } if listing.id == 3));
    assert_eq!(s.screen, Screen::Wallet);
    let fx = update(&mut s, Action::Back);
    assert_eq!(s.screen, Screen::Chat);
    next_round(&fx);
    // Declined: the turn proposes nothing more; the model answers.
    round(&mut s, "As you wish.");
    // Purchase 2 is not past its deadline: no review, the model hears why.
    ask(&mut s, "refund purchase 2");
    let fx = round(
        &mut s,
        "<tool_call>\n{\"name\": \"market_proposal\", \"arguments\": {\"action\": \"refund\", \"id\": 2}}\n</tool_call>",
    );
    next_round(&fx);
    assert_eq!(s.screen, Screen::Chat);
    let last = &s.chat.messages.last().unwrap().text;
    assert!(last.contains("only after its deadline"), "{last}");
    round(&mut s, "Not yet.");
    // Above the most the model proposed: refused before any review.
    ask(&mut s, "buy listing 3 for 0.001");
    let fx = round(
        &mut s,
        "<tool_call>\n{\"name\": \"market_proposal\", \"arguments\": {\"action\": \"buy\", \"id\": 3, \"price\": \"0.001\"}}\n</tool_call>",
    );
    next_round(&fx);
    let last = &s.chat.messages.last().unwrap().text;
    assert!(last.contains("above the most proposed"), "{last}");
}

#[test]
fn another_programs_proposal_opens_with_the_loud_warning_and_its_decision_goes_to_the_queue() {
    use crate::bot::tools::Decision;
    use crate::store::{ProposalState, QueuedProposal};
    let mut s = ready();
    s.chat.focus = ChatFocus::List;
    let fx = update(&mut s, Action::Command('P'));
    assert!(matches!(
        fx.as_slice(),
        [Effect::Chat(ChatEffect::NextQueued)]
    ));
    update(&mut s, Action::Chat(ChatAction::Queued(None)));
    assert!(s.message.as_ref().unwrap().1.contains("no proposals"));
    let fx = update(
        &mut s,
        Action::Chat(ChatAction::Queued(Some(QueuedProposal {
            id: 4,
            tool: "transfer".into(),
            arguments: format!(r#"{{"to": "{THEM}", "amount": "2", "token": "tUSD"}}"#),
            source: "mcp".into(),
            state: ProposalState::Pending,
            result: None,
            created_at: 0,
        }))),
    );
    let [Effect::Wallet(WalletEffect::PrepareSend { id, request })] = fx.as_slice() else {
        panic!("{fx:?}")
    };
    assert_eq!(request.amount, alloy::primitives::U256::from(2_000_000u64));
    assert_eq!(
        reviewed(&mut s, *id, vec![]),
        [Warning::NotTypedByUser, Warning::ProposedByModel],
        "another program typed the address, not the user"
    );
    let fx = update(&mut s, Action::Back);
    assert_eq!(s.screen, Screen::Chat);
    assert!(
        matches!(
            fx.as_slice(),
            [Effect::Chat(ChatEffect::DecideQueued {
                id: 4,
                decision: Ok(Decision::Declined)
            })]
        ),
        "{fx:?}"
    );
    assert!(
        s.chat.bot.is_none(),
        "no turn of the chat's own was touched"
    );
}

/// A question that names nothing of the wallet or the market goes as a plain chat (the tools'
/// prompt would slow its answer for nothing); `bot.tools = always` sends the tools with it, and
/// a conversation that has asked about the wallet keeps them for its next question.
#[test]
fn a_question_not_about_the_wallet_goes_without_the_tools_unless_always() {
    let plain = |s: &mut State, question: &str| {
        typed(s, question);
        let fx = update(s, Action::Submit);
        let [Effect::Chat(ChatEffect::Send { bot, history, .. })] = fx.as_slice() else {
            panic!("a send: {fx:?}")
        };
        assert!(history.iter().all(|m| m.tool_calls.is_empty()));
        bot.is_none()
    };
    let mut s = ready();
    assert!(plain(&mut s, "Write a haiku about the sea."));

    let mut s = ready();
    let always = s
        .settings
        .items
        .iter_mut()
        .find(|i| i.key == crate::service::settings::BOT_TOOLS)
        .unwrap();
    assert_eq!(always.value, "asked");
    always.value = "always".into();
    ask(&mut s, "Write a haiku about the sea.");

    let mut s = ready();
    ask(&mut s, "What are my balances?");
    round(&mut s, "You hold 5 tUSD.");
    ask(&mut s, "And a haiku about that?");
}
