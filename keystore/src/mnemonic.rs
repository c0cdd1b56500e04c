//! BIP-39 phrases: generation, word-by-word checking with suggestions, and parsing.
//!
//! Only English word lists are accepted: it is what every wallet keybot interoperates with uses,
//! and it keeps a typo from silently turning into a valid phrase in another language.
use std::fmt;

use bip39::{Language, Mnemonic};
use zeroize::Zeroizing;

use crate::{Error, Result};

const LANG: Language = Language::English;

/// A valid BIP-39 phrase. Wiped on drop; `Debug` prints `<redacted>`.
pub struct Phrase(Mnemonic);

impl Phrase {
    /// A new phrase from the operating system's random source (12, 15, 18, 21 or 24 words).
    pub fn generate(words: usize) -> Result<Phrase> {
        let bytes = match words {
            12 => 16,
            15 => 20,
            18 => 24,
            21 => 28,
            24 => 32,
            n => return Err(Error::WordCount(n)),
        };
        let mut entropy = Zeroizing::new([0u8; 32]);
        getrandom::fill(&mut entropy[..bytes])
            .map_err(|e| Error::Derivation(format!("the system random source failed: {e}")))?;
        Phrase::from_entropy(&entropy[..bytes])
    }

    pub fn from_entropy(entropy: &[u8]) -> Result<Phrase> {
        Mnemonic::from_entropy_in(LANG, entropy)
            .map(Phrase)
            .map_err(|e| Error::Derivation(format!("bad entropy: {e}")))
    }

    /// Parses a whole phrase typed or pasted by a user: any whitespace, any case. Each problem
    /// gets its own error (empty, word count, the first unknown word with a suggestion, checksum).
    pub fn parse(input: &str) -> Result<Phrase> {
        let words: Vec<Zeroizing<String>> = input
            .split_whitespace()
            .map(|w| Zeroizing::new(w.to_lowercase()))
            .collect();
        if words.is_empty() {
            return Err(Error::EmptyPhrase);
        }
        for (i, w) in words.iter().enumerate() {
            if let WordCheck::Unknown { suggestion } = check_word(w) {
                return Err(Error::UnknownWord {
                    position: i + 1,
                    suggestion,
                });
            }
        }
        if ![12, 15, 18, 21, 24].contains(&words.len()) {
            return Err(Error::WordCount(words.len()));
        }
        let mut joined = Zeroizing::new(String::with_capacity(input.len()));
        for (i, w) in words.iter().enumerate() {
            if i > 0 {
                joined.push(' ');
            }
            joined.push_str(w);
        }
        match Mnemonic::parse_in_normalized(LANG, &joined) {
            Ok(m) => Ok(Phrase(m)),
            Err(bip39::Error::InvalidChecksum) => Err(Error::BadChecksum),
            Err(bip39::Error::BadWordCount(n)) => Err(Error::WordCount(n)),
            Err(bip39::Error::UnknownWord(i)) => Err(Error::UnknownWord {
                position: i + 1,
                suggestion: None,
            }),
            Err(e) => Err(Error::Derivation(e.to_string())),
        }
    }

    pub fn word_count(&self) -> usize {
        self.0.word_count()
    }

    /// The words, for showing the phrase to its owner. Callers must not log them.
    pub fn words(&self) -> Vec<&'static str> {
        self.0.words().collect()
    }

    /// The phrase as one space-separated string, in a zeroizing buffer.
    pub fn to_phrase_string(&self) -> Zeroizing<String> {
        let mut s = Zeroizing::new(String::with_capacity(24 * 9));
        for (i, w) in self.0.words().enumerate() {
            if i > 0 {
                s.push(' ');
            }
            s.push_str(w);
        }
        s
    }

    pub fn entropy(&self) -> Zeroizing<Vec<u8>> {
        let (arr, len) = self.0.to_entropy_array();
        let arr = Zeroizing::new(arr);
        Zeroizing::new(arr[..len].to_vec())
    }

    /// The 64-byte BIP-39 seed for this phrase and passphrase ("" when none).
    pub fn to_seed(&self, passphrase: &str) -> Zeroizing<[u8; 64]> {
        Zeroizing::new(self.0.to_seed(passphrase))
    }
}

impl fmt::Debug for Phrase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Phrase({} words, <redacted>)", self.word_count())
    }
}

/// What one typed word is, for live feedback while a phrase is entered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WordCheck {
    /// An exact word of the list.
    Valid,
    /// Not a word yet, but the start of one or more (the user is still typing).
    Prefix,
    /// Not a word and no word starts with it; the closest word when one is close enough.
    Unknown { suggestion: Option<&'static str> },
}

