//! The model as a second reader in the app, through the runtime, a real store and the test chat
//! model: with `market.model_reader = on` (set on the Settings screen) a file added to the vault
//! is read by the default model on a thread of its own; the name it finds is removed as "found by
//! the model", and `M` reads the item again on the user's word.
// A test tells one story start to end; its length is not a step to name (Cargo.toml).
#![allow(clippy::too_many_lines)]
use super::tests::{key, password, press, unlocking, until};
use super::*;
use crate::tui::action::Edit;
use crossterm::event::{KeyCode, KeyModifiers};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(
    clippy::await_holding_lock,
    reason = "the lock only keeps model tests from sharing the cores; this test's runtime is its own"
)]
async fn a_new_item_is_read_by_the_model_when_the_setting_says_so_and_again_on_m() {
    use crate::service::settings::{ITEMS, MARKET_MODEL_READER};
    let Some(model) = crate::test_support::test_model("KEYBOT_TEST_MODEL") else {
        return;
    };
    let _serial = crate::test_support::model_serial();
    let home = tempfile::tempdir().unwrap();
    let paths = Paths::resolve(Some(home.path())).unwrap();
    let phrase = "test test test test test test test test test test test junk";
    drop(wallet_service::create(&paths, phrase, "", &password()).unwrap());
    // The test model, registered as `keybot model add` does (the first one is the default).
    let mut registry = crate::chat::registry::Registry::load(&paths.data_dir).unwrap();
    registry
        .add(crate::chat::registry::describe(&model, "qwen".into(), None).unwrap())
        .unwrap();
    registry.save(&paths.data_dir).unwrap();
    let files = tempfile::tempdir().unwrap();
    let file = files.path().join("note.txt");
    // "Ugolino" alone at a sentence's start: in no list, and nothing around it says "name".
    std::fs::write(&file, "Ugolino waters the plants while we are away.\n").unwrap();

    let (mut runtime, mut rx, mut state) = unlocking(&paths);
    let (rx, state) = (&mut rx, &mut state);
    until(&mut runtime, rx, state, "unlocking", |s| s.unlocked()).await;

    // The setting, on the Settings screen: select it, Enter, clear the field, "on", Enter.
    runtime.handle(
        state,
        Event::Action(Action::Screen(Screen::Settings)),
        Instant::now(),
    );
    let at = ITEMS
        .iter()
        .position(|i| i.key == MARKET_MODEL_READER)
        .unwrap();
    for _ in 0..at {
        key(&mut runtime, state, KeyCode::Down, KeyModifiers::NONE);
    }
    key(&mut runtime, state, KeyCode::Enter, KeyModifiers::NONE);
    assert_eq!(
        state.settings.editing.as_ref().map(|i| i.text.as_str()),
        Some("off"),
        "off by default"
    );
    key(
        &mut runtime,
        state,
        KeyCode::Char('u'),
        KeyModifiers::CONTROL,
    );
    press(&mut runtime, state, 'o');
    press(&mut runtime, state, 'n');
    key(&mut runtime, state, KeyCode::Enter, KeyModifiers::NONE);
    assert_eq!(state.settings.get(MARKET_MODEL_READER), Some("on"));

    // A file added to the vault: the model reads it at once.
    runtime.handle(
        state,
        Event::Action(Action::Screen(Screen::Market)),
        Instant::now(),
    );
    until(&mut runtime, rx, state, "the vault", |s| {
        s.market.items.is_some()
    })
    .await;
    press(&mut runtime, state, 'f');
    runtime.handle(
        state,
        Event::Action(Action::Edit(Edit::Paste(file.display().to_string()))),
        Instant::now(),
    );
    key(&mut runtime, state, KeyCode::Enter, KeyModifiers::NONE);
    until(&mut runtime, rx, state, "the model to start", |s| {
        s.market.model_reading.is_some()
    })
    .await;
    assert!(state.busy(), "a spinner turns while the model reads");
    until(&mut runtime, rx, state, "the model's removal", |s| {
        s.market
            .item()
            .is_some_and(|i| i.preview.entries.iter().any(|e| e.by_model))
    })
    .await;
    assert_eq!(state.market.model_reading, None);
    let item = state.market.item().unwrap();
    assert_eq!(
        item.preview.text,
        "[name] waters the plants while we are away.\n"
    );
    assert!(
        item.preview.summary().contains("found by the model"),
        "{}",
        item.preview.summary()
    );
    until(
        &mut runtime,
        rx,
        state,
        "the notice",
        |s| matches!(&s.message, Some((Level::Info, m)) if m.contains("1 more removal")),
    )
    .await;

    // `M` reads it again: nothing more to remove, and it says so.
    press(&mut runtime, state, 'M');
    assert!(state.market.model_reading.is_some());
    // A second `M` while it reads is refused with a line.
    press(&mut runtime, state, 'M');
    assert!(
        matches!(&state.message, Some((Level::Error, m)) if m.contains("still reading")),
        "{:?}",
        state.message
    );
    until(&mut runtime, rx, state, "the second read", |s| {
        s.market.model_reading.is_none()
    })
    .await;
    until(
        &mut runtime,
        rx,
        state,
        "its notice",
        |s| matches!(&s.message, Some((Level::Info, m)) if m.contains("nothing more to remove")),
    )
    .await;
    runtime.perform(Effect::Lock);
}
