//! Preview throughput: detect + render over a ~1 MiB chat export, against a reference that runs
//! the same kinds of patterns through the `regex` crate (one pass per pattern, replace_all).
//! Prints its own figures: `cargo bench -p keybot-redact --bench preview`.
// Test code: unwrap, expect and panic are how a test fails (Cargo.toml's [workspace.lints] deny
// them in the program).
// A benchmark prints its figures.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout
)]

use keybot_redact::{DETECTORS, Options, detect, render};
use regex::{Captures, Regex};
use std::hint::black_box;
use std::time::{Duration, Instant};

const TARGET: usize = 1 << 20;
// Best of 25: this machine's neighbours make single runs vary by a quarter.
const RUNS: usize = 25;

/// A small deterministic generator (no rand crate needed for a benchmark's input).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn hex(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| char::from(b"0123456789abcdef"[self.below(16)]))
            .collect()
    }
}

const CODE: &[&str] = &[
    "```rust\nfn main() {\n    let v: Vec<u32> = (0..10).map(|x| x * 2).collect();\n    println!(\"{:?}\", v);\n}\n```",
    "```python\nimport json\nwith open('data.json') as f:\n    data = json.load(f)\nprint(data['items'][0]['price'])\n```",
    "```sh\ncargo build --release && ./target/release/app --port 8080 --log-level debug\n```",
    "```js\nconst res = await fetch(`/api/v2/orders/${id}`, { method: 'GET' });\nconsole.log(res.status, res.headers.get('content-type'));\n```",
];

const CHAT: &[&str] = &[
    "Sure! Here is a summary of version 2.10.0, released on 2024-05-17: the build is 30% faster and the cache works offline.",
    "The order #123456 (ORD-2024-000123) cost $1,234.56, shipped on 17.05.2024 and should arrive by 05/21/2024 at 12:30.",
    "Can you explain how the borrow checker works when a closure captures a mutable reference?",
    "I read ISBN 978-3-16-148410-0 last week; the request id was 123e4567-e89b-12d3-a456-426614174000.",
];

fn chat_export() -> String {
    let prose: Vec<&str> = include_str!("../tests/data/prose.txt")
        .split("\n\n")
        .filter(|p| !p.trim().is_empty())
        .collect();
    let words = bip39::Language::English.word_list();
    let mut r = Lcg(0x5eed);
    let mut out = String::with_capacity(TARGET + 4096);
    let mut turn = 0;
    while out.len() < TARGET {
        turn += 1;
        let who = if turn % 2 == 0 { "assistant" } else { "user" };
        out.push_str(&format!("[2024-05-17 10:{:02}] {who}: ", turn % 60));
        match r.below(20) {
            0..=7 => out.push_str(prose[r.below(prose.len())]),
            8..=10 => out.push_str(CODE[r.below(CODE.len())]),
            11..=13 => out.push_str(CHAT[r.below(CHAT.len())]),
            14 => out.push_str(&format!(
                "Mail me at user{}@example.com or call +49 30 {}.",
                r.below(1000),
                1_000_000 + r.below(8_999_999)
            )),
            15 => out.push_str(&format!(
                "My US number is (555) {}-{:04}, office 020 7946 {:04}.",
                200 + r.below(700),
                r.below(10_000),
                r.below(10_000)
            )),
            16 => out.push_str(&format!(
                "test key 0x{} and address 0x{}, server 10.{}.{}.{}",
                r.hex(64),
                r.hex(40),
                r.below(256),
                r.below(256),
                r.below(256)
            )),
            17 => out.push_str(&format!(
                "export OPENAI_API_KEY=sk-proj-{}\nghp_{}",
                r.hex(48),
                r.hex(36)
            )),
            18 => out.push_str("Card 4111 1111 1111 1111, IBAN DE89 3704 0044 0532 0130 00, ship to 221B Baker Street, London NW1 6XE."),
            _ => {
                out.push_str("backup words: ");
                let phrase: Vec<&str> = (0..12).map(|_| words[r.below(2048)]).collect();
                out.push_str(&phrase.join(" "));
            }
        }
        out.push_str("\n\n");
    }
    out
}

