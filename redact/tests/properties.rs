//! Properties of the whole: a secret planted anywhere in random text never survives the preview,
//! every kind of value is found in every context a chat puts it in (line edges, punctuation,
//! quotes, brackets, markdown, lists, tables, code spans), and text without anything to remove
//! keeps every byte.
// Test code: unwrap, expect and panic are how a test fails (Cargo.toml's [workspace.lints] deny
// them in the program).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use keybot_redact::{Options, detect, render};
use proptest::prelude::*;
use proptest::sample::select;

/// Words of ordinary text, list words among them ("simple", "winter", "lake", "morning").
const WORDS: &[&str] = &[
    "the", "a", "of", "to", "and", "is", "in", "it", "we", "you", "that", "this", "was", "for",
    "simple", "winter", "morning", "by", "lake", "cold", "bright", "day", "clock", "wind", "glass",
    "door", "order", "price", "shipped", "version", "released", "build", "cache", "error", "file",
    "table", "happy", "family", "dinner", "fresh", "fruit", "bread", "walk", "field", "river",
    "Monday", "March", "Linux", "English", "Internet", "Thanks", "Hello", "API", "JSON", "Rust",
];

/// Numbers that are kept: dates, times, versions, amounts, order numbers, an ISBN, a UUID, a git
/// hash, plain counts.
const NUMBERS: &[&str] = &[
    "2024-05-17",
    "17.05.2024",
    "05/17/2024",
    "12:30",
    "12:30:45",
    "1.2.3",
    "v2.10.0",
    "10.0",
    "$1,234.56",
    "1.234,56 €",
    "#123456",
    "ORD-2024-000123",
    "978-3-16-148410-0",
    "123e4567-e89b-12d3-a456-426614174000",
    "8c062d8a1b2c3d4e5f60718293a4b5c6d7e8f901",
    "42",
    "0",
    "7",
    "365",
    "1999",
    "2024",
    "3.14",
    "100%",
    "10 000",
    "(3)",
    "x2",
    "24/7",
];

fn word() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => select(WORDS).prop_map(str::to_string),
        1 => select(NUMBERS).prop_map(str::to_string),
    ]
}

/// A sentence: up to eight words or numbers, a mark at its end.
fn sentence() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(word(), 1..8),
        select(&[".", "!", "?", ".\n", ".\n\n", ":", "..."][..]),
    )
        .prop_map(|(ws, end)| format!("{}{end}", ws.join(" ")))
}

fn clean_text() -> impl Strategy<Value = String> {
    prop::collection::vec(sentence(), 0..20).prop_map(|s| s.join(" "))
}

fn hex(n: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(select(&b"0123456789abcdefABCDEF"[..]), n)
        .prop_map(|v| v.into_iter().map(char::from).collect())
}

