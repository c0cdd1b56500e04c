//! The sale vault's detectors and your own chat model as a second reader, over texts given one
//! JSON string per line on stdin; prints the spans of each as one JSON line (`[[start, end,
//! "kind"], …]`, character offsets), for `scripts/eval-redaction.sh --model GGUF`.
// An example prints its answers; a malformed line or a model that does not load stops it.
#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, Write};

use keybot::chat::engine::{Engine, LoadRequest};

fn main() {
    let model = std::env::args()
        .nth(1)
        .expect("usage: detect_with_model MODEL.gguf");
    let engine = Engine::spawn().unwrap();
    engine
        .load_blocking(
            LoadRequest {
                path: model.into(),
                ..Default::default()
            },
            |_| {},
        )
        .unwrap();
    let mut out = std::io::BufWriter::new(std::io::stdout());
    for line in std::io::stdin().lock().lines() {
        let text: String = serde_json::from_str(&line.unwrap()).unwrap();
        let mut spans = keybot_redact::detect(&text, &keybot_redact::Options::default());
        spans.extend(keybot::market::model_reader::read(&engine, &text).unwrap());
        let spans = keybot_redact::merge(spans);
        let chars = |b: usize| text[..b].chars().count();
        let items: Vec<String> = spans
            .iter()
            .map(|s| format!("[{},{},\"{}\"]", chars(s.start), chars(s.end), s.kind.key()))
            .collect();
        writeln!(out, "[{}]", items.join(",")).unwrap();
        out.flush().unwrap();
    }
}
