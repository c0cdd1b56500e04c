//! A model on a server (`keybot model add-server`), against servers that misbehave: a fake
//! OpenAI-compatible server on loopback, written here, answers each way a hostile or broken one
//! could — escape sequences in the text, a stream that never ends, malformed JSON, a 500, the
//! connection dropped mid-answer — and `keybot chat` gives one clean line for each, keeps what
//! came, and never prints a control character. (The real peer, llama-server, is in the model
//! tests.)
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::Output;

use crate::common::{add_server, keybot};

/// What the fake server does with a chat request.
#[derive(Clone, Copy)]
enum Way {
    /// Pieces with escape sequences and a bell, then a proper end.
    Escapes,
    /// Piece after piece, never a finish or [DONE].
    Endless,
    /// One good piece, then a line that is not JSON.
    Malformed,
    /// 500 with an error body that carries an escape sequence.
    Status500,
    /// One good piece, then the connection closes.
    Dropped,
    /// 401 unless the request carries `Authorization: Bearer KEY`; then as `Escapes`.
    RequireKey,
}

/// The API key the `RequireKey` server wants.
const KEY: &str = "sk-keybot-test-0123456789abcdef";

const MODELS: &str = r#"{"object":"list","data":[{"id":"fake-model","object":"model"}]}"#;

fn piece(text: &str) -> String {
    let v = serde_json::json!({"choices": [{"index": 0, "delta": {"content": text}}]});
    format!("data: {v}\n\n")
}

/// Reads one request's head and body; returns its path and whether it carried the key.
fn read_request(stream: &mut TcpStream) -> (String, bool) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut first = String::new();
    reader.read_line(&mut first).unwrap();
    let mut length = 0usize;
    let mut keyed = false;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        if line == "\r\n" || line.is_empty() {
            break;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().unwrap();
        }
        if line.trim_end() == format!("authorization: Bearer {KEY}") {
            keyed = true;
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    (
        first.split_whitespace().nth(1).unwrap_or("").to_owned(),
        keyed,
    )
}

fn answer(stream: &mut TcpStream, way: Way) {
    let (path, keyed) = read_request(stream);
    if matches!(way, Way::RequireKey) && !keyed {
        let _ = write!(
            stream,
            "HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
        return;
    }
    if path.ends_with("/v1/models") {
        let _ = write!(
            stream,
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{MODELS}",
            MODELS.len()
        );
        return;
    }
    if let Way::Status500 = way {
        let body = "{\"error\":{\"message\":\"out of memory\\u001b[2J\"}}";
        let _ = write!(
            stream,
            "HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        return;
    }
    let _ = write!(
        stream,
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n"
    );
    match way {
        Way::Escapes | Way::RequireKey => {
            for p in ["Hello", "\u{1b}[2J\u{1b}]0;owned\u{7}", " world\u{7}"] {
                let _ = stream.write_all(piece(p).as_bytes());
            }
            let _ = stream.write_all(b"data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n");
        }
        Way::Endless => {
            // Until keybot hangs up.
            while stream.write_all(piece("again ").as_bytes()).is_ok() {}
        }
        Way::Malformed => {
            let _ = stream.write_all(piece("Partial").as_bytes());
            let _ = stream.write_all(b"data: {\"choices\": [oops\n\n");
        }
        Way::Dropped => {
            let _ = stream.write_all(piece("Half an answer").as_bytes());
        }
        Way::Status500 => unreachable!(),
    }
}

/// A fake server on loopback that answers every connection `way`; its base URL.
fn fake_server(way: Way) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { return };
            std::thread::spawn(move || answer(&mut s, way));
        }
    });
    format!("http://{addr}")
}

fn chat(home: &Path, url: &str, extra: &[&str]) -> Output {
    add_server(home, url);
    keybot(home)
        .args(["chat", "--model", "box", "--greedy"])
        .args(extra)
        .arg("Say hello.")
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8(b.to_vec()).unwrap()
}

fn no_controls(s: &str) {
    assert!(
        !s.chars().any(|c| c.is_control() && c != '\n'),
        "a control character got through: {s:?}"
    );
}

