//! One typed `Settings`: the keys, their labels, their defaults and their checks, in one place.
//!
//! The store keeps settings as text (so a setting added later needs no migration); this module
//! is the only reader. A value is checked when it is saved and again when it is loaded: one the
//! store holds but this build cannot read (an older build's, a hand-edited backup's) is reported
//! once, removed from the store and replaced by the default — never quietly read as something
//! else. The sampling defaults are [`SamplingParams::default`]'s (llama.cpp's).
//!
//! The default model is not a setting in the store: the model registry (`keybot model default`)
//! is its one source, shared with the command line. [`migrate_default_model`] moves the old
//! `model.default` store setting there.
use std::path::Path;

use crate::chat::registry::{self, ModelEntry, Registry};
use crate::chat::{GpuLayers, LoadRequest, SamplingParams};
use crate::sanitize::clean_line;
use crate::store::Store;

/// The default model's key on the settings screen (kept in the model registry).
pub const DEFAULT_MODEL: &str = "model.default";
pub const GPU_LAYERS: &str = "model.gpu_layers";
pub const RPC: &str = "model.rpc";
pub const CTX: &str = "model.ctx";
pub const TEMP: &str = "sampling.temp";
pub const TOP_K: &str = "sampling.top_k";
pub const TOP_P: &str = "sampling.top_p";
pub const MIN_P: &str = "sampling.min_p";
pub const THEME: &str = "ui.theme";
pub const AUTOLOCK_MINUTES: &str = "security.autolock_minutes";
pub const MARKET_DELIVERY: &str = "market.delivery";
pub const MARKET_CHALLENGE: &str = "market.challenge";
pub const MARKET_IPFS_GATEWAY: &str = "market.ipfs_gateway";
pub const MARKET_MODEL_READER: &str = "market.model_reader";
pub const BOT_ROUNDS: &str = "bot.rounds";
pub const BOT_TOOLS: &str = "bot.tools";
pub const BOT_TRANSFER_CAPS: &str = "bot.transfer_caps";

/// What the app does with a delivered key of one of the user's purchases that does not open the
/// listing (checked by this client), while the purchase can still be challenged.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Challenge {
    /// Challenge it at once: the contract checks the key and refunds the price; a notice says so.
    Auto,
    /// Show it as challengeable under "my purchases"; `c` challenges it through the review.
    #[default]
    Ask,
}

impl std::fmt::Display for Challenge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Challenge::Auto => "auto",
            Challenge::Ask => "ask",
        })
    }
}

/// What the app does with a purchase of one of the user's listings while it is unlocked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Delivery {
    /// Deliver it at once, through the same service as `keybot market serve`.
    Auto,
    /// List it under "my listings", delivered only after its review is confirmed.
    #[default]
    Approve,
}

impl std::fmt::Display for Delivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Delivery::Auto => "auto",
            Delivery::Approve => "approve",
        })
    }
}

/// An IPFS gateway's base URL: https, or plain http only to this machine (a local IPFS node),
/// as for an RPC node; empty for none.
fn gateway(value: &str) -> Result<String, String> {
    const WHAT: &str =
        "market.ipfs_gateway: an https:// URL (http:// only to this machine), or empty";
    if value.is_empty() {
        return Ok(String::new());
    }
    if value.len() > 512 || value.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(WHAT.into());
    }
    let url = reqwest::Url::parse(value).map_err(|_| WHAT.to_owned())?;
    let local = matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
    match url.scheme() {
        "https" => {}
        "http" if local => {}
        _ => return Err(WHAT.into()),
    }
    if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() {
        return Err(WHAT.into());
    }
    Ok(value.trim_end_matches('/').to_owned())
}

/// A setting as the settings screen lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Item {
    pub key: &'static str,
    pub label: &'static str,
}

