//! The sale vault's detectors: what in a text must not reach a buyer.
//!
//! Pure functions over `&str`: no I/O, no allocation per byte. [`detect`] returns the spans of
//! the text to remove, sorted and non-overlapping, each with its [`Kind`]; [`render`] replaces
//! every span with a marker that names its kind (`[email]`, `[seed phrase]`). What the vault
//! keeps or removes on the user's word is the caller's business: it passes the spans it wants
//! removed to [`render`].
#![forbid(unsafe_code)]

use std::fmt;

mod address;
mod context;
mod email;
mod eth;
mod finance;
mod keys;
mod keystore;
mod lists;
mod network;
mod pem;
mod people;
mod phone;
mod scan;
mod seed;
mod tokens;

/// What a removed span was. The order is the order of the summary.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    // Secrets: always removed, never kept.
    SeedPhrase,
    PrivateKey,
    ExtendedKey,
    KeystoreJson,
    ApiToken,
    PemPrivateKey,
    // Contact and financial data: removed by default, the user may keep a span.
    Email,
    Phone,
    PaymentCard,
    Iban,
    IpAddress,
    StreetAddress,
    EthAddress,
    /// Another person's name ("my neighbour Anna Kowalczyk", "Dr. Patel").
    Name,
    /// A town, a region, a lake, a street without a number ("lives in Ghent").
    Place,
    /// Removed because the user said so (`market redact --text`).
    Custom,
}

impl Kind {
    pub const ALL: [Kind; 16] = [
        Kind::SeedPhrase,
        Kind::PrivateKey,
        Kind::ExtendedKey,
        Kind::KeystoreJson,
        Kind::ApiToken,
        Kind::PemPrivateKey,
        Kind::Email,
        Kind::Phone,
        Kind::PaymentCard,
        Kind::Iban,
        Kind::IpAddress,
        Kind::StreetAddress,
        Kind::EthAddress,
        Kind::Name,
        Kind::Place,
        Kind::Custom,
    ];

    /// A secret is always removed: `keep` on it is refused.
    pub fn is_secret(self) -> bool {
        matches!(
            self,
            Kind::SeedPhrase
                | Kind::PrivateKey
                | Kind::ExtendedKey
                | Kind::KeystoreJson
                | Kind::ApiToken
                | Kind::PemPrivateKey
        )
    }

    /// The words inside the marker: `[seed phrase]`.
    pub fn label(self) -> &'static str {
        match self {
            Kind::SeedPhrase => "seed phrase",
            Kind::PrivateKey => "private key",
            Kind::ExtendedKey => "extended key",
            Kind::KeystoreJson => "keystore",
            Kind::ApiToken => "api token",
            Kind::PemPrivateKey => "pem private key",
            Kind::Email => "email",
            Kind::Phone => "phone",
            Kind::PaymentCard => "card",
            Kind::Iban => "iban",
            Kind::IpAddress => "ip address",
            Kind::StreetAddress => "street address",
            Kind::EthAddress => "eth address",
            Kind::Name => "name",
            Kind::Place => "place",
            Kind::Custom => "redacted",
        }
    }

    /// The key in JSON summaries and the listing's metadata (`"redactions":{"email":2}`), and in
    /// the store. Stable: changing one is a format change.
    pub fn key(self) -> &'static str {
        match self {
            Kind::SeedPhrase => "seed_phrase",
            Kind::PrivateKey => "private_key",
            Kind::ExtendedKey => "extended_key",
            Kind::KeystoreJson => "keystore",
            Kind::ApiToken => "api_token",
            Kind::PemPrivateKey => "pem_private_key",
            Kind::Email => "email",
            Kind::Phone => "phone",
            Kind::PaymentCard => "card",
            Kind::Iban => "iban",
            Kind::IpAddress => "ip_address",
            Kind::StreetAddress => "street_address",
            Kind::EthAddress => "eth_address",
            Kind::Name => "name",
            Kind::Place => "place",
            Kind::Custom => "custom",
        }
    }

    pub fn from_key(key: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.key() == key)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// A byte range of the text (on char boundaries) and what it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Span {
    pub start: usize,
    pub end: usize,
    pub kind: Kind,
}

/// What the detectors need to know about the seller.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Ethereum addresses (20 bytes) not to report: the seller's own, when they choose to keep
    /// them.
    pub own_addresses: Vec<[u8; 20]>,
}

