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
use crate::chain::send::{Outcome, Progress};
use crate::chain::{self, ChainConfig, Client};
use crate::config::Paths;

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
