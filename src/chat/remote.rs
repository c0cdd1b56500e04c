//! A model on an inference server of the user's own (llama.cpp's `llama-server`, vLLM, ollama,
//! LM Studio): the OpenAI-compatible chat API, streamed as server-sent events.
//!
//! It runs on the engine thread in place of a loaded GGUF ([`serve`]) and answers the same
//! commands with the same events, so `chat`, `ask` and the app use a server exactly as a local
//! model. The server's reply is hostile input: every line and the whole answer are bounded, a
//! piece of text is cleaned of control characters before it is sent on, a stall ends the answer
//! with one line, and a stop request drops the connection (llama-server then stops generating).
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::engine::{
    ChatCommand, ChatError, ChatEvent, GenerateRequest, ModelInfo, Prompt, Stats, StopReason,
};
use super::sampling::{RANDOM_SEED, SamplingParams};
use super::template::Message;

/// The longest line of the event stream: a token's chunk is a few hundred bytes.
const MAX_LINE: usize = 1 << 20;
/// The most an answer may bring in all, whatever the server says.
const MAX_BODY: usize = 32 << 20;
/// Without a token limit, an answer still ends here (a server that never stops).
const MAX_PIECES: usize = 32_768;
/// Pieces past the limit read (and dropped) while waiting for the server's last event with its
/// timings, before a server that ignores the limit is hung up on.
const OVER_LIMIT: usize = 16;
/// A server that sends nothing for this long has stalled.
const STALL: Duration = Duration::from_secs(120);
/// How often a waiting answer looks at the stop flag.
const POLL: Duration = Duration::from_millis(50);

/// How a server model's device starts ([`ServerModel::device`]).
const SERVER_DEVICE: &str = "server ";

/// Whether `device` (of [`ModelInfo`] or [`Stats`]) is a server's: its context and layers are
/// its own business, and nothing to show.
pub fn runs_on_server(device: &str) -> bool {
    device.starts_with(SERVER_DEVICE)
}

/// A registered server and the model to ask it for.
#[derive(Debug, Clone)]
pub struct ServerModel {
    /// The registry's name for it.
    pub name: String,
    /// The server's base URL (`http://127.0.0.1:8080`); requests go to `{url}/v1/…`.
    pub url: reqwest::Url,
    /// The `model` of each request; `None`: the server's own (its first in `/v1/models`).
    pub model: Option<String>,
    /// Sent as `Authorization: Bearer …` (a header reqwest marks sensitive); its `Debug` shows
    /// nothing of it.
    pub api_key: Option<std::sync::Arc<keybot_keystore::api_key::ApiKey>>,
    /// Whether the registry has a key sealed for it (opened into `api_key` with the wallet).
    pub key_sealed: bool,
}

impl ServerModel {
    fn authorized(&self, rb: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.api_key {
            Some(k) => rb.bearer_auth(k.expose()),
            None => rb,
        }
    }

    fn endpoint(&self, path: &str) -> String {
        format!("{}/v1/{path}", self.url.as_str().trim_end_matches('/'))
    }

    /// What the stats line and the status bar name as the model's device.
    pub fn device(&self) -> String {
        format!("{SERVER_DEVICE}{}", self.host())
    }

    /// `host[:port]`, for the stats line and errors (never a path: it could hold a key).
    pub fn host(&self) -> String {
        let host = self.url.host_str().unwrap_or("?");
        match self.url.port() {
            Some(p) => format!("{host}:{p}"),
            None => host.to_owned(),
        }
    }
}

fn server_error(s: &ServerModel, why: impl std::fmt::Display) -> ChatError {
    ChatError::Server(crate::sanitize::clean_line(&format!("{}: {why}", s.host())).into_owned())
}

/// The models a server offers (`GET /v1/models`): their ids, cleaned.
pub async fn list_models(
    client: &reqwest::Client,
    s: &ServerModel,
) -> Result<Vec<String>, ChatError> {
    let v = get_json(client, s, s.endpoint("models"), "/v1/models")
        .await
        .map_err(|e| server_error(s, e))?;
    let ids = v["data"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|m| m["id"].as_str())
                .map(|id| crate::sanitize::clean_line(id).into_owned())
                .collect()
        })
        .unwrap_or_default();
    Ok(ids)
}

/// Whether the server's chat template calls tools, where it says (llama-server's `/props`:
/// `chat_template_caps.supports_tools`); `None` where it does not say (other servers), or the
/// answer is not that.
pub async fn tool_support(client: &reqwest::Client, s: &ServerModel) -> Option<bool> {
    supports_tools(&props(client, s).await?)
}

