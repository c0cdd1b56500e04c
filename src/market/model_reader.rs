//! The user's own chat model as a second reader of a sale-vault item (issue 22): the pure half.
//!
//! The model is asked, chunk by chunk, for the people and places it sees; its answer is held to a
//! JSON object by a llama.cpp grammar ([`GRAMMAR`]), parsed with bounds ([`parse_answer`]), and
//! each string it names is matched back to exact spans of the text ([`match_back`]): a string
//! that is not in the text verbatim, at word edges, removes nothing. The model's answer is
//! hostile input like any other: it can only point at text that is there.
//!
//! [`read`] runs it on a loaded engine, [`read_with_default`] on the default model in an engine of
//! its own (`market add --model`, the `market.model_reader` setting, the app's `M`); the vault
//! keeps the finds as removals "found by the model" (`service::vault::add_model_spans`).
use std::path::Path;

use keybot_redact::{Kind, Span};

use crate::chat::engine::{ChatError, Engine, GenerateRequest, Prompt};
use crate::chat::sampling::SamplingParams;
use crate::chat::template::Message;

/// The largest item the model reads: a 0.5B model on a CPU takes about a second per kilobyte.
pub const MAX_ITEM_BYTES: usize = 64 * 1024;

/// The most bytes of the item one answer reads, and the longest answer.
pub const CHUNK_BYTES: usize = 2048;
pub const MAX_ANSWER_TOKENS: u32 = 512;

/// The instruction, before a chunk of the item.
pub const PROMPT: &str = "List every person's name and every place (town, region, street, \
lake, country) that appears in the text below, exactly as written there. Answer with JSON \
only: {\"people\": [...], \"places\": [...]}. Use empty lists when there are none.\n\nText:\n";

