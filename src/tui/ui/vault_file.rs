//! The sale vault's "add a file" prompt: the path on one line (its end shown when it is longer
//! than the box), and under it the service's refusal or the names a Tab found.
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use super::{block, input_line, muted, shorten};
use crate::sanitize::clean_line;
use crate::tui::screens::vault_file::FilePrompt;
use crate::tui::state::Input;
use crate::tui::theme::{Role, Theme};

/// At most this many lines of names under the prompt.
const NAME_LINES: usize = 3;
/// At most this many lines of a refusal.
const ERROR_LINES: usize = 2;

/// The prompt's height in a box `width` columns wide: its border, the path, what is under it.
pub(super) fn height(p: &FilePrompt, width: u16) -> u16 {
    let under = below(p, usize::from(width.saturating_sub(2)).max(10), None).len();
    3 + under as u16
}

pub(super) fn draw(f: &mut Frame, area: Rect, p: &FilePrompt, t: &Theme) {
    let inner = usize::from(area.width.saturating_sub(2)).max(10);
    let title = if p.adding {
        "File to add to the sale vault: adding it…"
    } else {
        "File to add to the sale vault (Tab completes, Enter adds, Esc cancels)"
    };
    let mut lines = vec![input_line(&window(&p.path, inner), t, !p.adding)];
    lines.extend(below(p, inner, Some(t)));
    f.render_widget(Paragraph::new(lines).block(block(title, t, true)), area);
}

/// The part of the path that fits `width` columns with the cursor in view: its start replaced
/// by `…` where it is cut (a path is typed at its end).
fn window(input: &Input, width: usize) -> Input {
    let chars: Vec<char> = input.text.chars().collect();
    let cursor = input.cursor.min(chars.len());
    // One column for the cursor's cell past the end.
    if input.text.width() < width {
        return input.clone();
    }
    let mut start = cursor;
    let mut used = 1;
    while start > 0 {
        let w = chars[start - 1].width().unwrap_or(0);
        if used + w > width.saturating_sub(1) {
            break;
        }
        used += w;
        start -= 1;
    }
    if start == 0 {
        return input.clone();
    }
    let mut shown = Input::default();
    shown.text = std::iter::once('…')
        .chain(chars[start..].iter().copied())
        .collect();
    shown.cursor = cursor - start + 1;
    shown
}

/// The lines under the path: the refusal (in the error role), else the names a Tab found,
/// as many as fit in [`NAME_LINES`] lines and how many more there are. Unstyled without `t`
/// (for counting).
fn below(p: &FilePrompt, width: usize, t: Option<&Theme>) -> Vec<Line<'static>> {
    let style = |role: Role| t.map(|t| t.style(role)).unwrap_or_default();
    if let Some(why) = &p.error {
        let mut lines = words(&clean_line(why), width);
        if lines.len() > ERROR_LINES {
            lines.truncate(ERROR_LINES);
            if let Some(last) = lines.last_mut() {
                *last = shorten(&format!("{last} …"), width);
            }
        }
        return lines
            .into_iter()
            .map(|l| Line::from(Span::styled(l, style(Role::Error))))
            .collect();
    }
    if p.matches.is_empty() {
        return vec![];
    }
    let total = p.matches.len();
    // "  … N more" after the names on the last line, N counting from name `i` on.
    let more = |i: usize| format!("  … {} more", total - i);
    let mut lines: Vec<String> = vec![String::new()];
    for (i, name) in p.matches.iter().enumerate() {
        let name = shorten(&clean_line(name), width);
        let last = lines.len() - 1;
        let on_last = lines.len() == NAME_LINES;
        // On the last line room stays for the count of the names after this one.
        let reserve = if on_last && i + 1 < total {
            more(i + 1).width()
        } else {
            0
        };
        let sep = if lines[last].is_empty() { 0 } else { 2 };
        if lines[last].width() + sep + name.width() + reserve <= width {
            if sep > 0 {
                lines[last].push_str("  ");
            }
            lines[last].push_str(&name);
            continue;
        }
        if on_last {
            lines[last].push_str(&more(i));
            break;
        }
        lines.push(String::new());
        let reserve = if lines.len() == NAME_LINES && i + 1 < total {
            more(i + 1).width()
        } else {
            0
        };
        if name.width() + reserve <= width {
            lines[last + 1].push_str(&name);
        } else {
            lines[last + 1] = more(i).trim_start().to_owned();
            break;
        }
    }
    lines
        .into_iter()
        .map(|l| match t {
            Some(t) => muted(l, t),
            None => Line::from(l),
        })
        .collect()
}

/// `text` in lines of at most `width` columns, broken between words (a longer word is cut).
fn words(text: &str, width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        let sep = usize::from(!line.is_empty());
        if !line.is_empty() && line.width() + sep + word.width() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(&shorten(word, width));
    }
    lines.push(line);
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_path_shows_its_end_with_the_cursor() {
        let mut input = Input::default();
        input.set("/home/ann/Documents/projects/2025/notes-on-the-sourdough-starter.txt");
        let shown = window(&input, 30);
        assert!(shown.text.starts_with('…'), "{}", shown.text);
        assert!(shown.text.ends_with("starter.txt"), "{}", shown.text);
        assert!(shown.text.width() < 30);
        assert_eq!(shown.cursor, shown.text.chars().count());
        input.set("short.txt");
        assert_eq!(window(&input, 30).text, "short.txt");
    }

    #[test]
    fn names_fill_three_lines_then_say_how_many_more() {
        let p = FilePrompt {
            matches: (0..40).map(|i| format!("file-{i:02}.txt")).collect(),
            ..FilePrompt::default()
        };
        let lines: Vec<String> = below(&p, 40, None).iter().map(|l| l.to_string()).collect();
        assert_eq!(lines.len(), NAME_LINES, "{lines:?}");
        assert!(lines.iter().all(|l| l.width() <= 40), "{lines:?}");
        assert!(lines[2].ends_with("more"), "{lines:?}");
    }
}
