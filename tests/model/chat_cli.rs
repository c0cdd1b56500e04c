//! `keybot chat` end to end, with the real test models.
use crate::common;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{keybot, model_lock, test_model};

fn stderr_lines(out: &std::process::Output) -> Vec<String> {
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn one_shot_answer_streams_to_stdout_with_one_stats_line_on_stderr() {
    let Some(model) = test_model("KEYBOT_TEST_MODEL") else {
        return;
    };
    let _serial = model_lock();
    let home = tempfile::tempdir().unwrap();
    let out = keybot(home.path())
        .args([
            "chat",
            "--greedy",
            "--max-tokens",
            "16",
            "--ctx",
            "1024",
            "--model",
        ])
        .arg(&model)
        .arg("What is the capital of France? One word.")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let answer = String::from_utf8(out.stdout.clone()).unwrap();
    assert!(answer.contains("Paris"), "{answer:?}");
    let err = stderr_lines(&out);
    // llama.cpp's own chatter goes to the log file, so stderr is exactly the stats line.
    assert_eq!(err.len(), 1, "{err:?}");
    for needle in [
        "prompt",
        "t/s",
        "gen",
        "first token",
        "ctx",
        "CPU",
        "layers",
    ] {
        assert!(
            err[0].contains(needle),
            "{needle} missing from {:?}",
            err[0]
        );
    }
    let log = std::fs::read_to_string(home.path().join("data/logs/keybot.log")).unwrap();
    assert!(log.contains("llama"), "llama.cpp logs reach the log file");
}

#[test]
fn stdin_lines_are_turns_of_one_conversation() {
    let Some(model) = test_model("KEYBOT_TEST_MODEL") else {
        return;
    };
    let _serial = model_lock();
    let home = tempfile::tempdir().unwrap();
    let out = keybot(home.path())
        .args([
            "chat",
            "--greedy",
            "--max-tokens",
            "24",
            "--ctx",
            "1024",
            "--stats-json",
        ])
        .args(["--system", "You answer in one short sentence."])
        .arg("--model")
        .arg(&model)
        .write_stdin("My name is Ada.\n\nWhat is my name?\n")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let stats: Vec<serde_json::Value> = stderr_lines(&out)
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l:?}: {e}")))
        .collect();
    assert_eq!(
        stats.len(),
        2,
        "one stats object per turn (blank lines are skipped)"
    );
    let reused = stats[1]["reused"].as_u64().unwrap();
    let first_prompt = stats[0]["prompt_tokens"].as_u64().unwrap();
    assert!(
        reused >= first_prompt,
        "turn 2 reuses turn 1's cache ({reused} < {first_prompt})"
    );
    assert_eq!(
        stats[1]["prefilled"].as_u64().unwrap() + reused,
        stats[1]["prompt_tokens"].as_u64().unwrap()
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.contains("Ada"),
        "the second answer remembers the first turn: {stdout:?}"
    );
}

/// A copy of the chat model whose template neither minijinja nor llama.cpp's matcher accepts:
/// the template bytes are overwritten in place (same length), so the GGUF stays valid.
fn model_with_broken_template(model: &Path, dir: &Path) -> PathBuf {
    let mut bytes = std::fs::read(model).unwrap();
    let key = b"tokenizer.chat_template";
    let at = bytes
        .windows(key.len())
        .position(|w| w == key)
        .expect("the chat model has a template");
    let ty_at = at + key.len();
    assert_eq!(
        u32::from_le_bytes(bytes[ty_at..ty_at + 4].try_into().unwrap()),
        8,
        "a string value"
    );
    let len = u64::from_le_bytes(bytes[ty_at + 4..ty_at + 12].try_into().unwrap()) as usize;
    let start = ty_at + 12;
    let garbage = b"{% this is not jinja %}";
    bytes[start..start + len].fill(b' ');
    bytes[start..start + garbage.len()].copy_from_slice(garbage);
    let out = dir.join("broken-template.gguf");
    std::fs::write(&out, bytes).unwrap();
    out
}

