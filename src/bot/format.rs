//! How a model asks for a tool: the format its chat template teaches, the grammar that holds a
//! call to the tools' schemas once the model starts one, and the parser of what it wrote. Pure.
//!
//! llama.cpp's server does this with `common_chat_templates_apply` and `common_chat_parse`; the
//! Rust bindings keybot pins (llama-cpp-2 0.1.160) do not expose those, so keybot renders the
//! template itself (minijinja, as it renders every chat) and implements the format here. What it
//! does use of llama.cpp is the grammar machinery: the JSON-schema-to-GBNF converter and the lazy
//! grammar sampler, triggered by the format's opening word, as llama-server triggers it. The
//! prompt and the parse are checked against llama.cpp's own on the same template by the
//! reference helper (`scripts/llama-render-template.cpp`, tests/model/bot_parity.rs).
//!
//! One format today: **Hermes** (`<tool_call>{"name": …, "arguments": {…}}</tool_call>`), the
//! one Qwen 2.5 and 3, Hermes 2 and 3 and their many fine-tunes are trained on. A template that
//! takes `tools` in another format is reported as such, and the chat goes on without tools.
//!
//! One deliberate difference from llama.cpp's current parser: an answer that *is* a bare call
//! (`{"name": "balances", "arguments": {}}` and nothing else, naming one of the tools) is read
//! as that call. Small models write calls so (the 0.5B test model does, under llama.cpp too),
//! and llama.cpp's earlier Hermes handler took them the same way; the lazy grammar is triggered
//! by that opening as well, so such a call is held to the schemas like a tagged one.
use serde_json::Value;

/// The most calls read from one answer (a runaway model writes ten in a row: the rest are
/// refused, each with a line).
pub const MAX_CALLS: usize = 4;
/// The longest call read (its JSON), in bytes.
pub const MAX_CALL_BYTES: usize = 8 * 1024;

const OPEN: &str = "<tool_call>";
const CLOSE: &str = "</tool_call>";

/// What a template says about tools.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Support {
    /// It renders tools and teaches this format.
    Format(ToolFormat),
    /// It renders `tools`, in a format keybot does not read yet.
    UnknownFormat,
    /// It never mentions tools.
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToolFormat {
    Hermes,
}

impl Support {
    /// Read from the template's source (None: llama.cpp's built-in matcher renders no tools).
    pub fn of_template(source: Option<&str>) -> Support {
        let Some(src) = source else {
            return Support::None;
        };
        if !src.contains("tools") {
            Support::None
        } else if src.contains(OPEN) {
            Support::Format(ToolFormat::Hermes)
        } else {
            Support::UnknownFormat
        }
    }

    /// One line for the user when the chat goes on without tools.
    pub fn why_not(self) -> Option<&'static str> {
        match self {
            Support::Format(_) => None,
            Support::UnknownFormat => Some(
                "this model's chat template calls tools in a format keybot does not read yet; chatting without tools",
            ),
            Support::None => {
                Some("this model's chat template has no tool calls; chatting without tools")
            }
        }
    }
}

/// A tool as the model sees it: its name, what it does, and a JSON schema of its arguments.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolSpec {
    pub name: &'static str,
    pub description: &'static str,
    pub parameters: Value,
}

/// The tools in the OpenAI shape the templates take (`{"type": "function", "function": {…}}`).
pub fn tools_json(tools: &[ToolSpec]) -> Value {
    Value::Array(
        tools
            .iter()
            .map(|t| {
                serde_json::json!({
                    "type": "function",
                    "function": {
                        "name": t.name,
                        "description": t.description,
                        "parameters": t.parameters,
                    }
                })
            })
            .collect(),
    )
}

impl ToolFormat {
    /// The words that start a call (as tokens too, where they are one).
    pub fn triggers(self) -> Vec<String> {
        match self {
            ToolFormat::Hermes => vec![OPEN.to_owned()],
        }
    }

    /// The lazy grammar's triggers, as llama.cpp matches them (the whole output so far against
    /// each; the grammar is fed from the first group on): the opening tag anywhere, or a bare
    /// call as the answer's start.
    pub fn trigger_patterns(self) -> Vec<String> {
        match self {
            ToolFormat::Hermes => {
                // The bare call triggers at `{"name"`: from there the grammar holds the name to
                // the tools' (a pattern naming them would never match a made-up name, and the
                // model would go on unheld). What the group holds must be text the grammar
                // accepts (llama.cpp feeds it to the grammar, and aborts on text it refuses), so
                // only the white space the grammar's `space` allows there. A Markdown fence
                // before it (```json) is passed over, as llama.cpp's earlier handler did.
                vec![
                    format!("[\\s\\S]*?({})[\\s\\S]*", regex_escape(OPEN)),
                    "^\\s*(?:```(?:json)?\\s*)?(\\{(?: |\\n{1,2}[ \\t]{0,20})?\"name\")[\\s\\S]*"
                        .to_owned(),
                ]
            }
        }
    }

