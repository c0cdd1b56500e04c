//! Markdown to styled, wrapped terminal lines, for chat messages.
//!
//! [`render`] is a pure function of (text, width, theme): the chat screen caches its output per
//! message (`ui::RenderCache`, owned by the runtime) and re-renders only what changed: after a
//! resize or a theme change everything once, and of the answer that is streaming only its last
//! block — the blocks before it are [`settled`] and rendered once. That is what keeps a frame
//! cheap with a thousand messages or a 4,000-token answer; a render itself costs tens of
//! microseconds for a typical answer (see `benches/render_markdown.rs`, `benches/tui_render.rs`).
//!
//! The input is untrusted and may be half-written (the answer is still streaming): it goes
//! through [`sanitize::clean`] first, and an unterminated ``` fence is a code block to the end of
//! the text (CommonMark says so, and pulldown-cmark follows it), so the highlighting does not
//! flicker as the closing fence arrives. Supported: headings, emphasis, strong, strikethrough,
//! inline code, links (text, then the URL when it differs), lists (nested, ordered, task items),
//! block quotes, rules, and fenced or indented code blocks with keyword / string / comment
//! colours for rust, python, js/ts, sh, json, go and c/c++. HTML is shown as text, not
//! interpreted. Tables are not laid out (their source text is shown).

use std::borrow::Cow;

use pulldown_cmark::{CodeBlockKind, Event, HeadingLevel, Options, Parser, Tag, TagEnd};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use unicode_width::UnicodeWidthChar;

use super::theme::{Role, Theme};
use crate::sanitize;

/// Renders `text` in the theme's `Text` style, wrapped to `width` cells.
pub fn render(text: &str, width: u16, theme: &Theme) -> Vec<Line<'static>> {
    render_styled(text, width, theme, theme.style(Role::Text))
}

/// [`render`] over a base style (the chat screen uses the `User` or `Assistant` role). No line
/// is wider than `width` cells, except when `width` is too small for the list and quote
/// markers themselves, where each line still holds at least one character.
pub fn render_styled(text: &str, width: u16, theme: &Theme, base: Style) -> Vec<Line<'static>> {
    let text = sanitize::clean(text);
    let mut r = Renderer::new(theme, usize::from(width.max(1)), base);
    for event in Parser::new_ext(&text, OPTIONS) {
        r.event(event);
    }
    r.finish()
}

const OPTIONS: Options = Options::ENABLE_STRIKETHROUGH.union(Options::ENABLE_TASKLISTS);

/// A point in a growing `text` before which nothing can change, whatever is appended: the start
/// of a top-level block that follows a blank line and is not the last block (the last one is
/// still being written, and may yet turn out to continue the block before it: "3" becomes the
/// next item of a list once "." arrives). A streaming answer renders the text before it once and
/// re-renders only the rest: `render(text)` equals `join(render(&text[..i]),
/// render(&text[i..]))` for the `i` it returns.
pub fn settled(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    // The latest block's start if it follows a blank line, and the best start before it (a
    // block has begun after that one, so it is final).
    let (mut latest, mut best) = (None, None);
    for (event, range) in Parser::new_ext(text, OPTIONS).into_offset_iter() {
        let top_start = match event {
            Event::Start(_) => {
                depth += 1;
                depth == 1
            }
            Event::End(_) => {
                depth = depth.saturating_sub(1);
                false
            }
            // A rule is a block without a start and an end.
            Event::Rule => depth == 0,
            _ => false,
        };
        if top_start {
            best = latest.or(best);
            latest =
                (range.start > 0 && text[..range.start].ends_with("\n\n")).then_some(range.start);
        }
    }
    best
}

/// The rendering of a text split at a [`settled`] point: the first part's lines, the blank line
/// between two blocks, the second part's lines.
pub fn join(first: &[Line<'static>], second: &[Line<'static>]) -> Vec<Line<'static>> {
    let mut lines = first.to_vec();
    lines.extend(gap_before(first));
    lines.extend_from_slice(second);
    lines
}