#[test]
fn escape_sequences_from_a_server_never_reach_the_terminal() {
    let home = tempfile::tempdir().unwrap();
    let out = chat(home.path(), &fake_server(Way::Escapes), &[]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stderr}");
    assert_eq!(stdout.trim_end(), "Hello world", "{stdout:?}");
    no_controls(&stdout);
    no_controls(&stderr);
    assert!(stderr.contains("server 127.0.0.1:"), "{stderr}");
}

#[test]
fn a_stream_that_never_ends_stops_at_the_token_limit() {
    let home = tempfile::tempdir().unwrap();
    let out = chat(
        home.path(),
        &fake_server(Way::Endless),
        &["--max-tokens", "5"],
    );
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stderr}");
    assert_eq!(
        stdout.trim_end(),
        "again again again again again",
        "{stdout:?}"
    );
    assert!(stderr.contains("max-tokens"), "{stderr}");
}

#[test]
fn malformed_json_and_a_dropped_connection_keep_the_partial_answer_and_say_why_in_one_line() {
    for (way, kept, why) in [
        (Way::Malformed, "Partial", "not JSON"),
        (Way::Dropped, "Half an answer", "ended mid-answer"),
    ] {
        let home = tempfile::tempdir().unwrap();
        let out = chat(home.path(), &fake_server(way), &[]);
        let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
        assert_eq!(stdout.trim_end(), kept, "{stdout:?}");
        let lines: Vec<&str> = stderr.lines().filter(|l| l.contains(why)).collect();
        assert_eq!(lines.len(), 1, "{stderr}");
        assert!(lines[0].contains("the answer is cut here"), "{stderr}");
        assert!(stderr.contains("| cut]"), "{stderr}");
        no_controls(&stderr);
    }
}

#[test]
fn a_server_error_is_one_clean_line() {
    let home = tempfile::tempdir().unwrap();
    let out = chat(home.path(), &fake_server(Way::Status500), &[]);
    let stderr = text(&out.stderr);
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    let line = stderr
        .lines()
        .find(|l| l.contains("500"))
        .unwrap_or_default();
    assert!(line.contains("out of memory"), "{stderr}");
    no_controls(&stderr);
}

