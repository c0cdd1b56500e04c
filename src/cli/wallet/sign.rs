//! `keybot wallet sign-message | verify | sign-typed-data`: signatures over a message or EIP-712
//! typed data, each shown in full and confirmed before it is made.
use std::path::{Path, PathBuf};

use alloy::primitives::Address;
use anyhow::{Result, bail};
use clap::Args;
use keybot_keystore::sign;

use super::Status;
use crate::chain::ChainConfig;
use crate::chain::safety::parse_address;
use crate::chain::sign_review::{self, SignReview};
use crate::cli::common::{parse_account, read_text, unlock};
use crate::cli::input;
use crate::config::Paths;

#[derive(Debug, Args)]
pub struct SignMessageArgs {
    #[arg(long, default_value = "0", value_name = "ACCOUNT")]
    account: String,
    message: String,
    /// Confirm without a prompt.
    #[arg(long)]
    yes: bool,
}

impl SignMessageArgs {
    pub fn run(self, paths: &Paths, pw_file: Option<&Path>) -> Result<Status> {
        let bytes = sign::message_bytes(&self.message);
        let as_hex = self.message.starts_with("0x") && bytes != self.message.as_bytes();
        let review = sign_review::message(&bytes, as_hex);
        refuse_unconfirmed(self.yes)?;
        let wallet = unlock(paths, pw_file)?;
        let account = parse_account(&wallet, &self.account)?;
        let signer = wallet.signer(account)?;
        show_sign_review("a message (personal_sign)", signer.address(), &review);
        confirm_signature(&review, self.yes, false)?;
        let sig = sign::sign_message(&signer, &bytes)?;
        println!("{}", sign::signature_hex(&sig));
        Ok(0)
    }
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    #[arg(long)]
    address: String,
    #[arg(long)]
    signature: String,
    message: String,
}

impl VerifyArgs {
    /// Needs no wallet: anyone's signature can be checked.
    pub fn run(self) -> Result<Status> {
        let address = parse_address(&self.address)?;
        let sig = sign::parse_signature(&self.signature)?;
        if sign::verify_message(address, &sign::message_bytes(&self.message), &sig) {
            println!("valid: signed by {address}");
            Ok(0)
        } else {
            println!("invalid: not signed by {address}");
            Ok(1)
        }
    }
}

#[derive(Debug, Args)]
pub struct SignTypedDataArgs {
    #[arg(long, default_value = "0", value_name = "ACCOUNT")]
    account: String,
    file: PathBuf,
    /// Confirm without a prompt.
    #[arg(long)]
    yes: bool,
    /// With --yes: also accept loud warnings (a permit, a domain for another chain).
    #[arg(long)]
    accept_warnings: bool,
}

impl SignTypedDataArgs {
    pub fn run(self, paths: &Paths, pw_file: Option<&Path>) -> Result<Status> {
        let json = read_text(&self.file)?;
        // Check the document before asking for a password.
        sign::typed_data_hash(&json)?;
        let config = ChainConfig::load(paths)?;
        let network = config.select(None)?.map(|(name, n)| (name, n.chain_id));
        let review = sign_review::typed_data(&json, network)?;
        refuse_unconfirmed(self.yes)?;
        let wallet = unlock(paths, pw_file)?;
        let signer = wallet.signer(parse_account(&wallet, &self.account)?)?;
        show_sign_review("EIP-712 typed data", signer.address(), &review);
        confirm_signature(&review, self.yes, self.accept_warnings)?;
        println!(
            "{}",
            sign::signature_hex(&sign::sign_typed_data(&signer, &json)?)
        );
        Ok(0)
    }
}

/// With no terminal to ask on, only `--yes` signs; said before the password is asked for.
fn refuse_unconfirmed(yes: bool) -> Result<()> {
    if !yes && !input::stdin_is_tty() {
        bail!("refusing to sign without confirmation: pass --yes");
    }
    Ok(())
}

/// What will be signed, on stderr (stdout carries only the signature). Values are cleaned by
/// [`sign_review`].
fn show_sign_review(what: &str, signer: Address, review: &SignReview) {
    eprintln!("Signing {what} with {}:", signer.to_checksum(None));
    for (k, v) in &review.lines {
        eprintln!("{k:>16}  {v}");
    }
    for w in &review.warnings {
        eprintln!("warning: {w}");
    }
}

/// A plain yes, or for a loud warning `--accept-warnings` with `--yes`, or typing SIGN.
fn confirm_signature(review: &SignReview, yes: bool, accept_warnings: bool) -> Result<()> {
    let loud = !review.warnings.is_empty();
    if yes {
        if loud && !accept_warnings {
            bail!("not signed: the warning above needs --accept-warnings as well as --yes");
        }
        return Ok(());
    }
    let ok = if loud {
        input::prompt_line("Type SIGN to sign despite the warning: ")?.as_str() == "SIGN"
    } else {
        input::ask_yes("Sign? [y/N] ")?
    };
    if !ok {
        bail!("not confirmed; nothing signed");
    }
    Ok(())
}
