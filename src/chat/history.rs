//! Making a conversation fit the context window.
//!
//! The rule: the system prompt stays, the newest user turn stays whole, and whole exchanges are
//! dropped from the oldest end until the rest fits. Cutting tokens out of the middle of a turn,
//! or off the newest one, would silently change what the user asked.
use super::template::Message;

/// The index range of the oldest droppable exchange: the first non-system message up to (not
/// including) the next user message. `None` when only the newest user turn would be left.
pub fn oldest_exchange(messages: &[Message]) -> Option<std::ops::Range<usize>> {
    let start = messages.iter().position(|m| m.role != "system")?;
    let last = messages.len().checked_sub(1)?;
    if start >= last {
        return None;
    }
    let end = messages[start + 1..]
        .iter()
        .position(|m| m.role == "user")
        .map_or(last, |i| start + 1 + i)
        .min(last);
    (end > start).then_some(start..end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roles(ms: &[Message]) -> String {
        ms.iter().map(|m| &m.role[..1]).collect()
    }

    #[test]
    fn drops_the_oldest_exchange_after_the_system_prompt() {
        let mut ms = vec![
            Message::system("s"),
            Message::user("1"),
            Message::assistant("a1"),
            Message::user("2"),
            Message::assistant("a2"),
            Message::user("3"),
        ];
        let r = oldest_exchange(&ms).unwrap();
        ms.drain(r);
        assert_eq!(roles(&ms), "suau");
        assert_eq!(ms[1].content, "2");
        let r = oldest_exchange(&ms).unwrap();
        ms.drain(r);
        assert_eq!(roles(&ms), "su");
        assert_eq!(ms[1].content, "3");
        assert!(
            oldest_exchange(&ms).is_none(),
            "the newest turn is never dropped"
        );
    }

    #[test]
    fn works_without_a_system_prompt() {
        let ms = vec![
            Message::user("1"),
            Message::assistant("a"),
            Message::user("2"),
        ];
        assert_eq!(oldest_exchange(&ms), Some(0..2));
        assert_eq!(oldest_exchange(&[Message::user("only")]), None);
    }
}