#[test]
fn a_server_is_registered_only_with_a_url_that_keeps_the_conversation_private() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    for (url, why) in [
        ("http://192.168.1.20:8080", "plain http"),
        ("https://me:secret@gpu.example.org", "no user or password"),
        ("gopher://127.0.0.1", "http:// or https://"),
    ] {
        let out = keybot(h)
            .args(["model", "add-server", "box", url])
            .output()
            .unwrap();
        let stderr = text(&out.stderr);
        assert!(!out.status.success());
        assert!(stderr.contains(why), "{stderr}");
        assert!(!stderr.contains("secret"), "{stderr}");
    }
    // Nothing was registered by the refusals.
    let list = keybot(h).args(["model", "list"]).output().unwrap();
    assert!(!text(&list.stdout).contains("box"));
    // Accepted once, with a loud warning.
    let out = keybot(h)
        .args([
            "model",
            "add-server",
            "box",
            "http://192.168.1.20:8080",
            "--allow-plain-http",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(text(&out.stderr).starts_with("WARNING: plain http"));
    let list = text(&keybot(h).args(["model", "list"]).output().unwrap().stdout);
    assert!(list.contains("box") && list.contains("server"), "{list}");
}

#[test]
fn rpc_servers_are_for_a_gguf_not_a_model_on_a_server() {
    let home = tempfile::tempdir().unwrap();
    let url = fake_server(Way::Escapes);
    let out = chat(home.path(), &url, &["--rpc", "127.0.0.1:50052"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("--rpc spreads a GGUF's layers"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(out.stdout.is_empty());
}

#[test]
fn a_dead_server_is_one_line_when_the_model_loads() {
    let home = tempfile::tempdir().unwrap();
    // A port nothing listens on: bound, then closed.
    let port = crate::common::free_port();
    let out = chat(home.path(), &format!("http://127.0.0.1:{port}"), &[]);
    let stderr = text(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("cannot connect"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

#[test]
fn an_api_key_is_sent_to_its_server_and_kept_nowhere_in_the_clear() {
    const PW: &str = "server key password";
    const PHRASE: &str = "test test test test test test test test test test test junk";
    let home = crate::common::fast_home(PHRASE, PW);
    let h = home.path();
    let url = fake_server(Way::RequireKey);
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("key.txt");
    std::fs::write(&key_file, format!("{KEY}\n")).unwrap();
    let add = keybot(h)
        .env("KEYBOT_PASSWORD", PW)
        .args(["model", "add-server", "box", &url, "--api-key-file"])
        .arg(&key_file)
        .output()
        .unwrap();
    let out = format!("{}{}", text(&add.stdout), text(&add.stderr));
    assert!(add.status.success(), "{out}");
    assert!(
        out.contains("sealed with the wallet") && !out.contains(KEY),
        "{out}"
    );
    std::fs::remove_file(&key_file).unwrap();

    // With the wallet's password the key opens and the server answers.
    let chat = |pw: Option<&str>| {
        let mut c = keybot(h);
        if let Some(pw) = pw {
            c.env("KEYBOT_PASSWORD", pw);
        }
        c.args(["chat", "--model", "box", "Say hello."])
            .output()
            .unwrap()
    };
    let ok = chat(Some(PW));
    assert!(ok.status.success(), "{}", text(&ok.stderr));
    assert_eq!(text(&ok.stdout).trim_end(), "Hello world");
    // A wrong password opens nothing and sends nothing.
    let wrong = chat(Some("not it"));
    assert!(!wrong.status.success());
    assert!(wrong.stdout.is_empty());
    assert!(
        text(&wrong.stderr).contains("wrong password"),
        "{}",
        text(&wrong.stderr)
    );
    let info = keybot(h)
        .env("KEYBOT_PASSWORD", PW)
        .args(["model", "info", "box", "--json"])
        .output()
        .unwrap();
    assert!(info.status.success(), "{}", text(&info.stderr));
    assert!(!text(&info.stdout).contains(KEY));
    // A server that does not say whether its template calls tools is said to be that.
    let info: serde_json::Value = serde_json::from_slice(&info.stdout).unwrap();
    assert_eq!(info["tools"], serde_json::Value::Null, "{info}");
    assert_eq!(info["server_models"][0], "fake-model", "{info}");

    // `ask` unlocks once: the password from --password-file opens the key too (no second
    // prompt, which off a terminal would fail). The bot's tools go with the request (a question
    // about the wallet); this server answers in words.
    let pw_file = dir.path().join("pw");
    std::fs::write(&pw_file, PW).unwrap();
    let ask = keybot(h)
        .args(["ask", "--model", "box", "--password-file"])
        .arg(&pw_file)
        .arg("What are my balances?")
        .output()
        .unwrap();
    assert!(ask.status.success(), "{}", text(&ask.stderr));
    assert_eq!(text(&ask.stdout).trim_end(), "Hello world");

    // Not in any file of the home: the registry, the log, the store, the sealed key itself.
    let mut files = vec![h.to_path_buf()];
    let mut seen = 0;
    while let Some(p) = files.pop() {
        if p.is_dir() {
            files.extend(std::fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
        } else {
            seen += 1;
            let bytes = std::fs::read(&p).unwrap();
            assert!(
                !bytes.windows(KEY.len()).any(|w| w == KEY.as_bytes()),
                "the key is in {}",
                p.display()
            );
        }
    }
    assert!(seen >= 3, "{seen} files");

    // Nor in a backup: the key is sealed beside the store, never in it, so the archive's
    // plaintext does not hold it (a setting gives the archive something to carry).
    keybot(h)
        .env("KEYBOT_PASSWORD", PW)
        .args(["settings", "sampling.temp", "0"])
        .assert()
        .success();
    let plain = crate::common::backup_plaintext(h, PHRASE, PW);
    assert!(plain.contains("sampling.temp"), "{plain}");
    assert!(!plain.contains(KEY), "the key is in the backup");
}
