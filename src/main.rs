//! keybot: not your keys, not your bots.
#![forbid(unsafe_code)]
use std::process::ExitCode;

use anyhow::Result;
use clap::{CommandFactory, Parser};

use keybot::cli::args::{Cli, Command};
use keybot::{cli, config, logging, process};

fn main() -> ExitCode {
    // First, before any secret is read: no core dump, no ptrace by the user's other processes.
    let hardened = process::harden();
    let cli = Cli::parse();
    match run(cli, hardened) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            tracing::warn!("command failed: {}", logging::loggable(&e));
            // The chain of causes can carry a node's or a file's words: no control characters.
            eprintln!("error: {}", keybot::sanitize::clean(&format!("{e:#}")));
            ExitCode::from(1)
        }
    }
}

fn run(cli: Cli, hardened: std::io::Result<()>) -> Result<u8> {
    // Completions need no home, no log and no wallet.
    if let Some(Command::Completions { shell }) = cli.command {
        let mut cmd = Cli::command();
        clap_complete::generate(shell, &mut cmd, "keybot", &mut std::io::stdout());
        return Ok(0);
    }
    let paths = config::Paths::resolve(cli.home.as_deref())?;
    logging::init(&paths);
    if let Err(e) = hardened {
        tracing::warn!("cannot turn off core dumps: {e}");
    }
    match cli.command {
        Some(Command::Init(args)) => cli::init::run(&paths, args).map(|()| 0),
        Some(Command::Wallet(args)) => args.run(&paths),
        Some(Command::Chain(args)) => cli::chain::run(&paths, args),
        Some(Command::Token(args)) => cli::chain::run_token(&paths, args),
        Some(Command::Backup(args)) => cli::backup::run(&paths, args).map(|()| 0),
        Some(Command::Market(args)) => args.run(&paths),
        Some(Command::Chat(args)) => args.run(&paths),
        Some(Command::Model(args)) => cli::model::run(&paths, args),
        Some(Command::Settings(args)) => cli::settings::run(&paths, args),
        Some(Command::Bench(args)) => cli::bench::run(&paths, args),
        Some(Command::Completions { .. }) => unreachable!("handled above"),
        None => keybot::tui::run(&paths).map(|()| 0),
    }
}
