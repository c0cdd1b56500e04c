//! BIP-39 seed phrases: 12 or more words of the English list in a row, separated by spaces,
//! newlines, commas or numbering ("1. abandon", "2) ability"). The checksum is not checked, and
//! one word that is not on the list may sit inside a phrase (a typo still gives the phrase away).
//!
//! Prose is safe because the list has none of the words English cannot do without ("the", "of",
//! "to", "and", "is", "I"), and a sentence ends at a full stop: twelve list words in a row with at
//! most one other word between them does not happen in ordinary text.

use crate::{Kind, Span};
use bip39::Language;
use std::sync::OnceLock;

/// The fewest list words that make a phrase (the shortest BIP-39 phrase).
const MIN_WORDS: usize = 12;
/// The longest gap between two words of a phrase (indentation, numbering, quotes).
const MAX_GAP: usize = 40;

/// Whether `word` (ASCII letters, any case) is on the English list.
pub(crate) fn is_list_word(word: &[u8]) -> bool {
    packed(word).is_some_and(|key| list().contains(&key))
}

/// A word of 3 to 8 ASCII letters, lowercased, as the bytes of one integer: every list word fits,
/// and looking one up is one hash of a `u64` (this runs for every word of a text).
fn packed(word: &[u8]) -> Option<u64> {
    if !(3..=8).contains(&word.len()) {
        return None;
    }
    let mut key = 0u64;
    for &b in word {
        if !b.is_ascii_alphabetic() {
            return None;
        }
        key = key << 8 | u64::from(b.to_ascii_lowercase());
    }
    Some(key)
}

fn list() -> &'static rustc_hash::FxHashSet<u64> {
    static LIST: OnceLock<rustc_hash::FxHashSet<u64>> = OnceLock::new();
    LIST.get_or_init(|| {
        Language::English
            .word_list()
            .iter()
            .filter_map(|w| packed(w.as_bytes()))
            .collect()
    })
}

/// What may stand between two words of a phrase: white space, commas, quotes, brackets, bullets
/// and one number ("12.", "3)", "(4)", "5:"), nothing else (a full stop ends a sentence, and a
/// phrase). `Some(number)` when the gap is one, with the number it holds.
fn gap(gap: &[u8]) -> Option<Option<u32>> {
    if gap.len() > MAX_GAP {
        return None;
    }
    let mut number: Option<u32> = None;
    let mut digits = 0;
    let mut prev = None;
    for &b in gap {
        let before = prev.replace(b);
        match b {
            b'0'..=b'9' => {
                if digits == 0 && number.is_some() {
                    return None; // a second number: "12:30", not numbering
                }
                digits += 1;
                if digits > 2 {
                    return None;
                }
                number = Some(number.unwrap_or(0) * 10 + (b - b'0') as u32);
                continue;
            }
            b'.' | b')' | b':' if digits > 0 => {}
            // No `)` or `;` but after a number: `");\n update` is code, not a phrase.
            b' ' | b'\t' | b'\n' | b'\r' | b',' | b'"' | b'\'' | b'`' | b'(' | b'[' | b']'
            | b'*' => {}
            // A bullet ("\n- abandon"), not a hyphen ("access-control-tag").
            b'-' if before.is_some_and(|p: u8| p.is_ascii_whitespace()) => {}
            _ => return None,
        }
        digits = 0;
    }
    Some(number)
}

#[derive(Clone, Copy, Default, PartialEq, Eq)]
enum Style {
    #[default]
    Lower,
    Upper,
    Capitalised,
}

impl Style {
    fn of(word: &[u8]) -> Style {
        if word[0].is_ascii_lowercase() {
            Style::Lower
        } else if word.iter().all(u8::is_ascii_uppercase) {
            Style::Upper
        } else {
            Style::Capitalised
        }
    }
}

/// The phrase being read.
#[derive(Default)]
struct Run {
    style: Style,
    start: usize,
    /// Start and end of the last list word.
    last_start: usize,
    end: usize,
    words: usize,
    /// A word not on the list has been let through.
    typo: bool,
    /// The list words after that word: where a phrase restarts at a second one.
    after_typo_start: usize,
    after_typo_words: usize,
    /// Not one word over and over ("text text text …" in a diagram, "TRUE | TRUE | …" in a
    /// truth table): a phrase has at least two different words.
    varied: bool,
}

impl Run {
    fn list_word(&mut self, t: &[u8], start: usize, end: usize) {
        if self.words == 0 {
            self.start = start;
        } else if !t[start..end].eq_ignore_ascii_case(&t[self.last_start..self.end]) {
            self.varied = true;
        }
        self.last_start = start;
        self.words += 1;
        self.end = end;
        if self.typo {
            if self.after_typo_words == 0 {
                self.after_typo_start = start;
            }
            self.after_typo_words += 1;
        }
    }

