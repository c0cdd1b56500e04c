//! The sale vault's commands: add, items, preview, keep, redact, consent, remove.
use std::io::Write;
use std::path::Path;

use anyhow::{Result, bail};

use super::VaultCommand;
use crate::cli::common::{parse_account, unlock};
use crate::cli::input;
use crate::config::Paths;
use crate::sanitize;
use crate::service::vault::{self as service_vault, ConsentState, ItemView};
use crate::service::wallet::open_store;
use crate::store::Store;

pub(super) fn run(paths: &Paths, pw_file: Option<&Path>, command: VaultCommand) -> Result<u8> {
    if let VaultCommand::Consent { yes: false, .. } = command
        && !input::stdin_is_tty()
    {
        bail!("refusing to sign a consent without confirmation: pass --yes");
    }
    let wallet = unlock(paths, pw_file)?;
    let store = open_store(paths, &wallet)?;
    match command {
        VaultCommand::Chats { json } => chats(&store, json)?,
        VaultCommand::Add {
            chat,
            file,
            title,
            json,
        } => {
            let v = match (chat, file) {
                (Some(id), None) => service_vault::add_chat(&store, id, title.as_deref())?,
                (None, Some(path)) => service_vault::add_file(&store, &path, title.as_deref())?,
                _ => unreachable!("clap requires exactly one source"),
            };
            if json {
                println!("{}", item_json(&v));
            } else {
                eprintln!(
                    "added {:?}: {} bytes; {}",
                    v.item.title,
                    v.item.text.len(),
                    v.preview.summary()
                );
                println!("{}", v.item.id);
            }
        }
        VaultCommand::Items { json } => items(&store, json)?,
        VaultCommand::Preview { id, numbered } => {
            let v = service_vault::view(&store, id)?;
            // The vault only takes text that prints as it is (item_text); checked again here,
            // where its bytes reach the terminal unfiltered.
            if sanitize::clean(&v.item.text) != v.item.text.as_str() {
                bail!("item {id} holds control characters; remove it and add it again");
            }
            let text = if numbered {
                v.preview.numbered(&v.item.text)
            } else {
                v.preview.text.clone()
            };
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())?;
            out.flush()?;
            eprintln!("removed: {}", v.preview.summary());
        }
        VaultCommand::Keep { id, span } => {
            let v = service_vault::keep(&store, id, span)?;
            eprintln!("span {span} kept; removed now: {}", v.preview.summary());
        }
        VaultCommand::Redact { id, span, text } => {
            let v = match (span, text) {
                (Some(n), None) => service_vault::redact(&store, id, n)?,
                (None, Some(t)) => service_vault::redact_text(&store, id, &t)?,
                _ => unreachable!("clap requires exactly one of SPAN and --text"),
            };
            eprintln!("removed now: {}", v.preview.summary());
        }
        VaultCommand::Consent { id, account, yes } => {
            let v = service_vault::view(&store, id)?;
            let account = parse_account(&wallet, &account)?;
            let address = wallet.signer(account)?.address();
            eprintln!("Consent to offer item {id} ({}):", clean(&v.item.title));
            eprintln!(
                "  {} bytes as `keybot market preview {id}` prints them",
                v.preview.text.len()
            );
            eprintln!("  removed: {}", v.preview.summary());
            eprintln!("  sha256:  {}", v.preview.sha256());
            eprintln!("  signed by {}", address.to_checksum(None));
            if !yes && !input::ask_yes("Sign this consent? [y/N] ")? {
                bail!("not confirmed; no consent signed");
            }
            let (v, _) =
                service_vault::consent(&store, &wallet, account, id, service_vault::now_secs())?;
            let ConsentState::Given(c) = &v.consent else {
                bail!("the consent was not stored");
            };
            println!("{}", c.signature);
        }
        VaultCommand::Remove { id } => {
            service_vault::remove(&store, id)?;
            eprintln!("item {id} removed");
        }
    }
    Ok(0)
}

fn clean(s: &str) -> std::borrow::Cow<'_, str> {
    sanitize::clean_line(s)
}

fn consent_json(state: &ConsentState) -> serde_json::Value {
    match state {
        ConsentState::None => serde_json::Value::Null,
        ConsentState::Given(c) | ConsentState::Stale(c) => serde_json::json!({
            "valid": state.is_given(),
            "account": c.account,
            "sha256": c.sha256,
            "time": c.time,
            "signature": c.signature,
        }),
    }
}

fn item_json(v: &ItemView) -> serde_json::Value {
    serde_json::json!({
        "id": v.item.id,
        "title": v.item.title,
        "source": v.item.source,
        "bytes": v.item.text.len(),
        "preview_bytes": v.preview.text.len(),
        "redactions": v.preview.counts_by_key(),
        "consent": consent_json(&v.consent),
    })
}

fn items(store: &Store, json: bool) -> Result<()> {
    let views = service_vault::list(store)?;
    if json {
        let all: Vec<_> = views.iter().map(item_json).collect();
        println!("{}", serde_json::Value::Array(all));
        return Ok(());
    }
    if views.is_empty() {
        eprintln!("the sale vault is empty: `keybot market add --chat ID | --file PATH`");
        return Ok(());
    }
    for v in &views {
        println!(
            "{:>4}  {:<32}  {:>8} B  {:<19}  {}",
            v.item.id,
            truncate(&clean(&v.item.title), 32),
            v.item.text.len(),
            v.consent.label(),
            v.preview.summary()
        );
    }
    Ok(())
}

fn chats(store: &Store, json: bool) -> Result<()> {
    let list = store.list_conversations()?;
    let mut rows = Vec::with_capacity(list.len());
    for c in &list {
        rows.push((c, store.messages(c.id)?.len()));
    }
    if json {
        let all: Vec<_> = rows
            .iter()
            .map(|(c, n)| serde_json::json!({"id": c.id, "title": c.title, "messages": n}))
            .collect();
        println!("{}", serde_json::Value::Array(all));
        return Ok(());
    }
    for (c, n) in rows {
        println!("{:>4}  {:>4} msgs  {}", c.id, n, clean(&c.title));
    }
    Ok(())
}

fn truncate(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        return s.to_owned();
    }
    let mut t: String = s.chars().take(width - 1).collect();
    t.push('…');
    t
}
