use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{List, ListItem, ListState, Paragraph};

use super::cache::{Lines, RenderCache};
use super::{block, input_line, muted};
use crate::sanitize::clean_line;
use crate::store::Role as MsgRole;
use crate::tui::state::{ChatFocus, ChatView, ModelStatus, State};
use crate::tui::theme::{Role, Theme};

pub fn draw(f: &mut Frame, area: Rect, s: &State, t: &Theme, cache: &mut RenderCache) {
    let c = &s.chat;
    let list_w = if area.width >= 90 { 30 } else { 22 };
    let [left, right] =
        Layout::horizontal([Constraint::Length(list_w), Constraint::Min(20)]).areas(area);
    draw_list(f, left, s, t);
    // The box at the bottom edits the message, or the conversation's system prompt.
    let (field, title, focused) = match (&c.model_path, &c.system_prompt) {
        (Some(p), _) => (p, "Path of a GGUF file (Enter adds it, Esc cancels)", true),
        (None, Some(p)) => (
            p,
            "System prompt for this conversation (Enter saves, Esc cancels)",
            true,
        ),
        (None, None) if c.streaming.is_some() => (
            &c.input,
            "Message (Esc stops the answer)",
            c.focus == ChatFocus::Input,
        ),
        // The box has the keys right after unlocking, so `q` is a letter there: the title says
        // how to leave it for the commands.
        (None, None) if c.focus == ChatFocus::Input => (
            &c.input,
            "Message (Enter sends, Alt-Enter new line, Esc leaves)",
            true,
        ),
        (None, None) => (&c.input, "Message (Tab to type)", false),
    };
    let input_h = (field.text.lines().count().max(1) as u16 + 2).min(8);
    let [messages, input] =
        Layout::vertical([Constraint::Min(3), Constraint::Length(input_h)]).areas(right);
    draw_messages(f, messages, s, t, cache);
    let lines: Vec<Line> = if field.text.contains('\n') {
        // Multi-line: show the lines; the cursor is drawn on a single-line view only.
        field
            .text
            .split('\n')
            .map(|l| Line::from(l.to_owned()))
            .collect()
    } else {
        vec![input_line(field, t, focused)]
    };
    let title = super::shorten(title, usize::from(input.width.saturating_sub(4)));
    f.render_widget(
        Paragraph::new(lines).block(block(&title, t, focused)),
        input,
    );
}

fn draw_list(f: &mut Frame, area: Rect, s: &State, t: &Theme) {
    let c = &s.chat;
    let mut items: Vec<ListItem> = Vec::with_capacity(c.conversations.len() + 1);
    if let Some(q) = &c.search {
        items.push(ListItem::new(
            Line::from(vec![Span::styled("/", t.style(Role::Accent))])
                .patch_style(t.style(Role::Input)),
        ));
        items.push(ListItem::new(input_line(q, t, true)));
    }
    let width = area.width.saturating_sub(4) as usize;
    for (i, conv) in c.conversations.iter().enumerate() {
        let title: String = match (&c.renaming, i == c.selected) {
            (Some(input), true) => input.text.clone(),
            _ => clean_line(&conv.title).chars().take(width).collect(),
        };
        let style = if Some(conv.id) == c.current {
            t.style(Role::Accent)
        } else {
            t.style(Role::Text)
        };
        items.push(ListItem::new(Line::from(Span::styled(title, style))));
    }
    let offset = if c.search.is_some() { 2 } else { 0 };
    let mut ls = ListState::default()
        .with_selected((!c.conversations.is_empty()).then_some(c.selected + offset));
    let title = if c.conversations.is_empty() {
        "Chats (none yet)"
    } else {
        "Chats"
    };
    f.render_stateful_widget(
        List::new(items)
            .highlight_style(t.style(Role::Selection))
            .block(block(title, t, c.focus == ChatFocus::List)),
        area,
        &mut ls,
    );
}