/// A GBNF grammar (llama.cpp's) for the answer: an object of two lists of short strings with no
/// control characters or escapes other than `\"`.
pub const GRAMMAR: &str = r#"root ::= "{" ws "\"people\"" ws ":" ws list ws "," ws "\"places\"" ws ":" ws list ws "}"
list ::= "[" ws ( str ( ws "," ws str ){0,31} )? ws "]"
str ::= "\"" ( [^"\\\x00-\x1f] | "\\\"" ){1,80} "\""
ws ::= [ \t\n]{0,4}
"#;

/// [`GRAMMAR`] as a JSON schema, for a model on a server (which takes a schema, not GBNF).
pub fn schema() -> serde_json::Value {
    let list = serde_json::json!({
        "type": "array",
        "items": {"type": "string", "minLength": 1, "maxLength": MAX_LEN},
        "maxItems": 32,
    });
    serde_json::json!({
        "type": "object",
        "properties": {"people": list, "places": list},
        "required": ["people", "places"],
        "additionalProperties": false,
    })
}

/// The most strings taken from one answer, and the longest one.
pub const MAX_STRINGS: usize = 64;
pub const MAX_LEN: usize = 80;

/// The model's answer, read: the people and the places it named (bounded; anything else in the
/// answer is an error, and nothing is removed for it).
pub fn parse_answer(answer: &str) -> Option<(Vec<String>, Vec<String>)> {
    #[derive(serde::Deserialize)]
    struct Answer {
        #[serde(default)]
        people: Vec<String>,
        #[serde(default)]
        places: Vec<String>,
    }
    let a: Answer = serde_json::from_str(answer.trim()).ok()?;
    let keep = |v: Vec<String>| -> Vec<String> {
        v.into_iter()
            .map(|s| s.trim().to_owned())
            .filter(|s| (2..=MAX_LEN).contains(&s.chars().count()))
            .filter(|s| !s.chars().any(char::is_control))
            .take(MAX_STRINGS)
            .collect()
    };
    Some((keep(a.people), keep(a.places)))
}

/// Every occurrence, at word edges, of each named string in `text`, as spans of its kind.
/// Strings not in the text are ignored; the spans may overlap each other or the detectors' and
/// are merged by the caller (`keybot_redact::merge`).
pub fn match_back(text: &str, people: &[String], places: &[String]) -> Vec<Span> {
    let mut out = Vec::new();
    for (list, kind) in [(people, Kind::Name), (places, Kind::Place)] {
        for needle in list.iter().filter(|n| proper(n, kind)) {
            for (start, _) in text.match_indices(needle.as_str()) {
                let end = start + needle.len();
                let edge_before = text[..start]
                    .chars()
                    .next_back()
                    .is_none_or(|c| !c.is_alphanumeric());
                let edge_after = text[end..]
                    .chars()
                    .next()
                    .is_none_or(|c| !c.is_alphanumeric());
                if edge_before && edge_after {
                    out.push(Span { start, end, kind });
                }
            }
        }
    }
    out
}

/// The people and places the model on `engine` finds in `text`, as spans of `text`: one greedy,
/// grammar-held answer per chunk, each string matched back to the chunk it came from. An answer
/// that does not parse removes nothing from its chunk.
pub fn read(engine: &Engine, text: &str) -> Result<Vec<Span>, ChatError> {
    let mut out = Vec::new();
    for (at, chunk) in chunks(text, CHUNK_BYTES) {
        let req = GenerateRequest {
            prompt: Prompt::Chat(vec![Message::user(format!("{PROMPT}{chunk}"))]),
            sampling: SamplingParams {
                greedy: true,
                grammar: Some(GRAMMAR.to_owned()),
                json_schema: Some(schema()),
                ..Default::default()
            },
            max_tokens: Some(MAX_ANSWER_TOKENS),
        };
        let turn = engine.generate_blocking(req, |_| {})?;
        if let Some((people, places)) = parse_answer(&turn.text) {
            out.extend(
                match_back(chunk, &people, &places)
                    .into_iter()
                    .map(|s| Span {
                        start: s.start + at,
                        end: s.end + at,
                        kind: s.kind,
                    }),
            );
        }
    }
    Ok(out)
}

/// Why the model cannot read an item: too large, no default model, or the engine's error. One
/// line each.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("at {} KiB it is over the {} KiB the model reads", .0 / 1024, MAX_ITEM_BYTES / 1024)]
    TooLarge(usize),
    #[error("reading it needs a default chat model: {0}")]
    NoModel(String),
    #[error(transparent)]
    Engine(#[from] ChatError),
}

/// The people and places the default chat model finds in `text`, loaded with `settings` (GPU
/// layers, context) in an engine of its own that is dropped afterwards: a chat in progress keeps
/// its engine, and the model's file is mapped, not copied, a second time.
pub fn read_with_default(
    data_dir: &Path,
    settings: &crate::service::settings::Settings,
    text: &str,
) -> Result<Vec<Span>, ReadError> {
    if text.len() > MAX_ITEM_BYTES {
        return Err(ReadError::TooLarge(text.len()));
    }
    let model = crate::service::settings::default_model(data_dir).map_err(ReadError::NoModel)?;
    let engine = Engine::spawn()?;
    engine.load_blocking(settings.load_request(&model), |_| {})?;
    Ok(read(&engine, text)?)
}

/// A name as people write one: some word of it capitalised and no common English word
/// ("Ugolino", "New York"), or written in a script without capitals. A small model also names
/// "plants", a sentence's "Will", "Rust compiler", "Bank of England" or a whole sentence; those
/// remove nothing. So: at most four words, each capitalised (or caseless) or a particle of names
/// ("de", "van"); "of" only in a place ("Isle of Wight").
fn proper(s: &str, kind: Kind) -> bool {
    const PARTICLES: &[&str] = &[
        "de", "da", "do", "dos", "das", "di", "du", "del", "della", "van", "von", "der", "den",
        "ter", "la", "le", "y", "bin", "al", "el",
    ];
    let words: Vec<&str> = s
        .split(|c: char| !c.is_alphanumeric() && c != '\'' && c != '’')
        .filter(|w| !w.is_empty())
        .collect();
    if words.is_empty() || words.len() > 4 {
        return false;
    }
    let shaped = words.iter().all(|w| {
        let first = w.chars().next().unwrap_or(' ');
        !first.is_lowercase() || PARTICLES.contains(w) || (*w == "of" && kind == Kind::Place)
    });
    shaped
        && words.iter().any(|w| {
            let mut cs = w.chars();
            match cs.next() {
                Some(c) if c.is_uppercase() => !keybot_redact::common_word(w),
                Some(c) => c.is_alphabetic() && !c.is_lowercase() && !c.is_uppercase(),
                None => false,
            }
        })
}

/// `text` in chunks of at most `max` bytes, cut at line ends where possible (else at a char
/// boundary), each with its byte offset: the model reads one chunk per answer.
pub fn chunks(text: &str, max: usize) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < text.len() {
        let mut end = (at + max.max(1)).min(text.len());
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        if end < text.len()
            && let Some(nl) = text[at..end].rfind('\n')
            && nl > 0
        {
            end = at + nl + 1;
        }
        if end == at {
            // A single character longer than `max`.
            end = at + text[at..].chars().next().map_or(1, char::len_utf8);
        }
        out.push((at, &text[at..end]));
        at = end;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_is_read_with_bounds_and_anything_else_is_refused() {
        let (people, places) =
            parse_answer(r#" {"people": ["Ugolino", " Anna Kowalczyk ", "x", "a\u0007b"], "places": ["Marsdenmouth"]} "#)
                .unwrap();
        assert_eq!(people, ["Ugolino", "Anna Kowalczyk"]);
        assert_eq!(places, ["Marsdenmouth"]);
        assert_eq!(parse_answer("Sure! Here are the names: Anna"), None);
        assert_eq!(parse_answer(r#"{"people": "Anna"}"#), None);
        let many = format!(
            r#"{{"people": [{}], "places": []}}"#,
            vec!["\"Ann\""; 200].join(",")
        );
        assert_eq!(parse_answer(&many).unwrap().0.len(), MAX_STRINGS);
    }

    #[test]
    fn only_strings_that_are_in_the_text_at_word_edges_remove_anything() {
        let text = "Ugolino met Anna in Marsdenmouth. Annabel stayed; Ugolino left. Will you?";
        let spans = match_back(
            text,
            &[
                "Ugolino".into(),
                "Anna".into(),
                "Zebedee".into(),
                "Will".into(),
            ],
            &["Marsdenmouth".into(), "Atlantis".into(), "stayed".into()],
        );
        // What a small model names in prose: a word and its noun, an institution, a sentence.
        let prose = "The Rust compiler is fast. The Bank of England raised rates. Bake the bread for twenty minutes.";
        assert!(
            match_back(
                prose,
                &[
                    "Rust compiler".into(),
                    "Bank of England".into(),
                    "Bake the bread for twenty minutes".into()
                ],
                &[]
            )
            .is_empty()
        );
        let isle = "We sailed to the Isle of Wight.";
        assert_eq!(match_back(isle, &[], &["Isle of Wight".into()]).len(), 1);
        assert_eq!(
            match_back("Ask Maria da Silva.", &["Maria da Silva".into()], &[]).len(),
            1
        );
        let found: Vec<(&str, Kind)> = spans
            .iter()
            .map(|s| (&text[s.start..s.end], s.kind))
            .collect();
        assert_eq!(
            found,
            [
                ("Ugolino", Kind::Name),
                ("Ugolino", Kind::Name),
                ("Anna", Kind::Name),
                ("Marsdenmouth", Kind::Place),
            ]
        );
    }

    #[test]
    fn chunks_end_at_lines_and_cover_the_text() {
        let text = "one line\nsecond line é\nthird\n";
        for max in [1, 3, 10, 14, 100] {
            let parts = chunks(text, max);
            let joined: String = parts.iter().map(|(_, p)| *p).collect();
            assert_eq!(joined, text, "{max}");
            for (at, p) in &parts {
                assert_eq!(&text[*at..*at + p.len()], *p);
            }
        }
        assert_eq!(
            chunks(text, 15).iter().map(|(_, p)| *p).collect::<Vec<_>>(),
            ["one line\n", "second line é\n", "third\n"]
        );
    }

    #[test]
    fn the_grammar_names_both_lists() {
        assert!(GRAMMAR.starts_with("root ::="));
        assert!(GRAMMAR.contains(r#""\"people\"""#) && GRAMMAR.contains(r#""\"places\"""#));
    }
}
