//! The screens' state machines, driven through `update` alone: no terminal, no I/O, no model.
use std::sync::Arc;

use super::action::{Action, Edit};
use super::effect::Effect;
use super::error::{ModelError, UnlockError};
use super::screens::chat::{ChatAction, ChatEffect};
use super::screens::onboarding::{OnboardingAction, OnboardingEffect};
use super::screens::settings::SettingsEffect;
use super::screens::unlock::{UnlockAction, UnlockEffect};
use super::screens::wallet::WalletEffect;
use super::state::*;
use super::update::update;
use crate::chat::{ChatEvent, StopReason};
use crate::store::Role;

const PHRASE: &str = "test test test test test test test test test test test junk";

fn typed(s: &mut State, text: &str) {
    for c in text.chars() {
        update(s, Action::Edit(Edit::Char(c)));
    }
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

fn ready(s: &mut State) {
    s.chat.model = ModelStatus::Ready {
        name: "m".into(),
        device: "CPU".into(),
        gpu_layers: 0,
        total_layers: 25,
        ctx: 4096,
    };
}

#[test]
fn first_run_creates_a_wallet_with_three_words_checked() {
    let mut s = State::new(false);
    assert_eq!(s.screen, Screen::Onboarding);
    let fx = update(&mut s, Action::Submit);
    assert!(matches!(
        fx.as_slice(),
        [Effect::Onboarding(OnboardingEffect::GeneratePhrase {
            words: 24
        })]
    ));
    let words: Vec<String> = PHRASE.split(' ').map(String::from).collect();
    update(
        &mut s,
        Action::Onboarding(OnboardingAction::PhraseGenerated(words.clone())),
    );
    assert!(matches!(s.onboarding, Onboarding::ShowWords { .. }));
    update(&mut s, Action::Submit);
    let Onboarding::Confirm { asked, .. } = s.onboarding.clone() else {
        panic!()
    };
    // A wrong word keeps the step and says so.
    typed(&mut s, "wrong");
    update(&mut s, Action::Submit);
    let Onboarding::Confirm {
        step: 0,
        error: Some(_),
        ..
    } = &s.onboarding
    else {
        panic!("{:?}", s.onboarding)
    };
    for i in asked {
        typed(&mut s, &words[i]);
        update(&mut s, Action::Submit);
    }
    // No BIP-39 passphrase: Enter on the empty field.
    assert!(matches!(s.onboarding, Onboarding::Passphrase { .. }));
    update(&mut s, Action::Submit);
    assert!(matches!(s.onboarding, Onboarding::Password { .. }));
    typed(&mut s, "short");
    update(&mut s, Action::Submit);
    assert!(matches!(
        &s.onboarding,
        Onboarding::Password {
            error: Some(_),
            on_second: false,
            ..
        }
    ));
    typed(&mut s, " but now long enough");
    let Onboarding::Password {
        strength: Some((score, _)),
        ..
    } = &s.onboarding
    else {
        panic!()
    };
    assert!(*score >= 2);
    update(&mut s, Action::Submit);
    typed(&mut s, "different");
    update(&mut s, Action::Submit);
    assert!(matches!(
        &s.onboarding,
        Onboarding::Password {
            error: Some(_),
            on_second: true,
            ..
        }
    ));
    typed(&mut s, "short but now long enough");
    let fx = update(&mut s, Action::Submit);
    match fx.as_slice() {
        [
            Effect::Onboarding(OnboardingEffect::CreateWallet {
                phrase, password, ..
            }),
        ] => {
            assert_eq!(phrase.as_str(), PHRASE);
            assert_eq!(password.expose(), "short but now long enough");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(s.onboarding, Onboarding::Writing);
    // The password fields were wiped from the state.
    assert!(!format!("{s:?}").contains("long enough"));
}

#[test]
fn import_checks_words_and_suggests() {
    let mut s = State::new(false);
    update(&mut s, Action::Down);
    update(&mut s, Action::Submit);
    assert!(matches!(s.onboarding, Onboarding::ImportWords { .. }));
    typed(&mut s, "tset");
    let Onboarding::ImportWords { hint: Some(h), .. } = &s.onboarding else {
        panic!()
    };
    assert!(h.contains("\"test\""), "{h}");
    update(&mut s, Action::Submit);
    let Onboarding::ImportWords { words, .. } = &s.onboarding else {
        panic!()
    };
    assert!(words.is_empty());
    typed(
        &mut s,
        "test test test test test test test test test test test",
    );
    update(&mut s, Action::Submit);
    typed(&mut s, "test");
    update(&mut s, Action::Submit);
    // 12 words with a bad checksum: Enter on the empty line reports it.
    update(&mut s, Action::Submit);
    let Onboarding::ImportWords {
        words,
        hint: Some(h),
        ..
    } = &s.onboarding
    else {
        panic!()
    };
    assert_eq!(words.len(), 12);
    assert!(h.contains("checksum"), "{h}");
    update(&mut s, Action::Edit(Edit::Backspace));
    typed(&mut s, "junk");
    update(&mut s, Action::Submit);
    update(&mut s, Action::Submit);
    assert!(
        matches!(s.onboarding, Onboarding::Passphrase { .. }),
        "{:?}",
        s.onboarding
    );
    update(&mut s, Action::Submit);
    assert!(
        matches!(s.onboarding, Onboarding::Password { .. }),
        "{:?}",
        s.onboarding
    );
}

#[test]
fn wrong_password_keeps_the_unlock_screen() {
    let mut s = State::new(true);
    assert_eq!(s.screen, Screen::Unlock);
    typed(&mut s, "guess");
    let fx = update(&mut s, Action::Submit);
    assert!(matches!(
        fx.as_slice(),
        [Effect::Unlock(UnlockEffect::Unlock { .. })]
    ));
    assert!(s.unlock.busy && s.unlock.input.text.is_empty());
    update(
        &mut s,
        Action::Unlock(UnlockAction::UnlockFailed(UnlockError::WrongPassword)),
    );
    assert_eq!(s.screen, Screen::Unlock);
    assert_eq!(s.unlock.error.as_deref(), Some("wrong password"));
    assert!(!s.unlock.busy);
}

#[test]
fn idle_auto_lock_drops_everything() {
    let mut s = unlocked();
    s.chat.messages.push(ChatLine {
        role: Role::User,
        text: "secret plans".into(),
    });
    update(&mut s, Action::Tick(5 * 60_000));
    assert!(s.unlocked());
    let fx = update(&mut s, Action::Tick(11 * 60_000));
    assert!(fx.iter().any(|e| matches!(e, Effect::Lock)));
    assert_eq!(s.screen, Screen::Unlock);
    assert!(s.wallet.accounts.is_empty() && s.chat.messages.is_empty());
    assert!(!format!("{s:?}").contains("secret plans"));
}

#[test]
fn activity_postpones_auto_lock_and_zero_disables_it() {
    let mut s = unlocked();
    update(&mut s, Action::Tick(9 * 60_000));
    update(&mut s, Action::UserActivity(9 * 60_000));
    update(&mut s, Action::Tick(15 * 60_000));
    assert!(s.unlocked());
    s.settings
        .items
        .iter_mut()
        .find(|i| i.key == "security.autolock_minutes")
        .unwrap()
        .value = "0".into();
    update(&mut s, Action::Tick(1000 * 60_000));
    assert!(s.unlocked());
}

#[test]
fn sending_streams_and_saves_the_answer() {
    let mut s = unlocked();
    assert_eq!(s.screen, Screen::Chat);
    typed(&mut s, "hello?");
    // No model: nothing is sent, the user is told.
    assert!(update(&mut s, Action::Submit).is_empty());
    assert!(s.message.is_some());
    ready(&mut s);
    let fx = update(&mut s, Action::Submit);
    let [
        Effect::Chat(ChatEffect::Send {
            history,
            regenerate: false,
            ..
        }),
    ] = fx.as_slice()
    else {
        panic!("{fx:?}")
    };
    assert_eq!(history.last().unwrap().content, "hello?");
    s.chat.current = Some(7);
    update(
        &mut s,
        Action::Chat(ChatAction::Event(ChatEvent::Piece("Hi".into()))),
    );
    update(
        &mut s,
        Action::Chat(ChatAction::Event(ChatEvent::Piece(" there".into()))),
    );
    assert_eq!(s.chat.streaming.as_deref(), Some("Hi there"));
    // q while generating asks first.
    update(&mut s, Action::Back);
    update(&mut s, Action::Command('q'));
    assert!(!s.quit);
    let fx = update(&mut s, Action::Quit);
    assert!(fx.is_empty() && s.overlay == Some(Overlay::ConfirmQuit));
    update(&mut s, Action::Confirm(false));
    let fx = update(
        &mut s,
        Action::Chat(ChatAction::Event(ChatEvent::Done(StopReason::EndOfTurn))),
    );
    assert!(matches!(
        fx.as_slice(),
        [Effect::Chat(ChatEffect::SaveAnswer {
            conversation: 7,
            ..
        })]
    ));
    assert_eq!(s.chat.messages.last().unwrap().text, "Hi there");
    assert!(s.chat.streaming.is_none());
}

#[test]
fn esc_stops_a_generation() {
    let mut s = unlocked();
    ready(&mut s);
    typed(&mut s, "long story please");
    update(&mut s, Action::Submit);
    let fx = update(&mut s, Action::Back);
    assert!(matches!(
        fx.as_slice(),
        [Effect::Chat(ChatEffect::StopGeneration)]
    ));
}

#[test]
fn regenerate_and_edit_last() {
    let mut s = unlocked();
    ready(&mut s);
    s.chat.current = Some(3);
    s.chat.messages = vec![
        ChatLine {
            role: Role::User,
            text: "q1".into(),
        },
        ChatLine {
            role: Role::Assistant,
            text: "a1".into(),
        },
    ];
    s.chat.focus = ChatFocus::List;
    // The answer goes (from the store too) and the question is answered anew.
    let fx = update(&mut s, Action::Command('g'));
    assert!(matches!(
        fx.as_slice(),
        [
            Effect::Chat(ChatEffect::DeleteLastMessages {
                conversation: 3,
                count: 1
            }),
            Effect::Chat(ChatEffect::Send {
                regenerate: true,
                ..
            })
        ]
    ));
    assert_eq!(s.chat.messages.len(), 1);
    update(
        &mut s,
        Action::Chat(ChatAction::Event(ChatEvent::Piece("a2".into()))),
    );
    let fx = update(
        &mut s,
        Action::Chat(ChatAction::Event(ChatEvent::Done(StopReason::EndOfTurn))),
    );
    assert!(matches!(
        fx.as_slice(),
        [Effect::Chat(ChatEffect::SaveAnswer { text, .. })] if text == "a2"
    ));
    s.chat.focus = ChatFocus::List;
    let fx = update(&mut s, Action::Command('e'));
    assert!(matches!(
        fx.as_slice(),
        [Effect::Chat(ChatEffect::DeleteLastMessages {
            conversation: 3,
            count: 2
        })]
    ));
    assert_eq!(s.chat.input.text, "q1");
    assert!(s.chat.messages.is_empty());
}

#[test]
fn delete_asks_first() {
    let mut s = unlocked();
    s.chat.conversations = vec![crate::store::Conversation {
        id: 5,
        uid: "u".into(),
        title: "t".into(),
        system_prompt: String::new(),
        model: String::new(),
        created_at: 0,
        updated_at: 0,
    }];
    s.chat.focus = ChatFocus::List;
    assert!(update(&mut s, Action::Command('d')).is_empty());
    assert_eq!(s.overlay, Some(Overlay::ConfirmDelete(5)));
    assert!(update(&mut s, Action::Confirm(false)).is_empty());
    assert_eq!(s.chat.conversations.len(), 1);
    update(&mut s, Action::Command('d'));
    let fx = update(&mut s, Action::Confirm(true));
    assert!(matches!(
        fx.as_slice(),
        [Effect::Chat(ChatEffect::DeleteConversation(5))]
    ));
    assert!(s.chat.conversations.is_empty());
}

#[test]
fn settings_refuse_bad_values() {
    let mut s = unlocked();
    update(&mut s, Action::Screen(Screen::Settings));
    let i = s
        .settings
        .items
        .iter()
        .position(|x| x.key == "sampling.temp")
        .unwrap();
    for _ in 0..i {
        update(&mut s, Action::Down);
    }
    update(&mut s, Action::Submit);
    for _ in 0..5 {
        update(&mut s, Action::Edit(Edit::Backspace));
    }
    typed(&mut s, "hot");
    assert!(update(&mut s, Action::Submit).is_empty());
    assert_eq!(s.settings.get("sampling.temp"), Some("0.8"));
    assert!(matches!(s.message, Some((Level::Error, _))));
    update(&mut s, Action::Submit);
    for _ in 0..5 {
        update(&mut s, Action::Edit(Edit::Backspace));
    }
    typed(&mut s, "0.2");
    let fx = update(&mut s, Action::Submit);
    assert!(matches!(
        fx.as_slice(),
        [Effect::Settings(SettingsEffect::SaveSetting { .. })]
    ));
    assert_eq!(s.settings.get("sampling.temp"), Some("0.2"));
}

#[test]
fn wallet_derives_labels_and_copies() {
    let mut s = unlocked();
    update(&mut s, Action::Screen(Screen::Wallet));
    assert!(matches!(
        update(&mut s, Action::Command('n')).as_slice(),
        [Effect::Wallet(WalletEffect::DeriveAccounts { count: 2 })]
    ));
    update(&mut s, Action::Command('l'));
    typed(&mut s, "savings\u{1b}[31m");
    let fx = update(&mut s, Action::Submit);
    let [Effect::Wallet(WalletEffect::SetAccountLabel { index: 0, label })] = fx.as_slice() else {
        panic!()
    };
    assert!(!label.contains('\u{1b}'));
    let fx = update(&mut s, Action::Command('c'));
    assert!(
        matches!(fx.as_slice(), [Effect::Copy(a)] if a == "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266")
    );
}

#[test]
fn screens_switch_only_when_unlocked() {
    let mut s = State::new(true);
    update(&mut s, Action::Screen(Screen::Wallet));
    assert_eq!(s.screen, Screen::Unlock);
    let mut s = unlocked();
    update(&mut s, Action::NextScreen);
    assert_eq!(s.screen, Screen::Settings);
    update(&mut s, Action::NextScreen);
    assert_eq!(s.screen, Screen::Market);
    update(&mut s, Action::NextScreen);
    assert_eq!(s.screen, Screen::Earnings);
    update(&mut s, Action::NextScreen);
    assert_eq!(s.screen, Screen::Wallet);
}

#[test]
fn unlocking_reopens_the_latest_conversation_once() {
    let mut s = unlocked();
    let c = |id| crate::store::Conversation {
        id,
        uid: format!("u{id}"),
        title: "t".into(),
        system_prompt: String::new(),
        model: String::new(),
        created_at: 0,
        updated_at: 0,
    };
    let fx = update(
        &mut s,
        Action::Chat(ChatAction::Conversations(vec![c(9), c(4)])),
    );
    assert!(matches!(
        fx.as_slice(),
        [Effect::Chat(ChatEffect::OpenConversation(9))]
    ));
    assert!(
        update(
            &mut s,
            Action::Chat(ChatAction::Conversations(vec![c(9), c(4)]))
        )
        .is_empty()
    );
}

#[test]
fn each_conversation_has_its_own_system_prompt() {
    let mut s = unlocked();
    ready(&mut s);
    s.chat.conversations = vec![crate::store::Conversation {
        id: 2,
        uid: "u".into(),
        title: "t".into(),
        system_prompt: String::new(),
        model: String::new(),
        created_at: 0,
        updated_at: 0,
    }];
    s.chat.current = Some(2);
    s.chat.focus = ChatFocus::List;
    update(&mut s, Action::Command('s'));
    assert!(s.typing());
    typed(&mut s, "Answer in French.");
    let fx = update(&mut s, Action::Submit);
    assert!(
        matches!(fx.as_slice(), [Effect::Chat(ChatEffect::SetSystemPrompt(2, p))] if p == "Answer in French.")
    );
    s.chat.focus = ChatFocus::Input;
    typed(&mut s, "hi");
    let fx = update(&mut s, Action::Submit);
    let [Effect::Chat(ChatEffect::Send { history, .. })] = fx.as_slice() else {
        panic!()
    };
    assert_eq!(history[0].role, "system");
    assert_eq!(history[0].content, "Answer in French.");
}

#[test]
fn without_a_model_the_screen_offers_to_get_one() {
    let mut s = unlocked();
    update(
        &mut s,
        Action::Chat(ChatAction::ModelMissing("no model".into())),
    );
    assert!(!s.typing(), "letters are the offers, not text");
    let fx = update(&mut s, Action::Command('p'));
    assert!(
        matches!(fx.as_slice(), [Effect::Chat(ChatEffect::PullModel(spec))] if spec == super::update::SUGGESTED_MODEL)
    );
    update(&mut s, Action::Chat(ChatAction::ModelProgress(40)));
    assert_eq!(s.chat.model, ModelStatus::Downloading(40));
    update(
        &mut s,
        Action::Chat(ChatAction::ModelFailed(ModelError::Pull(Arc::new(
            anyhow::anyhow!("offline"),
        )))),
    );
    assert_eq!(
        s.chat.model,
        ModelStatus::Failed("download failed: offline".into())
    );
    update(&mut s, Action::Command('a'));
    assert!(s.typing());
    typed(&mut s, "~/m.gguf");
    let fx = update(&mut s, Action::Submit);
    assert!(matches!(fx.as_slice(), [Effect::Chat(ChatEffect::AddModel(p))] if p == "~/m.gguf"));
    let fx = update(&mut s, Action::Chat(ChatAction::ModelInstalled("m".into())));
    assert!(matches!(
        fx.as_slice(),
        [
            Effect::Settings(SettingsEffect::SaveSetting { .. }),
            Effect::Chat(ChatEffect::LoadModel)
        ]
    ));
    assert_eq!(s.settings.get("model.default"), Some("m"));
}

/// Through the import path (no passphrase) to the password step.
fn at_password_step() -> State {
    let mut s = State::new(false);
    update(&mut s, Action::Down);
    update(&mut s, Action::Submit);
    typed(&mut s, PHRASE);
    update(&mut s, Action::Submit);
    update(&mut s, Action::Submit);
    update(&mut s, Action::Submit);
    assert!(
        matches!(s.onboarding, Onboarding::Password { .. }),
        "{:?}",
        s.onboarding
    );
    s
}

#[test]
fn onboarding_refuses_a_password_zxcvbn_scores_zero() {
    let mut s = at_password_step();
    typed(&mut s, "password");
    update(&mut s, Action::Submit);
    let Onboarding::Password {
        error: Some(e),
        on_second: false,
        ..
    } = &s.onboarding
    else {
        panic!("{:?}", s.onboarding)
    };
    assert!(e.contains("too easy to guess"), "{e}");
}

#[test]
fn debug_of_the_state_and_effects_shows_no_password_and_no_phrase() {
    let mut s = at_password_step();
    typed(&mut s, "hunter2 is my secret");
    let d = format!("{s:?}");
    assert!(!d.contains("hunter2") && !d.contains("junk"), "{d}");
    update(&mut s, Action::Submit);
    typed(&mut s, "hunter2 is my secret");
    assert!(!format!("{s:?}").contains("hunter2"));
    let fx = update(&mut s, Action::Submit);
    let d = format!("{fx:?}");
    assert!(
        matches!(
            fx.as_slice(),
            [Effect::Onboarding(OnboardingEffect::CreateWallet { .. })]
        ),
        "{d}"
    );
    assert!(!d.contains("hunter2") && !d.contains("junk"), "{d}");
    // The unlock screen's password field too.
    let mut u = State::new(true);
    typed(&mut u, "hunter2");
    assert!(!format!("{u:?}").contains("hunter2"));
    // And the phrase words while they are shown and typed back.
    let mut c = State::new(false);
    update(&mut c, Action::Submit);
    update(
        &mut c,
        Action::Onboarding(OnboardingAction::PhraseGenerated(
            PHRASE.split(' ').map(str::to_owned).collect(),
        )),
    );
    assert!(!format!("{c:?}").contains("junk"), "{c:?}");
}

#[test]
fn after_unlocking_q_is_a_letter_in_the_box_and_quits_once_esc_left_it() {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    let q = KeyEvent::new(KeyCode::Char('q'), KeyModifiers::NONE);
    let mut s = unlocked();
    ready(&mut s);
    assert_eq!(s.screen, Screen::Chat);
    assert!(matches!(
        super::keymap::key(&s, q),
        Some(Action::Edit(Edit::Char('q')))
    ));
    let esc = super::keymap::key(&s, KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE)).unwrap();
    update(&mut s, esc);
    let quit = super::keymap::key(&s, q).unwrap();
    assert!(matches!(quit, Action::Quit));
    assert!(matches!(update(&mut s, quit).as_slice(), [Effect::Quit]));
    assert!(s.quit);
}

/// A restored wallet with a BIP-39 passphrase: typed twice (a mismatch is refused and asked
/// again), and the effect that writes the vault carries it; Esc from the first field starts over.
#[test]
fn a_passphrase_is_typed_twice_and_reaches_the_wallet() {
    let mut s = State::new(false);
    update(&mut s, Action::Down);
    update(&mut s, Action::Submit);
    typed(&mut s, PHRASE);
    update(&mut s, Action::Submit);
    update(&mut s, Action::Submit);
    assert!(matches!(s.onboarding, Onboarding::Passphrase { .. }));
    typed(&mut s, "my 25th word");
    update(&mut s, Action::Submit);
    typed(&mut s, "my 25th wort");
    update(&mut s, Action::Submit);
    let Onboarding::Passphrase {
        on_second: true,
        error: Some(e),
        second,
        ..
    } = &s.onboarding
    else {
        panic!("{:?}", s.onboarding)
    };
    assert!(e.contains("differ"), "{e}");
    assert!(second.text.is_empty(), "the wrong second entry is cleared");
    typed(&mut s, "my 25th word");
    update(&mut s, Action::Submit);
    assert!(matches!(s.onboarding, Onboarding::Password { .. }));
    typed(&mut s, "short but now long enough");
    update(&mut s, Action::Submit);
    typed(&mut s, "short but now long enough");
    let fx = update(&mut s, Action::Submit);
    match fx.as_slice() {
        [
            Effect::Onboarding(OnboardingEffect::CreateWallet {
                phrase, passphrase, ..
            }),
        ] => {
            assert_eq!(phrase.as_str(), PHRASE);
            assert_eq!(passphrase.as_str(), "my 25th word");
        }
        other => panic!("{other:?}"),
    }

    // Esc on the first field: back to the start, nothing kept.
    let mut s = State::new(false);
    update(&mut s, Action::Down);
    update(&mut s, Action::Submit);
    typed(&mut s, PHRASE);
    update(&mut s, Action::Submit);
    update(&mut s, Action::Submit);
    typed(&mut s, "secret");
    update(&mut s, Action::Back);
    assert_eq!(s.onboarding, Onboarding::default());
}

#[test]
fn a_notice_expires_an_error_stays_until_the_next_key_and_both_are_logged() {
    let mut s = unlocked();
    update(&mut s, Action::Tick(1_000));
    update(&mut s, Action::Notice("saved".into()));
    assert_eq!(s.message, Some((Level::Info, "saved".into())));
    update(&mut s, Action::Tick(1_000 + NOTICE_MS - 250));
    assert!(s.message.is_some(), "not yet");
    update(&mut s, Action::Tick(1_000 + NOTICE_MS));
    assert_eq!(s.message, None, "a notice expires");

    update(&mut s, Action::Tick(20_000));
    update(
        &mut s,
        Action::Error(super::error::AppError::Setting("no such model".into())),
    );
    update(&mut s, Action::Tick(20_000 + 10 * NOTICE_MS));
    assert!(
        matches!(&s.message, Some((Level::Error, m)) if m.contains("no such model")),
        "an error does not expire"
    );
    // A key typed before the error was shown does not clear it; the next one does.
    update(&mut s, Action::UserActivity(19_000));
    assert!(s.message.is_some());
    update(&mut s, Action::UserActivity(90_000));
    assert_eq!(s.message, None);

    // Both are in the log, oldest first, with the time they were shown.
    let log: Vec<(Level, &str, u64)> = s
        .log
        .iter()
        .map(|m| (m.level, m.text.as_str(), m.at_ms))
        .collect();
    assert_eq!(log[0], (Level::Info, "saved", 1_000));
    assert_eq!(log[1].0, Level::Error);
    assert_eq!(log[1].2, 20_000);
}

#[test]
fn the_log_keeps_the_last_hundred_and_opens_at_the_newest() {
    let mut s = unlocked();
    for i in 0..(LOG_LEN + 20) {
        update(&mut s, Action::Notice(format!("notice {i}")));
    }
    assert_eq!(s.log.len(), LOG_LEN);
    assert_eq!(s.log.front().unwrap().text, "notice 20");
    assert_eq!(
        s.log.back().unwrap().text,
        format!("notice {}", LOG_LEN + 19)
    );
    update(&mut s, Action::Resize(80, 24));
    update(&mut s, Action::Command('L'));
    assert_eq!(s.overlay, Some(Overlay::Log));
    // Scrolled to the bottom (the newest) and bounded there.
    let bottom = s.overlay_scroll;
    assert_eq!(bottom, LOG_LEN - super::keymap::overlay_rows(24));
    update(&mut s, Action::Down);
    assert_eq!(s.overlay_scroll, bottom);
    update(&mut s, Action::PageUp);
    assert!(s.overlay_scroll < bottom);
    // A result from the runtime still reaches its screen under the log.
    update(&mut s, Action::Notice("arrived".into()));
    assert_eq!(s.message, Some((Level::Info, "arrived".into())));
    update(&mut s, Action::Back);
    assert_eq!(s.overlay, None);
}

#[test]
fn the_help_scrolls_within_its_lines() {
    let mut s = unlocked();
    update(&mut s, Action::Resize(80, 12));
    update(&mut s, Action::ToggleHelp);
    let lines = super::keymap::help_lines(&s, 80).len();
    let room = super::keymap::overlay_rows(12);
    assert!(lines > room, "the help is longer than 12 rows");
    for _ in 0..50 {
        update(&mut s, Action::Down);
    }
    assert_eq!(s.overlay_scroll, lines - room);
    update(&mut s, Action::PageUp);
    assert_eq!(s.overlay_scroll, lines - room - (room - 1));
    update(&mut s, Action::ToggleHelp);
    assert_eq!(s.overlay, None);
}
