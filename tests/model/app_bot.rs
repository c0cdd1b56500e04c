//! The bot in the app, in a real terminal (tmux) with the test chat model (greedy) and a real
//! anvil chain: a question about balances runs the balances tool, whose call shows folded in
//! the transcript before the answer; a transfer the model proposes opens the wallet's own
//! review with "proposed by your model" first, `n` declines it, the model is told "declined"
//! and nothing is sent (read with cast); the calls are stored with the conversation and are
//! there again after a restart, as is the tools being switched off for it (`t`).
use crate::bot_ask::{FRIEND, PW, world};
use crate::common::{Tmux, keybot};

/// The app in `home`, unlocked, on the chat screen with the model loaded and its tools on.
pub(crate) fn app(home: &std::path::Path) -> Option<Tmux> {
    let bin = assert_cmd::cargo::cargo_bin("keybot").display().to_string();
    let h = home.display().to_string();
    let t = Tmux::start(&bin, &[("KEYBOT_HOME", h.as_str())], 120, 40)?;
    t.wait_for("Your wallet is locked", 30);
    t.line(PW);
    t.wait_for("● local #", 30);
    t.wait_for("Conversation · tools", 120);
    Some(t)
}

/// Sends `question` and waits for the turn to end (the box takes a message again).
pub(crate) fn ask(t: &Tmux, question: &str) -> String {
    t.line(question);
    t.wait_for("Esc stops the answer", 30);
    t.wait_for("Enter sends", 300)
}

#[test]
fn the_bot_reads_proposes_into_the_review_and_a_declined_proposal_sends_nothing() {
    let Some((home, dev, _serial)) = world() else {
        return;
    };
    let h = home.path();
    keybot(h)
        .env("KEYBOT_PASSWORD", PW)
        .args(["settings", "sampling.temp", "0"])
        .assert()
        .success();
    let Some(t) = app(h) else {
        return;
    };

    let screen = ask(&t, "What are my balances?");
    assert!(screen.contains("⚙ balances → "), "{screen}");
    assert!(screen.contains("10000"), "the chain's numbers: {screen}");
    assert!(!screen.contains("<tool_call>"), "{screen}");
    // x unfolds the call: its result laid out whole.
    t.keys(&["Tab", "x"]);
    let whole = t.wait_for("result:", 10);
    assert!(whole.contains("\"tUSD\": \"10000\""), "{whole}");
    t.keys(&["x", "Tab"]);

    // A transfer: the wallet's review opens with the model named first; n declines.
    t.line(&format!("Send 5 tUSD to {FRIEND}"));
    let review = t.wait_for("y sign and send", 300);
    assert!(review.contains("proposed by your model"), "{review}");
    assert!(review.contains("You send 5 tUSD"), "{review}");
    t.keys(&["n"]);
    let screen = t.wait_for("Enter sends", 300);
    assert!(screen.contains("→ declined"), "{screen}");
    assert_eq!(dev.tusd_of(FRIEND), "0", "nothing was sent");

    // Tools off for this conversation (t in the list): kept in the store.
    t.keys(&["Tab", "t"]);
    t.wait_for("Conversation · tools off", 10);
    // The calls are the conversation's: after a restart they are there again, and so is the
    // choice.
    t.keys(&["C-c"]);
    t.wait_for("EXIT=0", 30);
    drop(t);
    let Some(t) = app(h) else {
        return;
    };
    let screen = t.wait_for("→ declined", 30);
    assert!(screen.contains("⚙ balances → "), "{screen}");
    assert!(screen.contains("Conversation · tools off"), "{screen}");
}
