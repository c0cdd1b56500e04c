//! One turn with tools: render the conversation with the tools, generate (a lazy grammar holds
//! a call to the tools' schemas from its opening word on), read the calls, run them at the desk,
//! give the results back, generate again; at most `rounds` rounds, then the answer. Its text
//! streams as it comes, never a call's.
use serde_json::{Value, json};

use super::format::{self, ToolFormat, ToolSpec};
use super::tools::{self, Decision, Desk, Proposal};
use crate::chat::engine::{ChatError, ChatEvent, Engine, GenerateRequest, Prompt, Stats};
use crate::chat::sampling::SamplingParams;
use crate::chat::template::Message;

/// The last round's instruction: the answer, in words, from what the tools returned.
const ANSWER_FROM_RESULTS: &str = "Answer the user's question in plain words, using the results of the tools below. Do not write JSON or call tools.";

/// The most proposals one turn may open: a model in a loop does not get review after review.
pub const MAX_PROPOSALS: usize = 2;

/// What a model is told when it calls a tool again with the same arguments.
const ALREADY: &str = "this call was answered above: answer the user with that result";

/// The tools for one model: their specs, the JSON the template gets, the call grammar.
#[derive(Debug, Clone)]
pub struct Setup {
    pub format: ToolFormat,
    pub tools: Vec<ToolSpec>,
    pub tools_json: Value,
    pub grammar: String,
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
        })
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

/// Runs one turn. `messages` ends with the user's question; the rounds' calls and results are
/// appended to it (the conversation keeps them), and the answer is the caller's to append.
#[allow(clippy::too_many_arguments)]
pub fn run(
    engine: &Engine,
    setup: &Setup,
    messages: &mut Vec<Message>,
    sampling: &SamplingParams,
    max_tokens: Option<u32>,
    rounds: usize,
    desk: &mut dyn Desk,
    mut on_text: impl FnMut(&str),
) -> Result<Outcome, ChatError> {
    let mut out = Outcome::default();
    let user_text: String = messages
        .iter()
        .filter(|m| m.role == "user")
        .map(|m| m.content.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    let mut round = 0;
    loop {
        // The last round has no tools: the model answers with what it has (a small model
        // otherwise calls the same tool again and again).
        let last = round >= rounds;
        let mut s = sampling.clone();
        let prompt = if last {
            Prompt::Chat(answer_prompt(messages))
        } else {
            s.grammar = Some(setup.grammar.clone());
            s.grammar_patterns = setup.format.trigger_patterns();
            s.trigger_words = setup.format.triggers();
            s.preserved = setup.format.preserved();
            Prompt::Tools {
                messages: messages.clone(),
                tools: setup.tools_json.clone(),
            }
        };
        let req = GenerateRequest {
            prompt,
            sampling: s,
            max_tokens,
        };
        let mut text = String::new();
        let mut shown = 0;
        let turn = engine.generate_blocking(req, |ev| {
            if let ChatEvent::Piece(p) = ev {
                text.push_str(p);
                let show = format::shown_prefix(&text);
                if show.len() > shown {
                    on_text(&show[shown..]);
                    shown = show.len();
                }
            }
        })?;
        out.stats = turn.stats;
        let parsed = setup.format.parse(&turn.text);
        if last || (parsed.calls.is_empty() && parsed.errors.is_empty()) {
            // The answer: what was held back (a `<` that started no call) is shown now.
            if parsed.calls.is_empty() && parsed.errors.is_empty() && turn.text.len() > shown {
                on_text(&turn.text[shown..]);
            }
            out.answer = parsed.content;
            return Ok(out);
        }
        let answered = |calls: &[CallRecord], c: &super::format::Call| {
            calls
                .iter()
                .any(|r| r.name == c.name && r.arguments == c.arguments)
        };
        if parsed.errors.is_empty() && parsed.calls.iter().all(|c| answered(&out.calls, c)) {
            // Only calls already answered: nothing new to learn. They are left out of the
            // conversation, and the answer comes now, from the results it has.
            round = rounds;
            continue;
        }
        messages.push(Message::tool_calls(
            parsed.content.clone(),
            parsed
                .calls
                .iter()
                .map(|c| (c.name.clone(), c.arguments.clone())),
        ));
        for call in &parsed.calls {
            let result = if answered(&out.calls, call) {
                json!({"error": ALREADY})
            } else if tools::kind(&call.name) == Some(tools::Kind::Proposal)
                && out.proposals.len() >= MAX_PROPOSALS
            {
                json!({"error": format!("at most {MAX_PROPOSALS} proposals in one turn: this one was not shown to the user")})
            } else {
                let ran = tools::run(desk, &call.name, &call.arguments, &user_text);
                if let Some((proposal, decision)) = ran.proposal {
                    out.proposals.push(ProposalRecord { proposal, decision });
                }
                ran.result
            };
            out.calls.push(CallRecord {
                name: call.name.clone(),
                arguments: call.arguments.clone(),
                result: result.clone(),
            });
            messages.push(Message::tool_result(result.to_string()));
        }
        for line in &parsed.errors {
            messages.push(Message::tool_result(json!({"error": line}).to_string()));
        }
        round += 1;
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
