//! Helpers every subcommand group uses (unlocking the vault, naming an account, reading a
//! document, reaching a network, reporting a send), so that the subcommand files never import
//! each other.
use std::io::IsTerminal;
use std::path::Path;

use anyhow::{Context, Result, bail};
use keybot_keystore::secret::Password;
use keybot_keystore::{AccountRef, Wallet, derive, vault};

use super::input;
use crate::chain::safety::parse_address;
use crate::chain::send::{Outcome, Progress, Review};
use crate::chain::{self, ChainConfig, Client};
use crate::chain::{ChainError, Intent, Refusal};
use crate::config::Paths;
use crate::sanitize::clean_line;
use crate::service::tx;
use crate::store::Store;

pub fn vault_password(pw_file: Option<&Path>) -> Result<Password> {
    input::existing_password(pw_file, "KEYBOT_PASSWORD", "vault")
}

/// Opens the vault. A missing or damaged vault is reported before a password is asked for.
pub fn unlock(paths: &Paths, pw_file: Option<&Path>) -> Result<Wallet> {
    let path = paths.vault();
    vault::check(&path)?;
    let password = vault_password(pw_file)?;
    Ok(vault::open(&path, &password)?)
}

/// `3` (HD account 3), `imported:0`, or an address of one of the wallet's accounts.
pub fn parse_account(wallet: &Wallet, s: &str) -> Result<AccountRef> {
    if let Some(n) = s.strip_prefix("imported:") {
        let i: usize = n.parse().with_context(|| format!("bad account {s:?}"))?;
        if i >= wallet.imported().len() {
            bail!(
                "no imported account {i} (the wallet has {})",
                wallet.imported().len()
            );
        }
        return Ok(AccountRef::Imported(i));
    }
    if s.starts_with("0x") {
        let address = parse_address(s)?;
        return wallet.find(address, 100)?.with_context(|| {
            format!(
                "{address} is not one of this wallet's accounts (searched imported and HD 0-99)"
            )
        });
    }
    let i: u64 = s
        .parse()
        .with_context(|| format!("bad account {s:?}: give an index, imported:N or an address"))?;
    Ok(AccountRef::Hd(derive::checked_index(i)?))
}

/// The client for `name` (or the active network). With nothing configured this fails with
/// "offline" before any socket is opened.
pub fn connect(config: &ChainConfig, name: Option<&str>) -> Result<Client> {
    let (name, net) = config.select(name)?.ok_or(chain::ChainError::NoNetwork)?;
    Ok(Client::new(name, net)?)
}

/// Progress on stderr. The seconds counter rewrites one line, so it is drawn only on a
/// terminal; [`report`] clears that line before the outcome.
pub fn progress(p: Progress) {
    match p {
        Progress::Broadcast(h) => eprintln!("broadcast {h}; waiting for the receipt…"),
        Progress::Waiting { seconds } if std::io::stderr().is_terminal() => {
            eprint!("\r  waiting {seconds} s ")
        }
        Progress::Waiting { .. } => {}
    }
}

/// Prints how a send ended; the exit status: 0 confirmed or pending, 1 reverted or lost.
pub fn report(hash: alloy::primitives::B256, outcome: &Outcome) -> Result<u8> {
    if std::io::stderr().is_terminal() {
        eprint!("\r\x1b[2K");
    }
    match outcome {
        Outcome::Confirmed { block } => {
            println!("confirmed {hash} in block {block}");
            Ok(0)
        }
        Outcome::Reverted { block } => {
            bail!("transaction {hash} reverted on chain in block {block} (the fee was spent)")
        }
        Outcome::StillPending => {
            println!("pending {hash}: not mined yet; `keybot wallet activity` follows it");
            Ok(0)
        }
        Outcome::RpcLost { reason } => bail!(
            "{reason}. Transaction {hash} was handed to the RPC and is recorded; it will not be \
             signed again. `keybot wallet activity` finds it when the RPC is back"
        ),
    }
}

/// The largest JSON document (typed data, a transaction) read from a file.
const MAX_DOCUMENT_BYTES: u64 = 1 << 20;

