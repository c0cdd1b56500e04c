//! Frame time of the chat screen holding 1,000 messages, half of them with code blocks, drawn
//! into ratatui's TestBackend (the same widgets and buffer diffing the terminal gets). Prints the
//! median and 95th percentile per frame; target: median ≤ 2 ms.
use std::time::Instant;

use keybot::store::Role;
use keybot::tui::action::Action;
use keybot::tui::state::{ChatLine, ModelStatus, State};
use keybot::tui::{theme, ui, update::update};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn main() {
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
        let mut times = Vec::with_capacity(400);
        for frame in 0..400 {
            // Alternate the scroll position so every frame really changes.
            s.chat.scroll = (frame % 2) as u16;
            let t0 = Instant::now();
            term.draw(|f| ui::draw(f, &s, &t)).unwrap();
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
