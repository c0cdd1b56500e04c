//! The rendered chat messages, kept from one frame to the next so a frame does not parse and
//! wrap again what it drew last time. It is a memo of the pure `markdown::render` and nothing
//! else: the runtime owns it (it outlives a frame), `ui` fills it while drawing, and dropping it
//! at any time only costs one slower frame. Keyed by the text itself (its hash and length),
//! the width and the theme, so an edit, a resize or a theme change can never show stale lines.
use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::rc::Rc;

use ratatui::text::Line;

use crate::sanitize;
use crate::tui::markdown;
use crate::tui::theme::Theme;

/// Rendered lines, shared between the cache and the frame that draws them.
pub type Lines = Rc<Vec<Line<'static>>>;

/// Entries not used for this many frames are dropped (a conversation switched away from).
const KEEP_FRAMES: u64 = 120;

#[derive(Default)]
pub struct RenderCache {
    /// The width and theme everything below was rendered for.
    width: u16,
    theme: u64,
    frame: u64,
    /// Finished messages: (hash, length) of the text → (last frame used, lines).
    done: HashMap<(u64, usize), (u64, Lines)>,
    stream: Stream,
    /// The Market screen's preview (up to 1 MiB of text to wrap) as last drawn.
    preview: Option<(PreviewKey, Preview)>,
}

/// What a Market preview was drawn from: the item (its text never changes), its spans, the
/// selected one, the width and the theme.
#[derive(PartialEq)]
pub(super) struct PreviewKey {
    pub item: i64,
    pub bytes: usize,
    pub entries: Vec<crate::market::vault::Entry>,
    pub span: Option<usize>,
    pub width: usize,
    pub theme: u64,
}

/// A Market preview, drawn: its lines, the line of the selected span, the SHA-256 shown.
#[derive(Clone)]
pub(super) struct Preview {
    pub lines: Lines,
    pub at: Option<usize>,
    pub sha256: Rc<str>,
}

/// The answer being streamed: its settled part (every block but the last, which may still
/// change) rendered once; only the rest is rendered each frame.
#[derive(Default)]
struct Stream {
    settled: String,
    lines: Lines,
}

impl RenderCache {
    /// Call once per frame, before the lookups: a new width or theme empties the cache.
    pub fn frame(&mut self, width: u16, theme: &Theme) {
        let theme = theme_key(theme);
        if (width, theme) != (self.width, self.theme) {
            *self = RenderCache {
                width,
                theme,
                ..RenderCache::default()
            };
        }
        self.frame += 1;
        if self.frame.is_multiple_of(KEEP_FRAMES) {
            let now = self.frame;
            self.done
                .retain(|_, (used, _)| now.saturating_sub(*used) < KEEP_FRAMES);
        }
    }

    /// A finished message, rendered at most once while it stays in use.
    pub fn message(&mut self, text: &str, theme: &Theme) -> Lines {
        let key = (hash(text), text.len());
        let (width, frame) = (self.width, self.frame);
        let entry = self
            .done
            .entry(key)
            .or_insert_with(|| (frame, Rc::new(markdown::render(text, width, theme))));
        entry.0 = frame;
        entry.1.clone()
    }

    /// The answer being streamed: its settled blocks from the cache, the last block rendered
    /// now. Equal to `markdown::render(text)`.
    pub fn streaming(&mut self, text: &str, theme: &Theme) -> Vec<Lines> {
        let text = sanitize::clean(text);
        if !text.starts_with(self.stream.settled.as_str()) {
            // A new answer (or a regenerated one): start over.
            self.stream = Stream::default();
        }
        let mut rest = &text[self.stream.settled.len()..];
        if let Some(i) = markdown::settled(rest) {
            let more = markdown::render(&rest[..i], self.width, theme);
            self.stream.lines = Rc::new(markdown::join(&self.stream.lines, &more));
            self.stream.settled.push_str(&rest[..i]);
            rest = &rest[i..];
        }
        let rendered = markdown::render(rest, self.width, theme);
        let mut tail = Vec::with_capacity(rendered.len() + 1);
        // The blank line before a block comes with the block's start, even before the block
        // has anything to show (as in a whole render).
        if !rest.is_empty() {
            tail.extend(markdown::gap_before(&self.stream.lines));
        }
        tail.extend(rendered);
        vec![self.stream.lines.clone(), Rc::new(tail)]
    }
}

impl RenderCache {
    /// The Market preview for `key`: made by `make` when anything in the key changed.
    pub(super) fn preview(&mut self, key: PreviewKey, make: impl FnOnce() -> Preview) -> Preview {
        match &self.preview {
            Some((k, p)) if *k == key => p.clone(),
            _ => {
                let p = make();
                self.preview = Some((key, p.clone()));
                p
            }
        }
    }
}

