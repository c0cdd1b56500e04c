//! One turn with tools: render the conversation with the tools, generate (a lazy grammar holds
//! a call to the tools' schemas from its opening word on), read the calls, run them at the desk,
//! give the results back, generate again; at most `rounds` rounds, then the answer. Its text
//! streams as it comes, never a call's.
use serde_json::{Value, json};

use super::format::{self, ToolFormat, ToolSpec};
use super::route;
use super::tools::{self, Decision, Desk, Proposal, Ran};
use crate::chat::engine::{ChatError, ChatEvent, Engine, GenerateRequest, Prompt, Stats};
use crate::chat::sampling::SamplingParams;
use crate::chat::template::Message;

/// The last round's instruction: the answer, in words, from what the tools returned.
const ANSWER_FROM_RESULTS: &str = "Answer the user's question in plain words, using the results of the tools below. Do not write JSON or call tools.";

/// The most proposals one turn may open: a model in a loop does not get review after review.
pub const MAX_PROPOSALS: usize = 2;

/// What a model is told of a proposal after one was refused or declined in the same turn.
const STOPPED: &str = "a proposal was refused or declined earlier in this turn: nothing more is proposed until the user asks again";

/// What a model is told when it calls a tool again with the same arguments.
const ALREADY: &str = "this call was answered above: answer the user with that result";

/// The tools for one model: their specs, the JSON the template gets, the call grammar.
#[derive(Debug, Clone, PartialEq)]
pub struct Setup {
    pub format: ToolFormat,
    pub tools: Vec<ToolSpec>,
    pub tools_json: Value,
    pub grammar: String,
    /// The configured tokens' symbols: a question naming one is the wallet's ([`route`]).
    pub symbols: Vec<String>,
}

impl Setup {
    /// The bot's tools in `format` (`tokens`: the configured tokens' symbols), the grammar
    /// built by llama.cpp's own schema converter.
    pub fn new(format: ToolFormat, tokens: &[String]) -> Result<Setup, String> {
        let tools = tools::specs(tokens);
        let schema = ToolFormat::call_schema(&tools);
        let gbnf = llama_cpp_2::json_schema_to_grammar(&schema)
            .map_err(|e| format!("llama.cpp could not build the tools' grammar: {e}"))?;
        Ok(Setup {
            format,
            tools_json: format::tools_json(&tools),
            grammar: format.grammar(&gbnf),
            tools,
            symbols: tokens.to_vec(),
        })
    }

    /// Whether `messages` go to the model with the tools: always, or (`always` false, the
    /// setting `bot.tools = asked`) when the user's words are about the wallet or the market.
    pub fn wanted(&self, messages: &[Message], always: bool) -> bool {
        always || route::asks_for_tools(messages, &self.symbols)
    }

    /// Holds `sampling` to the call grammar, lazily: free text until a trigger opens a call.
    pub fn constrain(&self, sampling: &mut SamplingParams) {
        sampling.grammar = Some(self.grammar.clone());
        sampling.grammar_patterns = self.format.trigger_patterns();
        sampling.trigger_words = self.format.triggers();
        sampling.preserved = self.format.preserved();
    }
}

/// One call the model made, its arguments and the result it was given.
#[derive(Debug, Clone, PartialEq)]
pub struct CallRecord {
    pub name: String,
    pub arguments: Value,
    pub result: Value,
}

/// A proposal, and what the user decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProposalRecord {
    pub proposal: Proposal,
    pub decision: Decision,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outcome {
    pub answer: String,
    pub calls: Vec<CallRecord>,
    pub proposals: Vec<ProposalRecord>,
    /// The last round's figures.
    pub stats: Stats,
}

/// One call of a round that needs the desk: a read to answer or a proposal to review. The
/// driver answers it with [`Machine::answer`] under its `index`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Work {
    pub index: usize,
    pub call: tools::Call,
    /// For a proposal: whether the user typed each address it names in this conversation.
    pub from_user: bool,
}

