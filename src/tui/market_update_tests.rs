//! The Market screen and the chat screen's "put it in the vault" key, through `update` alone.
//! The items are made by hand (entries, removed spans, the buyer's text), not by the detectors,
//! so these tests state what the screen does with whatever the detectors find.
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::action::{Action, Edit};
use super::effect::Effect;
use super::keymap;
use super::screens::market::{MarketAction, MarketEffect};
use super::screens::vault_file::{DirEntry, FilePrompt, entries};
use super::state::*;
use super::ui::market::{self, Piece};
use super::update::update;
use crate::market::Kind;
use crate::market::vault::{Entry, Preview};
use crate::service::vault::ConsentState;
use crate::store::{Conversation, VaultItem};

const PHRASE: &str =
    "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";

/// A conversation as the vault copies it: a seed phrase, a public support address the user
/// keeps, a private e-mail and a phone number.
pub(crate) fn sample_text() -> String {
    format!(
        "Backup notes\n\nUser:\nMy recovery words: {PHRASE}\nWrite to help@example.com (public support) or to jane.doe@mail.org, phone +49 30 1234567.\n\nAssistant:\nNever share those words. The support address is fine to keep.\n"
    )
}

/// An item whose preview has the spans `spans` (needle, kind, removed), numbered in the order of
/// the text, as `Preview::new` would build it from the detectors' spans and the decisions.
pub(crate) fn item_with(
    id: i64,
    title: &str,
    text: &str,
    spans: &[(&str, Kind, bool)],
) -> MarketItem {
    let mut entries: Vec<Entry> = spans
        .iter()
        .map(|(needle, kind, removed)| {
            let start = text.find(needle).expect("the needle is in the text");
            Entry {
                number: 0,
                start,
                end: start + needle.len(),
                kind: *kind,
                removed: *removed,
                manual: *kind == Kind::Custom,
                by_model: false,
            }
        })
        .collect();
    entries.sort_by_key(|e| e.start);
    for (i, e) in entries.iter_mut().enumerate() {
        e.number = i + 1;
    }
    let removed: Vec<crate::market::Span> = entries
        .iter()
        .filter(|e| e.removed)
        .map(|e| crate::market::Span {
            start: e.start,
            end: e.end,
            kind: e.kind,
        })
        .collect();
    MarketItem {
        item: VaultItem {
            id,
            uid: format!("uid{id}"),
            title: title.into(),
            source: "chat 1".into(),
            text: text.into(),
            created_at: 0,
            updated_at: 0,
        },
        preview: Preview {
            text: keybot_redact::render(text, &removed),
            entries,
            removed,
        },
        consent: ConsentState::None,
    }
}

/// The sample item: 1 seed phrase (removed), 2 help@ (kept), 3 jane.doe@ (removed), 4 phone.
pub(crate) fn sample_item(id: i64) -> MarketItem {
    item_with(
        id,
        "Backup notes",
        &sample_text(),
        &[
            (PHRASE, Kind::SeedPhrase, true),
            ("help@example.com", Kind::Email, false),
            ("jane.doe@mail.org", Kind::Email, true),
            ("+49 30 1234567", Kind::Phone, true),
        ],
    )
}

fn unlocked() -> State {
    let mut s = State::new(true);
    update(
        &mut s,
        Action::WalletReady {
            accounts: vec![(
                0,
                "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
                    .parse()
                    .unwrap(),
                String::new(),
            )],
        },
    );
    s
}

/// Unlocked, on the Market screen, with these items listed.
fn market(items: Vec<MarketItem>) -> State {
    let mut s = unlocked();
    let fx = update(&mut s, Action::Screen(Screen::Market));
    assert!(
        matches!(fx.as_slice(), [Effect::Market(MarketEffect::List)]),
        "{fx:?}"
    );
    assert_eq!(s.market.items, None);
    update(&mut s, Action::Market(MarketAction::Items(items)));
    s
}

fn error(s: &State) -> Option<&str> {
    match &s.message {
        Some((Level::Error, m)) => Some(m),
        _ => None,
    }
}

