//! The command line's desk for the bot's tools (`keybot ask`, `keybot proposals`): what a tool
//! needs open (the network, the unlocked wallet, its store), its reads through the services the
//! commands use, and each proposal through `wallet send`'s review and confirmation.
use std::path::Path;
use std::time::Duration;

use alloy::primitives::Address;
use anyhow::Result;
use keybot_keystore::{AccountRef, Wallet};
use serde_json::{Value, json};

use crate::bot::tools::{Decision, Desk, Proposal, Read};
use crate::chain::{self, ChainConfig, Client, activity};
use crate::cli::common::{confirm, connect, parse_account, progress, show_review, unlock};
use crate::cli::input;
use crate::config::Paths;
use crate::sanitize::clean_line;
use crate::service::bot::{Reader, line};
use crate::service::tx;
use crate::store::Store;

/// What a question needs open: the network (None when none is configured: the tools that need
/// one say "offline" and nothing is sent), the wallet, the store and its settings.
pub(crate) struct Opened {
    pub client: Option<Client>,
    pub wallet: Wallet,
    pub store: Store,
    pub settings: crate::service::settings::Settings,
    pub account: AccountRef,
    pub rt: tokio::runtime::Runtime,
    pub own: Vec<Address>,
    network: Option<String>,
    password_file: Option<std::path::PathBuf>,
}

impl Opened {
    /// Opens `network` (or the active one; none configured is offline), unlocks the wallet
    /// (`password_file` or KEYBOT_PASSWORD or a prompt) and its store; `account` is where a
    /// transfer is proposed from.
    pub fn open(
        paths: &Paths,
        network: Option<&str>,
        password_file: Option<&Path>,
        account: &str,
    ) -> Result<Opened> {
        let config = ChainConfig::load(paths)?;
        let client = connect(&config, network).ok();
        let wallet = unlock(paths, password_file)?;
        let store = crate::service::wallet::open_store(paths, &wallet)?;
        let (settings, _) = crate::service::settings::Settings::load(&store)?;
        let account = parse_account(&wallet, account)?;
        let own = activity::own_addresses(&wallet, Some(&store))?;
        Ok(Opened {
            client,
            wallet,
            store,
            settings,
            account,
            rt: chain::runtime()?,
            own,
            network: network.map(str::to_owned),
            password_file: password_file.map(Path::to_path_buf),
        })
    }

    /// The reads over what is open.
    pub fn reader(&self) -> Reader<'_> {
        Reader {
            client: self.client.as_ref(),
            store: &self.store,
            wallet: &self.wallet,
            own: &self.own,
        }
    }

    /// The command line's desk; `yes` signs each proposal without asking (a loud warning also
    /// needs `accept_warnings`).
    pub fn desk(&self, yes: bool, accept_warnings: bool) -> CliDesk<'_> {
        CliDesk {
            opened: self,
            caps: crate::service::settings::transfer_caps(&self.settings.bot_transfer_caps)
                .unwrap_or_default(),
            yes,
            accept_warnings,
            reviews: Vec::new(),
        }
    }
}

/// The command line's desk: reads through the services `wallet` and `market` use
/// ([`crate::service::bot::Reader`]), and each proposal through `wallet send`'s review and
/// confirmation.
pub(crate) struct CliDesk<'a> {
    opened: &'a Opened,
    /// bot.transfer_caps: the most the model may propose, per asset symbol.
    caps: Vec<(String, String)>,
    yes: bool,
    accept_warnings: bool,
    /// Each reviewed proposal's lines, for `--json`.
    pub reviews: Vec<Value>,
}

