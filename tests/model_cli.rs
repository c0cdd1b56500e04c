//! `keybot model …`: the registry, and `pull` against a local server that speaks the Hub's
//! protocol (no test touches the internet).
mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use common::{keybot, model_lock, test_model};
use sha2::{Digest, Sha256};

/// (method, path, Range header) of every request, in order.
type RequestLog = Mutex<Vec<(String, String, Option<String>)>>;

/// A tiny stand-in for huggingface.co: `HEAD`/`GET /{repo}/resolve/main/{file}` answer with a
/// 302 to a CDN path and the LFS headers (`X-Linked-Etag` = sha256, `X-Linked-Size`);
/// `GET /cdn/{file}` serves the bytes with `Range` support; `/api/models/{repo}` lists files.
struct Hub {
    addr: String,
    /// (method, path, Range header) of every request, in order.
    log: Arc<RequestLog>,
}

#[derive(Clone, Copy)]
enum Fault {
    /// The first body request closes the connection after this many bytes.
    CutFirstAfter(usize),
    /// Every body has one byte flipped (the advertised sha256 stays the real one).
    Corrupt,
}

impl Hub {
    fn start(repo: &str, file: &str, data: Vec<u8>, fault: Fault) -> Hub {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = format!("http://{}", listener.local_addr().unwrap());
        let log = Arc::new(Mutex::new(Vec::new()));
        let sha = hex::encode(Sha256::digest(&data));
        let data = Arc::new(data);
        let cut_done = Arc::new(AtomicBool::new(false));
        let (repo, file) = (repo.to_owned(), file.to_owned());
        let log2 = Arc::clone(&log);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (data, log, cut_done) =
                    (Arc::clone(&data), Arc::clone(&log2), Arc::clone(&cut_done));
                let (repo, file, sha) = (repo.clone(), file.clone(), sha.clone());
                std::thread::spawn(move || {
                    let _ = serve(stream, &repo, &file, &sha, &data, fault, &cut_done, &log);
                });
            }
        });
        Hub { addr, log }
    }

    fn body_ranges(&self) -> Vec<Option<String>> {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|(m, p, _)| m == "GET" && p.starts_with("/cdn/"))
            .map(|(_, _, r)| r.clone())
            .collect()
    }
}