fn key(s: &State, c: char) -> Option<Action> {
    keymap::key(s, KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}

#[test]
fn keep_on_a_secret_is_refused_with_the_reason_and_asks_nothing() {
    let mut s = market(vec![sample_item(7)]);
    // `k` is the keep key here, not "up" as on the other screens.
    assert!(matches!(key(&s, 'k'), Some(Action::Command('k'))));
    // Without a selected span there is nothing to keep.
    assert!(update(&mut s, Action::Command('k')).is_empty());
    assert!(error(&s).unwrap().contains("select a span first"), "{s:?}");
    update(&mut s, Action::Command('n'));
    assert_eq!(s.market.span, Some(1));
    let fx = update(&mut s, Action::Command('k'));
    assert!(fx.is_empty(), "{fx:?}");
    assert_eq!(
        error(&s),
        Some("span 1 is a seed phrase: secrets are always removed and cannot be kept")
    );
    // The e-mail (span 3) can be kept; the kept one (span 2) removed again, not kept twice.
    update(&mut s, Action::Command('n'));
    update(&mut s, Action::Command('n'));
    assert_eq!(s.market.span, Some(3));
    let fx = update(&mut s, Action::Command('k'));
    assert!(
        matches!(
            fx.as_slice(),
            [Effect::Market(MarketEffect::Keep { id: 7, span: 3 })]
        ),
        "{fx:?}"
    );
    update(&mut s, Action::Command('N'));
    assert!(update(&mut s, Action::Command('k')).is_empty());
    assert_eq!(error(&s), Some("span 2 is already kept"));
    let fx = update(&mut s, Action::Command('r'));
    assert!(
        matches!(
            fx.as_slice(),
            [Effect::Market(MarketEffect::Redact { id: 7, span: 2 })]
        ),
        "{fx:?}"
    );
}

#[test]
fn n_and_shift_n_go_round_the_spans_and_the_preview_follows() {
    let mut s = market(vec![sample_item(1)]);
    // Before a span is chosen the page keys scroll from the top, not above it.
    update(&mut s, Action::PageUp);
    assert_eq!((s.market.scroll, s.market.follow), (0, false));
    update(&mut s, Action::PageDown);
    assert_eq!(s.market.scroll, 10);
    update(&mut s, Action::Command('N'));
    assert_eq!(s.market.span, Some(4));
    update(&mut s, Action::Command('n'));
    assert_eq!(s.market.span, Some(1));
    // The preview is drawn from the span (`ui` knows on which wrapped line it is) and the
    // page keys move from there, up as well as down.
    assert_eq!((s.market.scroll, s.market.follow), (0, true));
    update(&mut s, Action::PageDown);
    assert_eq!(s.market.scroll, 10);
    update(&mut s, Action::PageUp);
    update(&mut s, Action::PageUp);
    update(&mut s, Action::ScrollUp(3));
    assert_eq!(s.market.scroll, -13);
    // Another item starts at its top.
    update(
        &mut s,
        Action::Market(MarketAction::Items(vec![sample_item(1), sample_item(2)])),
    );
    update(&mut s, Action::Down);
    assert_eq!(
        (s.market.span, s.market.scroll, s.market.follow),
        (None, 0, false)
    );
}

#[test]
fn consent_shows_a_step_and_signs_only_on_y_or_enter() {
    let item = sample_item(3);
    let sha = item.preview.sha256();
    let mut s = market(vec![item]);
    update(&mut s, Action::Command('c'));
    assert_eq!(
        s.market.mode,
        MarketMode::Consent {
            id: 3,
            sha256: sha.clone()
        }
    );
    // Esc: nothing signed.
    assert!(update(&mut s, Action::Back).is_empty());
    assert_eq!(s.market.mode, MarketMode::Browse);
    // Other keys do nothing while the step is shown.
    update(&mut s, Action::Command('c'));
    assert!(update(&mut s, Action::Command('k')).is_empty());
    assert!(update(&mut s, Action::Down).is_empty());
    let fx = update(&mut s, Action::Command('y'));
    match fx.as_slice() {
        [Effect::Market(MarketEffect::Consent { id: 3, sha256 })] => assert_eq!(*sha256, sha),
        other => panic!("{other:?}"),
    }
    assert_eq!(s.market.mode, MarketMode::Browse);
    update(&mut s, Action::Command('c'));
    let fx = update(&mut s, Action::Submit);
    assert!(
        matches!(
            fx.as_slice(),
            [Effect::Market(MarketEffect::Consent { id: 3, .. })]
        ),
        "{fx:?}"
    );
}

#[test]
fn text_the_detectors_missed_is_removed_after_a_check() {
    let mut s = market(vec![sample_item(5)]);
    for k in ['x', '/'] {
        update(&mut s, Action::Command(k));
        assert!(s.typing(), "{k}");
        update(&mut s, Action::Back);
        assert!(!s.typing());
    }
    update(&mut s, Action::Command('x'));
    for c in "Bob".chars() {
        update(&mut s, Action::Edit(Edit::Char(c)));
    }
    assert!(update(&mut s, Action::Submit).is_empty());
    assert_eq!(error(&s), Some("\"Bob\" does not occur in the item"));
    assert!(!s.typing());
    update(&mut s, Action::Command('x'));
    update(&mut s, Action::Edit(Edit::Paste("Backup notes".into())));
    let fx = update(&mut s, Action::Submit);
    match fx.as_slice() {
        [Effect::Market(MarketEffect::RedactText { id: 5, text })] => {
            assert_eq!(text.as_str(), "Backup notes");
            // The text to remove is private: not in a Debug of the effect.
            assert!(!format!("{fx:?}").contains("Backup"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn delete_asks_first() {
    let mut s = market(vec![sample_item(1), sample_item(2)]);
    update(&mut s, Action::Down);
    update(&mut s, Action::Command('d'));
    assert_eq!(s.market.mode, MarketMode::ConfirmDelete(2));
    assert!(update(&mut s, Action::Command('n')).is_empty());
    assert_eq!(s.market.mode, MarketMode::Browse);
    update(&mut s, Action::Command('d'));
    let fx = update(&mut s, Action::Command('y'));
    assert!(
        matches!(fx.as_slice(), [Effect::Market(MarketEffect::Remove(2))]),
        "{fx:?}"
    );
    // The list after the removal: the selection stays in it.
    update(
        &mut s,
        Action::Market(MarketAction::Items(vec![sample_item(1)])),
    );
    assert_eq!(s.market.selected, 0);
}

#[test]
fn a_change_replaces_the_item_and_keeps_the_span_in_range() {
    let mut s = market(vec![sample_item(1)]);
    update(&mut s, Action::Command('N'));
    assert_eq!(s.market.span, Some(4));
    // A keep answered by the service: the e-mail (span 3) is now kept.
    let text = sample_text();
    let kept = item_with(
        1,
        "Backup notes",
        &text,
        &[
            (PHRASE, Kind::SeedPhrase, true),
            ("help@example.com", Kind::Email, false),
            ("jane.doe@mail.org", Kind::Email, false),
        ],
    );
    update(
        &mut s,
        Action::Market(MarketAction::Updated(Box::new(kept.clone()))),
    );
    assert_eq!(s.market.item(), Some(&kept));
    assert_eq!(s.market.span, Some(3));
}

#[test]
fn the_chat_key_adds_the_conversation_and_its_preview_opens() {
    let mut s = unlocked();
    assert_eq!(s.screen, Screen::Chat);
    let conv = |id: i64| Conversation {
        id,
        uid: format!("u{id}"),
        title: format!("chat {id}"),
        system_prompt: String::new(),
        model: String::new(),
        created_at: 0,
        updated_at: 0,
    };
    s.chat.conversations = vec![conv(4), conv(9)];
    s.chat.current = Some(4);
    // The message box has the keys: `m` is a letter there.
    s.chat.model = ModelStatus::Ready {
        name: "m".into(),
        device: "CPU".into(),
        gpu_layers: 0,
        total_layers: 1,
        ctx: 512,
    };
    assert!(matches!(key(&s, 'm'), Some(Action::Edit(Edit::Char('m')))));
    // In the list it is the vault key, for the selected conversation.
    update(&mut s, Action::FocusNext);
    update(&mut s, Action::Down);
    let action = key(&s, 'm').unwrap();
    let fx = update(&mut s, action);
    assert!(
        matches!(fx.as_slice(), [Effect::Market(MarketEffect::AddChat(9))]),
        "{fx:?}"
    );
    assert_eq!(s.screen, Screen::Chat);
    // The help opened meanwhile does not swallow the answer.
    update(&mut s, Action::ToggleHelp);
    update(
        &mut s,
        Action::Market(MarketAction::Added {
            items: vec![sample_item(1), sample_item(2)],
            id: 2,
        }),
    );
    assert_eq!(s.screen, Screen::Market);
    assert_eq!(s.market.selected, 1);
    assert_eq!(s.market.item().unwrap().item.id, 2);
    assert!(matches!(&s.message, Some((Level::Info, m)) if m.contains("item 2")));
}

#[test]
fn the_chat_key_without_a_conversation_or_while_answering_says_why() {
    let mut s = unlocked();
    // No model: the box does not take letters, and there is no conversation yet.
    assert!(update(&mut s, Action::Command('m')).is_empty());
    assert!(error(&s).unwrap().contains("no conversation to add"));
    s.chat.conversations = vec![Conversation {
        id: 1,
        uid: "u".into(),
        title: "t".into(),
        system_prompt: String::new(),
        model: String::new(),
        created_at: 0,
        updated_at: 0,
    }];
    s.chat.current = Some(1);
    s.chat.streaming = Some("half an ans".into());
    assert!(update(&mut s, Action::Command('m')).is_empty());
    assert!(error(&s).unwrap().contains("wait for the answer"));
}

#[test]
fn the_drawn_preview_is_the_numbered_preview_of_the_command_line() {
    let item = sample_item(1);
    let segments = market::segments(&item.item.text, &item.preview);
    let drawn: String = segments.iter().map(|s| s.text.as_ref()).collect();
    assert_eq!(drawn, item.preview.numbered(&item.item.text));
    let pieces: Vec<(Piece, Vec<usize>)> = segments
        .iter()
        .filter(|s| s.piece != Piece::Text)
        .map(|s| (s.piece, s.numbers.clone()))
        .collect();
    assert_eq!(
        pieces,
        [
            (Piece::Removed(Kind::SeedPhrase), vec![1]),
            (Piece::Kept(Kind::Email), vec![2]),
            (Piece::Removed(Kind::Email), vec![3]),
            (Piece::Removed(Kind::Phone), vec![4]),
        ]
    );
    // Without the markers' numbers and kept notes, it is the buyer's text.
    assert!(!drawn.contains("abandon"));
    assert!(drawn.contains("«2 kept email: help@example.com»"));
}

#[test]
fn items_keep_their_selection_across_a_new_list_and_no_text_in_debug() {
    let mut s = market(vec![sample_item(1), sample_item(2), sample_item(3)]);
    update(&mut s, Action::Down);
    update(&mut s, Action::Down);
    update(
        &mut s,
        Action::Market(MarketAction::Items(vec![sample_item(2), sample_item(3)])),
    );
    assert_eq!(s.market.item().unwrap().item.id, 3);
    let debug = format!("{:?}", s.market);
    assert!(
        !debug.contains("abandon") && !debug.contains("jane"),
        "{debug}"
    );
}

#[test]
fn the_help_lists_the_market_keys_and_the_chat_key() {
    let s = market(vec![]);
    let help = keymap::help(&s);
    for k in ["n / N", "k", "r", "x or /", "c", "d", "PgUp/PgDn, wheel"] {
        assert!(help.iter().any(|(key, _)| key == k), "{k}: {help:?}");
    }
    let mut s = unlocked();
    s.screen = Screen::Chat;
    let help = keymap::help(&s);
    assert!(
        help.iter()
            .any(|(k, v)| k == "m" && v.contains("sale vault")),
        "{help:?}"
    );
}

#[test]
fn n_in_the_chat_without_a_model_says_why() {
    let mut s = unlocked();
    assert!(matches!(s.chat.model, ModelStatus::Missing(_)));
    for focus in [ChatFocus::Input, ChatFocus::List] {
        s.chat.focus = focus;
        s.message = None;
        assert!(matches!(key(&s, 'n'), Some(Action::Command('n'))));
        assert!(update(&mut s, Action::Command('n')).is_empty());
        assert!(
            error(&s).unwrap().contains("no chat model"),
            "{focus:?}: {:?}",
            s.message
        );
    }
    // In the message box, which takes no letters without a model, any other key says so too.
    s.chat.focus = ChatFocus::Input;
    update(&mut s, Action::Command('r'));
    assert!(error(&s).unwrap().contains("p downloads one"));
    // With a model, `n` in the list starts a new conversation as before.
    s.chat.model = ModelStatus::Ready {
        name: "m".into(),
        device: "CPU".into(),
        gpu_layers: 0,
        total_layers: 1,
        ctx: 512,
    };
    s.chat.focus = ChatFocus::List;
    let fx = update(&mut s, Action::Command('n'));
    assert!(
        matches!(
            fx.as_slice(),
            [Effect::Chat(
                super::screens::chat::ChatEffect::NewConversation
            )]
        ),
        "{fx:?}"
    );
}

/// The sample item with "Backup notes" also removed by hand: a new span 1 before the others.
fn with_hand_removal(text: &str) -> MarketItem {
    item_with(
        1,
        "Backup notes",
        text,
        &[
            ("Backup notes", Kind::Custom, true),
            (PHRASE, Kind::SeedPhrase, true),
            ("help@example.com", Kind::Email, false),
            ("jane.doe@mail.org", Kind::Email, true),
            ("+49 30 1234567", Kind::Phone, true),
        ],
    )
}

#[test]
fn after_a_keep_or_a_removal_the_selection_stays_on_the_same_place_in_the_text() {
    let text = sample_text();
    let mut s = market(vec![sample_item(1)]);
    // Span 3, the private e-mail.
    for _ in 0..3 {
        update(&mut s, Action::Command('n'));
    }
    assert_eq!(s.market.span, Some(3));
    // Text removed by hand before it: the spans renumber, the selection follows the e-mail.
    update(
        &mut s,
        Action::Market(MarketAction::Updated(Box::new(with_hand_removal(&text)))),
    );
    let e = s
        .market
        .item()
        .unwrap()
        .preview
        .entry(s.market.span.unwrap())
        .unwrap();
    assert_eq!(s.market.span, Some(4));
    assert_eq!(&text[e.start..e.end], "jane.doe@mail.org");
    // The hand removal (span 1) kept again: it is gone, and the span after it is selected.
    update(&mut s, Action::Command('N'));
    update(&mut s, Action::Command('N'));
    update(&mut s, Action::Command('N'));
    assert_eq!(s.market.span, Some(1));
    update(
        &mut s,
        Action::Market(MarketAction::Updated(Box::new(sample_item(1)))),
    );
    let e = s
        .market
        .item()
        .unwrap()
        .preview
        .entry(s.market.span.unwrap())
        .unwrap();
    assert_eq!(e.kind, Kind::SeedPhrase);
    // A change to another item leaves the selection alone.
    let mut s = market(vec![sample_item(1), sample_item(2)]);
    update(&mut s, Action::Command('N'));
    update(
        &mut s,
        Action::Market(MarketAction::Updated(Box::new(item_with(
            2,
            "Backup notes",
            &text,
            &[],
        )))),
    );
    assert_eq!(s.market.span, Some(4));
}

fn file_prompt(s: &State) -> &FilePrompt {
    match &s.market.mode {
        MarketMode::AddFile(p) => p,
        other => panic!("no file prompt: {other:?}"),
    }
}

#[test]
fn f_opens_the_path_prompt_and_tab_completes_from_the_listing_the_runtime_reads() {
    let mut s = market(vec![]);
    // On the empty vault too.
    assert!(matches!(key(&s, 'f'), Some(Action::Command('f'))));
    assert!(update(&mut s, Action::Command('f')).is_empty());
    assert!(s.typing(), "the path is typed");
    for c in "~/no".chars() {
        update(&mut s, Action::Edit(Edit::Char(c)));
    }
    // Tab (FocusNext while typing) asks for the folder's listing; nothing is read here.
    let tab = keymap::key(&s, KeyEvent::new(KeyCode::Tab, KeyModifiers::NONE)).unwrap();
    let fx = update(&mut s, tab);
    match fx.as_slice() {
        [Effect::Market(MarketEffect::ListFolder { folder, input })] => {
            assert_eq!((folder.as_str(), input.as_str()), ("~/", "~/no"));
        }
        other => panic!("{other:?}"),
    }
    let listing = entries(&[
        ("notes-2024.txt", false),
        ("notes-2025.txt", false),
        ("notebooks", true),
        ("music", true),
    ]);
    let listed = |input: &str, entries: &[DirEntry]| {
        Action::Market(MarketAction::Listing {
            input: input.into(),
            entries: Ok(entries.to_vec()),
        })
    };
    // Several names: their common prefix, and the names under the prompt.
    update(&mut s, listed("~/no", &listing));
    let p = file_prompt(&s);
    assert_eq!(p.path.text, "~/note");
    assert_eq!(p.path.cursor, 6);
    assert_eq!(
        p.matches,
        ["notebooks/", "notes-2024.txt", "notes-2025.txt"]
    );
    // One name: the whole path, a folder with a `/`; typing clears the names.
    update(&mut s, Action::Edit(Edit::Char('b')));
    assert!(file_prompt(&s).matches.is_empty());
    update(&mut s, Action::FocusNext);
    update(&mut s, listed("~/noteb", &listing));
    assert_eq!(file_prompt(&s).path.text, "~/notebooks/");
    // None: the prompt says so and keeps the text.
    update(&mut s, Action::Edit(Edit::Char('z')));
    update(&mut s, Action::FocusNext);
    update(
        &mut s,
        listed("~/notebooks/z", &entries(&[("a.txt", false)])),
    );
    let p = file_prompt(&s);
    assert_eq!(p.path.text, "~/notebooks/z");
    assert_eq!(
        p.error.as_deref(),
        Some("nothing in ~/notebooks/ starts with \"z\"")
    );
    // A listing for what was typed before a later key is not applied.
    update(&mut s, Action::Edit(Edit::Backspace));
    update(
        &mut s,
        listed("~/notebooks/z", &entries(&[("zed.txt", false)])),
    );
    assert_eq!(file_prompt(&s).path.text, "~/notebooks/");
    // A folder that cannot be read: its reason under the prompt.
    update(
        &mut s,
        Action::Market(MarketAction::Listing {
            input: "~/notebooks/".into(),
            entries: Err("cannot list ~/notebooks/: permission denied".into()),
        }),
    );
    assert!(
        file_prompt(&s)
            .error
            .as_deref()
            .unwrap()
            .contains("permission denied")
    );
    // Esc closes it.
    update(&mut s, Action::Back);
    assert_eq!(s.market.mode, MarketMode::Browse);
    assert!(!s.typing());
}

#[test]
fn a_refused_file_keeps_the_prompt_and_the_path_and_an_added_one_opens_its_preview() {
    let mut s = market(vec![sample_item(1)]);
    update(&mut s, Action::Command('f'));
    assert!(update(&mut s, Action::Submit).is_empty());
    assert!(
        file_prompt(&s)
            .error
            .as_deref()
            .unwrap()
            .contains("type the path")
    );
    update(&mut s, Action::Edit(Edit::Paste("/tmp/photo.jpg".into())));
    let fx = update(&mut s, Action::Submit);
    assert!(
        matches!(fx.as_slice(), [Effect::Market(MarketEffect::AddFile(p))] if p == "/tmp/photo.jpg"),
        "{fx:?}"
    );
    assert!(file_prompt(&s).adding);
    // While it is being added, Enter and typing do nothing; Esc still closes.
    assert!(update(&mut s, Action::Submit).is_empty());
    update(&mut s, Action::Edit(Edit::Char('x')));
    assert_eq!(file_prompt(&s).path.text, "/tmp/photo.jpg");
    let why = "/tmp/photo.jpg: it is not UTF-8 text (invalid byte at offset 0)";
    update(
        &mut s,
        Action::Market(MarketAction::FileRefused(why.into())),
    );
    let p = file_prompt(&s);
    assert_eq!(p.path.text, "/tmp/photo.jpg");
    assert_eq!(p.error.as_deref(), Some(why));
    assert!(!p.adding);
    // Typing again clears the reason.
    update(&mut s, Action::Edit(Edit::Backspace));
    assert_eq!(file_prompt(&s).error, None);
    // Added: the screen opens on the new item's preview.
    update(&mut s, Action::Submit);
    let mut added = sample_item(2);
    added.item.title = "notes.txt".into();
    update(
        &mut s,
        Action::Market(MarketAction::FileAdded {
            items: vec![sample_item(1), added],
            id: 2,
        }),
    );
    assert_eq!(s.market.mode, MarketMode::Browse);
    assert_eq!(s.market.item().unwrap().item.id, 2);
    assert_eq!(s.market.span, None);
    assert!(
        matches!(&s.message, Some((Level::Info, m)) if m == "notes.txt is item 2 of the sale vault: check what a buyer gets"),
        "{:?}",
        s.message
    );
    // A refusal that comes after the prompt was closed goes to the message line.
    update(
        &mut s,
        Action::Market(MarketAction::FileRefused("late".into())),
    );
    assert_eq!(error(&s), Some("late"));
}

#[test]
fn the_help_lists_the_file_key() {
    let s = market(vec![]);
    let help = keymap::help(&s);
    assert!(
        help.iter()
            .any(|(k, v)| k == "f" && v.contains("Tab completes")),
        "{help:?}"
    );
}

/// `c y s` typed quickly: the `s` arrives before the consent is signed, and is not lost — the
/// sell form opens once the signed consent is in. A failed consent opens nothing.
#[test]
fn sell_typed_ahead_of_the_consent_opens_once_it_is_signed() {
    let item = sample_item(3);
    let mut s = market(vec![item.clone()]);
    update(&mut s, Action::Command('c'));
    update(&mut s, Action::Command('y'));
    assert!(update(&mut s, Action::Command('s')).is_empty());
    assert_eq!(s.market.mode, MarketMode::Browse, "nothing yet");
    assert_eq!(
        error(&s),
        None,
        "no 'no consent' error for a key typed ahead"
    );
    let mut signed = item.clone();
    signed.consent = ConsentState::Given(crate::store::Consent {
        account: "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266".into(),
        sha256: signed.preview.sha256(),
        time: 1,
        signature: "0x00".into(),
    });
    update(
        &mut s,
        Action::Market(MarketAction::Updated(Box::new(signed))),
    );
    assert!(
        matches!(s.market.mode, MarketMode::Sell { id: 3, .. }),
        "{:?}",
        s.market.mode
    );
    assert_eq!(s.market.consenting, None);

    // A consent that fails: the s typed ahead opens nothing, and a later s says why.
    let mut s = market(vec![item]);
    update(&mut s, Action::Command('c'));
    update(&mut s, Action::Command('y'));
    update(&mut s, Action::Command('s'));
    update(
        &mut s,
        Action::Error(crate::tui::error::AppError::Setting(
            "the store refused".into(),
        )),
    );
    assert_eq!(s.market.consenting, None);
    update(&mut s, Action::Command('s'));
    assert!(error(&s).unwrap().contains("no consent"), "{:?}", s.message);
}

#[test]
fn m_lets_the_model_read_the_item_once_at_a_time_and_its_answer_is_kept_or_said() {
    use crate::market::model_reader::MAX_ITEM_BYTES;
    let text = "Ugolino waters the plants.\n";
    let big = "a".repeat(MAX_ITEM_BYTES + 1);
    let mut s = market(vec![
        item_with(1, "note", text, &[]),
        item_with(2, "big", &big, &[]),
    ]);
    let fx = press_m(&mut s);
    assert!(
        matches!(
            fx.as_slice(),
            [Effect::Market(MarketEffect::ReadWithModel(1))]
        ),
        "{fx:?}"
    );
    assert_eq!(s.market.model_reading, Some(1));
    assert!(s.busy(), "a spinner turns while it reads");
    // One read at a time.
    update(&mut s, Action::Down);
    assert!(press_m(&mut s).is_empty());
    assert!(error(&s).unwrap().contains("still reading item 1"));
    // Its finds are kept through the store; nothing found says so.
    let span = keybot_redact::Span {
        start: 0,
        end: 7,
        kind: Kind::Name,
    };
    let fx = update(
        &mut s,
        Action::Market(MarketAction::ModelRead {
            id: 1,
            found: Ok(vec![span]),
        }),
    );
    assert!(
        matches!(fx.as_slice(), [Effect::Market(MarketEffect::AddModelSpans { id: 1, spans })] if spans == &[span]),
        "{fx:?}"
    );
    assert_eq!(s.market.model_reading, None);
    // An item over the size the model reads is refused with the size.
    assert!(press_m(&mut s).is_empty());
    assert!(
        error(&s).unwrap().contains("over the 64 KiB"),
        "{:?}",
        s.message
    );
    assert_eq!(s.market.model_reading, None);
    update(&mut s, Action::Up);
    press_m(&mut s);
    let fx = update(
        &mut s,
        Action::Market(MarketAction::ModelRead {
            id: 1,
            found: Ok(vec![]),
        }),
    );
    assert!(fx.is_empty());
    assert!(
        matches!(&s.message, Some((Level::Info, m)) if m.contains("nothing more to remove")),
        "{:?}",
        s.message
    );
    // A failed read is one error line.
    press_m(&mut s);
    update(
        &mut s,
        Action::Market(MarketAction::ModelRead {
            id: 1,
            found: Err("no model is registered on this machine yet".into()),
        }),
    );
    assert_eq!(
        error(&s),
        Some("the model did not read item 1: no model is registered on this machine yet")
    );
    assert_eq!(s.market.model_reading, None);
}

fn press_m(s: &mut State) -> Vec<Effect> {
    let action = key(s, 'M').unwrap();
    update(s, action)
}

#[test]
fn a_new_item_is_read_by_the_model_only_with_the_setting_on() {
    use crate::service::settings::MARKET_MODEL_READER;
    let note = item_with(3, "note", "Ugolino waters the plants.\n", &[]);
    for (setting, reads) in [("off", false), ("on", true)] {
        let mut s = market(vec![]);
        s.settings
            .items
            .iter_mut()
            .find(|i| i.key == MARKET_MODEL_READER)
            .unwrap()
            .value = setting.into();
        for added in [
            MarketAction::FileAdded {
                items: vec![note.clone()],
                id: 3,
            },
            MarketAction::Added {
                items: vec![note.clone()],
                id: 3,
            },
        ] {
            s.market.model_reading = None;
            let fx = update(&mut s, Action::Market(added));
            assert_eq!(
                matches!(
                    fx.as_slice(),
                    [Effect::Market(MarketEffect::ReadWithModel(3))]
                ),
                reads,
                "{setting}: {fx:?}"
            );
            assert_eq!(s.market.model_reading.is_some(), reads);
        }
    }
}
