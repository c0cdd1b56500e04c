//! What a buyer of a vault item would get: the detectors' spans, the user's decisions applied,
//! and the text with every removed span replaced by its marker. Pure: the store and the CLI or
//! app call it with an item's text and decisions.
use std::collections::BTreeMap;

use keybot_redact::{Kind, Options, Span};
use sha2::{Digest, Sha256};

use crate::store::{Action, Decision};

/// The kind of a removal decision the user's own model made (`model:name`): stored beside the
/// hand-made ones, told apart in the summary.
pub const MODEL_PREFIX: &str = "model:";

/// One span the preview numbers: detected, or removed by hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    /// 1-based, by position in the text: what `keep` and `redact` take.
    pub number: usize,
    pub start: usize,
    pub end: usize,
    pub kind: Kind,
    /// Removed from what the buyer gets (false: kept on the user's word).
    pub removed: bool,
    /// Removed by hand (`redact --text`), not by a detector.
    pub manual: bool,
    /// Found by the user's own chat model (`market add --model`): a name or a place.
    pub by_model: bool,
}

/// An item as the buyer would get it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preview {
    pub entries: Vec<Entry>,
    /// The plaintext: exactly the bytes offered, byte for byte what `market preview` prints.
    pub text: String,
    /// The removed spans, merged where they overlap, as `text` was rendered from them.
    pub removed: Vec<Span>,
}

impl Preview {
    /// Builds the preview of `text` with the user's `decisions`. A keep applies only to a
    /// detected span of the same range and kind that is not a secret; anything else (a keep a
    /// newer detector no longer reports, a keep on a secret written into the store by hand) is
    /// ignored, which removes the span: the safe side.
    pub fn new(text: &str, decisions: &[Decision]) -> Preview {
        let detected = keybot_redact::detect(text, &Options::default());
        let kept = |s: &Span| {
            !s.kind.is_secret()
                && decisions.iter().any(|d| {
                    d.action == Action::Keep
                        && d.start == s.start
                        && d.end == s.end
                        && d.kind == s.kind.key()
                })
        };
        let mut entries: Vec<Entry> = detected
            .iter()
            .map(|s| Entry {
                number: 0,
                start: s.start,
                end: s.end,
                kind: s.kind,
                removed: !kept(s),
                manual: false,
                by_model: false,
            })
            .collect();
        for d in decisions.iter().filter(|d| d.action == Action::Redact) {
            // A range that is not on char boundaries of this text is not ours: ignored rather
            // than trusted (it cannot remove less than the detectors do).
            if d.start < d.end && text.get(d.start..d.end).is_some() {
                // `model:name`, `model:place`: the model's finds (kept like the detectors').
                let (kind, by_model) = match d.kind.strip_prefix(MODEL_PREFIX) {
                    Some(k) => (Kind::from_key(k).unwrap_or(Kind::Custom), true),
                    None => (Kind::from_key(&d.kind).unwrap_or(Kind::Custom), false),
                };
                entries.push(Entry {
                    number: 0,
                    start: d.start,
                    end: d.end,
                    kind,
                    removed: true,
                    manual: !by_model,
                    by_model,
                });
            }
        }
        entries.sort_by_key(|e| (e.start, e.end, e.manual));
        for (i, e) in entries.iter_mut().enumerate() {
            e.number = i + 1;
        }
        let removed = merge(entries.iter().filter(|e| e.removed));
        let text = keybot_redact::render(text, &removed);
        Preview {
            entries,
            text,
            removed,
        }
    }

    /// Removed spans by kind, in the order of [`Kind::ALL`]: the summary the CLI, the app and
    /// a listing's metadata show.
    pub fn counts(&self) -> BTreeMap<Kind, usize> {
        let mut counts = BTreeMap::new();
        for e in self.entries.iter().filter(|e| e.removed) {
            *counts.entry(e.kind).or_insert(0) += 1;
        }
        counts
    }

