//! Makes untrusted text safe to draw in the app and to print on the command line.
//!
//! Text from the model, the chain or a file can contain bytes a terminal obeys: CSI sequences that
//! move the cursor or recolour the screen, OSC 52 that writes the clipboard, OSC 8 hyperlinks, DCS
//! strings, a bare carriage return that lets later text overwrite earlier text. ratatui writes
//! cell symbols verbatim, so anything that reaches a `Span` reaches the terminal. Every string from
//! outside goes through [`clean`] (or [`clean_line`]) before it becomes a `Span` or reaches
//! `println!`; streamed model output goes through a [`Stream`], which removes a sequence split
//! between two tokens.
//!
//! The contract: the output contains no C0 control character except `\n`, no DEL, no C1 control
//! character, and no part of an escape sequence's parameters or payload. Printable text, emoji,
//! CJK and the zero-width joiner / non-joiner (needed by emoji sequences and some scripts) are
//! kept. Bidirectional override and isolate characters (U+202A..U+202E, U+2066..U+2069) are
//! removed: they are not terminal controls, but they let text display in a different order
//! than it is stored ("Trojan Source"), which in a wallet could disguise an address.

use std::borrow::Cow;

/// Spaces that replace one tab. Tabs are expanded rather than kept because a tab's width depends
/// on the column, which ratatui does not track for us, and because a raw `\t` in a cell breaks
/// the buffer's width accounting.
const TAB: &str = "    ";

const ESC: char = '\u{1b}';
const BEL: char = '\u{07}';
/// C1 String Terminator.
const ST: char = '\u{9c}';

/// Returns `s` without control characters or escape sequences; keeps `\n`, turns `\t` into
/// four spaces and `\r\n` into `\n`. Borrows when there is nothing to remove.
pub fn clean(s: &str) -> Cow<'_, str> {
    if s.chars().all(|c| c == '\n' || !needs_work(c)) {
        return Cow::Borrowed(s);
    }
    Cow::Owned(strip(s, false))
}

/// Like [`clean`], for one-line places (titles, labels, the status bar): newlines become spaces.
pub fn clean_line(s: &str) -> Cow<'_, str> {
    if s.chars().all(|c| !needs_work(c)) {
        return Cow::Borrowed(s);
    }
    Cow::Owned(strip(s, true))
}

/// True for anything [`strip`] would drop or rewrite.
fn needs_work(c: char) -> bool {
    c.is_control() || is_bidi_control(c)
}

/// Bidirectional embedding, override and isolate controls.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// What kind of sequence an introducer starts.
enum Intro {
    /// Control Sequence Introducer: parameters, intermediates, then one final byte.
    Csi,
    /// A control string (OSC, DCS, SOS, PM, APC): payload up to BEL or ST.
    String,
}

/// The C1 introducers, whether written as the single code point or as ESC + a 7-bit letter.
fn c1_intro(c: char) -> Option<Intro> {
    match c {
        '\u{9b}' => Some(Intro::Csi),
        '\u{90}' | '\u{98}' | '\u{9d}' | '\u{9e}' | '\u{9f}' => Some(Intro::String),
        _ => None,
    }
}

fn esc_intro(c: char) -> Option<Intro> {
    match c {
        '[' => Some(Intro::Csi),
        'P' | 'X' | ']' | '^' | '_' => Some(Intro::String),
        _ => None,
    }
}

fn strip(s: &str, one_line: bool) -> String {
    let mut out = String::with_capacity(s.len());
    let mut st = Stream::with_one_line(one_line);
    st.feed(s, &mut out);
    out
}

/// Where the stripper is inside an escape sequence. The state carries over between calls to
/// [`Stream::push`], so a sequence split across two model tokens is removed whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum State {
    #[default]
    Text,
    /// After ESC.
    Esc,
    /// ESC followed by intermediates (0x20..=0x2F), waiting for the final byte: `ESC ( B`.
    EscShort,
    /// Inside a CSI: parameters and intermediates (0x20..=0x3F) until a final byte. Anything
    /// else ends the sequence too (terminals abort on it) and is consumed with it, so that no
    /// half sequence leaks.
    Csi,
    /// Inside a control string (OSC, DCS, SOS, PM, APC) until BEL or ST. An unterminated string
    /// swallows the rest of the input: showing its payload would show attacker-chosen bytes
    /// that were meant for the terminal.
    Str,
    /// ESC inside a control string: `ESC \` is ST; an ESC followed by anything else also ends
    /// the string (as in xterm), and the ESC's partner is consumed with it.
    StrEsc,
}

