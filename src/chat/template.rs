//! Turning a conversation into the prompt text the model was trained on.
//!
//! The model's own Jinja template (`tokenizer.chat_template` in the GGUF) is rendered the way
//! llama.cpp's `--jinja` renders it: `messages`, `add_generation_prompt`, `bos_token`,
//! `eos_token`, `raise_exception`, `strftime_now`, Python string methods, and the HF
//! whitespace rules (`trim_blocks`, `lstrip_blocks`). If minijinja cannot handle a template,
//! llama.cpp's built-in matcher (`llama_chat_apply_template`, which recognises the common
//! families by their markers) gets a chance. A model with no template gets what llama.cpp gives
//! it: ChatML. Only when none of these works is it an error, and the error says what to do.
use llama_cpp_2::model::{LlamaChatMessage, LlamaChatTemplate, LlamaModel};
use serde::{Deserialize, Serialize};

/// One turn of a conversation. An assistant turn may carry the tool calls the model made; a
/// `tool` turn carries one call's result in `content` (the bot, `crate::bot`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub role: String,
    pub content: String,
    /// In the OpenAI shape the chat templates read (`{"type": "function", "function": {"name",
    /// "arguments"}}`, the arguments as a JSON object); absent when there are none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCallMessage>,
}

/// A tool call as a template renders it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolCallMessage {
    #[serde(rename = "type")]
    pub kind: String,
    pub function: ToolFunction,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolFunction {
    pub name: String,
    pub arguments: serde_json::Value,
}

impl Message {
    pub fn new(role: &str, content: impl Into<String>) -> Message {
        Message {
            role: role.to_owned(),
            content: content.into(),
            tool_calls: Vec::new(),
        }
    }

    /// An assistant turn that called `calls` (name, arguments), after `content`.
    pub fn tool_calls(
        content: impl Into<String>,
        calls: impl IntoIterator<Item = (String, serde_json::Value)>,
    ) -> Message {
        Message {
            tool_calls: calls
                .into_iter()
                .map(|(name, arguments)| ToolCallMessage {
                    kind: "function".into(),
                    function: ToolFunction { name, arguments },
                })
                .collect(),
            ..Message::assistant(content)
        }
    }

    /// A tool's result, as the `tool` turn that follows the call.
    pub fn tool_result(content: impl Into<String>) -> Message {
        Message::new("tool", content)
    }
    pub fn system(content: impl Into<String>) -> Message {
        Message::new("system", content)
    }
    pub fn user(content: impl Into<String>) -> Message {
        Message::new("user", content)
    }
    pub fn assistant(content: impl Into<String>) -> Message {
        Message::new("assistant", content)
    }
}

/// Where the template comes from, when the user overrides the model's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplateOverride {
    /// The text of a Jinja template (`--chat-template-file`).
    Source(String),
    /// A llama.cpp built-in template name such as `chatml`, `gemma`, `llama3`.
    Name(String),
}

/// llama.cpp's fallback for a model without a template (`CHATML_TEMPLATE_SRC` in common/chat.cpp).
pub const CHATML_TEMPLATE: &str = "{%- for message in messages -%}\n  {{- '<|im_start|>' + message.role + '\n' + message.content + '<|im_end|>\n' -}}\n{%- endfor -%}\n{%- if add_generation_prompt -%}\n  {{- '<|im_start|>assistant\n' -}}\n{%- endif -%}";

#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum TemplateError {
    #[error(
        "the {origin} chat template is not supported ({reason}) and llama.cpp has no built-in template that matches it; pass --chat-template-file FILE, --chat-template NAME (e.g. chatml, gemma, llama3) or --raw"
    )]
    Unsupported { origin: String, reason: String },
    #[error("llama.cpp has no built-in chat template named {0:?}")]
    UnknownName(String),
    #[error("the chat template failed on this conversation: {0}")]
    Render(String),
    #[error("a message contains a NUL byte")]
    Nul,
}

#[derive(Debug, Clone)]
enum Kind {
    Jinja {
        source: String,
        bos: String,
        eos: String,
    },
    Builtin(LlamaChatTemplate),
}

/// A template that has been checked to render a minimal conversation.
#[derive(Debug, Clone)]
pub struct ChatTemplate {
    kind: Kind,
    /// For the user: where it came from and which engine renders it.
    pub description: String,
    /// Strip a leading BOS from the rendered text because the tokenizer adds one (as llama.cpp).
    strip_bos: bool,
}

