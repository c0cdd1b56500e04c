//! The models keybot knows about: a small JSON file under the data folder.
//!
//! A model is registered only after its GGUF header has been read and checked against the
//! file's size and its sha256 computed, so a name in the registry always points at a file that
//! was whole when it was added. Files added from elsewhere stay where they are; pulled files
//! live under `data/models/`.
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::gguf::{self, GgufError};

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    // transparent: "{0}" with #[from] would print the GGUF error twice in a chain ("X: X").
    #[error(transparent)]
    Gguf(#[from] GgufError),
    #[error("cannot {what} {path}: {source}")]
    Io {
        what: &'static str,
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the model registry {0} is corrupt ({1}); fix or delete it")]
    Corrupt(String, String),
    #[error("no registered model is named {0:?} (see `keybot model list`)")]
    Unknown(String),
    #[error("a model named {0:?} is already registered; pick another name with --name")]
    Duplicate(String),
    #[error("a model name must be 1-64 letters, digits, '.', '_' or '-' (got {0:?})")]
    BadName(String),
    #[error("{0}: {1}")]
    BadUrl(String, String),
    #[error("cannot write the model registry: {0}")]
    Write(String),
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ModelEntry {
    pub name: String,
    pub path: PathBuf,
    pub architecture: String,
    /// `general.name` from the GGUF, when it has one.
    pub model_name: Option<String>,
    pub quantization: Option<String>,
    pub context_length: Option<u64>,
    pub size: u64,
    pub sha256: String,
    pub has_chat_template: bool,
    /// `REPO:FILE` for pulled models.
    #[serde(default)]
    pub source: Option<String>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Registry {
    #[serde(default)]
    pub default: Option<String>,
    #[serde(default)]
    pub models: Vec<ModelEntry>,
    /// Models on inference servers of the user's own (`keybot model add-server`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub servers: Vec<ServerEntry>,
}

/// A model on an OpenAI-compatible server (llama-server, vLLM, ollama, LM Studio).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ServerEntry {
    pub name: String,
    /// The server's base URL, checked when it was added ([`check_server_url`]).
    pub url: String,
    /// The model to ask it for; none: the first it lists.
    #[serde(default)]
    pub model: Option<String>,
    /// Plain `http://` to another machine, accepted once by the user when it was added.
    #[serde(default)]
    pub plain_http_accepted: bool,
    /// Whether an API key is sealed for it ([`api_key_file`]; opening it needs the wallet).
    #[serde(default)]
    pub api_key: bool,
}

/// Where the sealed API key of the server `name` is kept: beside the registry, never in the
/// store (so never in a backup).
pub fn api_key_file(data_dir: &Path, name: &str) -> PathBuf {
    models_dir(data_dir)
        .join("keys")
        .join(format!("{name}.key"))
}

/// The sealed API key of the server `name`, as kept (it opens with the wallet:
/// `keybot_keystore::api_key::open`).
pub fn read_sealed_key(data_dir: &Path, name: &str) -> Result<Vec<u8>, String> {
    keybot_keystore::atomic::read_limited(&api_key_file(data_dir, name), 64 << 10)
        .map_err(|e| format!("cannot read the sealed API key of {name}: {e}"))
}

impl ServerEntry {
    /// The server to ask, without its key (see [`ServerEntry::api_key`]).
    pub fn server_model(&self) -> Result<super::remote::ServerModel, RegistryError> {
        Ok(super::remote::ServerModel {
            name: self.name.clone(),
            url: check_server_url(&self.url, self.plain_http_accepted)?,
            model: self.model.clone(),
            api_key: None,
            key_sealed: self.api_key,
        })
    }
}

/// A server's base URL: http or https, no user or password in it (a key goes in a key file),
/// no query; `…/v1` at the end is the API's own and dropped. Plain http only to this machine
/// unless the user accepted it (`plain_ok`): anything further can be read and rewritten on the
/// way, the conversation included.
pub fn check_server_url(url: &str, plain_ok: bool) -> Result<reqwest::Url, RegistryError> {
    // Named as scheme://host[:port] only: a path or user info could hold a secret.
    let bad = |why: &str| {
        let shown = match reqwest::Url::parse(url.trim()) {
            Ok(_) => crate::chain::network::redact_rpc(url.trim()),
            Err(_) => "the server URL".to_owned(),
        };
        RegistryError::BadUrl(
            crate::sanitize::clean_line(&shown).into_owned(),
            why.to_owned(),
        )
    };
    let mut u = reqwest::Url::parse(url.trim()).map_err(|e| bad(&format!("not a URL ({e})")))?;
    match u.scheme() {
        "https" => {}
        "http" if plain_ok || crate::net::is_loopback(&u) => {}
        "http" => {
            return Err(bad(
                "plain http to another machine sends the conversation readable on the way; use https, or accept it with --allow-plain-http",
            ));
        }
        _ => return Err(bad("the URL must start with http:// or https://")),
    }
    if !u.username().is_empty() || u.password().is_some() {
        return Err(bad(
            "no user or password in the URL; give an API key with --api-key-file",
        ));
    }
    if u.query().is_some() || u.fragment().is_some() {
        return Err(bad(
            "no query or fragment: the server's base URL, like http://127.0.0.1:8080",
        ));
    }
    let path = u
        .path()
        .trim_end_matches('/')
        .trim_end_matches("/v1")
        .to_owned();
    u.set_path(&path);
    Ok(u)
}

pub fn models_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("models")
}

fn registry_file(data_dir: &Path) -> PathBuf {
    models_dir(data_dir).join("registry.json")
}

impl Registry {
    pub fn load(data_dir: &Path) -> Result<Registry, RegistryError> {
        let path = registry_file(data_dir);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Registry::default()),
            Err(source) => {
                return Err(RegistryError::Io {
                    what: "read",
                    path: path.display().to_string(),
                    source,
                });
            }
        };
        serde_json::from_str(&text)
            .map_err(|e| RegistryError::Corrupt(path.display().to_string(), e.to_string()))
    }

    pub fn save(&self, data_dir: &Path) -> Result<(), RegistryError> {
        let dir = models_dir(data_dir);
        keybot_keystore::atomic::create_private_dir(&dir)
            .map_err(|e| RegistryError::Write(e.to_string()))?;
        let json =
            serde_json::to_vec_pretty(self).map_err(|e| RegistryError::Write(e.to_string()))?;
        keybot_keystore::atomic::write_private(&registry_file(data_dir), &json)
            .map_err(|e| RegistryError::Write(e.to_string()))
    }

    pub fn get(&self, name: &str) -> Result<&ModelEntry, RegistryError> {
        self.models
            .iter()
            .find(|m| m.name == name)
            .ok_or_else(|| RegistryError::Unknown(name.to_owned()))
    }

    /// The entry registered for `path`, if any (compared as canonical paths, as `describe`
    /// stores them).
    pub fn find_by_path(&self, path: &Path) -> Option<&ModelEntry> {
        let canon = std::fs::canonicalize(path).ok()?;
        self.models.iter().find(|m| m.path == canon)
    }

    pub fn server(&self, name: &str) -> Option<&ServerEntry> {
        self.servers.iter().find(|m| m.name == name)
    }

    fn taken(&self, name: &str) -> bool {
        self.models.iter().any(|m| m.name == name) || self.server(name).is_some()
    }

    /// Takes `name` for a new model or server: a good name no other has. The first one becomes
    /// the default, so `keybot chat "…"` just works after one add.
    fn claim(&mut self, name: &str) -> Result<(), RegistryError> {
        check_name(name)?;
        if self.taken(name) {
            return Err(RegistryError::Duplicate(name.to_owned()));
        }
        if self.default.is_none() {
            self.default = Some(name.to_owned());
        }
        Ok(())
    }

    pub fn add_server(&mut self, entry: ServerEntry) -> Result<(), RegistryError> {
        self.claim(&entry.name)?;
        self.servers.push(entry);
        Ok(())
    }

    pub fn add(&mut self, entry: ModelEntry) -> Result<(), RegistryError> {
        self.claim(&entry.name)?;
        self.models.push(entry);
        Ok(())
    }

    pub fn set_default(&mut self, name: &str) -> Result<(), RegistryError> {
        if self.server(name).is_none() {
            self.get(name)?;
        }
        self.default = Some(name.to_owned());
        Ok(())
    }
}

