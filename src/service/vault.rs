//! The sale vault for the command line and the app: add an item, see it as a buyer would,
//! keep or remove spans, consent, remove. Nothing here reaches the network.
use std::path::Path;

use anyhow::{Context, Result, bail};
use keybot_keystore::{AccountRef, Wallet, sign};

use crate::market::consent;
use crate::market::item_text::{self, MAX_BYTES};
use crate::market::vault::{self as vault_view, Change, Preview};
use crate::sanitize;
use crate::store::{Consent, ConversationId, ItemId, Store, VaultItem};

/// An item with its preview and the state of its consent.
#[derive(Debug, Clone)]
pub struct ItemView {
    pub item: VaultItem,
    pub preview: Preview,
    pub consent: ConsentState,
}

/// Whether the item may be listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConsentState {
    None,
    /// Signed over the current plaintext.
    Given(Consent),
    /// Signed over other bytes (a newer keybot's detectors changed the preview): to be given
    /// again.
    Stale(Consent),
}

impl ConsentState {
    pub fn label(&self) -> &'static str {
        match self {
            ConsentState::None => "no consent",
            ConsentState::Given(_) => "consented",
            ConsentState::Stale(_) => "consent out of date",
        }
    }

    pub fn is_given(&self) -> bool {
        matches!(self, ConsentState::Given(_))
    }
}

fn view_of(store: &Store, item: VaultItem) -> Result<ItemView> {
    let decisions = store.vault_decisions(item.id)?;
    let preview = Preview::new(&item.text, &decisions);
    let consent = match store.vault_consent(item.id)? {
        None => ConsentState::None,
        Some(c) if c.sha256 == preview.sha256() => ConsentState::Given(c),
        Some(c) => ConsentState::Stale(c),
    };
    Ok(ItemView {
        item,
        preview,
        consent,
    })
}

/// One item as the buyer would get it.
pub fn view(store: &Store, id: ItemId) -> Result<ItemView> {
    let item = store.vault_item(id)?;
    view_of(store, item)
}

/// Every item, in the order they were added.
pub fn list(store: &Store) -> Result<Vec<ItemView>> {
    store
        .vault_items()?
        .into_iter()
        .map(|item| view_of(store, item))
        .collect()
}

/// A title for an item: the one given, or the file's or conversation's, on one line.
fn title_of(given: Option<&str>, fallback: &str) -> String {
    let t = sanitize::clean_line(given.unwrap_or(fallback))
        .trim()
        .to_owned();
    if t.is_empty() { "untitled".into() } else { t }
}

/// Adds a copy of a text file.
pub fn add_file(store: &Store, path: &Path, title: Option<&str>) -> Result<ItemView> {
    let shown = sanitize::clean_line(&path.display().to_string()).into_owned();
    let meta = std::fs::metadata(path).with_context(|| format!("cannot read {shown}"))?;
    if !meta.is_file() {
        bail!("{shown} is not a file; the sale vault takes text files");
    }
    let bytes = keybot_keystore::atomic::read_limited(path, MAX_BYTES as u64).map_err(|e| {
        if e.kind() == std::io::ErrorKind::FileTooLarge {
            anyhow::anyhow!(
                "{shown}: {}",
                item_text::TextError::TooLarge(meta.len() as usize)
            )
        } else {
            anyhow::Error::new(e).context(format!("cannot read {shown}"))
        }
    })?;
    let text = item_text::from_bytes(&bytes).map_err(|e| anyhow::anyhow!("{shown}: {e}"))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| shown.clone());
    let title = title_of(title, &name);
    let item = store.add_vault_item(
        &title,
        &format!("file {}", sanitize::clean_line(&name)),
        &text,
    )?;
    tracing::info!(item = item.id, bytes = item.text.len(), "vault: file added");
    view_of(store, item)
}

/// Adds a copy of a conversation.
pub fn add_chat(store: &Store, id: ConversationId, title: Option<&str>) -> Result<ItemView> {
    let conversation = store.conversation(id)?;
    let messages = store.messages(id)?;
    if messages.is_empty() {
        bail!("conversation {id} has no messages");
    }
    let text = item_text::from_conversation(&conversation, &messages);
    if text.len() > MAX_BYTES {
        bail!(
            "conversation {id}: {}",
            item_text::TextError::TooLarge(text.len())
        );
    }
    let title = title_of(title, &conversation.title);
    let item = store.add_vault_item(&title, &format!("chat {id}"), &text)?;
    tracing::info!(
        item = item.id,
        bytes = item.text.len(),
        "vault: conversation added"
    );
    view_of(store, item)
}

fn apply(store: &Store, id: ItemId, change: Change) -> Result<ItemView> {
    store.decide_vault_spans(id, &change.undo, &change.add)?;
    view(store, id)
}

/// Shows span `number` to the buyer (refused for a secret).
pub fn keep(store: &Store, id: ItemId, number: usize) -> Result<ItemView> {
    let v = view(store, id)?;
    let change = vault_view::keep(&v.preview, number)?;
    apply(store, id, change)
}

/// Removes span `number` again.
pub fn redact(store: &Store, id: ItemId, number: usize) -> Result<ItemView> {
    let v = view(store, id)?;
    let change = vault_view::redact(&v.preview, number)?;
    apply(store, id, change)
}