/// What the driver does next.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Generate the next round ([`Machine::request`]).
    Generate,
    /// Answer these calls, then generate the next round.
    Run(Vec<Work>),
    /// The turn is over. `raw_is_answer`: the round had no call, so its whole text (with what
    /// streaming held back) is the answer.
    Done {
        outcome: Outcome,
        raw_is_answer: bool,
    },
}

/// One turn as a state machine, so the command line (blocking) and the app (event by event)
/// drive the same rounds: [`Machine::request`] says what to generate, [`Machine::generated`]
/// reads what came and says what to run, [`Machine::answer`] takes each result.
#[derive(Debug, Clone, PartialEq)]
pub struct Machine {
    setup: std::sync::Arc<Setup>,
    /// The conversation, the question last; the rounds' calls and results are appended.
    pub messages: Vec<Message>,
    rounds: usize,
    round: usize,
    /// Everything the user wrote in this conversation (a proposal's address must be in it).
    user_text: String,
    out: Outcome,
    /// The calls of the round being answered, each with its result once it has one.
    pending: Vec<(format::Call, Option<Value>, Option<ProposalRecord>)>,
    errors: Vec<String>,
    /// A proposal was refused (over a cap, a token this network lacks, …) or declined: the turn
    /// proposes nothing more. A model told "over the cap" otherwise proposes the cap itself.
    proposals_stopped: bool,
}

impl Machine {
    /// A turn over `messages` (ending with the user's question), at most `rounds` tool rounds.
    pub fn new(setup: std::sync::Arc<Setup>, messages: Vec<Message>, rounds: usize) -> Machine {
        let user_text = messages
            .iter()
            .filter(|m| m.role == "user")
            .map(|m| m.content.as_str())
            .collect::<Vec<_>>()
            .join("\n");
        Machine {
            setup,
            messages,
            rounds,
            round: 0,
            user_text,
            out: Outcome::default(),
            pending: Vec::new(),
            errors: Vec::new(),
            proposals_stopped: false,
        }
    }

    /// The tools this turn runs with.
    pub fn setup(&self) -> std::sync::Arc<Setup> {
        std::sync::Arc::clone(&self.setup)
    }

    /// Whether the next round is the last, without tools: the model answers with what it has
    /// (a small model otherwise calls the same tool again and again).
    pub fn last_round(&self) -> bool {
        self.round >= self.rounds
    }

    /// The next round's prompt: the conversation with the tools, or in the last round the
    /// folded results without them.
    pub fn prompt(&self) -> Prompt {
        if self.last_round() {
            Prompt::Chat(answer_prompt(&self.messages))
        } else {
            Prompt::Tools {
                messages: self.messages.clone(),
                tools: self.setup.tools_json.clone(),
            }
        }
    }

    /// The next round's request: its prompt, and the call grammar on `sampling` while the
    /// tools are on.
    pub fn request(&self, sampling: &SamplingParams, max_tokens: Option<u32>) -> GenerateRequest {
        let mut s = sampling.clone();
        if !self.last_round() {
            self.setup.constrain(&mut s);
        }
        GenerateRequest {
            prompt: self.prompt(),
            sampling: s,
            max_tokens,
        }
    }

    /// The calls made so far in this turn, with their results.
    pub fn calls(&self) -> &[CallRecord] {
        &self.out.calls
    }