#[test]
fn bad_inputs_are_one_line_errors() {
    let Some(model) = test_model("KEYBOT_TEST_MODEL") else {
        return;
    };
    let _serial = model_lock();
    let home = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("notes.gguf");
    std::fs::write(&text, "hello\n").unwrap();
    let cut = dir.path().join("cut.gguf");
    {
        let mut f = std::fs::File::open(&model).unwrap();
        let mut head = vec![0u8; 40 << 20];
        f.read_exact(&mut head).unwrap();
        std::fs::write(&cut, head).unwrap();
    }
    let broken = model_with_broken_template(&model, dir.path());
    let missing = dir.path().join("missing.gguf");

    let cases: Vec<(Vec<std::ffi::OsString>, &str)> = vec![
        (
            vec!["--model".into(), missing.clone().into(), "hi".into()],
            "No such file",
        ),
        (
            vec!["--model".into(), text.into(), "hi".into()],
            "not a GGUF",
        ),
        (vec!["--model".into(), cut.into(), "hi".into()], "truncated"),
        (
            vec!["--model".into(), model.clone().into(), "   ".into()],
            "empty",
        ),
        (
            vec!["--model".into(), broken.clone().into(), "hi".into()],
            "chat template is not supported",
        ),
        (
            vec![
                "--model".into(),
                model.clone().into(),
                "--gpu-layers".into(),
                "1".into(),
                "hi".into(),
            ],
            "--gpu-layers",
        ),
        (
            vec![
                "--model".into(),
                model.clone().into(),
                "--gpu-layers".into(),
                "all".into(),
                "hi".into(),
            ],
            "--gpu-layers",
        ),
        (
            vec![
                "--model".into(),
                model.clone().into(),
                "--temp=-1".into(),
                "hi".into(),
            ],
            "--temp",
        ),
    ];
    for (args, needle) in cases {
        if needle == "--gpu-layers"
            && cfg!(any(feature = "cuda", feature = "vulkan", feature = "metal"))
        {
            continue;
        }
        let out = keybot(home.path())
            .arg("chat")
            .args(&args)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(
            err.contains(needle),
            "{args:?}: expected {needle:?} in {err:?}"
        );
        assert_eq!(
            err.trim_end().lines().count(),
            1,
            "{args:?}: one line, got {err:?}"
        );
        assert!(err.starts_with("error: "), "{err:?}");
        assert!(!err.contains("panicked"), "{err:?}");
    }

    // The broken-template model still completes raw text: only the template is refused.
    let out = keybot(home.path())
        .args(["chat", "--raw", "--greedy", "--max-tokens", "4", "--model"])
        .arg(&broken)
        .arg("The sky is")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
}

#[test]
fn ctrl_c_stops_the_answer_and_prints_its_stats() {
    let Some(model) = test_model("KEYBOT_TEST_MODEL") else {
        return;
    };
    let _serial = model_lock();
    let home = tempfile::tempdir().unwrap();
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("keybot"))
        .env("KEYBOT_HOME", home.path())
        .args([
            "chat",
            "--greedy",
            "--max-tokens",
            "2000",
            "--raw",
            "--model",
        ])
        .arg(&model)
        .arg("Count from 1 to 1000, separated by commas: 1, 2, 3,")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let chunks = read_in_background(child.stdout.take().unwrap());
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(FIRST_OUTPUT_SECS);
    while seen.len() < 20 {
        let left = deadline.saturating_duration_since(Instant::now());
        match chunks.recv_timeout(left) {
            Ok(chunk) => seen.extend_from_slice(&chunk),
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                panic!("output ended early: {:?}", String::from_utf8_lossy(&seen))
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                let _ = child.kill();
                panic!(
                    "keybot chat wrote {} bytes in {FIRST_OUTPUT_SECS} s, not the 20 this test waits for: {:?}",
                    seen.len(),
                    String::from_utf8_lossy(&seen)
                )
            }
        }
    }
    let sent = Instant::now();
    common::signal(&child, rustix::process::Signal::INT);
    let status = wait_at_most(&mut child, EXIT_SECS, "keybot chat after Ctrl-C");
    let took = sent.elapsed();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert_eq!(status.code(), Some(130), "{err}");
    assert!(
        err.contains("stopped"),
        "partial stats are printed: {err:?}"
    );
    assert!(err.contains("t/s"), "{err:?}");
    assert!(took < Duration::from_secs(3), "exit took {took:?}");
}

#[test]
fn conversation_longer_than_the_context_drops_old_turns_and_says_so() {
    let Some(model) = test_model("KEYBOT_TEST_MODEL") else {
        return;
    };
    let _serial = model_lock();
    let home = tempfile::tempdir().unwrap();
    let filler = "The quick brown fox jumps over the lazy dog. ".repeat(12);
    let stdin: String = (1..=6)
        .map(|i| format!("Turn {i}. {filler} Which animal jumps?\n"))
        .collect();
    let out = keybot(home.path())
        .args([
            "chat",
            "--greedy",
            "--max-tokens",
            "12",
            "--ctx",
            "512",
            "--stats-json",
        ])
        .args(["--system", "Answer in a few words."])
        .arg("--model")
        .arg(&model)
        .write_stdin(stdin)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    let stats: Vec<serde_json::Value> = err
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(stats.len(), 6, "every turn is answered: {err}");
    assert!(
        stats.iter().all(|s| s["generated"].as_u64().unwrap() > 0),
        "{err}"
    );
    assert!(
        stats.iter().all(|s| s["ctx_used"].as_u64().unwrap() <= 512),
        "{err}"
    );
    assert!(
        err.contains("note: the conversation outgrew the 512-token context"),
        "the user is told: {err}"
    );
}

