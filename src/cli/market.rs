//! `keybot market …`: the sale vault. An item is offered only after the user has seen exactly
//! what a buyer gets (`preview`) and signed their consent to those bytes.
use std::io::Write;
use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::{Args, Subcommand};

use super::common::{parse_account, unlock};
use super::input;
use crate::config::Paths;
use crate::sanitize;
use crate::service::vault::{self, ConsentState, ItemView};
use crate::service::wallet::open_store;
use crate::store::{ItemId, Store};

#[derive(Debug, Args)]
pub struct MarketArgs {
    /// Read the vault password from FILE (or set KEYBOT_PASSWORD).
    #[arg(long, value_name = "FILE", global = true)]
    password_file: Option<PathBuf>,
    #[command(subcommand)]
    command: MarketCommand,
}

#[derive(Debug, Subcommand)]
pub enum MarketCommand {
    /// List the conversations that can be added (id, messages, title).
    Chats {
        #[arg(long)]
        json: bool,
    },
    /// Put a copy of a conversation or a text file (UTF-8, at most 1 MiB) into the sale vault.
    /// Prints the new item's id.
    #[command(group = clap::ArgGroup::new("source").required(true))]
    Add {
        /// A conversation's id (`keybot market chats` lists them).
        #[arg(long, value_name = "ID", group = "source")]
        chat: Option<i64>,
        /// A text file.
        #[arg(long, value_name = "PATH", group = "source")]
        file: Option<PathBuf>,
        #[arg(long, value_name = "TEXT")]
        title: Option<String>,
        /// One JSON object: id, title, bytes, redactions by kind.
        #[arg(long)]
        json: bool,
    },
    /// The sale vault: id, title, size, what is removed, consent.
    Items {
        #[arg(long)]
        json: bool,
    },
    /// Print exactly the text a buyer would get (every removal replaced by a marker naming its
    /// kind); the summary goes to standard error.
    Preview {
        id: ItemId,
        /// Number the removed and kept spans, for `keep` and `redact` (not the buyer's text).
        #[arg(long)]
        numbered: bool,
    },
    /// Show a removed span to the buyer after all (refused for seed phrases, keys and tokens).
    Keep {
        id: ItemId,
        /// The span's number in `preview --numbered`.
        span: usize,
    },
    /// Remove a kept span again, or (--text) every occurrence of a text the detectors missed.
    #[command(group = clap::ArgGroup::new("what").required(true))]
    Redact {
        id: ItemId,
        /// The span's number in `preview --numbered`.
        #[arg(group = "what")]
        span: Option<usize>,
        /// Remove every occurrence of TEXT.
        #[arg(long, value_name = "TEXT", group = "what")]
        text: Option<String>,
    },
    /// Sign (EIP-191) a consent to offer the item's current preview, after showing its summary.
    Consent {
        id: ItemId,
        /// The selling account.
        #[arg(long, default_value = "0", value_name = "ACCOUNT")]
        account: String,
        /// Confirm without a prompt.
        #[arg(long)]
        yes: bool,
    },
    /// Delete an item from the sale vault (overwritten in the store).
    Remove { id: ItemId },
}

pub fn run(paths: &Paths, args: MarketArgs) -> Result<u8> {
    let pw_file = args.password_file.as_deref();
    if let MarketCommand::Consent { yes: false, .. } = args.command
        && !input::stdin_is_tty()
    {
        bail!("refusing to sign a consent without confirmation: pass --yes");
    }
    let wallet = unlock(paths, pw_file)?;
    let store = open_store(paths, &wallet)?;
    match args.command {
        MarketCommand::Chats { json } => chats(&store, json)?,
        MarketCommand::Add {
            chat,
            file,
            title,
            json,
        } => {
            let v = match (chat, file) {
                (Some(id), None) => vault::add_chat(&store, id, title.as_deref())?,
                (None, Some(path)) => vault::add_file(&store, &path, title.as_deref())?,
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
        MarketCommand::Items { json } => items(&store, json)?,
        MarketCommand::Preview { id, numbered } => {
            let v = vault::view(&store, id)?;
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
        MarketCommand::Keep { id, span } => {
            let v = vault::keep(&store, id, span)?;
            eprintln!("span {span} kept; removed now: {}", v.preview.summary());
        }
        MarketCommand::Redact { id, span, text } => {
            let v = match (span, text) {
                (Some(n), None) => vault::redact(&store, id, n)?,
                (None, Some(t)) => vault::redact_text(&store, id, &t)?,
                _ => unreachable!("clap requires exactly one of SPAN and --text"),
            };
            eprintln!("removed now: {}", v.preview.summary());
        }
        MarketCommand::Consent { id, account, yes } => {
            let v = vault::view(&store, id)?;
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
            let (v, _) = vault::consent(&store, &wallet, account, id, vault::now_secs())?;
            let ConsentState::Given(c) = &v.consent else {
                bail!("the consent was not stored");
            };
            println!("{}", c.signature);
        }
        MarketCommand::Remove { id } => {
            vault::remove(&store, id)?;
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
    let views = vault::list(store)?;
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
