//! A chat turn with its persistence, and the engine the app talks to.
//!
//! The persistence half runs where the store lives (the app's store worker): a first question
//! creates its conversation, titled from the question; the user's message is saved before the
//! answer is asked for, and the answer after it is done. The engine half owns the engine thread
//! (started on first use) and forwards its events to whoever asked.
use std::sync::Arc;

use crate::chat::{ChatEvent, Engine, GenerateRequest, LoadRequest, Message, Prompt};
use crate::chat::{SamplingParams, engine::ChatCommand, engine::ChatError};
use crate::store::{self, Conversation, ConversationId, NewMessage, Role, Store, Timings};

/// The longest title made from a first question, in characters.
const TITLE_CHARS: usize = 48;

/// One question (or a regenerated answer) in a conversation.
#[derive(Debug, Clone)]
pub struct TurnRequest {
    /// None: a new conversation, created for this question.
    pub conversation: Option<ConversationId>,
    /// The user's message (unused when regenerating).
    pub text: String,
    /// The whole conversation the model answers, the question last.
    pub history: Vec<Message>,
    /// Answer the last question again; nothing new is saved.
    pub regenerate: bool,
}

/// A turn whose question is saved: what to generate, and the conversation it made, if any.
#[derive(Debug)]
pub struct Turn {
    pub conversation: ConversationId,
    /// The conversation created for this question, with its messages (to show as current).
    pub created: Option<(Conversation, Vec<store::Message>)>,
    pub generate: GenerateRequest,
}

/// A new conversation's title: the first question on one line, cut short.
pub fn title_for(text: &str) -> String {
    crate::sanitize::clean_line(text)
        .chars()
        .take(TITLE_CHARS)
        .collect()
}

/// Saves the question (creating and titling its conversation when it is the first) and says
/// what to generate with `sampling`.
pub fn begin_turn(
    store: &mut Store,
    req: TurnRequest,
    sampling: SamplingParams,
) -> store::Result<Turn> {
    let conversation = match req.conversation {
        Some(id) => id,
        None => store.create_conversation(&title_for(&req.text), "", "")?.id,
    };
    if !req.regenerate {
        store.add_message(
            conversation,
            &NewMessage {
                role: Role::User,
                text: &req.text,
                timings: Timings::default(),
            },
        )?;
    }
    let created = match req.conversation {
        None => Some((
            store.conversation(conversation)?,
            store.messages(conversation)?,
        )),
        Some(_) => None,
    };
    Ok(Turn {
        conversation,
        created,
        generate: GenerateRequest {
            prompt: Prompt::Chat(req.history),
            sampling,
            max_tokens: None,
        },
    })
}

/// A finished answer to save.
#[derive(Debug, Clone)]
pub struct Answer {
    pub conversation: ConversationId,
    pub text: String,
    pub tokens: u32,
    /// A regenerated answer replaces the last one.
    pub replace_last: bool,
    /// The bot's tool calls that led to the answer, one JSON object each
    /// (`{"name", "arguments", "result"}`), saved before it.
    pub tools: Vec<String>,
}

/// Saves an answer; the conversation list after it (its order changed).
pub fn save_answer(store: &mut Store, answer: &Answer) -> store::Result<Vec<Conversation>> {
    let timings = Timings {
        tokens: Some(answer.tokens),
        ..Timings::default()
    };
    for call in &answer.tools {
        store.add_message(
            answer.conversation,
            &NewMessage {
                role: Role::Tool,
                text: call,
                timings: Timings::default(),
            },
        )?;
    }
    if answer.text.is_empty() && !answer.tools.is_empty() {
        // Calls without an answer in words: they are kept, no empty message is.
    } else if answer.replace_last {
        store.update_last_assistant(answer.conversation, &answer.text, timings)?;
    } else {
        store.add_message(
            answer.conversation,
            &NewMessage {
                role: Role::Assistant,
                text: &answer.text,
                timings,
            },
        )?;
    }
    store.list_conversations()
}

/// The conversation list, or the ones matching `search`.
pub fn conversations(store: &Store, search: Option<&str>) -> store::Result<Vec<Conversation>> {
    match search.filter(|s| !s.is_empty()) {
        Some(q) => store.search_conversations(q),
        None => store.list_conversations(),
    }
}