/// Runs `cmd` with its standard output on a pseudo-terminal in raw mode (so the terminal adds no
/// "\r" of its own) and returns its exit status and every byte it wrote there.
fn run_on_a_terminal(mut cmd: Command) -> (std::process::ExitStatus, Vec<u8>, String) {
    use rustix::pty::{OpenptFlags, grantpt, openpt, ptsname, unlockpt};
    use rustix::termios::{OptionalActions, tcgetattr, tcsetattr};
    let master = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY).expect("openpt");
    grantpt(&master).expect("grantpt");
    unlockpt(&master).expect("unlockpt");
    let name = ptsname(&master, Vec::new()).expect("ptsname");
    let slave: std::os::fd::OwnedFd = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(<std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(name.as_bytes()))
        .expect("the terminal's other end")
        .into();
    let mut t = tcgetattr(&slave).expect("tcgetattr");
    t.make_raw();
    tcsetattr(&slave, OptionalActions::Now, &t).expect("tcsetattr");
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::from(slave))
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The child holds the only copy of the terminal's other end now: reading the master ends
    // (with EIO, on Linux) when the child has exited.
    drop(cmd);
    let chunks = read_in_background(std::fs::File::from(master));
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(TERMINAL_RUN_SECS);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match chunks.recv_timeout(left) {
            Ok(chunk) => seen.extend_from_slice(&chunk),
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                let _ = child.kill();
                panic!(
                    "keybot did not finish on the terminal within {TERMINAL_RUN_SECS} s; it wrote {:?}",
                    String::from_utf8_lossy(&seen)
                )
            }
        }
    }
    let status = wait_at_most(&mut child, EXIT_SECS, "keybot after its terminal closed");
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    (status, seen, err)
}

/// How long the model may take to write its first 20 bytes (loading it included) on a slow CI
/// machine before the test gives up instead of hanging.
const FIRST_OUTPUT_SECS: u64 = 300;
/// How long a run on the pseudo-terminal may take in all.
const TERMINAL_RUN_SECS: u64 = 300;
/// How long a child may take to exit once it has been told to, or has finished writing.
const EXIT_SECS: u64 = 30;

/// Everything `from` yields, chunk by chunk, on a channel that closes at its end (EOF, or an
/// error such as the EIO of a pseudo-terminal whose other end is closed): the caller waits on
/// it with a deadline instead of blocking in `read`.
fn read_in_background(mut from: impl Read + Send + 'static) -> std::sync::mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        loop {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    if tx.send(buf[..n].to_vec()).is_err() {
                        return;
                    }
                }
            }
        }
    });
    rx
}

/// The child's exit status; kills it and panics (naming `what`) when it has not exited within
/// `secs`.
fn wait_at_most(
    child: &mut std::process::Child,
    secs: u64,
    what: &str,
) -> std::process::ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} did not exit within {secs} s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn print_prompt_on_a_terminal_removes_escapes_the_template_puts_in() {
    let Some(model) = test_model("KEYBOT_TEST_MODEL_BASE") else {
        return;
    };
    let _serial = model_lock();
    let home = tempfile::tempdir().unwrap();
    // A template (from a GGUF, or a file someone sent) that writes the clipboard (OSC 52) and
    // clears the screen.
    let template = home.path().join("hostile.jinja");
    std::fs::write(
        &template,
        "{% for m in messages %}<{{ m.role }}>{{ m.content }}{% endfor %}\x1b]52;c;cm0gLXJmIH4=\x07\x1b[2J end",
    )
    .unwrap();
    let cmd = |home: &Path| {
        let mut c = Command::new(assert_cmd::cargo::cargo_bin("keybot"));
        c.env("KEYBOT_HOME", home)
            .args(["chat", "--print-prompt", "--chat-template-file"])
            .arg(&template)
            .arg("--model")
            .arg(&model)
            .arg("hi");
        c
    };

    let (status, out, err) = run_on_a_terminal(cmd(home.path()));
    assert!(status.success(), "{err}");
    assert_eq!(String::from_utf8_lossy(&out), "<user>hi end");

    // Into a pipe, --print-prompt is exact: it exists to compare prompts byte for byte.
    let piped = cmd(home.path()).output().unwrap();
    assert!(piped.status.success(), "{piped:?}");
    assert_eq!(
        String::from_utf8_lossy(&piped.stdout),
        "<user>hi\x1b]52;c;cm0gLXJmIH4=\x07\x1b[2J end"
    );
}
