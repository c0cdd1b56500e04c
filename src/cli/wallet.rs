//! `keybot wallet …`: addresses, signing, verification, keystore files, the phrase, the password.
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use clap::{Args, Subcommand};
use keybot_keystore::web3::{self, WriteParams};
use keybot_keystore::{Wallet, derive, sign, vault};

use alloy::primitives::Address;

use super::common::{parse_account, read_text, unlock, vault_password};
use super::input::{self, read_limited};
use super::send;
use crate::chain::ChainConfig;
use crate::chain::safety::parse_address;
use crate::chain::sign_review::{self, SignReview};
use crate::config::Paths;

#[derive(Debug, Args)]
pub struct WalletArgs {
    /// Read the vault password from FILE (or set KEYBOT_PASSWORD).
    #[arg(long, value_name = "FILE", global = true)]
    password_file: Option<PathBuf>,
    #[command(subcommand)]
    command: WalletCommand,
}

#[derive(Debug, Subcommand)]
pub enum WalletCommand {
    /// List account addresses (m/44'/60'/0'/0/i, EIP-55), then imported accounts.
    Addresses {
        #[arg(long, default_value_t = 5)]
        count: u32,
        #[arg(long, default_value_t = 0)]
        start: u32,
        #[arg(long)]
        json: bool,
    },
    /// Sign a message (EIP-191 personal_sign). A 0x-prefixed message is signed as raw bytes.
    /// Shows the message and asks first.
    SignMessage {
        #[arg(long, default_value = "0", value_name = "ACCOUNT")]
        account: String,
        message: String,
        /// Confirm without a prompt.
        #[arg(long)]
        yes: bool,
    },
    /// Verify a personal_sign signature; exits 0 when valid, 1 when not.
    Verify {
        #[arg(long)]
        address: String,
        #[arg(long)]
        signature: String,
        message: String,
    },
    /// Sign EIP-712 typed data from a JSON file (eth_signTypedData_v4 shape). Shows the domain,
    /// the type and the message first, and warns loudly for a token permit or another chain.
    SignTypedData {
        #[arg(long, default_value = "0", value_name = "ACCOUNT")]
        account: String,
        file: PathBuf,
        /// Confirm without a prompt.
        #[arg(long)]
        yes: bool,
        /// With --yes: also accept loud warnings (a permit, a domain for another chain).
        #[arg(long)]
        accept_warnings: bool,
    },
    /// Write an account's key as a Web3 Secret Storage v3 file (geth, cast and MetaMask read it).
    ExportKeystore {
        #[arg(long, value_name = "ACCOUNT")]
        account: String,
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Password of the new keystore file (or set KEYBOT_KEYSTORE_PASSWORD).
        #[arg(long, value_name = "FILE")]
        keystore_password_file: Option<PathBuf>,
    },
    /// Add the key in a v3 keystore file as an imported account.
    ImportKeystore {
        file: PathBuf,
        #[arg(long, default_value = "")]
        label: String,
        /// Password of the keystore file (or set KEYBOT_KEYSTORE_PASSWORD).
        #[arg(long, value_name = "FILE")]
        keystore_password_file: Option<PathBuf>,
    },
    /// Show the recovery phrase, after the password and an explicit confirmation.
    ShowMnemonic {
        /// Confirm without a prompt (for scripts; the phrase goes to standard output).
        #[arg(long)]
        yes: bool,
    },
    /// ETH and every configured token on the active network (or --network).
    Balance {
        #[arg(long, value_name = "ACCOUNT")]
        account: Option<String>,
        #[arg(long)]
        network: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Send ETH or a token: estimates EIP-1559 fees, shows exactly what will be signed, asks,
    /// broadcasts and waits for the receipt.
    Send {
        #[arg(long, value_name = "ADDRESS")]
        to: String,
        /// An exact decimal amount in the asset's units (e.g. 1.5).
        #[arg(long, value_name = "AMOUNT")]
        value: String,
        /// A configured token, by symbol or address (default: ETH).
        #[arg(long, value_name = "SYMBOL|ADDRESS")]
        token: Option<String>,
        #[arg(long, default_value = "0", value_name = "ACCOUNT")]
        account: String,
        #[arg(long)]
        network: Option<String>,
        /// Confirm without a prompt.
        #[arg(long)]
        yes: bool,
        /// With --yes: also accept loud warnings (a look-alike address, the token contract).
        #[arg(long)]
        accept_warnings: bool,
        /// Seconds to wait for the receipt.
        #[arg(long, default_value_t = 120)]
        wait: u64,
    },
    /// Sign a transaction described in a JSON file, with no network, and print the raw
    /// transaction (for `keybot chain broadcast` on an online machine).
    SignTx {
        file: PathBuf,
        #[arg(long, default_value = "0", value_name = "ACCOUNT")]
        account: String,
        /// Confirm without a prompt.
        #[arg(long)]
        yes: bool,
    },
    /// Sent transactions and received transfers, with status.
    Activity {
        #[arg(long)]
        network: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Re-encrypt the vault under a new password (atomic: the old vault stays valid until the new
    /// one is in place).
    ChangePassword {
        /// Read the new password from FILE (or set KEYBOT_NEW_PASSWORD).
        #[arg(long, value_name = "FILE")]
        new_password_file: Option<PathBuf>,
    },
}

/// Exit status of a successful command: `verify` answers with 1 for an invalid signature.
pub type Status = u8;

pub fn run(paths: &Paths, args: WalletArgs) -> Result<Status> {
    let pw_file = args.password_file.as_deref();
    match args.command {
        WalletCommand::Addresses { count, start, json } => {
            addresses(paths, pw_file, start, count, json)?
        }
        WalletCommand::SignMessage {
            account,
            message,
            yes,
        } => {
            let bytes = sign::message_bytes(&message);
            let as_hex = message.starts_with("0x") && bytes != message.as_bytes();
            let review = sign_review::message(&bytes, as_hex);
            refuse_unconfirmed(yes)?;
            let wallet = unlock(paths, pw_file)?;
            let account = parse_account(&wallet, &account)?;
            let signer = wallet.signer(account)?;
            show_sign_review("a message (personal_sign)", signer.address(), &review);
            confirm_signature(&review, yes, false)?;
            let sig = sign::sign_message(&signer, &bytes)?;
            println!("{}", sign::signature_hex(&sig));
        }
        WalletCommand::Verify {
            address,
            signature,
            message,
        } => {
            let address = parse_address(&address)?;
            let sig = sign::parse_signature(&signature)?;
            if sign::verify_message(address, &sign::message_bytes(&message), &sig) {
                println!("valid: signed by {address}");
            } else {
                println!("invalid: not signed by {address}");
                return Ok(1);
            }
        }
        WalletCommand::SignTypedData {
            account,
            file,
            yes,
            accept_warnings,
        } => {
            let json = read_text(&file)?;
            // Check the document before asking for a password.
            sign::typed_data_hash(&json)?;
            let config = ChainConfig::load(paths)?;
            let network = config.select(None)?.map(|(name, n)| (name, n.chain_id));
            let review = sign_review::typed_data(&json, network)?;
            refuse_unconfirmed(yes)?;
            let wallet = unlock(paths, pw_file)?;
            let signer = wallet.signer(parse_account(&wallet, &account)?)?;
            show_sign_review("EIP-712 typed data", signer.address(), &review);
            confirm_signature(&review, yes, accept_warnings)?;
            println!(
                "{}",
                sign::signature_hex(&sign::sign_typed_data(&signer, &json)?)
            );
        }
        WalletCommand::ExportKeystore {
            account,
            out,
            keystore_password_file,
        } => {
            if out.exists() {
                bail!("{} already exists; not overwritten", out.display());
            }
            let wallet = unlock(paths, pw_file)?;
            let account = parse_account(&wallet, &account)?;
            let key = wallet.private_key(account)?;
            let ks_pw = input::new_password(
                keystore_password_file.as_deref(),
                "KEYBOT_KEYSTORE_PASSWORD",
                "keystore",
            )?;
            let address = web3::export(&out, &key, &ks_pw, WriteParams::GETH_STANDARD)?;
            tracing::info!(%address, out = %out.display(), "keystore exported");
            eprintln!("wrote {} for {address}", out.display());
        }
        WalletCommand::ImportKeystore {
            file,
            label,
            keystore_password_file,
        } => {
            vault::check_label(&label)?;
            let json = read_limited(&file, 64 * 1024, "a keystore file")?;
            vault::check(&paths.vault())?;
            let ks_pw = input::existing_password(
                keystore_password_file.as_deref(),
                "KEYBOT_KEYSTORE_PASSWORD",
                "keystore",
            )?;
            let decrypted = web3::decrypt(&json, &ks_pw).map_err(|e| match e {
                keybot_keystore::Error::WrongPassword => {
                    anyhow::anyhow!("wrong keystore password (the file's MAC does not match)")
                }
                e => e.into(),
            })?;
            let password = vault_password(pw_file)?;
            // Read, change and write back under the vault's lock: an import or a password
            // change running at the same moment in another process is not lost.
            let (address, index) = vault::modify(&paths.vault(), &password, None, |wallet| {
                let address = wallet.import_key(decrypted.key, &label)?;
                Ok((address, wallet.imported().len() - 1))
            })?;
            tracing::info!(%address, "keystore imported");
            eprintln!("imported {address} as account imported:{index}");
        }
        WalletCommand::ShowMnemonic { yes } => {
            let wallet = unlock(paths, pw_file)?;
            if !yes {
                if !input::stdin_is_tty() {
                    bail!("refusing to print the phrase without confirmation: pass --yes");
                }
                eprintln!("Anyone who sees the phrase can take everything in this wallet.");
                let answer = input::prompt_line("Type SHOW to display it: ")?;
                if answer.as_str() != "SHOW" {
                    bail!("not confirmed; nothing shown");
                }
            }
            tracing::info!("recovery phrase shown");
            if yes || !std::io::stdout().is_terminal() {
                // For a script or a redirect: the phrase goes where standard output goes.
                println!("{}", *wallet.phrase().to_phrase_string());
            } else {
                show_on_alt_screen(&wallet)?;
            }
        }
        WalletCommand::Balance {
            account,
            network,
            json,
        } => {
            return send::balance(paths, pw_file, account.as_deref(), network.as_deref(), json);
        }
        WalletCommand::Send {
            to,
            value,
            token,
            account,
            network,
            yes,
            accept_warnings,
            wait,
        } => {
            return send::send(
                paths,
                pw_file,
                send::SendArgs {
                    to: &to,
                    value: &value,
                    token: token.as_deref(),
                    account: &account,
                    network: network.as_deref(),
                    yes,
                    accept_warnings,
                    wait,
                },
            );
        }
        WalletCommand::SignTx { file, account, yes } => {
            return send::sign_tx(paths, pw_file, &file, &account, yes);
        }
        WalletCommand::Activity { network, json } => {
            return send::activity(paths, pw_file, network.as_deref(), json);
        }
        WalletCommand::ChangePassword { new_password_file } => {
            vault::check(&paths.vault())?;
            let old = vault_password(pw_file)?;
            // Check the old password before asking for a new one.
            drop(vault::open(&paths.vault(), &old)?);
            let new =
                input::new_password(new_password_file.as_deref(), "KEYBOT_NEW_PASSWORD", "vault")?;
            vault::change_password(&paths.vault(), &old, &new)?;
            tracing::info!("vault password changed");
            eprintln!("password changed");
        }
    }
    Ok(0)
}

fn addresses(
    paths: &Paths,
    pw_file: Option<&Path>,
    start: u32,
    count: u32,
    json: bool,
) -> Result<()> {
    derive::checked_index(u64::from(start))?;
    if count > 10_000 {
        bail!("--count is at most 10000");
    }
    let wallet = unlock(paths, pw_file)?;
    let hd = wallet.addresses(start, count)?;
    let imported = wallet.imported();
    if json {
        let mut rows: Vec<serde_json::Value> = hd
            .iter()
            .zip(start..)
            .map(|(a, i)| serde_json::json!({"account": i.to_string(), "path": format!("m/44'/60'/0'/0/{i}"), "address": a.to_checksum(None)}))
            .collect();
        rows.extend(imported.iter().enumerate().map(|(i, k)| {
            serde_json::json!({"account": format!("imported:{i}"), "label": k.label, "address": k.address.to_checksum(None)})
        }));
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else {
        for (a, i) in hd.iter().zip(start..) {
            println!("{i:>4}  {}  m/44'/60'/0'/0/{i}", a.to_checksum(None));
        }
        for (i, k) in imported.iter().enumerate() {
            println!(
                "imported:{i}  {}  {}",
                k.address.to_checksum(None),
                crate::sanitize::clean_line(&k.label)
            );
        }
    }
    Ok(())
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

/// The phrase on the alternate screen, so that it leaves nothing in the terminal's scrollback,
/// until the user presses Enter.
fn show_on_alt_screen(wallet: &Wallet) -> Result<()> {
    let words = wallet.phrase().words();
    let _screen = super::screen::AltScreen::enter()?;
    eprintln!("Your recovery phrase ({} words):\n", words.len());
    eprintln!("{}", super::screen::numbered_words(&words));
    input::prompt_line("Press Enter to clear the screen… ")?;
    Ok(())
}