/// Every setting, in the order the settings screen shows them.
pub const ITEMS: [Item; 17] = [
    Item {
        key: DEFAULT_MODEL,
        label: "Default model",
    },
    Item {
        key: GPU_LAYERS,
        label: "GPU layers (auto, all or a number)",
    },
    Item {
        key: RPC,
        label: "RPC servers for layers (host:port, …)",
    },
    Item {
        key: CTX,
        label: "Context size (tokens)",
    },
    Item {
        key: TEMP,
        label: "Temperature",
    },
    Item {
        key: TOP_K,
        label: "Top-k",
    },
    Item {
        key: TOP_P,
        label: "Top-p",
    },
    Item {
        key: MIN_P,
        label: "Min-p",
    },
    Item {
        key: THEME,
        label: "Theme (dark, light, high-contrast, or a user theme)",
    },
    Item {
        key: AUTOLOCK_MINUTES,
        label: "Auto-lock after idle minutes (0 = never)",
    },
    Item {
        key: MARKET_DELIVERY,
        label: "Market deliveries (auto, or approve each)",
    },
    Item {
        key: MARKET_CHALLENGE,
        label: "Challenge a wrong key you bought (auto, or ask)",
    },
    Item {
        key: MARKET_IPFS_GATEWAY,
        label: "IPFS gateway for ipfs:// listings (https URL)",
    },
    Item {
        key: MARKET_MODEL_READER,
        label: "Model reads new vault items for names (on/off)",
    },
    Item {
        key: BOT_ROUNDS,
        label: "Bot: tool rounds per question (0-16)",
    },
    Item {
        key: BOT_TOOLS,
        label: "Bot: tools (asked = wallet questions, always)",
    },
    Item {
        key: BOT_TRANSFER_CAPS,
        label: "Bot: transfer caps (e.g. 0.1 ETH, 50 tUSD)",
    },
];

/// The settings kept in the store, typed.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub gpu_layers: GpuLayers,
    /// llama.cpp rpc-servers that take the offloaded layers (`gpu_layers`), as typed; checked
    /// by [`crate::chat::rpc::parse_list`].
    pub rpc: String,
    /// Context window in tokens.
    pub ctx: u32,
    /// temp, top_k, top_p and min_p are settings; the seed is drawn per answer.
    pub sampling: SamplingParams,
    pub theme: String,
    /// 0: never.
    pub autolock_minutes: u32,
    /// Purchases of the user's listings: delivered at once, or after approval.
    pub market_delivery: Delivery,
    /// The user's purchases whose key is provably wrong: challenged at once, or on `c`.
    pub market_challenge: Challenge,
    /// Where an ipfs:// listing's ciphertext is fetched (`GATEWAY/ipfs/CID`); empty: nowhere.
    pub ipfs_gateway: String,
    /// The default chat model reads each item added to the sale vault (up to
    /// `model_reader::MAX_ITEM_BYTES`) for people and places the detectors missed.
    pub model_reader: bool,
    /// The most tool rounds in one bot turn.
    pub bot_rounds: u8,
    /// The tools go with every question (`always`), or only with a conversation about the
    /// wallet or the market (`asked`, false; see [`crate::bot::route`]).
    pub bot_tools_always: bool,
    /// The largest amount the bot may propose to send, per asset symbol (`0.1 ETH, 50 tUSD`);
    /// an asset not named has no cap. Kept as typed; checked by [`transfer_caps`].
    pub bot_transfer_caps: String,
}

/// `0.1 ETH, 50 tUSD` as (amount, symbol) pairs; an error line for anything else.
pub fn transfer_caps(text: &str) -> Result<Vec<(String, String)>, String> {
    const WHAT: &str =
        "bot.transfer_caps: amounts with their asset, e.g. \"0.1 ETH, 50 tUSD\", or empty";
    let mut caps = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let mut words = part.split_whitespace();
        let (Some(amount), Some(symbol), None) = (words.next(), words.next(), words.next()) else {
            return Err(WHAT.into());
        };
        let ok_amount = !amount.is_empty()
            && amount.chars().all(|c| c.is_ascii_digit() || c == '.')
            && amount.matches('.').count() <= 1
            && amount.chars().any(|c| c.is_ascii_digit());
        let ok_symbol = symbol.len() <= 16 && symbol.chars().all(|c| c.is_ascii_alphanumeric());
        if !ok_amount || !ok_symbol {
            return Err(WHAT.into());
        }
        caps.push((amount.to_owned(), symbol.to_owned()));
    }
    Ok(caps)
}

