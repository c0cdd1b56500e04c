//! `market add --model`: the default chat model reads the item too. With the test chat model
//! (greedy, its answer held to JSON by a grammar) the names the lists and rules miss are removed,
//! the summary says the model found them, and one can be kept like any other span.
use crate::common::{self, keybot, model_lock, test_model};

const PW: &str = "correct horse battery staple";
const PHRASE: &str = "test test test test test test test test test test test junk";

#[test]
fn market_add_with_the_model_removes_what_it_names_and_says_so() {
    let Some(chat) = test_model("KEYBOT_TEST_MODEL") else {
        return;
    };
    let _serial = model_lock();
    let home = common::fast_home(PHRASE, PW);
    let h = home.path();
    let market = || {
        let mut c = keybot(h);
        c.env("KEYBOT_PASSWORD", PW).arg("market");
        c
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("note.txt");
    // "Ugolino" alone at a sentence's start: in no list, and nothing around it says "name".
    std::fs::write(&file, "Ugolino waters the plants while we are away.\n").unwrap();

    // Without a default model, --model says so in one line; the item is added all the same.
    let out = market()
        .args(["add", "--file"])
        .arg(&file)
        .arg("--model")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("needs a default chat model"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");

    keybot(h)
        .args(["model", "add", "--name", "qwen"])
        .arg(&chat)
        .assert()
        .success();
    let out = market()
        .args(["add", "--file"])
        .arg(&file)
        .arg("--model")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let id = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let summary = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(summary.contains("found by the model"), "{summary}");

    let preview = market().args(["preview", &id]).output().unwrap();
    let text = String::from_utf8(preview.stdout).unwrap();
    assert_eq!(text, "[name] waters the plants while we are away.\n");
    // The model's find is kept on the user's word like the detectors' finds.
    market().args(["keep", &id, "1"]).assert().success();
    let text = String::from_utf8(market().args(["preview", &id]).output().unwrap().stdout).unwrap();
    assert_eq!(text, "Ugolino waters the plants while we are away.\n");

    // With `market.model_reader = on` every item of at most 64 KiB is read, without the flag.
    let mut settings = keybot(h);
    settings
        .env("KEYBOT_PASSWORD", PW)
        .args(["settings", "market.model_reader", "on"])
        .assert()
        .success();
    let out = market()
        .args(["add", "--file"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let summary = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(summary.contains("found by the model"), "{summary}");
}
