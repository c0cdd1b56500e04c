//! `keybot init` as a person uses it, in a real terminal (tmux).
use crate::common;

use common::*;

fn keybot_bin() -> String {
    assert_cmd::cargo::cargo_bin("keybot").display().to_string()
}

#[test]
fn create_shows_words_once_asks_three_back_and_leaves_no_scrollback() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path().display().to_string();
    let Some(t) = Tmux::start(
        &format!("{} init --words 12", keybot_bin()),
        &[("KEYBOT_HOME", &h)],
        100,
        30,
    ) else {
        return;
    };
    let screen = t.wait_for("Press Enter", 20);
    // The numbered words: "  1. word       2. word ..."
    let mut words = vec![String::new(); 12];
    for line in screen.lines() {
        let toks: Vec<&str> = line.split_whitespace().collect();
        for pair in toks.chunks(2) {
            if let [n, w] = pair
                && let Some(i) = n.strip_suffix('.').and_then(|n| n.parse::<usize>().ok())
                && (1..=12).contains(&i)
            {
                words[i - 1] = (*w).to_owned();
            }
        }
    }
    assert!(
        words.iter().all(|w| !w.is_empty()),
        "could not read the words: {screen}"
    );
    t.keys(&["Enter"]);
    // The three positions are asked in increasing order: each prompt is known by a number
    // above the last one answered, so a word is typed only once its own prompt is on screen.
    let mut answered = 0;
    for _ in 0..3 {
        let n: usize = t.wait_until(20, |s| {
            s.lines()
                .rev()
                .find_map(|l| l.split("word #").nth(1))
                .and_then(|rest| rest.split(':').next()?.trim().parse().ok())
                .filter(|&n| n > answered)
        });
        t.line(&words[n - 1]);
        answered = n;
    }
    t.wait_for("new vault password", 10);
    t.line("short");
    t.wait_for("too short", 10);
    t.line("purple elephant dances quietly");
    t.wait_for("strength:", 10);
    t.wait_for("repeat it", 10);
    t.line("purple elephant dances quietly");
    t.wait_for("EXIT=0", 60);
    assert!(vault(home.path()).exists());
    // The words were on the alternate screen only: nothing of them is left in the scrollback.
    let history = t.history();
    let phrase = words.join(" ");
    assert!(
        !history.contains(&words[..4].join(" ")),
        "phrase left in scrollback"
    );
    // Nor are the three words typed back (echoed as they were typed): they were asked on the
    // alternate screen too.
    assert!(
        !history.contains("word #"),
        "confirmation left in scrollback: {history}"
    );
    for w in &words {
        assert!(
            !history
                .lines()
                .any(|l| l.trim_end().ends_with(&format!(": {w}"))),
            "typed word {w} left in scrollback: {history}"
        );
    }
    // And they restore the wallet that was created.
    assert_phrase_restores(home.path(), "purple elephant dances quietly", &phrase);
}

#[test]
fn a_wrong_confirmation_word_writes_nothing() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path().display().to_string();
    let Some(t) = Tmux::start(
        &format!("{} init --words 12", keybot_bin()),
        &[("KEYBOT_HOME", &h)],
        100,
        30,
    ) else {
        return;
    };
    t.wait_for("Press Enter", 20);
    t.keys(&["Enter"]);
    t.wait_for("word #", 10);
    t.line("notaword");
    let s = t.wait_for("EXIT=1", 10);
    assert!(s.contains("nothing was written"), "{s}");
    assert!(!vault(home.path()).exists());
}

#[test]
fn import_checks_each_word_as_it_is_typed() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path().display().to_string();
    let Some(t) = Tmux::start(
        &format!("{} init --import", keybot_bin()),
        &[("KEYBOT_HOME", &h)],
        180,
        30,
    ) else {
        return;
    };
    t.wait_for("How many words", 20);
    t.line("12");
    t.wait_for("word 1/12", 10);
    t.line("tset");
    t.wait_for("did you mean \"test\"", 10);
    t.line("test test test");
    t.wait_for("word 4/12", 10);
    // A whole pasted rest of the phrase is taken at once.
    t.line("test test test test test test test test junk");
    t.wait_for("new vault password", 10);
    // zxcvbn scores "password" 0: refused, not just warned about.
    t.line("password");
    t.wait_for("too easy to guess", 10);
    t.line("another fine password");
    t.wait_for("repeat it", 10);
    t.line("another fine password");
    let s = t.wait_for("EXIT=", 60);
    assert!(s.contains("EXIT=0"), "{s}");
    assert!(
        s.contains("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"),
        "{s}"
    );
}

#[test]
fn show_mnemonic_shows_the_phrase_on_the_alternate_screen_only() {
    let home = home_with(ANVIL_PHRASE, "pw");
    let h = home.path().display().to_string();
    let Some(t) = Tmux::start(
        &format!("{} wallet show-mnemonic", keybot_bin()),
        &[("KEYBOT_HOME", &h), ("KEYBOT_PASSWORD", "pw")],
        100,
        30,
    ) else {
        return;
    };
    t.wait_for("Type SHOW", 20);
    t.line("SHOW");
    let shown = t.wait_for("Press Enter", 10);
    assert!(shown.contains("12. junk"), "{shown}");
    t.keys(&["Enter"]);
    t.wait_for("EXIT=0", 10);
    let history = t.history();
    assert!(
        !history.contains("junk"),
        "phrase left in scrollback: {history}"
    );
}
