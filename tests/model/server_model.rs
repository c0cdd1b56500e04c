//! A model on a real `llama-server` (built by scripts/build-llama-tools.sh from the same
//! llama.cpp as keybot's, serving the test model on loopback): keybot's greedy answer through it
//! equals its in-process answer and llama-completion's for the same prompt; a stopped answer
//! stops the server's generation; the server killed mid-answer leaves the partial answer and one
//! line; the app chats and runs the bot's tools through a server that wants an API key.
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{Reaped, add_server, free_port, keybot, llama_tool, model_lock, test_model};

const QUESTION: &str = "Name three colours of the rainbow.";

/// llama-server on loopback, killed on drop.
struct Server {
    child: Reaped,
    url: String,
}

fn threads() -> String {
    std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .to_string()
}

/// GET `path` on `port` at 127.0.0.1; the body, or None when nothing answers.
fn get(port: u16, path: &str) -> Option<String> {
    get_with_key(port, path, None)
}

/// GET with `Authorization: Bearer KEY` where the server wants a key.
fn get_with_key(port: u16, path: &str, key: Option<&str>) -> Option<String> {
    use std::io::Write;
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let auth = key.map_or(String::new(), |k| format!("Authorization: Bearer {k}\r\n"));
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}Connection: close\r\n\r\n"
    )
    .ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out)
}

/// llama-server serving `model`, ready, and registered in `home` as the model `box`.
fn start(server: &Path, model: &Path, home: &Path) -> Server {
    let s = spawn_server(server, model, &[]);
    add_server(home, &s.url);
    s
}

