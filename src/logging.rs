//! Logging goes to a file under the data folder, never to the terminal (where it would tear the
//! TUI and mix with answers a script reads). Nothing secret is ever passed to a log macro.
use std::fs::OpenOptions;
use std::os::unix::fs::OpenOptionsExt;
use std::sync::Mutex;

use tracing_subscriber::EnvFilter;

use crate::config::Paths;

/// keybot's own log targets: the `KEYBOT_LOG` level applies to these only.
const OWN_TARGETS: [&str; 2] = ["keybot", "keybot_keystore"];

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
    let filter = filter(std::env::var("KEYBOT_LOG").ok().as_deref());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(Mutex::new(file))
        .try_init();
}

/// The log filter for a `KEYBOT_LOG` value. A plain level (`debug`) raises keybot's own targets
/// only: the HTTP and RPC libraries underneath log request and response bodies at debug and
/// trace, which is not for a file that a user may attach to a bug report. Dependencies stay at
/// `warn`. A value that is not a level (a full directive list like `keybot=debug,hyper=trace`)
/// is taken as written: whoever writes one chose it.
pub fn filter(value: Option<&str>) -> EnvFilter {
    let level = value
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .unwrap_or("info");
    let is_level = matches!(
        level.to_ascii_lowercase().as_str(),
        "off" | "error" | "warn" | "info" | "debug" | "trace"
    );
    let directives = if is_level {
        scoped(&level.to_ascii_lowercase())
    } else {
        level.to_owned()
    };
    EnvFilter::try_new(&directives).unwrap_or_else(|_| EnvFilter::new(scoped("info")))
}

fn scoped(level: &str) -> String {
    let mut d = String::from("warn");
    for t in OWN_TARGETS {
        d.push_str(&format!(",{t}={level}"));
    }
    d
}

/// An error as it may be written to the log. The chain of messages is kept except where one
/// could carry a secret: a rejected phrase word's "did you mean" suggestion is a real BIP-39
/// word close to what was typed, so a phrase error is logged as its kind only.
pub fn loggable(e: &anyhow::Error) -> String {
    use keybot_keystore::Error as K;
    for cause in e.chain() {
        if let Some(k) = cause.downcast_ref::<K>() {
            match k {
                K::UnknownWord { position, .. } => {
                    return format!("the phrase was refused: word {position} is not a BIP-39 word");
                }
                K::EmptyPhrase | K::WordCount(_) | K::BadChecksum => {
                    return format!("the phrase was refused: {k}");
                }
                _ => {}
            }
        }
    }
    format!("{e:#}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_level_raises_only_keybots_own_targets() {
        assert_eq!(
            filter(Some("debug")).to_string(),
            EnvFilter::new("warn,keybot=debug,keybot_keystore=debug").to_string()
        );
        assert_eq!(
            filter(None).to_string(),
            EnvFilter::new("warn,keybot=info,keybot_keystore=info").to_string()
        );
        // A directive list is the user's explicit choice.
        assert_eq!(
            filter(Some("keybot=trace,hyper=debug")).to_string(),
            EnvFilter::new("keybot=trace,hyper=debug").to_string()
        );
        let f = filter(Some("TRACE")).to_string();
        assert!(!f.starts_with("trace") && f.contains("keybot=trace"), "{f}");
    }

    #[test]
    fn a_phrase_error_is_logged_without_the_suggested_word() {
        let e = anyhow::Error::new(keybot_keystore::Error::UnknownWord {
            position: 3,
            suggestion: Some("abandon"),
        })
        .context("the phrase was not accepted");
        let line = loggable(&e);
        assert!(!line.contains("abandon"), "{line}");
        assert!(line.contains("word 3"), "{line}");
    }
}