/// What `/props` says of the template and tools (`chat_template_caps.supports_tools`).
fn supports_tools(props: &Value) -> Option<bool> {
    props["chat_template_caps"]["supports_tools"].as_bool()
}

/// llama-server's `/props`; `None` from a server without it (vLLM, ollama, …).
async fn props(client: &reqwest::Client, s: &ServerModel) -> Option<Value> {
    let url = format!("{}/props", s.url.as_str().trim_end_matches('/'));
    get_json(client, s, url, "/props").await.ok()
}

/// Whether `/props` is llama.cpp's (it then takes a GBNF grammar as is).
fn is_llama_cpp(props: &Value) -> bool {
    props.get("default_generation_settings").is_some() || props.get("chat_template_caps").is_some()
}

/// GET `url` on the server (`what`: its path, for the one line when it fails): a JSON answer
/// of at most 4 MiB.
async fn get_json(
    client: &reqwest::Client,
    s: &ServerModel,
    url: String,
    what: &str,
) -> Result<Value, String> {
    let resp = s
        .authorized(client.get(url))
        .timeout(Duration::from_secs(15))
        .send()
        .await
        .map_err(|e| describe(&e))?;
    let status = resp.status();
    if !status.is_success() {
        return Err(format!("{what} answered {status}"));
    }
    let body = read_bounded(resp, 4 << 20).await?;
    serde_json::from_slice(&body).map_err(|_| format!("{what} did not answer JSON"))
}

/// What went wrong with a request, in words (reqwest's Display names the URL, which could hold
/// a key in its path).
fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".to_owned()
    } else if e.is_connect() {
        "cannot connect (is the server running?)".to_owned()
    } else {
        // The causes, without reqwest's own line (it names the URL).
        let mut parts = Vec::new();
        let mut src = std::error::Error::source(e);
        while let Some(inner) = src {
            parts.push(inner.to_string());
            src = inner.source();
        }
        if parts.is_empty() {
            "the request failed".to_owned()
        } else {
            parts.join(": ")
        }
    }
}

