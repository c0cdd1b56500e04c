//! The sale vault's commands: chats, add, items, preview, keep, redact, consent, remove. Each
//! works on the unlocked store; consent also signs with the wallet.
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use clap::{Args, Subcommand};
use keybot_keystore::Wallet;

use crate::cli::common::{parse_account, unlock};
use crate::cli::input;
use crate::config::Paths;
use crate::sanitize;
use crate::service::vault::{self as service_vault, ConsentState, ItemView};
use crate::service::wallet::open_store;
use crate::store::{ItemId, Store};

/// The sale vault's commands.
#[derive(Debug, Subcommand)]
pub enum VaultCommand {
    /// List the conversations that can be added (id, messages, title).
    Chats(ChatsArgs),
    /// Put a copy of a conversation or a text file (UTF-8, at most 1 MiB) into the sale vault.
    /// Prints the new item's id.
    #[command(group = clap::ArgGroup::new("source").required(true))]
    Add(AddArgs),
    /// The sale vault: id, title, size, what is removed, consent.
    Items(ItemsArgs),
    /// Print exactly the text a buyer would get (every removal replaced by a marker naming its
    /// kind); the summary goes to standard error.
    Preview(PreviewArgs),
    /// Show a removed span to the buyer after all (refused for seed phrases, keys and tokens).
    Keep(KeepArgs),
    /// Remove a kept span again, or (--text) every occurrence of a text the detectors missed.
    #[command(group = clap::ArgGroup::new("what").required(true))]
    Redact(RedactArgs),
    /// Sign (EIP-191) a consent to offer the item's current preview, after showing its summary.
    Consent(ConsentArgs),
    /// Delete an item from the sale vault (overwritten in the store).
    Remove(RemoveArgs),
}

pub(super) fn run(paths: &Paths, pw_file: Option<&Path>, command: VaultCommand) -> Result<u8> {
    if let VaultCommand::Consent(ConsentArgs { yes: false, .. }) = command
        && !input::stdin_is_tty()
    {
        bail!("refusing to sign a consent without confirmation: pass --yes");
    }
    let wallet = unlock(paths, pw_file)?;
    let store = open_store(paths, &wallet)?;
    match command {
        VaultCommand::Chats(a) => a.run(&store)?,
        VaultCommand::Add(a) => a.run(&store, paths)?,
        VaultCommand::Items(a) => a.run(&store)?,
        VaultCommand::Preview(a) => a.run(&store)?,
        VaultCommand::Keep(a) => a.run(&store)?,
        VaultCommand::Redact(a) => a.run(&store)?,
        VaultCommand::Consent(a) => a.run(&store, &wallet)?,
        VaultCommand::Remove(a) => a.run(&store)?,
    }
    Ok(0)
}

#[derive(Debug, Args)]
pub struct ChatsArgs {
    #[arg(long)]
    json: bool,
}