/// A streaming [`clean`]: text arrives in pieces (model tokens) and an escape sequence may be
/// split between two of them. Each [`push`](Stream::push) returns what is safe to print now.
#[derive(Debug, Clone, Default)]
pub struct Stream {
    state: State,
    one_line: bool,
}

impl Stream {
    pub fn new() -> Self {
        Self::default()
    }

    fn with_one_line(one_line: bool) -> Self {
        Self {
            state: State::Text,
            one_line,
        }
    }

    /// The printable part of `piece`, given everything pushed before it.
    pub fn push(&mut self, piece: &str) -> String {
        let mut out = String::with_capacity(piece.len());
        self.feed(piece, &mut out);
        out
    }

    fn feed(&mut self, s: &str, out: &mut String) {
        for c in s.chars() {
            self.state = self.step(c, out);
        }
    }

    fn step(&self, c: char, out: &mut String) -> State {
        match self.state {
            State::Text => self.text(c, out),
            State::Esc => match esc_intro(c) {
                Some(Intro::Csi) => State::Csi,
                Some(Intro::String) => State::Str,
                None => self.after_short_escape(c, out),
            },
            State::EscShort => self.after_short_escape(c, out),
            State::Csi if ('\u{20}'..='\u{3f}').contains(&c) => State::Csi,
            State::Csi => State::Text,
            State::Str if c == BEL || c == ST => State::Text,
            State::Str if c == ESC => State::StrEsc,
            State::Str => State::Str,
            State::StrEsc => State::Text,
        }
    }

    /// ESC followed by intermediates and one final byte, such as `ESC c` (reset) or `ESC ( B`
    /// (charset). Anything else ends the escape and is treated as text.
    fn after_short_escape(&self, c: char, out: &mut String) -> State {
        if ('\u{20}'..='\u{2f}').contains(&c) {
            State::EscShort
        } else if ('\u{30}'..='\u{7e}').contains(&c) {
            State::Text
        } else {
            self.text(c, out)
        }
    }

