//! The scriptable command line. Each file is one subcommand group; all of them call the same
//! domain functions the terminal app uses.
pub mod args;
pub mod backup;
pub mod bench;
pub mod chain;
pub mod chat;
pub mod common;
pub mod init;
pub mod input;
pub mod market;
pub mod model;
pub mod screen;
pub mod settings;
pub mod wallet;
