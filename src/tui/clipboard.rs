//! Copying to the system clipboard from a terminal app.
//!
//! The first choice is OSC 52: an escape sequence the *terminal* turns into a clipboard write,
//! which works over SSH and inside tmux, with no helper program. Not every terminal honours it
//! and none reports whether it did, so the wallet screen also offers [`copy_with_helper`], which
//! pipes the text into the first clipboard program found on `PATH`.
//!
//! Only text the app chose (an address it derived) should be copied; this module does not
//! sanitise, and the OSC 52 payload is base64 so the text cannot end the sequence early.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64::Engine;

use crate::process::ScrubSecrets;

/// The OSC 52 sequence that sets the clipboard to `text`, wrapped for tmux when `TMUX` is set.
/// Write it to the terminal as is (through the backend, between frames).
pub fn osc52(text: &str) -> String {
    osc52_for(
        text,
        std::env::var_os("TMUX").is_some_and(|v| !v.is_empty()),
    )
}

/// [`osc52`] with the tmux decision passed in.
///
/// Inside tmux the sequence goes in a DCS passthrough (`ESC P tmux; … ESC \`) with every ESC of
/// the inner sequence doubled, so that tmux hands it to the outer terminal; this needs tmux's
/// `allow-passthrough on` (tmux ≥ 3.3) or `set-clipboard on`, which the user controls.
pub fn osc52_for(text: &str, in_tmux: bool) -> String {
    let payload = base64::engine::general_purpose::STANDARD.encode(text.as_bytes());
    // `c` = the clipboard selection; BEL terminates, which more terminals accept than ST.
    let inner = format!("\x1b]52;c;{payload}\x07");
    if in_tmux {
        format!("\x1bPtmux;{}\x1b\\", inner.replace('\x1b', "\x1b\x1b"))
    } else {
        inner
    }
}

/// A clipboard program this module knows how to drive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Helper {
    WlCopy,
    Xclip,
    Xsel,
    Pbcopy,
}

impl Helper {
    /// Tried in this order: Wayland, X11 (two tools), macOS.
    pub const ALL: [Helper; 4] = [Helper::WlCopy, Helper::Xclip, Helper::Xsel, Helper::Pbcopy];

    pub fn program(self) -> &'static str {
        match self {
            Helper::WlCopy => "wl-copy",
            Helper::Xclip => "xclip",
            Helper::Xsel => "xsel",
            Helper::Pbcopy => "pbcopy",
        }
    }

    pub fn args(self) -> &'static [&'static str] {
        match self {
            Helper::WlCopy | Helper::Pbcopy => &[],
            Helper::Xclip => &["-selection", "clipboard"],
            Helper::Xsel => &["--clipboard", "--input"],
        }
    }
}

impl std::fmt::Display for Helper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.program())
    }
}

/// Why no helper copied the text; the message is one line for the status bar.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ClipboardError {
    #[error("no clipboard program found (install wl-clipboard, xclip or xsel)")]
    NoHelper,
    #[error("{helper} failed: {reason}")]
    HelperFailed { helper: Helper, reason: String },
}

/// Copies `text` with the first helper on `PATH`; returns the one used. Blocks until the helper
/// exits (xclip and wl-copy fork a server and return at once), so call it off the UI thread.
/// Only the first helper found is tried: a second one failing the same way (no display) would
/// only bury the first error.
pub fn copy_with_helper(text: &str) -> Result<Helper, ClipboardError> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let dirs: Vec<PathBuf> = std::env::split_paths(&path).collect();
    let (helper, program) = Helper::ALL
        .into_iter()
        .find_map(|h| find_on(&dirs, h.program()).map(|p| (h, p)))
        .ok_or(ClipboardError::NoHelper)?;
    run_helper(helper, &program, text).map(|()| helper)
}