    /// `{"email": 2, …}` keys (stable, MARKET.md metadata) with their counts.
    pub fn counts_by_key(&self) -> BTreeMap<&'static str, usize> {
        self.counts()
            .into_iter()
            .map(|(k, n)| (k.key(), n))
            .collect()
    }

    /// One line: `2 email, 1 seed phrase` or `nothing removed`, and how many of the removals
    /// the user's own model found (`3 name, 1 place (2 found by the model)`).
    pub fn summary(&self) -> String {
        let counts = self.counts();
        if counts.is_empty() {
            return "nothing removed".into();
        }
        let line = counts
            .iter()
            .map(|(k, n)| format!("{n} {k}"))
            .collect::<Vec<_>>()
            .join(", ");
        match self
            .entries
            .iter()
            .filter(|e| e.removed && e.by_model)
            .count()
        {
            0 => line,
            n => format!("{line} ({n} found by the model)"),
        }
    }

    /// Hex SHA-256 of the plaintext: what a consent signs.
    pub fn sha256(&self) -> String {
        hex::encode(Sha256::digest(self.text.as_bytes()))
    }

    pub fn entry(&self, number: usize) -> Option<&Entry> {
        number.checked_sub(1).and_then(|i| self.entries.get(i))
    }

    /// The text with numbered markers, for choosing what to keep: removed spans as
    /// `[3:email]` (`[3,4:email]` where two overlap), kept ones as `«5 kept email: text»`.
    /// Not what the buyer gets: `text` is.
    pub fn numbered(&self, original: &str) -> String {
        let mut out = String::with_capacity(original.len());
        let mut at = 0;
        let mut marks: Vec<(usize, usize, String)> = Vec::new();
        for span in &self.removed {
            let numbers: Vec<String> = self
                .entries
                .iter()
                .filter(|e| e.removed && e.start < span.end && span.start < e.end)
                .map(|e| e.number.to_string())
                .collect();
            marks.push((
                span.start,
                span.end,
                format!("[{}:{}]", numbers.join(","), span.kind),
            ));
        }
        for e in self.entries.iter().filter(|e| !e.removed) {
            // A kept span inside a removed one (a hand redaction over it) is not shown kept.
            if !self
                .removed
                .iter()
                .any(|s| s.start < e.end && e.start < s.end)
            {
                marks.push((
                    e.start,
                    e.end,
                    format!(
                        "«{} kept {}: {}»",
                        e.number,
                        e.kind,
                        &original[e.start..e.end]
                    ),
                ));
            }
        }
        marks.sort_by_key(|m| m.0);
        for (start, end, mark) in marks {
            if start < at {
                continue;
            }
            out.push_str(&original[at..start]);
            out.push_str(&mark);
            at = end;
        }
        out.push_str(&original[at..]);
        out
    }
}

/// Sorted, merged spans: overlapping or touching ranges become one, whose kind is a secret's if
/// any of them is one (the marker must not understate what was there).
fn merge<'a>(entries: impl Iterator<Item = &'a Entry>) -> Vec<Span> {
    let mut spans: Vec<Span> = entries
        .map(|e| Span {
            start: e.start,
            end: e.end,
            kind: e.kind,
        })
        .collect();
    spans.sort();
    let mut out: Vec<Span> = Vec::with_capacity(spans.len());
    for s in spans {
        match out.last_mut() {
            Some(last) if s.start < last.end => {
                last.end = last.end.max(s.end);
                if s.kind.is_secret() && !last.kind.is_secret() {
                    last.kind = s.kind;
                }
            }
            _ => out.push(s),
        }
    }
    out
}

/// Why a decision is refused; each a line a person can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecisionError {
    #[error(
        "the item has no span {number} (it has {count}; `keybot market preview ID --numbered` shows them)"
    )]
    NoSpan { number: usize, count: usize },
    #[error("span {number} is a {kind}: secrets are always removed and cannot be kept")]
    Secret { number: usize, kind: Kind },
    #[error("span {number} is already kept")]
    AlreadyKept { number: usize },
    #[error("span {number} is already removed")]
    AlreadyRemoved { number: usize },
    #[error("{0:?} does not occur in the item")]
    NotFound(String),
    #[error("give the text to remove (it is empty)")]
    EmptyText,
    #[error("every occurrence of {0:?} is already removed")]
    NothingNew(String),
}