/// A detector: it appends what it finds in the text.
pub type Detector = fn(&str, &Options, &mut Vec<Span>);

/// Every detector, by name, in the order [`detect`] runs them (the preview bench times each).
pub const DETECTORS: &[(&str, Detector)] = &[
    // Secrets.
    ("seed", |t, _, f| seed::find(t, f)),
    ("keys", |t, _, f| keys::find(t, f)),
    ("keystore", |t, _, f| keystore::find(t, f)),
    ("pem", |t, _, f| pem::find(t, f)),
    ("tokens", |t, _, f| tokens::find(t, f)),
    // Contact and financial data.
    ("email", |t, _, f| email::find(t, f)),
    ("phone", |t, _, f| phone::find(t, f)),
    ("finance", |t, _, f| finance::find(t, f)),
    ("network", |t, _, f| network::find(t, f)),
    ("address", |t, _, f| address::find(t, f)),
    ("context", |t, _, f| context::find(t, f)),
    ("eth", |t, o, f| eth::find(t, &o.own_addresses, f)),
    // Other people and places.
    ("people", |t, _, f| people::find(t, f)),
];

/// Every span of `text` to remove, sorted by start, non-overlapping (where two detectors
/// overlap, the secret wins and the spans are merged).
pub fn detect(text: &str, options: &Options) -> Vec<Span> {
    let mut found = Vec::new();
    for (_, detector) in DETECTORS {
        detector(text, options, &mut found);
    }
    // Every detector works on ASCII edges, so its spans are on char boundaries already; widen
    // any that is not rather than cut a character in two (the safe side, and render never panics).
    for s in &mut found {
        while !text.is_char_boundary(s.start) {
            s.start -= 1;
        }
        while !text.is_char_boundary(s.end) {
            s.end += 1;
        }
    }
    merge(found)
}

/// Whether `word` is a common English word rather than a name ("will", "water", "plants"; not
/// "Anna" or "Lisbon", frequent as they are): what a model's claim that it is a name must not
/// rest on alone.
pub fn common_word(word: &str) -> bool {
    let f = lists::word_flags(word);
    let listed = f & (lists::FIRST | lists::SURNAME | lists::PLACE) != 0;
    f & lists::AMBIGUOUS != 0 || (f & lists::COMMON != 0 && !listed)
}

/// `spans` sorted by start, with overlapping ones merged into one (touching ones stay apart). The
/// merged span takes the kind of the span that wins: a secret over contact data, then the longer
/// (a keystore over the hex key inside it), then the earlier kind.
pub fn merge(mut spans: Vec<Span>) -> Vec<Span> {
    spans.sort_unstable_by_key(|s| (s.start, s.end));
    let mut out: Vec<Span> = Vec::with_capacity(spans.len());
    // The span whose kind the current merged span carries.
    let mut winner: Option<Span> = None;
    for s in spans {
        if s.start >= s.end {
            continue;
        }
        match (out.last_mut(), winner) {
            (Some(last), Some(w)) if s.start < last.end => {
                last.end = last.end.max(s.end);
                if beats(s, w) {
                    last.kind = s.kind;
                    winner = Some(s);
                }
            }
            _ => {
                out.push(s);
                winner = Some(s);
            }
        }
    }
    out
}

fn beats(a: Span, b: Span) -> bool {
    let rank = |s: Span| {
        (
            s.kind.is_secret(),
            s.end - s.start,
            std::cmp::Reverse(s.kind),
        )
    };
    rank(a) > rank(b)
}

/// `text` with every span replaced by `[label]`. `spans` must be sorted and non-overlapping,
/// on char boundaries (as [`detect`] returns them).
pub fn render(text: &str, spans: &[Span]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for span in spans {
        out.push_str(&text[at..span.start]);
        out.push('[');
        out.push_str(span.kind.label());
        out.push(']');
        at = span.end;
    }
    out.push_str(&text[at..]);
    out
}

/// What one detector's `find` reports in `text`: each span's kind and text (its unit tests).
#[cfg(test)]
pub(crate) fn found_by(find: fn(&str, &mut Vec<Span>), text: &str) -> Vec<(Kind, &str)> {
    let mut out = Vec::new();
    find(text, &mut out);
    out.iter()
        .map(|s| (s.kind, &text[s.start..s.end]))
        .collect()
}

