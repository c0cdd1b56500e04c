//! keybot against llama.cpp itself, built from the same vendored source
//! (`eval "$(bash scripts/build-llama-tools.sh)"` sets KEYBOT_LLAMA_COMPLETION and
//! KEYBOT_LLAMA_RENDER_TEMPLATE).
use crate::common;

use std::path::Path;
use std::process::Command;

use common::{keybot, llama_tool, model_lock, test_model};

pub(crate) const PROMPT: &str = "The three most important inventions of the twentieth century are";
/// Both models are compared over 48 greedy tokens. They agree over all of them only when keybot's
/// llama.cpp and the reference tools are built alike: the same -O2, no AMX, and the cc crate's
/// -fPIC (scripts/build-llama-tools.sh); with a stale build of keybot's copy (AMX kernels in,
/// see scripts/build-key.sh) the base model parted after ~25 tokens at a near-tie.
const N_TOKENS: &str = "48";

/// What llama-completion generated, without the decorations it adds around it on stdout.
pub(crate) fn completion_text(stdout: &[u8]) -> Vec<u8> {
    let mut s = stdout.to_vec();
    for suffix in [&b"\n\n"[..], &b" [end of text]\n"[..]] {
        if s.ends_with(suffix) {
            s.truncate(s.len() - suffix.len());
        }
    }
    s
}

/// llama-completion's greedy continuation of PROMPT over `n_tokens` with `model`, as keybot
/// runs it (the context, the threads, no flash attention on the CPU).
pub(crate) fn llama_completion_raw(completion: &Path, model: &Path, n_tokens: &str) -> Vec<u8> {
    let threads = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .to_string();
    let reference = Command::new(completion)
        .args(["-m"])
        .arg(model)
        .args([
            "-p",
            PROMPT,
            "-n",
            n_tokens,
            "--temp",
            "0",
            "-no-cnv",
            "--no-display-prompt",
        ])
        // keybot runs without flash attention on the CPU (engine.rs, flash_attention).
        .args(["-c", "2048", "-t", &threads, "--seed", "1", "-fa", "off"])
        .output()
        .unwrap();
    assert!(
        reference.status.success(),
        "llama-completion failed: {}",
        String::from_utf8_lossy(&reference.stderr)
    );
    completion_text(&reference.stdout)
}

/// llama-completion's greedy answer (48 tokens at most) to the chat prompt keybot renders for
/// `question` with `model`'s template (what llama-server renders from the same messages), run as
/// keybot runs the model, with `extra` arguments (`--rpc …`).
pub(crate) fn llama_completion_chat(
    home: &Path,
    model: &Path,
    question: &str,
    extra: &[&str],
) -> Vec<u8> {
    let prompt = keybot(home)
        .args(["chat", "--print-prompt", "--model"])
        .arg(model)
        .arg(question)
        .output()
        .unwrap();
    assert!(prompt.status.success());
    // An argument, not -f: llama.cpp drops a file's last newline, and the prompt ends in one.
    let prompt = String::from_utf8(prompt.stdout).unwrap();
    assert!(prompt.ends_with("assistant\n"), "{prompt}");
    let threads = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .to_string();
    let out = Command::new(llama_tool("llama-completion").unwrap())
        .arg("-m")
        .arg(model)
        .args([
            "-p",
            &prompt,
            "-n",
            "48",
            "--temp",
            "0",
            "-no-cnv",
            "--no-display-prompt",
        ])
        .args(["-c", "2048", "-t", &threads, "--seed", "1", "-fa", "off"])
        .args(extra)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    completion_text(&out.stdout)
}

fn check_raw_greedy(model: &Path, n_tokens: &str) {
    let Some(completion) = llama_tool("llama-completion") else {
        return;
    };
    let threads = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .to_string();
    let expected = llama_completion_raw(&completion, model, n_tokens);

    let home = tempfile::tempdir().unwrap();
    let ours = keybot(home.path())
        .args([
            "chat",
            "--raw",
            "--greedy",
            "--max-tokens",
            n_tokens,
            "--ctx",
            "2048",
            "--threads",
            &threads,
        ])
        .arg("--model")
        .arg(model)
        .arg(PROMPT)
        .output()
        .unwrap();
    assert!(
        ours.status.success(),
        "{}",
        String::from_utf8_lossy(&ours.stderr)
    );
    assert!(!expected.is_empty());
    assert_eq!(
        String::from_utf8_lossy(&ours.stdout),
        String::from_utf8_lossy(&expected),
        "keybot and llama-completion differ for {}",
        model.display()
    );
    assert_eq!(ours.stdout, expected, "byte for byte");
}

#[test]
fn raw_greedy_continuation_equals_llama_completion_for_the_chat_model() {
    let Some(model) = test_model("KEYBOT_TEST_MODEL") else {
        return;
    };
    let _serial = model_lock();
    check_raw_greedy(&model, N_TOKENS);
}

#[test]
fn raw_greedy_continuation_equals_llama_completion_for_the_base_model() {
    let Some(model) = test_model("KEYBOT_TEST_MODEL_BASE") else {
        return;
    };
    let _serial = model_lock();
    check_raw_greedy(&model, N_TOKENS);
}

fn conversation() -> Vec<(&'static str, &'static str)> {
    vec![
        (
            "system",
            "You are a careful assistant. Answer in one sentence.",
        ),
        ("user", "What is a GGUF file?"),
        (
            "assistant",
            "A single-file format for llama.cpp models: weights plus metadata.",
        ),
        ("user", "Does it hold the chat template?\nAnswer yes or no."),
        ("assistant", "Yes — under tokenizer.chat_template."),
        ("user", "Thanks! 🦀"),
    ]
}

fn check_template(model: &Path) {
    let Some(render) = llama_tool("llama-render-template") else {
        return;
    };
    let conv = conversation();
    let mut cmd = Command::new(render);
    cmd.arg(model);
    for (role, content) in &conv {
        cmd.args([role, content]);
    }
    let reference = cmd.output().unwrap();
    assert!(
        reference.status.success(),
        "{}",
        String::from_utf8_lossy(&reference.stderr)
    );

    let home = tempfile::tempdir().unwrap();
    let msgs: Vec<_> = conv
        .iter()
        .map(|(r, c)| serde_json::json!({"role": r, "content": c}))
        .collect();
    let file = home.path().join("conversation.json");
    std::fs::write(&file, serde_json::to_vec(&msgs).unwrap()).unwrap();
    let ours = keybot(home.path())
        .args(["chat", "--print-prompt", "--messages-json"])
        .arg(&file)
        .arg("--model")
        .arg(model)
        .output()
        .unwrap();
    assert!(
        ours.status.success(),
        "{}",
        String::from_utf8_lossy(&ours.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&ours.stdout),
        String::from_utf8_lossy(&reference.stdout),
        "rendered prompts differ for {}",
        model.display()
    );
}

#[test]
fn chat_template_renders_like_llama_cpp_jinja_for_the_chat_model() {
    let Some(model) = test_model("KEYBOT_TEST_MODEL") else {
        return;
    };
    let _serial = model_lock();
    check_template(&model);
}

#[test]
fn template_fallback_renders_like_llama_cpp_for_the_base_model() {
    let Some(model) = test_model("KEYBOT_TEST_MODEL_BASE") else {
        return;
    };
    let _serial = model_lock();
    check_template(&model);
}