    fn text(&self, c: char, out: &mut String) -> State {
        match c {
            '\n' if self.one_line => out.push(' '),
            '\n' => out.push('\n'),
            '\t' => out.push_str(TAB),
            ESC => return State::Esc,
            c => match c1_intro(c) {
                Some(Intro::Csi) => return State::Csi,
                Some(Intro::String) => return State::Str,
                // Every other control (CR, BEL, backspace, DEL, other C1) and the bidi controls
                // are dropped. CR is dropped rather than turned into a newline so that "\r\n"
                // stays one line break and a lone "\r" cannot overwrite earlier text.
                None if needs_work(c) => {}
                None => out.push(c),
            },
        }
        State::Text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The contract, checked on every output below.
    fn assert_inert(s: &str) {
        for c in s.chars() {
            assert!(
                c == '\n' || (!c.is_control() && !is_bidi_control(c)),
                "control {:?} survived in {s:?}",
                c
            );
        }
    }

    fn cleaned(s: &str) -> String {
        let out = clean(s).into_owned();
        assert_inert(&out);
        out
    }

    #[test]
    fn plain_text_is_borrowed_unchanged() {
        let s = "hello, world\nsecond line ✓";
        assert!(matches!(clean(s), Cow::Borrowed(_)));
        assert_eq!(clean(s), s);
    }

    #[test]
    fn csi_colour_and_cursor_sequences_are_removed() {
        assert_eq!(cleaned("a\x1b[31mred\x1b[0m b"), "ared b");
        assert_eq!(cleaned("\x1b[2J\x1b[H\x1b[?25lgone"), "gone");
        assert_eq!(cleaned("x\x1b[38;2;255;0;0my"), "xy");
    }

    #[test]
    fn osc52_clipboard_injection_is_removed_with_its_payload() {
        // Would put "rm -rf ~" on the user's clipboard in a terminal that allows OSC 52.
        let attack = "copy this\x1b]52;c;cm0gLXJmIH4=\x07 please";
        assert_eq!(cleaned(attack), "copy this please");
        let with_st = "a\x1b]52;c;cm0gLXJmIH4=\x1b\\b";
        assert_eq!(cleaned(with_st), "ab");
    }

    #[test]
    fn osc8_hyperlink_keeps_only_the_visible_text() {
        let link = "\x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\";
        assert_eq!(cleaned(link), "click");
    }

    #[test]
    fn dcs_apc_pm_sos_strings_are_removed() {
        assert_eq!(cleaned("a\x1bPq#0;2;0;0;0\x1b\\b"), "ab");
        assert_eq!(cleaned("a\x1b_payload\x07b"), "ab");
        assert_eq!(cleaned("a\x1b^pm\x1b\\b"), "ab");
        assert_eq!(cleaned("a\x1bXsos\x1b\\b"), "ab");
    }

    #[test]
    fn unterminated_sequences_swallow_the_rest() {
        assert_eq!(cleaned("safe\x1b]52;c;AAAA"), "safe");
        assert_eq!(cleaned("safe\x1b[12;"), "safe");
    }

    #[test]
    fn bare_and_short_escapes_are_removed() {
        assert_eq!(cleaned("end\x1b"), "end");
        assert_eq!(cleaned("a\x1bcb"), "ab"); // RIS: full reset
        assert_eq!(cleaned("a\x1b(Bb"), "ab"); // charset designation
        assert_eq!(cleaned("a\x1b7b\x1b8c"), "abc"); // save / restore cursor
    }

    #[test]
    fn c1_controls_are_removed_including_8bit_csi_and_osc() {
        assert_eq!(cleaned("a\u{9b}31mb"), "ab");
        assert_eq!(cleaned("a\u{9d}52;c;AAAA\u{9c}b"), "ab");
        assert_eq!(cleaned("a\u{90}dcs\u{9c}b"), "ab");
        assert_eq!(cleaned("a\u{85}b\u{8d}c"), "abc");
    }

    #[test]
    fn bel_backspace_del_and_nul_are_removed() {
        assert_eq!(cleaned("a\x07b\x08c\x7fd\0e"), "abcde");
    }

    #[test]
    fn carriage_return_cannot_overwrite_earlier_text() {
        // In a terminal "\r" returns to column 0 and the fake address would cover the real one.
        assert_eq!(cleaned("0xREAL\r0xFAKE"), "0xREAL0xFAKE");
        assert_eq!(cleaned("one\r\ntwo"), "one\ntwo");
    }

    #[test]
    fn tabs_become_spaces_and_newlines_stay() {
        assert_eq!(cleaned("a\tb\nc"), "a    b\nc");
    }

    #[test]
    fn clean_line_turns_newlines_into_spaces() {
        assert_eq!(clean_line("title\nline two\x1b[1m"), "title line two");
        assert!(matches!(clean_line("one line"), Cow::Borrowed(_)));
        assert!(matches!(clean_line("two\nlines"), Cow::Owned(_)));
    }

    #[test]
    fn emoji_cjk_and_zero_width_joiners_are_kept() {
        let s = "👩‍💻 家族 👨‍👩‍👧 a\u{200c}b é";
        assert_eq!(clean(s), s);
    }

    #[test]
    fn bidi_overrides_are_removed() {
        assert_eq!(cleaned("0x\u{202e}dcba\u{202c}"), "0xdcba");
        assert_eq!(cleaned("a\u{2066}b\u{2069}"), "ab");
    }

    #[test]
    fn every_single_char_input_is_inert() {
        // Exhaustive over the BMP's first 0x3000 code points, alone and before a letter.
        for cp in 0u32..0x3000 {
            if let Some(c) = char::from_u32(cp) {
                assert_inert(&clean(&c.to_string()));
                assert_inert(&clean(&format!("{c}a")));
                assert_inert(&clean_line(&format!("\x1b{c}a")));
            }
        }
    }

    #[test]
    fn a_sequence_split_across_pieces_is_removed_whole() {
        // Model tokens can end in the middle of an escape sequence; cleaning each token alone
        // would print the second half ("1A" or "52;c;…") as text, or worse pass it on.
        let attack = "ok\x1b[1A\x1b[2K amount 1\x1b]52;c;cm0gLXJmIH4=\x07 done\u{9b}31mz";
        let whole = cleaned(attack);
        for split in 0..attack.len() {
            if !attack.is_char_boundary(split) {
                continue;
            }
            let mut st = Stream::new();
            let mut out = st.push(&attack[..split]);
            out.push_str(&st.push(&attack[split..]));
            assert_eq!(out, whole, "split at {split}");
        }
        let mut st = Stream::new();
        let mut out = String::new();
        for c in attack.chars() {
            out.push_str(&st.push(&c.to_string()));
        }
        assert_eq!(out, whole);
        assert_eq!(whole, "ok amount 1 donez");
    }
}