impl ChatTemplate {
    /// Picks the template for `model`: the override if any, else the GGUF's, else ChatML.
    /// Returns a notice for the user when the choice is a fallback they should know about.
    pub fn resolve(
        model: &LlamaModel,
        over: Option<&TemplateOverride>,
    ) -> Result<(ChatTemplate, Option<String>), TemplateError> {
        let vocab = model.vocab();
        let n_vocab = vocab.n_tokens();
        // A vocabulary without BOS/EOS says -1; llama.cpp would throw on it, so ask only for real ids.
        let piece = |t: llama_cpp_2::token::LlamaToken| {
            if (0..n_vocab).contains(&t.0) {
                String::from_utf8_lossy(&vocab.token_to_piece(t, true, None)).into_owned()
            } else {
                String::new()
            }
        };
        let bos = piece(vocab.bos());
        let eos = piece(vocab.eos());
        let strip_bos = vocab.should_add_bos();
        let make = |kind, description: String| ChatTemplate {
            kind,
            description,
            strip_bos,
        };
        match over {
            Some(TemplateOverride::Name(name)) => {
                let t = LlamaChatTemplate::new(name).map_err(|_| TemplateError::Nul)?;
                builtin_works(model, &t)
                    .then(|| (make(Kind::Builtin(t), format!("llama.cpp built-in {name:?}")), None))
                    .ok_or_else(|| TemplateError::UnknownName(name.clone()))
            }
            Some(TemplateOverride::Source(src)) => {
                Self::from_source(model, src, "--chat-template-file", &bos, &eos).map(|t| (make(t.0, t.1), None))
            }
            None => match model.chat_template(None).ok().and_then(|t| t.to_string().ok()) {
                Some(src) if !src.trim().is_empty() => {
                    Self::from_source(model, &src, "model's", &bos, &eos).map(|t| (make(t.0, t.1), None))
                }
                _ => Ok((
                    make(
                        Kind::Jinja { source: CHATML_TEMPLATE.to_owned(), bos, eos },
                        "ChatML (the model has no template; llama.cpp's default)".to_owned(),
                    ),
                    Some(
                        "this model has no chat template; using ChatML as llama.cpp does (use --chat-template NAME or --chat-template-file FILE if its answers look wrong)"
                            .to_owned(),
                    ),
                )),
            },
        }
    }

    fn from_source(
        model: &LlamaModel,
        src: &str,
        origin: &str,
        bos: &str,
        eos: &str,
    ) -> Result<(Kind, String), TemplateError> {
        // The same probe llama.cpp uses to decide whether a template works.
        let probe = [Message::user("test")];
        let jinja_err = match render_jinja(src, &probe, bos, eos, true) {
            Ok(_) => {
                return Ok((
                    Kind::Jinja {
                        source: src.to_owned(),
                        bos: bos.to_owned(),
                        eos: eos.to_owned(),
                    },
                    format!("{origin} Jinja template"),
                ));
            }
            Err(e) => e,
        };
        let t = LlamaChatTemplate::new(src).map_err(|_| TemplateError::Nul)?;
        if builtin_works(model, &t) {
            tracing::info!(
                "minijinja cannot render the {origin} template ({jinja_err}); llama.cpp's matcher can"
            );
            return Ok((
                Kind::Builtin(t),
                format!("{origin} template, via llama.cpp's built-in matcher"),
            ));
        }
        Err(TemplateError::Unsupported {
            origin: origin.to_owned(),
            reason: jinja_err,
        })
    }

    /// The prompt for `messages`, ending with the assistant's opening so the model answers.
    pub fn render(
        &self,
        model: &LlamaModel,
        messages: &[Message],
    ) -> Result<String, TemplateError> {
        self.render_with_tools(model, messages, None)
    }

    /// The Jinja source, when the template is one (what the bot reads its tool-call format
    /// from); None for llama.cpp's built-in matcher, which renders no tools.
    pub fn source(&self) -> Option<&str> {
        match &self.kind {
            Kind::Jinja { source, .. } => Some(source),
            Kind::Builtin(_) => None,
        }
    }

