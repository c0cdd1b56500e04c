//! Markdown render cost for the chat screen: `cargo bench --bench render_markdown`.
//!
//! The chat screen caches `markdown::render` per message (it is a pure function of text, width
//! and theme), so a steady frame only slices cached lines. What this measures is the work the
//! cache cannot avoid:
//! - cold: render all 1,000 messages (half with a code block), as after a resize or a theme
//!   change, once per such event, not per frame;
//! - streaming: re-render the one message that is growing, once per coalesced frame;
//! - cached frame: find and clone the visible lines of the 1,000 cached messages (what a frame
//!   costs when nothing changed but the scroll position).
//!
//! Prints medians; no harness, no criterion (it would add minutes of build time on CI).
// Test code: unwrap, expect and panic are how a test fails (Cargo.toml's [workspace.lints] deny
// them in the program).
// A benchmark prints its figures.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout
)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use keybot::tui::markdown;
use keybot::tui::theme;
use ratatui::text::Line;

const MESSAGES: usize = 1_000;
const WIDTH: u16 = 100;

fn message(i: usize) -> String {
    let mut m = format!(
        "Message {i}: here is an answer with **bold**, *italic* and `inline code`, long enough \
         to wrap over a couple of lines at a hundred columns, with a [link](https://example.org/{i}).\n\n\
         - first point about the question\n- second point, a bit longer than the first one\n\n"
    );
    if i.is_multiple_of(2) {
        m.push_str(
            "```rust\n\
             /// Sums the balances of every account.\n\
             fn total(accounts: &[Account]) -> u128 {\n    \
                 let mut sum = 0u128; // wei\n    \
                 for a in accounts {\n        \
                     sum += a.balance; /* never overflows for real supplies */\n    \
                 }\n    \
                 println!(\"total: {sum}\");\n    \
                 sum\n\
             }\n\
             ```\n\nThat is all.",
        );
    }
    m
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn main() {
    let (theme, _) = theme::load_with("dark", None, false);
    let messages: Vec<String> = (0..MESSAGES).map(message).collect();

    // Cold: every message rendered.
    let mut cold = Vec::new();
    let mut cache: Vec<Vec<Line<'static>>> = Vec::new();
    for _ in 0..15 {
        let start = Instant::now();
        cache = messages
            .iter()
            .map(|m| markdown::render(m, WIDTH, &theme))
            .collect();
        cold.push(start.elapsed());
    }
    let lines: usize = cache.iter().map(Vec::len).sum();
    let cold = median(cold);
    println!(
        "cold render, {MESSAGES} messages ({lines} lines at width {WIDTH}): median {:.2} ms ({:.1} µs per message)",
        cold.as_secs_f64() * 1e3,
        cold.as_secs_f64() * 1e6 / MESSAGES as f64
    );

    // Streaming: one long answer re-rendered as it grows, every 8 bytes.
    let answer: String = (0..8).map(message).collect::<Vec<_>>().join("\n\n");
    let cuts: Vec<usize> = (1..answer.len())
        .step_by(8)
        .filter(|&n| answer.is_char_boundary(n))
        .collect();
    let mut stream = Vec::new();
    for &n in &cuts {
        let start = Instant::now();
        black_box(markdown::render(&answer[..n], WIDTH, &theme));
        stream.push(start.elapsed());
    }
    stream.sort();
    let p95 = stream[stream.len() * 95 / 100];
    let worst = stream.last().copied().unwrap_or_default();
    println!(
        "streaming re-render of one growing answer (up to {} bytes, {} steps): median {:.1} µs, p95 {:.1} µs, worst {:.1} µs",
        answer.len(),
        cuts.len(),
        median(stream).as_secs_f64() * 1e6,
        p95.as_secs_f64() * 1e6,
        worst.as_secs_f64() * 1e6
    );

    // Cached frame: bottom 50 lines of the conversation from the cache.
    let mut frame = Vec::new();
    for _ in 0..1_000 {
        let start = Instant::now();
        let mut visible: Vec<Line<'static>> = Vec::with_capacity(50);
        for msg in cache.iter().rev() {
            for line in msg.iter().rev() {
                if visible.len() == 50 {
                    break;
                }
                visible.push(line.clone());
            }
            if visible.len() == 50 {
                break;
            }
        }
        black_box(visible);
        frame.push(start.elapsed());
    }
    println!(
        "cached frame (50 visible lines out of {lines}): median {:.1} µs",
        median(frame).as_secs_f64() * 1e6
    );
}