impl Settings {
    /// The rpc-servers for the offloaded layers (the value was checked when it was set).
    pub fn rpc_endpoints(&self) -> Vec<crate::chat::rpc::Endpoint> {
        crate::chat::rpc::parse_list(&self.rpc).unwrap_or_default()
    }

    /// The IPFS gateway, if one is set.
    pub fn ipfs_gateway(&self) -> Option<&str> {
        (!self.ipfs_gateway.is_empty()).then_some(self.ipfs_gateway.as_str())
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            gpu_layers: GpuLayers::Auto,
            rpc: String::new(),
            ctx: 4096,
            sampling: SamplingParams::default(),
            theme: "dark".into(),
            autolock_minutes: 10,
            market_delivery: Delivery::Approve,
            market_challenge: Challenge::Ask,
            ipfs_gateway: String::new(),
            model_reader: false,
            bot_rounds: 4,
            bot_tools_always: false,
            bot_transfer_caps: String::new(),
        }
    }
}

fn number<T>(key: &str, value: &str, lo: T, hi: T) -> Result<T, String>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy,
{
    match value.trim().parse::<T>() {
        Ok(v) if v >= lo && v <= hi => Ok(v),
        _ => Err(format!("{key}: expected a number from {lo} to {hi}")),
    }
}

impl Settings {
    /// The text of `key`'s value, as the settings screen shows it and [`Settings::set`] reads it
    /// back. None for the default model (the registry's) and for unknown keys.
    pub fn text(&self, key: &str) -> Option<String> {
        Some(match key {
            GPU_LAYERS => self.gpu_layers.to_string(),
            RPC => self.rpc.clone(),
            CTX => self.ctx.to_string(),
            TEMP => self.sampling.temp.to_string(),
            TOP_K => self.sampling.top_k.to_string(),
            TOP_P => self.sampling.top_p.to_string(),
            MIN_P => self.sampling.min_p.to_string(),
            THEME => self.theme.clone(),
            AUTOLOCK_MINUTES => self.autolock_minutes.to_string(),
            MARKET_DELIVERY => self.market_delivery.to_string(),
            MARKET_CHALLENGE => self.market_challenge.to_string(),
            MARKET_IPFS_GATEWAY => self.ipfs_gateway.clone(),
            MARKET_MODEL_READER => if self.model_reader { "on" } else { "off" }.to_owned(),
            BOT_ROUNDS => self.bot_rounds.to_string(),
            BOT_TOOLS => if self.bot_tools_always {
                "always"
            } else {
                "asked"
            }
            .to_owned(),
            BOT_TRANSFER_CAPS => self.bot_transfer_caps.clone(),
            _ => return None,
        })
    }