fn alnum(n: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(
        select(&b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"[..]),
        n,
    )
    .prop_map(|v| v.into_iter().map(char::from).collect())
}

fn seed_phrase() -> impl Strategy<Value = String> {
    let list = bip39::Language::English.word_list();
    (
        select(&[12usize, 15, 18, 21, 24][..]),
        prop::collection::vec(select(&list[..]), 24),
        0..4usize,
    )
        .prop_map(|(n, words, style)| {
            let words = &words[..n];
            match style {
                0 => words.join(" "),
                1 => words.join("\n"),
                2 => words.join(", "),
                _ => words
                    .iter()
                    .enumerate()
                    .map(|(i, w)| format!("{}. {w}", i + 1))
                    .collect::<Vec<_>>()
                    .join("\n"),
            }
        })
}

/// A secret or contact datum, as it would be pasted into a chat.
fn planted() -> impl Strategy<Value = String> {
    prop_oneof![
        seed_phrase(),
        hex(64),
        hex(64).prop_map(|h| format!("0x{h}")),
        hex(40).prop_map(|h| format!("0x{h}")),
        alnum(48).prop_map(|s| format!("sk-proj-{s}")),
        alnum(36).prop_map(|s| format!("ghp_{s}")),
        prop::collection::vec(select(&b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"[..]), 16)
            .prop_map(|v| format!("AKIA{}", v.into_iter().map(char::from).collect::<String>())),
        (alnum(8), alnum(6)).prop_map(|(a, b)| format!("{a}.x@{b}.example.com")),
        (1_000_000u32..9_999_999).prop_map(|n| format!("+49 30 {n}")),
        (200u32..999, 200u32..999, 0u32..9999).prop_map(|(a, b, c)| format!("({a}) {b}-{c:04}")),
        alnum(40).prop_map(|s| format!(
            "-----BEGIN EC PRIVATE KEY-----\n{s}\n-----END EC PRIVATE KEY-----"
        )),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn a_planted_secret_never_survives(
        before in clean_text(),
        secret in planted(),
        after in clean_text(),
        sep in select(&[" ", "\n", ": ", " (", "\n\n", "\t"][..]),
    ) {
        let text = format!("{before}{sep}{secret}{sep}{after}");
        let spans = detect(&text, &Options::default());
        let out = render(&text, &spans);
        prop_assert!(!out.contains(&secret), "survived: {secret:?} in {out:?}");
    }

    #[test]
    fn clean_text_keeps_every_byte(text in clean_text()) {
        let spans = detect(&text, &Options::default());
        prop_assert!(spans.is_empty(), "{spans:?} in {text:?}");
        prop_assert_eq!(render(&text, &spans), text);
    }

    #[test]
    fn spans_are_sorted_disjoint_and_on_char_boundaries(text in ".{0,400}") {
        let spans = detect(&text, &Options::default());
        let mut at = 0;
        for s in &spans {
            prop_assert!(s.start >= at && s.start < s.end && s.end <= text.len());
            prop_assert!(text.is_char_boundary(s.start) && text.is_char_boundary(s.end));
            at = s.end;
        }
        let _ = render(&text, &spans);
    }
}

/// One value of every kind, and the part of it that must not survive (a title stays).
const VALUES: &[(&str, &str)] = &[
    ("jane.doe@example.com", "jane.doe@example.com"),
    ("+49 30 1234567", "1234567"),
    ("(415) 555-0132", "555-0132"),
    ("4111 1111 1111 1111", "4111 1111 1111 1111"),
    ("DE89 3704 0044 0532 0130 00", "3704 0044 0532"),
    ("203.0.113.7", "203.0.113.7"),
    (
        "2001:db8:85a3::8a2e:370:7334",
        "2001:db8:85a3::8a2e:370:7334",
    ),
    (
        "0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318",
        "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318",
    ),
    (
        "legal winner thank year wave sausage worth useful legal winner thank yellow",
        "sausage worth useful",
    ),
    ("Anna Kowalczyk", "Kowalczyk"),
    ("Grace Hopper", "Hopper"),
    ("Mr Nowak", "Nowak"),
    ("Dr. Okafor", "Okafor"),
    ("Lisbon", "Lisbon"),
    ("New York", "New York"),
];

/// Where a chat puts a value: before and after it.
const CONTEXTS: &[(&str, &str)] = &[
    ("", ""),
    ("", "."),
    ("", ","),
    ("", ";"),
    ("", ":"),
    ("", "!"),
    ("", "?"),
    ("(", ")"),
    ("[", "]"),
    ("{", "}"),
    ("\"", "\""),
    ("'", "'"),
    ("«", "»"),
    ("“", "”"),
    ("*", "*"),
    ("**", "**"),
    ("_", "_"),
    ("`", "`"),
    ("- ", ""),
    ("1. ", ""),
    ("| ", " |"),
    ("> ", ""),
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn every_kind_is_found_in_every_context(
        value in select(VALUES),
        context in select(CONTEXTS),
        lead in select(&["", "I wrote to ", "Text: ", "ok\n", "see "][..]),
        tail in select(&["", " yesterday", "\nnext line", " and more."][..]),
    ) {
        let (value, secret) = value;
        let (open, close) = context;
        let text = format!("{lead}{open}{value}{close}{tail}");
        let out = render(&text, &detect(&text, &Options::default()));
        prop_assert!(!out.contains(secret), "survived: {secret:?} in {out:?}");
    }
}
