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

/// Reads a whole file as UTF-8 text, without its final line break.
pub fn read_secret_file(path: &Path) -> Result<Zeroizing<String>> {
    let bytes = Zeroizing::new(
        std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?,
    );
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| anyhow::anyhow!("{} is not valid UTF-8 text", path.display()))?;
    Ok(Zeroizing::new(strip_newline(text).to_owned()))
}

/// Reads all of standard input as UTF-8 text.
pub fn read_stdin() -> Result<Zeroizing<String>> {
    let mut bytes = Zeroizing::new(Vec::new());
    std::io::stdin()
        .read_to_end(&mut bytes)
        .context("cannot read standard input")?;
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
        if a.chars().count() < 8 {
            eprintln!("  too short: use at least 8 characters (a few random words work well)");
            continue;
        }
        eprintln!("  strength: {}", strength_hint(&a));
        let b = Zeroizing::new(rpassword::prompt_password("repeat it: ")?);
        if *a != *b {
            eprintln!("  the two passwords differ; try again");
            continue;
        }
        return Ok(Password::new(a.to_string()));
    }
}

/// A person-readable strength estimate (zxcvbn) with its advice.
pub fn strength_hint(password: &str) -> String {
    let estimate = zxcvbn::zxcvbn(password, &["keybot"]);
    let score = u8::from(estimate.score());
    let label = ["very weak", "weak", "fair", "strong", "very strong"][usize::from(score.min(4))];
    let mut s = format!("{label} ({score}/4)");
    if let Some(fb) = estimate.feedback() {
        if let Some(w) = fb.warning() {
            s.push_str(&format!(": {w}"));
        } else if let Some(sug) = fb.suggestions().first() {
            s.push_str(&format!(": {sug}"));
        }
    }
    s
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
