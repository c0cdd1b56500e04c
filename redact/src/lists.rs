//! The name and place lists (`assets/redact/`, built by `scripts/make-name-lists.py` from
//! published packages) as one Aho-Corasick automaton over the text, built once on first use.
//! Matching is case-sensitive: the lists hold names as people write them ("Anna", "New York"),
//! so a lowercase common word ("grace", "nice") never matches at all.
use std::collections::HashSet;
use std::sync::LazyLock;

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};

const FIRST_NAMES: &str = include_str!("../../assets/redact/first-names.txt");
const SURNAMES: &str = include_str!("../../assets/redact/surnames.txt");
const PLACES: &str = include_str!("../../assets/redact/places.txt");
const AMBIGUOUS: &str = include_str!("../../assets/redact/ambiguous.txt");
const WORDS: &str = include_str!("../../assets/redact/words.txt");

/// What a list entry is (an entry may be several: "Florence" is a first name and a city).
pub(crate) const FIRST: u8 = 1;
pub(crate) const SURNAME: u8 = 2;
pub(crate) const PLACE: u8 = 4;

pub(crate) struct Lists {
    pub(crate) automaton: Option<AhoCorasick>,
    /// Per pattern id: its FIRST / SURNAME / PLACE bits.
    pub(crate) flags: Vec<u8>,
    /// Entries that are also common English words, and the months and weekdays: a name or a
    /// place only with context.
    pub(crate) ambiguous: HashSet<&'static str>,
    /// Entries whose lowercase form is any English word: at a sentence's start (where every word
    /// is capitalised) these need context too.
    pub(crate) words: HashSet<&'static str>,
}

fn lines(s: &'static str) -> impl Iterator<Item = &'static str> {
    s.lines().map(str::trim).filter(|l| !l.is_empty())
}

pub(crate) static LISTS: LazyLock<Lists> = LazyLock::new(|| {
    let mut by_entry: std::collections::BTreeMap<&'static str, u8> = Default::default();
    for (list, flag) in [(FIRST_NAMES, FIRST), (SURNAMES, SURNAME), (PLACES, PLACE)] {
        for entry in lines(list) {
            *by_entry.entry(entry).or_default() |= flag;
        }
    }
    let (patterns, flags): (Vec<&str>, Vec<u8>) = by_entry.into_iter().unzip();
    // A contiguous NFA: a few MiB for ~60,000 patterns, built in milliseconds, and fast enough
    // for a chat (a DFA would be many times the memory).
    let automaton = AhoCorasick::builder()
        .match_kind(MatchKind::LeftmostLongest)
        .kind(Some(AhoCorasickKind::ContiguousNFA))
        .build(&patterns)
        .ok();
    Lists {
        automaton,
        flags,
        ambiguous: lines(AMBIGUOUS).collect(),
        words: lines(WORDS).collect(),
    }
});