    /// The format's tags: shown as text even where the vocabulary has them as special tokens.
    pub fn preserved(self) -> Vec<String> {
        match self {
            ToolFormat::Hermes => vec![OPEN.to_owned(), CLOSE.to_owned()],
        }
    }

    /// The JSON schema of one call, as text: an object naming one of the tools, with that
    /// tool's arguments (what llama.cpp builds per tool for the same format). Text, because the
    /// order of its properties is the order the grammar holds the model to: `name` first, as
    /// every model writes it (serde_json's maps would sort `arguments` before it).
    pub fn call_schema(tools: &[ToolSpec]) -> String {
        let one = |t: &ToolSpec| {
            format!(
                "{{\"type\": \"object\", \"properties\": {{\"name\": {{\"const\": {}}}, \"arguments\": {}}}, \"required\": [\"name\", \"arguments\"]}}",
                Value::String(t.name.to_owned()),
                t.parameters
            )
        };
        match tools {
            [t] => one(t),
            _ => format!(
                "{{\"anyOf\": [{}]}}",
                tools.iter().map(one).collect::<Vec<_>>().join(", ")
            ),
        }
    }

    /// The GBNF grammar of one call, from `call_gbnf` (llama.cpp's conversion of
    /// [`ToolFormat::call_schema`], whose rules are rooted at `root`): the format's tags around it.
    pub fn grammar(self, call_gbnf: &str) -> String {
        match self {
            ToolFormat::Hermes => {
                // The converted schema's `root` becomes `call`; the grammar's root is the tagged
                // call (llama.cpp's Hermes grammar: one call, then the turn ends).
                let mut g = String::with_capacity(call_gbnf.len() + 128);
                for line in call_gbnf.lines() {
                    match line.strip_prefix("root ::=") {
                        Some(rest) => {
                            g.push_str("call ::=");
                            g.push_str(rest);
                        }
                        None => g.push_str(line),
                    }
                    g.push('\n');
                }
                g.push_str(
                    "root ::= \"<tool_call>\" [ \\n]{0,2} call [ \\n]{0,2} \"</tool_call>\" | call\n",
                );
                g
            }
        }
    }

    /// What the model wrote: its text outside the calls, the calls, and one line per call that
    /// could not be read (never a panic, whatever the model wrote).
    pub fn parse(self, answer: &str) -> Parsed {
        match self {
            ToolFormat::Hermes => parse_hermes(answer),
        }
    }
}

/// One call the model made, as written: `arguments` still to be checked by its tool.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    pub name: String,
    pub arguments: Value,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Parsed {
    /// The answer's text outside the calls, trimmed.
    pub content: String,
    pub calls: Vec<Call>,
    /// A line for each call that was not read (the model gets it back as the call's result).
    pub errors: Vec<String>,
}

fn parse_hermes(answer: &str) -> Parsed {
    let mut out = Parsed::default();
    let mut content = String::new();
    let mut rest = answer;
    while let Some(at) = rest.find(OPEN) {
        content.push_str(&rest[..at]);
        let body_start = at + OPEN.len();
        let (body, next) = match rest[body_start..].find(CLOSE) {
            Some(end) => (
                &rest[body_start..body_start + end],
                &rest[body_start + end + CLOSE.len()..],
            ),
            None => {
                out.errors
                    .push("an unfinished tool call (no </tool_call>): ignored".to_owned());
                rest = "";
                break;
            }
        };
        rest = next;
        if out.calls.len() + out.errors.len() >= MAX_CALLS {
            out.errors.push(format!(
                "more than {MAX_CALLS} tool calls in one answer: the rest are ignored"
            ));
            rest = "";
            break;
        }
        match read_call(body) {
            Ok(call) => out.calls.push(call),
            Err(why) => out.errors.push(why),
        }
    }
    content.push_str(rest);
    out.content = content.trim().to_owned();
    // An answer that is one bare call and nothing else (in a Markdown fence or not).
    let bare = out
        .content
        .strip_prefix("```json")
        .or_else(|| out.content.strip_prefix("```"))
        .map_or(out.content.as_str(), |s| {
            s.trim_end().trim_end_matches("```")
        })
        .trim()
        .to_owned();
    if out.calls.is_empty()
        && out.errors.is_empty()
        && bare.starts_with('{')
        && let Ok(v) = serde_json::from_str::<Value>(&bare)
        && v.get("name").is_some_and(Value::is_string)
        && (v.get("arguments").is_some() || v.get("parameters").is_some())
    {
        match read_call(&bare) {
            Ok(call) => out.calls.push(call),
            Err(why) => out.errors.push(why),
        }
        out.content.clear();
    }
    out
}