/// The blank line a block gets after the lines `before` it (none at the very start).
pub fn gap_before(before: &[Line<'static>]) -> Option<Line<'static>> {
    (!before.is_empty()).then(|| Line::from(trim_trailing(Vec::new())))
}

/// One run of inline text, or a hard line break.
enum Piece {
    Text(String, Style),
    Break,
}

enum Container {
    Quote,
    List { next: Option<u64> },
    Item { marker: String, marker_shown: bool },
}

struct CodeBlock {
    lang: String,
    text: String,
}

struct Renderer<'t> {
    theme: &'t Theme,
    width: usize,
    lines: Vec<Line<'static>>,
    /// Inline content of the current block, wrapped when the block ends.
    inline: Vec<Piece>,
    /// The effective inline style is the top; the bottom is the base.
    styles: Vec<Style>,
    containers: Vec<Container>,
    code: Option<CodeBlock>,
    /// For each open link: its URL and where its text starts in `inline`.
    links: Vec<(String, usize)>,
    /// A block ended; the next block starts after a blank line.
    gap: bool,
}

impl<'t> Renderer<'t> {
    fn new(theme: &'t Theme, width: usize, base: Style) -> Self {
        Renderer {
            theme,
            width,
            lines: Vec::new(),
            inline: Vec::new(),
            styles: vec![base],
            containers: Vec::new(),
            code: None,
            links: Vec::new(),
            gap: false,
        }
    }

    fn style(&self) -> Style {
        self.styles.last().copied().unwrap_or_default()
    }

    fn push_style(&mut self, patch: Style) {
        self.styles.push(self.style().patch(patch));
    }

    fn pop_style(&mut self) {
        // Never pop the base: unbalanced events (there should be none) must not panic.
        if self.styles.len() > 1 {
            self.styles.pop();
        }
    }

    fn role(&self, role: Role) -> Style {
        self.theme.style(role)
    }

    fn text(&mut self, s: &str, style: Style) {
        if let Some(Piece::Text(last, last_style)) = self.inline.last_mut()
            && *last_style == style
        {
            last.push_str(s);
            return;
        }
        self.inline.push(Piece::Text(s.to_owned(), style));
    }

    fn event(&mut self, event: Event<'_>) {
        match event {
            Event::Start(tag) => self.start(tag),
            Event::End(tag) => self.end(tag),
            Event::Text(t) => match &mut self.code {
                Some(code) => code.text.push_str(&t),
                None => self.text(&t, self.style()),
            },
            Event::Code(t) => {
                let style = self.style().patch(self.role(Role::Code));
                self.text(&t, style);
            }
            Event::InlineMath(t) | Event::DisplayMath(t) | Event::FootnoteReference(t) => {
                self.text(&t, self.style())
            }
            Event::Html(t) | Event::InlineHtml(t) => self.html(&t),
            Event::SoftBreak => self.text(" ", self.style()),
            Event::HardBreak => self.inline.push(Piece::Break),
            Event::Rule => {
                self.flush();
                self.block_start();
                let width = self.width.saturating_sub(self.prefix_width()).max(1);
                let rule = Span::styled("─".repeat(width), self.role(Role::Muted));
                self.push_line(vec![rule]);
                self.gap = true;
            }
            Event::TaskListMarker(done) => {
                let mark = if done { "[x] " } else { "[ ] " };
                self.text(mark, self.role(Role::Accent));
            }
        }
    }

    /// HTML is shown as its source text; its own line breaks are hard breaks.
    fn html(&mut self, t: &str) {
        let style = self.style();
        let mut parts = t.split('\n').peekable();
        while let Some(part) = parts.next() {
            self.text(part, style);
            if parts.peek().is_some_and(|next| !next.is_empty()) {
                self.inline.push(Piece::Break);
            }
        }
    }

    fn start(&mut self, tag: Tag<'_>) {
        match tag {
            Tag::Paragraph | Tag::HtmlBlock => {
                self.flush();
                self.block_start();
            }
            Tag::Heading { level, .. } => {
                self.flush();
                self.block_start();
                let mut style = self.role(Role::Title);
                style = match level {
                    HeadingLevel::H1 => style.add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
                    HeadingLevel::H2 => style.add_modifier(Modifier::BOLD),
                    _ => style,
                };
                self.push_style(style);
            }
            Tag::BlockQuote(_) => {
                self.flush();
                self.block_start();
                self.containers.push(Container::Quote);
                self.push_style(self.role(Role::Muted));
            }
            Tag::CodeBlock(kind) => {
                self.flush();
                self.block_start();
                let lang = match kind {
                    CodeBlockKind::Fenced(info) => {
                        // The info string is "rust" or "rust,ignore" or "python title=x".
                        info.split([',', ' ']).next().unwrap_or("").to_owned()
                    }
                    CodeBlockKind::Indented => String::new(),
                };
                self.code = Some(CodeBlock {
                    lang,
                    text: String::new(),
                });
            }
            Tag::List(start) => {
                self.flush();
                if !self.in_item() {
                    self.block_start();
                }
                self.containers.push(Container::List { next: start });
            }
            Tag::Item => {
                self.flush();
                let marker = self.next_marker();
                self.containers.push(Container::Item {
                    marker,
                    marker_shown: false,
                });
            }
            Tag::Emphasis => self.push_style(Style::new().add_modifier(Modifier::ITALIC)),
            Tag::Strong => self.push_style(Style::new().add_modifier(Modifier::BOLD)),
            Tag::Strikethrough => self.push_style(Style::new().add_modifier(Modifier::CROSSED_OUT)),
            Tag::Link { dest_url, .. } => {
                self.links.push((dest_url.into_string(), self.inline.len()));
                self.push_style(self.role(Role::Accent).add_modifier(Modifier::UNDERLINED));
            }
            Tag::Image { .. } => {
                self.push_style(self.role(Role::Muted));
                self.text("[image: ", self.style());
            }
            _ => {}
        }
    }

    fn end(&mut self, tag: TagEnd) {
        match tag {
            TagEnd::Paragraph | TagEnd::HtmlBlock => {
                self.flush();
                self.gap = true;
            }
            TagEnd::Heading(_) => {
                self.flush();
                self.pop_style();
                self.gap = true;
            }
            TagEnd::BlockQuote(_) => {
                self.flush();
                self.pop_style();
                self.pop_container();
                self.gap = true;
            }
            TagEnd::CodeBlock => {
                if let Some(code) = self.code.take() {
                    self.code_block(&code);
                }
                self.gap = true;
            }
            TagEnd::List(_) => {
                self.flush();
                self.pop_container();
                self.gap = true;
            }
            TagEnd::Item => {
                self.flush();
                self.pop_container();
            }
            TagEnd::Emphasis | TagEnd::Strong | TagEnd::Strikethrough => self.pop_style(),
            TagEnd::Link => {
                self.pop_style();
                if let Some((url, from)) = self.links.pop() {
                    let shown: String = self.inline[from.min(self.inline.len())..]
                        .iter()
                        .filter_map(|p| match p {
                            Piece::Text(t, _) => Some(t.as_str()),
                            Piece::Break => None,
                        })
                        .collect();
                    if !url.is_empty() && shown.trim() != url && !url.starts_with('#') {
                        let style = self.role(Role::Muted);
                        self.text(&format!(" <{url}>"), style);
                    }
                }
            }
            TagEnd::Image => {
                self.text("]", self.style());
                self.pop_style();
            }
            _ => {}
        }
    }

    fn finish(mut self) -> Vec<Line<'static>> {
        // pulldown-cmark closes every open block at the end of the input, so this only matters
        // for inline text it left open; it never drops what was received.
        if let Some(code) = self.code.take() {
            self.code_block(&code);
        }
        self.flush();
        self.lines
    }

    fn in_item(&self) -> bool {
        self.containers
            .iter()
            .any(|c| matches!(c, Container::Item { .. }))
    }

    fn pop_container(&mut self) {
        self.containers.pop();
    }

    /// The marker for a new item of the innermost list, advancing an ordered list's number.
    fn next_marker(&mut self) -> String {
        let depth = self
            .containers
            .iter()
            .filter(|c| matches!(c, Container::List { .. }))
            .count();
        let list = self.containers.iter_mut().rev().find_map(|c| match c {
            Container::List { next } => Some(next),
            _ => None,
        });
        match list {
            Some(Some(n)) => {
                let marker = format!("{n}. ");
                *n = n.saturating_add(1);
                marker
            }
            _ => match depth {
                0 | 1 => "• ",
                2 => "◦ ",
                _ => "▪ ",
            }
            .to_owned(),
        }
    }

    /// Separates a new block from the previous one by a blank line (inside quotes, a quoted one).
    fn block_start(&mut self) {
        if self.gap && !self.lines.is_empty() {
            let prefix = self.prefix(false);
            self.lines.push(Line::from(trim_trailing(prefix)));
        }
        self.gap = false;
    }

    fn prefix_width(&self) -> usize {
        self.containers
            .iter()
            .map(|c| match c {
                Container::Quote => 2,
                Container::List { .. } => 0,
                Container::Item { marker, .. } => str_width(marker),
            })
            .sum()
    }

    /// The spans in front of a line: quote bars and list markers. With `first`, an item whose
    /// marker has not been shown gets it now (its later lines get spaces).
    fn prefix(&mut self, first: bool) -> Vec<Span<'static>> {
        let bar = self.role(Role::Muted);
        let accent = self.role(Role::Accent);
        let mut spans = Vec::new();
        for c in &mut self.containers {
            match c {
                Container::Quote => spans.push(Span::styled("│ ", bar)),
                Container::List { .. } => {}
                Container::Item {
                    marker,
                    marker_shown,
                } => {
                    if first && !*marker_shown {
                        spans.push(Span::styled(marker.clone(), accent));
                        *marker_shown = true;
                    } else {
                        spans.push(Span::raw(" ".repeat(str_width(marker))));
                    }
                }
            }
        }
        spans
    }

    fn push_line(&mut self, body: Vec<Span<'static>>) {
        let mut spans = self.prefix(true);
        spans.extend(body);
        self.lines.push(Line::from(spans));
    }

    /// Wraps the pending inline content into lines.
    fn flush(&mut self) {
        if self.inline.is_empty() {
            return;
        }
        let pieces = std::mem::take(&mut self.inline);
        let avail = self.width.saturating_sub(self.prefix_width()).max(1);
        let space = self.styles.first().copied().unwrap_or_default();
        for body in wrap(&pieces, avail, space) {
            self.push_line(body);
        }
    }

    fn code_block(&mut self, code: &CodeBlock) {
        let base = self.role(Role::Code);
        let avail = self.width.saturating_sub(self.prefix_width()).max(1);
        if !code.lang.is_empty() {
            let label = Span::styled(truncate(&code.lang, avail), self.role(Role::Muted));
            self.push_line(vec![label]);
        }
        let syntax = highlight::syntax_for(&code.lang);
        let styles = highlight::Styles {
            plain: base,
            keyword: base.patch(self.role(Role::CodeKeyword)),
            string: base.patch(self.role(Role::CodeString)),
            comment: base.patch(self.role(Role::CodeComment)),
        };
        let mut state = highlight::State::default();
        // A final "\n" ends the last line rather than starting an empty one.
        let body = code.text.strip_suffix('\n').unwrap_or(&code.text);
        for source_line in body.split('\n') {
            let runs = match syntax {
                Some(syntax) => highlight::line(source_line, syntax, &styles, &mut state),
                None => vec![(source_line, base)],
            };
            for chunk in hard_wrap(&runs, avail, base) {
                self.push_line(chunk);
            }
        }
    }
}