    /// [`ChatTemplate::render`] with `tools` (a JSON list in the OpenAI shape) given to the
    /// template, as llama.cpp's `--jinja` gives them.
    pub fn render_with_tools(
        &self,
        model: &LlamaModel,
        messages: &[Message],
        tools: Option<&serde_json::Value>,
    ) -> Result<String, TemplateError> {
        let text = match &self.kind {
            Kind::Jinja { source, bos, eos } => {
                let mut text = render_jinja_with_tools(source, messages, tools, bos, eos, true)
                    .map_err(TemplateError::Render)?;
                if self.strip_bos && !bos.is_empty() && text.starts_with(bos.as_str()) {
                    text.drain(..bos.len());
                }
                text
            }
            Kind::Builtin(t) => {
                let chat = messages
                    .iter()
                    .map(|m| LlamaChatMessage::new(m.role.clone(), m.content.clone()))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|_| TemplateError::Nul)?;
                model
                    .apply_chat_template(t, &chat, true)
                    .map_err(|e| TemplateError::Render(e.to_string()))?
            }
        };
        Ok(text)
    }
}

fn builtin_works(model: &LlamaModel, t: &LlamaChatTemplate) -> bool {
    LlamaChatMessage::new("user".into(), "test".into())
        .ok()
        .is_some_and(|m| model.apply_chat_template(t, &[m], true).is_ok())
}

/// The most instructions one rendering may execute. A chat template comes from the model file
/// (or `--chat-template-file`), so it is untrusted code: without a bound, `{% for … %}` nested
/// over large ranges keeps the engine thread busy forever. Real templates need a few hundred
/// instructions per message, so this allows conversations of tens of thousands of messages and
/// stops a runaway template in well under a second.
pub const TEMPLATE_FUEL: u64 = 20_000_000;

/// Renders a Jinja chat template as llama.cpp's `--jinja` does.
pub fn render_jinja(
    source: &str,
    messages: &[Message],
    bos: &str,
    eos: &str,
    add_generation_prompt: bool,
) -> Result<String, String> {
    render_jinja_with_tools(source, messages, None, bos, eos, add_generation_prompt)
}

/// [`render_jinja`] with the tools the model may call (`tools` is left undefined without them,
/// as llama.cpp leaves it).
pub fn render_jinja_with_tools(
    source: &str,
    messages: &[Message],
    tools: Option<&serde_json::Value>,
    bos: &str,
    eos: &str,
    add_generation_prompt: bool,
) -> Result<String, String> {
    let mut env = minijinja::Environment::new();
    // Hugging Face's (and llama.cpp's) settings for chat templates.
    env.set_trim_blocks(true);
    env.set_lstrip_blocks(true);
    env.set_keep_trailing_newline(false);
    env.set_fuel(Some(TEMPLATE_FUEL));
    env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
    env.add_function(
        "raise_exception",
        |msg: String| -> Result<String, minijinja::Error> {
            Err(minijinja::Error::new(
                minijinja::ErrorKind::InvalidOperation,
                msg,
            ))
        },
    );
    env.add_function("strftime_now", |fmt: String| strftime_utc(&fmt));
    // Python's json.dumps, as Hugging Face's and llama.cpp's templates get it: ", " and ": "
    // between items, no HTML escaping (minijinja's own writes `'` as \u0027), keys in order.
    env.add_filter(
        "tojson",
        |v: minijinja::Value,
         kwargs: minijinja::value::Kwargs|
         -> Result<String, minijinja::Error> {
            let indent: Option<usize> = kwargs.get("indent")?;
            kwargs.assert_all_used()?;
            let mut out = String::new();
            py_json(&v, indent, 0, &mut out);
            Ok(out)
        },
    );
    let tmpl = env.template_from_str(source).map_err(|e| one_line(&e))?;
    let tools = tools.map_or(minijinja::Value::UNDEFINED, openai_order);
    tmpl.render(minijinja::context! {
        messages => messages,
        tools => tools,
        add_generation_prompt => add_generation_prompt,
        bos_token => bos,
        eos_token => eos,
        enable_thinking => true,
    })
    .map_err(|e| one_line(&e))
}

/// `tools` with each tool's keys in the order llama.cpp writes them (`type`, `function`; then
/// `name`, `description`, `parameters`), which templates print with `tojson`: serde_json's maps
/// are sorted. Other keys follow in their own order.
fn openai_order(tools: &serde_json::Value) -> minijinja::Value {
    use minijinja::Value;
    fn ordered(v: &serde_json::Value, first: &[&str], inner: Option<(&str, &[&str])>) -> Value {
        let Some(map) = v.as_object() else {
            return Value::from_serialize(v);
        };
        let keys = first
            .iter()
            .copied()
            .filter(|k| map.contains_key(*k))
            .chain(
                map.keys()
                    .map(String::as_str)
                    .filter(|k| !first.contains(k)),
            );
        Value::from_iter(keys.map(|k| {
            let value = match inner {
                Some((key, order)) if key == k => ordered(&map[k], order, None),
                _ => Value::from_serialize(&map[k]),
            };
            (k.to_owned(), value)
        }))
    }
    match tools.as_array() {
        Some(list) => Value::from_iter(list.iter().map(|t| {
            ordered(
                t,
                &["type", "function"],
                Some(("function", &["name", "description", "parameters"])),
            )
        })),
        None => Value::from_serialize(tools),
    }
}

