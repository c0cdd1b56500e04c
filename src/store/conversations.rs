//! Conversations and their messages.
use rusqlite::{OptionalExtension, Row, params};
use serde::{Deserialize, Serialize};

use super::{Error, Result, Store, now_ms};

/// The local id of a conversation (differs between machines; see `uid`).
pub type ConversationId = i64;
/// The local id of a message.
pub type MessageId = i64;

/// A conversation's header, without its messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conversation {
    pub id: ConversationId,
    /// Random and stable across machines: what backup import matches on.
    pub uid: String,
    pub title: String,
    pub system_prompt: String,
    /// The model the conversation was held with (a registry name or file name), or empty.
    pub model: String,
    /// Unix milliseconds.
    pub created_at: i64,
    /// Unix milliseconds of the last change (rename, new or edited message).
    pub updated_at: i64,
}

/// Who said it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    User,
    Assistant,
    /// A tool the model called during a turn (issue 23): the text is one JSON object,
    /// `{"name", "arguments", "result"}`, stored before the answer it led to.
    Tool,
}

impl Role {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
            Role::Tool => "tool",
        }
    }

    fn parse(s: &str) -> Option<Role> {
        match s {
            "system" => Some(Role::System),
            "user" => Some(Role::User),
            "assistant" => Some(Role::Assistant),
            "tool" => Some(Role::Tool),
            _ => None,
        }
    }
}

/// Generation figures of an assistant message; all optional (unknown for user messages).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timings {
    /// Tokens generated.
    pub tokens: Option<u32>,
    /// Prompt processing (prefill) time, milliseconds.
    pub prompt_ms: Option<u32>,
    /// Generation time, milliseconds.
    pub gen_ms: Option<u32>,
}

/// A message to add.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMessage<'a> {
    pub role: Role,
    pub text: &'a str,
    pub timings: Timings,
}

/// A stored message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub id: MessageId,
    pub conversation_id: ConversationId,
    pub role: Role,
    pub text: String,
    pub timings: Timings,
    /// Unix milliseconds.
    pub created_at: i64,
}

const CONVERSATION_COLUMNS: &str =
    "c.id, c.uid, c.title, c.system_prompt, c.model, c.created_at, c.updated_at";
const MESSAGE_COLUMNS: &str =
    "id, conversation_id, role, text, tokens, prompt_ms, gen_ms, created_at";

fn conversation_from_row(r: &Row<'_>) -> rusqlite::Result<Conversation> {
    Ok(Conversation {
        id: r.get(0)?,
        uid: r.get(1)?,
        title: r.get(2)?,
        system_prompt: r.get(3)?,
        model: r.get(4)?,
        created_at: r.get(5)?,
        updated_at: r.get(6)?,
    })
}

fn message_from_row(r: &Row<'_>) -> rusqlite::Result<Message> {
    let role: String = r.get(2)?;
    let role = Role::parse(&role).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            2,
            rusqlite::types::Type::Text,
            format!("unknown role {role:?}").into(),
        )
    })?;
    Ok(Message {
        id: r.get(0)?,
        conversation_id: r.get(1)?,
        role,
        text: r.get(3)?,
        timings: Timings {
            tokens: r.get(4)?,
            prompt_ms: r.get(5)?,
            gen_ms: r.get(6)?,
        },
        created_at: r.get(7)?,
    })
}

/// A fresh random conversation uid (128 bits, hex).
pub(super) fn new_uid() -> Result<String> {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).map_err(|e| {
        Error::io(
            "cannot get random bytes",
            std::io::Error::other(e.to_string()),
        )
    })?;
    Ok(hex::encode(b))
}

impl Store {
    /// Creates an empty conversation.
    pub fn create_conversation(
        &self,
        title: &str,
        system_prompt: &str,
        model: &str,
    ) -> Result<Conversation> {
        let now = now_ms();
        self.insert_conversation(&new_uid()?, title, system_prompt, model, now, now)
    }