pub fn check_name(name: &str) -> Result<(), RegistryError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(RegistryError::BadName(name.to_owned()))
    }
}

/// A registry name for a file: its stem, lower-cased, with anything odd replaced.
pub fn name_from_path(path: &Path) -> String {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut name: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .take(64)
        .collect();
    if name.is_empty() {
        name.push_str("model");
    }
    name
}

/// sha256 of a file, streamed; `progress` sees bytes hashed so far.
pub fn sha256_file(path: &Path, mut progress: impl FnMut(u64)) -> Result<String, RegistryError> {
    let io = |source| RegistryError::Io {
        what: "read",
        path: path.display().to_string(),
        source,
    };
    let mut f = std::fs::File::open(path).map_err(io)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut done = 0u64;
    loop {
        let n = f.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        done += n as u64;
        progress(done);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// Checks `path` and describes it for the registry under `name`.
pub fn describe(
    path: &Path,
    name: String,
    sha256: Option<String>,
) -> Result<ModelEntry, RegistryError> {
    let header = gguf::read_header(path)?;
    let path = std::fs::canonicalize(path).map_err(|source| RegistryError::Io {
        what: "resolve",
        path: path.display().to_string(),
        source,
    })?;
    let sha256 = match sha256 {
        Some(s) => s,
        None => sha256_file(&path, |_| {})?,
    };
    Ok(ModelEntry {
        name,
        architecture: header.architecture().unwrap_or("unknown").to_owned(),
        model_name: header.name().map(str::to_owned),
        quantization: header.quantization(),
        context_length: header.context_length(),
        size: header.file_size,
        sha256,
        has_chat_template: header.chat_template().is_some(),
        source: None,
        path,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_url_is_checked() {
        let ok = |u: &str| check_server_url(u, false).unwrap().to_string();
        assert_eq!(ok("http://127.0.0.1:8080"), "http://127.0.0.1:8080/");
        assert_eq!(ok("http://localhost:8080/v1/"), "http://localhost:8080/");
        assert_eq!(
            ok("https://gpu.example.org/llama/v1"),
            "https://gpu.example.org/llama"
        );
        for bad in [
            "http://192.168.1.20:8080",
            "ftp://127.0.0.1",
            "https://user:pw@gpu.example.org",
            "https://gpu.example.org/?key=abc",
            "not a url",
        ] {
            let e = check_server_url(bad, false).unwrap_err().to_string();
            assert!(!e.contains('\n'), "{e}");
        }
        assert!(check_server_url("http://192.168.1.20:8080", true).is_ok());
    }

    #[test]
    fn a_server_takes_a_name_of_its_own() {
        let mut r = Registry::default();
        let s = |n: &str| ServerEntry {
            name: n.into(),
            url: "http://127.0.0.1:8080".into(),
            model: None,
            plain_http_accepted: false,
            api_key: false,
        };
        r.add_server(s("box")).unwrap();
        assert_eq!(r.default.as_deref(), Some("box"));
        assert!(matches!(
            r.add_server(s("box")),
            Err(RegistryError::Duplicate(_))
        ));
        assert!(r.add_server(s("../x")).is_err());
        r.set_default("box").unwrap();
        assert!(r.set_default("nothing").is_err());
        // An old registry without servers reads; one without any writes no `servers` key.
        let old: Registry = serde_json::from_str(r#"{"default":null,"models":[]}"#).unwrap();
        assert!(old.servers.is_empty());
        assert!(!serde_json::to_string(&old).unwrap().contains("servers"));
    }

    #[test]
    fn names_are_checked_and_derived() {
        assert!(check_name("qwen2.5-coder_0.5b").is_ok());
        assert!(check_name("../evil").is_err());
        assert!(check_name("").is_err());
        assert_eq!(
            name_from_path(Path::new("/x/Qwen2.5 Coder.Q4_K_M.gguf")),
            "qwen2.5-coder.q4_k_m"
        );
    }

    #[test]
    fn first_model_becomes_default_and_duplicates_are_refused() {
        let e = |n: &str| ModelEntry {
            name: n.into(),
            path: "/m.gguf".into(),
            architecture: "llama".into(),
            model_name: None,
            quantization: None,
            context_length: None,
            size: 1,
            sha256: String::new(),
            has_chat_template: false,
            source: None,
        };
        let mut r = Registry::default();
        r.add(e("a")).unwrap();
        r.add(e("b")).unwrap();
        assert_eq!(r.default.as_deref(), Some("a"));
        assert!(matches!(r.add(e("a")), Err(RegistryError::Duplicate(_))));
        assert!(matches!(
            r.set_default("zzz"),
            Err(RegistryError::Unknown(_))
        ));
        r.set_default("b").unwrap();
        assert_eq!(r.default.as_deref(), Some("b"));
    }

    #[test]
    fn corrupt_registry_is_named_not_replaced() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(models_dir(d.path())).unwrap();
        std::fs::write(registry_file(d.path()), "{not json").unwrap();
        let e = Registry::load(d.path()).unwrap_err().to_string();
        assert!(e.contains("corrupt"), "{e}");
    }
}