/// `v` as Python's `json.dumps(v, ensure_ascii=False, indent=indent)` writes it.
fn py_json(v: &minijinja::Value, indent: Option<usize>, depth: usize, out: &mut String) {
    use minijinja::value::ValueKind;
    let newline = |out: &mut String, depth: usize| {
        if let Some(n) = indent {
            out.push('\n');
            out.push_str(&" ".repeat(n * depth));
        }
    };
    let item_sep = if indent.is_some() { "," } else { ", " };
    match v.kind() {
        ValueKind::Undefined | ValueKind::None => out.push_str("null"),
        ValueKind::Bool => out.push_str(if v.is_true() { "true" } else { "false" }),
        ValueKind::Number => out.push_str(&v.to_string()),
        ValueKind::String => py_string(v.as_str().unwrap_or_default(), out),
        ValueKind::Map => {
            let keys: Vec<minijinja::Value> =
                v.try_iter().map(Iterator::collect).unwrap_or_default();
            if keys.is_empty() {
                out.push_str("{}");
                return;
            }
            out.push('{');
            for (i, key) in keys.iter().enumerate() {
                if i > 0 {
                    out.push_str(item_sep);
                }
                newline(out, depth + 1);
                py_string(&key.to_string(), out);
                out.push_str(": ");
                let value = v.get_item(key).unwrap_or_default();
                py_json(&value, indent, depth + 1, out);
            }
            newline(out, depth);
            out.push('}');
        }
        ValueKind::Seq | ValueKind::Iterable => {
            let items: Vec<minijinja::Value> =
                v.try_iter().map(Iterator::collect).unwrap_or_default();
            if items.is_empty() {
                out.push_str("[]");
                return;
            }
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(item_sep);
                }
                newline(out, depth + 1);
                py_json(item, indent, depth + 1, out);
            }
            newline(out, depth);
            out.push(']');
        }
        _ => py_string(&v.to_string(), out),
    }
}

/// A JSON string as Python writes it with `ensure_ascii=False`.
fn py_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// The error as one printable line. Its text can quote the template (`raise_exception`'s
/// message, a name from it), which comes from the model file, so it is cleaned.
fn one_line(e: &minijinja::Error) -> String {
    if e.kind() == minijinja::ErrorKind::OutOfFuel {
        return format!(
            "the template ran more than {TEMPLATE_FUEL} steps and was stopped (an endless loop?)"
        );
    }
    let mut s = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(inner) = src {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        src = inner.source();
    }
    crate::sanitize::clean_line(&s).into_owned()
}

/// `strftime_now` for templates that print today's date (Llama 3.x). UTC, and only the
/// directives such templates use; anything else is passed through.
fn strftime_utc(fmt: &str) -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    strftime_at(fmt, secs)
}