fn draw_messages(f: &mut Frame, area: Rect, s: &State, t: &Theme, cache: &mut RenderCache) {
    let c = &s.chat;
    let inner_w = area.width.saturating_sub(2).max(10);
    let inner_h = area.height.saturating_sub(2) as usize;
    let tools = match (&c.tools, crate::tui::screens::chat_bot::active(c)) {
        (None, _) => "",
        (Some(_), true) => " · tools on",
        (Some(_), false) => " · tools off",
    };
    if c.messages.is_empty() && c.streaming.is_none() {
        let lines = empty(c, t);
        f.render_widget(
            Paragraph::new(lines)
                .wrap(ratatui::widgets::Wrap { trim: false })
                .block(block(&format!("Conversation{tools}"), t, false)),
            area,
        );
        return;
    }
    // Take messages from the newest upwards and stop once the screen (plus the scroll offset)
    // is full: the cost of a frame depends on the screen size, not on the conversation length.
    // Their lines come from the render cache (each message is rendered once; of the streaming
    // answer only its last block each frame), and only the visible ones are copied.
    cache.frame(inner_w, t);
    let need = inner_h + c.scroll as usize;
    let mut blocks: Vec<(Line, Vec<Lines>)> = Vec::new();
    let mut have = 0usize;
    let streaming = c
        .streaming
        .as_ref()
        .map(|text| (MsgRole::Assistant, text.as_str(), true));
    let all = c
        .messages
        .iter()
        .map(|m| (m.role, m.text.as_str(), false))
        .chain(streaming);
    let ordered: Vec<_> = all.collect();
    for (role, text, live) in ordered.into_iter().rev() {
        if role == MsgRole::Tool {
            // Not markdown and not cached: a tool's result holds strangers' text, drawn as
            // plain, cleaned lines.
            let mut body = tool_lines(text, c.tools_expanded, usize::from(inner_w), t);
            let head = if body.is_empty() {
                Line::from("")
            } else {
                body.remove(0)
            };
            have += 2 + body.len();
            blocks.push((head, vec![std::rc::Rc::new(body)]));
            if have >= need {
                break;
            }
            continue;
        }
        let (who, style) = match role {
            MsgRole::User => ("you", t.style(Role::User)),
            MsgRole::Assistant => ("keybot", t.style(Role::Assistant)),
            MsgRole::System | MsgRole::Tool => ("system", t.style(Role::Muted)),
        };
        let head = Line::from(Span::styled(
            if live {
                format!("{who} …")
            } else {
                who.to_owned()
            },
            style,
        ));
        let body = if live {
            cache.streaming(text, t)
        } else {
            vec![cache.message(text, t)]
        };
        have += 2 + body.iter().map(|b| b.len()).sum::<usize>();
        blocks.push((head, body));
        if have >= need {
            break;
        }
    }
    // The window of lines to draw: the last `need`, less the `scroll` newest.
    let skip = have.saturating_sub(need);
    let blank = Line::from("");
    let mut lines: Vec<Line> = Vec::with_capacity(inner_h);
    let all = blocks.iter().rev().flat_map(|(head, body)| {
        std::iter::once(head)
            .chain(body.iter().flat_map(|b| b.iter()))
            .chain(std::iter::once(&blank))
    });
    lines.extend(all.skip(skip).take(inner_h).cloned());
    let title = if c.scroll > 0 {
        format!("Conversation{tools} (scrolled up {} lines)", c.scroll)
    } else {
        format!("Conversation{tools}")
    };
    let title = super::shorten(&title, usize::from(area.width.saturating_sub(4)));
    f.render_widget(Paragraph::new(lines).block(block(&title, t, false)), area);
}

/// A tool call in the transcript: folded, one line (`⚙ name → result · arguments`, cut to the
/// width); expanded, the arguments and the result's JSON laid out whole. Every string in it is
/// cleaned of control characters (a result carries strangers' text).
pub fn tool_lines(text: &str, expanded: bool, width: usize, t: &Theme) -> Vec<Line<'static>> {
    let width = width.max(10);
    let v: serde_json::Value = serde_json::from_str(text).unwrap_or(serde_json::Value::Null);
    let name = clean_line(v["name"].as_str().unwrap_or("tool")).into_owned();
    let args = match &v["arguments"] {
        serde_json::Value::Object(m) if m.is_empty() => String::new(),
        serde_json::Value::Null => String::new(),
        a => a.to_string(),
    };
    let result = &v["result"];
    let muted = t.style(Role::Muted);
    if !expanded {
        let result = match result {
            serde_json::Value::String(s) => s.clone(),
            r => r.to_string(),
        };
        // The result first: what the call returned (a proposal's "declined", "signed: tx …")
        // matters more than its arguments, which follow when there are any.
        let line = if args.is_empty() {
            format!("⚙ {name} → {result}")
        } else {
            format!("⚙ {name} → {result} · {args}")
        };
        return vec![Line::from(Span::styled(
            crate::market::receipt::cut(&clean_line(&line), width),
            muted,
        ))];
    }
    let mut out = vec![Line::from(Span::styled(
        format!("⚙ {name} (x folds)"),
        t.style(Role::Accent),
    ))];
    let wrap = crate::tui::state::review::wrap;
    if !args.is_empty() {
        for l in wrap(&format!("arguments: {args}"), width.saturating_sub(2)) {
            out.push(Line::from(Span::styled(format!("  {l}"), muted)));
        }
    }
    let pretty = serde_json::to_string_pretty(result).unwrap_or_default();
    out.push(Line::from(Span::styled("  result:", muted)));
    for raw in pretty.lines() {
        let indent = raw.len() - raw.trim_start().len();
        for l in wrap(raw.trim_start(), width.saturating_sub(4 + indent).max(8)) {
            out.push(Line::from(Span::styled(
                format!("    {}{l}", " ".repeat(indent)),
                muted,
            )));
        }
    }
    out
}

