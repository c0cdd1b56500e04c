//! The name and place lists (`assets/redact/`, built by `scripts/make-name-lists.py` from
//! published packages) as one Aho-Corasick automaton over the text, built once on first use.
//! The automaton ignores ASCII case (one entry answers for "Will" and "will"); whether a word is
//! capitalised as a name is the detectors' question.
use std::sync::LazyLock;

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind, StartKind};

const FIRST_NAMES: &str = include_str!("../../assets/redact/first-names.txt");
const SURNAMES: &str = include_str!("../../assets/redact/surnames.txt");
const PLACES: &str = include_str!("../../assets/redact/places.txt");
const AMBIGUOUS_WORDS: &str = include_str!("../../assets/redact/ambiguous.txt");
const WORDS: &str = include_str!("../../assets/redact/words.txt");
const COMMON_WORDS: &str = include_str!("../../assets/redact/common.txt");

/// What a list entry is (an entry may be several: "Florence" is a first name and a city).
pub(crate) const FIRST: u8 = 1;
pub(crate) const SURNAME: u8 = 2;
pub(crate) const PLACE: u8 = 4;
/// Also a common English word, or a month or weekday: a name or place only with context.
pub(crate) const AMBIGUOUS: u8 = 8;
/// Also an English word of any frequency: at a sentence's start it needs context too.
pub(crate) const WORD: u8 = 16;
/// One of the most frequent English words: an unlisted capitalised one is no name by context.
pub(crate) const COMMON: u8 = 32;

pub(crate) struct Lists {
    /// Each single-word entry, ASCII-lowercased, with its bits.
    pub(crate) words: rustc_hash::FxHashMap<String, u8>,
    /// The entries of several words ("New York", "Rio de Janeiro"), matched ASCII-case-
    /// insensitively and anchored where a word starts; the pattern id indexes `phrase_flags`.
    pub(crate) phrases: Option<AhoCorasick>,
    pub(crate) phrase_flags: Vec<u8>,
}

fn lines(s: &'static str) -> impl Iterator<Item = &'static str> {
    s.lines().map(str::trim).filter(|l| !l.is_empty())
}

pub(crate) static LISTS: LazyLock<Lists> = LazyLock::new(|| {
    let mut words: rustc_hash::FxHashMap<String, u8> = Default::default();
    let mut phrases: std::collections::BTreeMap<String, u8> = Default::default();
    for (list, flag) in [
        (FIRST_NAMES, FIRST),
        (SURNAMES, SURNAME),
        (PLACES, PLACE),
        (AMBIGUOUS_WORDS, AMBIGUOUS),
        (WORDS, WORD),
        (COMMON_WORDS, COMMON),
    ] {
        for entry in lines(list) {
            let key = entry.to_ascii_lowercase();
            let map = if key.contains(' ') {
                &mut phrases
            } else {
                *words.entry(key).or_default() |= flag;
                continue;
            };
            *map.entry(key).or_default() |= flag;
        }
    }
    let (patterns, phrase_flags): (Vec<String>, Vec<u8>) = phrases.into_iter().unzip();
    let automaton = AhoCorasick::builder()
        .match_kind(MatchKind::LeftmostLongest)
        .kind(Some(AhoCorasickKind::ContiguousNFA))
        .ascii_case_insensitive(true)
        .start_kind(StartKind::Anchored)
        .build(&patterns)
        .ok();
    Lists {
        words,
        phrases: automaton,
        phrase_flags,
    }
});

/// The bits of one word (ASCII case ignored); 0 for a word in no list.
pub(crate) fn word_flags(word: &str) -> u8 {
    // Lowercased on the stack for the usual short ASCII word; a longer or non-ASCII one is
    // lowercased into a String.
    let mut buf = [0u8; 32];
    if word.len() <= buf.len() && word.is_ascii() {
        for (b, w) in buf.iter_mut().zip(word.bytes()) {
            *b = w.to_ascii_lowercase();
        }
        let key = std::str::from_utf8(&buf[..word.len()]).unwrap_or_default();
        return lookup(key);
    }
    let flags = lookup(&word.to_ascii_lowercase());
    // Only Latin letters with marks fold to ASCII (Cyrillic, Greek, CJK… never do).
    let latin_marked = |c: char| ('\u{C0}'..='\u{24F}').contains(&c);
    if flags != 0 || !word.chars().any(latin_marked) {
        return flags;
    }
    // Many names are listed without their accents ("Frederic", "Roldan", "Dorothee"): the
    // word's letters without their combining marks, when that is plain ASCII.
    use unicode_normalization::{UnicodeNormalization, char::is_combining_mark};
    let folded: String = word.nfd().filter(|c| !is_combining_mark(*c)).collect();
    if folded.is_ascii() {
        lookup(&folded.to_ascii_lowercase())
    } else {
        0
    }
}

/// The bits of a lowercased single word.
fn lookup(key: &str) -> u8 {
    LISTS.words.get(key).copied().unwrap_or(0)
}
