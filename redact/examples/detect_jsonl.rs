//! Runs keybot's detectors over texts, one JSON string per line on stdin, and prints the spans
//! of each as one JSON line: `[[start, end, "kind"], …]` with character (not byte) offsets, so a
//! Python script can compare them with another tool's (`scripts/eval-redaction.sh`).
// An example prints its answers; a malformed line is the caller's bug and stops it.
#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, Write};

fn main() {
    let stdin = std::io::stdin();
    let mut out = std::io::BufWriter::new(std::io::stdout());
    for line in stdin.lock().lines() {
        let line = line.unwrap();
        let text: String = serde_json::from_str(&line).unwrap();
        let spans = keybot_redact::detect(&text, &keybot_redact::Options::default());
        let chars = |b: usize| text[..b].chars().count();
        let items: Vec<String> = spans
            .iter()
            .map(|s| format!("[{},{},\"{}\"]", chars(s.start), chars(s.end), s.kind.key()))
            .collect();
        writeln!(out, "[{}]", items.join(",")).unwrap();
    }
}
