//! Byte-level helpers the detectors share. Every detector walks the text once, forward; these
//! answer "is this a word edge" and "how far does this kind of byte go" without allocating.

/// `i` starts a word: the byte before it is not an ASCII letter or digit. A non-ASCII byte counts
/// as an edge, so that a key glued to an accented letter is still found (the safe side).
pub(crate) fn word_start(t: &[u8], i: usize) -> bool {
    i == 0 || !t[i - 1].is_ascii_alphanumeric()
}

/// `j` ends a word: the byte at `j` is not an ASCII letter or digit.
pub(crate) fn word_end(t: &[u8], j: usize) -> bool {
    j >= t.len() || !t[j].is_ascii_alphanumeric()
}

/// The end of the run of bytes satisfying `f` that starts at `i`.
pub(crate) fn run_end(t: &[u8], i: usize, f: impl Fn(u8) -> bool) -> usize {
    let mut j = i;
    while j < t.len() && f(t[j]) {
        j += 1;
    }
    j
}

/// A number may start at `i` (a digit, a `+` or a `(`): what comes before it is space or
/// punctuation that opens something, not the middle of a larger number, amount, version, date,
/// path or identifier (`v1.2`, `$1,234`, `#123456`, `ORD-2024-…`, `12/05`).
pub(crate) fn number_start(t: &[u8], i: usize) -> bool {
    if i == 0 {
        return true;
    }
    // Opening quotes outside ASCII: « “ ‘ „ (looked for only after a byte outside ASCII: this
    // runs for every digit of a text).
    if t[i - 1] >= 0x80 {
        let before = &t[..i];
        return ["«", "“", "‘", "„"]
            .iter()
            .any(|q| before.ends_with(q.as_bytes()));
    }
    matches!(
        t[i - 1],
        b'_' | b'`'
            | b' '
            | b'\t'
            | b'\n'
            | b'\r'
            | b'('
            | b'['
            | b'{'
            | b'<'
            | b'"'
            | b'\''
            | b':'
            | b';'
            | b'*'
            | b'>'
            | b'|'
    )
}

/// A number ends at `j`: not glued to a letter or digit, and not followed by `.5`, `-7`, `/9`,
/// `,3` (the rest of a larger number, date or amount).
pub(crate) fn number_end(t: &[u8], j: usize) -> bool {
    if j >= t.len() {
        return true;
    }
    let b = t[j];
    if b.is_ascii_alphanumeric() || b == b'@' {
        return false;
    }
    if b == b'_' {
        return !underscore_glues_after(t, j);
    }
    let next_digit = t.get(j + 1).is_some_and(|c| c.is_ascii_digit());
    !(next_digit && matches!(b, b'.' | b'-' | b'/' | b',' | b':'))
}

/// Markdown emphasis opens and closes with `_` (`_+49 30 1234567_`, `_legal …_`); anywhere else a
/// `_` glues a value to its neighbour (`12_000`, `id_42`, `word_list`). Whether the `_` right
/// before `i` glues: it does unless nothing, or no letter or digit, comes before it (then it opens
/// emphasis).
pub(crate) fn underscore_glues_before(t: &[u8], i: usize) -> bool {
    i >= 2 && t[i - 1] == b'_' && char_ending_at(t, i - 1).is_some_and(char::is_alphanumeric)
}

/// Whether a `_` at `j`, right after a value, glues it to what follows: it does when a letter, a
/// digit or another `_` follows (otherwise it closes emphasis). See [`underscore_glues_before`].
pub(crate) fn underscore_glues_after(t: &[u8], j: usize) -> bool {
    t.get(j) == Some(&b'_')
        && char_starting_at(t, j + 1).is_some_and(|c| c.is_alphanumeric() || c == '_')
}

/// The character of UTF-8 text `t` that ends at byte `end`.
fn char_ending_at(t: &[u8], end: usize) -> Option<char> {
    let start = (end.saturating_sub(4)..end)
        .rev()
        .find(|&k| t[k] & 0xC0 != 0x80)?;
    char_starting_at(&t[..end], start)
}

/// The character of UTF-8 text `t` that starts at byte `at`.
fn char_starting_at(t: &[u8], at: usize) -> Option<char> {
    let window = t.get(at..(at + 4).min(t.len()))?;
    window.utf8_chunks().next()?.valid().chars().next()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edges() {
        let t = b"a 12.5 $3";
        assert!(word_start(t, 0));
        assert!(word_start(t, 2));
        assert!(!word_start(t, 3));
        assert!(number_start(t, 2));
        assert!(!number_start(t, 5)); // after '.'
        assert!(!number_start(t, 8)); // after '$'
        assert!(!number_end(t, 4)); // ".5" follows
        // `_` glues unless it opens or closes emphasis, whatever the script around it.
        let u = "id_42 _7_ é_9 x_é 9_ 9__".as_bytes();
        assert!(underscore_glues_before(u, 3)); // id_|42
        assert!(!underscore_glues_before(u, 7)); // ␠_|7
        assert!(!underscore_glues_after(u, 8)); // 7|_␠
        assert!(underscore_glues_before(u, 13)); // é_|9
        assert!(underscore_glues_after(u, 16)); // x|_é
        assert!(!underscore_glues_after(u, 21)); // 9|_ at the end of a word
        assert!(underscore_glues_after(u, 24)); // 9|__
        assert!(!underscore_glues_before(u, 0) && !underscore_glues_before(u, 1));
        assert!(!underscore_glues_after(u, u.len()));
        assert!(number_end(t, 6));
        assert!(word_end(t, 1));
        assert_eq!(run_end(t, 2, |b| b.is_ascii_digit() || b == b'.'), 6);
    }
}
