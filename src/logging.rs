//! Logging goes to a file under the data folder, never to the terminal (where it would tear the
//! TUI and mix with answers a script reads). Nothing secret is ever passed to a log macro.
use std::fs::OpenOptions;
use std::os::unix::fs::OpenOptionsExt;
use std::sync::Mutex;

use tracing_subscriber::EnvFilter;

use crate::config::Paths;

/// Starts file logging; a log that cannot be opened is not a reason to refuse to run.
pub fn init(paths: &Paths) {
    if keybot_keystore::atomic::create_private_dir(&paths.log_dir()).is_err() {
        return;
    }
    let Ok(file) = OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(paths.log_file())
    else {
        return;
    };
    let filter = EnvFilter::try_from_env("KEYBOT_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(Mutex::new(file))
        .try_init();
}
