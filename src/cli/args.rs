//! The command line's definition: parsed by `main`, and read by `keybot completions` and by the
//! man page generator (examples/manpage.rs), so all three describe the same commands.
use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, CommandFactory, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "keybot", version = version(), about = "Your keys, your local model, your data: a wallet, a private chat and a data market in one terminal app")]
pub struct Cli {
    /// Keep config, data and cache under DIR instead of the platform's standard places.
    #[arg(long, global = true, env = "KEYBOT_HOME", value_name = "DIR")]
    pub home: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a wallet (a new BIP-39 phrase) or restore one (--import).
    Init(super::init::InitArgs),
    /// Accounts, signing, keystore files, the phrase and the password.
    Wallet(super::wallet::WalletArgs),
    /// Networks, the local dev chain, broadcasting signed transactions.
    Chain(super::chain::ChainArgs),
    /// ERC-20 tokens shown and sent on a network.
    Token(super::chain::TokenArgs),
    /// Export or import an encrypted backup of conversations and settings.
    Backup(super::backup::BackupArgs),
    /// The data market: the sale vault (add, preview, consent), selling and buying on chain,
    /// earnings.
    Market(super::market::MarketArgs),
    /// Ask the local model: streams the answer, then a stats line on stderr.
    Chat(super::chat::ChatArgs),
    /// Ask your model about your wallet and market: it reads them through tools and may
    /// propose a transaction, which opens the review; nothing is signed without you.
    Ask(super::ask::AskArgs),
    /// Serve the bot's tools to other local agents over stdio (Model Context Protocol): reads,
    /// and proposals queued for your review (never signed by the server).
    Mcp(super::mcp::McpArgs),
    /// The transactions other programs proposed (keybot mcp): list, review, decline.
    Proposals(super::proposals::ProposalsArgs),
    /// Register, pull and choose local GGUF models.
    Model(super::model::ModelArgs),
    /// Show or change a setting (the app's Settings screen, from a script).
    Settings(super::settings::SettingsArgs),
    /// Measure the chat engine (pp/tg tokens per second, time to first token).
    Bench(super::bench::BenchArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(CompletionsArgs),
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    #[arg(value_enum)]
    shell: clap_complete::Shell,
}

impl CompletionsArgs {
    /// Needs no home, no log and no wallet: the script comes from the definitions above.
    pub fn run(self) -> Result<u8> {
        let mut cmd = Cli::command();
        clap_complete::generate(self.shell, &mut cmd, "keybot", &mut std::io::stdout());
        Ok(0)
    }
}

fn version() -> &'static str {
    if cfg!(feature = "test-weak-kdf") {
        concat!(
            env!("CARGO_PKG_VERSION"),
            " (TEST BUILD: weak KDF switch compiled in)"
        )
    } else {
        env!("CARGO_PKG_VERSION")
    }
}