/// Why the engine took no request: it could not start, or refused the command. Typed so the
/// app carries the cause in its actions; `Display` is the line it shows.
#[derive(Debug, Clone, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Chat(#[from] ChatError),
    #[error("cannot start the chat event thread: {0}")]
    EventThread(Arc<std::io::Error>),
    #[error("the chat engine did not start")]
    NotStarted,
}

/// The engine thread as a service: started on first use, its events forwarded to `forward`
/// from a thread of their own. Dropping it (locking) drops the model and its KV cache.
pub struct ChatEngine {
    engine: Option<Engine>,
    forward: Arc<dyn Fn(ChatEvent) -> bool + Send + Sync>,
}

impl ChatEngine {
    /// `forward` gets every engine event; it returns false when nobody listens any more.
    pub fn new(forward: impl Fn(ChatEvent) -> bool + Send + Sync + 'static) -> ChatEngine {
        ChatEngine {
            engine: None,
            forward: Arc::new(forward),
        }
    }

    fn engine(&mut self) -> Result<&Engine, EngineError> {
        if self.engine.is_none() {
            let mut engine = Engine::spawn()?;
            let events = engine.take_events();
            let forward = Arc::clone(&self.forward);
            std::thread::Builder::new()
                .name("chat-events".into())
                .spawn(move || {
                    while let Ok(ev) = events.recv() {
                        if !forward(ev) {
                            break;
                        }
                    }
                })
                .map_err(|e| EngineError::EventThread(Arc::new(e)))?;
            self.engine = Some(engine);
        }
        self.engine.as_ref().ok_or(EngineError::NotStarted)
    }

    /// Asks the engine to load a model; progress and the outcome arrive as events.
    pub fn load(&mut self, req: LoadRequest) -> Result<(), EngineError> {
        Ok(self.engine()?.send(ChatCommand::Load(Box::new(req)))?)
    }

    /// Starts an answer; its pieces arrive as events.
    pub fn generate(&mut self, req: GenerateRequest) -> Result<(), EngineError> {
        Ok(self.engine()?.generate(req)?)
    }

    /// Stops the answer being generated, if any.
    pub fn stop(&self) {
        if let Some(engine) = &self.engine {
            engine.stop();
        }
    }

    /// Drops the engine (and with it the model and the conversation in its KV cache).
    pub fn unload(&mut self) {
        self.engine = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(dir: &std::path::Path) -> Store {
        let key = keybot_keystore::secret::Secret32::new([9; 32]);
        Store::open(&dir.join("keybot.db"), &key).unwrap()
    }

    #[test]
    fn a_first_question_creates_a_titled_conversation_and_the_answer_is_saved_after_it() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = store(dir.path());
        let question = "What is\x1b[31m the capital of France, and why is it that city of all?";
        let turn = begin_turn(
            &mut store,
            TurnRequest {
                conversation: None,
                text: question.into(),
                history: vec![Message::user(question)],
                regenerate: false,
            },
            SamplingParams::default(),
        )
        .unwrap();
        let (conversation, messages) = turn.created.expect("a new conversation");
        assert_eq!(conversation.id, turn.conversation);
        assert_eq!(conversation.title.chars().count(), TITLE_CHARS);
        assert!(!conversation.title.contains('\x1b'));
        assert_eq!(messages.len(), 1);
        assert_eq!(turn.generate.sampling, SamplingParams::default());
        let list = save_answer(
            &mut store,
            &Answer {
                conversation: turn.conversation,
                text: "Paris.".into(),
                tokens: 3,
                replace_last: false,
                tools: vec![],
            },
        )
        .unwrap();
        assert_eq!(list.len(), 1);
        // A regenerated answer saves no new question and replaces the answer.
        let again = begin_turn(
            &mut store,
            TurnRequest {
                conversation: Some(turn.conversation),
                text: String::new(),
                history: vec![],
                regenerate: true,
            },
            SamplingParams::default(),
        )
        .unwrap();
        assert!(again.created.is_none());
        save_answer(
            &mut store,
            &Answer {
                conversation: turn.conversation,
                text: "Paris!".into(),
                tokens: 3,
                replace_last: true,
                tools: vec![],
            },
        )
        .unwrap();
        let messages = store.messages(turn.conversation).unwrap();
        assert_eq!(messages.len(), 2);
        assert_eq!(messages[1].text, "Paris!");
        assert_eq!(messages[1].role, Role::Assistant);
    }
}
