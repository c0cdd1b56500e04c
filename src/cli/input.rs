//! Where secrets come from: a file, an environment variable, or the terminal — in that order.
//! Scripts and tests use the first two; people get a prompt that does not echo.
use std::io::{BufRead, IsTerminal, Read, Write};
use std::path::Path;

use anyhow::{Context, Result, bail};
use keybot_keystore::secret::Password;
use zeroize::Zeroizing;

pub fn stdin_is_tty() -> bool {
    std::io::stdin().is_terminal()
}

/// The most a secret file (a password, a phrase) or secret standard input may hold.
pub const MAX_SECRET_BYTES: u64 = 64 * 1024;

/// Reads a file into memory, refusing one larger than `limit` bytes without reading more than
/// one byte past it: `/dev/zero` or a FIFO that never ends cannot exhaust memory.
pub fn read_limited(path: &Path, limit: u64, what: &str) -> Result<Vec<u8>> {
    keybot_keystore::atomic::read_limited(path, limit).map_err(|e| {
        if e.kind() == std::io::ErrorKind::FileTooLarge {
            anyhow::anyhow!(
                "{} is too large for {what} (over {limit} bytes)",
                path.display()
            )
        } else {
            anyhow::Error::new(e).context(format!("cannot read {}", path.display()))
        }
    })
}

/// [`read_limited`], as UTF-8 text.
pub fn read_text_limited(path: &Path, limit: u64, what: &str) -> Result<String> {
    String::from_utf8(read_limited(path, limit, what)?)
        .map_err(|_| anyhow::anyhow!("{} is not valid UTF-8 text", path.display()))
}

/// Reads a whole file as UTF-8 text, without its final line break.
pub fn read_secret_file(path: &Path) -> Result<Zeroizing<String>> {
    let bytes = Zeroizing::new(read_limited(path, MAX_SECRET_BYTES, "a secret")?);
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| anyhow::anyhow!("{} is not valid UTF-8 text", path.display()))?;
    Ok(Zeroizing::new(strip_newline(text).to_owned()))
}

/// Reads all of standard input as UTF-8 text (at most [`MAX_SECRET_BYTES`]).
pub fn read_stdin() -> Result<Zeroizing<String>> {
    let mut bytes = Zeroizing::new(Vec::with_capacity(1024));
    std::io::stdin()
        .lock()
        .take(MAX_SECRET_BYTES + 1)
        .read_to_end(&mut bytes)
        .context("cannot read standard input")?;
    if bytes.len() as u64 > MAX_SECRET_BYTES {
        bail!("standard input is too large (over {MAX_SECRET_BYTES} bytes)");
    }
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| anyhow::anyhow!("standard input is not valid UTF-8 text"))?;
    Ok(Zeroizing::new(text.to_owned()))
}

fn strip_newline(s: &str) -> &str {
    s.strip_suffix("\r\n")
        .or_else(|| s.strip_suffix('\n'))
        .unwrap_or(s)
}

fn from_env(var: &str) -> Result<Option<Zeroizing<String>>> {
    match std::env::var(var) {
        Ok(v) => Ok(Some(Zeroizing::new(v))),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => bail!("{var} is not valid UTF-8"),
    }
}

/// A secret from `file`, else `env`, else `None`.
pub fn scripted(file: Option<&Path>, env: &str) -> Result<Option<Zeroizing<String>>> {
    if let Some(f) = file {
        return read_secret_file(f).map(Some);
    }
    from_env(env)
}

/// The password of an existing secret (the vault, a keystore file).
pub fn existing_password(file: Option<&Path>, env: &str, what: &str) -> Result<Password> {
    if let Some(s) = scripted(file, env)? {
        return Ok(Password::new(s.to_string()));
    }
    if !stdin_is_tty() {
        bail!("no {what} password: pass a password file or set {env}");
    }
    let s = Zeroizing::new(
        rpassword::prompt_password(format!("{what} password: "))
            .context("cannot read the password")?,
    );
    Ok(Password::new(s.to_string()))
}

/// A new password: from a script, or typed twice at the terminal with a strength hint.
pub fn new_password(file: Option<&Path>, env: &str, what: &str) -> Result<Password> {
    if let Some(s) = scripted(file, env)? {
        if s.is_empty() {
            bail!("the new {what} password is empty");
        }
        return Ok(Password::new(s.to_string()));
    }
    if !stdin_is_tty() {
        bail!("no new {what} password: pass a password file or set {env}");
    }
    loop {
        let a = Zeroizing::new(rpassword::prompt_password(format!(
            "new {what} password: "
        ))?);
        match crate::strength::check_new(&a) {
            Ok(s) => eprintln!("  strength: {}", s.hint),
            Err(why) => {
                eprintln!("  {why}");
                continue;
            }
        }
        let b = Zeroizing::new(rpassword::prompt_password("repeat it: ")?);
        if *a != *b {
            eprintln!("  the two passwords differ; try again");
            continue;
        }
        return Ok(Password::new(a.to_string()));
    }
}

/// A yes/no question on the terminal; only `y`, `Y` or `yes` is a yes. Without a terminal there is
/// no one to answer: that is an error telling the script to pass `--yes`.
pub fn ask_yes(prompt: &str) -> Result<bool> {
    if !stdin_is_tty() {
        bail!("refusing to continue without confirmation: pass --yes");
    }
    let answer = prompt_line(prompt)?;
    Ok(matches!(answer.as_str(), "y" | "Y" | "yes"))
}

/// One line from the terminal (visible input).
pub fn prompt_line(prompt: &str) -> Result<Zeroizing<String>> {
    eprint!("{prompt}");
    std::io::stderr().flush().ok();
    let mut line = Zeroizing::new(String::new());
    let n = std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("cannot read from the terminal")?;
    if n == 0 {
        bail!("input ended");
    }
    Ok(Zeroizing::new(strip_newline(&line).trim().to_owned()))
}