    /// Checks and sets `key` from its text; a value that is not right is refused with a
    /// one-line reason and changes nothing.
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), String> {
        let value = value.trim();
        match key {
            DEFAULT_MODEL => {
                registry::check_name(value).map_err(|e| e.to_string())?;
            }
            GPU_LAYERS => {
                self.gpu_layers = value
                    .parse()
                    .map_err(|_| "GPU layers: auto, all or a number".to_owned())?;
            }
            RPC => {
                crate::chat::rpc::parse_list(value)?;
                self.rpc = value.to_owned();
            }
            CTX => self.ctx = number(key, value, 128, 1_048_576)?,
            TEMP => self.sampling.temp = number(key, value, 0.0, 5.0)?,
            TOP_K => self.sampling.top_k = number(key, value, 0, 100_000)?,
            TOP_P => self.sampling.top_p = number(key, value, 0.0, 1.0)?,
            MIN_P => self.sampling.min_p = number(key, value, 0.0, 1.0)?,
            THEME => {
                if value.is_empty() || value.chars().any(char::is_control) {
                    return Err("theme: a theme's name".into());
                }
                self.theme = value.to_owned();
            }
            AUTOLOCK_MINUTES => self.autolock_minutes = number(key, value, 0, 1440)?,
            MARKET_DELIVERY => {
                self.market_delivery = match value {
                    "auto" => Delivery::Auto,
                    "approve" => Delivery::Approve,
                    _ => return Err("market.delivery: auto or approve".into()),
                }
            }
            MARKET_CHALLENGE => {
                self.market_challenge = match value {
                    "auto" => Challenge::Auto,
                    "ask" => Challenge::Ask,
                    _ => return Err("market.challenge: auto or ask".into()),
                }
            }
            MARKET_IPFS_GATEWAY => self.ipfs_gateway = gateway(value)?,
            BOT_ROUNDS => self.bot_rounds = number(key, value, 0, 16)?,
            BOT_TOOLS => {
                self.bot_tools_always = match value {
                    "always" => true,
                    "asked" => false,
                    _ => return Err("bot.tools: asked or always".into()),
                }
            }
            BOT_TRANSFER_CAPS => {
                transfer_caps(value)?;
                self.bot_transfer_caps = value.to_owned();
            }
            MARKET_MODEL_READER => {
                self.model_reader = match value {
                    "on" => true,
                    "off" => false,
                    _ => return Err("market.model_reader: on or off".into()),
                }
            }
            _ => return Err(format!("{}: no such setting", clean_line(key))),
        }
        Ok(())
    }

    /// The settings in `store`, each checked. A stored value that does not pass is removed from
    /// the store and replaced by the default; each such value comes back as one line saying
    /// so (reported once: the next load finds nothing to report).
    pub fn load(store: &Store) -> crate::store::Result<(Settings, Vec<String>)> {
        let stored = store.settings()?;
        let mut settings = Settings::default();
        let mut problems = Vec::new();
        for item in ITEMS.iter().filter(|i| i.key != DEFAULT_MODEL) {
            let Some(value) = stored.get(item.key) else {
                continue;
            };
            if let Err(why) = settings.set(item.key, value) {
                store.remove_setting(item.key)?;
                problems.push(format!(
                    "the stored setting {} = {:?} was not valid ({why}); it is back to its default, {}",
                    item.key,
                    clean_line(value),
                    settings.text(item.key).unwrap_or_default(),
                ));
            }
        }
        Ok((settings, problems))
    }

    /// How the next answer is sampled (a fresh seed each time).
    pub fn sampling(&self) -> SamplingParams {
        self.sampling.clone()
    }

    /// What the engine is asked to load for `model`.
    pub fn load_request(&self, model: &RegisteredModel) -> LoadRequest {
        match model {
            RegisteredModel::File(m) => LoadRequest {
                path: m.path.clone(),
                ctx: Some(self.ctx),
                threads: None,
                gpu_layers: self.gpu_layers,
                template: None,
                // The engine hashes the file before loading it: a swapped file is refused.
                expected_sha256: Some(m.sha256.clone()),
                server: None,
                rpc: self.rpc_endpoints(),
                // Set by the caller that knows where the cache is (the app, `ask`).
                prompt_cache: None,
            },
            RegisteredModel::Server(s) => LoadRequest {
                path: s.name.clone().into(),
                server: Some(s.clone()),
                ..LoadRequest::default()
            },
        }
    }
}

/// Checks a setting's text before it is saved; what the settings screen calls.
pub fn validate(key: &str, value: &str) -> Result<(), String> {
    Settings::default().set(key, value)
}

/// A registered model: a GGUF file here, or a model on the user's own server.
#[derive(Debug, Clone)]
pub enum RegisteredModel {
    File(ModelEntry),
    Server(crate::chat::remote::ServerModel),
}