/// Removes what the user's own model found (people and places, as spans of the item's text)
/// that the preview does not remove already; each is kept as a decision of kind `model:…`,
/// keepable like the detectors' finds.
pub fn add_model_spans(
    store: &Store,
    id: ItemId,
    spans: &[keybot_redact::Span],
) -> Result<ItemView> {
    let v = view(store, id)?;
    let removed = |s: &keybot_redact::Span| {
        v.preview
            .entries
            .iter()
            .any(|e| e.removed && e.start <= s.start && s.end <= e.end)
    };
    let add: Vec<crate::store::Decision> = spans
        .iter()
        .filter(|s| s.start < s.end && v.item.text.get(s.start..s.end).is_some() && !removed(s))
        .map(|s| crate::store::Decision {
            action: crate::store::Action::Redact,
            start: s.start,
            end: s.end,
            kind: format!("{}{}", vault_view::MODEL_PREFIX, s.kind.key()),
        })
        .collect();
    apply(store, id, Change { undo: vec![], add })
}

/// Removes every occurrence of `needle`.
pub fn redact_text(store: &Store, id: ItemId, needle: &str) -> Result<ItemView> {
    let v = view(store, id)?;
    let change = vault_view::redact_text(&v.item.text, &v.preview, needle)?;
    apply(store, id, change)
}

/// Signs the consent statement over the item's current plaintext with `account` and stores
/// it. `time` is Unix seconds (the caller's clock).
pub fn consent(
    store: &Store,
    wallet: &Wallet,
    account: AccountRef,
    id: ItemId,
    time: i64,
) -> Result<(ItemView, String)> {
    let v = view(store, id)?;
    let sha = v.preview.sha256();
    let statement = consent::statement(id, &sha, time);
    let signer = wallet.signer(account)?;
    let signature = sign::sign_message(&signer, statement.as_bytes())?;
    let consent = Consent {
        account: signer.address().to_checksum(None),
        sha256: sha,
        time,
        signature: sign::signature_hex(&signature),
    };
    store.set_vault_consent(id, &consent)?;
    tracing::info!(item = id, "vault: consent signed");
    Ok((view(store, id)?, statement))
}

/// Deletes an item (overwritten in the file: the store runs with `secure_delete`).
pub fn remove(store: &Store, id: ItemId) -> Result<()> {
    store.delete_vault_item(id)?;
    tracing::info!(item = id, "vault: item removed");
    Ok(())
}

/// Unix seconds now.
pub fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tests::temp_store;

    const PHRASE: &str = "test test test test test test test test test test test junk";

    /// An item made before names were detected: its decisions (an e-mail kept) still hold, the
    /// name it holds is removed when its preview is next computed, and the consent given to the
    /// old bytes is out of date, so it is asked for again.
    #[test]
    fn an_item_from_before_names_keeps_its_decisions_and_its_consent_is_asked_again() {
        use sha2::Digest as _;
        let (dir, store) = temp_store();
        let path = dir.path().join("old.txt");
        std::fs::write(
            &path,
            "Write to anna@example.org. My neighbour Zbigniew Kowalczyk has the key.\n",
        )
        .unwrap();
        let v = add_file(&store, &path, None).unwrap();
        // The e-mail is span 1; the seller kept it.
        let v = keep(&store, v.item.id, 1).unwrap();
        assert!(v.preview.text.contains("anna@example.org"));
        // What an older keybot showed, and the seller consented to: the name still in it.
        let old_preview =
            "Write to anna@example.org. My neighbour Zbigniew Kowalczyk has the key.\n";
        store
            .set_vault_consent(
                v.item.id,
                &crate::store::Consent {
                    account: "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266".into(),
                    sha256: hex::encode(sha2::Sha256::digest(old_preview.as_bytes())),
                    time: 1_600_000_000,
                    signature: "0x00".into(),
                },
            )
            .unwrap();
        let now = view(&store, v.item.id).unwrap();
        assert_eq!(
            now.preview.text,
            "Write to anna@example.org. My neighbour [name] has the key.\n"
        );
        assert!(
            matches!(now.consent, ConsentState::Stale(_)),
            "{:?}",
            now.consent
        );
    }

    #[test]
    fn consent_signs_the_current_plaintext_and_a_change_voids_it() {
        let (dir, store) = temp_store();
        let path = dir.path().join("note.txt");
        std::fs::write(
            &path,
            "reach me at someone@example.org, or call +49 30 1234567\n",
        )
        .unwrap();
        let v = add_file(&store, &path, None).unwrap();
        assert_eq!(v.item.title, "note.txt");
        assert_eq!(v.consent, ConsentState::None);
        let wallet = Wallet::new(keybot_keystore::Phrase::parse(PHRASE).unwrap(), "").unwrap();
        let account = AccountRef::Hd(0);
        let (v, statement) = consent(&store, &wallet, account, v.item.id, 1_700_000_000).unwrap();
        let ConsentState::Given(c) = &v.consent else {
            panic!("no consent: {:?}", v.consent)
        };
        assert!(statement.contains(&v.preview.sha256()));
        let signer = wallet.signer(account).unwrap();
        assert!(sign::verify_message(
            signer.address(),
            statement.as_bytes(),
            &sign::parse_signature(&c.signature).unwrap()
        ));
        let email = v
            .preview
            .entries
            .iter()
            .find(|e| e.kind == crate::market::Kind::Email)
            .unwrap()
            .number;
        let v = keep(&store, v.item.id, email).unwrap();
        assert_eq!(v.consent, ConsentState::None);
        assert!(v.preview.text.contains("someone@example.org"));
    }

    #[test]
    fn a_directory_or_missing_file_adds_nothing() {
        let (dir, store) = temp_store();
        let e = add_file(&store, dir.path(), None).unwrap_err();
        assert!(e.to_string().contains("is not a file"), "{e}");
        assert!(add_file(&store, &dir.path().join("nope"), None).is_err());
        assert!(list(&store).unwrap().is_empty());
    }
}
