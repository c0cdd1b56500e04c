use std::path::PathBuf;

/// What can go wrong with a secret. Each message is one line a person can act on, and none of
/// them ever contains secret material.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("the phrase is empty")]
    EmptyPhrase,
    #[error("a phrase has 12, 15, 18, 21 or 24 words; this one has {0}")]
    WordCount(usize),
    #[error("word {position} is not in the BIP-39 English word list{}", suggestion_text(.suggestion))]
    UnknownWord {
        position: usize,
        suggestion: Option<&'static str>,
    },
    #[error("the phrase's checksum does not match: a word is wrong or the words are out of order")]
    BadChecksum,
    #[error("wrong password")]
    WrongPassword,
    #[error("the vault at {path} is corrupt ({reason}); it was left untouched")]
    CorruptVault { path: PathBuf, reason: String },
    #[error("no wallet at {0}: run `keybot init` first")]
    NoVault(PathBuf),
    #[error("a wallet already exists at {0}; keybot never overwrites a vault")]
    VaultExists(PathBuf),
    #[error("account index {0} is out of range (0 to 2147483647)")]
    IndexOutOfRange(u64),
    #[error("no imported account {0}")]
    NoSuchImported(String),
    #[error("that key is already in the wallet as {0}")]
    DuplicateKey(alloy::primitives::Address),
    #[error("keystore file: {0}")]
    Keystore(String),
    #[error("typed data: {0}")]
    TypedData(String),
    #[error("signature: {0}")]
    Signature(String),
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("API key: {0}")]
    ApiKey(&'static str),
    #[error("too large: {0}")]
    TooLarge(String),
    #[error("key derivation failed: {0}")]
    Derivation(String),
    #[error("market encryption: {0}")]
    Ecies(#[from] crate::market::EciesError),
    #[error("market delivery: {0}")]
    Delivery(#[from] crate::delivery::DeliveryError),
}

fn suggestion_text(s: &Option<&'static str>) -> String {
    match s {
        Some(w) => format!(" (did you mean \"{w}\"?)"),
        None => String::new(),
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn io(what: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            what: what.into(),
            source,
        }
    }
}
