//! The terminal guard: raw mode, alternate screen, mouse and bracketed paste on the way in, and
//! all of it undone on every way out — normal quit and error (Drop), panic (a hook that restores
//! before the panic message is printed, so the message lands on the normal screen), SIGTERM
//! (the app turns it into a quit, which drops the guard) and SIGABRT (ggml's abort: a signal
//! handler, `keybot_llama_rpc::restore_terminal_on_abort`).
use std::io::{self, Stdout, Write};
use std::sync::Once;

use crossterm::event::{
    DisableBracketedPaste, DisableMouseCapture, EnableBracketedPaste, EnableMouseCapture,
};
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

pub type Term = Terminal<CrosstermBackend<Stdout>>;

pub struct TerminalGuard;

static HOOK: Once = Once::new();

impl TerminalGuard {
    pub fn enter() -> io::Result<(TerminalGuard, Term)> {
        HOOK.call_once(|| {
            // ggml aborts where it cannot go on (ggml-rpc, when an rpc-server holding layers
            // is gone): no Rust hook runs then, so a signal handler puts the terminal back.
            let _ = keybot_llama_rpc::restore_terminal_on_abort(RESTORE);
            let previous = std::panic::take_hook();
            std::panic::set_hook(Box::new(move |info| {
                restore();
                previous(info);
            }));
        });
        enable_raw_mode()?;
        let guard = TerminalGuard;
        crossterm::execute!(
            io::stdout(),
            EnterAlternateScreen,
            EnableMouseCapture,
            EnableBracketedPaste
        )?;
        let terminal = Terminal::new(CrosstermBackend::new(io::stdout()))?;
        Ok((guard, terminal))
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore();
    }
}

/// What [`restore`] writes, as bytes for the abort handler (which may not allocate): bracketed
/// paste and the mouse modes off, the normal screen, the cursor shown.
const RESTORE: &[u8] =
    b"\x1b[?2004l\x1b[?1006l\x1b[?1015l\x1b[?1003l\x1b[?1002l\x1b[?1000l\x1b[?1049l\x1b[?25h";

/// Puts the terminal back as it was; safe to call more than once.
pub fn restore() {
    let mut out = io::stdout();
    let _ = crossterm::execute!(
        out,
        DisableBracketedPaste,
        DisableMouseCapture,
        LeaveAlternateScreen,
        crossterm::cursor::Show
    );
    let _ = disable_raw_mode();
    let _ = out.flush();
}