    /// A word that is not on the list but could be a misspelt one.
    fn other_word(&mut self, out: &mut Vec<Span>) {
        if self.words == 0 {
            return; // a phrase never starts with its typo: nothing to let through
        }
        if self.typo {
            self.finish(out);
            let (start, words, end, style) = (
                self.after_typo_start,
                self.after_typo_words,
                self.end,
                self.style,
            );
            let (last_start, varied) = (self.last_start, self.varied);
            *self = Run::default();
            self.style = style;
            if words > 0 {
                self.last_start = last_start;
                self.varied = varied;
                self.start = start;
                self.words = words;
                self.end = end;
                self.typo = true;
            }
        } else {
            self.typo = true;
        }
    }

    fn finish(&mut self, out: &mut Vec<Span>) {
        if self.words >= MIN_WORDS && self.varied {
            out.push(Span {
                start: self.start,
                end: self.end,
                kind: Kind::SeedPhrase,
            });
        }
        *self = Run::default();
    }
}

pub(crate) fn find(text: &str, out: &mut Vec<Span>) {
    let t = text.as_bytes();
    let mut run = Run::default();
    let mut prev_end: Option<usize> = None;
    let mut last_number: Option<u32> = None;
    let mut i = 0;
    while i < t.len() {
        if !t[i].is_ascii_alphabetic() {
            i += 1;
            continue;
        }
        let start = i;
        while i < t.len() && t[i].is_ascii_alphabetic() {
            i += 1;
        }
        let end = i;
        if let Some(pe) = prev_end {
            match gap(&t[pe..start]) {
                None => {
                    run.finish(out);
                    last_number = None;
                }
                Some(Some(n)) => {
                    // Numbering counts up: "1. abandon 2. ability"; other numbers between words
                    // ("bright 7. simple … 42. you") are prose.
                    if last_number.is_some_and(|m| n != m + 1) {
                        run.finish(out);
                    }
                    last_number = Some(n);
                }
                Some(None) => {}
            }
        }
        prev_end = Some(end);
        // Letters glued to digits, underscores or non-ASCII letters are not a word of a phrase;
        // quotes and other punctuation outside ASCII (« » “ ”) are edges, and so is a `_` that
        // opens or closes markdown emphasis (`_legal …_`). An ASCII neighbour is looked at as a
        // byte; only one outside ASCII is decoded.
        let plain = |b: Option<&u8>| b.is_none_or(|b| *b < 0x80 && *b != b'_');
        let glued_before = if plain(start.checked_sub(1).and_then(|i| t.get(i))) {
            start > 0 && t[start - 1].is_ascii_digit()
        } else if t[start - 1] == b'_' {
            crate::scan::underscore_glues_before(t, start)
        } else {
            text[..start]
                .chars()
                .next_back()
                .is_some_and(char::is_alphanumeric)
        };
        let glued_after = if plain(t.get(end)) {
            t.get(end).is_some_and(u8::is_ascii_digit)
        } else if t[end] == b'_' {
            crate::scan::underscore_glues_after(t, end)
        } else {
            text[end..]
                .chars()
                .next()
                .is_some_and(char::is_alphanumeric)
        };
        if glued_before || glued_after {
            run.finish(out);
            continue;
        }
        let word = &t[start..end];
        // A phrase is written in one case: a capitalised word after lowercase ones starts a
        // sentence ("… title\nCard 4111 …"), not the phrase's next word.
        let style = Style::of(word);
        if run.words > 0 && style != run.style {
            run.finish(out);
        }
        if is_list_word(word) {
            run.style = style;
            run.list_word(t, start, end);
        } else if (3..=10).contains(&word.len()) {
            run.other_word(out);
        } else {
            run.finish(out);
        }
    }
    run.finish(out);
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn spans(text: &str) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        find(text, &mut out);
        out.iter().map(|s| (s.start, s.end)).collect()
    }

    fn found(text: &str) -> Vec<&str> {
        spans(text).into_iter().map(|(a, b)| &text[a..b]).collect()
    }

    pub(crate) const PHRASE24: &str = "legal winner thank year wave sausage worth useful legal winner thank year wave sausage worth useful legal winner thank year wave sausage worth title";
    pub(crate) const PHRASE12: &str = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";

    #[test]
    fn every_list_word_is_found_and_others_are_not() {
        for w in Language::English.word_list() {
            assert!(is_list_word(w.as_bytes()), "{w}");
            assert!(is_list_word(w.to_uppercase().as_bytes()), "{w}");
        }
        for w in [
            "the", "of", "and", "abandonx", "zzz", "ab", "", "abandons", "wallets",
        ] {
            assert!(!is_list_word(w.as_bytes()), "{w}");
        }
    }

    #[test]
    fn phrases_in_a_row_numbered_and_comma_separated() {
        let t = format!("my phrase is {PHRASE24}. Keep it safe");
        assert_eq!(found(&t), [PHRASE24]);
        assert_eq!(found(PHRASE12), [PHRASE12]);
        let numbered: String = PHRASE12
            .split(' ')
            .enumerate()
            .map(|(i, w)| format!("{}. {w}\n", i + 1))
            .collect();
        assert_eq!(spans(&numbered), [(3, numbered.len() - 1)]);
        let paren: String = PHRASE12
            .split(' ')
            .enumerate()
            .map(|(i, w)| format!("{}) {w}\n", i + 1))
            .collect();
        assert_eq!(found(&paren).len(), 1);
        let commas = PHRASE12.replace(' ', ", ");
        assert_eq!(found(&commas), [commas.as_str()]);
        let json = format!("[\"{}\"]", PHRASE12.replace(' ', "\", \""));
        assert_eq!(found(&json).len(), 1);
        let upper = PHRASE12.to_uppercase();
        assert_eq!(found(&upper), [upper.as_str()]);
        // A capitalised list word after the phrase starts a sentence, not more phrase.
        let t = format!("{PHRASE24}\nCard 4111");
        assert_eq!(found(&t), [PHRASE24]);
    }

    #[test]
    fn one_typo_inside_is_still_a_phrase_but_not_two_in_short_one() {
        let typo = PHRASE24.replacen("wave", "wvae", 1);
        assert_eq!(found(&typo), [typo.as_str()]);
        // Twelve words with one typo: eleven list words, not a phrase.
        let short = PHRASE12.replacen("abandon", "abandn", 1);
        assert!(found(&short).is_empty());
        // Two typos far apart in 24 words: the parts around them are still long enough.
        let two = PHRASE24
            .replacen("thank", "thnak", 1)
            .replace("sausage worth title", "sausage wrth title");
        let got = found(&two);
        assert!(!got.is_empty());
        let joined: String = got.concat();
        assert!(joined.contains("legal winner"));
    }

    #[test]
    fn eleven_words_or_a_sentence_break_is_no_phrase() {
        let eleven = PHRASE12.rsplit_once(' ').unwrap().0;
        assert!(found(eleven).is_empty());
        let broken =
            "abandon ability able about above absent. Absorb abstract absurd abuse access accident";
        assert!(found(broken).is_empty());
        // Glued to digits: identifiers, not words.
        let glued = PHRASE12.replace(' ', "1 ");
        assert!(found(&glued).is_empty());
        // Code: a call's end between the words.
        let hyphens = "define-tag, access-control-tag,\n\t  access-control-tag-action, access-control-tag-data, local-zone-tag";
        assert!(found(hyphens).is_empty());
        let bullets: String = PHRASE12.split(' ').map(|w| format!("- {w}\n")).collect();
        assert_eq!(found(&bullets).len(), 1);
        let same = "text text text text text text text text text text text text text";
        assert!(found(same).is_empty());
        let table = "|FALSE|\t|FALSE|\t\t|FALSE|\t\t|FALSE|\n|TRUE|\t|TRUE|\t\t|TRUE|\t\t|FALSE|\n|TRUE|\t|FALSE|\t\t|TRUE|\t\t|FALSE|\n|TRUE|\t|TRUE|";
        assert!(found(table).is_empty());
        let times = "bright bright 12:30.\n you bright you simple 12:30.\n simple you bright you you bright.";
        assert!(found(times).is_empty());
        let counts = "you bright 7. simple you bright 42. you simple bright 3. bright you simple";
        assert!(found(counts).is_empty());
        let inline: String = PHRASE12
            .split(' ')
            .enumerate()
            .map(|(i, w)| format!("{}. {w} ", i + 1))
            .collect();
        assert_eq!(found(&inline).len(), 1);
        let code = "f(\"test test test test test test test test test test test\",\n);\nupdate(s)";
        assert!(found(code).is_empty());
    }

    #[test]
    fn prose_full_of_list_words_is_kept() {
        for p in crate::tests_prose::paragraphs() {
            assert!(spans(p).is_empty(), "flagged prose: {:?}", found(p));
        }
        assert!(found("a simple winter morning by the lake").is_empty());
    }
}