/// Paragraphs of ordinary English (novels, chat, news, a recipe, and one built from list words
/// on purpose) that no detector may touch.
#[cfg(test)]
pub(crate) mod tests_prose {
    pub(crate) const TEXT: &str = include_str!("../tests/data/prose.txt");

    pub(crate) fn paragraphs() -> impl Iterator<Item = &'static str> {
        TEXT.split("\n\n").filter(|p| !p.trim().is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ordinary prose keeps every byte but the one person named in it (Orwell's Winston Smith):
    /// capitalised words that start sentences, months, weekdays and common words stay.
    #[test]
    fn prose_keeps_every_byte_but_its_one_name() {
        let mut removed = Vec::new();
        for p in tests_prose::paragraphs() {
            for s in detect(p, &Options::default()) {
                removed.push((s.kind, &p[s.start..s.end]));
            }
        }
        assert_eq!(removed, [(Kind::Name, "Winston Smith")]);
    }

    #[test]
    fn merge_lets_the_secret_and_then_the_longer_span_win() {
        let s = |start, end, kind| Span { start, end, kind };
        let merged = merge(vec![
            s(10, 20, Kind::Email),
            s(0, 5, Kind::Phone),
            s(15, 30, Kind::PrivateKey),
            s(30, 35, Kind::Iban),
            s(40, 100, Kind::KeystoreJson),
            s(50, 60, Kind::PrivateKey),
            s(70, 71, Kind::EthAddress),
        ]);
        assert_eq!(
            merged,
            [
                s(0, 5, Kind::Phone),
                s(10, 30, Kind::PrivateKey),
                s(30, 35, Kind::Iban),
                s(40, 100, Kind::KeystoreJson),
            ]
        );
    }

    /// Repetitive, half-formed input (what a fuzzer or a hostile file brings): every detector
    /// meets its candidates at every position and at the very end of the text, and the spans stay
    /// sorted, disjoint and inside it.
    #[test]
    fn repetitive_and_cut_off_input_is_handled() {
        let units = [
            "a@",
            "{\"",
            "{",
            "-----BEGIN ",
            "eyJaaaaaaaaaa.",
            "1 ",
            "0 1 ",
            "1.",
            "a:",
            "abandon ",
            "Hauptstraße ",
            "12 Baker ",
            "+1 ",
            "0x",
            "\"crypto\":{\"ciphertext\":\"",
            "DE89 ",
            "ff:",
            "@a.",
            "sk-",
            "é",
            "4111 ",
            "(1) ",
            "12 rue ",
            "::",
            "1. abandon\n",
        ];
        for unit in units {
            for len in [1, 2, 3, 5000] {
                let text = unit.repeat(len);
                for cut in [text.len(), text.len().saturating_sub(1)] {
                    let Some(text) = text.get(..cut) else {
                        continue;
                    };
                    let spans = detect(text, &Options::default());
                    let mut at = 0;
                    for s in &spans {
                        assert!(
                            s.start >= at && s.start < s.end && s.end <= text.len(),
                            "{unit:?}"
                        );
                        at = s.end;
                    }
                    let _ = render(text, &spans);
                }
            }
        }
    }

    #[test]
    fn kinds_round_trip_through_their_keys() {
        for k in Kind::ALL {
            assert_eq!(Kind::from_key(k.key()), Some(k));
        }
        assert_eq!(Kind::from_key("nope"), None);
    }

    #[test]
    fn a_chat_with_everything_renders_with_markers_only() {
        let text = "Hi! Mail me at jane.doe@example.com or call +49 30 1234567.\n\
            My seed: legal winner thank year wave sausage worth useful legal winner thank year \
            wave sausage worth useful legal winner thank year wave sausage worth title\n\
            Card 4111 1111 1111 1111, IBAN DE89 3704 0044 0532 0130 00, server 203.0.113.5.\n\
            Version 1.2.3 released on 2024-05-17, order #123456 cost $1,234.56.";
        let out = render(text, &detect(text, &Options::default()));
        assert_eq!(
            out,
            "Hi! Mail me at [email] or call [phone].\n\
            My seed: [seed phrase]\n\
            Card [card], IBAN [iban], server [ip address].\n\
            Version 1.2.3 released on 2024-05-17, order #123456 cost $1,234.56."
        );
    }
}
