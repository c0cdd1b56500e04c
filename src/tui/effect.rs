//! What `update` asks the runtime to do. Effects are plain data so `update` stays pure and
//! testable; the runtime performs them off the UI thread and answers with [`Action`]s.
use keybot_keystore::secret::Password;

use keybot_keystore::Address;

use crate::chain::send::{Review, SendRequest};
use crate::chat::Message as ChatMessage;
use crate::store::ConversationId;

use super::state::SecretText;

#[derive(Debug)]
pub enum Effect {
    GeneratePhrase {
        words: usize,
    },
    /// Create (or restore) the vault from the phrase and its BIP-39 passphrase (empty: none),
    /// and open the store.
    CreateWallet {
        phrase: SecretText,
        passphrase: SecretText,
        password: Password,
    },
    Unlock {
        password: Password,
    },
    /// Drop every secret: the wallet, the store handle, the model's conversation.
    Lock,
    DeriveAccounts {
        count: u32,
    },
    SetAccountLabel {
        index: u32,
        label: String,
    },
    Copy(String),
    ListConversations {
        search: Option<String>,
    },
    OpenConversation(ConversationId),
    NewConversation,
    RenameConversation(ConversationId, String),
    DeleteConversation(ConversationId),
    SetSystemPrompt(ConversationId, String),
    /// A chat turn: store the user's message (in a new conversation when `conversation` is
    /// None), then generate the answer for the whole conversation.
    Send {
        conversation: Option<ConversationId>,
        text: String,
        history: Vec<ChatMessage>,
        regenerate: bool,
    },
    SaveAnswer {
        conversation: ConversationId,
        text: String,
        tokens: u32,
        replace_last: bool,
    },
    /// Removes the last `count` messages (edit the last question).
    DeleteLastMessages {
        conversation: ConversationId,
        count: usize,
    },
    StopGeneration,
    LoadModel,
    /// Download and register a model (`REPO:FILE`).
    PullModel(String),
    /// Register a GGUF file that is already on this machine.
    AddModel(String),
    SaveSetting {
        key: String,
        value: String,
    },
    /// Read the block number and the balances of these accounts (only with a network).
    RefreshChain {
        addresses: Vec<Address>,
    },
    /// Sync activity with the chain (when there is a network), then list it from the store.
    SyncActivity,
    /// Check the chain and build the review of a send; signs nothing.
    PrepareSend {
        id: u64,
        request: SendRequest,
    },
    /// The user confirmed this review: sign it with HD account `account`, record it, broadcast
    /// it once and follow it.
    SignAndSend {
        account: u32,
        review: Box<Review>,
    },
    Quit,
}
