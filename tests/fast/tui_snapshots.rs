//! Every screen drawn into ratatui's TestBackend, at 80x24 and at a large size, compared with
//! reviewed snapshots (insta). `cargo insta review` (or INSTA_UPDATE=always) updates them.
use crate::common::screen;

use alloy::primitives::{Address, B256, U256};
use keybot::chain::activity::Entry;
use keybot::chain::balance::AccountBalance;
use keybot::chain::safety::Warning;
use keybot::chain::send::{Asset, Outcome, Review, SendRequest};
use keybot::chain::{ChainError, Token};
use keybot::chat::engine::{ChatEvent, ModelInfo};
use keybot::store::{AssetRef, Conversation, Role, TxStatus};
use keybot::tui::action::{Action, Edit};
use keybot::tui::screens::chat::ChatAction;
use keybot::tui::screens::wallet::WalletAction;
use keybot::tui::state::*;
use keybot::tui::ui;
use keybot::tui::update::update;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use screen::{render, theme};

const ADDRESS: &str = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";

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
        Action::Chat(ChatAction::Event(ChatEvent::Loaded(Box::new(ModelInfo {
            path: "/models/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf".into(),
            architecture: "qwen2".into(),
            n_layer: 24,
            n_ctx: 4096,
            n_ctx_train: 32768,
            threads: 2,
            device: "CPU".into(),
            gpu_layers: 0,
            template: "gguf".into(),
            tools: keybot::bot::format::Support::Format(keybot::bot::format::ToolFormat::Hermes),
        })))),
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
        words: words.iter().cloned().map(SecretText::from).collect(),
    };
    both("onboarding_words", &s);
    s.onboarding = Onboarding::ImportWords {
        words: words[..5].iter().cloned().map(SecretText::from).collect(),
        input: Input {
            text: "abandn".into(),
            cursor: 6,
            secret: false,
        },
        hint: Some("not a BIP-39 word; did you mean \"abandon\"?".into()),
    };
    both("onboarding_import", &s);
    s.onboarding = Onboarding::Passphrase {
        phrase: SecretText::from(String::new()),
        first: Input {
            text: "my 25th word".into(),
            cursor: 12,
            secret: true,
        },
        second: Input::secret(),
        on_second: true,
        error: Some("the two passphrases differ; type the second one again".into()),
    };
    both("onboarding_passphrase", &s);
    s.onboarding = Onboarding::Password {
        phrase: SecretText::from(String::new()),
        passphrase: SecretText::from(String::new()),
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
        Action::Chat(ChatAction::ModelMissing(
            "no model is registered on this machine yet".into(),
        )),
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
        update(
            &mut s,
            Action::Chat(ChatAction::Event(ChatEvent::Piece(piece.into()))),
        );
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

// The chain part of the wallet screen.

const SECOND: &str = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
const RECIPIENT: &str = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC";

fn tusd() -> Token {
    Token {
        symbol: "tUSD".into(),
        address: "0x5FbDB2315678afecb367f032d93F642f64180aa3"
            .parse()
            .unwrap(),
        decimals: 6,
    }
}

fn addr(a: &str) -> Address {
    a.parse().unwrap()
}

/// Unlocked on the wallet screen, network `local` configured (not answered yet).
fn configured() -> State {
    let mut s = unlocked();
    update(
        &mut s,
        Action::Wallet(WalletAction::NetworkConfigured(Some(NetInfo {
            name: "local".into(),
            chain_id: 31337,
            tokens: vec![tusd()],
        }))),
    );
    update(&mut s, Action::Screen(Screen::Wallet));
    s
}

fn online() -> State {
    let mut s = configured();
    let balances = vec![
        AccountBalance {
            address: addr(ADDRESS),
            eth: U256::from(9_998_765_432_100_000_000_000u128),
            tokens: vec![(tusd(), U256::from(1_000_250_000u64))],
        },
        AccountBalance {
            address: addr(SECOND),
            eth: U256::from(10u64).pow(U256::from(22u64)),
            tokens: vec![(tusd(), U256::ZERO)],
        },
    ];
    update(
        &mut s,
        Action::Wallet(WalletAction::ChainRefreshed(Ok((123, balances)))),
    );
    s
}

/// What a dead local RPC answers: "offline: cannot reach http://127.0.0.1:8545 (connection
/// refused)".
fn refused() -> ChainError {
    ChainError::Offline {
        rpc: "http://127.0.0.1:8545".into(),
        reason: "connection refused".into(),
    }
}

fn review(to: Address, warnings: Vec<Warning>) -> Box<Review> {
    Box::new(Review {
        network: "local".into(),
        chain_id: 31337,
        intent: SendRequest {
            from: addr(ADDRESS),
            to,
            asset: Asset::Token(tusd()),
            amount: U256::from(12_500_000u64),
        }
        .into(),
        nonce: 3,
        gas_limit: 41_724,
        max_fee_per_gas: 2_000_000_007,
        max_priority_fee_per_gas: 1_000_000_000,
        eth_balance: U256::from(10u64).pow(U256::from(22u64)),
        warnings,
    })
}

/// Opens the send form, fills it, submits, and answers with `review`.
fn reviewing(review: Box<Review>) -> State {
    let mut s = online();
    update(&mut s, Action::Command('s'));
    for c in review.intent.counterparty().to_checksum(None).chars() {
        update(&mut s, Action::Edit(Edit::Char(c)));
    }
    update(&mut s, Action::FocusNext);
    for c in "12.5".chars() {
        update(&mut s, Action::Edit(Edit::Char(c)));
    }
    update(&mut s, Action::FocusNext);
    update(&mut s, Action::Edit(Edit::Right));
    update(&mut s, Action::Submit);
    let id = s.wallet.send_seq;
    update(
        &mut s,
        Action::Wallet(WalletAction::ReviewReady {
            id,
            review: Ok(review),
            plan: None,
        }),
    );
    // Drawn, then a key: a y from here on answers the review.
    update(&mut s, Action::Drawn(1));
    update(&mut s, Action::UserActivity(2));
    s
}

#[test]
fn wallet_with_balances() {
    both("wallet_balances", &online());
    let mut s = online();
    update(
        &mut s,
        Action::Wallet(WalletAction::ChainRefreshed(Err(refused()))),
    );
    insta::assert_snapshot!("wallet_balances_offline_80x24", render(&s, 80, 24));
}

#[test]
fn send_form_with_an_error() {
    let mut s = online();
    update(&mut s, Action::Command('s'));
    for c in "vitalik.eth".chars() {
        update(&mut s, Action::Edit(Edit::Char(c)));
    }
    update(&mut s, Action::Submit);
    insta::assert_snapshot!("send_form_error_80x24", render(&s, 80, 24));
}

#[test]
fn review_with_a_first_send_warning() {
    let s = reviewing(review(addr(RECIPIENT), vec![Warning::NewAddress]));
    both("send_review_first_send", &s);
}

#[test]
fn review_with_a_lookalike_warning() {
    let real = addr(RECIPIENT);
    let fake = addr("0x3c44ffffffffffffffffffffffffffffffff93bc");
    let mut s = reviewing(review(fake, vec![Warning::LooksLike(real)]));
    for c in "93b".chars() {
        update(&mut s, Action::Edit(Edit::Char(c)));
    }
    insta::assert_snapshot!("send_review_lookalike_80x24", render(&s, 80, 24));
}

#[test]
fn send_results() {
    let mut s = reviewing(review(addr(RECIPIENT), vec![]));
    update(&mut s, Action::Command('y'));
    update(
        &mut s,
        Action::Wallet(WalletAction::SendFinished {
            hash: Some(B256::repeat_byte(0xab)),
            outcome: Ok(Outcome::Confirmed { block: 124 }),
            said: None,
        }),
    );
    insta::assert_snapshot!("send_result_confirmed_80x24", render(&s, 80, 24));
    let mut s = reviewing(review(addr(RECIPIENT), vec![]));
    update(&mut s, Action::Command('y'));
    update(
        &mut s,
        Action::Wallet(WalletAction::SendFinished {
            hash: Some(B256::repeat_byte(0xab)),
            outcome: Ok(Outcome::RpcLost {
                reason: "offline: cannot reach http://127.0.0.1:8545 (timed out)".into(),
            }),
            said: None,
        }),
    );
    insta::assert_snapshot!("send_result_rpc_lost_80x24", render(&s, 80, 24));
}

#[test]
fn activity_list() {
    let mut s = online();
    update(&mut s, Action::Command('a'));
    let tusd_ref = AssetRef {
        token: Some(tusd().address),
        symbol: "tUSD".into(),
        decimals: 6,
    };
    let entry = |n: u8, outgoing, asset: AssetRef, amount: u64, status, block| Entry {
        hash: B256::repeat_byte(n),
        outgoing,
        account: addr(ADDRESS),
        counterparty: addr(RECIPIENT),
        asset,
        amount: U256::from(amount),
        status,
        block,
    };
    update(
        &mut s,
        Action::Wallet(WalletAction::ActivityLoaded {
            entries: vec![
                entry(
                    1,
                    true,
                    AssetRef::eth(),
                    1_500_000_000_000_000_000,
                    TxStatus::Pending,
                    None,
                ),
                entry(
                    2,
                    false,
                    tusd_ref.clone(),
                    12_500_000,
                    TxStatus::Confirmed,
                    Some(120),
                ),
                entry(3, true, tusd_ref, 1, TxStatus::Reverted, Some(99)),
            ],
            synced: Err(refused()),
        }),
    );
    insta::assert_snapshot!("activity_offline_80x24", render(&s, 80, 24));
}

/// The status bar's network indicator in each state, one bottom line per state.
#[test]
fn status_bar_network_states() {
    let last = |s: &State| render(s, 100, 24).lines().last().unwrap().to_owned();
    let mut out = String::new();
    let mut s = unlocked();
    out.push_str(&format!("no network:  {}\n", last(&s)));
    let mut s2 = configured();
    out.push_str(&format!("first read:  {}\n", last(&s2)));
    s = online();
    out.push_str(&format!("online:      {}\n", last(&s)));
    update(&mut s, Action::Command('r'));
    out.push_str(&format!("syncing:     {}\n", last(&s)));
    update(
        &mut s,
        Action::Wallet(WalletAction::ChainRefreshed(Err(refused()))),
    );
    out.push_str(&format!("offline:     {}\n", last(&s)));
    let now = s.now_ms + 1_200;
    update(&mut s, Action::Tick(now));
    out.push_str(&format!("1.2 s later: {}\n", last(&s)));
    update(
        &mut s2,
        Action::Wallet(WalletAction::ChainRefreshed(Err(refused()))),
    );
    out.push_str(&format!("first fail:  {}\n", last(&s2)));
    insta::assert_snapshot!("status_bar_network_states", out);
}

// Small things seen while using the app (issue 10, item 9).

/// The last row of the screen: the status bar.
fn status_bar(s: &State, w: u16) -> String {
    render(s, w, 24).lines().last().unwrap().to_owned()
}

#[test]
fn status_bar_keeps_lock_account_network_speed_and_context_at_80_and_100_columns() {
    let mut s = online();
    s.screen = Screen::Chat;
    model_ready(&mut s);
    s.chat.tokens_per_second = Some(42.5);
    s.chat.ctx_used = Some((180, 4096));
    for w in [80, 100] {
        let bar = status_bar(&s, w);
        for part in [
            "unlocked",
            "0xf39F…2266",
            "local #123",
            "42.5 tok/s",
            "ctx 180/4096",
        ] {
            assert!(
                bar.contains(part),
                "{w} columns: {part:?} missing from {bar:?}"
            );
        }
        // The model's file name gave way, shortened, not dropped.
        assert!(bar.contains("qwen2.5"), "{w} columns: {bar:?}");
    }
    let wide = status_bar(&s, 160);
    assert!(
        wide.contains("qwen2.5-coder-0.5b-instruct-q4_k_m.gguf · CPU · GPU 0/25 layers"),
        "{wide}"
    );
    // Offline, with its longer indicator: still whole at 80 columns.
    update(
        &mut s,
        Action::Wallet(WalletAction::ChainRefreshed(Err(refused()))),
    );
    let bar = status_bar(&s, 80);
    for part in [
        "unlocked",
        "0xf39F…2266",
        "local offline",
        "42.5 tok/s",
        "ctx 180/4096",
    ] {
        assert!(bar.contains(part), "{part:?} missing from {bar:?}");
    }
}

#[test]
fn help_popup_lines_are_whole_at_120_and_wrapped_at_80_columns() {
    let mut s = unlocked();
    s.screen = Screen::Wallet;
    s.overlay = Some(Overlay::Help);
    let screen = render(&s, 120, 40);
    for whole in [
        "send from the account: form → review → result",
        "review: sign and send (a loud warning asks for 4 chars of the address)",
        "back (nothing is signed before the review is confirmed)",
    ] {
        assert!(screen.contains(whole), "{whole:?} cut:\n{screen}");
    }
    // Narrower than the text: wrapped under itself, every word still there.
    let screen = render(&s, 80, 24);
    assert!(
        screen.contains("review: sign and send (a loud warning asks for 4 chars"),
        "{screen}"
    );
    assert!(
        screen.contains("│                      of the address)"),
        "{screen}"
    );
}

#[test]
fn after_unlocking_the_message_box_says_how_to_leave_it() {
    let mut s = unlocked();
    model_ready(&mut s);
    assert_eq!(s.screen, Screen::Chat);
    assert!(s.typing(), "the message box has the keys");
    let screen = render(&s, 80, 24);
    assert!(
        screen.contains("Message (Enter sends, Alt-Enter new line, Esc leaves)"),
        "{screen}"
    );
    update(&mut s, Action::Back);
    assert!(!s.typing());
    assert!(render(&s, 80, 24).contains("Message (Tab to type)"));
}

/// How many rows of the screen hold QR modules (the code is drawn in block characters).
fn qr_rows(screen: &str) -> usize {
    screen
        .lines()
        .filter(|l| l.contains("███") || l.contains('▀') || l.contains('▄'))
        .count()
}

#[test]
fn the_qr_code_shows_at_100x30() {
    let mut s = unlocked();
    s.screen = Screen::Wallet;
    let screen = render(&s, 100, 30);
    assert!(!screen.contains("make the window larger"), "{screen}");
    assert!(qr_rows(&screen) >= 21, "{screen}");
    // With a network and a token's balance too.
    let screen = render(&online(), 100, 30);
    assert!(!screen.contains("make the window larger"), "{screen}");
    assert!(qr_rows(&screen) >= 21, "{screen}");
    // Where it cannot fit whole, it is not drawn at all.
    let screen = render(&s, 80, 24);
    assert!(screen.contains("make the window larger"), "{screen}");
    assert_eq!(qr_rows(&screen), 0, "{screen}");
}

// The Market screen: the sale vault. Its items are made by hand (the spans a detector would
// report, the user's decisions applied), so these snapshots do not change with the detectors.

mod vault_items {
    use keybot::market::Kind;
    use keybot::market::vault::{Entry, Preview};
    use keybot::service::vault::ConsentState;
    use keybot::store::{Consent, VaultItem};
    use keybot::tui::state::MarketItem;

    pub const PHRASE: &str = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";

    pub fn text() -> String {
        format!(
            "Backup notes\n\nUser:\nMy recovery words: {PHRASE}\nWrite to help@example.com (public support) or to jane.doe@mail.org, phone +49 30 1234567. The server is at 203.0.113.7 and my name is Jane Doe.\n\nAssistant:\nNever share those words with anyone: whoever has them has the wallet. The support address is fine to keep; the rest is removed.\n"
        )
    }

    /// An item whose preview has these spans (text, kind, removed), as `Preview::new` builds it.
    pub fn item(id: i64, title: &str, text: &str, spans: &[(&str, Kind, bool)]) -> MarketItem {
        let mut entries: Vec<Entry> = spans
            .iter()
            .map(|(needle, kind, removed)| {
                let start = text.find(needle).unwrap();
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
        let removed: Vec<keybot::market::Span> = entries
            .iter()
            .filter(|e| e.removed)
            .map(|e| keybot::market::Span {
                start: e.start,
                end: e.end,
                kind: e.kind,
            })
            .collect();
        MarketItem {
            item: VaultItem {
                id,
                uid: format!("u{id}"),
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

    /// A seed phrase (a secret), a kept support address, a private e-mail, a phone number, an
    /// IP address and a name the user removed by hand; and a second, consented item whose
    /// title (from a file) carries an escape sequence.
    pub fn items() -> Vec<MarketItem> {
        let main = item(
            3,
            "Backup notes",
            &text(),
            &[
                (PHRASE, Kind::SeedPhrase, true),
                ("help@example.com", Kind::Email, false),
                ("jane.doe@mail.org", Kind::Email, true),
                ("+49 30 1234567", Kind::Phone, true),
                ("203.0.113.7", Kind::IpAddress, true),
                ("Jane Doe", Kind::Custom, true),
            ],
        );
        let note = "Shopping list: bread, milk, apples.\n";
        let mut other = item(4, "list\u{1b}]52;c;AAAA\u{7}.txt", note, &[]);
        other.consent = ConsentState::Given(Consent {
            account: super::ADDRESS.into(),
            sha256: other.preview.sha256(),
            time: 1_700_000_000,
            signature: "0x00".into(),
        });
        vec![main, other]
    }
}

/// Unlocked on the Market screen, the vault read.
fn market(items: Vec<MarketItem>) -> State {
    let mut s = unlocked();
    update(&mut s, Action::Screen(Screen::Market));
    update(
        &mut s,
        Action::Market(keybot::tui::screens::market::MarketAction::Items(items)),
    );
    s
}

#[test]
fn market_empty() {
    let s = market(vec![]);
    both("market_empty", &s);
    assert!(render(&s, 80, 24).contains("keybot market add --file PATH"));
}

#[test]
fn market_item_with_removals() {
    let mut s = market(vault_items::items());
    // The private e-mail's span selected.
    for _ in 0..3 {
        update(&mut s, Action::Command('n'));
    }
    both("market_removals", &s);
    let screen = render(&s, 160, 48);
    assert!(!screen.contains('\u{1b}'), "{screen}");
    assert!(!screen.contains("abandon"), "{screen}");
    // What the selected removal held is shown once, in the spans panel beside the preview
    // (under "span 3 held:"), never in the buyer's text.
    assert_eq!(screen.matches("jane.doe@mail.org").count(), 1, "{screen}");
    let held = screen
        .lines()
        .position(|l| l.contains("span 3 held:"))
        .unwrap();
    assert!(
        screen
            .lines()
            .nth(held + 1)
            .unwrap()
            .contains("jane.doe@mail.org"),
        "{screen}"
    );
    let narrow = render(&s, 80, 24);
    assert!(narrow.contains("it held: jane.doe@mail.org"), "{narrow}");
    assert_eq!(narrow.matches("jane.doe").count(), 1, "{narrow}");
    for shown in [
        "[1:seed phrase]",
        "«2 kept email: help@example.com»",
        "[3:email]",
        "[4:phone]",
        "[5:ip address]",
        "[6:redacted]",
        "span 3 of 6: email, removed: k keeps it",
    ] {
        assert!(screen.contains(shown), "{shown:?} missing:\n{screen}");
    }
}

/// A secret's text is never shown, not even in the spans panel: it cannot be kept, so there is
/// nothing to choose.
#[test]
fn market_a_selected_secret_shows_no_text() {
    let mut s = market(vault_items::items());
    update(&mut s, Action::Command('n'));
    for (w, h) in [(80, 24), (160, 48)] {
        let screen = render(&s, w, h);
        assert!(!screen.contains("abandon"), "{screen}");
        assert!(!screen.contains("held"), "{screen}");
    }
    let screen = render(&s, 160, 48);
    assert!(
        screen.contains("span 1 is a seed phrase: not shown,"),
        "{screen}"
    );
}

/// The file prompt (`f`): a path typed, and the names a Tab found in its folder under it.
#[test]
fn market_file_prompt_with_names() {
    use keybot::tui::screens::market::MarketAction;
    use keybot::tui::screens::vault_file::DirEntry;
    let mut s = market(vault_items::items());
    update(&mut s, Action::Command('f'));
    update(&mut s, Action::Edit(Edit::Paste("~/notes/so".into())));
    let entries: Vec<DirEntry> = [
        ("sourdough-2024.txt", false),
        ("sourdough-2025.txt", false),
        ("sourdough-photos", true),
        ("sourdough\u{1b}]52;c;AAAA\u{7}.txt", false),
        ("shopping.txt", false),
    ]
    .iter()
    .map(|(name, dir)| DirEntry {
        name: (*name).into(),
        dir: *dir,
    })
    .collect();
    update(
        &mut s,
        Action::Market(MarketAction::Listing {
            input: "~/notes/so".into(),
            entries: Ok(entries),
        }),
    );
    both("market_file_prompt", &s);
    for (w, h) in [(80, 24), (160, 48)] {
        let screen = render(&s, w, h);
        assert!(screen.contains("~/notes/sourdough"), "{screen}");
        assert!(screen.contains("sourdough-photos/"), "{screen}");
        assert!(!screen.contains('\u{1b}'), "{screen}");
        assert!(!screen.contains("shopping"), "{screen}");
    }
}

/// A file the service refused: the path kept, the command line's line under it; on the empty
/// vault, whose text names the key.
#[test]
fn market_file_prompt_with_a_refusal() {
    use keybot::tui::screens::market::MarketAction;
    let mut s = market(vec![]);
    update(&mut s, Action::Command('f'));
    update(&mut s, Action::Edit(Edit::Paste("~/photo.jpg".into())));
    update(&mut s, Action::Submit);
    update(
        &mut s,
        Action::Market(MarketAction::FileRefused(
            "/home/ann/photo.jpg: it is not UTF-8 text (invalid byte at offset 0)".into(),
        )),
    );
    both("market_file_refused", &s);
    let screen = render(&s, 80, 24);
    assert!(screen.contains("~/photo.jpg"), "{screen}");
    assert!(screen.contains("invalid byte at offset 0"), "{screen}");
    assert!(screen.contains("f here"), "{screen}");
}

#[test]
fn market_consent_step() {
    let mut s = market(vault_items::items());
    update(&mut s, Action::Command('c'));
    both("market_consent", &s);
    let sha = s.market.item().unwrap().preview.sha256();
    for size in [(80, 24), (160, 48)] {
        let screen = render(&s, size.0, size.1);
        assert!(screen.contains(&sha), "{size:?}:\n{screen}");
        assert!(screen.contains(ADDRESS), "{size:?}:\n{screen}");
    }
}

/// Each removal is drawn in its theme role: a secret, contact data, a hand removal and a kept
/// span each look different, and the selected span differs from all of them.
#[test]
fn market_removals_are_coloured_by_kind() {
    use keybot::tui::theme::Role;
    let mut s = market(vault_items::items());
    update(&mut s, Action::Command('n'));
    let t = theme();
    let mut term = Terminal::new(TestBackend::new(160, 48)).unwrap();
    term.draw(|f| ui::draw(f, &s, &t)).unwrap();
    let buf = term.backend().buffer().clone();
    // The style of the first cell of `text` on the screen.
    let style_of = |text: &str| {
        for y in 0..48 {
            let line: String = (0..160).map(|x| buf[(x, y)].symbol().to_owned()).collect();
            if let Some(i) = line.find(text) {
                let x = line[..i].chars().count() as u16;
                let c = &buf[(x, y)];
                return (c.fg, c.bg, c.modifier);
            }
        }
        panic!("{text:?} not on the screen");
    };
    let role = |r: Role| {
        let st = t.style(r);
        (
            st.fg.unwrap_or_default(),
            st.bg.unwrap_or_default(),
            st.add_modifier,
        )
    };
    // Span 1, the phrase, is selected; the others show their kinds.
    assert_ne!(style_of("[1:seed phrase]"), role(Role::RedactSecret));
    assert_eq!(style_of("[4:phone]"), role(Role::RedactPii));
    assert_eq!(style_of("[6:redacted]"), role(Role::RedactManual));
    assert_eq!(style_of("«2 kept"), role(Role::RedactKept));
    update(&mut s, Action::Command('n'));
    term.draw(|f| ui::draw(f, &s, &t)).unwrap();
    let buf = term.backend().buffer().clone();
    let secret = {
        let mut found = None;
        for y in 0..48 {
            let line: String = (0..160).map(|x| buf[(x, y)].symbol().to_owned()).collect();
            if let Some(i) = line.find("[1:seed phrase]") {
                let c = &buf[(line[..i].chars().count() as u16, y)];
                found = Some((c.fg, c.bg, c.modifier));
            }
        }
        found.unwrap()
    };
    assert_eq!(secret, role(Role::RedactSecret));
    let all = [
        Role::RedactSecret,
        Role::RedactPii,
        Role::RedactManual,
        Role::RedactKept,
    ];
    for (i, a) in all.iter().enumerate() {
        for b in &all[i + 1..] {
            assert_ne!(role(*a), role(*b), "{a:?} and {b:?} look the same");
        }
    }
}

/// A span far down a long item, below lines that wrap: `n` brings it into view wherever the
/// wrapping put it, and the page keys scroll from there.
#[test]
fn market_preview_follows_the_selected_span_through_wrapped_lines() {
    use keybot::market::Kind;
    let long_line = "lorem ipsum dolor sit amet ".repeat(12);
    let mut text = String::new();
    for i in 0..40 {
        text.push_str(&format!("{i}: {long_line}\n"));
    }
    text.push_str("last: mail zed@example.net\n");
    let item = vault_items::item(
        1,
        "long",
        &text,
        &[
            ("0: lorem", Kind::Custom, true),
            ("zed@example.net", Kind::Email, true),
        ],
    );
    let mut s = market(vec![item]);
    let screen = render(&s, 80, 24);
    assert!(screen.contains("[1:redacted]"), "{screen}");
    assert!(!screen.contains("[2:email]"), "{screen}");
    update(&mut s, Action::Command('N'));
    let screen = render(&s, 80, 24);
    assert!(screen.contains("last: mail [2:email]"), "{screen}");
    assert!(!screen.contains("[1:redacted]"), "{screen}");
    // Back to the top with the page keys.
    for _ in 0..20 {
        update(&mut s, Action::PageUp);
    }
    let screen = render(&s, 80, 24);
    assert!(screen.contains("[1:redacted]"), "{screen}");
    assert!(screen.contains("(lines 1–"), "{screen}");
}

/// The market as a sync hands it to the Market screen: my listing 1 (tUSD) with a purchase
/// waiting for its key, a stranger's listing 2 (ETH, a title with an escape sequence, one
/// dispute on record) and my purchases of it: waiting, delivered, refunded, past its deadline.
mod market_book {
    use super::*;
    use alloy::primitives::Bytes;
    use keybot::market::book::{Book, Listing, Purchase, PurchaseState};
    use keybot::tui::screens::market_onchain::MarketBook;
    use std::collections::BTreeMap;

    fn listing(id: u64, seller: Address, token: Address, price: U256, title: &str) -> Listing {
        Listing {
            id,
            seller,
            token,
            price,
            content_hash: B256::repeat_byte(id as u8),
            key_commit: B256::repeat_byte(0xcc),
            data: Bytes::new(),
            uri: String::new(),
            meta: format!(
                r#"{{"v":1,"title":{},"tags":[],"bytes":2310,"redactions":{{"email":2,"phone":1,"seed_phrase":1}},"type":"text/plain"}}"#,
                serde_json::to_string(title).unwrap()
            ),
            active: true,
            block: id,
            tx_hash: B256::ZERO,
            sales: 1,
        }
    }

    fn purchase(
        id: u64,
        l: &Listing,
        buyer: Address,
        deadline: u64,
        state: PurchaseState,
    ) -> Purchase {
        Purchase {
            id,
            listing: l.id,
            buyer,
            seller: l.seller,
            token: l.token,
            price: l.price,
            buyer_key: Bytes::from(vec![2; 64]),
            deadline,
            state,
            delivery: None,
            settles_at: 0,
            settled_on_chain: false,
            proven_wrong: None,
            disputed: false,
            dispute_reason: None,
            dispute_secret: None,
            block: 10 + id,
            tx_hash: B256::ZERO,
        }
    }

    pub fn book() -> MarketBook {
        let me = addr(ADDRESS);
        let stranger = addr("0x9858EfFD232B4033E47d90003D41EC34EcaEda94");
        let mine = listing(
            1,
            me,
            tusd().address,
            U256::from(5_000_000u64),
            "Backup notes",
        );
        let theirs = listing(
            2,
            stranger,
            Address::ZERO,
            U256::from(10u64).pow(U256::from(15u64)),
            "Sourdough\u{1b}[31m starter log, 3 years",
        );
        let mut purchases = BTreeMap::new();
        let mut add = |p: Purchase| {
            purchases.insert(p.id, p);
        };
        add(purchase(
            1,
            &mine,
            stranger,
            1_000_000 + 20_000,
            PurchaseState::Paid,
        ));
        add(purchase(
            2,
            &theirs,
            me,
            1_000_000 + 3_600 * 5,
            PurchaseState::Paid,
        ));
        let mut delivered = purchase(3, &theirs, me, 900_000, PurchaseState::Delivered);
        delivered.settles_at = 900_000 + 259_200;
        delivered.disputed = true;
        delivered.dispute_reason = Some("not what\u{7} the title says".into());
        add(delivered);
        add(purchase(4, &theirs, me, 800_000, PurchaseState::Refunded));
        add(purchase(5, &theirs, me, 999_000, PurchaseState::Paid));
        let mut listings = BTreeMap::new();
        listings.insert(1, mine);
        listings.insert(2, theirs);
        MarketBook {
            book: Book {
                listings,
                purchases,
                withdrawals: vec![],
            },
            own: vec![me],
            now: 1_000_000,
            chain_id: 31337,
            market: Address::repeat_byte(0x4d),
            disputes: BTreeMap::new(),
            // Vault item 4 is listing 1.
            listed: BTreeMap::from([(4, vec![1])]),
        }
    }
}

/// On the Market screen's `section` with the sample book synced.
fn market_section(section: usize) -> State {
    let mut s = configured();
    update(&mut s, Action::Screen(Screen::Market));
    update(
        &mut s,
        Action::Market(keybot::tui::screens::market::MarketAction::Items(vec![])),
    );
    update(
        &mut s,
        Action::Market(keybot::tui::screens::market::MarketAction::Synced(Ok(
            Box::new(market_book::book()),
        ))),
    );
    for _ in 0..section {
        update(&mut s, Action::Command(']'));
    }
    s
}

#[test]
fn market_my_listings_with_a_pending_delivery() {
    let s = market_section(1);
    both("market_listings", &s);
    let text = render(&s, 160, 48);
    assert!(
        text.contains("Backup notes") && text.contains("5 tUSD"),
        "{text}"
    );
    assert!(text.contains("purchase 1"), "{text}");
}

#[test]
fn market_browse() {
    let s = market_section(2);
    both("market_browse", &s);
    let text = render(&s, 160, 48);
    // The stranger's escape sequence is not drawn as one.
    assert!(!text.contains('\u{1b}'));
    assert!(text.contains("Sourdough"), "{text}");
    assert!(text.contains("1 disputed"), "{text}");
}

#[test]
fn market_my_purchases() {
    let s = market_section(3);
    both("market_purchases", &s);
    let text = render(&s, 160, 48);
    assert!(
        text.contains("r refunds") && text.contains("refunded"),
        "{text}"
    );
    assert!(!text.contains('\u{7}'));
}

#[test]
fn a_listed_vault_item_is_marked_and_deleting_it_warns() {
    let mut s = market_section(0);
    update(
        &mut s,
        Action::Market(keybot::tui::screens::market::MarketAction::Items(
            vault_items::items(),
        )),
    );
    update(&mut s, Action::Down);
    let screen = render(&s, 80, 24);
    assert!(screen.contains("listed #1"), "{screen}");
    update(&mut s, Action::Command('d'));
    let warned = render(&s, 80, 24);
    assert!(warned.contains("It is listed #1 on the market"), "{warned}");
    assert!(warned.contains("does not delist it"), "{warned}");
    insta::assert_snapshot!("market_delete_listed_80x24", warned);
}

#[test]
fn my_listings_selected_and_repriced() {
    let mut s = market_section(1);
    update(&mut s, Action::Up);
    let screen = render(&s, 80, 24);
    assert!(screen.contains("p reprice · x delist"), "{screen}");
    update(&mut s, Action::Command('p'));
    for c in "7.5".chars() {
        update(&mut s, Action::Edit(Edit::Char(c)));
    }
    both("market_reprice", &s);
    assert!(render(&s, 80, 24).contains("New price of listing 1"));
}

/// At 60x20 a long list says what is off its edges, and nothing on a row or a key line is cut
/// by the terminal's edge without "…".
#[test]
fn a_long_list_at_60x20_marks_what_is_off_screen() {
    let mut s = market_section(2);
    let mut book = market_book::book();
    let first = book.book.listings[&2].clone();
    for id in 3..=30 {
        let mut l = first.clone();
        l.id = id;
        book.book.listings.insert(id, l);
    }
    update(
        &mut s,
        Action::Market(keybot::tui::screens::market::MarketAction::Synced(Ok(
            Box::new(book),
        ))),
    );
    let top = render(&s, 60, 20);
    assert!(top.contains("▼ ") && top.contains(" more"), "{top}");
    assert!(!top.contains("▲ "), "{top}");
    for _ in 0..40 {
        update(&mut s, Action::Down);
    }
    let bottom = render(&s, 60, 20);
    assert!(bottom.contains("▲ ") && !bottom.contains("▼ "), "{bottom}");
    insta::assert_snapshot!("market_browse_long_60x20", bottom);
    // The tab line keeps the help key; every line that reaches the right edge ends in "…" or
    // a border.
    let first_line = bottom.lines().next().unwrap();
    assert!(first_line.contains("? help"), "{first_line}");
    for line in bottom.lines() {
        if line.chars().count() == 60 {
            let last = line.chars().last().unwrap();
            assert!("…│┐┘─".contains(last), "cut without a mark: {line:?}");
        }
    }
}
