//! Networks and tokens the user configured, kept in `config.toml`.
//!
//! Nothing is built in: no third-party RPC endpoint is ever contacted unless it is written here,
//! by `keybot chain add` or `keybot chain dev`. With no network configured keybot is offline
//! and opens no socket at all.
use std::collections::BTreeMap;
use std::path::Path;

use alloy::primitives::Address;
use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use crate::config::Paths;

/// The chain id anvil uses by default; `keybot chain dev` runs it with this id.
pub const DEV_CHAIN_ID: u64 = 31337;

/// An ERC-20 token the wallet shows and can send.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Token {
    pub symbol: String,
    pub address: Address,
    pub decimals: u8,
}

/// One configured network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Network {
    pub chain_id: u64,
    pub rpc: String,
    /// A local development chain (`keybot chain dev`): received ETH is found by scanning blocks,
    /// which is only affordable on a chain this small.
    #[serde(default)]
    pub dev: bool,
    /// The data market contract, once deployed (the market issue).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub market: Option<Address>,
    /// The block `market` was deployed in: where reading its events starts. Absent in configs
    /// written before the market existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub market_block: Option<u64>,
    #[serde(default)]
    pub tokens: Vec<Token>,
}

/// A token of `tokens` by symbol (case-insensitive) or address.
pub fn find_token<'t>(tokens: &'t [Token], key: &str) -> Option<&'t Token> {
    match key.parse::<Address>() {
        Ok(a) => tokens.iter().find(|t| t.address == a),
        Err(_) => tokens.iter().find(|t| t.symbol.eq_ignore_ascii_case(key)),
    }
}

impl Network {
    /// A token by symbol (case-insensitive) or address.
    pub fn token(&self, key: &str) -> Option<&Token> {
        find_token(&self.tokens, key)
    }

    /// Adds or replaces the token with the same address.
    pub fn upsert_token(&mut self, token: Token) {
        match self.tokens.iter_mut().find(|t| t.address == token.address) {
            Some(t) => *t = token,
            None => self.tokens.push(token),
        }
    }
}

/// The chain part of `config.toml`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainConfig {
    /// The network commands use unless told otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<String>,
    #[serde(default)]
    pub networks: BTreeMap<String, Network>,
}

