//! The HD accounts the user derived, and their labels: how many is a store setting
//! (`wallet.accounts`), each label another (`wallet.label.N`). Labels are the user's text
//! but a store can come from another machine's backup: they are returned without control
//! characters.
use keybot_keystore::{Address, Wallet};

use crate::sanitize::clean_line;
use crate::store::Store;

const COUNT: &str = "wallet.accounts";
/// The most accounts the app derives and lists.
pub const MAX: u32 = 1000;

fn label_key(index: u32) -> String {
    format!("wallet.label.{index}")
}

/// An HD account as the wallet screen lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub index: u32,
    pub address: Address,
    pub label: String,
}

/// How many HD accounts the user derived (at least 1). A stored count that is not a number
/// is an error, not one account.
pub fn count(store: &Store) -> crate::store::Result<u32> {
    Ok(store.setting_as::<u32>(COUNT)?.unwrap_or(1).clamp(1, MAX))
}

/// Remembers how many accounts to show.
pub fn set_count(store: &Store, count: u32) -> crate::store::Result<()> {
    store.set_setting_to(COUNT, count.clamp(1, MAX))
}

pub fn set_label(store: &Store, index: u32, label: &str) -> crate::store::Result<()> {
    store.set_setting(&label_key(index), label)
}

/// The first `count` HD accounts with their labels.
pub fn list(wallet: &Wallet, store: &Store, count: u32) -> anyhow::Result<Vec<Account>> {
    let addresses = wallet.addresses(0, count.clamp(1, MAX))?;
    let mut out = Vec::with_capacity(addresses.len());
    for (index, address) in (0..).zip(addresses) {
        let label = store.setting(&label_key(index))?.unwrap_or_default();
        out.push(Account {
            index,
            address,
            label: clean_line(&label).into_owned(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use keybot_keystore::Phrase;

    #[test]
    fn counts_and_labels_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let key = keybot_keystore::secret::Secret32::new([5; 32]);
        let store = Store::open(&dir.path().join("keybot.db"), &key).unwrap();
        let phrase = "test test test test test test test test test test test junk";
        let wallet = Wallet::new(Phrase::parse(phrase).unwrap(), "").unwrap();
        assert_eq!(count(&store).unwrap(), 1);
        set_count(&store, 3).unwrap();
        set_label(&store, 1, "savings\x1b[2J").unwrap();
        let rows = list(&wallet, &store, count(&store).unwrap()).unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[1].label, "savings");
        assert_eq!(rows[2].address, wallet.addresses(2, 1).unwrap()[0]);
        store.set_setting(COUNT, "many").unwrap();
        assert!(count(&store).is_err());
    }
}
