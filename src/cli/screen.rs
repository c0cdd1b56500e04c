//! Showing a secret on the terminal without leaving it in the scrollback: the alternate screen
//! is used while the words are visible and is always left again, also on error or panic unwind.
use std::io::Write;

use anyhow::Result;
use crossterm::terminal::{EnterAlternateScreen, LeaveAlternateScreen};

pub struct AltScreen;

impl AltScreen {
    pub fn enter() -> Result<AltScreen> {
        crossterm::execute!(std::io::stderr(), EnterAlternateScreen)?;
        Ok(AltScreen)
    }
}

impl Drop for AltScreen {
    fn drop(&mut self) {
        let _ = crossterm::execute!(std::io::stderr(), LeaveAlternateScreen);
        let _ = std::io::stderr().flush();
    }
}

/// Words numbered in columns, for writing down.
pub fn numbered_words(words: &[&str]) -> String {
    let mut out = String::new();
    for (i, chunk) in words.chunks(4).enumerate() {
        for (j, w) in chunk.iter().enumerate() {
            out.push_str(&format!("{:>3}. {:<10}", i * 4 + j + 1, w));
        }
        out.push('\n');
    }
    out
}