/// The decisions to take back and to add for a change.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Change {
    pub undo: Vec<Decision>,
    pub add: Vec<Decision>,
}

fn decision(action: Action, e: &Entry) -> Decision {
    Decision {
        action,
        start: e.start,
        end: e.end,
        // A model's removal is stored under its own kind (`model:name`).
        kind: if e.by_model {
            format!("{MODEL_PREFIX}{}", e.kind.key())
        } else {
            e.kind.key().into()
        },
    }
}

fn numbered_entry(preview: &Preview, number: usize) -> Result<&Entry, DecisionError> {
    preview.entry(number).ok_or(DecisionError::NoSpan {
        number,
        count: preview.entries.len(),
    })
}

/// `keep N`: show a detected span to the buyer, or take back a hand redaction.
pub fn keep(preview: &Preview, number: usize) -> Result<Change, DecisionError> {
    let e = numbered_entry(preview, number)?;
    if e.kind.is_secret() {
        return Err(DecisionError::Secret {
            number,
            kind: e.kind,
        });
    }
    if !e.removed {
        return Err(DecisionError::AlreadyKept { number });
    }
    // A removal made by hand or by the model is a decision of its own: keeping it undoes it.
    Ok(if e.manual || e.by_model {
        Change {
            undo: vec![decision(Action::Redact, e)],
            add: vec![],
        }
    } else {
        Change {
            undo: vec![],
            add: vec![decision(Action::Keep, e)],
        }
    })
}

/// `redact N`: remove again a span that was kept.
pub fn redact(preview: &Preview, number: usize) -> Result<Change, DecisionError> {
    let e = numbered_entry(preview, number)?;
    if e.removed {
        return Err(DecisionError::AlreadyRemoved { number });
    }
    Ok(Change {
        undo: vec![decision(Action::Keep, e)],
        add: vec![],
    })
}

