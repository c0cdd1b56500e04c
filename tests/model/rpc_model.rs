//! A model spread over an `rpc-server` — llama.cpp's RPC backend; built by
//! scripts/build-llama-tools.sh as a main() around keybot's own ggml-rpc — on loopback: part of
//! the test model's layers are held there, and the greedy answer equals llama-completion's with
//! the same layers there and the in-process one. An address where no rpc-server answers is one
//! line, not ggml-rpc's abort.
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{Reaped, free_port, keybot, llama_tool, model_lock, test_model};

const QUESTION: &str = "Name three colours of the rainbow.";
/// Of the test model's 25 (24 blocks and the output layer).
const LAYERS_THERE: &str = "12";
const LAYERS_FEW: &str = "6";

/// rpc-server on loopback, killed on drop.
struct RpcServer {
    child: Reaped,
    port: u16,
}

fn start(bin: &Path) -> RpcServer {
    let port = free_port();
    let child = Command::new(bin)
        .args(["-H", "127.0.0.1", "-p", &port.to_string(), "-t", "1"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let s = RpcServer {
        child: Reaped(child),
        port,
    };
    // Ready when it accepts (a connection closed before its greeting is dropped there).
    let t0 = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "rpc-server never listened"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    s
}

/// The most memory the process has held (kB): what layers placed on it leave behind.
fn peak_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap()
}

fn chat(home: &Path, model: &Path, extra: &[&str]) -> std::process::Output {
    // The threads llama-completion is given too (chat_reference::llama_completion_chat).
    let threads = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .to_string();
    keybot(home)
        .args(["chat", "--greedy", "--max-tokens", "48", "--ctx", "2048"])
        .args(["--threads", &threads])
        .arg("--model")
        .arg(model)
        .args(extra)
        .arg(QUESTION)
        .output()
        .unwrap()
}

#[test]
fn layers_on_an_rpc_server_give_llama_cpps_answer_and_the_in_process_one() {
    let Some(model) = test_model("KEYBOT_TEST_MODEL") else {
        return;
    };
    let (Some(bin), Some(_)) = (llama_tool("rpc-server"), llama_tool("llama-completion")) else {
        return;
    };
    let _serial = model_lock();
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let local = chat(h, &model, &[]);
    assert!(
        local.status.success(),
        "{}",
        String::from_utf8_lossy(&local.stderr)
    );
    assert!(!local.stdout.is_empty());

    let srv = start(&bin);
    let before = peak_kb(srv.child.0.id());
    let endpoint = format!("127.0.0.1:{}", srv.port);
    let spread = |layers: &str| {
        let out = chat(h, &model, &["--rpc", &endpoint, "--gpu-layers", layers]);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{stderr}");
        // The stats line names the server and the layers it held.
        assert!(
            stderr.contains(&format!("rpc-server {endpoint} {layers}/25 layers")),
            "{stderr}"
        );
        String::from_utf8(out.stdout).unwrap()
    };
    // Half the layers there: the answer llama.cpp's own tool gives with the same layout. (Its
    // in-process answer parts from it at a near-tie — "colours" against "colors" — in
    // llama-completion as in keybot: a split graph sums in another order.)
    assert_eq!(
        spread(LAYERS_THERE),
        {
            let rpc = ["--rpc", endpoint.as_str(), "-ngl", LAYERS_THERE];
            let text = crate::chat_reference::llama_completion_chat(h, &model, QUESTION, &rpc);
            format!("{}\n", String::from_utf8(text).unwrap())
        },
        "keybot and llama-completion differ with {LAYERS_THERE} layers on the rpc-server"
    );
    // The server's memory grew by about their size (12 of the 0.5B model's layers: well over
    // 50 MB at 4-5 bits).
    let grown = peak_kb(srv.child.0.id()).saturating_sub(before);
    assert!(
        grown > 50_000,
        "the rpc-server's peak memory grew by {grown} kB"
    );
    // A quarter of them there: the in-process answer.
    assert_eq!(
        spread(LAYERS_FEW),
        String::from_utf8_lossy(&local.stdout),
        "with {LAYERS_FEW} layers on the rpc-server and in-process differ"
    );
}

#[test]
fn an_address_where_no_rpc_server_answers_is_one_line() {
    let Some(model) = test_model("KEYBOT_TEST_MODEL") else {
        return;
    };
    let home = tempfile::tempdir().unwrap();
    let dead = format!("127.0.0.1:{}", free_port());
    let out = chat(home.path(), &model, &["--rpc", &dead]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // Exit code 1 with one line: not killed by ggml-rpc's abort.
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("cannot connect"), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(out.stdout.is_empty());

    let bad = keybot(home.path())
        .args(["chat", "--rpc", "http://box:50052", "hi"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("is not host:port"));
}
