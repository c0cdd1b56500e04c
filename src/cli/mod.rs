//! The scriptable command line. Each file (or folder) is one subcommand group; all of them call
//! the same domain functions the terminal app uses. Each subcommand is a struct of its flags
//! with its own `run`, next to the code it runs; a group's `run` only picks the subcommand (as
//! foundry's cast does).
pub mod args;
pub mod ask;
pub mod backup;
pub mod bench;
pub mod chain;
pub mod chat;
pub mod common;
pub(crate) mod desk;
pub mod init;
pub mod input;
pub mod market;
pub mod mcp;
pub mod model;
pub mod proposals;
pub mod screen;
pub mod settings;
pub mod wallet;
