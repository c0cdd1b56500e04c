//! `keybot wallet …`: addresses, signing, verification, keystore files, the phrase, the password.
//! Each subcommand is a struct with its own `run`, next to what it does: accounts.rs (addresses
//! and keystore files), sign.rs (messages and typed data), secrets.rs (the phrase and the
//! password), send.rs (balance, send, sign-tx, activity).
mod accounts;
mod secrets;
mod send;
mod sign;

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Subcommand};

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
    Addresses(accounts::AddressesArgs),
    /// Sign a message (EIP-191 personal_sign). A 0x-prefixed message is signed as raw bytes.
    /// Shows the message and asks first.
    SignMessage(sign::SignMessageArgs),
    /// Verify a personal_sign signature; exits 0 when valid, 1 when not.
    Verify(sign::VerifyArgs),
    /// Sign EIP-712 typed data from a JSON file (eth_signTypedData_v4 shape). Shows the domain,
    /// the type and the message first, and warns loudly for a token permit or another chain.
    SignTypedData(sign::SignTypedDataArgs),
    /// Write an account's key as a Web3 Secret Storage v3 file (geth, cast and MetaMask read it).
    ExportKeystore(accounts::ExportKeystoreArgs),
    /// Add the key in a v3 keystore file as an imported account.
    ImportKeystore(accounts::ImportKeystoreArgs),
    /// Show the recovery phrase, after the password and an explicit confirmation.
    ShowMnemonic(secrets::ShowMnemonicArgs),
    /// ETH and every configured token on the active network (or --network).
    Balance(send::BalanceArgs),
    /// Send ETH or a token: estimates EIP-1559 fees, shows exactly what will be signed, asks,
    /// broadcasts and waits for the receipt.
    Send(send::SendArgs),
    /// Sign a transaction described in a JSON file, with no network, and print the raw
    /// transaction (for `keybot chain broadcast` on an online machine).
    SignTx(send::SignTxArgs),
    /// Sent transactions and received transfers, with status.
    Activity(send::ActivityArgs),
    /// Re-encrypt the vault under a new password (atomic: the old vault stays valid until the new
    /// one is in place).
    ChangePassword(secrets::ChangePasswordArgs),
}

/// Exit status of a successful command: `verify` answers with 1 for an invalid signature.
pub type Status = u8;

impl WalletArgs {
    pub fn run(self, paths: &Paths) -> Result<Status> {
        let pw_file = self.password_file.as_deref();
        match self.command {
            WalletCommand::Addresses(a) => a.run(paths, pw_file),
            WalletCommand::SignMessage(a) => a.run(paths, pw_file),
            WalletCommand::Verify(a) => a.run(),
            WalletCommand::SignTypedData(a) => a.run(paths, pw_file),
            WalletCommand::ExportKeystore(a) => a.run(paths, pw_file),
            WalletCommand::ImportKeystore(a) => a.run(paths, pw_file),
            WalletCommand::ShowMnemonic(a) => a.run(paths, pw_file),
            WalletCommand::Balance(a) => a.run(paths, pw_file),
            WalletCommand::Send(a) => a.run(paths, pw_file),
            WalletCommand::SignTx(a) => a.run(paths, pw_file),
            WalletCommand::Activity(a) => a.run(paths, pw_file),
            WalletCommand::ChangePassword(a) => a.run(paths, pw_file),
        }
    }
}
