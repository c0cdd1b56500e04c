//! Every screen drawn into ratatui's TestBackend, at 80x24 and at a large size, compared with
//! reviewed snapshots (insta). `cargo insta review` (or INSTA_UPDATE=always) updates them.
use keybot::chat::engine::{ChatEvent, ModelInfo};
use keybot::store::{Conversation, Role};
use keybot::tui::action::Action;
use keybot::tui::state::*;
use keybot::tui::theme::{self, Theme};
use keybot::tui::ui;
use keybot::tui::update::update;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use zeroize::Zeroizing;

const ADDRESS: &str = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";

fn theme() -> Theme {
    theme::load_with("dark", None, false).0
}

fn render(s: &State, w: u16, h: u16) -> String {
    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
    term.draw(|f| ui::draw(f, s, &theme())).unwrap();
    let buf = term.backend().buffer().clone();
    let mut out = String::new();
    for y in 0..h {
        let line: String = (0..w).map(|x| buf[(x, y)].symbol().to_owned()).collect();
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn both(name: &str, s: &State) {
    insta::assert_snapshot!(format!("{name}_80x24"), render(s, 80, 24));
    insta::assert_snapshot!(format!("{name}_160x48"), render(s, 160, 48));
}

fn unlocked() -> State {
    let mut s = State::new(true);
    update(
        &mut s,
        Action::WalletReady {
            accounts: vec![
                (0, ADDRESS.parse().unwrap(), "savings".into()),
                (
                    1,
                    "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
                        .parse()
                        .unwrap(),
                    String::new(),
                ),
            ],
        },
    );
    s
}

fn conversation(id: i64, title: &str) -> Conversation {
    Conversation {
        id,
        uid: format!("u{id}"),
        title: title.into(),
        system_prompt: String::new(),
        model: String::new(),
        created_at: 0,
        updated_at: 0,
    }
}

fn model_ready(s: &mut State) {
    update(
        s,
        Action::Chat(ChatEvent::Loaded(Box::new(ModelInfo {
            path: "/models/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf".into(),
            architecture: "qwen2".into(),
            n_layer: 24,
            n_ctx: 4096,
            n_ctx_train: 32768,
            threads: 2,
            device: "CPU".into(),
            gpu_layers: 0,
            template: "gguf".into(),
        }))),
    );
}

#[test]
fn onboarding_screens() {
    let mut s = State::new(false);
    both("onboarding_choose", &s);
    let words: Vec<String> = "abandon ability able about above absent absorb abstract absurd abuse access accident account accuse achieve acid acoustic acquire across act action actor actress actual"
        .split(' ')
        .map(String::from)
        .collect();
    s.onboarding = Onboarding::ShowWords {
        words: words.iter().cloned().map(Zeroizing::new).collect(),
    };
    both("onboarding_words", &s);
    s.onboarding = Onboarding::ImportWords {
        words: words[..5].iter().cloned().map(Zeroizing::new).collect(),
        input: Input {
            text: "abandn".into(),
            cursor: 6,
            secret: false,
        },
        hint: Some("not a BIP-39 word; did you mean \"abandon\"?".into()),
    };
    both("onboarding_import", &s);
    s.onboarding = Onboarding::Password {
        phrase: Zeroizing::new(String::new()),
        first: Input {
            text: "correct horse".into(),
            cursor: 13,
            secret: true,
        },
        second: Input::secret(),
        on_second: true,
        strength: Some((2, "fair (2/4): Add another word or two".into())),
        error: None,
    };
    both("onboarding_password", &s);
}

#[test]
fn unlock_screen_with_error() {
    let mut s = State::new(true);
    s.unlock.error = Some("wrong password".into());
    both("unlock_wrong_password", &s);
}

#[test]
fn wallet_screen() {
    let mut s = unlocked();
    s.screen = Screen::Wallet;
    both("wallet", &s);
}

#[test]
fn chat_without_a_model() {
    let mut s = unlocked();
    update(
        &mut s,
        Action::ModelMissing("no model is registered on this machine yet".into()),
    );
    both("chat_no_model", &s);
}

#[test]
fn chat_with_a_long_streamed_markdown_answer() {
    let mut s = unlocked();
    model_ready(&mut s);
    s.chat.conversations = vec![
        conversation(1, "Reverse a list in Rust"),
        conversation(2, "Seed phrases"),
    ];
    s.chat.current = Some(1);
    s.chat.messages = vec![ChatLine {
        role: Role::User,
        text: "How do I reverse a vector in Rust? Show code.".into(),
    }];
    s.chat.streaming = Some(String::new());
    let answer = "Use **`Vec::reverse`** to reverse *in place*:\n\n```rust\nfn main() {\n    let mut v = vec![1, 2, 3];\n    v.reverse(); // now [3, 2, 1]\n    println!(\"{:?}\", v);\n}\n```\n\nOr build a new one:\n\n1. `v.iter().rev()` gives an iterator\n2. `.cloned().collect()` makes the vector\n\n> Both are O(n).\n\nA stray escape \u{1b}[31mred\u{1b}[0m never reaches the terminal.";
    for piece in answer.split_inclusive(' ') {
        update(&mut s, Action::Chat(ChatEvent::Piece(piece.into())));
    }
    s.chat.tokens_per_second = Some(42.5);
    s.chat.ctx_used = Some((180, 4096));
    both("chat_streaming_markdown", &s);
    let screen = render(&s, 160, 48);
    assert!(!screen.contains('\u{1b}'));
    assert!(screen.contains("v.reverse();"));
}

#[test]
fn settings_and_help_and_confirm() {
    let mut s = unlocked();
    s.screen = Screen::Settings;
    both("settings", &s);
    s.screen = Screen::Chat;
    s.overlay = Some(Overlay::Help);
    both("help_chat", &s);
    s.overlay = Some(Overlay::ConfirmQuit);
    both("confirm_quit", &s);
}
