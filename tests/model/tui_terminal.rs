//! The terminal app end to end, in a real terminal (tmux): onboarding, a question to the real
//! test model, quit, then a second launch that unlocks and shows the saved conversation. And a
//! panic that leaves the terminal usable.
use crate::common;

use common::*;

const PW: &str = "a long enough password";

fn keybot_bin() -> String {
    assert_cmd::cargo::cargo_bin("keybot").display().to_string()
}

fn words_on(screen: &str) -> Vec<String> {
    let mut words = vec![String::new(); 24];
    for line in screen.lines() {
        let toks: Vec<&str> = line
            .split(|c: char| c.is_whitespace() || c == '│')
            .filter(|t| !t.is_empty())
            .collect();
        for pair in toks.windows(2) {
            if let [n, w] = pair
                && let Some(i) = n.strip_suffix('.').and_then(|n| n.parse::<usize>().ok())
                && (1..=24).contains(&i)
            {
                words[i - 1] = (*w).to_owned();
            }
        }
    }
    words
}

#[test]
fn onboarding_chat_quit_and_unlock_again() {
    let Some(model) = test_model("KEYBOT_TEST_MODEL") else {
        return;
    };
    let _lock = model_lock();
    let home = tempfile::tempdir().unwrap();
    let h = home.path().display().to_string();
    keybot(home.path())
        .args(["model", "add"])
        .arg(&model)
        .assert()
        .success();
    let env = [("KEYBOT_HOME", h.as_str()), ("KEYBOT_TEST_WEAK_KDF", "1")];
    let Some(t) = Tmux::start(&keybot_bin(), &env, 120, 40) else {
        return;
    };

    t.wait_for("Create a new wallet", 20);
    t.keys(&["Enter"]);
    let words = words_on(&t.wait_for("Your recovery phrase", 20));
    assert!(
        words.iter().all(|w| !w.is_empty()),
        "could not read the phrase"
    );
    t.keys(&["Enter"]);
    for step in 1..=3 {
        let screen = t.wait_for(&format!("({step} of 3)"), 10);
        let line = screen.lines().find(|l| l.contains("word #")).unwrap();
        let n: usize = line
            .split('#')
            .nth(1)
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap()
            .parse()
            .unwrap();
        t.line(&words[n - 1]);
    }
    // No BIP-39 passphrase: Enter on its empty field.
    t.wait_for("Passphrase (optional)", 10);
    t.keys(&["Enter"]);
    t.wait_for("Choose a password", 10);
    t.line(PW);
    t.line(PW);
    t.wait_for("is ready", 180);
    assert!(vault(home.path()).exists());

    t.line("Reply with just the word: hello");
    // The answer streams in: wait until the finished message (its header without the "…"
    // that marks a reply still being written) has a word under it.
    let screen = t.wait_for("tok/s", 300);
    assert!(
        screen.contains("Reply with just the word: hello"),
        "{screen}"
    );
    let answer = t.wait_until(300, |s| {
        let a = answer_below_prompt(s, "Reply with just the word: hello");
        a.iter()
            .any(|l| l.chars().any(char::is_alphanumeric))
            .then_some(a)
    });
    assert!(!answer.is_empty());
    t.keys(&["Escape"]);
    t.keys(&["q"]);
    t.wait_for("EXIT=0", 20);
    assert_eq!(t.cursor_visible_and_normal_screen(), (true, true));
    drop(t);

    // Second launch: unlock, and the conversation is back.
    let Some(t) = Tmux::start(&keybot_bin(), &env, 120, 40) else {
        return;
    };
    t.wait_for("Your wallet is locked", 20);
    t.line("not it");
    t.wait_for("wrong password", 20);
    t.line(PW);
    let screen = t.wait_for("Reply with just the word: hello", 60);
    assert!(screen.contains("Chats"), "{screen}");
    t.keys(&["C-c"]);
    t.wait_for("EXIT=0", 20);
    assert_eq!(t.cursor_visible_and_normal_screen(), (true, true));
}

