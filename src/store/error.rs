use std::path::PathBuf;

/// What can go wrong with the store. Each message is one line a person can act on.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "cannot open {}: wrong key or not a keybot database (was it made from a different recovery phrase?)",
        .0.display()
    )]
    WrongKeyOrNotADatabase(PathBuf),
    #[error(
        "{} has schema version {found}, newer than this keybot knows ({known}); upgrade keybot",
        path.display()
    )]
    SchemaTooNew {
        path: PathBuf,
        found: u32,
        known: u32,
    },
    #[error("no conversation {0}")]
    NoConversation(i64),
    #[error("no item {0} in the sale vault (`keybot market items` lists them)")]
    NoVaultItem(i64),
    #[error("the conversation has no assistant message to replace as its last message")]
    NoAssistantMessage,
    #[error("setting {key:?} holds {value:?}, which is not {expected}")]
    BadSetting {
        key: String,
        value: String,
        expected: &'static str,
    },
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error(transparent)]
    Backup(#[from] crate::store::backup::BackupError),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Error {
        Error::Io {
            context: context.into(),
            source,
        }
    }
}
