//! `keybot model …`: the registry, and `pull` against a local server that speaks the Hub's
//! protocol (no test touches the internet).
use crate::common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use common::tls::test_pki;
use common::{keybot, model_lock, test_model};
use sha2::{Digest, Sha256};

/// (method, path, Range header) of every request, in order.
type RequestLog = Mutex<Vec<(String, String, Option<String>)>>;

/// A tiny stand-in for huggingface.co: `HEAD`/`GET /{repo}/resolve/main/{file}` answer with a
/// 302 to a CDN path and the LFS headers (`X-Linked-Etag` = sha256, `X-Linked-Size`);
/// `GET /cdn/{file}` serves the bytes with `Range` support; `/api/models/{repo}` lists files.
/// With a hostile listing, every other path is answered as if it were the file, so that a
/// client that followed a name like `../../x.gguf` would really get bytes to write.
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
    /// Serves the file as it is.
    None,
    /// Answers every `Range` request with 416 and an HTML error page.
    RefuseRanges,
}

impl Hub {
    fn start(repo: &str, file: &str, data: Vec<u8>, fault: Fault) -> Hub {
        Hub::start_listing(repo, file, data, fault, None)
    }

    /// `listing`: the file names `/api/models/{repo}` gives instead of `file`.
    fn start_listing(
        repo: &str,
        file: &str,
        data: Vec<u8>,
        fault: Fault,
        listing: Option<Vec<String>>,
    ) -> Hub {
        Hub::start_on(repo, file, data, fault, listing, None)
    }

    /// The same Hub behind TLS with `config`'s certificate: an `https://` endpoint.
    fn start_tls(repo: &str, file: &str, data: Vec<u8>, config: rustls::ServerConfig) -> Hub {
        Hub::start_on(repo, file, data, Fault::None, None, Some(Arc::new(config)))
    }

    fn start_on(
        repo: &str,
        file: &str,
        data: Vec<u8>,
        fault: Fault,
        listing: Option<Vec<String>>,
        tls: Option<Arc<rustls::ServerConfig>>,
    ) -> Hub {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let scheme = if tls.is_some() { "https" } else { "http" };
        let addr = format!("{scheme}://{}", listener.local_addr().unwrap());
        let log = Arc::new(Mutex::new(Vec::new()));
        let sha = hex::encode(Sha256::digest(&data));
        let data = Arc::new(data);
        let cut_done = Arc::new(AtomicBool::new(false));
        let (repo, file) = (repo.to_owned(), file.to_owned());
        let listing = Arc::new(listing);
        let log2 = Arc::clone(&log);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (data, log, cut_done) =
                    (Arc::clone(&data), Arc::clone(&log2), Arc::clone(&cut_done));
                let (repo, file, sha) = (repo.clone(), file.clone(), sha.clone());
                let listing = Arc::clone(&listing);
                let tls = tls.clone();
                std::thread::spawn(move || {
                    let site = Site {
                        repo: &repo,
                        file: &file,
                        sha: &sha,
                        data: &data,
                        listing: listing.as_deref(),
                    };
                    match tls {
                        None => {
                            let _ = serve(stream, &site, fault, &cut_done, &log);
                        }
                        Some(config) => {
                            let Ok(conn) = rustls::ServerConnection::new(config) else {
                                return;
                            };
                            let mut tls = rustls::StreamOwned::new(conn, stream);
                            if serve(&mut tls, &site, fault, &cut_done, &log).is_ok() {
                                tls.conn.send_close_notify();
                                let _ = tls.flush();
                            }
                        }
                    }
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

/// What the fake Hub serves.
struct Site<'a> {
    repo: &'a str,
    file: &'a str,
    sha: &'a str,
    data: &'a [u8],
    listing: Option<&'a [String]>,
}

/// A connection the fake Hub answers on: plain TCP, or TLS over it.
trait Conn: Read + Write {
    /// Drops the connection mid-body, as a network failure would.
    fn cut(&mut self) -> std::io::Result<()>;
}

impl Conn for TcpStream {
    fn cut(&mut self) -> std::io::Result<()> {
        self.shutdown(std::net::Shutdown::Both)
    }
}

impl Conn for &mut rustls::StreamOwned<rustls::ServerConnection, TcpStream> {
    fn cut(&mut self) -> std::io::Result<()> {
        self.sock.shutdown(std::net::Shutdown::Both)
    }
}

fn serve(
    mut stream: impl Conn,
    site: &Site<'_>,
    fault: Fault,
    cut_done: &AtomicBool,
    log: &RequestLog,
) -> std::io::Result<()> {
    let Site {
        repo,
        file,
        sha,
        data,
        listing,
    } = *site;
    // A request has no body here: nothing the reader buffers past the headers is lost.
    let (method, path, range) = {
        let mut reader = BufReader::new(&mut stream);
        let mut line = String::new();
        reader.read_line(&mut line)?;
        let mut parts = line.split_whitespace();
        let method = parts.next().unwrap_or_default().to_owned();
        let path = parts.next().unwrap_or_default().to_owned();
        let mut range = None;
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h)? == 0 || h.trim().is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':')
                && k.eq_ignore_ascii_case("range")
            {
                range = Some(v.trim().to_owned());
            }
        }
        (method, path, range)
    };
    log.lock()
        .unwrap()
        .push((method.clone(), path.clone(), range.clone()));

