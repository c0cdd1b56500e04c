//! The text of a new vault item: a file's bytes checked to be plain text, or a conversation
//! written out. The stored copy is always text that [`crate::sanitize::clean`] leaves as it is,
//! so `market preview` can print the buyer's bytes exactly and still never send a terminal a
//! control character: what the user sees is what the buyer gets.
use crate::sanitize;
use crate::store::{Conversation, Message, Role};

/// The largest item: big enough for a long conversation or a note, small enough to review.
pub const MAX_BYTES: usize = 1 << 20;

/// Why a file cannot be an item; each a line a person can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("it is empty")]
    Empty,
    #[error("it is {0} bytes; the sale vault takes items up to 1 MiB (1048576 bytes)")]
    TooLarge(usize),
    #[error("it is not text (a NUL byte at offset {0}); the sale vault takes UTF-8 text only")]
    Binary(usize),
    #[error("it is not UTF-8 text (invalid byte at offset {0})")]
    NotUtf8(usize),
    #[error(
        "line {line} holds the control character U+{code:04X}, which a terminal would obey; \
         remove it first (the sale vault takes plain text only)"
    )]
    Control { line: usize, code: u32 },
}

/// A file's bytes as an item's text: UTF-8, no NUL, no control character but tab and newline
/// (CRLF line ends become LF; tabs become four spaces as everywhere keybot shows text).
pub fn from_bytes(bytes: &[u8]) -> Result<String, TextError> {
    if bytes.is_empty() {
        return Err(TextError::Empty);
    }
    if bytes.len() > MAX_BYTES {
        return Err(TextError::TooLarge(bytes.len()));
    }
    if let Some(at) = bytes.iter().position(|&b| b == 0) {
        return Err(TextError::Binary(at));
    }
    let text = std::str::from_utf8(bytes).map_err(|e| TextError::NotUtf8(e.valid_up_to()))?;
    let text = text.replace("\r\n", "\n");
    for (i, line) in text.split('\n').enumerate() {
        if let Some(c) = line
            .chars()
            .find(|&c| c != '\t' && sanitize::clean_line(c.encode_utf8(&mut [0; 4])).is_empty())
        {
            return Err(TextError::Control {
                line: i + 1,
                code: c as u32,
            });
        }
    }
    if text.trim().is_empty() {
        return Err(TextError::Empty);
    }
    Ok(sanitize::clean(&text).into_owned())
}

/// A conversation as an item's text: its title, then each user and assistant message under the
/// speaker's name. The system prompt is not included (it is the user's instructions to their
/// model, not part of the conversation). Model output is cleaned like everything shown.
pub fn from_conversation(conversation: &Conversation, messages: &[Message]) -> String {
    let mut out = String::new();
    out.push_str(&sanitize::clean_line(&conversation.title));
    out.push('\n');
    for m in messages {
        let who = match m.role {
            Role::User => "User",
            Role::Assistant => "Assistant",
            // What the wallet's tools returned (balances, addresses) is the user's, not the
            // conversation's words: never in a copy for sale.
            Role::System | Role::Tool => continue,
        };
        out.push('\n');
        out.push_str(who);
        out.push_str(":\n");
        out.push_str(sanitize::clean(&m.text).trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_taken_and_crlf_and_tabs_normalised() {
        assert_eq!(from_bytes(b"a\r\nb\tc").unwrap(), "a\nb    c");
    }

    #[test]
    fn what_is_not_plain_text_is_refused() {
        assert_eq!(from_bytes(b""), Err(TextError::Empty));
        assert_eq!(from_bytes(b" \n\n"), Err(TextError::Empty));
        assert_eq!(from_bytes(b"ab\0c"), Err(TextError::Binary(2)));
        assert_eq!(from_bytes(b"ab\xffc"), Err(TextError::NotUtf8(2)));
        assert_eq!(
            from_bytes(b"ok\nred \x1b[31m"),
            Err(TextError::Control {
                line: 2,
                code: 0x1b
            })
        );
        assert_eq!(
            from_bytes(b"lone\rreturn"),
            Err(TextError::Control {
                line: 1,
                code: 0x0d
            })
        );
        assert_eq!(
            from_bytes("trojan \u{202e}source".as_bytes()),
            Err(TextError::Control {
                line: 1,
                code: 0x202e
            })
        );
        let big = vec![b'a'; MAX_BYTES + 1];
        assert_eq!(from_bytes(&big), Err(TextError::TooLarge(MAX_BYTES + 1)));
        assert!(from_bytes(&big[..MAX_BYTES]).is_ok());
    }

    #[test]
    fn a_conversation_is_written_out_without_its_system_prompt_or_controls() {
        let c = Conversation {
            id: 1,
            uid: "u".into(),
            title: "Trip\nplans".into(),
            system_prompt: "be terse".into(),
            model: String::new(),
            created_at: 0,
            updated_at: 0,
        };
        let m = |role, text: &str| Message {
            id: 0,
            conversation_id: 1,
            role,
            text: text.into(),
            timings: Default::default(),
            created_at: 0,
        };
        let text = from_conversation(
            &c,
            &[
                m(Role::System, "secret instructions"),
                m(Role::User, "where to?"),
                m(Role::Assistant, "Lisbon\x1b[2J\n\n"),
            ],
        );
        assert_eq!(
            text,
            "Trip plans\n\nUser:\nwhere to?\n\nAssistant:\nLisbon\n"
        );
        assert_eq!(sanitize::clean(&text), text);
    }
}
