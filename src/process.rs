//! What the rest of the machine can see of keybot's secrets: its core dumps, its memory through
//! ptrace, and the environment its children inherit.

use std::ffi::OsString;

/// Makes this process leave no core dump and refuse ptrace by other processes of the same user:
/// a crash (or `gcore`) would otherwise write the unlocked seed and keys to disk. The core size
/// limit is set to 0 (soft and hard, so nothing we run can raise it again); the process is
/// marked not dumpable, which also hides its `/proc/<pid>/mem` and `environ` from the user's
/// other processes. Children get a dumpable flag again at `exec`, but inherit the core limit.
pub fn harden() -> std::io::Result<()> {
    use rustix::process::{DumpableBehavior, Resource, Rlimit, set_dumpable_behavior, setrlimit};
    setrlimit(
        Resource::Core,
        Rlimit {
            current: Some(0),
            maximum: Some(0),
        },
    )?;
    set_dumpable_behavior(DumpableBehavior::NotDumpable)?;
    Ok(())
}

/// Whether an environment variable carries a secret keybot reads (a password, the BIP-39
/// passphrase, the Hugging Face token): such a variable is never passed on to a child.
pub fn is_secret_var(name: &str) -> bool {
    (name.starts_with("KEYBOT_") && (name.ends_with("PASSWORD") || name.ends_with("PASSPHRASE")))
        || name == "HF_TOKEN"
}

/// The secret variables present in this process's environment.
fn secret_vars() -> Vec<OsString> {
    std::env::vars_os()
        .map(|(k, _)| k)
        .filter(|k| k.to_str().is_some_and(is_secret_var))
        .collect()
}

/// Removes keybot's secret environment variables from a command's environment, so that a helper
/// (anvil, a clipboard tool) cannot read the vault password a script gave keybot. Every child
/// keybot spawns goes through this.
pub trait ScrubSecrets {
    fn scrub_secrets(&mut self) -> &mut Self;
}

impl ScrubSecrets for std::process::Command {
    fn scrub_secrets(&mut self) -> &mut Self {
        for k in secret_vars() {
            self.env_remove(k);
        }
        self
    }
}

impl ScrubSecrets for tokio::process::Command {
    fn scrub_secrets(&mut self) -> &mut Self {
        for k in secret_vars() {
            self.env_remove(k);
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_variables_are_recognised() {
        for v in [
            "KEYBOT_PASSWORD",
            "KEYBOT_NEW_PASSWORD",
            "KEYBOT_KEYSTORE_PASSWORD",
            "KEYBOT_PASSPHRASE",
            "HF_TOKEN",
        ] {
            assert!(is_secret_var(v), "{v}");
        }
        for v in ["KEYBOT_HOME", "KEYBOT_LOG", "PATH", "PASSWORD", "HOME"] {
            assert!(!is_secret_var(v), "{v}");
        }
    }

    #[test]
    fn harden_turns_off_core_dumps_and_ptrace() {
        use rustix::process::{DumpableBehavior, Resource, dumpable_behavior, getrlimit};
        harden().unwrap();
        assert_eq!(getrlimit(Resource::Core).current, Some(0));
        assert_eq!(getrlimit(Resource::Core).maximum, Some(0));
        assert_eq!(dumpable_behavior().unwrap(), DumpableBehavior::NotDumpable);
    }
}