    let resolve = format!("/{repo}/resolve/main/{file}");
    let cdn = format!("/cdn/{file}");
    if path == format!("/api/models/{repo}") {
        let mut names = vec!["README.md".to_owned()];
        names.extend(listing.map_or_else(|| vec![file.to_owned()], <[String]>::to_vec));
        let siblings: Vec<_> = names
            .iter()
            .map(|n| serde_json::json!({ "rfilename": n }))
            .collect();
        let body = serde_json::json!({ "id": repo, "siblings": siblings }).to_string();
        return write!(
            stream,
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
    }
    if path == resolve || (listing.is_some() && !path.starts_with("/cdn/")) {
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
    if matches!(fault, Fault::RefuseRanges) && range.is_some() {
        let page = "<html><body>416 Requested Range Not Satisfiable</body></html>";
        return write!(
            stream,
            "HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */{}\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{page}",
            data.len(),
            page.len()
        );
    }
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
            stream.cut()
        }
        Fault::Corrupt => {
            let mut copy = body.to_vec();
            let mid = copy.len() / 2;
            copy[mid] ^= 0xff;
            stream.write_all(&copy)
        }
        Fault::CutFirstAfter(_) | Fault::None | Fault::RefuseRanges => stream.write_all(body),
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
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not a GGUF"));
    // Said once: the error chain does not repeat the GGUF error as its own cause.
    assert_eq!(err.matches("not a GGUF").count(), 1, "{err}");
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

/// A GGUF file with metadata and no tensors: enough for `model add`, `model pull` and the
/// header check, not for llama.cpp.
fn tiny_gguf(arch: &str, name: &str) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(b"GGUF");
    b.extend_from_slice(&3u32.to_le_bytes());
    b.extend_from_slice(&0u64.to_le_bytes()); // tensors
    b.extend_from_slice(&3u64.to_le_bytes()); // metadata
    let string = |b: &mut Vec<u8>, s: &str| {
        b.extend_from_slice(&(s.len() as u64).to_le_bytes());
        b.extend_from_slice(s.as_bytes());
    };
    for (k, v) in [("general.architecture", arch), ("general.name", name)] {
        string(&mut b, k);
        b.extend_from_slice(&8u32.to_le_bytes());
        string(&mut b, v);
    }
    string(&mut b, "general.file_type");
    b.extend_from_slice(&4u32.to_le_bytes());
    b.extend_from_slice(&15u32.to_le_bytes()); // Q4_K_M
    // Padding up to the data section (empty), and some more so a test can change a byte of the
    // file without touching the header.
    b.resize(b.len().div_ceil(32) * 32 + 64, 0);
    b
}

/// An https Hub: the download goes through the one TLS stack (reqwest, rustls on ring) and the
/// certificate is checked against the system's CA store, which `SSL_CERT_FILE` names here. A CA
/// the store does not hold is refused and nothing is written.
#[test]
fn https_pull_checks_the_certificate_against_the_system_store() {
    let (ca_pem, config) = test_pki();
    let (other_ca_pem, _) = test_pki();
    let data = tiny_gguf("llama", "tls model");
    let hub = Hub::start_tls("org/tls-GGUF", "tls.gguf", data.clone(), config);
    let certs = tempfile::tempdir().unwrap();
    let (ours, other) = (certs.path().join("ca.pem"), certs.path().join("other.pem"));
    std::fs::write(&ours, ca_pem).unwrap();
    std::fs::write(&other, other_ca_pem).unwrap();
    let pull_with = |home: &Path, roots: &Path| {
        keybot(home)
            .env("HF_ENDPOINT", &hub.addr)
            .env("SSL_CERT_FILE", roots)
            .env_remove("SSL_CERT_DIR")
            .args(["model", "pull", "org/tls-GGUF:tls.gguf"])
            .output()
            .unwrap()
    };

    let home = tempfile::tempdir().unwrap();
    let out = pull_with(home.path(), &other);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "an unknown CA was accepted: {err}");
    assert!(err.to_lowercase().contains("certificate"), "{err}");
    assert_eq!(files_under(home.path()), Vec::<std::path::PathBuf>::new());

