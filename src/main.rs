//! keybot: not your keys, not your bots.
#![forbid(unsafe_code)]
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::{Parser, Subcommand};

use keybot::{cli, config, logging, process};

#[derive(Debug, Parser)]
#[command(name = "keybot", version = version(), about = "Your keys, your local model, your data: a wallet, a private chat and a data market in one terminal app")]
struct Cli {
    /// Keep config, data and cache under DIR instead of the platform's standard places.
    #[arg(long, global = true, env = "KEYBOT_HOME", value_name = "DIR")]
    home: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create a wallet (a new BIP-39 phrase) or restore one (--import).
    Init(cli::init::InitArgs),
    /// Accounts, signing, keystore files, the phrase and the password.
    Wallet(cli::wallet::WalletArgs),
    /// Networks, the local dev chain, broadcasting signed transactions.
    Chain(cli::chain::ChainArgs),
    /// ERC-20 tokens shown and sent on a network.
    Token(cli::chain::TokenArgs),
    /// Export or import an encrypted backup of conversations and settings.
    Backup(cli::backup::BackupArgs),
    /// Ask the local model: streams the answer, then a stats line on stderr.
    Chat(cli::chat::ChatArgs),
    /// Register, pull and choose local GGUF models.
    Model(cli::model::ModelArgs),
    /// Measure the chat engine (pp/tg tokens per second, time to first token).
    Bench(cli::bench::BenchArgs),
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

fn main() -> ExitCode {
    // First, before any secret is read: no core dump, no ptrace by the user's other processes.
    let hardened = process::harden();
    let cli = Cli::parse();
    match run(cli, hardened) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            tracing::warn!("command failed: {}", logging::loggable(&e));
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn run(cli: Cli, hardened: std::io::Result<()>) -> Result<u8> {
    let paths = config::Paths::resolve(cli.home.as_deref())?;
    logging::init(&paths);
    if let Err(e) = hardened {
        tracing::warn!("cannot turn off core dumps: {e}");
    }
    match cli.command {
        Some(Command::Init(args)) => cli::init::run(&paths, args).map(|()| 0),
        Some(Command::Wallet(args)) => cli::wallet::run(&paths, args),
        Some(Command::Chain(args)) => cli::chain::run(&paths, args),
        Some(Command::Token(args)) => cli::chain::run_token(&paths, args),
        Some(Command::Backup(args)) => cli::backup::run(&paths, args).map(|()| 0),
        Some(Command::Chat(args)) => cli::chat::run(&paths, args),
        Some(Command::Model(args)) => cli::model::run(&paths, args),
        Some(Command::Bench(args)) => cli::bench::run(&paths, args),
        None => keybot::tui::run(&paths).map(|()| 0),
    }
}