    pub(super) fn insert_conversation(
        &self,
        uid: &str,
        title: &str,
        system_prompt: &str,
        model: &str,
        created_at: i64,
        updated_at: i64,
    ) -> Result<Conversation> {
        self.conn.execute(
            "INSERT INTO conversations (uid, title, system_prompt, model, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![uid, title, system_prompt, model, created_at, updated_at],
        )?;
        self.conversation(self.conn.last_insert_rowid())
    }

    /// One conversation; [`Error::NoConversation`] if there is none with this id.
    pub fn conversation(&self, id: ConversationId) -> Result<Conversation> {
        self.conn
            .query_row(
                &format!("SELECT {CONVERSATION_COLUMNS} FROM conversations c WHERE c.id = ?1"),
                [id],
                conversation_from_row,
            )
            .optional()?
            .ok_or(Error::NoConversation(id))
    }

    /// The conversation with this cross-machine uid, if present.
    pub fn conversation_by_uid(&self, uid: &str) -> Result<Option<Conversation>> {
        Ok(self
            .conn
            .query_row(
                &format!("SELECT {CONVERSATION_COLUMNS} FROM conversations c WHERE c.uid = ?1"),
                [uid],
                conversation_from_row,
            )
            .optional()?)
    }

    /// Every conversation, most recently changed first.
    pub fn list_conversations(&self) -> Result<Vec<Conversation>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {CONVERSATION_COLUMNS} FROM conversations c
             ORDER BY c.updated_at DESC, c.id DESC"
        ))?;
        let rows = stmt.query_map([], conversation_from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Conversations whose title or any message contains `query` (case-insensitive for ASCII
    /// letters, as SQLite's LIKE is; `%` and `_` match literally), most recent first. An empty
    /// query lists everything.
    pub fn search_conversations(&self, query: &str) -> Result<Vec<Conversation>> {
        let mut pattern = String::with_capacity(query.len() + 2);
        pattern.push('%');
        for ch in query.chars() {
            if matches!(ch, '%' | '_' | '\\') {
                pattern.push('\\');
            }
            pattern.push(ch);
        }
        pattern.push('%');
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {CONVERSATION_COLUMNS} FROM conversations c
             WHERE c.title LIKE ?1 ESCAPE '\\'
                OR EXISTS (SELECT 1 FROM messages m
                           WHERE m.conversation_id = c.id AND m.text LIKE ?1 ESCAPE '\\')
             ORDER BY c.updated_at DESC, c.id DESC"
        ))?;
        let rows = stmt.query_map([pattern], conversation_from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn rename_conversation(&self, id: ConversationId, title: &str) -> Result<()> {
        self.update_conversation(id, "title", title)
    }

    pub fn set_system_prompt(&self, id: ConversationId, system_prompt: &str) -> Result<()> {
        self.update_conversation(id, "system_prompt", system_prompt)
    }

    pub fn set_model(&self, id: ConversationId, model: &str) -> Result<()> {
        self.update_conversation(id, "model", model)
    }

    /// `column` is one of a fixed set of names above, never user input.
    fn update_conversation(&self, id: ConversationId, column: &str, value: &str) -> Result<()> {
        let n = self.conn.execute(
            &format!("UPDATE conversations SET {column} = ?1, updated_at = ?2 WHERE id = ?3"),
            params![value, now_ms(), id],
        )?;
        if n == 0 {
            return Err(Error::NoConversation(id));
        }
        Ok(())
    }

    /// Deletes a conversation and all its messages.
    pub fn delete_conversation(&self, id: ConversationId) -> Result<()> {
        let n = self
            .conn
            .execute("DELETE FROM conversations WHERE id = ?1", [id])?;
        if n == 0 {
            return Err(Error::NoConversation(id));
        }
        Ok(())
    }

    /// Appends a message and marks the conversation as changed.
    pub fn add_message(
        &mut self,
        conversation: ConversationId,
        msg: &NewMessage<'_>,
    ) -> Result<Message> {
        let now = now_ms();
        let tx = self.conn.transaction()?;
        let id = insert_message(&tx, conversation, msg, now)?;
        touch(&tx, conversation, now)?;
        tx.commit()?;
        self.message(id)
    }

    fn message(&self, id: MessageId) -> Result<Message> {
        Ok(self.conn.query_row(
            &format!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE id = ?1"),
            [id],
            message_from_row,
        )?)
    }

    /// The messages of a conversation, oldest first.
    pub fn messages(&self, conversation: ConversationId) -> Result<Vec<Message>> {
        // Distinguish "no such conversation" from "no messages yet".
        self.conversation(conversation)?;
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages WHERE conversation_id = ?1 ORDER BY id"
        ))?;
        let rows = stmt.query_map([conversation], message_from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Replaces the text and timings of the conversation's last message, which must be an
    /// assistant message (regenerate, or the end of a streamed answer saved early).
    pub fn update_last_assistant(
        &mut self,
        conversation: ConversationId,
        text: &str,
        timings: Timings,
    ) -> Result<Message> {
        let tx = self.conn.transaction()?;
        let last: Option<(MessageId, String)> = tx
            .query_row(
                "SELECT id, role FROM messages WHERE conversation_id = ?1 ORDER BY id DESC LIMIT 1",
                [conversation],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let id = match last {
            Some((id, role)) if role == Role::Assistant.as_str() => id,
            _ => {
                exists(&tx, conversation)?;
                return Err(Error::NoAssistantMessage);
            }
        };
        tx.execute(
            "UPDATE messages SET text = ?1, tokens = ?2, prompt_ms = ?3, gen_ms = ?4 WHERE id = ?5",
            params![text, timings.tokens, timings.prompt_ms, timings.gen_ms, id],
        )?;
        touch(&tx, conversation, now_ms())?;
        tx.commit()?;
        self.message(id)
    }

    /// Deletes the conversation's last message (to edit the last question, or drop an answer)
    /// and returns it; `None` when the conversation has no messages.
    pub fn delete_last_message(&mut self, conversation: ConversationId) -> Result<Option<Message>> {
        let tx = self.conn.transaction()?;
        exists(&tx, conversation)?;
        let last = tx
            .query_row(
                &format!(
                    "SELECT {MESSAGE_COLUMNS} FROM messages WHERE conversation_id = ?1
                     ORDER BY id DESC LIMIT 1"
                ),
                [conversation],
                message_from_row,
            )
            .optional()?;
        if let Some(m) = &last {
            tx.execute("DELETE FROM messages WHERE id = ?1", [m.id])?;
            touch(&tx, conversation, now_ms())?;
        }
        tx.commit()?;
        Ok(last)
    }
}

pub(super) fn insert_message(
    conn: &rusqlite::Connection,
    conversation: ConversationId,
    msg: &NewMessage<'_>,
    created_at: i64,
) -> Result<MessageId> {
    exists(conn, conversation)?;
    conn.execute(
        "INSERT INTO messages (conversation_id, role, text, tokens, prompt_ms, gen_ms, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            conversation,
            msg.role.as_str(),
            msg.text,
            msg.timings.tokens,
            msg.timings.prompt_ms,
            msg.timings.gen_ms,
            created_at
        ],
    )?;
    Ok(conn.last_insert_rowid())
}

fn exists(conn: &rusqlite::Connection, conversation: ConversationId) -> Result<()> {
    conn.query_row(
        "SELECT 1 FROM conversations WHERE id = ?1",
        [conversation],
        |_| Ok(()),
    )
    .optional()?
    .ok_or(Error::NoConversation(conversation))
}

fn touch(conn: &rusqlite::Connection, conversation: ConversationId, now: i64) -> Result<()> {
    conn.execute(
        "UPDATE conversations SET updated_at = max(updated_at, ?1) WHERE id = ?2",
        params![now, conversation],
    )?;
    Ok(())
}