    let out = pull_with(home.path(), &ours);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    let models = list_json(home.path());
    let entry = &models["models"][0];
    assert_eq!(entry["model_name"], "tls model", "{models:#}");
    assert_eq!(entry["source"], "org/tls-GGUF:tls.gguf");
    let file = entry["path"].as_str().unwrap();
    assert_eq!(std::fs::read(file).unwrap(), data);
}

fn pull(home: &Path, hub: &Hub, spec: &str) -> std::process::Output {
    keybot(home)
        .env("HF_ENDPOINT", &hub.addr)
        .args(["model", "pull", spec])
        .output()
        .unwrap()
}

/// Every model or partial download under `dir`, for "nothing was written" checks (keybot's own
/// log and config files may appear).
fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    common::snapshot(dir)
        .into_keys()
        .filter(|p| {
            let name = p.file_name().unwrap_or_default().to_string_lossy();
            name.contains(".gguf") || name.ends_with(".part") || name == "registry.json"
        })
        .collect()
}

fn assert_printable(what: &str, bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    assert!(
        !text.chars().any(|c| c != '\n' && c.is_control()),
        "{what} printed a control character: {text:?}"
    );
}

#[test]
fn pull_refuses_server_file_names_that_leave_the_models_folder() {
    let outside = tempfile::tempdir().unwrap();
    let absolute = outside.path().join("abs.gguf").display().to_string();
    for hostile in ["../../evil.gguf", absolute.as_str(), "a/../../../evil.gguf"] {
        let home = tempfile::tempdir().unwrap();
        let hub = Hub::start_listing(
            "keybot-test/evil",
            "evil.gguf",
            tiny_gguf("llama", "evil"),
            Fault::None,
            Some(vec![hostile.to_owned()]),
        );
        let out = pull(home.path(), &hub, "keybot-test/evil");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{hostile}: {err}");
        assert!(err.contains("refusing the file name"), "{hostile}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        // Refused before anything was fetched or written, inside the home or outside it.
        assert!(
            hub.body_ranges().is_empty(),
            "{hostile}: a body was fetched"
        );
        assert_eq!(files_under(home.path()), Vec::<std::path::PathBuf>::new());
        assert_eq!(
            common::snapshot(outside.path()).len(),
            0,
            "{hostile}: a file was written outside the home"
        );
    }
}

#[test]
fn pull_of_a_body_that_is_not_gguf_is_refused_and_leaves_nothing() {
    // The server's checksum matches its bytes; the bytes just are not a model.
    let home = tempfile::tempdir().unwrap();
    let hub = Hub::start(
        "keybot-test/html",
        "model.gguf",
        b"<html><body>Sign in to continue</body></html>".to_vec(),
        Fault::None,
    );
    let out = pull(home.path(), &hub, "keybot-test/html");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("not a usable GGUF") && err.contains("deleted"),
        "{err}"
    );
    assert_eq!(
        files_under(&home.path().join("data/models")),
        Vec::<std::path::PathBuf>::new(),
        "no file under its final name, no .part"
    );
}

