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
    // `_` glues (`12_000`, `id_42`) unless it closes markdown emphasis (`_+49 30 1234567_`).
    if b == b'_' {
        return !t
            .get(j + 1)
            .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_');
    }
    let next_digit = t.get(j + 1).is_some_and(|c| c.is_ascii_digit());
    !(next_digit && matches!(b, b'.' | b'-' | b'/' | b',' | b':'))
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
        assert!(number_end(t, 6));
        assert!(word_end(t, 1));
        assert_eq!(run_end(t, 2, |b| b.is_ascii_digit() || b == b'.'), 6);
    }
}