/// The first `dirs` entry holding an executable file named `program`.
fn find_on(dirs: &[PathBuf], program: &str) -> Option<PathBuf> {
    dirs.iter()
        .map(|d| d.join(program))
        .find(|p| is_executable(p))
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(path: &Path) -> bool {
    path.is_file()
}

/// Runs `program` (the helper's full path, found by [`find_on`]) with the helper's arguments and
/// `text` on its stdin.
fn run_helper(helper: Helper, program: &Path, text: &str) -> Result<(), ClipboardError> {
    let failed = |reason: String| ClipboardError::HelperFailed { helper, reason };
    // stdout/stderr to null: a helper that stays running to serve the selection must not keep
    // a pipe of ours open, and its messages must not scribble over the TUI.
    let mut child = Command::new(program)
        .scrub_secrets()
        .args(helper.args())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| failed(e.to_string()))?;
    // Write, close stdin (end of input), then always wait: the child is reaped even when the
    // write fails, and a helper that exits early (no display) is reported by its exit status,
    // which says more than the broken pipe the write then gets.
    let written = match child.stdin.take() {
        Some(mut stdin) => stdin.write_all(text.as_bytes()),
        None => Ok(()),
    };
    let status = child.wait().map_err(|e| failed(e.to_string()))?;
    if !status.success() {
        return Err(failed(format!("exited with {status}")));
    }
    written.map_err(|e| failed(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ADDRESS: &str = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";

    #[test]
    fn osc52_is_the_base64_of_the_text_between_osc_52_and_bel() {
        assert_eq!(osc52_for("hello", false), "\x1b]52;c;aGVsbG8=\x07");
        let seq = osc52_for(ADDRESS, false);
        let payload = seq
            .strip_prefix("\x1b]52;c;")
            .and_then(|s| s.strip_suffix('\x07'))
            .expect("OSC 52 framing");
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(payload)
            .expect("base64");
        assert_eq!(decoded, ADDRESS.as_bytes());
    }

    #[test]
    fn osc52_payload_cannot_terminate_the_sequence_early() {
        // Text with BEL / ESC / ST inside is carried in base64, so the only BEL is the last byte.
        let seq = osc52_for("a\x07b\x1b\\c\u{9c}", false);
        assert_eq!(seq.matches('\x07').count(), 1);
        assert_eq!(seq.matches('\x1b').count(), 1);
        assert!(seq.ends_with('\x07'));
    }

    #[test]
    fn osc52_handles_empty_and_non_ascii_text() {
        assert_eq!(osc52_for("", false), "\x1b]52;c;\x07");
        assert_eq!(osc52_for("é✓", false), "\x1b]52;c;w6ninJM=\x07");
    }

    #[test]
    fn tmux_variant_wraps_in_dcs_passthrough_with_doubled_escapes() {
        assert_eq!(
            osc52_for("hello", true),
            "\x1bPtmux;\x1b\x1b]52;c;aGVsbG8=\x07\x1b\\"
        );
    }

    #[test]
    fn helpers_are_found_only_when_executable_on_the_path() {
        let dir = tempfile::tempdir().expect("tempdir");
        let dirs = vec![dir.path().to_path_buf()];
        assert_eq!(find_on(&dirs, "xclip"), None);
        let file = dir.path().join("xclip");
        std::fs::write(&file, "#!/bin/sh\n").expect("write");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(find_on(&dirs, "xclip"), None, "not executable yet");
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        }
        assert_eq!(find_on(&dirs, "xclip"), Some(file));
    }

    #[cfg(unix)]
    #[test]
    fn helper_gets_the_text_on_stdin_and_failures_are_reported() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().join("copied");
        let script = dir.path().join("fake-xsel");
        let body = format!(
            "#!/bin/sh\n[ \"$1 $2\" = '--clipboard --input' ] || exit 3\ncat > '{}'\n",
            out.display()
        );
        std::fs::write(&script, body).expect("write");
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        // A process forked by another test while the script was open for writing makes exec
        // fail with ETXTBSY for a moment; that race is the test's, not the helper's.
        let mut result = run_helper(Helper::Xsel, &script, ADDRESS);
        for _ in 0..20 {
            if !matches!(&result, Err(e) if e.to_string().contains("os error 26")) {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
            result = run_helper(Helper::Xsel, &script, ADDRESS);
        }
        assert_eq!(result, Ok(()));
        assert_eq!(std::fs::read_to_string(&out).expect("read"), ADDRESS);
        let err = run_helper(Helper::Xclip, &script, ADDRESS).expect_err("wrong args exit 3");
        assert!(
            err.to_string().starts_with("xclip failed: exited with"),
            "{err}"
        );
    }

    #[test]
    fn helper_arguments_select_the_clipboard() {
        assert_eq!(Helper::Xclip.args(), ["-selection", "clipboard"]);
        assert_eq!(Helper::Xsel.args(), ["--clipboard", "--input"]);
        assert_eq!(Helper::WlCopy.to_string(), "wl-copy");
    }
}
