//! The sale vault's file prompt through the runtime and a real store: Tab lists the folder on
//! a blocking thread and completes the path; Enter adds the file through the service that
//! `keybot market add --file` uses, and a file it refuses keeps the prompt open with the
//! command line's own line and the path as typed.
// A test tells one story start to end; its length is not a step to name (Cargo.toml).
#![allow(clippy::too_many_lines)]
use super::tests::{key, password, press, unlocking, until};
use super::*;
use crate::market::item_text::TextError;
use crate::tui::screens::vault_file::FilePrompt;
use crate::tui::state::MarketMode;
use crossterm::event::{KeyCode, KeyModifiers};

fn prompt(s: &State) -> Option<&FilePrompt> {
    match &s.market.mode {
        MarketMode::AddFile(p) => Some(p),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tab_completes_from_the_folder_and_enter_adds_the_file_or_keeps_the_refusal() {
    let home = tempfile::tempdir().unwrap();
    let paths = Paths::resolve(Some(home.path())).unwrap();
    let phrase = "test test test test test test test test test test test junk";
    drop(wallet_service::create(&paths, phrase, "", &password()).unwrap());
    let files = tempfile::tempdir().unwrap();
    let dir = files.path();
    std::fs::write(
        dir.join("notes-sourdough.txt"),
        "Feed the starter twice a day. Questions to ann.baker@example.org\n",
    )
    .unwrap();
    std::fs::write(dir.join("notes-binary.bin"), b"\x00\x01\x02 not text").unwrap();
    std::fs::create_dir(dir.join("notes-old")).unwrap();

    let (mut runtime, mut rx, mut state) = unlocking(&paths);
    let rx = &mut rx;
    let state = &mut state;
    until(&mut runtime, rx, state, "unlocking", |s| s.unlocked()).await;
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
    assert!(state.typing(), "the path is typed");
    let typed = format!("{}/no", dir.display());
    runtime.handle(
        state,
        Event::Action(Action::Edit(crate::tui::action::Edit::Paste(typed))),
        Instant::now(),
    );
    // Tab: the common prefix of the three names, and the names under the prompt.
    key(&mut runtime, state, KeyCode::Tab, KeyModifiers::NONE);
    until(&mut runtime, rx, state, "the names", |s| {
        prompt(s).is_some_and(|p| !p.matches.is_empty())
    })
    .await;
    let p = prompt(state).unwrap();
    assert_eq!(p.path.text, format!("{}/notes-", dir.display()));
    assert_eq!(
        p.matches,
        ["notes-binary.bin", "notes-old/", "notes-sourdough.txt"]
    );

    // A folder is refused with the service's line; the prompt keeps the path.
    press(&mut runtime, state, 'o');
    key(&mut runtime, state, KeyCode::Tab, KeyModifiers::NONE);
    let folder = format!("{}/notes-old/", dir.display());
    until(&mut runtime, rx, state, "the folder", |s| {
        prompt(s).is_some_and(|p| p.path.text == folder)
    })
    .await;
    key(&mut runtime, state, KeyCode::Enter, KeyModifiers::NONE);
    until(&mut runtime, rx, state, "the refusal", |s| {
        prompt(s).is_some_and(|p| p.error.is_some())
    })
    .await;
    let p = prompt(state).unwrap();
    assert_eq!(p.path.text, folder);
    assert_eq!(
        p.error.as_deref(),
        Some(
            format!(
                "{}/notes-old/ is not a file; the sale vault takes text files",
                dir.display()
            )
            .as_str()
        )
    );

    // A binary file: the command line's line, word for word.
    for _ in 0.."old/".len() {
        key(&mut runtime, state, KeyCode::Backspace, KeyModifiers::NONE);
    }
    press(&mut runtime, state, 'b');
    key(&mut runtime, state, KeyCode::Tab, KeyModifiers::NONE);
    let binary = dir.join("notes-binary.bin");
    until(&mut runtime, rx, state, "the binary file", |s| {
        prompt(s).is_some_and(|p| p.path.text == binary.display().to_string())
    })
    .await;
    key(&mut runtime, state, KeyCode::Enter, KeyModifiers::NONE);
    assert!(prompt(state).unwrap().adding);
    until(&mut runtime, rx, state, "the refusal", |s| {
        prompt(s).is_some_and(|p| p.error.is_some())
    })
    .await;
    let p = prompt(state).unwrap();
    assert!(!p.adding);
    assert_eq!(
        p.error.as_deref(),
        Some(format!("{}: {}", binary.display(), TextError::Binary(0)).as_str())
    );
    assert!(state.market.items.as_ref().unwrap().is_empty());

    // The text file: added, and the screen opens on its preview.
    for _ in 0.."binary.bin".len() {
        key(&mut runtime, state, KeyCode::Backspace, KeyModifiers::NONE);
    }
    press(&mut runtime, state, 's');
    key(&mut runtime, state, KeyCode::Tab, KeyModifiers::NONE);
    until(&mut runtime, rx, state, "the text file", |s| {
        prompt(s).is_some_and(|p| p.path.text.ends_with("notes-sourdough.txt"))
    })
    .await;
    key(&mut runtime, state, KeyCode::Enter, KeyModifiers::NONE);
    until(&mut runtime, rx, state, "the new item", |s| {
        s.market.mode == MarketMode::Browse && s.market.item().is_some()
    })
    .await;
    let item = state.market.item().unwrap();
    assert_eq!(item.item.title, "notes-sourdough.txt");
    assert_eq!(item.item.source, "file notes-sourdough.txt");
    assert_eq!(item.preview.counts_by_key().get("email"), Some(&1));
    assert!(
        matches!(&state.message, Some((Level::Info, m)) if m.contains("notes-sourdough.txt is item")),
        "{:?}",
        state.message
    );
    runtime.perform(Effect::Lock);
}
