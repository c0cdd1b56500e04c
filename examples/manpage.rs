//! Writes keybot's man pages (keybot.1 and one page per subcommand, keybot-wallet-send.1 …) into
//! the folder given as the only argument, from the same clap definitions the binary parses.
//! `scripts/manpage.sh` runs it.
// Test code: unwrap, expect and panic are how a test fails (Cargo.toml's [workspace.lints] deny
// them in the program).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
use clap::CommandFactory;
use keybot::cli::args::Cli;

fn main() -> std::io::Result<()> {
    let Some(out) = std::env::args_os().nth(1) else {
        eprintln!("usage: manpage OUT_DIR");
        std::process::exit(2);
    };
    std::fs::create_dir_all(&out)?;
    clap_mangen::generate_to(Cli::command(), &out)
}