impl CliDesk<'_> {
    /// A market proposal: the `keybot market` command that does the same, run as a process of
    /// its own, so its checks, its review (headed "proposed by your model") and its confirmation
    /// are exactly the command's, on this terminal. Off a terminal without `--yes` it is only
    /// printed. What the command prints on stdout goes to stderr here (stdout is the answer's).
    fn propose_market(&mut self, proposal: &Proposal, from_user: bool) -> Result<Decision, String> {
        let command = proposal.command();
        eprintln!();
        eprintln!("The model proposes: {}", proposal.describe());
        self.reviews.push(json!({"command": command}));
        if matches!(proposal, Proposal::Deliver { .. }) {
            // `market serve` delivers every waiting purchase and runs until stopped.
            eprintln!("not signed: `{command}` delivers the purchases waiting for your key");
            return Ok(Decision::Pending);
        }
        if !self.yes && !input::stdin_is_tty() {
            if !from_user {
                eprintln!(
                    "DANGER: proposed by the model, from text you did not write (you never typed this listing or this price)"
                );
            }
            eprintln!(
                "not signed: to do it, run `{command}` (it shows its own review), or ask with --yes"
            );
            return Ok(Decision::Pending);
        }
        let exe = std::env::current_exe().map_err(line)?;
        let mut cmd = std::process::Command::new(exe);
        cmd.args(proposal.argv())
            .arg("--proposed-by-model")
            .arg(if from_user { "typed" } else { "untyped" });
        if let Some(n) = &self.opened.network {
            cmd.arg("--network").arg(n);
        }
        if let Some(f) = &self.opened.password_file {
            cmd.arg("--password-file").arg(f);
        }
        if self.yes {
            cmd.arg("--yes");
            if self.accept_warnings {
                cmd.arg("--accept-warnings");
            }
        }
        let out = cmd
            .stdin(std::process::Stdio::inherit())
            .stderr(std::process::Stdio::inherit())
            .output()
            .map_err(line)?;
        let printed = String::from_utf8_lossy(&out.stdout);
        eprint!("{}", crate::sanitize::clean(&printed));
        if !out.status.success() {
            return Err(format!(
                "not done: `{command}` stopped (declined or refused; its line is above)"
            ));
        }
        let result = printed.lines().last().unwrap_or_default().trim();
        Ok(Decision::Signed(if result.is_empty() {
            proposal.describe()
        } else {
            format!("{} ({})", proposal.describe(), clean_line(result))
        }))
    }
}

impl Desk for CliDesk<'_> {
    fn read(&mut self, read: &Read) -> Result<Value, String> {
        self.opened.rt.block_on(self.opened.reader().read(read))
    }

    fn propose(&mut self, proposal: &Proposal, from_user: bool) -> Result<Decision, String> {
        if !matches!(proposal, Proposal::Transfer { .. }) {
            return self.propose_market(proposal, from_user);
        }
        let o = self.opened;
        let client = o
            .client
            .as_ref()
            .ok_or_else(|| crate::service::bot::OFFLINE.to_owned())?;
        let from = o.wallet.address(o.account).map_err(line)?;
        let request = crate::service::bot::transfer_request(
            proposal,
            &client.network.tokens,
            from,
            &self.caps,
        )?;
        let mut review =
            o.rt.block_on(tx::prepare(client, Some(&o.store), request, &o.own))
                .map_err(line)?;
        review.mark_proposed_by_model(from_user);
        let mut lines = serde_json::Map::new();
        lines.insert("sentence".into(), Value::String(review.intent.sentence()));
        for (k, v) in review.lines() {
            lines.insert(k, Value::String(clean_line(&v).into_owned()));
        }
        lines.insert(
            "warnings".into(),
            Value::Array(
                review
                    .warnings
                    .iter()
                    .map(|w| Value::String(review.warning(w)))
                    .collect(),
            ),
        );
        self.reviews.push(Value::Object(lines));
        eprintln!();
        eprintln!("The model proposes a transaction:");
        show_review(&review);
        if !self.yes && !input::stdin_is_tty() {
            eprintln!("not signed: pass --yes to sign proposals, or ask on a terminal");
            return Ok(Decision::Pending);
        }
        if let Err(e) = confirm(&review, self.yes, self.accept_warnings, "Sign and send") {
            eprintln!("{}", line(&e));
            return Ok(Decision::Declined);
        }
        let record = tx::sign(&o.wallet, o.account, &review).map_err(line)?;
        let outcome =
            o.rt.block_on(tx::broadcast(
                client,
                Some(&o.store),
                &record,
                Duration::from_secs(120),
                &mut progress,
            ))
            .map_err(line)?;
        // On stderr: stdout is the answer's (or --json's) alone.
        let hash = record.hash;
        match outcome {
            crate::chain::send::Outcome::Confirmed { block } => {
                eprintln!("confirmed {hash} in block {block}")
            }
            crate::chain::send::Outcome::StillPending => eprintln!("pending {hash}: not mined yet"),
            _ => {}
        }
        crate::service::bot::decision_of(hash, &outcome)
    }
}
