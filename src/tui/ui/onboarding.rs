use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::{block, centered, input_line, muted, styled};
use crate::tui::state::{Input, Onboarding, SecretText, State};
use crate::tui::theme::{Role, Theme};

pub fn draw(f: &mut Frame, area: Rect, s: &State, t: &Theme, _: &mut super::RenderCache) {
    let r = centered(area, 76, 20);
    let (title, lines): (&str, Vec<Line>) = match &s.onboarding {
        Onboarding::Choose { selected } => choose(*selected, t),
        Onboarding::Generating => ("New wallet", vec![muted("generating…", t)]),
        Onboarding::ShowWords { words } => ("Your recovery phrase", show_words(words, t)),
        Onboarding::Confirm {
            asked,
            step,
            input,
            error,
            ..
        } => {
            let mut lines = vec![
                Line::from("Check what you wrote down: type the words it asks for."),
                Line::from(""),
                Line::from(format!("word #{}  ({} of 3)", asked[*step] + 1, step + 1)),
                input_line(input, t, true),
            ];
            if let Some(e) = error {
                lines.push(styled(e.clone(), t.style(Role::Error)));
            }
            ("Confirm the phrase", lines)
        }
        Onboarding::ImportWords { words, input, hint } => {
            let mut lines = vec![
                Line::from("Type your recovery phrase, one or more words at a time, then Enter."),
                Line::from("Enter on an empty line when all words are in (12, 15, 18, 21 or 24)."),
                Line::from(""),
                Line::from(format!("{} words so far", words.len())),
                Line::from(vec![Span::raw(format!("word {}: ", words.len() + 1))]),
                input_line(input, t, true),
            ];
            match hint {
                Some(h) => lines.push(styled(h.clone(), t.style(Role::Error))),
                None => lines.push(muted(
                    "Backspace on an empty line removes the last word · Esc to start over",
                    t,
                )),
            }
            ("Restore", lines)
        }
        Onboarding::Passphrase {
            first,
            second,
            on_second,
            error,
            ..
        } => (
            "Passphrase (optional)",
            passphrase(first, second, *on_second, error, t),
        ),
        Onboarding::Password {
            first,
            second,
            on_second,
            strength,
            error,
            ..
        } => (
            "Password",
            password(first, second, *on_second, strength, error, t),
        ),
        Onboarding::Writing => (
            "Password",
            vec![muted("encrypting the vault… (about a second)", t)],
        ),
    };
    f.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(block(title, t, true)),
        r,
    );
}

fn choose(selected: usize, t: &Theme) -> (&'static str, Vec<Line<'static>>) {
    let item = |i: usize, text: &'static str| {
        let style = if selected == i {
            t.style(Role::Selection)
        } else {
            t.style(Role::Text)
        };
        Line::from(Span::styled(
            format!("  {}  {text}", if selected == i { '›' } else { ' ' }),
            style,
        ))
    };
    (
        "Welcome to keybot",
        vec![
            Line::from("Not your keys, not your bots. Everything here stays on this machine,"),
            Line::from("keyed to one recovery phrase."),
            Line::from(""),
            item(0, "Create a new wallet"),
            item(1, "Restore from a recovery phrase"),
            Line::from(""),
            muted("↑/↓ to choose, Enter to continue", t),
        ],
    )
}

/// The new phrase, four words a row, with what it is for.
fn show_words(words: &[SecretText], t: &Theme) -> Vec<Line<'static>> {
    let mut lines = vec![
        styled(
            "Write these words down on paper, in order. They are shown once.",
            t.style(Role::Warning),
        ),
        Line::from(""),
    ];
    for row in words.chunks(4).enumerate() {
        let (i, chunk) = row;
        let spans: Vec<Span> = chunk
            .iter()
            .enumerate()
            .map(|(j, w)| {
                Span::styled(
                    format!("{:>3}. {:<10}", i * 4 + j + 1, w.as_str()),
                    t.style(Role::Accent),
                )
            })
            .collect();
        lines.push(Line::from(spans));
    }
    lines.extend([
        Line::from(""),
        Line::from("Anyone who sees them can take everything in this wallet; without them a"),
        Line::from("forgotten password cannot be recovered. keybot never sends them anywhere."),
        Line::from(""),
        muted("Enter when written down · Esc to start over", t),
    ]);
    lines
}

/// The two password fields and the strength meter of the first.
fn passphrase(
    first: &Input,
    second: &Input,
    on_second: bool,
    error: &Option<String>,
    t: &Theme,
) -> Vec<Line<'static>> {
    let mut lines = vec![
        Line::from("A BIP-39 passphrase (\"25th word\") turns the phrase into another wallet."),
        Line::from("Restoring one? Type it exactly. None? Press Enter."),
        Line::from(""),
        Line::from("passphrase:"),
        input_line(first, t, !on_second),
    ];
    if on_second || !first.text.is_empty() {
        lines.push(Line::from(""));
        lines.push(Line::from("again:"));
        lines.push(input_line(second, t, on_second));
    }
    match error {
        Some(e) => lines.push(styled(e.clone(), t.style(Role::Error))),
        None => lines.push(muted(
            "write it down apart from the phrase: without it the phrase opens another, empty wallet",
            t,
        )),
    }
    lines
}

fn password(
    first: &Input,
    second: &Input,
    on_second: bool,
    strength: &Option<(u8, String)>,
    error: &Option<String>,
    t: &Theme,
) -> Vec<Line<'static>> {
    let mut lines = vec![
        Line::from(
            "Choose a password. It encrypts the wallet on this machine; the phrase is the backup.",
        ),
        Line::from(""),
        Line::from("password:"),
        input_line(first, t, !on_second),
    ];
    if let Some((score, hint)) = strength {
        let role = match score {
            0 | 1 => Role::Error,
            2 => Role::Warning,
            _ => Role::Success,
        };
        let bar = format!(
            "{}{}",
            "█".repeat(usize::from(*score) * 3 + 1),
            "░".repeat(13 - usize::from(*score) * 3)
        );
        lines.push(Line::from(vec![
            Span::styled(bar, t.style(role)),
            Span::raw(format!("  {hint}")),
        ]));
    } else {
        lines.push(Line::from(""));
    }
    lines.push(Line::from(""));
    lines.push(Line::from("again:"));
    lines.push(input_line(second, t, on_second));
    if let Some(e) = error {
        lines.push(styled(e.clone(), t.style(Role::Error)));
    }
    lines
}