/// llama-server serving `model` with `extra` arguments, ready (not registered anywhere).
fn spawn_server(server: &Path, model: &Path, extra: &[&str]) -> Server {
    let port = free_port();
    // As keybot runs the model in-process: the same context, threads and no flash attention on
    // the CPU (src/chat/engine.rs), one slot.
    let child = Command::new(server)
        .arg("-m")
        .arg(model)
        .args(["--host", "127.0.0.1", "--port", &port.to_string()])
        .args([
            "-c",
            "2048",
            "-t",
            &threads(),
            "-fa",
            "off",
            "-np",
            "1",
            "--jinja",
        ])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let s = Server {
        child: Reaped(child),
        url: format!("http://127.0.0.1:{port}"),
    };
    // Ready when /health says so (it answers 503 while the model loads).
    let t0 = Instant::now();
    while !get(port, "/health").is_some_and(|r| r.starts_with("HTTP/1.1 200")) {
        assert!(
            t0.elapsed() < Duration::from_secs(120),
            "llama-server never became ready"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    s
}

/// Waits (30 s at most) until the server's one slot is generating nothing.
fn wait_until_idle(port: u16, key: Option<&str>) {
    let t0 = Instant::now();
    loop {
        let slots = get_with_key(port, "/slots", key).unwrap_or_default();
        if slots.contains("\"is_processing\":false") {
            return;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "the server is still generating: {slots}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn port_of(s: &Server) -> u16 {
    s.url.rsplit(':').next().unwrap().parse().unwrap()
}

/// The test model, llama-server, llama-completion, a fresh wallet's home and the model lock;
/// None (the test is skipped) where the model or a tool is missing outside CI.
struct World {
    model: PathBuf,
    server: PathBuf,
    completion: PathBuf,
    home: tempfile::TempDir,
    _serial: std::sync::MutexGuard<'static, ()>,
}

fn setup() -> Option<World> {
    Some(World {
        model: test_model("KEYBOT_TEST_MODEL")?,
        server: llama_tool("llama-server")?,
        completion: llama_tool("llama-completion")?,
        _serial: model_lock(),
        home: crate::common::fast_home(crate::bot_ask::PHRASE, crate::bot_ask::PW),
    })
}

fn chat(home: &Path, model: &str, max: &str) -> std::process::Output {
    keybot(home)
        .args(["chat", "--greedy", "--max-tokens", max, "--ctx", "2048"])
        .args(["--threads", &threads(), "--model", model, QUESTION])
        .output()
        .unwrap()
}

#[test]
fn a_greedy_answer_through_llama_server_equals_the_in_process_one_and_llama_completions() {
    let Some(w) = setup() else {
        return;
    };
    let h = w.home.path();
    let local = chat(h, w.model.to_str().unwrap(), "48");
    assert!(
        local.status.success(),
        "{}",
        String::from_utf8_lossy(&local.stderr)
    );

    // llama-completion, given the prompt keybot renders for the question, answers the same.
    let reference = crate::chat_reference::llama_completion_chat(h, &w.model, QUESTION, &[]);
    assert_eq!(
        String::from_utf8_lossy(&local.stdout),
        format!("{}\n", String::from_utf8_lossy(&reference)),
        "in-process and llama-completion differ"
    );

    let srv = start(&w.server, &w.model, h);
    let info = keybot(h).args(["model", "info", "box"]).output().unwrap();
    let info_text = String::from_utf8_lossy(&info.stdout);
    assert!(info_text.contains("it serves:"), "{info_text}");
    assert!(info_text.contains("tools:         yes"), "{info_text}");
    let remote = chat(h, "box", "48");
    let stderr = String::from_utf8_lossy(&remote.stderr);
    assert!(remote.status.success(), "{stderr}");
    assert!(!local.stdout.is_empty());
    assert_eq!(
        String::from_utf8_lossy(&remote.stdout),
        String::from_utf8_lossy(&local.stdout),
        "through llama-server and in-process differ"
    );
    // The stats line names the server and carries its own figures.
    assert!(
        stderr.contains(&format!("server 127.0.0.1:{}", port_of(&srv))),
        "{stderr}"
    );
    assert!(!stderr.contains("gen 0 tok"), "{stderr}");
}

#[test]
fn raw_text_the_printed_request_and_the_vaults_model_reader_go_through_llama_server() {
    let Some(w) = setup() else {
        return;
    };
    let h = w.home.path();
    let _srv = start(&w.server, &w.model, h);

    // --raw: a text completion, no template on either side, equal to llama-completion's.
    let prompt = crate::chat_reference::PROMPT;
    let expected = crate::chat_reference::llama_completion_raw(&w.completion, &w.model, "48");
    let raw = keybot(h)
        .args([
            "chat",
            "--raw",
            "--greedy",
            "--max-tokens",
            "48",
            "--model",
            "box",
            prompt,
        ])
        .output()
        .unwrap();
    assert!(
        raw.status.success(),
        "{}",
        String::from_utf8_lossy(&raw.stderr)
    );
    assert!(!expected.is_empty());
    assert_eq!(
        String::from_utf8_lossy(&raw.stdout),
        String::from_utf8_lossy(&expected),
        "a raw continuation through llama-server and llama-completion's differ"
    );

    // --print-prompt: the conversation as the request carries it; the server renders it.
    let printed = keybot(h)
        .args([
            "chat",
            "--print-prompt",
            "--model",
            "box",
            "--system",
            "Be brief.",
            QUESTION,
        ])
        .output()
        .unwrap();
    assert!(printed.status.success());
    let body: serde_json::Value = serde_json::from_slice(&printed.stdout).unwrap();
    assert_eq!(
        body["messages"],
        serde_json::json!([
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": QUESTION},
        ])
    );
    let note = String::from_utf8_lossy(&printed.stderr);
    assert!(note.contains("the server renders the prompt"), "{note}");

    // The sale vault's second reader: held to the answer's JSON schema by the server (a GBNF
    // grammar is llama.cpp's alone), it finds the name the lists and rules miss.
    keybot(h)
        .args(["model", "default", "box"])
        .assert()
        .success();
    let file = h.join("note.txt");
    std::fs::write(&file, "Ugolino waters the plants while we are away.\n").unwrap();
    let add = keybot(h)
        .env("KEYBOT_PASSWORD", crate::bot_ask::PW)
        .args(["market", "add", "--model", "--file"])
        .arg(&file)
        .output()
        .unwrap();
    let summary = String::from_utf8_lossy(&add.stderr);
    assert!(add.status.success(), "{summary}");
    assert!(summary.contains("found by the model"), "{summary}");
    let id = String::from_utf8(add.stdout).unwrap().trim().to_owned();
    let preview = keybot(h)
        .env("KEYBOT_PASSWORD", crate::bot_ask::PW)
        .args(["market", "preview", &id])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&preview.stdout),
        "[name] waters the plants while we are away.\n"
    );
}

/// Waits until `child` has written something on stdout; returns it.
/// `keybot chat` on `box` with a long answer coming, its output piped.
fn spawn_long_chat(home: &Path) -> Child {
    let bin = assert_cmd::cargo::cargo_bin("keybot");
    Command::new(bin)
        .env("KEYBOT_HOME", home)
        .args(["chat", "--greedy", "--max-tokens", "2000", "--model", "box"])
        .arg("Count from 1 to 1000, one number per line.")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// `child`'s exit status and all it wrote on stderr.
fn finish(child: &mut Child) -> (std::process::ExitStatus, String) {
    let status = child.wait().unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    (status, stderr)
}

fn first_output(child: &mut Child) -> Vec<u8> {
    let mut out = child.stdout.take().unwrap();
    let mut buf = [0u8; 64];
    let n = out.read(&mut buf).unwrap();
    assert!(n > 0, "no answer came");
    // The rest is drained so the child never blocks on a full pipe.
    std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
    buf[..n].to_vec()
}

#[test]
fn a_stopped_answer_stops_the_server_and_a_killed_server_leaves_the_partial_answer() {
    let Some(w) = setup() else {
        return;
    };
    let h = w.home.path();
    let mut srv = start(&w.server, &w.model, h);
    let port = port_of(&srv);

    // Ctrl-C once the answer streams: keybot stops, and the server's slot goes idle long before
    // 2,000 tokens could have been generated.
    let mut child = spawn_long_chat(h);
    first_output(&mut child);
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .unwrap()
            .success()
    );
    let (status, stderr) = finish(&mut child);
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("stopped"), "{stderr}");
    wait_until_idle(port, None);

    // The server killed mid-answer: what came is kept, and one line says why.
    let mut child = spawn_long_chat(h);
    let first = first_output(&mut child);
    srv.child.0.kill().unwrap();
    let _ = srv.child.0.wait();
    let (status, stderr) = finish(&mut child);
    assert!(!first.is_empty());
    let why: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("the answer is cut here"))
        .collect();
    assert_eq!(why.len(), 1, "{stderr}");
    assert!(stderr.contains("| cut]"), "{stderr}");
    assert!(status.success(), "{stderr}");
}

