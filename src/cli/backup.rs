//! `keybot backup export|import FILE`: the encrypted archive of conversations and settings.
//!
//! Both unlock the vault only to derive two BIP-85 keys (database and backup); neither shows or
//! writes anything secret.
use std::path::{Path, PathBuf};

use crate::store::{self, backup};
use anyhow::{Result, bail};
use clap::{Args, Subcommand};
use keybot_keystore::bip85::Purpose;

use crate::config::Paths;

#[derive(Debug, Args)]
pub struct BackupArgs {
    /// Read the vault password from FILE (or set KEYBOT_PASSWORD).
    #[arg(long, value_name = "FILE", global = true)]
    password_file: Option<PathBuf>,
    #[command(subcommand)]
    command: BackupCommand,
}

#[derive(Debug, Subcommand)]
pub enum BackupCommand {
    /// Write every conversation and setting to FILE, encrypted under the seed's backup key.
    /// FILE must not exist yet.
    Export(ExportArgs),
    /// Add the conversations and settings in FILE (made from the same recovery phrase) to this
    /// machine's store. Conversations already here are kept as they are; so are settings.
    Import(ImportArgs),
}

impl BackupArgs {
    pub fn run(self, paths: &Paths) -> Result<()> {
        let pw_file = self.password_file.as_deref();
        match self.command {
            BackupCommand::Export(a) => a.run(paths, pw_file),
            BackupCommand::Import(a) => a.run(paths, pw_file),
        }
    }
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    file: PathBuf,
}

impl ExportArgs {
    fn run(self, paths: &Paths, pw_file: Option<&Path>) -> Result<()> {
        let file = &self.file;
        // Checked before the password prompt; the final create never overwrites either.
        if file.symlink_metadata().is_ok() {
            bail!("{} already exists; not overwritten", file.display());
        }
        let wallet = super::common::unlock(paths, pw_file)?;
        let store = crate::service::wallet::open_store(paths, &wallet)?;
        let archive = backup::export_to_file(&store, &wallet.purpose_key(Purpose::Backup)?, file)?;
        let messages: usize = archive.conversations.iter().map(|c| c.messages.len()).sum();
        println!(
            "wrote {}: {} conversations, {} messages, {} settings",
            file.display(),
            archive.conversations.len(),
            messages,
            archive.settings.len()
        );
        Ok(())
    }
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    file: PathBuf,
}

impl ImportArgs {
    fn run(self, paths: &Paths, pw_file: Option<&Path>) -> Result<()> {
        let file = &self.file;
        // A missing file is reported before the password prompt.
        if let Err(e) = std::fs::metadata(file) {
            bail!("cannot read {}: {e}", file.display());
        }
        let wallet = super::common::unlock(paths, pw_file)?;
        // Decrypt the whole archive before opening the store: a wrong phrase or a damaged file
        // stops here, and the store is not even created.
        let archive = backup::read_file(&wallet.purpose_key(Purpose::Backup)?, file)
            .map_err(store::Error::from)?;
        let mut store = crate::service::wallet::open_store(paths, &wallet)?;
        let r = store.import_archive(&archive)?;
        println!(
            "imported {}: {} conversations added ({} messages), {} already here; {} sale vault items added, {} already here; {} settings added, {} kept as set here",
            file.display(),
            r.conversations_added,
            r.messages_added,
            r.conversations_present,
            r.vault_items_added,
            r.vault_items_present,
            r.settings_added,
            r.settings_present
        );
        Ok(())
    }
}
