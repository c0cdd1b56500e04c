//! A listing's metadata (MARKET.md "Bytes"): compact UTF-8 JSON of at most 2 KiB in the `Listed`
//! event, `{"v":1,"title":…,"tags":[…],"bytes":N,"redactions":{"email":2,…},"type":"text/plain"}`.
//! Written by this machine for its own listings; read from strangers' listings, so parsing is
//! strict about size and shape and everything shown is cleaned.
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::sanitize;

/// The most metadata bytes a listing carries (the contract refuses more).
pub const MAX_BYTES: usize = 2048;
const MAX_TAGS: usize = 16;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meta {
    pub v: u32,
    pub title: String,
    #[serde(default)]
    pub tags: Vec<String>,
    pub bytes: u64,
    #[serde(default)]
    pub redactions: BTreeMap<String, u64>,
    #[serde(rename = "type")]
    pub content_type: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MetaError {
    #[error("the listing's metadata is {0} bytes, over the 2048 allowed")]
    TooLarge(usize),
    #[error("the listing's metadata is not the market's JSON: {0}")]
    Shape(String),
    #[error("the listing's metadata is version {0}; this keybot reads version 1")]
    Version(u32),
}

impl Meta {
    /// Metadata for a vault item offered as `text/plain`. The title is shortened (at a char
    /// boundary) and tags dropped from the end until the JSON fits in [`MAX_BYTES`].
    pub fn new(
        title: &str,
        tags: &[String],
        bytes: u64,
        redactions: BTreeMap<String, u64>,
    ) -> Meta {
        let mut meta = Meta {
            v: 1,
            title: sanitize::clean_line(title).into_owned(),
            tags: tags
                .iter()
                .take(MAX_TAGS)
                .map(|t| sanitize::clean_line(t).into_owned())
                .collect(),
            bytes,
            redactions,
            content_type: "text/plain".into(),
        };
        while meta.to_json().len() > MAX_BYTES {
            if meta.tags.pop().is_some() {
                continue;
            }
            if meta.title.pop().is_none() {
                break;
            }
        }
        meta
    }

    /// Compact JSON, as it goes into the listing.
    #[expect(
        clippy::expect_used,
        reason = "serde_json fails only on maps with non-string keys and failing Serialize impls; Meta has neither"
    )]
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("metadata always serializes")
    }

    /// Reads a stranger's metadata. Strings come back cleaned for display (no control or bidi
    /// characters; one line each).
    pub fn parse(json: &str) -> Result<Meta, MetaError> {
        if json.len() > MAX_BYTES {
            return Err(MetaError::TooLarge(json.len()));
        }
        let mut meta: Meta =
            serde_json::from_str(json).map_err(|e| MetaError::Shape(first_line(&e.to_string())))?;
        if meta.v != 1 {
            return Err(MetaError::Version(meta.v));
        }
        meta.title = sanitize::clean_line(&meta.title).into_owned();
        meta.tags = meta
            .tags
            .iter()
            .take(MAX_TAGS)
            .map(|t| sanitize::clean_line(t).into_owned())
            .collect();
        meta.content_type = sanitize::clean_line(&meta.content_type).into_owned();
        meta.redactions = meta
            .redactions
            .into_iter()
            .map(|(k, n)| (sanitize::clean_line(&k).into_owned(), n))
            .collect();
        Ok(meta)
    }
}

fn first_line(s: &str) -> String {
    sanitize::clean_line(s.lines().next().unwrap_or("")).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_format_is_compact_json_with_the_documented_keys() {
        let m = Meta::new(
            "Berlin move",
            &["life".into()],
            120,
            BTreeMap::from([("email".into(), 2)]),
        );
        assert_eq!(
            m.to_json(),
            r#"{"v":1,"title":"Berlin move","tags":["life"],"bytes":120,"redactions":{"email":2},"type":"text/plain"}"#
        );
        assert_eq!(Meta::parse(&m.to_json()).unwrap(), m);
    }

    #[test]
    fn a_long_title_and_many_tags_are_cut_to_fit() {
        let tags: Vec<String> = (0..40)
            .map(|i| format!("tag-{i}-{}", "x".repeat(40)))
            .collect();
        let m = Meta::new(&"ü".repeat(3000), &tags, 1, BTreeMap::new());
        let json = m.to_json();
        assert!(json.len() <= MAX_BYTES, "{}", json.len());
        assert!(m.tags.is_empty());
        assert!(m.title.starts_with("üü"));
    }

    #[test]
    fn a_strangers_metadata_is_checked_and_cleaned() {
        assert!(matches!(
            Meta::parse(&"x".repeat(MAX_BYTES + 1)),
            Err(MetaError::TooLarge(_))
        ));
        assert!(matches!(Meta::parse("[1,2]"), Err(MetaError::Shape(_))));
        assert!(matches!(
            Meta::parse(r#"{"v":2,"title":"t","bytes":1,"type":"text/plain"}"#),
            Err(MetaError::Version(2))
        ));
        let m = Meta::parse(
            r#"{"v":1,"title":"evil\u001b]52;c;AAAA\u0007 \u202etitle","tags":["a\nb"],"bytes":1,"type":"text/plain"}"#,
        )
        .unwrap();
        assert!(!m.title.chars().any(|c| c.is_control()), "{:?}", m.title);
        assert!(!m.title.contains('\u{202e}'));
        assert_eq!(m.tags, vec!["a b"]);
    }
}