/// The lines of the assistant's message that follows `prompt` in the conversation panel: the
/// "keybot" header (a cell of its own between panel borders, unlike the tab bar's " keybot ") and
/// the text under it, up to the blank line that ends a message.
fn answer_below_prompt(screen: &str, prompt: &str) -> Vec<String> {
    let cells = |l: &str| -> Vec<String> { l.split('│').map(|c| c.trim().to_owned()).collect() };
    let rows: Vec<Vec<String>> = screen.lines().map(cells).collect();
    let Some(asked) = rows
        .iter()
        .position(|r| r.iter().any(|c| c.contains(prompt)))
    else {
        return Vec::new();
    };
    for (i, row) in rows.iter().enumerate().skip(asked + 1) {
        // "keybot" alone once the answer is done, "keybot …" while it streams.
        if let Some(col) = row
            .iter()
            .position(|c| c == "keybot" || c.starts_with("keybot "))
        {
            return rows[i + 1..]
                .iter()
                .map(|r| r.get(col).cloned().unwrap_or_default())
                .take_while(|c| !c.is_empty())
                .collect();
        }
    }
    Vec::new()
}

#[test]
fn the_answer_check_finds_only_an_answer() {
    let tab_bar = " keybot  1 Wallet  2 Chat  3 Settings";
    let asked = "│you                 │\n│Reply with just the word: hello│\n│                    │";
    assert!(answer_below_prompt(&format!("{tab_bar}\n{asked}"), "Reply with").is_empty());
    let answered = format!(
        "{tab_bar}\n{asked}\n│keybot              │\n│Hello               │\n│                    │"
    );
    assert_eq!(answer_below_prompt(&answered, "Reply with"), ["Hello"]);
    let streaming = answered.replace("│keybot       ", "│keybot …     ");
    assert_eq!(answer_below_prompt(&streaming, "Reply with"), ["Hello"]);
}

#[test]
fn a_panic_leaves_the_terminal_usable() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path().display().to_string();
    let env = [
        ("KEYBOT_HOME", h.as_str()),
        ("KEYBOT_DEBUG_PANIC", "1"),
        ("RUST_BACKTRACE", "0"),
    ];
    let Some(t) = Tmux::start(&keybot_bin(), &env, 100, 30) else {
        return;
    };
    let screen = t.wait_for("EXIT=", 20);
    assert!(
        screen.contains("KEYBOT_DEBUG_PANIC"),
        "the panic message is on the normal screen:\n{screen}"
    );
    assert!(!screen.contains("EXIT=0"));
    assert_eq!(t.cursor_visible_and_normal_screen(), (true, true));
}

/// The app on its first screen, sent `signal` (`TERM`, `ABRT`): the screen with its exit status,
/// once the terminal shows the normal screen and the cursor again (None without tmux, outside
/// CI).
fn signalled(signal: &str) -> Option<String> {
    let home = tempfile::tempdir().unwrap();
    let h = home.path().display().to_string();
    let t = Tmux::start(&keybot_bin(), &[("KEYBOT_HOME", h.as_str())], 100, 30)?;
    t.wait_for("Create a new wallet", 20);
    let (_, normal) = t.cursor_visible_and_normal_screen();
    assert!(!normal, "the app runs on the alternate screen");
    let pid = t.child_pid().expect("keybot's pid");
    assert!(
        std::process::Command::new("kill")
            .args([&format!("-{signal}"), &pid.to_string()])
            .status()
            .unwrap()
            .success()
    );
    let screen = t.wait_for("EXIT=", 20);
    assert_eq!(
        t.cursor_visible_and_normal_screen(),
        (true, true),
        "{signal}"
    );
    Some(screen)
}

#[test]
fn sigterm_restores_the_terminal() {
    signalled("TERM");
}

/// ggml aborts the process where it cannot go on (ggml-rpc, when an rpc-server holding layers is
/// gone): SIGABRT, which no Rust hook sees. The terminal is put back all the same, and the abort
/// still ends the process.
#[test]
fn an_abort_restores_the_terminal() {
    let Some(screen) = signalled("ABRT") else {
        return;
    };
    assert!(screen.contains("EXIT=134"), "killed by SIGABRT:\n{screen}");
}
