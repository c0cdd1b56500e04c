//! `keybot wallet addresses | export-keystore | import-keystore`: the wallet's accounts, and
//! keys moved in and out as Web3 Secret Storage v3 files.
use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use clap::Args;
use keybot_keystore::web3::{self, WriteParams};
use keybot_keystore::{derive, vault};

use super::Status;
use crate::cli::common::{parse_account, unlock, vault_password};
use crate::cli::input::{self, read_limited};
use crate::config::Paths;

#[derive(Debug, Args)]
pub struct AddressesArgs {
    #[arg(long, default_value_t = 5)]
    count: u32,
    #[arg(long, default_value_t = 0)]
    start: u32,
    #[arg(long)]
    json: bool,
}

impl AddressesArgs {
    pub fn run(self, paths: &Paths, pw_file: Option<&Path>) -> Result<Status> {
        let Self { count, start, json } = self;
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
        Ok(0)
    }
}

#[derive(Debug, Args)]
pub struct ExportKeystoreArgs {
    #[arg(long, value_name = "ACCOUNT")]
    account: String,
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// Password of the new keystore file (or set KEYBOT_KEYSTORE_PASSWORD).
    #[arg(long, value_name = "FILE")]
    keystore_password_file: Option<PathBuf>,
}

impl ExportKeystoreArgs {
    pub fn run(self, paths: &Paths, pw_file: Option<&Path>) -> Result<Status> {
        let out = &self.out;
        if out.exists() {
            bail!("{} already exists; not overwritten", out.display());
        }
        let wallet = unlock(paths, pw_file)?;
        let account = parse_account(&wallet, &self.account)?;
        let key = wallet.private_key(account)?;
        let ks_pw = input::new_password(
            self.keystore_password_file.as_deref(),
            "KEYBOT_KEYSTORE_PASSWORD",
            "keystore",
        )?;
        let address = web3::export(out, &key, &ks_pw, WriteParams::GETH_STANDARD)?;
        tracing::info!(%address, out = %out.display(), "keystore exported");
        eprintln!("wrote {} for {address}", out.display());
        Ok(0)
    }
}

#[derive(Debug, Args)]
pub struct ImportKeystoreArgs {
    file: PathBuf,
    #[arg(long, default_value = "")]
    label: String,
    /// Password of the keystore file (or set KEYBOT_KEYSTORE_PASSWORD).
    #[arg(long, value_name = "FILE")]
    keystore_password_file: Option<PathBuf>,
}

impl ImportKeystoreArgs {
    pub fn run(self, paths: &Paths, pw_file: Option<&Path>) -> Result<Status> {
        let label = &self.label;
        vault::check_label(label)?;
        let json = read_limited(&self.file, 64 * 1024, "a keystore file")?;
        vault::check(&paths.vault())?;
        let ks_pw = input::existing_password(
            self.keystore_password_file.as_deref(),
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
            let address = wallet.import_key(decrypted.key, label)?;
            Ok((address, wallet.imported().len() - 1))
        })?;
        tracing::info!(%address, "keystore imported");
        eprintln!("imported {address} as account imported:{index}");
        Ok(0)
    }
}