/// `s` with the regular expression's special characters escaped.
fn regex_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 2);
    for c in s.chars() {
        if "\\^$.|?*+()[]{}".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn read_call(body: &str) -> Result<Call, String> {
    let body = body.trim();
    if body.len() > MAX_CALL_BYTES {
        return Err(format!(
            "a tool call of {} bytes (over {MAX_CALL_BYTES}): ignored",
            body.len()
        ));
    }
    let v: Value = serde_json::from_str(body)
        .map_err(|e| format!("a tool call that is not JSON ({e}): ignored"))?;
    let Some(obj) = v.as_object() else {
        return Err("a tool call that is not a JSON object: ignored".to_owned());
    };
    let Some(name) = obj.get("name").and_then(Value::as_str) else {
        return Err("a tool call without a name: ignored".to_owned());
    };
    // Some models write `parameters` (Llama 3's word) for `arguments`.
    let arguments = obj
        .get("arguments")
        .or_else(|| obj.get("parameters"))
        .cloned()
        .unwrap_or_else(|| Value::Object(serde_json::Map::new()));
    // Arguments written as a JSON string holding the object (the OpenAI wire shape).
    let arguments = match arguments {
        Value::String(s) => serde_json::from_str(&s)
            .map_err(|_| format!("the arguments of {name:?} are not a JSON object: ignored"))?,
        other => other,
    };
    if !arguments.is_object() {
        return Err(format!(
            "the arguments of {name:?} are not a JSON object: ignored"
        ));
    }
    Ok(Call {
        name: name.to_owned(),
        arguments,
    })
}

/// While an answer streams: how much of `text` can be shown now. A tool call is never shown as
/// text, so the tail that may be the start of one (`<tool`) waits for the next piece, and an
/// answer that opens with `{` (a bare call, or JSON) waits for its end.
pub fn shown_prefix(text: &str) -> &str {
    let start = text.trim_start();
    if start.starts_with('{') || start.starts_with('`') || start.is_empty() {
        return "";
    }
    if let Some(at) = text.find(OPEN) {
        return &text[..at];
    }
    // The longest suffix of `text` that is a proper prefix of the opening tag.
    for k in (1..OPEN.len()).rev() {
        if text.len() >= k
            && text.is_char_boundary(text.len() - k)
            && OPEN.starts_with(&text[text.len() - k..])
        {
            return &text[..text.len() - k];
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn tool(name: &'static str) -> ToolSpec {
        ToolSpec {
            name,
            description: "a tool",
            parameters: json!({"type": "object", "properties": {"n": {"type": "integer"}}, "required": []}),
        }
    }

    #[test]
    fn support_is_read_from_the_template() {
        let qwen = "{%- if tools %}…<tool_call>\n{\"name\": …}</tool_call>{% endif %}";
        assert_eq!(
            Support::of_template(Some(qwen)),
            Support::Format(ToolFormat::Hermes)
        );
        assert_eq!(
            Support::of_template(Some("{% if tools %}[TOOL_CALLS]{% endif %}")),
            Support::UnknownFormat
        );
        assert_eq!(
            Support::of_template(Some("{{ messages[0].content }}")),
            Support::None
        );
        assert_eq!(Support::of_template(None), Support::None);
        assert!(Support::None.why_not().unwrap().contains("without tools"));
    }

    #[test]
    fn calls_and_text_are_read_apart() {
        let p = ToolFormat::Hermes.parse(
            "Let me look.\n<tool_call>\n{\"name\": \"balances\", \"arguments\": {}}\n</tool_call>",
        );
        assert_eq!(p.content, "Let me look.");
        assert_eq!(
            p.calls,
            [Call {
                name: "balances".into(),
                arguments: json!({})
            }]
        );
        assert!(p.errors.is_empty());
        // No call: all text.
        let p = ToolFormat::Hermes.parse("You have 5 tUSD.");
        assert_eq!(p.content, "You have 5 tUSD.");
        assert!(p.calls.is_empty());
        // A bare call as the whole answer (what small models write).
        let p = ToolFormat::Hermes.parse("{\"name\": \"accounts\", \"arguments\": {}}\n");
        assert_eq!(p.calls.len(), 1);
        assert_eq!(p.content, "");
        let p = ToolFormat::Hermes
            .parse("```json\n{\n  \"name\": \"accounts\",\n  \"arguments\": {}\n}\n```");
        assert_eq!(p.calls.len(), 1, "{p:?}");
        // JSON that is no call stays text.
        let p = ToolFormat::Hermes.parse("{\"balance\": 5}");
        assert!(p.calls.is_empty());
        assert_eq!(p.content, "{\"balance\": 5}");
        // Arguments as a JSON string, and Llama's `parameters`.
        let p = ToolFormat::Hermes.parse(
            "<tool_call>{\"name\": \"a\", \"arguments\": \"{\\\"n\\\": 1}\"}</tool_call><tool_call>{\"name\": \"b\", \"parameters\": {\"n\": 2}}</tool_call>",
        );
        assert_eq!(p.calls[0].arguments, json!({"n": 1}));
        assert_eq!(p.calls[1].arguments, json!({"n": 2}));
    }

    #[test]
    fn hostile_answers_give_one_line_each_and_no_call() {
        for (answer, line) in [
            ("<tool_call>{\"name\": \"a\", \"argum", "unfinished"),
            ("<tool_call>not json</tool_call>", "not JSON"),
            ("<tool_call>[1, 2]</tool_call>", "not a JSON object"),
            (
                "<tool_call>{\"arguments\": {}}</tool_call>",
                "without a name",
            ),
            (
                "<tool_call>{\"name\": \"a\", \"arguments\": 5}</tool_call>",
                "are not a JSON object",
            ),
        ] {
            let p = ToolFormat::Hermes.parse(answer);
            assert!(p.calls.is_empty(), "{answer}");
            assert_eq!(p.errors.len(), 1, "{answer}: {:?}", p.errors);
            assert!(p.errors[0].contains(line), "{answer}: {:?}", p.errors);
            assert!(!p.errors[0].contains('\n'));
        }
        // Ten calls in a row: four are read, then one line for the rest.
        let ten = "<tool_call>{\"name\": \"a\", \"arguments\": {}}</tool_call>".repeat(10);
        let p = ToolFormat::Hermes.parse(&ten);
        assert_eq!(p.calls.len(), MAX_CALLS);
        assert_eq!(p.errors.len(), 1);
        assert!(p.errors[0].contains("more than 4"));
        // A huge call.
        let huge = format!(
            "<tool_call>{{\"name\": \"a\", \"arguments\": {{\"s\": \"{}\"}}}}</tool_call>",
            "x".repeat(MAX_CALL_BYTES)
        );
        assert!(ToolFormat::Hermes.parse(&huge).errors[0].contains("bytes"));
    }

    #[test]
    fn the_grammar_wraps_the_converted_schema_in_the_tags() {
        let g = ToolFormat::Hermes.grammar("root ::= \"{\" space \"}\"\nspace ::= \" \"?\n");
        assert!(g.contains("call ::= \"{\" space \"}\""), "{g}");
        assert!(g.contains("root ::= \"<tool_call>\""), "{g}");
        assert_eq!(g.matches("root ::=").count(), 1, "{g}");
        let pats = ToolFormat::Hermes.trigger_patterns();
        assert_eq!(pats[0], "[\\s\\S]*?(<tool_call>)[\\s\\S]*");
        assert_eq!(
            pats[1],
            "^\\s*(?:```(?:json)?\\s*)?(\\{(?: |\\n{1,2}[ \\t]{0,20})?\"name\")[\\s\\S]*"
        );
        let schema = ToolFormat::call_schema(&[tool("a"), tool("b")]);
        let v: Value = serde_json::from_str(&schema).unwrap();
        assert_eq!(v["anyOf"][1]["properties"]["name"]["const"], "b");
        // `name` before `arguments`: the order the grammar holds the model to.
        assert!(schema.find("\"name\"").unwrap() < schema.find("\"arguments\"").unwrap());
        let v: Value = serde_json::from_str(&ToolFormat::call_schema(&[tool("a")])).unwrap();
        assert_eq!(v["properties"]["name"]["const"], "a");
    }

    #[test]
    fn a_streamed_answer_never_shows_a_call() {
        assert_eq!(shown_prefix("Hello"), "Hello");
        assert_eq!(shown_prefix("Hello <tool"), "Hello ");
        assert_eq!(shown_prefix("Hello <tool_call>{\"na"), "Hello ");
        assert_eq!(shown_prefix("a < b"), "a < b");
        assert_eq!(shown_prefix("ünïcödé <"), "ünïcödé ");
        assert_eq!(shown_prefix(" {\"name\": \"acc"), "");
        assert_eq!(shown_prefix("\n"), "");
    }

    #[test]
    fn tools_are_given_in_the_openai_shape() {
        let v = tools_json(&[tool("balances")]);
        assert_eq!(v[0]["type"], "function");
        assert_eq!(v[0]["function"]["name"], "balances");
        assert_eq!(v[0]["function"]["parameters"]["type"], "object");
    }
}