    /// Reads a round's whole text: the answer, or the calls to run.
    pub fn generated(&mut self, text: &str, stats: Stats) -> Step {
        self.out.stats = stats;
        let parsed = self.setup.format.parse(text);
        let no_call = parsed.calls.is_empty() && parsed.errors.is_empty();
        if self.last_round() || no_call {
            let mut outcome = std::mem::take(&mut self.out);
            outcome.answer = parsed.content;
            return Step::Done {
                outcome,
                raw_is_answer: no_call,
            };
        }
        let answered = |calls: &[CallRecord], c: &format::Call| {
            calls
                .iter()
                .any(|r| r.name == c.name && r.arguments == c.arguments)
        };
        if parsed.errors.is_empty() && parsed.calls.iter().all(|c| answered(&self.out.calls, c)) {
            // Only calls already answered: nothing new to learn. They are left out of the
            // conversation, and the answer comes now, from the results it has.
            self.round = self.rounds;
            return Step::Generate;
        }
        self.messages.push(Message::tool_calls(
            parsed.content.clone(),
            parsed
                .calls
                .iter()
                .map(|c| (c.name.clone(), c.arguments.clone())),
        ));
        let mut work = Vec::new();
        let mut proposals = self.out.proposals.len();
        self.pending.clear();
        for (index, call) in parsed.calls.into_iter().enumerate() {
            let early = if answered(&self.out.calls, &call) {
                Some(json!({"error": ALREADY}))
            } else {
                match tools::parse(&call.name, &call.arguments) {
                    Err(line) => Some(json!({"error": line})),
                    Ok(tools::Call::Propose(_)) if self.proposals_stopped => {
                        Some(json!({"error": STOPPED}))
                    }
                    Ok(tools::Call::Propose(_)) if proposals >= MAX_PROPOSALS => Some(
                        json!({"error": format!("at most {MAX_PROPOSALS} proposals in one turn: this one was not shown to the user")}),
                    ),
                    Ok(c) => {
                        let from_user = match &c {
                            tools::Call::Propose(p) => {
                                proposals += 1;
                                p.typed_by_user(&self.user_text)
                            }
                            tools::Call::Read(_) => true,
                        };
                        work.push(Work {
                            index,
                            call: c,
                            from_user,
                        });
                        None
                    }
                }
            };
            self.pending.push((call, early, None));
        }
        self.errors = parsed.errors;
        if work.is_empty() {
            self.finish_round();
            return Step::Generate;
        }
        Step::Run(work)
    }

    /// The result of call `index` of this round. When it is the last one missing, the results go
    /// into the conversation and the next round is due ([`Machine::request`]): true then.
    pub fn answer(&mut self, index: usize, ran: Ran) -> bool {
        if let Some(slot) = self.pending.get_mut(index) {
            let proposed = tools::kind(&slot.0.name) == Some(tools::Kind::Proposal);
            if proposed
                && !matches!(
                    ran.proposal,
                    Some((_, Decision::Signed(_) | Decision::Pending))
                )
            {
                self.proposals_stopped = true;
            }
            slot.1 = Some(ran.result);
            slot.2 = ran
                .proposal
                .map(|(proposal, decision)| ProposalRecord { proposal, decision });
        }
        if self.pending.iter().all(|(_, r, _)| r.is_some()) {
            self.finish_round();
            return true;
        }
        false
    }

    fn finish_round(&mut self) {
        for (call, result, proposal) in self.pending.drain(..) {
            let result = result.unwrap_or(Value::Null);
            self.messages.push(Message::tool_result(result.to_string()));
            self.out.calls.push(CallRecord {
                name: call.name,
                arguments: call.arguments,
                result,
            });
            self.out.proposals.extend(proposal);
        }
        for line in self.errors.drain(..) {
            self.messages
                .push(Message::tool_result(json!({"error": line}).to_string()));
        }
        self.round += 1;
    }
}

/// Runs one turn to its end on this thread: each round generated on `engine`, each call
/// answered at `desk` (a proposal reviewed there). `messages` ends with the user's question and
/// gets the rounds' calls and results (the conversation keeps them); the answer is the caller's
/// to append. The answer's text streams to `on_text`, never a call's.
#[allow(clippy::too_many_arguments)]
pub fn run(
    engine: &Engine,
    setup: std::sync::Arc<Setup>,
    messages: &mut Vec<Message>,
    sampling: &SamplingParams,
    max_tokens: Option<u32>,
    rounds: usize,
    desk: &mut dyn Desk,
    mut on_text: impl FnMut(&str),
) -> Result<Outcome, ChatError> {
    let mut m = Machine::new(setup, std::mem::take(messages), rounds);
    loop {
        let mut text = String::new();
        let mut shown = 0;
        let turn = engine.generate_blocking(m.request(sampling, max_tokens), |ev| {
            if let ChatEvent::Piece(p) = ev {
                text.push_str(p);
                let show = format::shown_prefix(&text);
                if show.len() > shown {
                    on_text(&show[shown..]);
                    shown = show.len();
                }
            }
        })?;
        match m.generated(&turn.text, turn.stats) {
            Step::Done {
                outcome,
                raw_is_answer,
            } => {
                // The answer: what was held back (a `<` that started no call) is shown now.
                if raw_is_answer && turn.text.len() > shown {
                    on_text(&turn.text[shown..]);
                }
                *messages = m.messages;
                return Ok(outcome);
            }
            Step::Generate => {}
            Step::Run(work) => {
                for w in work {
                    m.answer(w.index, tools::run_call(desk, &w.call, w.from_user));
                }
            }
        }
    }
}