/// Checks one word against the English list (case-insensitive).
pub fn check_word(word: &str) -> WordCheck {
    let w = Zeroizing::new(word.trim().to_lowercase());
    if w.is_empty() {
        return WordCheck::Prefix;
    }
    if LANG.find_word(&w).is_some() {
        return WordCheck::Valid;
    }
    if !words_starting_with(&w).is_empty() {
        return WordCheck::Prefix;
    }
    WordCheck::Unknown {
        suggestion: suggest(&w),
    }
}

/// A typed word as the list word it stands for: itself, or the one word a prefix of four or more
/// letters can only mean (BIP-39 English words are unique in their first four letters). Otherwise
/// a one-line hint for the person typing, with a suggestion when one is close.
pub fn resolve_word(typed: &str) -> Result<&'static str, String> {
    let w = Zeroizing::new(typed.trim().to_lowercase());
    match check_word(&w) {
        WordCheck::Valid => LANG
            .find_word(&w)
            .map(|i| LANG.word_list()[usize::from(i)])
            .ok_or_else(|| "not a BIP-39 word".to_owned()),
        WordCheck::Prefix => match suggest(&w) {
            Some(full) if w.chars().count() >= 4 && full.starts_with(w.as_str()) => Ok(full),
            _ => Err(format!(
                "\"{}\" is only the start of a word; type the whole word",
                w.as_str()
            )),
        },
        WordCheck::Unknown {
            suggestion: Some(x),
        } => Err(format!("not a BIP-39 word; did you mean \"{x}\"?")),
        WordCheck::Unknown { suggestion: None } => Err("not a BIP-39 word".to_owned()),
    }
}

/// The closest list word to a mistyped one. BIP-39 English words are unique in their first four
/// letters, so a typo after those still has one obvious match; otherwise the nearest word by
/// edit distance (transpositions count once), when it is at most two edits away.
pub fn suggest(word: &str) -> Option<&'static str> {
    let w = word.to_lowercase();
    if w.chars().count() >= 4 {
        let prefix: String = w.chars().take(4).collect();
        if let [only] = words_starting_with(&prefix) {
            return Some(only);
        }
    }
    // The edit distance is at least the difference in length: words more than two letters
    // longer or shorter than a candidate are skipped without the quadratic comparison (a long
    // pasted line would otherwise cost 2048 of them per word). Optimal string alignment counts
    // a swap of neighbours as one edit, as Damerau-Levenshtein does, without its hash map per
    // call: the same suggestions for typos of up to two edits, many times faster.
    //
    // Before that, a linear test that loses no candidate: one edit changes the letters' counts
    // by at most two in total (a swap of neighbours changes none), so a word within two edits
    // differs by at most four. It rules out nearly all 2,048 words for a few additions each,
    // where the distance allocates and fills a table (fuzzing ran at ~130 inputs/s on it).
    let len = w.chars().count();
    let counts = letter_counts(&w);
    LANG.word_list()
        .iter()
        .filter(|cand| cand.len().abs_diff(len) <= 2)
        .filter(|cand| count_difference(&counts, cand) <= 4)
        .map(|cand| (strsim::osa_distance(&w, cand), *cand))
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// The list words that start with `prefix`. The English list is sorted, so they are one run
/// found by two binary searches (the crate's own lookup compares the prefix with every word).
fn words_starting_with(prefix: &str) -> &'static [&'static str] {
    let list: &'static [&'static str] = LANG.word_list();
    let start = list.partition_point(|w| *w < prefix);
    let len = list[start..].partition_point(|w| w.starts_with(prefix));
    &list[start..start + len]
}

/// How often each letter a-z occurs; every other character is counted in one more bucket.
fn letter_counts(word: &str) -> [u32; 27] {
    let mut counts = [0u32; 27];
    for c in word.chars() {
        let i = if c.is_ascii_lowercase() {
            usize::from(c as u8 - b'a')
        } else {
            26
        };
        counts[i] = counts[i].saturating_add(1);
    }
    counts
}

