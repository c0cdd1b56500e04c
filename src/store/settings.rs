//! Settings: string values by key (default model, GPU layers, theme, auto-lock minutes, …).
//!
//! Values are stored as text so a setting added by a later version needs no migration; the
//! typed helpers parse on read and report a stored value that does not parse instead of
//! silently using a default.
use std::collections::BTreeMap;
use std::str::FromStr;

use rusqlite::{OptionalExtension, params};

use super::{Error, Result, Store};

impl Store {
    /// The value of `key`, if set.
    pub fn setting(&self, key: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| {
                r.get(0)
            })
            .optional()?)
    }

    /// Sets (or replaces) `key`.
    pub fn set_setting(&self, key: &str, value: &str) -> Result<()> {
        self.conn.execute(
            "INSERT INTO settings (key, value) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            params![key, value],
        )?;
        Ok(())
    }

    /// Removes `key`; true if it was set.
    pub fn remove_setting(&self, key: &str) -> Result<bool> {
        Ok(self
            .conn
            .execute("DELETE FROM settings WHERE key = ?1", [key])?
            > 0)
    }

    /// Every setting, by key.
    pub fn settings(&self) -> Result<BTreeMap<String, String>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT key, value FROM settings")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The value of `key` parsed as `T` (numbers, booleans, …); `None` if unset,
    /// [`Error::BadSetting`] if the stored text is not a `T`.
    pub fn setting_as<T: FromStr>(&self, key: &str) -> Result<Option<T>> {
        match self.setting(key)? {
            None => Ok(None),
            Some(value) => match value.trim().parse() {
                Ok(v) => Ok(Some(v)),
                Err(_) => Err(Error::BadSetting {
                    key: key.to_owned(),
                    value,
                    expected: std::any::type_name::<T>(),
                }),
            },
        }
    }

    /// Stores any `Display` value (its text is what [`Store::setting_as`] parses back).
    pub fn set_setting_to<T: std::fmt::Display>(&self, key: &str, value: T) -> Result<()> {
        self.set_setting(key, &value.to_string())
    }
}
