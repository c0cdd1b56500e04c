//! Frame time of the chat screen, drawn into ratatui's TestBackend (the same widgets and buffer
//! diffing the terminal gets). Prints the median and 95th percentile per frame:
//! - holding 1,000 messages, half of them with code blocks (target: median ≤ 2 ms);
//! - streaming a 4,000-token answer full of code blocks, a piece per frame, as the model writes
//!   it (target: under 2 ms per frame).
// Test code: unwrap, expect and panic are how a test fails (Cargo.toml's [workspace.lints] deny
// them in the program).
// A benchmark prints its figures.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout
)]
use std::time::Instant;

use keybot::chat::ChatEvent;
use keybot::store::Role;
use keybot::tui::action::Action;
use keybot::tui::screens::chat::ChatAction;
use keybot::tui::state::{ChatLine, ModelStatus, State};
use keybot::tui::{theme, ui, update::update};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn main() {
    thousand_messages();
    streaming_a_long_answer();
}

fn ready_state() -> State {
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
    s.chat.model = ModelStatus::Ready {
        name: "m".into(),
        device: "CPU".into(),
        gpu_layers: 0,
        total_layers: 25,
        ctx: 4096,
    };
    s.chat.current = Some(1);
    s
}

fn thousand_messages() {
    let mut s = ready_state();
    for i in 0..1000 {
        let text = if i % 2 == 0 {
            format!(
                "Message {i}: here is how you do it in **Rust**:\n\n```rust\nfn add(a: i32, b: i32) -> i32 {{\n    // adds\n    a + b\n}}\n```\n\nThat returns the sum, and `add(2, 2)` is 4."
            )
        } else {
            format!(
                "Question {i}: what does this do, and why is it written *this* way? It is a longer line that wraps at the edge of the screen."
            )
        };
        s.chat.messages.push(ChatLine {
            role: if i % 2 == 0 {
                Role::Assistant
            } else {
                Role::User
            },
            text,
        });
    }
    let (t, _) = theme::load_with("dark", None, false);
    for (w, h) in [(80u16, 24u16), (160, 48), (240, 70)] {
        let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
        // As the runtime does: one render cache kept across frames.
        let mut cache = ui::RenderCache::default();
        let mut times = Vec::with_capacity(400);
        for frame in 0..400 {
            // Alternate the scroll position so every frame really changes.
            s.chat.scroll = (frame % 2) as u16;
            let t0 = Instant::now();
            term.draw(|f| ui::draw_with(f, &s, &t, &mut cache)).unwrap();
            times.push(t0.elapsed().as_secs_f64() * 1e3);
        }
        times.sort_by(|a, b| a.total_cmp(b));
        println!(
            "chat screen, 1000 messages, {w}x{h}: median {:.3} ms, p95 {:.3} ms per frame",
            times[times.len() / 2],
            times[times.len() * 95 / 100]
        );
    }
}

/// A long answer with a code block every few lines: prose, a fenced block, a list, repeated
/// until it is about 4,000 tokens (16,000 characters at about 4 characters a token).
fn long_answer() -> String {
    let mut a = String::new();
    let mut i = 0;
    while a.len() < 16_000 {
        a.push_str(&format!(
            "Step {i}: the **parser** reads the input and `tokenize` splits it into words, \
             which is where most of the time goes.\n\n\
             ```rust\nfn step_{i}(input: &str) -> Vec<String> {{\n    // split on spaces\n    \
             input.split(' ').map(|w| w.to_lowercase()).collect()\n}}\n```\n\n\
             - it allocates once per word\n- `collect` sizes the vector\n\n"
        ));
        i += 1;
    }
    a
}

fn streaming_a_long_answer() {
    let answer = long_answer();
    // Pieces of about a token each, as the engine sends them.
    let pieces: Vec<String> = answer
        .split_inclusive(' ')
        .flat_map(|w| {
            w.as_bytes()
                .chunks(4)
                .map(|c| String::from_utf8_lossy(c).into_owned())
                .collect::<Vec<_>>()
        })
        .collect();
    let (t, _) = theme::load_with("dark", None, false);
    for (w, h) in [(80u16, 24u16), (160, 48)] {
        // With the runtime's render cache kept across frames, and without (a fresh one each
        // frame: every visible message rendered again, as before the cache existed).
        for keep in [true, false] {
            let mut s = ready_state();
            s.chat.messages.push(ChatLine {
                role: Role::User,
                text: "Show me how the tokenizer works, with code for every step.".into(),
            });
            s.chat.streaming = Some(String::new());
            let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
            let mut cache = ui::RenderCache::default();
            let mut times = Vec::with_capacity(pieces.len());
            for p in &pieces {
                update(
                    &mut s,
                    Action::Chat(ChatAction::Event(ChatEvent::Piece(p.clone()))),
                );
                if !keep {
                    cache = ui::RenderCache::default();
                }
                let t0 = Instant::now();
                term.draw(|f| ui::draw_with(f, &s, &t, &mut cache)).unwrap();
                times.push(t0.elapsed().as_secs_f64() * 1e3);
            }
            times.sort_by(|a, b| a.total_cmp(b));
            println!(
                "chat screen, streaming a {}-character answer with code blocks ({} pieces), \
                 {w}x{h}, {}: median {:.3} ms, p95 {:.3} ms, max {:.3} ms per frame",
                answer.len(),
                pieces.len(),
                if keep { "render cache" } else { "no cache" },
                times[times.len() / 2],
                times[times.len() * 95 / 100],
                times[times.len() - 1]
            );
        }
    }
}