async fn read_bounded(mut resp: reqwest::Response, limit: usize) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| describe(&e))? {
        if out.len() + chunk.len() > limit {
            return Err(format!("the answer is over {limit} bytes"));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

pub fn client() -> Result<reqwest::Client, ChatError> {
    crate::net::tls();
    reqwest::Client::builder()
        .user_agent(concat!("keybot/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(10))
        // A chat server has no business redirecting a request (and a redirect could leave the
        // machine).
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| ChatError::Internal(e.to_string()))
}

/// Serves `server` until a command asks for something else, as the engine serves a loaded model:
/// returns that command (a new `Load`, or `Shutdown`), or `None` after `Unload`.
pub fn serve(
    server: &ServerModel,
    commands: &Receiver<ChatCommand>,
    events: &Sender<ChatEvent>,
    stop: &AtomicBool,
) -> Option<ChatCommand> {
    // Offline is offline: with no network at all, not a socket is opened for the server.
    if crate::net::no_network() == Some(true) {
        let _ = events.send(ChatEvent::Error(ChatError::Server(format!(
            "offline: {} is a model on a server ({}), and this machine has no network, not even loopback; nothing was sent",
            crate::sanitize::clean_line(&server.name),
            server.host()
        ))));
        return None;
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            let _ = events.send(ChatEvent::Error(ChatError::Internal(e.to_string())));
            return None;
        }
    };
    let http = match client() {
        Ok(c) => c,
        Err(e) => {
            let _ = events.send(ChatEvent::Error(e));
            return None;
        }
    };
    // Loading is asking the server what it serves: a wrong address or a dead server is one
    // line now, not at the first question.
    let model = match runtime.block_on(list_models(&http, server)) {
        Ok(ids) => match &server.model {
            Some(m) if !ids.iter().any(|id| id == m) && !ids.is_empty() => {
                let _ = events.send(ChatEvent::Error(server_error(
                    server,
                    format!("it serves no model {m:?} (it serves: {})", ids.join(", ")),
                )));
                return None;
            }
            Some(m) => m.clone(),
            None => ids.first().cloned().unwrap_or_default(),
        },
        Err(e) => {
            let _ = events.send(ChatEvent::Error(e));
            return None;
        }
    };
    // llama-server says what its template can do and takes llama.cpp's grammars; another
    // server is asked in the portable forms (tools, a JSON schema).
    let props = runtime.block_on(props(&http, server));
    let llama_cpp = props.as_ref().is_some_and(is_llama_cpp);
    let tools = match props.as_ref().and_then(supports_tools) {
        Some(false) => crate::bot::format::Support::None,
        // The calls come back as the bot reads a local model's (`Calls::as_text`).
        _ => crate::bot::format::Support::Format(crate::bot::format::ToolFormat::Hermes),
    };
    let info = ModelInfo {
        path: std::path::PathBuf::from(&server.name),
        architecture: format!("server model {model}"),
        n_layer: 0,
        n_ctx: 0,
        n_ctx_train: 0,
        threads: 0,
        device: server.device(),
        gpu_layers: 0,
        template: "the server's own".to_owned(),
        tools,
    };
    tracing::info!(server = %server.host(), %model, "server model ready");
    let _ = events.send(ChatEvent::Loaded(Box::new(info)));
    loop {
        let cmd = match commands.recv() {
            Ok(c) => c,
            Err(_) => return Some(ChatCommand::Shutdown),
        };
        match cmd {
            ChatCommand::Generate(req) => {
                stop.store(false, Ordering::SeqCst);
                let to = Peer {
                    http: &http,
                    server,
                    model: &model,
                    llama_cpp,
                };
                let outcome = runtime.block_on(generate(&to, &req, events, stop));
                if let Err(e) = outcome {
                    let _ = events.send(ChatEvent::Error(e));
                }
            }
            ChatCommand::Render(messages, tools) => {
                // The server renders the prompt with its own template, out of sight: what
                // keybot can show is the conversation exactly as the request carries it.
                let body = conversation_body(&model, &messages, tools.as_ref());
                let text = serde_json::to_string_pretty(&body).unwrap_or_default() + "\n";
                let _ = events.send(ChatEvent::Prompt { text, tokens: 0 });
            }
            ChatCommand::Bench(_) => {
                let _ = events.send(ChatEvent::Error(server_error(
                    server,
                    "keybot bench chat measures a local GGUF; ask the server for its own timings",
                )));
            }
            ChatCommand::Unload => {
                let _ = events.send(ChatEvent::Unloaded);
                return None;
            }
            other @ (ChatCommand::Load(_) | ChatCommand::Shutdown) => return Some(other),
        }
    }
}

/// The request body for one answer: the conversation and the sampling settings in the
/// OpenAI shape, plus llama.cpp's own fields where it has them (`top_k`, `min_p`).
pub fn request_body(
    model: &str,
    messages: &[Message],
    tools: Option<&Value>,
    s: &SamplingParams,
    max: Option<u32>,
) -> Value {
    streamed(conversation_body(model, messages, tools), s, max)
}

/// Holds the answer in `body` to the request's grammar: llama-server takes llama.cpp's GBNF as
/// is (the answer then follows the very rules it follows in-process); any other server gets its
/// JSON schema as the OpenAI `response_format` (llama-server, vLLM, ollama and LM Studio all
/// take that), or `Err` where the grammar has none. With tools the grammar is the calls', which
/// the server builds from the tools itself.
pub fn hold(body: &mut Value, s: &SamplingParams, llama_cpp: bool) -> Result<(), &'static str> {
    let Some(grammar) = &s.grammar else {
        return Ok(());
    };
    if body.get("tools").is_some() {
        return Ok(());
    }
    if llama_cpp {
        body["grammar"] = json!(grammar);
    } else if let Some(schema) = &s.json_schema {
        body["response_format"] = json!({
            "type": "json_schema",
            "json_schema": {"name": "answer", "strict": true, "schema": schema},
        });
    } else {
        return Err(
            "this needs an answer held to a grammar, which needs a local GGUF or llama-server",
        );
    }
    Ok(())
}

/// The body for a raw continuation of `prompt` (`--raw`): the OpenAI text-completions shape,
/// with no chat template on the server's side either.
pub fn completion_body(model: &str, prompt: &str, s: &SamplingParams, max: Option<u32>) -> Value {
    let mut body = json!({"prompt": prompt});
    if !model.is_empty() {
        body["model"] = json!(model);
    }
    streamed(body, s, max)
}

/// The conversation as a chat request carries it: the messages, the tools and the model.
pub fn conversation_body(model: &str, messages: &[Message], tools: Option<&Value>) -> Value {
    let mut body = json!({"messages": openai_messages(messages)});
    if let Some(t) = tools {
        // The server holds the calls to these schemas itself (llama-server builds a lazy
        // grammar from them, as keybot does for a local model). keybot's own grammar allows no
        // field a tool does not name; a server's allows any unless the schema says so.
        let mut t = t.clone();
        if let Some(list) = t.as_array_mut() {
            for tool in list {
                let params = &mut tool["function"]["parameters"];
                if params.is_object() && params.get("additionalProperties").is_none() {
                    params["additionalProperties"] = json!(false);
                }
            }
        }
        body["tools"] = t;
    }
    if !model.is_empty() {
        body["model"] = json!(model);
    }
    body
}

/// `body` asked for as a stream, with the sampling settings and the token limit.
fn streamed(mut body: Value, s: &SamplingParams, max: Option<u32>) -> Value {
    body["stream"] = json!(true);
    body["stream_options"] = json!({"include_usage": true});
    if let Some(n) = max {
        body["max_tokens"] = json!(n);
    }
    if s.greedy {
        // Temperature 0 is greedy for llama-server, vLLM and ollama alike; top_k 1 says so to
        // a server that would still sample.
        body["temperature"] = json!(0.0);
        body["top_k"] = json!(1);
    } else {
        body["temperature"] = json!(s.temp);
        body["top_p"] = json!(s.top_p);
        body["top_k"] = json!(s.top_k);
        body["min_p"] = json!(s.min_p);
    }
    if s.seed != RANDOM_SEED {
        body["seed"] = json!(s.seed);
    }
    body
}

/// The conversation in the OpenAI shape. A call carries an id and its arguments as JSON text;
/// each tool result answers the oldest call not yet answered (the order the bot writes them).
fn openai_messages(messages: &[Message]) -> Vec<Value> {
    let mut next_id = 0usize;
    let mut waiting = std::collections::VecDeque::new();
    messages
        .iter()
        .map(|m| {
            if !m.tool_calls.is_empty() {
                let calls: Vec<Value> = m
                    .tool_calls
                    .iter()
                    .map(|c| {
                        next_id += 1;
                        let id = format!("call_{next_id}");
                        waiting.push_back(id.clone());
                        json!({
                            "id": id,
                            "type": "function",
                            "function": {"name": c.function.name, "arguments": c.function.arguments.to_string()},
                        })
                    })
                    .collect();
                json!({"role": m.role, "content": m.content, "tool_calls": calls})
            } else if m.role == "tool" {
                let id = waiting.pop_front().unwrap_or_else(|| "call_0".to_owned());
                json!({"role": "tool", "tool_call_id": id, "content": m.content})
            } else {
                json!({"role": m.role, "content": m.content})
            }
        })
        .collect()
}

/// Tool calls as they stream: a name and argument text per index, pieces appended.
#[derive(Debug, Default)]
struct Calls {
    calls: Vec<(String, String)>,
}

impl Calls {
    fn take(&mut self, deltas: &[Value]) -> Result<(), String> {
        for d in deltas {
            let i = usize::try_from(d["index"].as_u64().unwrap_or(0)).unwrap_or(usize::MAX);
            if i >= 16 {
                return Err("more than 16 tool calls in one answer".to_owned());
            }
            if self.calls.len() <= i {
                self.calls.resize(i + 1, (String::new(), String::new()));
            }
            let (name, args) = &mut self.calls[i];
            if let Some(n) = d["function"]["name"].as_str() {
                name.push_str(n);
            }
            if let Some(a) = d["function"]["arguments"].as_str() {
                args.push_str(a);
            }
            if name.len() + args.len() > MAX_LINE {
                return Err("a tool call over 1 MiB".to_owned());
            }
        }
        Ok(())
    }

    /// The calls as the bot reads a local model's (the Hermes format's tagged JSON), so one
    /// parser checks every call whoever made it. Arguments that are not JSON stay text: the
    /// parser then says so to the model.
    fn as_text(&self) -> String {
        self.calls
            .iter()
            .filter(|(name, _)| !name.is_empty())
            .map(|(name, args)| {
                let arguments = serde_json::from_str::<Value>(args)
                    .unwrap_or_else(|_| Value::String(args.clone()));
                let call = json!({"name": name, "arguments": arguments});
                format!("<tool_call>\n{call}\n</tool_call>")
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// What one event of the stream said.
#[derive(Debug, Default, PartialEq)]
pub struct Chunk {
    pub text: String,
    /// `delta.tool_calls`: pieces of calls, by index.
    pub tool_calls: Vec<Value>,
    pub finish: Option<String>,
    /// llama-server's `timings` or an OpenAI `usage`: prompt tokens, generated tokens and, from
    /// llama-server, its own prompt and generation milliseconds.
    pub prompt_tokens: Option<u64>,
    pub generated: Option<u64>,
    pub prompt_ms: Option<f64>,
    pub generate_ms: Option<f64>,
}

/// Reads one `data:` payload. `Ok(None)` is the stream's end (`[DONE]`); an `error` object or
/// anything that is not a chunk is one line.
pub fn parse_event(data: &str) -> Result<Option<Chunk>, String> {
    let data = data.trim();
    if data == "[DONE]" {
        return Ok(None);
    }
    let v: Value = serde_json::from_str(data)
        .map_err(|_| "the server sent something that is not JSON".to_owned())?;
    if let Some(err) = v.get("error") {
        let msg = err["message"]
            .as_str()
            .or(err.as_str())
            .unwrap_or("an error");
        return Err(format!(
            "the server says: {}",
            crate::sanitize::clean_line(msg)
        ));
    }
    let mut c = Chunk::default();
    let choice = &v["choices"][0];
    // A chat chunk's `delta.content`, or a text completion's `text` (`--raw`).
    if let Some(t) = choice["delta"]["content"]
        .as_str()
        .or(choice["text"].as_str())
    {
        c.text = crate::sanitize::clean(t).into_owned();
    }
    if let Some(calls) = choice["delta"]["tool_calls"].as_array() {
        c.tool_calls.clone_from(calls);
    }
    if let Some(f) = choice["finish_reason"].as_str() {
        c.finish = Some(crate::sanitize::clean_line(f).into_owned());
    }
    let t = &v["timings"];
    c.prompt_tokens = t["prompt_n"]
        .as_u64()
        .or(v["usage"]["prompt_tokens"].as_u64());
    c.generated = t["predicted_n"]
        .as_u64()
        .or(v["usage"]["completion_tokens"].as_u64());
    c.prompt_ms = t["prompt_ms"].as_f64();
    c.generate_ms = t["predicted_ms"].as_f64();
    if v.get("choices").is_none() && v.get("usage").is_none() && v.get("timings").is_none() {
        return Err("the server sent an event that is not a chat chunk".to_owned());
    }
    Ok(Some(c))
}

/// Splits a byte stream into lines, each at most [`MAX_LINE`] bytes.
#[derive(Default)]
struct Lines {
    buf: Vec<u8>,
}

impl Lines {
    fn push(&mut self, bytes: &[u8]) -> Result<Vec<String>, String> {
        self.buf.extend_from_slice(bytes);
        let mut out = Vec::new();
        while let Some(i) = self.buf.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.buf.drain(..=i).collect();
            out.push(
                String::from_utf8_lossy(&line)
                    .trim_end_matches(['\n', '\r'])
                    .to_owned(),
            );
        }
        if self.buf.len() > MAX_LINE {
            return Err(format!("the server sent a line over {MAX_LINE} bytes"));
        }
        Ok(out)
    }
}

/// What an answer has brought so far.
struct Tally {
    stats: Stats,
    t0: Instant,
    first: Option<Instant>,
    last: Option<Instant>,
    /// Pieces of text passed on, and pieces past the limit dropped.
    pieces: usize,
    over: usize,
    /// llama-server's own prompt and generation milliseconds, when it sent them.
    server_times: Option<(f64, f64)>,
    calls: Calls,
}

impl Tally {
    /// Takes one chunk: its text goes on as a piece, its counts into the stats.
    fn take(&mut self, c: Chunk, events: &Sender<ChatEvent>, max: usize) -> Result<(), String> {
        if !c.tool_calls.is_empty() {
            self.calls.take(&c.tool_calls)?;
            self.stats.generated += 1;
        }
        if !c.text.is_empty() && self.pieces >= max {
            self.over += 1;
        } else if !c.text.is_empty() {
            self.pieces += 1;
            self.last = Some(Instant::now());
            if self.first.is_none() {
                self.first = Some(Instant::now());
                self.stats.ttft_ms = ms(self.t0.elapsed());
            }
            self.stats.generated += 1;
            let _ = events.send(ChatEvent::Piece(c.text));
        }
        if let Some(n) = c.prompt_tokens {
            self.stats.prompt_tokens = usize::try_from(n).unwrap_or(usize::MAX);
            self.stats.prefilled = self.stats.prompt_tokens;
        }
        if let Some(n) = c.generated {
            self.stats.generated = usize::try_from(n).unwrap_or(usize::MAX);
        }
        if let (Some(p), Some(g)) = (c.prompt_ms, c.generate_ms) {
            self.server_times = Some((p, g));
        }
        Ok(())
    }

    /// The calls, at the answer's end, as one last piece.
    fn send_calls(&mut self, events: &Sender<ChatEvent>) {
        let text = self.calls.as_text();
        if !text.is_empty() {
            let _ = events.send(ChatEvent::Piece(text));
        }
        self.calls = Calls::default();
    }

    /// The figures: the server's own when it gave them (llama-server), else this end's clock.
    fn stats(&mut self) -> Stats {
        match self.server_times {
            Some((p, g)) => {
                self.stats.prefill_ms = p;
                self.stats.generate_ms = g;
            }
            None => {
                self.stats.prefill_ms = self.stats.ttft_ms;
                self.stats.generate_ms = self.first.map_or(0.0, |f| ms(f.elapsed()));
            }
        }
        if self.stats.ttft_ms == 0.0 {
            self.stats.ttft_ms = ms(self.t0.elapsed());
        }
        if let (Some(f), Some(l)) = (self.first, self.last) {
            self.stats.stream_ms = ms(l.duration_since(f));
        }
        self.stats.clone()
    }
}

/// Sends the request; `None` when a stop came first. A status other than success is one line,
/// with the error the server gave, cleaned and cut.
async fn open(
    http: &reqwest::Client,
    server: &ServerModel,
    path: &str,
    body: &Value,
    stop: &AtomicBool,
) -> Result<Option<reqwest::Response>, ChatError> {
    let send = server
        .authorized(http.post(server.endpoint(path)))
        .json(body)
        .send();
    let resp = tokio::select! {
        r = send => r.map_err(|e| server_error(server, describe(&e)))?,
        () = wait_for_stop(stop) => return Ok(None),
    };
    let status = resp.status();
    if status.is_success() {
        return Ok(Some(resp));
    }
    let body = tokio::time::timeout(Duration::from_secs(5), read_bounded(resp, 64 << 10))
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or_default();
    let why = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v["error"]["message"].as_str().map(str::to_owned))
        .unwrap_or_else(|| String::from_utf8_lossy(&body).into_owned());
    let why = crate::market::receipt::cut(&crate::sanitize::clean_line(why.trim()), 200);
    Err(server_error(server, format!("it answered {status}: {why}")))
}

/// The server a request goes to, and what it is.
struct Peer<'a> {
    http: &'a reqwest::Client,
    server: &'a ServerModel,
    /// The model id each request names.
    model: &'a str,
    /// llama-server (its `/props` said so).
    llama_cpp: bool,
}

async fn generate(
    to: &Peer<'_>,
    req: &GenerateRequest,
    events: &Sender<ChatEvent>,
    stop: &AtomicBool,
) -> Result<(), ChatError> {
    let (http, server, model) = (to.http, to.server, to.model);
    let (s, max) = (&req.sampling, req.max_tokens);
    let (path, mut body) = match &req.prompt {
        Prompt::Raw(text) => ("completions", completion_body(model, text, s, max)),
        Prompt::Chat(m) => ("chat/completions", request_body(model, m, None, s, max)),
        Prompt::Tools { messages, tools } => (
            "chat/completions",
            request_body(model, messages, Some(tools), s, max),
        ),
    };
    hold(&mut body, s, to.llama_cpp).map_err(|e| server_error(server, e))?;
    let mut tally = Tally {
        stats: Stats {
            device: server.device(),
            ..Stats::default()
        },
        t0: Instant::now(),
        first: None,
        last: None,
        pieces: 0,
        over: 0,
        server_times: None,
        calls: Calls::default(),
    };
    let Some(mut resp) = open(http, server, path, &body, stop).await? else {
        return finish(tally.stats(), StopReason::Stopped, events);
    };
    let max_pieces = req.max_tokens.map_or(MAX_PIECES, |m| m as usize);
    let mut lines = Lines::default();
    let mut received = 0usize;
    let mut cut_by_length = false;
    let reason = 'stream: loop {
        let chunk = tokio::select! {
            c = tokio::time::timeout(STALL, resp.chunk()) => c,
            () = wait_for_stop(stop) => break 'stream StopReason::Stopped,
        };
        let mut cut = |why: String| partial(tally.stats(), events, server, why);
        let bytes = match chunk {
            Err(_) => return cut("it stalled: nothing for 120 s".to_owned()),
            Ok(Err(e)) => return cut(describe(&e)),
            // The connection closed without [DONE] or a finish reason.
            Ok(Ok(None)) => return cut("the stream ended mid-answer".to_owned()),
            Ok(Ok(Some(b))) => b,
        };
        received += bytes.len();
        if received > MAX_BODY {
            return cut(format!("the answer is over {MAX_BODY} bytes"));
        }
        let got = match lines.push(&bytes) {
            Ok(l) => l,
            Err(e) => return cut(e),
        };
        for line in got {
            // Comments, `event:` and `id:` lines carry nothing for a chat.
            let Some(data) = line.strip_prefix("data:") else {
                continue;
            };
            let c = match parse_event(data) {
                Ok(Some(c)) => c,
                Ok(None) if cut_by_length || tally.pieces >= max_pieces => {
                    break 'stream StopReason::MaxTokens;
                }
                Ok(None) => break 'stream StopReason::EndOfTurn,
                Err(e) => return partial(tally.stats(), events, server, e),
            };
            // The usage and timings come with or after the finish: reading goes on to [DONE].
            cut_by_length |= c.finish.as_deref() == Some("length");
            if let Err(e) = tally.take(c, events, max_pieces) {
                return partial(tally.stats(), events, server, e);
            }
            if tally.over > OVER_LIMIT {
                break 'stream StopReason::MaxTokens;
            }
        }
    };
    // Dropping the response closes the connection: a server still generating stops.
    drop(resp);
    if reason != StopReason::Stopped {
        tally.send_calls(events);
    }
    finish(tally.stats(), reason, events)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

async fn wait_for_stop(stop: &AtomicBool) {
    while !stop.load(Ordering::SeqCst) {
        tokio::time::sleep(POLL).await;
    }
}

fn finish(stats: Stats, reason: StopReason, events: &Sender<ChatEvent>) -> Result<(), ChatError> {
    tracing::info!(?stats, ?reason, "server answer finished");
    let _ = events.send(ChatEvent::Stats(Box::new(stats)));
    let _ = events.send(ChatEvent::Done(reason));
    Ok(())
}

/// An answer the server broke off: what came is kept (the pieces were sent), the user is told
/// why in one line, and the answer ends as cut.
fn partial(
    stats: Stats,
    events: &Sender<ChatEvent>,
    server: &ServerModel,
    why: impl std::fmt::Display,
) -> Result<(), ChatError> {
    let _ = events.send(ChatEvent::Notice(
        crate::sanitize::clean_line(&format!("{}: {why}; the answer is cut here", server.host()))
            .into_owned(),
    ));
    tracing::warn!(server = %server.host(), "server answer cut");
    finish(stats, StopReason::Cut, events)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_read_and_cleaned() {
        let c = parse_event(r#"{"choices":[{"delta":{"content":"hi\u001b[2J there\n"}}]}"#)
            .unwrap()
            .unwrap();
        assert_eq!(c.text, "hi there\n");
        assert_eq!(parse_event(" [DONE]").unwrap(), None);
        let last = parse_event(
            r#"{"choices":[{"delta":{},"finish_reason":"stop"}],"timings":{"prompt_n":12,"prompt_ms":40.5,"predicted_n":8,"predicted_ms":100.0}}"#,
        )
        .unwrap()
        .unwrap();
        assert_eq!(last.finish.as_deref(), Some("stop"));
        assert_eq!((last.prompt_tokens, last.generated), (Some(12), Some(8)));
        assert_eq!(
            (last.prompt_ms, last.generate_ms),
            (Some(40.5), Some(100.0))
        );
        let usage =
            parse_event(r#"{"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":4}}"#)
                .unwrap()
                .unwrap();
        assert_eq!((usage.prompt_tokens, usage.generated), (Some(3), Some(4)));
        // A text completion's chunk (`--raw`), cleaned like a chat's.
        let raw = parse_event(r#"{"choices":[{"text":" on\u0007 and on","index":0}]}"#)
            .unwrap()
            .unwrap();
        assert_eq!(raw.text, " on and on");
    }

    #[test]
    fn a_raw_prompt_is_a_text_completion_and_a_schema_is_the_response_format() {
        let greedy = SamplingParams {
            greedy: true,
            ..SamplingParams::default()
        };
        let b = completion_body("m", "Once upon", &greedy, Some(8));
        assert_eq!(b["prompt"], "Once upon");
        assert!(b.get("messages").is_none());
        assert_eq!(
            (b["stream"].as_bool(), b["max_tokens"].as_u64()),
            (Some(true), Some(8))
        );

        let schema = json!({"type": "object"});
        let held = SamplingParams {
            grammar: Some("root ::= \"{}\"".into()),
            json_schema: Some(schema.clone()),
            ..SamplingParams::default()
        };
        let body = || request_body("", &[Message::user("hi")], None, &held, None);
        let mut b = body();
        hold(&mut b, &held, false).unwrap();
        assert_eq!(b["response_format"]["type"], "json_schema");
        assert_eq!(b["response_format"]["json_schema"]["schema"], schema);
        assert!(b.get("grammar").is_none());
        // llama-server takes the grammar itself, and not both (it refuses that).
        let mut b = body();
        hold(&mut b, &held, true).unwrap();
        assert_eq!(b["grammar"], "root ::= \"{}\"");
        assert!(b.get("response_format").is_none());
        // A grammar with no schema goes only to llama-server; with tools the server holds the
        // calls to the tools' own schemas.
        let bare = SamplingParams {
            json_schema: None,
            ..held.clone()
        };
        assert!(hold(&mut body(), &bare, false).is_err());
        let tools = json!([{"type": "function", "function": {"name": "f"}}]);
        let mut b = request_body("", &[Message::user("hi")], Some(&tools), &bare, None);
        hold(&mut b, &bare, false).unwrap();
        assert!(b.get("grammar").is_none() && b.get("response_format").is_none());
        // The conversation alone (what --print-prompt shows) carries no sampling.
        let c = conversation_body("m", &[Message::user("hi")], None);
        assert_eq!(
            c,
            json!({"messages": [{"role": "user", "content": "hi"}], "model": "m"})
        );
    }

    #[test]
    fn a_hostile_event_is_one_clean_line() {
        for bad in ["{not json", "[1,2]", r#"{"foo":1}"#, "\u{1b}]0;title\u{7}"] {
            let e = parse_event(bad).unwrap_err();
            assert!(
                !e.contains('\n') && !e.chars().any(char::is_control),
                "{e:?}"
            );
        }
        let e = parse_event(r#"{"error":{"message":"boom\u001b[31m\nmore"}}"#).unwrap_err();
        assert_eq!(e, "the server says: boom more");
    }

    #[test]
    fn tool_calls_go_out_with_ids_and_come_back_as_the_bot_reads_them() {
        let msgs = [
            Message::user("balances?"),
            Message::tool_calls("", [("balances".to_owned(), json!({}))]),
            Message::tool_result("{\"ETH\":\"1\"}"),
        ];
        let tools = json!([{"type": "function", "function": {"name": "balances", "parameters": {"type": "object", "properties": {}}}}]);
        let b = request_body("", &msgs, Some(&tools), &SamplingParams::default(), None);
        assert_eq!(b["tools"][0]["function"]["name"], "balances");
        assert_eq!(
            b["tools"][0]["function"]["parameters"]["additionalProperties"],
            false
        );
        let call = &b["messages"][1]["tool_calls"][0];
        assert_eq!(call["id"], "call_1");
        assert_eq!(call["function"]["arguments"], "{}");
        assert_eq!(b["messages"][2]["tool_call_id"], "call_1");

        let mut calls = Calls::default();
        let part = |i: u64, name: &str, args: &str| json!({"index": i, "function": {"name": name, "arguments": args}});
        calls.take(&[part(0, "trans", "{\"to\": ")]).unwrap();
        calls.take(&[part(0, "fer", "\"0xab\"}")]).unwrap();
        calls.take(&[part(1, "balances", "{oops")]).unwrap();
        let text = calls.as_text();
        let parsed = crate::bot::format::ToolFormat::Hermes.parse(&text);
        assert_eq!(parsed.calls.len() + parsed.errors.len(), 2, "{text}");
        assert_eq!(parsed.calls[0].name, "transfer");
        assert_eq!(parsed.calls[0].arguments, json!({"to": "0xab"}));
        assert!(calls.take(&[json!({"index": 99})]).is_err());
    }

    #[test]
    fn a_servers_debug_shows_nothing_of_its_key() {
        let key = keybot_keystore::api_key::ApiKey::parse(b"sk-very-secret").unwrap();
        let s = ServerModel {
            name: "box".into(),
            url: "http://127.0.0.1:8080".parse().unwrap(),
            model: None,
            api_key: Some(std::sync::Arc::new(key)),
            key_sealed: true,
        };
        let shown = format!("{s:?} {s:#?}");
        assert!(
            !shown.contains("very-secret") && shown.contains("ApiKey(…)"),
            "{shown}"
        );
    }

    #[test]
    fn lines_are_split_across_chunks_and_bounded() {
        let mut l = Lines::default();
        assert!(l.push(b"data: a").unwrap().is_empty());
        assert_eq!(l.push(b"b\r\ndata: c\n").unwrap(), ["data: ab", "data: c"]);
        let long = vec![b'x'; MAX_LINE + 1];
        assert!(l.push(&long).is_err());
    }

    #[test]
    fn the_request_maps_the_conversation_and_the_sampling() {
        let msgs = [Message::system("be brief"), Message::user("hi")];
        let greedy = SamplingParams {
            greedy: true,
            ..SamplingParams::default()
        };
        let b = request_body("m", &msgs, None, &greedy, Some(16));
        assert_eq!(
            b["messages"][0],
            json!({"role": "system", "content": "be brief"})
        );
        assert_eq!(b["messages"][1]["content"], "hi");
        assert_eq!(
            (b["temperature"].as_f64(), b["top_k"].as_i64()),
            (Some(0.0), Some(1))
        );
        assert_eq!(b["max_tokens"], 16);
        assert_eq!(b["model"], "m");
        assert!(b.get("seed").is_none());
        let s = SamplingParams {
            seed: 7,
            ..SamplingParams::default()
        };
        let b = request_body("", &msgs, None, &s, None);
        assert_eq!(b["seed"], 7);
        assert!(b.get("model").is_none() && b.get("max_tokens").is_none());
        assert!((b["top_p"].as_f64().unwrap() - 0.95).abs() < 1e-6);
    }
}
