//! keybot: not your keys, not your bots.
#![forbid(unsafe_code)]
use std::process::ExitCode;

use anyhow::Result;
use clap::Parser;

use keybot::cli::args::{Cli, Command};
use keybot::{config, logging, process};

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
    let command = match cli.command {
        // Completions need no home, no log and no wallet.
        Some(Command::Completions(args)) => return args.run(),
        command => command,
    };
    let paths = config::Paths::resolve(cli.home.as_deref())?;
    logging::init(&paths);
    if let Err(e) = hardened {
        tracing::warn!("cannot turn off core dumps: {e}");
    }
    match command {
        Some(Command::Init(args)) => args.run(&paths).map(|()| 0),
        Some(Command::Wallet(args)) => args.run(&paths),
        Some(Command::Chain(args)) => args.run(&paths),
        Some(Command::Token(args)) => args.run(&paths),
        Some(Command::Backup(args)) => args.run(&paths).map(|()| 0),
        Some(Command::Market(args)) => args.run(&paths),
        Some(Command::Chat(args)) => args.run(&paths),
        Some(Command::Ask(args)) => args.run(&paths),
        Some(Command::Mcp(args)) => args.run(&paths),
        Some(Command::Proposals(args)) => args.run(&paths),
        Some(Command::Model(args)) => args.run(&paths),
        Some(Command::Settings(args)) => args.run(&paths),
        Some(Command::Bench(args)) => args.run(&paths),
        Some(Command::Completions(_)) => unreachable!("handled above"),
        None => keybot::tui::run(&paths).map(|()| 0),
    }
}