impl ChainConfig {
    pub fn load(paths: &Paths) -> Result<ChainConfig> {
        let path = paths.config_file();
        match std::fs::read_to_string(&path) {
            Ok(text) => parse(&text).with_context(|| format!("{} is not valid", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(ChainConfig::default()),
            Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
        }
    }

    /// Writes the file atomically (temp file, fsync, rename), so a crash leaves the old or the
    /// new config, never half of one.
    pub fn save(&self, paths: &Paths) -> Result<()> {
        let text = toml::to_string_pretty(self).context("cannot write the config")?;
        write_config(&paths.config_file(), text.as_bytes())
    }

    /// The network `name`, or the active one when `name` is None. `Ok(None)` means offline:
    /// nothing configured.
    pub fn select(&self, name: Option<&str>) -> Result<Option<(&str, &Network)>> {
        let name = match name.or(self.network.as_deref()) {
            Some(n) => n,
            None => return Ok(None),
        };
        match self.networks.get_key_value(name) {
            Some((k, n)) => Ok(Some((k.as_str(), n))),
            None => bail!(
                "no network named {name:?} (configured: {})",
                self.names().join(", ")
            ),
        }
    }

    pub fn names(&self) -> Vec<&str> {
        self.networks.keys().map(String::as_str).collect()
    }
}

pub fn parse(text: &str) -> Result<ChainConfig> {
    let config: ChainConfig = toml::from_str(text)?;
    for (name, n) in &config.networks {
        check_name(name)?;
        check_rpc(&n.rpc)?;
    }
    Ok(config)
}

/// Network names are short words a user types: letters, digits, `-` and `_`.
pub fn check_name(name: &str) -> Result<()> {
    if name.is_empty()
        || name.len() > 32
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        bail!("network name {name:?}: use 1–32 letters, digits, '-' or '_'");
    }
    Ok(())
}

/// Only http(s) URLs: keybot speaks JSON-RPC over HTTP. The URL itself is not repeated in the
/// error: it often carries an API key, and errors are logged.
pub fn check_rpc(rpc: &str) -> Result<()> {
    let url: reqwest::Url = rpc
        .parse()
        .map_err(|e| anyhow::anyhow!("the RPC URL is not a URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        bail!("RPC URL {}: expected http:// or https://", redact_rpc(rpc));
    }
    Ok(())
}

/// An RPC URL as it may be printed or logged: `scheme://host[:port]`, then `/…` when it has a
/// path or a query, which is where providers put API keys. User info (`user:pass@`) is dropped.
pub fn redact_rpc(rpc: &str) -> String {
    let Ok(url) = rpc.parse::<reqwest::Url>() else {
        return "(an RPC URL that does not parse)".into();
    };
    let Some(host) = url.host_str() else {
        return format!("{}://(no host)", url.scheme());
    };
    let mut s = format!("{}://{host}", url.scheme());
    if let Some(port) = url.port() {
        s.push_str(&format!(":{port}"));
    }
    if !matches!(url.path(), "" | "/") || url.query().is_some() || url.fragment().is_some() {
        s.push_str("/…");
    }
    s
}

/// Whether the RPC is plain `http://` to another machine: anyone on the way can read and
/// rewrite what the node answers (balances, fees, the chain id).
pub fn is_insecure_rpc(rpc: &str) -> bool {
    let Ok(url) = rpc.parse::<reqwest::Url>() else {
        return false;
    };
    url.scheme() == "http" && !crate::net::is_loopback(&url)
}

fn write_config(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(dir) = path.parent() {
        keybot_keystore::atomic::create_private_dir(dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
    }
    keybot_keystore::atomic::write_private(path, bytes)
        .with_context(|| format!("cannot write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_selects() {
        let mut c = ChainConfig::default();
        assert!(
            c.select(None).unwrap().is_none(),
            "nothing configured = offline"
        );
        c.networks.insert(
            "local".into(),
            Network {
                chain_id: DEV_CHAIN_ID,
                rpc: "http://127.0.0.1:8545".into(),
                dev: true,
                market: None,
                market_block: None,
                tokens: vec![Token {
                    symbol: "tUSD".into(),
                    address: Address::repeat_byte(0x11),
                    decimals: 6,
                }],
            },
        );
        c.network = Some("local".into());
        let text = toml::to_string_pretty(&c).unwrap();
        let back = parse(&text).unwrap();
        assert_eq!(back, c);
        let (name, n) = back.select(None).unwrap().unwrap();
        assert_eq!(name, "local");
        assert_eq!(n.token("TUSD").unwrap().decimals, 6);
        assert!(n.token(&Address::repeat_byte(0x11).to_string()).is_some());
        assert!(
            back.select(Some("main"))
                .unwrap_err()
                .to_string()
                .contains("local")
        );
    }

    #[test]
    fn the_market_and_its_deployment_block_round_trip_and_old_configs_still_load() {
        // Written before the market existed: no market, no market_block.
        let old = "network = \"local\"\n\n[networks.local]\nchain_id = 31337\n\
                   rpc = \"http://127.0.0.1:8545\"\ndev = true\ntokens = []\n";
        let c = parse(old).unwrap();
        let n = &c.networks["local"];
        assert_eq!((n.market, n.market_block), (None, None));
        let text = toml::to_string_pretty(&c).unwrap();
        assert!(
            !text.contains("market"),
            "nothing written for no market: {text}"
        );

        let mut c = c;
        let n = c.networks.get_mut("local").unwrap();
        n.market = Some(Address::repeat_byte(0x22));
        n.market_block = Some(2);
        let text = toml::to_string_pretty(&c).unwrap();
        assert!(text.contains("market_block = 2"), "{text}");
        assert_eq!(parse(&text).unwrap(), c);
    }

    #[test]
    fn refuses_bad_names_and_urls() {
        assert!(check_name("my net").is_err());
        assert!(check_name("").is_err());
        assert!(check_name("sepolia-2").is_ok());
        assert!(check_rpc("ws://x").is_err());
        assert!(check_rpc("localhost:8545").is_err());
        assert!(check_rpc("https://rpc.example.org/v1").is_ok());
        // The error does not repeat a key-bearing URL.
        let e = check_rpc("ftp://h.example/v2/SECRETKEY")
            .unwrap_err()
            .to_string();
        assert!(
            !e.contains("SECRETKEY") && e.contains("ftp://h.example/…"),
            "{e}"
        );
    }

    #[test]
    fn rpc_urls_are_redacted_to_scheme_host_and_port() {
        for (url, shown) in [
            (
                "https://mainnet.infura.io/v3/0123456789abcdef",
                "https://mainnet.infura.io/…",
            ),
            (
                "https://eth.example.org/?apikey=SECRET",
                "https://eth.example.org/…",
            ),
            (
                "https://user:SECRET@rpc.example.org",
                "https://rpc.example.org",
            ),
            ("http://127.0.0.1:8545", "http://127.0.0.1:8545"),
            ("http://[::1]:8545/", "http://[::1]:8545"),
        ] {
            assert_eq!(redact_rpc(url), shown);
        }
        assert!(is_insecure_rpc("http://rpc.example.org"));
        assert!(is_insecure_rpc("http://10.0.0.2:8545"));
        assert!(!is_insecure_rpc("https://rpc.example.org"));
        assert!(!is_insecure_rpc("http://127.0.0.1:8545"));
        assert!(!is_insecure_rpc("http://localhost:8545"));
        assert!(!is_insecure_rpc("http://[::1]:8545"));
    }
}