/// The last round's conversation: the tool rounds folded into one user turn that holds the
/// question and what each tool returned, in plain text. A model answers from results laid out so
/// (a small one, shown its own calls in the template's syntax, calls again instead).
fn answer_prompt(messages: &[Message]) -> Vec<Message> {
    let mut out: Vec<Message> = messages
        .iter()
        .filter(|m| m.role == "system")
        .cloned()
        .collect();
    let mut text = String::new();
    let mut calls = Vec::new();
    for m in messages.iter().filter(|m| m.role != "system") {
        match m.role.as_str() {
            "user" => {
                if !text.is_empty() {
                    text.push_str("\n\n");
                }
                text.push_str(&m.content);
            }
            "assistant" => calls.extend(m.tool_calls.iter().map(|c| c.function.name.clone())),
            "tool" => {
                let name = if calls.is_empty() {
                    "tool".to_owned()
                } else {
                    calls.remove(0)
                };
                text.push_str(&format!("\n\nResult of {name}: {}", m.content));
            }
            _ => {}
        }
    }
    out.push(Message::user(format!("{ANSWER_FROM_RESULTS}\n\n{text}")));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bot::tools::Read;

    fn machine(rounds: usize, question: &str) -> Machine {
        let setup = Setup::new(ToolFormat::Hermes, &["tUSD".to_owned()]).unwrap();
        Machine::new(
            std::sync::Arc::new(setup),
            vec![Message::user(question)],
            rounds,
        )
    }

    fn call(name: &str, args: &str) -> String {
        format!("<tool_call>\n{{\"name\": \"{name}\", \"arguments\": {args}}}\n</tool_call>")
    }

    fn is_tools(m: &Machine) -> bool {
        let r = m.request(&SamplingParams::default(), None);
        match r.prompt {
            Prompt::Tools { .. } => {
                assert!(r.sampling.grammar.is_some());
                true
            }
            Prompt::Chat(_) => {
                assert!(r.sampling.grammar.is_none());
                false
            }
            _ => unreachable!(),
        }
    }

    #[test]
    fn an_answer_without_calls_ends_the_turn() {
        let mut m = machine(4, "hello");
        assert!(is_tools(&m));
        let Step::Done {
            outcome,
            raw_is_answer,
        } = m.generated("Hi there.", Stats::default())
        else {
            panic!("done")
        };
        assert!(raw_is_answer);
        assert_eq!(outcome.answer, "Hi there.");
        assert!(outcome.calls.is_empty());
    }

    #[test]
    fn a_read_is_run_its_result_fed_back_and_the_answer_comes_next_round() {
        let mut m = machine(4, "my balance?");
        let step = m.generated(&call("balances", "{}"), Stats::default());
        assert_eq!(
            step,
            Step::Run(vec![Work {
                index: 0,
                call: tools::Call::Read(Read::Balances),
                from_user: true,
            }])
        );
        assert!(m.answer(0, Ran::read(Ok(json!({"ETH": "1"})))));
        // The call and its result are in the conversation, the tools still on.
        assert_eq!(m.messages.len(), 3);
        assert_eq!(m.messages[1].tool_calls[0].function.name, "balances");
        assert_eq!(m.messages[2].role, "tool");
        assert!(is_tools(&m));
        let Step::Done { outcome, .. } = m.generated("You have 1 ETH.", Stats::default()) else {
            panic!("done")
        };
        assert_eq!(outcome.calls.len(), 1);
        assert_eq!(outcome.calls[0].result, json!({"ETH": "1"}));
        assert_eq!(outcome.answer, "You have 1 ETH.");
    }

    #[test]
    fn the_same_call_again_goes_to_the_last_round_without_tools() {
        let mut m = machine(4, "my balance?");
        let c = call("balances", "{}");
        assert!(matches!(m.generated(&c, Stats::default()), Step::Run(_)));
        m.answer(0, Ran::read(Ok(json!([]))));
        assert_eq!(m.generated(&c, Stats::default()), Step::Generate);
        assert!(m.last_round());
        assert!(!is_tools(&m));
        // Whatever the last round writes is the answer, a call included.
        let Step::Done { raw_is_answer, .. } = m.generated(&c, Stats::default()) else {
            panic!("done")
        };
        assert!(!raw_is_answer);
    }

    #[test]
    fn bad_calls_are_answered_at_once_and_only_two_proposals_reach_the_user() {
        let mut m = machine(4, "pay");
        let to = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
        let t = |amount: &str| {
            call(
                "transfer",
                &format!("{{\"to\": \"{to}\", \"amount\": \"{amount}\"}}"),
            )
        };
        let answer_all = |m: &mut Machine, work: Vec<Work>| {
            for w in work {
                let ran = match &w.call {
                    tools::Call::Propose(p) => Ran::decided(p.clone(), Decision::Pending),
                    tools::Call::Read(_) => Ran::read(Err("offline".into())),
                };
                m.answer(w.index, ran);
            }
        };
        let text = format!(
            "{}\n{}\n{}\n{}",
            call("nope", "{}"),
            call("activity", "{\"limit\": \"x\"}"),
            call("activity", "{}"),
            t("1")
        );
        let Step::Run(work) = m.generated(&text, Stats::default()) else {
            panic!("run")
        };
        assert_eq!(work.len(), 2, "{work:?}");
        assert_eq!(
            work[0].call,
            tools::Call::Read(Read::Activity { limit: 10 })
        );
        assert!(matches!(work[1].call, tools::Call::Propose(_)));
        assert!(!work[1].from_user, "the user never typed the address");
        answer_all(&mut m, work);
        // The next round: two more proposals, of which one reaches the user.
        let Step::Run(work) = m.generated(&format!("{}\n{}", t("2"), t("3")), Stats::default())
        else {
            panic!("run")
        };
        assert_eq!(work.len(), 1);
        answer_all(&mut m, work);
        let results: Vec<&str> = m
            .messages
            .iter()
            .filter(|x| x.role == "tool")
            .map(|x| x.content.as_str())
            .collect();
        assert_eq!(results.len(), 6);
        assert!(results[0].contains("there is no tool"), "{}", results[0]);
        assert!(results[1].contains("wrong arguments for activity"));
        assert!(results[3].contains("waiting for the user"));
        assert!(results[5].contains("at most 2 proposals"), "{}", results[5]);
        let Step::Done { outcome, .. } = m.generated("ok", Stats::default()) else {
            panic!("done")
        };
        assert_eq!(outcome.proposals.len(), 2);
        assert_eq!(outcome.calls.len(), 6);
    }

    #[test]
    fn no_rounds_means_a_plain_answer() {
        let m = machine(0, "hi");
        assert!(m.last_round());
        assert!(!is_tools(&m));
    }

    #[test]
    fn after_a_refused_proposal_the_turn_proposes_nothing_more() {
        let mut m = machine(4, "send 5 tUSD to Bob");
        let t = |amount: &str| {
            call(
                "transfer",
                &format!(
                    "{{\"to\": \"0x70997970C51812dc3A010C7d01b50e0d17dc79C8\", \"amount\": \"{amount}\"}}"
                ),
            )
        };
        let Step::Run(work) = m.generated(&t("5"), Stats::default()) else {
            panic!("run")
        };
        // Over the user's cap: refused before any review.
        m.answer(work[0].index, Ran::error("over the cap of 1 tUSD".into()));
        // The model tries the cap itself: not even shown to the desk.
        assert_eq!(m.generated(&t("1"), Stats::default()), Step::Generate);
        let last = m.messages.last().unwrap();
        assert!(
            last.content.contains("refused or declined earlier"),
            "{}",
            last.content
        );
    }
}