impl RegisteredModel {
    pub fn name(&self) -> &str {
        match self {
            RegisteredModel::File(m) => &m.name,
            RegisteredModel::Server(s) => &s.name,
        }
    }
}

/// The default model, from the registry; a line saying why there is none.
pub fn default_model(data_dir: &Path) -> Result<RegisteredModel, String> {
    let registry = Registry::load(data_dir).map_err(|e| e.to_string())?;
    let Some(name) = registry.default.clone() else {
        return Err("no model is registered on this machine yet".into());
    };
    if let Some(s) = registry.server(&name) {
        return s
            .server_model()
            .map(RegisteredModel::Server)
            .map_err(|e| e.to_string());
    }
    registry
        .get(&name)
        .cloned()
        .map(RegisteredModel::File)
        .map_err(|e| e.to_string())
}

/// `model` with its server's API key opened by `wallet`, where it has one.
pub fn with_api_key(
    model: RegisteredModel,
    data_dir: &Path,
    wallet: Option<&keybot_keystore::Wallet>,
) -> Result<RegisteredModel, String> {
    let RegisteredModel::Server(mut server) = model else {
        return Ok(model);
    };
    if !server.key_sealed {
        return Ok(RegisteredModel::Server(server));
    }
    let Some(wallet) = wallet else {
        return Err("the server's API key opens only with the wallet unlocked".into());
    };
    let sealed = crate::chat::registry::read_sealed_key(data_dir, &server.name)?;
    let key =
        keybot_keystore::api_key::open(wallet, &server.name, &sealed).map_err(|e| e.to_string())?;
    server.api_key = Some(std::sync::Arc::new(key));
    Ok(RegisteredModel::Server(server))
}

/// The registry's default model's name, if any (what the settings screen shows).
pub fn default_model_name(data_dir: &Path) -> Option<String> {
    Registry::load(data_dir).ok()?.default
}

/// Makes `name` the default model in the registry (it must be registered).
pub fn set_default_model(data_dir: &Path, name: &str) -> Result<(), String> {
    let mut registry = Registry::load(data_dir).map_err(|e| e.to_string())?;
    registry.set_default(name).map_err(|e| e.to_string())?;
    registry.save(data_dir).map_err(|e| e.to_string())
}