/// The sum over all letters of how much more or less often it occurs in `cand` than `counts`
/// says (list words are lowercase a-z).
fn count_difference(counts: &[u32; 27], cand: &str) -> u32 {
    let mut other = *counts;
    let mut extra = 0u32;
    for b in cand.bytes() {
        let i = usize::from(b.wrapping_sub(b'a')).min(26);
        if other[i] > 0 {
            other[i] -= 1;
        } else {
            extra += 1;
        }
    }
    extra + other.iter().sum::<u32>()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `suggest` as it was before the letter-count test: the nearest word by distance alone.
    fn suggest_by_distance_alone(w: &str) -> Option<&'static str> {
        LANG.word_list()
            .iter()
            .map(|cand| (strsim::osa_distance(w, cand), *cand))
            .filter(|(d, _)| *d <= 2)
            .min_by_key(|(d, _)| *d)
            .map(|(_, c)| c)
    }

    #[test]
    fn prefix_runs_equal_the_crates_lookup() {
        assert!(
            LANG.word_list().is_sorted(),
            "the binary search needs a sorted list"
        );
        let mut prefixes = vec![String::new(), "zz".into(), "abandonx".into(), "é".into()];
        for w in LANG.word_list() {
            for n in 1..=w.len() {
                prefixes.push(w[..n].to_owned());
            }
        }
        for p in prefixes {
            let theirs: Vec<&str> = LANG.words_by_prefix_iter(&p).collect();
            assert_eq!(words_starting_with(&p), theirs.as_slice(), "prefix {p:?}");
        }
    }

    #[test]
    fn the_letter_count_test_loses_no_suggestion() {
        // Typos of every kind the distance counts, one and two edits, of every 29th list word
        // (words shorter than four letters, and longer ones whose first four letters no longer
        // name one word, reach the distance search).
        let mut typos = Vec::new();
        for word in LANG.word_list().iter().step_by(29) {
            let b: Vec<char> = word.chars().collect();
            for i in 0..b.len() {
                let mut del = b.clone();
                del.remove(i);
                typos.push(del);
                for c in ['a', 'e', 'z'] {
                    let mut sub = b.clone();
                    sub[i] = c;
                    typos.push(sub.clone());
                    sub.insert(0, 'q');
                    typos.push(sub);
                }
                if i + 1 < b.len() {
                    let mut swap = b.clone();
                    swap.swap(i, i + 1);
                    typos.push(swap.clone());
                    swap.push('x');
                    typos.push(swap);
                }
            }
        }
        let mut compared = 0;
        for t in typos {
            let t: String = t.into_iter().collect();
            if t.chars().count() >= 4 && words_starting_with(&t[..4]).len() == 1 {
                continue;
            }
            assert_eq!(suggest(&t), suggest_by_distance_alone(&t), "typo {t:?}");
            compared += 1;
        }
        assert!(compared > 300, "only {compared} typos reached the search");
    }

    const ABANDON12: &str = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";

    #[test]
    fn generated_phrases_have_the_asked_length_and_parse_back() {
        for n in [12, 15, 18, 21, 24] {
            let p = Phrase::generate(n).unwrap();
            assert_eq!(p.word_count(), n);
            let again = Phrase::parse(&p.to_phrase_string()).unwrap();
            assert_eq!(*again.entropy(), *p.entropy());
        }
        assert!(matches!(Phrase::generate(13), Err(Error::WordCount(13))));
    }

    #[test]
    fn two_generated_phrases_differ() {
        let a = Phrase::generate(24).unwrap();
        let b = Phrase::generate(24).unwrap();
        assert_ne!(*a.entropy(), *b.entropy());
    }

    #[test]
    fn parse_accepts_case_and_spacing() {
        let messy = format!("  {}  ", ABANDON12.to_uppercase().replace(' ', "\n\t "));
        assert!(Phrase::parse(&messy).is_ok());
    }

    #[test]
    fn each_failure_has_its_own_error() {
        assert!(matches!(Phrase::parse("   "), Err(Error::EmptyPhrase)));
        let thirteen = format!("{ABANDON12} abandon");
        assert!(matches!(
            Phrase::parse(&thirteen),
            Err(Error::WordCount(13))
        ));
        let typo = ABANDON12.replacen("abandon", "abandn", 1);
        match Phrase::parse(&typo) {
            Err(Error::UnknownWord {
                position: 1,
                suggestion: Some("abandon"),
            }) => {}
            other => panic!("unexpected {other:?}"),
        }
        let bad_sum = ABANDON12.replace("about", "abandon");
        assert!(matches!(Phrase::parse(&bad_sum), Err(Error::BadChecksum)));
    }

    #[test]
    fn word_check_guides_typing() {
        assert_eq!(check_word("zoo"), WordCheck::Valid);
        assert_eq!(check_word("aban"), WordCheck::Prefix);
        assert_eq!(
            check_word("abandonn"),
            WordCheck::Unknown {
                suggestion: Some("abandon")
            }
        );
        assert_eq!(
            check_word("wrold"),
            WordCheck::Unknown {
                suggestion: Some("world")
            }
        );
        assert_eq!(
            check_word("qqqqqqq"),
            WordCheck::Unknown { suggestion: None }
        );
    }

    #[test]
    fn resolve_word_completes_unique_prefixes_and_hints_otherwise() {
        assert_eq!(resolve_word("Zoo"), Ok("zoo"));
        assert_eq!(resolve_word("aban"), Ok("abandon"));
        assert!(resolve_word("ab").unwrap_err().contains("only the start"));
        assert!(resolve_word("tset").unwrap_err().contains("\"test\""));
    }

    #[test]
    fn debug_hides_the_words() {
        let p = Phrase::parse(ABANDON12).unwrap();
        let d = format!("{p:?}");
        assert!(!d.contains("abandon"), "{d}");
    }
}