fn hash(text: &str) -> u64 {
    let mut h = DefaultHasher::new();
    text.hash(&mut h);
    h.finish()
}

/// The theme's identity: its name and every style (a user theme may be edited and reloaded
/// under the same name).
pub(super) fn theme_key(theme: &Theme) -> u64 {
    let mut h = DefaultHasher::new();
    theme.name().hash(&mut h);
    for role in crate::tui::theme::Role::ALL {
        theme.style(role).hash(&mut h);
    }
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::theme;

    /// Markdown a model writes: prose, fenced code (one left open at the end), lists that
    /// continue after a blank line, quotes, headings, a rule, indented continuation lines, and a
    /// control sequence that must not reach the terminal.
    const SAMPLE: &str = "# Title\n\nSome **prose** with `code`.\n\n```rust\nfn main() {\n\n    println!(\"hi\");\n}\n```\n\n1. first\n2. second\n\n   still the second item\n\n3. third\n\n> quoted\n> more\n\n---\n\n- a\n\n  - nested\n\nAfter\n\x1b[31mred\x1b[0m\n\n    indented code\n\n```python\ndef f():\n    return 1\n";

    /// The chat snapshot's answer: a list right after a code block, a quote, an escape.
    const SNAPSHOT: &str = "Use **`Vec::reverse`** to reverse *in place*:\n\n```rust\nfn main() {\n    let mut v = vec![1, 2, 3];\n    v.reverse(); // now [3, 2, 1]\n    println!(\"{:?}\", v);\n}\n```\n\nOr build a new one:\n\n1. `v.iter().rev()` gives an iterator\n2. `.cloned().collect()` makes the vector\n\n> Both are O(n).\n\nA stray escape \u{1b}[31mred\u{1b}[0m never reaches the terminal.";

    #[test]
    fn a_streamed_answer_renders_exactly_as_a_whole_one_at_every_length() {
        let (t, _) = theme::load_with("dark", None, false);
        for (width, sample) in [(30u16, SAMPLE), (80, SAMPLE), (50, SNAPSHOT)] {
            let mut cache = RenderCache::default();
            cache.frame(width, &t);
            let mut settled_once = false;
            for (n, _) in sample.char_indices().chain([(sample.len(), ' ')]) {
                let text = &sample[..n];
                let parts = cache.streaming(text, &t);
                let got: Vec<Line> = parts.iter().flat_map(|p| p.iter().cloned()).collect();
                assert_eq!(got, markdown::render(text, width, &t), "at {n}: {text:?}");
                settled_once |= !cache.stream.settled.is_empty();
            }
            assert!(settled_once, "the cache never kept a settled part");
            // The settled part is most of the text by the end.
            assert!(cache.stream.settled.len() > sample.len() / 2);
        }
    }

    #[test]
    fn a_market_preview_is_wrapped_again_only_when_its_key_changes() {
        let key = |span: Option<usize>, width: usize| PreviewKey {
            item: 1,
            bytes: 10,
            entries: vec![],
            span,
            width,
            theme: 7,
        };
        let made = std::cell::Cell::new(0);
        let make = || {
            made.set(made.get() + 1);
            Preview {
                lines: Rc::new(vec![Line::from(format!("{}", made.get()))]),
                at: None,
                sha256: "ab".into(),
            }
        };
        let mut cache = RenderCache::default();
        let a = cache.preview(key(None, 40), make);
        let b = cache.preview(key(None, 40), make);
        assert!(Rc::ptr_eq(&a.lines, &b.lines));
        assert_eq!(made.get(), 1);
        cache.preview(key(Some(1), 40), make);
        cache.preview(key(Some(1), 30), make);
        assert_eq!(made.get(), 3);
    }

    #[test]
    fn a_message_is_rendered_once_and_a_new_width_or_theme_renders_again() {
        let (dark, _) = theme::load_with("dark", None, false);
        let (light, _) = theme::load_with("light", None, false);
        let mut cache = RenderCache::default();
        cache.frame(40, &dark);
        let a = cache.message("hello **world**", &dark);
        let b = cache.message("hello **world**", &dark);
        assert!(Rc::ptr_eq(&a, &b), "the second lookup is the cached one");
        assert_eq!(*a, markdown::render("hello **world**", 40, &dark));
        cache.frame(20, &dark);
        let c = cache.message("hello **world**", &dark);
        assert!(!Rc::ptr_eq(&a, &c));
        assert_eq!(*c, markdown::render("hello **world**", 20, &dark));
        cache.frame(20, &light);
        let d = cache.message("hello **world**", &light);
        assert_eq!(*d, markdown::render("hello **world**", 20, &light));
        // A different text of the same length is a different entry.
        assert_eq!(
            *cache.message("hello **there**", &light),
            markdown::render("hello **there**", 20, &light)
        );
    }
}