/// What the conversation pane says before the first message: how to get a model, its
/// progress, or that it is ready.
fn empty(c: &ChatView, t: &Theme) -> Vec<Line<'static>> {
    match &c.model {
        ModelStatus::Missing(_) | ModelStatus::Failed(_) => {
            let (head, why, role) = match &c.model {
                ModelStatus::Failed(e) => {
                    ("The model could not be set up.", e.as_str(), Role::Error)
                }
                ModelStatus::Missing(w) => ("No chat model yet.", w.as_str(), Role::Warning),
                _ => unreachable!(),
            };
            vec![
                Line::from(Span::styled(head, t.style(role))),
                Line::from(clean_line(why).into_owned()),
                Line::from(""),
                Line::from(vec![
                    Span::styled("  p  ", t.style(Role::Accent)),
                    Span::raw(
                        "download the suggested model (Qwen2.5-Coder 0.5B Instruct, Q4_K_M, about 0.5 GB)",
                    ),
                ]),
                Line::from(vec![
                    Span::styled("  a  ", t.style(Role::Accent)),
                    Span::raw("add a GGUF file you already have"),
                ]),
                Line::from(""),
                muted(
                    "From a shell: keybot model pull REPO:FILE, or keybot model add FILE.gguf",
                    t,
                ),
            ]
        }
        ModelStatus::Downloading(p) => vec![muted(
            format!("downloading the model… {p}% (you can keep using the other screens)"),
            t,
        )],
        ModelStatus::Loading(p) => vec![muted(format!("loading the model… {p}%"), t)],
        ModelStatus::Ready { name, .. } => {
            let mut lines = vec![muted(
                format!("{name} is ready. Ask it anything; nothing leaves this machine."),
                t,
            )];
            if crate::tui::screens::chat_bot::active(c) {
                lines.push(muted(
                    "Its tools are on: when you ask about your wallet or the market, it can read your balances, activity, vault and the market, and propose transactions that you review and sign (t in the list switches them off).",
                    t,
                ));
            }
            lines
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(lines: &[Line]) -> Vec<String> {
        lines
            .iter()
            .map(|l| l.spans.iter().map(|s| s.content.as_ref()).collect())
            .collect()
    }

    #[test]
    fn a_tool_call_folds_to_one_cut_line_and_unfolds_whole_without_control_characters() {
        let t = Theme::fallback();
        let call = serde_json::json!({
            "name": "market_listings",
            "arguments": {"query": "garden"},
            "result": {"listings": [{"untrusted": {"title": "Seeds\u{1b}[2J and \u{7}more"}}]},
        })
        .to_string();
        let folded = text(&tool_lines(&call, false, 60, &t));
        assert_eq!(folded.len(), 1);
        assert!(
            folded[0].starts_with("⚙ market_listings → {\"listings\":[{\"untrusted\""),
            "{}",
            folded[0]
        );
        assert!(folded[0].chars().count() <= 60, "{}", folded[0]);
        let whole = text(&tool_lines(&call, true, 40, &t));
        assert!(whole.len() > 4, "{whole:?}");
        assert!(whole.iter().all(|l| l.chars().count() <= 40), "{whole:?}");
        let all = whole.join("\n");
        assert!(all.contains("Seeds") && all.contains("more"), "{all}");
        assert!(!all.chars().any(|c| c.is_control() && c != '\n'), "{all:?}");
        // Not JSON (an old or damaged row): still one clean line.
        assert_eq!(text(&tool_lines("\u{1b}]52;", false, 40, &t)).len(), 1);
    }
}