/// The reference: one regex per kind, one pass each, every match replaced by its marker.
fn reference_patterns() -> Vec<(Regex, &'static str)> {
    let list = bip39::Language::English.word_list().join("|");
    let seed = format!(r"\b(?:(?:{list})[\s,]+){{11,23}}(?:{list})\b");
    let p = |re: &str, label| (Regex::new(re).expect("reference pattern"), label);
    vec![
        p(
            r"(?s)-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----",
            "[pem private key]",
        ),
        p(
            r#"\{[^{}]*"[cC]rypto"\s*:\s*\{(?:[^{}]|\{[^{}]*\})*"ciphertext"(?:[^{}]|\{[^{}]*\})*\}[^{}]*\}"#,
            "[keystore]",
        ),
        p(&seed, "[seed phrase]"),
        p(r"\b(?:0x)?[0-9a-fA-F]{64}\b", "[private key]"),
        p(
            r"\b[xtyzuv]p(?:rv|ub)[1-9A-HJ-NP-Za-km-z]{46,}\b",
            "[extended key]",
        ),
        p(
            r"\b(?:sk-[A-Za-z0-9_-]{20,}|sk_live_[A-Za-z0-9]{20,}|gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,}|glpat-[A-Za-z0-9_-]{20,}|A[KS]IA[0-9A-Z]{16}|AIza[A-Za-z0-9_-]{35}|xox[bpaser]-[A-Za-z0-9-]{10,}|hf_[A-Za-z0-9]{30,}|npm_[A-Za-z0-9]{36,}|eyJ[A-Za-z0-9_-]{7,}\.eyJ[A-Za-z0-9_-]{7,}\.[A-Za-z0-9_-]{10,})",
            "[api token]",
        ),
        p(
            r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}",
            "[email]",
        ),
        p(
            r"\+\d{1,3}[ .-]?(?:\(\d{1,4}\)[ .-]?)?\d{1,4}(?:[ .-]?\d{2,4}){1,4}|\(\d{3}\) ?\d{3}[-.]\d{4}|\b\d{3}[-.]\d{3}[-.]\d{4}\b|\b0\d{1,4}(?:[ /-]\d{2,8}){1,4}\b",
            "[phone]",
        ),
        p(r"\b(?:\d{4}[ -]?){3}\d{1,4}\b|\b\d{13,19}\b", "[card]"),
        p(
            r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b",
            "[iban]",
        ),
        p(
            r"\b(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)\b",
            "[ip address]",
        ),
        p(
            r"\b(?:[0-9a-fA-F]{1,4}:){7}[0-9a-fA-F]{1,4}\b|\b(?:[0-9a-fA-F]{1,4}:){1,7}:(?:[0-9a-fA-F]{1,4}(?::[0-9a-fA-F]{1,4}){0,6})?",
            "[ip address]",
        ),
        p(
            r"\b\d{1,5}[A-Za-z]? (?:[A-Z][a-z]+ ){1,3}(?:Street|St|Road|Rd|Avenue|Ave|Lane|Ln|Boulevard|Blvd|Drive|Dr|Court|Ct|Way|Place|Pl)\b|\b[A-Z][a-zäöüß]*(?:straße|strasse|str\.|weg|gasse|allee|platz) \d{1,4}[a-z]?\b|\b\d{1,4} (?:rue|avenue|boulevard|place|chemin|quai) (?:[a-z']+ ){0,3}[A-Z]\w+",
            "[street address]",
        ),
        p(r"\b0x[0-9a-fA-F]{40}\b", "[eth address]"),
    ]
}

fn luhn(digits: &str) -> bool {
    let d: Vec<u32> = digits.chars().filter_map(|c| c.to_digit(10)).collect();
    let sum: u32 = d
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &x)| {
            if i % 2 == 1 {
                if x * 2 > 9 { x * 2 - 9 } else { x * 2 }
            } else {
                x
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

fn reference(text: &str, patterns: &[(Regex, &'static str)]) -> String {
    let mut s = text.to_string();
    for (re, label) in patterns {
        let out = if *label == "[card]" {
            // Luhn in the replacement, as a regex pass would have to.
            re.replace_all(&s, |c: &Captures| {
                if luhn(&c[0]) {
                    (*label).to_string()
                } else {
                    c[0].to_string()
                }
            })
        } else {
            re.replace_all(&s, *label)
        };
        s = out.into_owned();
    }
    s
}

fn best_of(mut f: impl FnMut() -> usize) -> (Duration, usize) {
    let mut best = Duration::MAX;
    let mut n = 0;
    for _ in 0..RUNS {
        let t = Instant::now();
        n = black_box(f());
        best = best.min(t.elapsed());
    }
    (best, n)
}

fn mb_s(bytes: usize, d: Duration) -> f64 {
    bytes as f64 / 1e6 / d.as_secs_f64()
}

fn main() {
    let text = chat_export();
    let options = Options::default();
    let spans = detect(&text, &options);
    println!(
        "input: {} bytes ({:.2} MiB) of chat export, {} spans found",
        text.len(),
        text.len() as f64 / (1 << 20) as f64,
        spans.len()
    );

    let (ours, len) = best_of(|| {
        let spans = detect(black_box(&text), &options);
        render(&text, &spans).len()
    });
    println!(
        "keybot-redact detect+render: {:>8.2} ms  {:>8.1} MB/s  (output {len} bytes)",
        ours.as_secs_f64() * 1e3,
        mb_s(text.len(), ours)
    );

    let patterns = reference_patterns();
    let (theirs, len) = best_of(|| reference(black_box(&text), &patterns).len());
    println!(
        "regex, one pass per pattern:  {:>8.2} ms  {:>8.1} MB/s  (output {len} bytes)",
        theirs.as_secs_f64() * 1e3,
        mb_s(text.len(), theirs)
    );
    println!(
        "ratio (ours / regex throughput): {:.2}x",
        theirs.as_secs_f64() / ours.as_secs_f64()
    );

    // Where keybot's time goes: each detector alone (best of the runs), to find the next one to
    // make faster.
    println!("per detector:");
    for (name, detector) in DETECTORS {
        let (took, n) = best_of(|| {
            let mut found = Vec::new();
            detector(black_box(&text), &options, &mut found);
            found.len()
        });
        println!(
            "  {name:<9} {:>7.2} ms  ({n} spans)",
            took.as_secs_f64() * 1e3
        );
    }
}