pub fn read_text(path: &Path) -> Result<String> {
    let bytes = input::read_limited(path, MAX_DOCUMENT_BYTES, "a JSON document")?;
    String::from_utf8(bytes)
        .map_err(|_| anyhow::anyhow!("{} is not valid UTF-8 text", path.display()))
}

/// The review on stderr. Its values include token symbols from config.toml: cleaned.
pub fn show_review(review: &Review) {
    eprintln!("{}", clean_line(&review.intent.sentence()));
    eprintln!("{}", review.fee_sentence());
    eprintln!("Review — this is exactly what will be signed:");
    for (k, v) in review.lines() {
        eprintln!("{k:>10}  {}", clean_line(&v));
    }
    for w in &review.warnings {
        eprintln!("warning: {}", clean_line(&review.warning(w)));
    }
}

/// Asks before signing. A loud warning (a look-alike address, the token contract, a fee far
/// above the norm) needs more than `--yes`: `--accept-warnings`, or typing the characters of
/// the recipient that a look-alike does not share ([`Review::challenge`]).
/// `what` is what a yes does: "Sign and send", or only "Sign" for an offline file.
pub fn confirm(review: &Review, yes: bool, accept_warnings: bool, what: &str) -> Result<()> {
    let loud = review.has_loud_warning();
    if yes {
        if loud && !accept_warnings {
            return Err(ChainError::from(Refusal::Warning(
                "the warning above needs --accept-warnings as well as --yes".into(),
            ))
            .into());
        }
        return Ok(());
    }
    let ok = if loud {
        let challenge = review.challenge();
        challenge.accepts(&input::prompt_line(
            &challenge.prompt(&what.to_lowercase()),
        )?)
    } else {
        input::ask_yes(&format!("{what}? [y/N] "))?
    };
    if !ok {
        return Err(ChainError::from(Refusal::NotConfirmed).into());
    }
    Ok(())
}

/// What a command needs to send an intent the way `wallet send` does.
pub struct Sender<'a> {
    pub rt: &'a tokio::runtime::Runtime,
    pub client: &'a Client,
    pub store: &'a Store,
    pub wallet: &'a Wallet,
    pub own: &'a [alloy::primitives::Address],
    pub yes: bool,
    pub accept_warnings: bool,
    pub wait: std::time::Duration,
    /// Set when the user's model proposed this transaction (`keybot ask`): the review says so
    /// first, and loudly (`Some(false)`) when the user never typed what it pays.
    pub proposed: Option<bool>,
}

impl Sender<'_> {
    /// Prepares `intent` (reconcile, checks, dry run), shows the review, asks (unless --yes),
    /// signs with `account`, records and broadcasts: the one path every transaction takes.
    /// `what` is what a yes does ("List", "Buy").
    pub fn send(
        &self,
        account: AccountRef,
        intent: impl Into<Intent>,
        what: &str,
    ) -> Result<(alloy::primitives::B256, Outcome)> {
        let mut review =
            self.rt
                .block_on(tx::prepare(self.client, Some(self.store), intent, self.own))?;
        if let Some(from_user) = self.proposed {
            review.mark_proposed_by_model(from_user);
        }
        show_review(&review);
        confirm(&review, self.yes, self.accept_warnings, what)?;
        let record = tx::sign(self.wallet, account, &review)?;
        let outcome = self.rt.block_on(tx::broadcast(
            self.client,
            Some(self.store),
            &record,
            self.wait,
            &mut progress,
        ))?;
        Ok((record.hash, outcome))
    }

    /// [`Sender::send`], then the outcome reported; an error unless it was confirmed (a
    /// market step builds on the last one).
    pub fn send_confirmed(
        &self,
        account: AccountRef,
        intent: impl Into<Intent>,
        what: &str,
    ) -> Result<alloy::primitives::B256> {
        let (hash, outcome) = self.send(account, intent, what)?;
        report(hash, &outcome)?;
        match outcome {
            Outcome::Confirmed { .. } => Ok(hash),
            _ => bail!("transaction {hash} is not confirmed yet; run the command again once it is"),
        }
    }
}
