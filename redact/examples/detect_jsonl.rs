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
        let text = json_string(&line);
        let spans = keybot_redact::detect(&text, &keybot_redact::Options::default());
        let chars = |b: usize| text[..b].chars().count();
        let items: Vec<String> = spans
            .iter()
            .map(|s| format!("[{},{},\"{}\"]", chars(s.start), chars(s.end), s.kind.key()))
            .collect();
        writeln!(out, "[{}]", items.join(",")).unwrap();
    }
}

/// A JSON string literal (what Python's json.dumps writes: escapes, \uXXXX with surrogates).
fn json_string(line: &str) -> String {
    let inner = line.trim().trim_start_matches('"').trim_end_matches('"');
    let mut out = String::new();
    let mut it = inner.chars();
    let mut pending: Option<u32> = None;
    while let Some(c) = it.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match it.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('b') => out.push('\u{8}'),
            Some('f') => out.push('\u{c}'),
            Some('u') => {
                let hex: String = it.by_ref().take(4).collect();
                let v = u32::from_str_radix(&hex, 16).expect("a \\u escape");
                match (pending.take(), v) {
                    (None, 0xD800..=0xDBFF) => pending = Some(v),
                    (Some(hi), 0xDC00..=0xDFFF) => {
                        let c = 0x10000 + ((hi - 0xD800) << 10) + (v - 0xDC00);
                        out.push(char::from_u32(c).expect("a surrogate pair"));
                    }
                    (_, v) => out.push(char::from_u32(v).unwrap_or('\u{fffd}')),
                }
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}
