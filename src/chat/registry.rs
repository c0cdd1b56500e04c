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

    pub fn add(&mut self, entry: ModelEntry) -> Result<(), RegistryError> {
        check_name(&entry.name)?;
        if self.models.iter().any(|m| m.name == entry.name) {
            return Err(RegistryError::Duplicate(entry.name));
        }
        if self.default.is_none() {
            // The first model is the default: `keybot chat "…"` just works after one add.
            self.default = Some(entry.name.clone());
        }
        self.models.push(entry);
        Ok(())
    }

    pub fn set_default(&mut self, name: &str) -> Result<(), RegistryError> {
        self.get(name)?;
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
