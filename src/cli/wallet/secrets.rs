//! `keybot wallet show-mnemonic | change-password`: the vault's own secrets, the recovery phrase
//! and the password that encrypts it.
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use clap::Args;
use keybot_keystore::{Wallet, vault};

use super::Status;
use crate::cli::common::{unlock, vault_password};
use crate::cli::input;
use crate::cli::screen::{AltScreen, numbered_words};
use crate::config::Paths;

#[derive(Debug, Args)]
pub struct ShowMnemonicArgs {
    /// Confirm without a prompt (for scripts; the phrase goes to standard output).
    #[arg(long)]
    yes: bool,
}

impl ShowMnemonicArgs {
    pub fn run(self, paths: &Paths, pw_file: Option<&Path>) -> Result<Status> {
        let wallet = unlock(paths, pw_file)?;
        if !self.yes {
            confirm_show()?;
        }
        tracing::info!("recovery phrase shown");
        if self.yes || !std::io::stdout().is_terminal() {
            // For a script or a redirect: the phrase goes where standard output goes.
            println!("{}", *wallet.phrase().to_phrase_string());
        } else {
            show_on_alt_screen(&wallet)?;
        }
        Ok(0)
    }
}

/// Without `--yes`, the user types SHOW on a terminal; with no terminal nothing is shown.
fn confirm_show() -> Result<()> {
    if !input::stdin_is_tty() {
        bail!("refusing to print the phrase without confirmation: pass --yes");
    }
    eprintln!("Anyone who sees the phrase can take everything in this wallet.");
    let answer = input::prompt_line("Type SHOW to display it: ")?;
    if answer.as_str() != "SHOW" {
        bail!("not confirmed; nothing shown");
    }
    Ok(())
}

/// The phrase on the alternate screen, so that it leaves nothing in the terminal's scrollback,
/// until the user presses Enter.
fn show_on_alt_screen(wallet: &Wallet) -> Result<()> {
    let words = wallet.phrase().words();
    let _screen = AltScreen::enter()?;
    eprintln!("Your recovery phrase ({} words):\n", words.len());
    eprintln!("{}", numbered_words(&words));
    input::prompt_line("Press Enter to clear the screen… ")?;
    Ok(())
}

#[derive(Debug, Args)]
pub struct ChangePasswordArgs {
    /// Read the new password from FILE (or set KEYBOT_NEW_PASSWORD).
    #[arg(long, value_name = "FILE")]
    new_password_file: Option<PathBuf>,
}

impl ChangePasswordArgs {
    pub fn run(self, paths: &Paths, pw_file: Option<&Path>) -> Result<Status> {
        vault::check(&paths.vault())?;
        let old = vault_password(pw_file)?;
        // Check the old password before asking for a new one.
        drop(vault::open(&paths.vault(), &old)?);
        let new = input::new_password(
            self.new_password_file.as_deref(),
            "KEYBOT_NEW_PASSWORD",
            "vault",
        )?;
        vault::change_password(&paths.vault(), &old, &new)?;
        tracing::info!("vault password changed");
        eprintln!("password changed");
        Ok(0)
    }
}