#[allow(clippy::too_many_arguments)]
fn serve(
    mut stream: TcpStream,
    repo: &str,
    file: &str,
    sha: &str,
    data: &[u8],
    fault: Fault,
    cut_done: &AtomicBool,
    log: &RequestLog,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_owned();
    let path = parts.next().unwrap_or_default().to_owned();
    let mut range = None;
    loop {
        let mut h = String::new();
        reader.read_line(&mut h)?;
        if h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':')
            && k.eq_ignore_ascii_case("range")
        {
            range = Some(v.trim().to_owned());
        }
    }
    log.lock()
        .unwrap()
        .push((method.clone(), path.clone(), range.clone()));

    let resolve = format!("/{repo}/resolve/main/{file}");
    let cdn = format!("/cdn/{file}");
    if path == format!("/api/models/{repo}") {
        let body = format!(
            r#"{{"id":"{repo}","siblings":[{{"rfilename":"README.md"}},{{"rfilename":"{file}"}}]}}"#
        );
        return write!(
            stream,
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
    }
    if path == resolve {
        // What the Hub does for LFS files: checksum headers here, the bytes on a CDN.
        return write!(
            stream,
            "HTTP/1.1 302 Found\r\nLocation: {cdn}\r\nX-Linked-Etag: \"{sha}\"\r\nX-Linked-Size: {}\r\nX-Repo-Commit: 0123456789abcdef\r\nETag: \"0123abcd\"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            data.len()
        );
    }
    if path != cdn {
        return write!(
            stream,
            "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
    }
    let start = range
        .as_deref()
        .and_then(|r| r.strip_prefix("bytes="))
        .and_then(|r| r.strip_suffix('-'))
        .and_then(|s| s.parse::<usize>().ok())
        .unwrap_or(0)
        .min(data.len());
    let body = &data[start..];
    let status = if range.is_some() {
        format!(
            "206 Partial Content\r\nContent-Range: bytes {start}-{}/{}",
            data.len().saturating_sub(1),
            data.len()
        )
    } else {
        "200 OK".to_owned()
    };
    write!(
        stream,
        "HTTP/1.1 {status}\r\nAccept-Ranges: bytes\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    if method == "HEAD" {
        return Ok(());
    }
    match fault {
        Fault::CutFirstAfter(n) if !cut_done.swap(true, Ordering::SeqCst) => {
            stream.write_all(&body[..n.min(body.len())])?;
            stream.flush()?;
            // Drop the connection mid-body, as a network failure would.
            stream.shutdown(std::net::Shutdown::Both)
        }
        Fault::Corrupt => {
            let mut copy = body.to_vec();
            let mid = copy.len() / 2;
            copy[mid] ^= 0xff;
            stream.write_all(&copy)
        }
        Fault::CutFirstAfter(_) => stream.write_all(body),
    }
}

fn list_json(home: &Path) -> serde_json::Value {
    let out = keybot(home)
        .args(["model", "list", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn interrupted_pull_resumes_and_registers_the_checked_model() {
    let Some(model) = test_model("KEYBOT_TEST_MODEL_BASE") else {
        return;
    };
    let _serial = model_lock();
    let data = std::fs::read(&model).unwrap();
    let sha = hex::encode(Sha256::digest(&data));
    let hub = Hub::start(
        "keybot-test/gemma-3-270m-GGUF",
        "gemma-3-270m-q4_k_m.gguf",
        data.clone(),
        Fault::CutFirstAfter(40 << 20),
    );
    let home = tempfile::tempdir().unwrap();

    let out = keybot(home.path())
        .env("HF_ENDPOINT", &hub.addr)
        .args([
            "model",
            "pull",
            "keybot-test/gemma-3-270m-GGUF:gemma-3-270m-q4_k_m.gguf",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("interrupted") && err.contains("again to resume"),
        "{err}"
    );
    assert_eq!(
        list_json(home.path())["models"].as_array().unwrap().len(),
        0,
        "nothing registered yet"
    );
    let part = home
        .path()
        .join("data/models/keybot-test--gemma-3-270m-GGUF/gemma-3-270m-q4_k_m.gguf.part");
    let partial = std::fs::metadata(&part)
        .expect("the partial download is kept")
        .len();
    assert!(partial > 0 && partial < data.len() as u64, "{partial}");

    // Again: only the rest is fetched, and the whole file checks out.
    let out = keybot(home.path())
        .env("HF_ENDPOINT", &hub.addr)
        .args([
            "model",
            "pull",
            "keybot-test/gemma-3-270m-GGUF:gemma-3-270m-q4_k_m.gguf",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ranges = hub.body_ranges();
    assert_eq!(ranges.len(), 2, "{ranges:?}");
    assert_eq!(ranges[0], None);
    assert_eq!(
        ranges[1].as_deref(),
        Some(format!("bytes={partial}-").as_str()),
        "resumed, not restarted"
    );
    assert!(!part.exists());

    let list = list_json(home.path());
    let m = &list["models"][0];
    assert_eq!(m["sha256"], sha.as_str());
    assert_eq!(m["architecture"], "gemma3");
    assert_eq!(
        m["source"],
        "keybot-test/gemma-3-270m-GGUF:gemma-3-270m-q4_k_m.gguf"
    );
    assert_eq!(list["default"], m["name"]);
    assert_eq!(
        std::fs::read(m["path"].as_str().unwrap()).unwrap().len(),
        data.len()
    );

    // With a default model, --model may be left out.
    let out = keybot(home.path())
        .args([
            "chat",
            "--raw",
            "--greedy",
            "--max-tokens",
            "3",
            "The sky is",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn corrupted_pull_fails_the_sha256_check_and_registers_nothing() {
    let Some(model) = test_model("KEYBOT_TEST_MODEL_BASE") else {
        return;
    };
    let _serial = model_lock();
    let data = std::fs::read(&model).unwrap();
    let hub = Hub::start(
        "keybot-test/gemma",
        "gemma-3-270m-q4_k_m.gguf",
        data,
        Fault::Corrupt,
    );
    let home = tempfile::tempdir().unwrap();
    // No FILE: the repository's only GGUF is picked from its file list.
    let out = keybot(home.path())
        .env("HF_ENDPOINT", &hub.addr)
        .args(["model", "pull", "keybot-test/gemma"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("sha256 mismatch"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert_eq!(
        list_json(home.path())["models"].as_array().unwrap().len(),
        0
    );
    let dir = home.path().join("data/models/keybot-test--gemma");
    let left: Vec<_> = std::fs::read_dir(&dir)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "the bad download is deleted: {left:?}");
}

#[test]
fn add_list_info_default_and_chat_without_model() {
    let (Some(chat), Some(base)) = (
        test_model("KEYBOT_TEST_MODEL"),
        test_model("KEYBOT_TEST_MODEL_BASE"),
    ) else {
        return;
    };
    let _serial = model_lock();
    let home = tempfile::tempdir().unwrap();
    let h = home.path();

    // No model at all: a clear error that says what to do.
    let out = keybot(h).args(["chat", "hi"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(err.contains("keybot model add"), "{err}");

    let out = keybot(h)
        .args(["model", "add", "--name", "qwen"])
        .arg(&chat)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Q4_K_M") && text.contains("qwen2"), "{text}");
    keybot(h)
        .args(["model", "add"])
        .arg(&base)
        .assert()
        .success();

    // A bad file is refused and changes nothing.
    let junk = h.join("junk.gguf");
    std::fs::write(&junk, "not a model").unwrap();
    let before = std::fs::read(h.join("data/models/registry.json")).unwrap();
    let out = keybot(h)
        .args(["model", "add"])
        .arg(&junk)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a GGUF"));
    assert_eq!(
        std::fs::read(h.join("data/models/registry.json")).unwrap(),
        before
    );
    let out = keybot(h)
        .args(["model", "add", "--name", "qwen"])
        .arg(&base)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("already registered"));

    let list = list_json(h);
    assert_eq!(
        list["default"], "qwen",
        "the first model added is the default"
    );
    let models = list["models"].as_array().unwrap();
    assert_eq!(models.len(), 2);
    let qwen = &models[0];
    assert_eq!(qwen["architecture"], "qwen2");
    assert_eq!(qwen["quantization"], "Q4_K_M");
    assert_eq!(qwen["context_length"], 32768);
    assert_eq!(qwen["size"], 491_400_064u64);
    assert_eq!(
        qwen["sha256"],
        "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
    );
    assert_eq!(qwen["has_chat_template"], true);
    assert_eq!(models[1]["name"], "gemma-3-270m-q4_k_m");
    assert_eq!(models[1]["has_chat_template"], false);

    let out = keybot(h)
        .args(["model", "info", "gemma-3-270m-q4_k_m"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"),
        "{text}"
    );
    let out = keybot(h).args(["model", "info", "nope"]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("no registered model"));

    keybot(h)
        .args(["model", "default", "gemma-3-270m-q4_k_m"])
        .assert()
        .success();
    assert_eq!(list_json(h)["default"], "gemma-3-270m-q4_k_m");
    let out = keybot(h)
        .args([
            "chat",
            "--raw",
            "--greedy",
            "--max-tokens",
            "2",
            "--stats-json",
            "Hello",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    // And by name.
    let out = keybot(h)
        .args([
            "chat",
            "--model",
            "qwen",
            "--greedy",
            "--max-tokens",
            "16",
            "What is 2+2? Reply with just the number.",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains('4'));
}