impl ChatsArgs {
    fn run(self, store: &Store) -> Result<()> {
        let list = store.list_conversations()?;
        let mut rows = Vec::with_capacity(list.len());
        for c in &list {
            rows.push((c, store.messages(c.id)?.len()));
        }
        if self.json {
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
}

#[derive(Debug, Args)]
pub struct AddArgs {
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
    /// Let the default chat model read the item too, for the people and places the lists and
    /// rules miss (items of at most 64 KiB; each name it gives must be in the text verbatim).
    /// With the setting `market.model_reader = on` it reads every item of at most 64 KiB.
    #[arg(long)]
    model: bool,
}

impl AddArgs {
    fn run(self, store: &Store, paths: &Paths) -> Result<()> {
        let title = self.title.as_deref();
        let mut v = match (self.chat, &self.file) {
            (Some(id), None) => service_vault::add_chat(store, id, title)?,
            (None, Some(path)) => service_vault::add_file(store, path, title)?,
            _ => unreachable!("clap requires exactly one source"),
        };
        let (settings, _) = crate::service::settings::Settings::load(store)?;
        let fits = v.item.text.len() <= crate::market::model_reader::MAX_ITEM_BYTES;
        if self.model || (settings.model_reader && fits) {
            v = read_with_model(store, paths, &settings, v)?;
        } else if settings.model_reader {
            eprintln!(
                "item {}: the model reads items of at most {} KiB; this one has the detectors' removals only",
                v.item.id,
                crate::market::model_reader::MAX_ITEM_BYTES / 1024
            );
        }
        if self.json {
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
        Ok(())
    }
}

/// The item read by the default chat model (`--model`); its finds added as removals of their
/// own kind. The item is in the vault either way: a refusal here says so.
fn read_with_model(
    store: &Store,
    paths: &Paths,
    settings: &crate::service::settings::Settings,
    v: ItemView,
) -> Result<ItemView> {
    let id = v.item.id;
    let spans =
        crate::market::model_reader::read_with_default(&paths.data_dir, settings, &v.item.text)
            .map_err(|why| {
                anyhow::anyhow!(
                    "item {id} is in the vault, but the model did not read it: {why}; its preview has the detectors' removals only"
                )
            })?;
    service_vault::add_model_spans(store, id, &spans)
}

#[derive(Debug, Args)]
pub struct ItemsArgs {
    #[arg(long)]
    json: bool,
}

impl ItemsArgs {
    fn run(self, store: &Store) -> Result<()> {
        let views = service_vault::list(store)?;
        if self.json {
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
}

#[derive(Debug, Args)]
pub struct PreviewArgs {
    id: ItemId,
    /// Number the removed and kept spans, for `keep` and `redact` (not the buyer's text).
    #[arg(long)]
    numbered: bool,
}

impl PreviewArgs {
    fn run(self, store: &Store) -> Result<()> {
        let id = self.id;
        let v = service_vault::view(store, id)?;
        // The vault only takes text that prints as it is (item_text); checked again here,
        // where its bytes reach the terminal unfiltered.
        if sanitize::clean(&v.item.text) != v.item.text.as_str() {
            bail!("item {id} holds control characters; remove it and add it again");
        }
        let text = if self.numbered {
            v.preview.numbered(&v.item.text)
        } else {
            v.preview.text.clone()
        };
        let mut out = std::io::stdout().lock();
        out.write_all(text.as_bytes())?;
        out.flush()?;
        eprintln!("removed: {}", v.preview.summary());
        Ok(())
    }
}

#[derive(Debug, Args)]
pub struct KeepArgs {
    id: ItemId,
    /// The span's number in `preview --numbered`.
    span: usize,
}

impl KeepArgs {
    fn run(self, store: &Store) -> Result<()> {
        let v = service_vault::keep(store, self.id, self.span)?;
        eprintln!(
            "span {} kept; removed now: {}",
            self.span,
            v.preview.summary()
        );
        Ok(())
    }
}

#[derive(Debug, Args)]
pub struct RedactArgs {
    id: ItemId,
    /// The span's number in `preview --numbered`.
    #[arg(group = "what")]
    span: Option<usize>,
    /// Remove every occurrence of TEXT.
    #[arg(long, value_name = "TEXT", group = "what")]
    text: Option<String>,
}

impl RedactArgs {
    fn run(self, store: &Store) -> Result<()> {
        let v = match (self.span, &self.text) {
            (Some(n), None) => service_vault::redact(store, self.id, n)?,
            (None, Some(t)) => service_vault::redact_text(store, self.id, t)?,
            _ => unreachable!("clap requires exactly one of SPAN and --text"),
        };
        eprintln!("removed now: {}", v.preview.summary());
        Ok(())
    }
}

#[derive(Debug, Args)]
pub struct ConsentArgs {
    id: ItemId,
    /// The selling account.
    #[arg(long, default_value = "0", value_name = "ACCOUNT")]
    account: String,
    /// Confirm without a prompt.
    #[arg(long)]
    yes: bool,
}

impl ConsentArgs {
    /// Shows what the consent covers, asks (unless `--yes`), signs and stores it.
    fn run(self, store: &Store, wallet: &Wallet) -> Result<()> {
        let id = self.id;
        let v = service_vault::view(store, id)?;
        let account = parse_account(wallet, &self.account)?;
        let address = wallet.signer(account)?.address();
        eprintln!("Consent to offer item {id} ({}):", clean(&v.item.title));
        eprintln!(
            "  {} bytes as `keybot market preview {id}` prints them",
            v.preview.text.len()
        );
        eprintln!("  removed: {}", v.preview.summary());
        eprintln!("  sha256:  {}", v.preview.sha256());
        eprintln!("  signed by {}", address.to_checksum(None));
        if !self.yes && !input::ask_yes("Sign this consent? [y/N] ")? {
            bail!("not confirmed; no consent signed");
        }
        let (v, _) = service_vault::consent(store, wallet, account, id, service_vault::now_secs())?;
        let ConsentState::Given(c) = &v.consent else {
            bail!("the consent was not stored");
        };
        println!("{}", c.signature);
        Ok(())
    }
}

#[derive(Debug, Args)]
pub struct RemoveArgs {
    id: ItemId,
}

impl RemoveArgs {
    fn run(self, store: &Store) -> Result<()> {
        service_vault::remove(store, self.id)?;
        eprintln!("item {} removed", self.id);
        Ok(())
    }
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

fn truncate(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        return s.to_owned();
    }
    let mut t: String = s.chars().take(width - 1).collect();
    t.push('…');
    t
}