/// Earlier builds kept the app's default model in the store (`model.default`), where it
/// overrode the registry the command line uses. It moves to the registry once (when that
/// model is registered) and leaves the store; the line says what happened, if anything.
pub fn migrate_default_model(
    store: &Store,
    data_dir: &Path,
) -> crate::store::Result<Option<String>> {
    let Some(name) = store.setting(DEFAULT_MODEL)? else {
        return Ok(None);
    };
    let name = name.trim().to_owned();
    let note = if name.is_empty() {
        None
    } else {
        match set_default_model(data_dir, &name) {
            Ok(()) => None,
            Err(why) => Some(format!(
                "the app's default model {:?} is not used any more: {}",
                clean_line(&name),
                clean_line(&why)
            )),
        }
    };
    store.remove_setting(DEFAULT_MODEL)?;
    Ok(note)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transfer_caps_are_amounts_with_their_asset() {
        assert_eq!(
            transfer_caps("0.1 ETH, 50 tUSD").unwrap(),
            [
                ("0.1".to_owned(), "ETH".to_owned()),
                ("50".to_owned(), "tUSD".to_owned())
            ]
        );
        assert_eq!(transfer_caps("").unwrap(), []);
        for bad in ["50", "ten tUSD", "1 tUSD extra", "1.2.3 ETH", "1 t-USD"] {
            assert!(transfer_caps(bad).is_err(), "{bad}");
        }
        let mut s = Settings::default();
        assert_eq!(s.text(BOT_ROUNDS).as_deref(), Some("4"));
        assert!(s.set(BOT_ROUNDS, "17").is_err());
        s.set(BOT_TRANSFER_CAPS, "5 tUSD").unwrap();
        assert_eq!(s.text(BOT_TRANSFER_CAPS).as_deref(), Some("5 tUSD"));
    }

    #[test]
    fn the_bots_tools_go_when_asked_or_always() {
        let mut s = Settings::default();
        assert_eq!(s.text(BOT_TOOLS).as_deref(), Some("asked"));
        s.set(BOT_TOOLS, "always").unwrap();
        assert!(s.bot_tools_always);
        assert_eq!(s.text(BOT_TOOLS).as_deref(), Some("always"));
        assert_eq!(
            s.set(BOT_TOOLS, "on").unwrap_err(),
            "bot.tools: asked or always"
        );
        assert!(s.bot_tools_always, "a refused value changes nothing");
        s.set(BOT_TOOLS, "asked").unwrap();
        assert!(!s.bot_tools_always);
    }

    fn store(dir: &Path) -> Store {
        let key = keybot_keystore::secret::Secret32::new([3; 32]);
        Store::open(&dir.join("keybot.db"), &key).unwrap()
    }

    #[test]
    fn defaults_are_the_sampling_defaults_and_read_back() {
        let s = Settings::default();
        let d = SamplingParams::default();
        assert_eq!(s.sampling, d);
        assert_eq!(s.text(TEMP).unwrap(), "0.8");
        assert_eq!(s.text(TOP_P).unwrap(), "0.95");
        assert_eq!(s.text(MIN_P).unwrap(), "0.05");
        for item in ITEMS.iter().filter(|i| i.key != DEFAULT_MODEL) {
            let mut again = Settings::default();
            again.set(item.key, &s.text(item.key).unwrap()).unwrap();
            assert_eq!(again, s, "{}", item.key);
        }
    }

    #[test]
    fn a_bad_value_is_refused_and_changes_nothing() {
        let mut s = Settings::default();
        for (key, bad) in [
            (GPU_LAYERS, "lots"),
            (GPU_LAYERS, "-1"),
            (CTX, "12"),
            (TEMP, "hot"),
            (TEMP, "NaN"),
            (TOP_K, "40.5"),
            (TOP_P, "2"),
            (AUTOLOCK_MINUTES, "1.5"),
            (THEME, ""),
            (MARKET_DELIVERY, "sometimes"),
            (MARKET_DELIVERY, ""),
            (DEFAULT_MODEL, "../etc/passwd"),
            ("no.such", "1"),
        ] {
            assert!(s.set(key, bad).is_err(), "{key} = {bad:?}");
        }
        assert_eq!(s, Settings::default());
        s.set(GPU_LAYERS, "12").unwrap();
        assert_eq!(s.gpu_layers, GpuLayers::Count(12));
        assert_eq!(s.market_delivery, Delivery::Approve);
        s.set(MARKET_DELIVERY, "auto").unwrap();
        assert_eq!(s.market_delivery, Delivery::Auto);
        assert_eq!(s.market_challenge, Challenge::Ask);
        assert!(s.set(MARKET_CHALLENGE, "always").is_err());
        assert_eq!(s.market_challenge, Challenge::Ask);
        s.set(MARKET_CHALLENGE, "auto").unwrap();
        assert_eq!(s.market_challenge, Challenge::Auto);
        assert_eq!(s.text(MARKET_CHALLENGE).as_deref(), Some("auto"));
        assert_eq!(s.ipfs_gateway(), None);
        for bad in [
            "http://gateway.example",
            "ftp://x",
            "https://a b",
            "https://g.example/?q=1",
            "not a url",
        ] {
            assert!(s.set(MARKET_IPFS_GATEWAY, bad).is_err(), "{bad}");
        }
        assert_eq!(s.ipfs_gateway(), None);
        s.set(MARKET_IPFS_GATEWAY, "https://ipfs.example/").unwrap();
        assert_eq!(s.ipfs_gateway(), Some("https://ipfs.example"));
        s.set(MARKET_IPFS_GATEWAY, "http://127.0.0.1:8080").unwrap();
        s.set(MARKET_IPFS_GATEWAY, "").unwrap();
        assert_eq!(s.ipfs_gateway(), None);
    }

    #[test]
    fn rpc_servers_are_host_port_lists_and_go_into_a_files_load_request() {
        let mut s = Settings::default();
        assert!(s.set(RPC, "http://box:50052").is_err());
        assert!(s.set(RPC, "box").is_err());
        assert_eq!(s.rpc, "");
        s.set(RPC, "192.168.1.20:50052, [::1]:50053").unwrap();
        let shown: Vec<String> = s.rpc_endpoints().iter().map(ToString::to_string).collect();
        assert_eq!(shown, ["192.168.1.20:50052", "[::1]:50053"]);
        let file = RegisteredModel::File(entry("m", "/m.gguf".into()));
        assert_eq!(s.load_request(&file).rpc.len(), 2);
        s.set(RPC, "").unwrap();
        assert!(s.load_request(&file).rpc.is_empty());
    }

    #[test]
    fn a_value_the_store_cannot_parse_is_reported_once_and_replaced_by_the_default() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path());
        store.set_setting(GPU_LAYERS, "lots").unwrap();
        store.set_setting(TEMP, "0.3").unwrap();
        store.set_setting(AUTOLOCK_MINUTES, "1.5").unwrap();
        let (settings, problems) = Settings::load(&store).unwrap();
        // Not silently "auto" because it failed to parse: reported, and the default is used.
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].contains("model.gpu_layers") && problems[0].contains("lots"));
        assert!(problems[1].contains("security.autolock_minutes"));
        assert_eq!(settings.gpu_layers, GpuLayers::Auto);
        assert_eq!(settings.autolock_minutes, 10);
        // A good value next to them is kept.
        assert_eq!(settings.sampling.temp, 0.3);
        assert_eq!(store.setting(GPU_LAYERS).unwrap(), None);
        assert_eq!(store.setting(TEMP).unwrap().as_deref(), Some("0.3"));
        // Once: the next load has nothing to say.
        let (again, problems) = Settings::load(&store).unwrap();
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(again, settings);
    }

    /// A registered GGUF named `name` at `path`, as the tests need one.
    fn entry(name: &str, path: std::path::PathBuf) -> ModelEntry {
        ModelEntry {
            name: name.into(),
            path,
            architecture: "llama".into(),
            model_name: None,
            quantization: None,
            context_length: None,
            size: 1,
            sha256: "00".into(),
            has_chat_template: true,
            source: None,
        }
    }

    fn register(data_dir: &Path, name: &str) {
        let mut r = Registry::load(data_dir).unwrap_or_default();
        r.models
            .push(entry(name, data_dir.join(format!("{name}.gguf"))));
        if r.default.is_none() {
            r.default = Some(name.into());
        }
        r.save(data_dir).unwrap();
    }

    #[test]
    fn the_stores_default_model_moves_to_the_registry() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let store = store(dir.path());
        register(&data, "first");
        register(&data, "second");
        assert_eq!(default_model_name(&data).as_deref(), Some("first"));
        // The app's old setting wins once, then lives in the registry only.
        store.set_setting(DEFAULT_MODEL, "second").unwrap();
        assert_eq!(migrate_default_model(&store, &data).unwrap(), None);
        assert_eq!(default_model_name(&data).as_deref(), Some("second"));
        assert_eq!(default_model(&data).unwrap().name(), "second");
        assert_eq!(store.setting(DEFAULT_MODEL).unwrap(), None);
        assert_eq!(migrate_default_model(&store, &data).unwrap(), None);
        // A name the registry does not know is reported and dropped; the registry's stays.
        store.set_setting(DEFAULT_MODEL, "gone").unwrap();
        let note = migrate_default_model(&store, &data).unwrap().unwrap();
        assert!(note.contains("gone"), "{note}");
        assert_eq!(default_model_name(&data).as_deref(), Some("second"));
        assert_eq!(store.setting(DEFAULT_MODEL).unwrap(), None);
    }
}
