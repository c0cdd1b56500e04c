//! `keybot init`: create a wallet, or restore one from its phrase.
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args;
use keybot_keystore::mnemonic::resolve_word;
use keybot_keystore::{AccountRef, Phrase, atomic, vault};
use zeroize::Zeroizing;

use super::input;
use super::screen::{AltScreen, numbered_words};
use crate::config::Paths;
use crate::service;

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Number of words of a new phrase (12, 15, 18, 21 or 24).
    #[arg(long, default_value_t = 24, value_parser = parse_word_count)]
    words: usize,
    /// Also protect the seed with a BIP-39 passphrase (the "25th word"). Prompted, or read from
    /// --passphrase-file / KEYBOT_PASSPHRASE.
    #[arg(long)]
    passphrase: bool,
    #[arg(long, value_name = "FILE", requires = "passphrase")]
    passphrase_file: Option<PathBuf>,
    /// Restore from an existing phrase instead of making a new one.
    #[arg(long)]
    import: bool,
    /// With --import: read the phrase from FILE (otherwise from standard input or the terminal).
    #[arg(long, value_name = "FILE", requires = "import")]
    mnemonic_file: Option<PathBuf>,
    /// Without a terminal: write the new phrase to FILE (created with mode 0600, never
    /// overwritten), or to standard output when FILE is `-`.
    #[arg(long, value_name = "FILE", conflicts_with = "import")]
    mnemonic_out: Option<String>,
    /// Read the new vault password from FILE (or set KEYBOT_PASSWORD).
    #[arg(long, value_name = "FILE")]
    password_file: Option<PathBuf>,
}

fn parse_word_count(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n @ (12 | 15 | 18 | 21 | 24)) => Ok(n),
        _ => Err("a phrase has 12, 15, 18, 21 or 24 words".into()),
    }
}

impl InitArgs {
    pub fn run(self, paths: &Paths) -> Result<()> {
        let vault_path = paths.vault();
        if vault_path.exists() {
            return Err(keybot_keystore::Error::VaultExists(vault_path).into());
        }
        let interactive = input::stdin_is_tty();
        if !self.import && !interactive && self.mnemonic_out.is_none() {
            bail!(
                "no terminal to show the new phrase on: pass --mnemonic-out FILE (or - for standard output)"
            );
        }
        let out_file = match self.mnemonic_out.as_deref() {
            Some("-") | None => None,
            Some(f) => {
                let p = PathBuf::from(f);
                if p.exists() {
                    bail!("{} already exists; not overwritten", p.display());
                }
                Some(p)
            }
        };

        let phrase = if self.import {
            read_phrase(&self, interactive)?
        } else {
            Phrase::generate(self.words)?
        };
        if !self.import && self.mnemonic_out.is_none() {
            show_and_confirm(&phrase)?;
        }
        let passphrase = if self.passphrase {
            input::scripted(self.passphrase_file.as_deref(), "KEYBOT_PASSPHRASE")?
                .map(Ok)
                .unwrap_or_else(prompt_passphrase)?
        } else {
            Zeroizing::new(String::new())
        };
        // Checked before the password is asked for: the same check the app's onboarding makes.
        vault::check_passphrase(&passphrase)?;
        let password =
            input::new_password(self.password_file.as_deref(), "KEYBOT_PASSWORD", "vault")?;
        let wallet = service::wallet::from_phrase(phrase, &passphrase)?;

        // The phrase is written out before the vault so that a wallet never exists whose phrase the
        // user was not given; if the vault then fails, the phrase file is taken back.
        match (&out_file, self.mnemonic_out.as_deref()) {
            (Some(p), _) => {
                let mut text = wallet.phrase().to_phrase_string();
                text.push('\n');
                atomic::create_private(p, text.as_bytes())?;
            }
            (None, Some("-")) => println!("{}", *wallet.phrase().to_phrase_string()),
            _ => {}
        }
        if let Err(e) = service::wallet::write_new_vault(paths, &wallet, &password) {
            if let Some(p) = &out_file {
                let _ = std::fs::remove_file(p);
            }
            return Err(e);
        }
        tracing::info!(
            imported = self.import,
            "wallet created from the command line"
        );
        eprintln!(
            "wallet {} at {}; account 0 is {}",
            if self.import { "restored" } else { "created" },
            vault_path.display(),
            wallet.address(AccountRef::Hd(0))?
        );
        Ok(())
    }
}