fn str_width(s: &str) -> usize {
    s.chars().map(char_width).sum()
}

/// Cells a character takes. Controls cannot be here (sanitised); anything unknown counts as 1
/// so that it is never squeezed into zero cells.
fn char_width(c: char) -> usize {
    c.width().unwrap_or(1)
}

/// The longest prefix of `s` that fits in `cells`.
fn truncate(s: &str, cells: usize) -> String {
    let mut used = 0;
    s.chars()
        .take_while(|&c| {
            used += char_width(c);
            used <= cells
        })
        .collect()
}

fn trim_trailing(mut spans: Vec<Span<'static>>) -> Vec<Span<'static>> {
    if let Some(last) = spans.last_mut() {
        let trimmed = last.content.trim_end().to_owned();
        last.content = Cow::Owned(trimmed);
    }
    spans
}

/// Appends `s` to `spans`, merging with the last span when the style is the same (fewer spans
/// make drawing cheaper).
fn push_span(spans: &mut Vec<Span<'static>>, s: &str, style: Style) {
    if let Some(last) = spans.last_mut()
        && last.style == style
    {
        last.content.to_mut().push_str(s);
        return;
    }
    spans.push(Span::styled(s.to_owned(), style));
}

/// A word: the styled runs between two spaces.
struct Word<'a> {
    runs: Vec<(&'a str, Style)>,
    width: usize,
    space_before: bool,
}

enum Token<'a> {
    Word(Word<'a>),
    Break,
}

fn tokens(pieces: &[Piece]) -> Vec<Token<'_>> {
    let mut out = Vec::new();
    let mut word: Option<Word<'_>> = None;
    let mut space = false;
    for piece in pieces {
        let (text, style) = match piece {
            Piece::Text(t, s) => (t.as_str(), *s),
            Piece::Break => {
                out.extend(word.take().map(Token::Word));
                out.push(Token::Break);
                space = false;
                continue;
            }
        };
        // Where the current word's run starts in this piece, once the word has a character here.
        let mut run_start: Option<usize> = None;
        for (i, c) in text.char_indices() {
            if c == ' ' || c == '\n' {
                if let (Some(w), Some(start)) = (word.as_mut(), run_start.take()) {
                    w.runs.push((&text[start..i], style));
                }
                out.extend(word.take().map(Token::Word));
                space = true;
                continue;
            }
            let w = word.get_or_insert_with(|| Word {
                runs: Vec::new(),
                width: 0,
                space_before: std::mem::take(&mut space),
            });
            w.width += char_width(c);
            run_start.get_or_insert(i);
        }
        if let (Some(w), Some(start)) = (word.as_mut(), run_start) {
            w.runs.push((&text[start..], style));
        }
    }
    out.extend(word.take().map(Token::Word));
    out
}