/// [`strftime_utc`] at `secs` seconds after the Unix epoch.
fn strftime_at(fmt: &str, secs: u64) -> String {
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    // Howard Hinnant's days-to-civil.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    const MONTHS: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    let mname = MONTHS[usize::try_from(month - 1).unwrap_or(0) % 12];
    let mut out = String::new();
    let mut chars = fmt.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('Y') => out.push_str(&year.to_string()),
            Some('y') => out.push_str(&format!("{:02}", year % 100)),
            Some('m') => out.push_str(&format!("{month:02}")),
            Some('d') => out.push_str(&format!("{day:02}")),
            Some('b') => out.push_str(&mname[..3]),
            Some('B') => out.push_str(mname),
            Some('H') => out.push_str(&format!("{:02}", rem / 3600)),
            Some('M') => out.push_str(&format!("{:02}", rem % 3600 / 60)),
            Some('S') => out.push_str(&format!("{:02}", rem % 60)),
            Some('%') => out.push('%'),
            Some(other) => {
                out.push('%');
                out.push(other);
            }
            None => out.push('%'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tojson_writes_as_python_does_and_tools_in_openai_order() {
        let src = "{{ tools | tojson }}|{{ {'a': [1, 'it\\'s'], 'b': none} | tojson(indent=2) }}";
        let tools = serde_json::json!([{"function": {"parameters": {}, "name": "n", "description": "d"}, "type": "function"}]);
        let out = render_jinja_with_tools(src, &[Message::user("x")], Some(&tools), "", "", false)
            .unwrap();
        assert_eq!(
            out,
            "[{\"type\": \"function\", \"function\": {\"name\": \"n\", \"description\": \"d\", \"parameters\": {}}}]|{\n  \"a\": [\n    1,\n    \"it's\"\n  ],\n  \"b\": null\n}"
        );
        // Without tools, `tools` is undefined, as llama.cpp leaves it.
        let out =
            render_jinja_with_tools("{{ tools is defined }}", &[], None, "", "", false).unwrap();
        assert_eq!(out, "False");
    }

    #[test]
    fn chatml_fallback_renders_like_llama_cpp() {
        let msgs = [Message::system("S"), Message::user("hi")];
        let out = render_jinja(CHATML_TEMPLATE, &msgs, "", "", true).unwrap();
        assert_eq!(
            out,
            "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"
        );
    }

    #[test]
    fn raise_exception_is_an_error_not_a_panic() {
        let t = "{% if messages[0].role == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}ok";
        let e = render_jinja(t, &[Message::system("x")], "", "", true).unwrap_err();
        assert!(e.contains("System role not supported"), "{e}");
        assert_eq!(
            render_jinja(t, &[Message::user("x")], "", "", true).unwrap(),
            "ok"
        );
    }

    #[test]
    fn python_string_methods_and_blocks_trim() {
        let t = "{% for m in messages %}\n  {{ m.content.strip().upper() }}\n{% endfor %}";
        assert_eq!(
            render_jinja(t, &[Message::user("  a ")], "", "", true).unwrap(),
            "  A\n"
        );
    }

    #[test]
    fn a_template_that_loops_for_ever_is_stopped_with_a_clear_error() {
        // 10^8 iterations with no output: minijinja's range and string limits do not catch it.
        let t = "{% for i in range(10000) %}{% for j in range(10000) %}{% endfor %}{% endfor %}x";
        let start = std::time::Instant::now();
        let e = render_jinja(t, &[Message::user("x")], "", "", true).unwrap_err();
        assert!(e.contains("steps") && e.contains("stopped"), "{e}");
        assert!(start.elapsed() < std::time::Duration::from_secs(10));
        // One huge range is refused by minijinja itself, also as an error.
        let t = "{% for i in range(100000000) %}x{% endfor %}";
        assert!(render_jinja(t, &[Message::user("x")], "", "", true).is_err());
    }

    #[test]
    fn template_errors_quote_no_control_characters() {
        let t = "{{ raise_exception('bad\x1b]52;c;AAAA\x07 template') }}";
        let e = render_jinja(t, &[Message::user("x")], "", "", true).unwrap_err();
        assert!(!e.chars().any(char::is_control), "{e:?}");
    }

    #[test]
    fn a_long_conversation_fits_in_the_fuel() {
        let msgs: Vec<Message> = (0..5000)
            .map(|i| Message::user(format!("message {i}")))
            .collect();
        assert!(render_jinja(CHATML_TEMPLATE, &msgs, "", "", true).is_ok());
    }

    #[test]
    fn date_directives() {
        // Expected strings from Python's datetime.strftime in UTC.
        let f = "%d %b %Y|%B %d, %Y|%y-%m-%d %H:%M:%S %% %q";
        assert_eq!(
            strftime_at(f, 0),
            "01 Jan 1970|January 01, 1970|70-01-01 00:00:00 % %q"
        );
        // A leap day, and 2100, which is not a leap year.
        assert_eq!(
            strftime_at(f, 951_782_400),
            "29 Feb 2000|February 29, 2000|00-02-29 00:00:00 % %q"
        );
        assert_eq!(
            strftime_at(f, 4_107_542_399),
            "28 Feb 2100|February 28, 2100|00-02-28 23:59:59 % %q"
        );
        assert_eq!(strftime_at("%d %b %Y", 1_796_083_200), "01 Dec 2026");
        // Today's date, as the template sees it, has the same shape.
        assert_eq!(strftime_utc("%d %b %Y").len(), 11);
    }
}