fn prompt_passphrase() -> Result<Zeroizing<String>> {
    if !input::stdin_is_tty() {
        bail!("no BIP-39 passphrase: pass --passphrase-file FILE or set KEYBOT_PASSPHRASE");
    }
    eprintln!(
        "The passphrase is part of the seed: without it the phrase restores a different, empty wallet."
    );
    loop {
        let a = Zeroizing::new(rpassword::prompt_password("BIP-39 passphrase: ")?);
        let b = Zeroizing::new(rpassword::prompt_password("repeat it: ")?);
        if *a == *b {
            return Ok(a);
        }
        eprintln!("  the two differ; try again");
    }
}

/// Shows a new phrase once and has the user type back three words chosen at random, all on the
/// alternate screen: neither the phrase nor the typed words (echoed as they are typed) are left
/// in the terminal's scrollback.
fn show_and_confirm(phrase: &Phrase) -> Result<()> {
    let words = phrase.words();
    let _screen = AltScreen::enter()?;
    {
        eprintln!(
            "Your recovery phrase ({} words). Write it down on paper, in order.\n",
            words.len()
        );
        eprintln!("{}", numbered_words(&words));
        eprintln!(
            "Anyone who sees these words can take everything in this wallet. keybot shows them"
        );
        eprintln!(
            "once; it never sends them anywhere. Without them a lost password cannot be recovered.\n"
        );
        input::prompt_line("Press Enter when you have written them down… ")?;
        // The words leave the screen before the user is asked for them.
        crossterm::execute!(
            std::io::stderr(),
            crossterm::terminal::Clear(crossterm::terminal::ClearType::All),
            crossterm::cursor::MoveTo(0, 0)
        )?;
    }
    let mut picks = [0u8; 3];
    let mut chosen: Vec<usize> = Vec::new();
    while chosen.len() < 3 {
        getrandom::fill(&mut picks).map_err(|e| anyhow::anyhow!("random source: {e}"))?;
        for b in picks {
            let i = usize::from(b) % words.len();
            if chosen.len() < 3 && !chosen.contains(&i) {
                chosen.push(i);
            }
        }
    }
    chosen.sort_unstable();
    for i in chosen {
        let typed = input::prompt_line(&format!("word #{}: ", i + 1))?;
        if typed.to_lowercase() != words[i] {
            bail!(
                "word #{} does not match: nothing was written; run `keybot init` again",
                i + 1
            );
        }
    }
    Ok(())
}

fn read_phrase(args: &InitArgs, interactive: bool) -> Result<Phrase> {
    let text = match &args.mnemonic_file {
        Some(f) => input::read_secret_file(f)?,
        None if interactive => return prompt_phrase(),
        None => input::read_stdin()?,
    };
    Ok(Phrase::parse(&text)?)
}

/// Word-by-word entry: each word is checked as it is typed, a mistyped one is refused with a
/// suggestion, and the checksum is checked at the end. Pasting several words at once works too.
fn prompt_phrase() -> Result<Phrase> {
    let _screen = AltScreen::enter()?;
    let count = loop {
        let n = input::prompt_line("How many words does your phrase have? [12/15/18/21/24] ")?;
        match parse_word_count(&n) {
            Ok(n) => break n,
            Err(e) => eprintln!("  {e}"),
        }
    };
    let mut words: Vec<Zeroizing<String>> = Vec::with_capacity(count);
    while words.len() < count {
        let line = input::prompt_line(&format!("word {}/{count}: ", words.len() + 1))?;
        for w in line.split_whitespace() {
            if words.len() == count {
                break;
            }
            match resolve_word(w) {
                Ok(word) => words.push(Zeroizing::new(word.to_owned())),
                Err(hint) => {
                    eprintln!("  {hint}");
                    break;
                }
            }
        }
    }
    let mut joined = Zeroizing::new(String::new());
    for w in &words {
        joined.push_str(w);
        joined.push(' ');
    }
    Phrase::parse(&joined).context("the phrase was not accepted; nothing was written")
}