/// Greedy word wrap to `avail` cells. Words longer than a line are broken between characters.
/// `space_style` draws a space between two words of different styles.
fn wrap(pieces: &[Piece], avail: usize, space_style: Style) -> Vec<Vec<Span<'static>>> {
    let mut lines = Vec::new();
    let mut line: Vec<Span<'static>> = Vec::new();
    let mut used = 0;
    for token in tokens(pieces) {
        let word = match token {
            Token::Break => {
                lines.push(std::mem::take(&mut line));
                used = 0;
                continue;
            }
            Token::Word(w) => w,
        };
        let space = usize::from(word.space_before && used > 0);
        if used > 0 && used + space + word.width > avail {
            lines.push(std::mem::take(&mut line));
            used = 0;
        } else if space == 1 {
            // Inside a run of one style (a heading, a quote, a bold phrase) the space takes that
            // style, so underlines and backgrounds do not break between words; between two
            // styles it takes the base, so an underlined link does not extend into plain text.
            let before = line.last().map(|s| s.style);
            let after = word.runs.first().map(|(_, style)| *style);
            let style = match (before, after) {
                (Some(b), Some(a)) if a == b => a,
                _ => space_style,
            };
            push_span(&mut line, " ", style);
            used += 1;
        }
        if used + word.width <= avail {
            for (text, style) in &word.runs {
                push_span(&mut line, text, *style);
            }
            used += word.width;
            continue;
        }
        // Longer than a whole line: break it wherever the line is full.
        for (text, style) in &word.runs {
            for c in text.chars() {
                let w = char_width(c);
                if used > 0 && used + w > avail {
                    lines.push(std::mem::take(&mut line));
                    used = 0;
                }
                let mut buf = [0u8; 4];
                push_span(&mut line, c.encode_utf8(&mut buf), *style);
                used += w;
            }
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// Code keeps its spacing: lines are cut at `avail` cells, not at spaces, and padded to the full
/// width so the code background forms a block.
fn hard_wrap(runs: &[(&str, Style)], avail: usize, pad_style: Style) -> Vec<Vec<Span<'static>>> {
    let mut lines = Vec::new();
    let mut line = Vec::new();
    let mut used = 0;
    for (text, style) in runs {
        // Most runs fit: push them whole instead of char by char.
        let width = str_width(text);
        if used + width <= avail {
            push_span(&mut line, text, *style);
            used += width;
            continue;
        }
        for c in text.chars() {
            let w = char_width(c);
            if used > 0 && used + w > avail {
                pad(&mut line, avail - used, pad_style);
                lines.push(std::mem::take(&mut line));
                used = 0;
            }
            let mut buf = [0u8; 4];
            push_span(&mut line, c.encode_utf8(&mut buf), *style);
            used += w;
        }
    }
    pad(&mut line, avail.saturating_sub(used), pad_style);
    lines.push(line);
    lines
}

fn pad(line: &mut Vec<Span<'static>>, cells: usize, style: Style) {
    if cells > 0 {
        push_span(line, &" ".repeat(cells), style);
    }
}

/// A small, line-based highlighter: keywords, strings and comments for a handful of languages.
/// Chosen over syntect (megabytes of grammars, slow to build on the two-core CI machine): chat
/// answers need a hint of structure, not an editor's accuracy. Strings do not span lines;
/// block comments do (`State` carries them to the next line).
mod highlight {
    use ratatui::style::Style;

    pub struct Syntax {
        keywords: &'static [&'static str],
        line_comments: &'static [&'static str],
        block_comment: Option<(&'static str, &'static str)>,
        quotes: &'static [char],
    }

    pub struct Styles {
        pub plain: Style,
        pub keyword: Style,
        pub string: Style,
        pub comment: Style,
    }

    #[derive(Default)]
    pub struct State {
        in_block_comment: bool,
    }

    const RUST: Syntax = Syntax {
        keywords: &[
            "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum",
            "extern", "false", "fn", "for", "if", "impl", "in", "let", "loop", "match", "mod",
            "move", "mut", "pub", "ref", "return", "self", "Self", "static", "struct", "super",
            "trait", "true", "type", "unsafe", "use", "where", "while",
        ],
        line_comments: &["//"],
        block_comment: Some(("/*", "*/")),
        // Not '\'': it is also the lifetime sigil ('a), which would colour the rest of the line.
        quotes: &['"'],
    };
    const PYTHON: Syntax = Syntax {
        keywords: &[
            "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class",
            "continue", "def", "del", "elif", "else", "except", "finally", "for", "from", "global",
            "if", "import", "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise",
            "return", "try", "while", "with", "yield",
        ],
        line_comments: &["#"],
        block_comment: None,
        quotes: &['"', '\''],
    };
    const JS: Syntax = Syntax {
        keywords: &[
            "async",
            "await",
            "break",
            "case",
            "catch",
            "class",
            "const",
            "continue",
            "default",
            "delete",
            "do",
            "else",
            "export",
            "extends",
            "false",
            "finally",
            "for",
            "from",
            "function",
            "if",
            "import",
            "in",
            "instanceof",
            "interface",
            "let",
            "new",
            "null",
            "of",
            "return",
            "super",
            "switch",
            "this",
            "throw",
            "true",
            "try",
            "type",
            "typeof",
            "undefined",
            "var",
            "void",
            "while",
            "yield",
        ],
        line_comments: &["//"],
        block_comment: Some(("/*", "*/")),
        quotes: &['"', '\'', '`'],
    };
    const SH: Syntax = Syntax {
        keywords: &[
            "case", "do", "done", "elif", "else", "esac", "export", "fi", "for", "function", "if",
            "in", "local", "return", "then", "until", "while",
        ],
        line_comments: &["#"],
        block_comment: None,
        quotes: &['"', '\''],
    };
    const JSON: Syntax = Syntax {
        keywords: &["false", "null", "true"],
        line_comments: &[],
        block_comment: None,
        quotes: &['"'],
    };
    const GO: Syntax = Syntax {
        keywords: &[
            "break",
            "case",
            "chan",
            "const",
            "continue",
            "default",
            "defer",
            "else",
            "false",
            "for",
            "func",
            "go",
            "if",
            "import",
            "interface",
            "map",
            "nil",
            "package",
            "range",
            "return",
            "select",
            "struct",
            "switch",
            "true",
            "type",
            "var",
        ],
        line_comments: &["//"],
        block_comment: Some(("/*", "*/")),
        quotes: &['"', '\'', '`'],
    };
    const C: Syntax = Syntax {
        keywords: &[
            "auto",
            "bool",
            "break",
            "case",
            "char",
            "class",
            "const",
            "continue",
            "default",
            "delete",
            "do",
            "double",
            "else",
            "enum",
            "extern",
            "false",
            "float",
            "for",
            "if",
            "include",
            "inline",
            "int",
            "long",
            "namespace",
            "new",
            "nullptr",
            "private",
            "public",
            "return",
            "short",
            "signed",
            "sizeof",
            "static",
            "struct",
            "switch",
            "template",
            "this",
            "true",
            "typedef",
            "union",
            "unsigned",
            "using",
            "void",
            "volatile",
            "while",
        ],
        line_comments: &["//"],
        block_comment: Some(("/*", "*/")),
        quotes: &['"', '\''],
    };

    /// The syntax for a fence's language tag, by its common names; `None` means plain code.
    pub fn syntax_for(lang: &str) -> Option<&'static Syntax> {
        Some(match lang.to_ascii_lowercase().as_str() {
            "rust" | "rs" => &RUST,
            "python" | "py" | "python3" => &PYTHON,
            "javascript" | "js" | "jsx" | "mjs" | "typescript" | "ts" | "tsx" => &JS,
            "sh" | "bash" | "shell" | "zsh" | "console" => &SH,
            "json" | "jsonc" => &JSON,
            "go" | "golang" => &GO,
            "c" | "h" | "cpp" | "c++" | "cc" | "hpp" => &C,
            _ => return None,
        })
    }

    /// Splits one line into styled runs that together are exactly the line.
    pub fn line<'a>(
        line: &'a str,
        syntax: &Syntax,
        styles: &Styles,
        state: &mut State,
    ) -> Vec<(&'a str, Style)> {
        // Byte ranges first, merged when adjacent and alike; sliced at the end.
        let mut runs: Vec<(usize, usize, Style)> = Vec::new();
        let mut push = |from: usize, to: usize, style: Style| match runs.last_mut() {
            Some((_, end, last)) if *end == from && *last == style => *end = to,
            _ if from < to => runs.push((from, to, style)),
            _ => {}
        };
        let mut i = 0;
        while i < line.len() {
            let rest = &line[i..];
            if state.in_block_comment {
                let close = syntax.block_comment.map_or("*/", |(_, close)| close);
                let end = match rest.find(close) {
                    Some(j) => {
                        state.in_block_comment = false;
                        i + j + close.len()
                    }
                    None => line.len(),
                };
                push(i, end, styles.comment);
                i = end;
                continue;
            }
            if let Some((open, _)) = syntax.block_comment
                && rest.starts_with(open)
            {
                state.in_block_comment = true;
                push(i, i + open.len(), styles.comment);
                i += open.len();
                continue;
            }
            if syntax.line_comments.iter().any(|p| rest.starts_with(p)) {
                push(i, line.len(), styles.comment);
                break;
            }
            let Some(c) = rest.chars().next() else { break };
            if syntax.quotes.contains(&c) {
                let end = string_end(rest, c).map_or(line.len(), |j| i + j);
                push(i, end, styles.string);
                i = end;
            } else if c.is_alphabetic() || c == '_' {
                let len = rest
                    .find(|ch: char| !(ch.is_alphanumeric() || ch == '_'))
                    .unwrap_or(rest.len());
                let word = &rest[..len];
                let style = if syntax.keywords.contains(&word) {
                    styles.keyword
                } else {
                    styles.plain
                };
                push(i, i + len, style);
                i += len;
            } else if c.is_ascii_digit() {
                // Numbers such as 0x1f or 1_000 are plain, not an identifier "x1f".
                let len = rest
                    .find(|ch: char| !(ch.is_alphanumeric() || ch == '_' || ch == '.'))
                    .unwrap_or(rest.len());
                push(i, i + len, styles.plain);
                i += len;
            } else {
                push(i, i + c.len_utf8(), styles.plain);
                i += c.len_utf8();
            }
        }
        runs.into_iter()
            .map(|(from, to, style)| (&line[from..to], style))
            .collect()
    }

    /// Byte offset just past the closing `quote` of a string starting at `s[0]`, honouring
    /// backslash escapes; `None` when the line ends first.
    fn string_end(s: &str, quote: char) -> Option<usize> {
        let mut escaped = false;
        for (j, c) in s.char_indices().skip(1) {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == quote {
                return Some(j + c.len_utf8());
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use unicode_width::UnicodeWidthStr;

    fn theme() -> Theme {
        super::super::theme::load_with("dark", None, false).0
    }

    fn plain(lines: &[Line<'_>]) -> Vec<String> {
        lines
            .iter()
            .map(|l| l.spans.iter().map(|s| s.content.as_ref()).collect())
            .collect()
    }

    fn plain_render(text: &str, width: u16) -> Vec<String> {
        plain(&render(text, width, &theme()))
    }

    /// The style of the first span whose text contains `needle`.
    fn style_of(lines: &[Line<'_>], needle: &str) -> Style {
        lines
            .iter()
            .flat_map(|l| &l.spans)
            .find(|s| s.content.contains(needle))
            .unwrap_or_else(|| panic!("{needle:?} not rendered"))
            .style
    }

    #[test]
    fn paragraphs_wrap_at_word_boundaries_and_are_separated() {
        let out = plain_render("one two three four five\n\nsix", 10);
        assert_eq!(out, ["one two", "three four", "five", "", "six"]);
    }

    #[test]
    fn no_line_is_wider_than_the_width() {
        let text = "# Title\n\n```averyveryverylonglanguagename\nx\n```\n\nA paragraph with **bold** and a verylongwordthatdoesnotfitanywhere \
                    and 漢字漢字漢字漢字 wide text.\n\n> quoted text that goes on and on\n\n\
                    - item one is long enough to wrap\n  - nested item also long\n\n\
                    ```rust\nfn main() { let s = \"a string that is long\"; } // comment\n```\n";
        for width in [8u16, 13, 20, 41, 80] {
            for line in render(text, width, &theme()) {
                let w: usize = line.spans.iter().map(|s| s.content.width()).sum();
                assert!(w <= usize::from(width), "width {width}: {line:?}");
            }
        }
    }

    #[test]
    fn wide_characters_are_not_split_across_the_edge() {
        let out = plain_render("漢字漢字漢", 5);
        assert_eq!(out, ["漢字", "漢字", "漢"]);
    }

    #[test]
    fn emphasis_strong_and_inline_code_are_styled() {
        let t = theme();
        let lines = render("plain *it* **bold** `code`", 80, &t);
        assert!(
            style_of(&lines, "it")
                .add_modifier
                .contains(Modifier::ITALIC)
        );
        assert!(
            style_of(&lines, "bold")
                .add_modifier
                .contains(Modifier::BOLD)
        );
        assert_eq!(style_of(&lines, "code").bg, t.style(Role::Code).bg);
        assert_eq!(plain(&lines), ["plain it bold code"]);
    }

    #[test]
    fn headings_use_the_title_role() {
        let t = theme();
        let lines = render("## Setup\ntext", 80, &t);
        assert_eq!(plain(&lines), ["Setup", "", "text"]);
        assert_eq!(style_of(&lines, "Setup").fg, t.style(Role::Title).fg);
        assert!(
            style_of(&lines, "Setup")
                .add_modifier
                .contains(Modifier::BOLD)
        );
    }

    #[test]
    fn spaces_inside_one_style_keep_it_and_between_styles_take_the_base() {
        let t = theme();
        // An underlined heading is one unbroken span, spaces included.
        let lines = render("# Two words", 80, &t);
        assert_eq!(lines[0].spans.len(), 1);
        // The space after a link is not underlined.
        let lines = render("[a](#x) b", 80, &t);
        assert_eq!(style_of(&lines, " "), t.style(Role::Text));
    }

    #[test]
    fn lists_get_markers_and_hanging_indents() {
        let out = plain_render(
            "- alpha beta gamma\n- two\n  - inner\n\n1. first\n2. second",
            14,
        );
        assert_eq!(
            out,
            [
                "• alpha beta",
                "  gamma",
                "• two",
                "  ◦ inner",
                "",
                "1. first",
                "2. second"
            ]
        );
        let out = plain_render("7. seven\n8. eight\n- [x] done\n- [ ] todo", 40);
        assert_eq!(
            out,
            ["7. seven", "8. eight", "", "• [x] done", "• [ ] todo"]
        );
    }

    #[test]
    fn block_quotes_get_a_bar_on_every_line() {
        let out = plain_render("> quoted words here\n>\n> again", 12);
        assert_eq!(out, ["│ quoted", "│ words here", "│", "│ again"]);
    }

    #[test]
    fn links_show_their_url_unless_it_is_the_text() {
        assert_eq!(
            plain_render("[docs](https://example.org) and <https://a.b>", 80),
            ["docs <https://example.org> and https://a.b"]
        );
    }

    #[test]
    fn fenced_code_is_a_padded_block_with_a_language_label() {
        let t = theme();
        let lines = render("```rust\nlet x = 1;\n```", 20, &t);
        assert_eq!(plain(&lines), ["rust", "let x = 1;          "]);
        let code_bg = t.style(Role::Code).bg;
        assert!(code_bg.is_some());
        assert!(lines[1].spans.iter().all(|s| s.style.bg == code_bg));
    }

    #[test]
    fn code_is_highlighted_by_language() {
        let t = theme();
        let src = "```python\ndef f():  # note\n    return \"hi\"\n```";
        let lines = render(src, 40, &t);
        let keyword = t.style(Role::Code).patch(t.style(Role::CodeKeyword));
        assert_eq!(style_of(&lines, "def"), keyword);
        assert_eq!(style_of(&lines, "return"), keyword);
        assert_eq!(style_of(&lines, "\"hi\"").fg, t.style(Role::CodeString).fg);
        assert_eq!(style_of(&lines, "# note").fg, t.style(Role::CodeComment).fg);
        // Unknown languages are plain code.
        let lines = render("```brainfuck\nif\n```", 20, &t);
        assert_eq!(style_of(&lines, "if"), t.style(Role::Code));
    }

    #[test]
    fn block_comments_continue_across_lines() {
        let t = theme();
        let comment = t.style(Role::Code).patch(t.style(Role::CodeComment));
        let lines = render("```c\n/* start\nif still comment */ int x;\n```", 40, &t);
        assert_eq!(style_of(&lines, "if still"), comment);
        assert_eq!(
            style_of(&lines, "int"),
            t.style(Role::Code).patch(t.style(Role::CodeKeyword))
        );
    }

    #[test]
    fn unterminated_fence_while_streaming_is_code_to_the_end() {
        let t = theme();
        let lines = render("Here:\n\n```rust\nfn main() {\n    // more to come", 30, &t);
        let text = plain(&lines);
        assert_eq!(text[0], "Here:");
        assert_eq!(text[2], "rust");
        assert!(text[3].starts_with("fn main() {"));
        assert!(text[4].starts_with("    // more to come"));
        assert_eq!(
            style_of(&lines, "// more").fg,
            t.style(Role::CodeComment).fg
        );
    }

    #[test]
    fn long_code_lines_are_cut_not_word_wrapped() {
        let out = plain_render("```\nabcdefghij klm\n```", 6);
        assert_eq!(out, ["abcdef", "ghij k", "lm    "]);
    }

    #[test]
    fn control_sequences_in_the_input_never_reach_the_output() {
        let text = "hi \x1b]52;c;cm0gLXJmIH4=\x07there\n\n```sh\necho \x1b[2J\r\n```\n\x1b[31m";
        for line in render(text, 40, &theme()) {
            for span in &line.spans {
                assert!(!span.content.chars().any(char::is_control), "{span:?}");
            }
        }
        assert_eq!(plain_render("a\x1b[1mb", 10), ["ab"]);
    }

    #[test]
    fn render_is_deterministic_and_depends_on_the_theme() {
        let text = "**x** `y`\n\n```rust\nfn z() {}\n```";
        assert_eq!(render(text, 30, &theme()), render(text, 30, &theme()));
        let no_color = super::super::theme::load_with("dark", None, true).0;
        let lines = render(text, 30, &no_color);
        assert!(
            lines
                .iter()
                .flat_map(|l| &l.spans)
                .all(|s| s.style.fg.is_none() && s.style.bg.is_none())
        );
    }

    #[test]
    fn degenerate_inputs_do_not_panic() {
        for text in [
            "",
            "\n\n",
            "```",
            "- ",
            "> ",
            "#",
            "**",
            "[a](",
            "1.",
            "|a|b|\n|-|-|",
            "<b>x</b>",
        ] {
            for width in [0u16, 1, 2, 80] {
                let _ = render(text, width, &theme());
            }
        }
        assert!(render("", 80, &theme()).is_empty());
    }
}
