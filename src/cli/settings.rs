//! `keybot settings [KEY [VALUE]]`: the settings the app's Settings screen shows, from a script
//! or a headless machine (a seller's `market serve` box, an IPFS gateway to set). Each value is
//! checked exactly as the screen checks it; a bad one is refused with one line and changes
//! nothing.
use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::Args;

use crate::cli::common::unlock;
use crate::config::Paths;
use crate::sanitize::clean_line;
use crate::service::settings::{self, DEFAULT_MODEL, ITEMS, Settings};
use crate::service::wallet::open_store;

#[derive(Debug, Args)]
pub struct SettingsArgs {
    /// Read the vault password from FILE (or set KEYBOT_PASSWORD).
    #[arg(long, value_name = "FILE")]
    password_file: Option<PathBuf>,
    /// The setting (without it: every setting and its value).
    key: Option<String>,
    /// The new value (without it: the setting's value).
    value: Option<String>,
}

impl SettingsArgs {
    pub fn run(self, paths: &Paths) -> Result<u8> {
        if let Some(key) = &self.key {
            if key == DEFAULT_MODEL {
                bail!("the default model is `keybot model default [NAME]`");
            }
            if !ITEMS.iter().any(|i| i.key == key) {
                bail!(
                    "{}: no such setting (`keybot settings` lists them)",
                    clean_line(key)
                );
            }
        }
        let wallet = unlock(paths, self.password_file.as_deref())?;
        let store = open_store(paths, &wallet)?;
        let (mut current, problems) = Settings::load(&store)?;
        for p in problems {
            eprintln!("{p}");
        }
        match (self.key, self.value) {
            (None, _) => {
                for item in ITEMS.iter().filter(|i| i.key != DEFAULT_MODEL) {
                    println!(
                        "{} = {}    # {}",
                        item.key,
                        current.text(item.key).unwrap_or_default(),
                        item.label
                    );
                }
            }
            (Some(key), None) => println!("{}", current.text(&key).unwrap_or_default()),
            (Some(key), Some(value)) => {
                current.set(&key, &value).map_err(anyhow::Error::msg)?;
                // Stored as the checked value reads back, so the next load finds it as shown.
                let text = current.text(&key).unwrap_or_default();
                store.set_setting(&key, &text)?;
                println!("{key} = {}", clean_line(&text));
                if key == settings::MARKET_CHALLENGE || key == settings::MARKET_DELIVERY {
                    eprintln!("(the app reads it at its next unlock)");
                }
            }
        }
        Ok(0)
    }
}