/// `redact --text T`: remove every occurrence of `needle` the preview does not already remove.
pub fn redact_text(
    original: &str,
    preview: &Preview,
    needle: &str,
) -> Result<Change, DecisionError> {
    if needle.is_empty() {
        return Err(DecisionError::EmptyText);
    }
    let found: Vec<(usize, usize)> = original
        .match_indices(needle)
        .map(|(i, m)| (i, i + m.len()))
        .collect();
    if found.is_empty() {
        return Err(DecisionError::NotFound(needle.into()));
    }
    let covered =
        |(s, e): (usize, usize)| preview.removed.iter().any(|r| r.start <= s && e <= r.end);
    let add: Vec<Decision> = found
        .into_iter()
        .filter(|r| !covered(*r))
        .map(|(start, end)| Decision {
            action: Action::Redact,
            start,
            end,
            kind: Kind::Custom.key().into(),
        })
        .collect();
    if add.is_empty() {
        return Err(DecisionError::NothingNew(needle.into()));
    }
    Ok(Change { undo: vec![], add })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PHRASE: &str = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";

    fn keep_decision(e: &Entry) -> Decision {
        decision(Action::Keep, e)
    }

    /// The model's finds: removed under their kind, told apart in the summary, and kept on
    /// the user's word by undoing the model's decision.
    #[test]
    fn the_models_removals_are_counted_as_its_own_and_can_be_kept() {
        let text = "Ugolino waters the plants.";
        let found = Decision {
            action: Action::Redact,
            start: 0,
            end: 7,
            kind: format!("{MODEL_PREFIX}name"),
        };
        let p = Preview::new(text, std::slice::from_ref(&found));
        assert_eq!(p.text, "[name] waters the plants.");
        assert_eq!(p.summary(), "1 name (1 found by the model)");
        assert_eq!(p.counts_by_key().get("name"), Some(&1));
        let change = keep(&p, 1).unwrap();
        assert_eq!(change.undo, [found]);
        assert!(change.add.is_empty());
        // An unknown kind after the prefix is still removed (as text removed by hand).
        let odd = Decision {
            kind: format!("{MODEL_PREFIX}alien"),
            ..change.undo[0].clone()
        };
        assert_eq!(
            Preview::new(text, &[odd]).text,
            "[redacted] waters the plants."
        );
    }

    #[test]
    fn manual_redactions_are_numbered_removed_and_counted() {
        let text = "call project quorvex tomorrow, project quorvex knows";
        let p = Preview::new(text, &[]);
        let change = redact_text(text, &p, "project quorvex").unwrap();
        assert_eq!(change.add.len(), 2);
        let p = Preview::new(text, &change.add);
        assert_eq!(p.text, "call [redacted] tomorrow, [redacted] knows");
        assert_eq!(p.counts_by_key().get("custom"), Some(&2));
        assert_eq!(
            p.numbered(text),
            "call [1:redacted] tomorrow, [2:redacted] knows"
        );
        // Taking one back restores it.
        let back = keep(&p, 2).unwrap();
        assert_eq!(back.undo.len(), 1);
        assert!(back.add.is_empty());
        assert_eq!(
            redact_text(text, &p, "project quorvex"),
            Err(DecisionError::NothingNew("project quorvex".into()))
        );
        assert_eq!(
            redact_text(text, &p, "Bob"),
            Err(DecisionError::NotFound("Bob".into()))
        );
        assert_eq!(redact_text(text, &p, ""), Err(DecisionError::EmptyText));
    }

    #[test]
    fn a_span_number_out_of_range_is_refused() {
        let p = Preview::new("plain", &[]);
        assert_eq!(
            keep(&p, 1),
            Err(DecisionError::NoSpan {
                number: 1,
                count: 0
            })
        );
        assert_eq!(
            keep(&p, 0),
            Err(DecisionError::NoSpan {
                number: 0,
                count: 0
            })
        );
    }

    #[test]
    fn merged_spans_take_the_secrets_kind() {
        let e = |start, end, kind| Entry {
            number: 0,
            start,
            end,
            kind,
            removed: true,
            manual: false,
            by_model: false,
        };
        let entries = [
            e(0, 10, Kind::Custom),
            e(5, 20, Kind::PrivateKey),
            e(30, 40, Kind::Email),
        ];
        assert_eq!(
            merge(entries.iter()),
            vec![
                Span {
                    start: 0,
                    end: 20,
                    kind: Kind::PrivateKey
                },
                Span {
                    start: 30,
                    end: 40,
                    kind: Kind::Email
                },
            ]
        );
    }

    // The tests below need the detectors (keybot-redact); they state what the vault does with
    // what they find.
    #[test]
    fn a_detected_contact_span_can_be_kept_and_a_secret_cannot() {
        let text = format!("write to help@example.com\nmy words: {PHRASE}\n");
        let p = Preview::new(&text, &[]);
        assert_eq!(p.text, "write to [email]\nmy words: [seed phrase]\n");
        let email = p.entries.iter().find(|e| e.kind == Kind::Email).unwrap();
        let phrase = p
            .entries
            .iter()
            .find(|e| e.kind == Kind::SeedPhrase)
            .unwrap();
        assert_eq!(
            keep(&p, phrase.number),
            Err(DecisionError::Secret {
                number: phrase.number,
                kind: Kind::SeedPhrase
            })
        );
        let change = keep(&p, email.number).unwrap();
        let kept = Preview::new(&text, &change.add);
        assert_eq!(
            kept.text,
            "write to help@example.com\nmy words: [seed phrase]\n"
        );
        assert_ne!(kept.sha256(), p.sha256());
        assert_eq!(
            kept.numbered(&text),
            format!(
                "write to «{} kept email: help@example.com»\nmy words: [{}:seed phrase]\n",
                email.number, phrase.number
            )
        );
        // A keep on a secret that reached the store some other way is not applied.
        let forced = Preview::new(&text, &[keep_decision(phrase)]);
        assert!(!forced.text.contains("abandon"));
        // And `redact N` puts the e-mail back under its marker.
        let again = redact(&kept, email.number).unwrap();
        assert_eq!(again.undo, change.add);
    }
}