#[test]
fn a_refused_resume_starts_over_instead_of_appending_the_error_page() {
    let home = tempfile::tempdir().unwrap();
    let data = tiny_gguf("llama", "resumed");
    let sha = hex::encode(Sha256::digest(&data));
    let hub = Hub::start(
        "keybot-test/ranges",
        "model.gguf",
        data.clone(),
        Fault::RefuseRanges,
    );
    // What an earlier, interrupted try left behind.
    let dir = home.path().join("data/models/keybot-test--ranges");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("model.gguf.part"), &data[..40]).unwrap();

    let out = pull(home.path(), &hub, "keybot-test/ranges:model.gguf");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ranges = hub.body_ranges();
    assert_eq!(
        ranges,
        vec![Some("bytes=40-".to_owned()), None],
        "one refused resume, then the whole file"
    );
    assert_eq!(std::fs::read(dir.join("model.gguf")).unwrap(), data);
    assert!(!dir.join("model.gguf.part").exists());
    assert_eq!(list_json(home.path())["models"][0]["sha256"], sha.as_str());
}

#[test]
fn pull_refuses_plain_http_unless_the_server_is_on_this_machine() {
    let home = tempfile::tempdir().unwrap();
    for endpoint in ["http://example.invalid", "http://10.0.0.1:8080/"] {
        let out = keybot(home.path())
            .env("HF_ENDPOINT", endpoint)
            .args(["model", "pull", "keybot-test/any:model.gguf"])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(
            err.contains("plain http://") && err.contains("https://"),
            "{endpoint}: {err}"
        );
    }
    assert_eq!(files_under(home.path()), Vec::<std::path::PathBuf>::new());
}

#[test]
fn model_list_and_info_print_no_control_characters_from_the_gguf() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    // An OSC 52 clipboard write in the name, a screen clear in the architecture.
    let file = h.join("hostile.gguf");
    std::fs::write(
        &file,
        tiny_gguf(
            "lla\x1b[2Jma",
            "Nice\x1b]52;c;cm0gLXJmIH4=\x07 model\r\u{202e}",
        ),
    )
    .unwrap();
    let out = keybot(h)
        .args(["model", "add", "--name", "hostile"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_printable("model add", &out.stdout);
    assert!(String::from_utf8_lossy(&out.stdout).contains("Nice model"));

    let out = keybot(h).args(["model", "list"]).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_printable("model list", &out.stdout);
    assert!(String::from_utf8_lossy(&out.stdout).contains("llama"));

    let out = keybot(h)
        .args(["model", "info", "hostile"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_printable("model info", &out.stdout);

    // JSON keeps the exact value, escaped as JSON escapes control characters.
    let list = list_json(h);
    assert_eq!(
        list["models"][0]["model_name"],
        "Nice\x1b]52;c;cm0gLXJmIH4=\x07 model\r\u{202e}"
    );
}

#[test]
fn chat_refuses_a_registered_model_whose_file_changed() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let file = h.join("m.gguf");
    let mut data = tiny_gguf("llama", "m");
    std::fs::write(&file, &data).unwrap();
    keybot(h)
        .args(["model", "add", "--name", "m"])
        .arg(&file)
        .assert()
        .success();
    // One byte past the header: the file still parses, it is just not the file registered.
    let last = data.len() - 1;
    data[last] ^= 0x01;
    std::fs::write(&file, &data).unwrap();

    for model in [Some("m"), None, Some(file.to_str().unwrap())] {
        let mut cmd = keybot(h);
        cmd.arg("chat");
        if let Some(m) = model {
            cmd.args(["--model", m]);
        }
        let out = cmd.arg("hello").output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{model:?}: {err}");
        assert!(
            err.contains("has changed since it was registered"),
            "{model:?}: {err}"
        );
    }
}