#[test]
fn the_bot_reads_the_wallet_through_a_model_on_llama_server() {
    let Some(server) = llama_tool("llama-server") else {
        return;
    };
    let Some((home, _dev, _serial)) = crate::bot_ask::world() else {
        return;
    };
    let h = home.path();
    let model = test_model("KEYBOT_TEST_MODEL").unwrap();
    // Kept to the end: dropping it stops the server.
    let _srv = start(&server, &model, h);
    // The server holds the call to the tools' schemas and streams it as `tool_calls`; keybot
    // reads it with the parser a local model's calls go through, runs the read against anvil
    // and sends the result back as a `tool` message.
    let (v, err) = crate::bot_ask::ask(h, &["--model", "box", "What are my balances?"]);
    let call = &v["tool_calls"][0];
    assert_eq!(call["name"], "balances", "{v:#}\n{err}");
    assert_eq!(
        call["result"]["accounts"][0]["tokens"]["tUSD"], "10000",
        "{v:#}"
    );
    assert!(
        !v["answer"].as_str().unwrap_or_default().is_empty(),
        "{v:#}"
    );
}

#[test]
fn the_app_chats_and_runs_the_tools_through_a_model_on_a_server_that_wants_a_key() {
    const KEY: &str = "sk-keybot-test-4c1d2a9e";
    let Some(server) = llama_tool("llama-server") else {
        return;
    };
    let Some((home, _dev, _serial)) = crate::bot_ask::world() else {
        return;
    };
    let h = home.path();
    let model = test_model("KEYBOT_TEST_MODEL").unwrap();
    let srv = spawn_server(&server, &model, &["--api-key", KEY]);
    let port = port_of(&srv);
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("key");
    std::fs::write(&key_file, KEY).unwrap();
    let pw = crate::bot_ask::PW;
    keybot(h)
        .env("KEYBOT_PASSWORD", pw)
        .args(["model", "add-server", "box", &srv.url, "--api-key-file"])
        .arg(&key_file)
        .assert()
        .success();
    keybot(h)
        .args(["model", "default", "box"])
        .assert()
        .success();
    keybot(h)
        .env("KEYBOT_PASSWORD", pw)
        .args(["settings", "sampling.temp", "0"])
        .assert()
        .success();

    // The wallet the app unlocks opens the key; the status bar names the server as the device.
    let Some(t) = crate::app_bot::app(h) else {
        return;
    };
    assert!(
        t.screen()
            .contains(&format!("box · server 127.0.0.1:{port}")),
        "{}",
        t.screen()
    );
    let screen = crate::app_bot::ask(&t, "What are my balances?");
    assert!(screen.contains("⚙ balances → "), "{screen}");
    assert!(screen.contains("10000"), "the chain's numbers: {screen}");
    assert!(screen.contains("tok/s"), "{screen}");

    // Esc stops a long answer, and the server stops generating it.
    t.line("Count from 1 to 1000, one number per line.");
    t.wait_for("Esc stops the answer", 30);
    t.keys(&["Escape"]);
    t.wait_for("Enter sends", 30);
    wait_until_idle(port, Some(KEY));

    // The conversation went to the store and so into a backup; the key did not.
    t.keys(&["C-c"]);
    t.wait_for("EXIT=0", 30);
    let plain = crate::common::backup_plaintext(h, crate::bot_ask::PHRASE, pw);
    assert!(plain.contains("What are my balances?"), "{plain}");
    assert!(!plain.contains(KEY), "the key is in the backup");
}
