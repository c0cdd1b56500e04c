//! Where keybot keeps its files.
//!
//! `KEYBOT_HOME=DIR` (or `--home DIR`) puts config, data and cache under one folder, which is
//! what tests and portable installs use; otherwise the platform's standard places from the
//! `directories` crate.
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

#[derive(Debug, Clone)]
pub struct Paths {
    pub config_dir: PathBuf,
    pub data_dir: PathBuf,
    pub cache_dir: PathBuf,
}

impl Paths {
    pub fn resolve(home: Option<&Path>) -> Result<Paths> {
        if let Some(home) = home {
            return Ok(Paths {
                config_dir: home.join("config"),
                data_dir: home.join("data"),
                cache_dir: home.join("cache"),
            });
        }
        let dirs = directories::ProjectDirs::from("", "", "keybot")
            .context("cannot find a home directory; set KEYBOT_HOME")?;
        Ok(Paths {
            config_dir: dirs.config_dir().to_owned(),
            data_dir: dirs.data_dir().to_owned(),
            cache_dir: dirs.cache_dir().to_owned(),
        })
    }

    /// The encrypted vault: seed entropy, BIP-39 passphrase and imported keys.
    pub fn vault(&self) -> PathBuf {
        self.data_dir.join("vault.kbv")
    }

    /// The encrypted store (SQLCipher): conversations, messages, settings.
    pub fn store(&self) -> PathBuf {
        self.data_dir.join(crate::store::FILE_NAME)
    }

    /// `config.toml`: networks and tokens (see `chain::network`).
    pub fn config_file(&self) -> PathBuf {
        self.config_dir.join("config.toml")
    }

    pub fn log_dir(&self) -> PathBuf {
        self.data_dir.join("logs")
    }

    pub fn log_file(&self) -> PathBuf {
        self.log_dir().join("keybot.log")
    }
}
