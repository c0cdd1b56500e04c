//! Downloading a GGUF from the Hugging Face Hub (or anything that speaks its protocol).
//!
//! Like `huggingface_hub` and the `hf-hub` crate: files are at
//! `{HF_ENDPOINT}/{repo}/resolve/{revision}/{file}`; a HEAD request without following redirects
//! gives the file's sha256 (`X-Linked-Etag` for LFS files, else `ETag`) and size
//! (`X-Linked-Size`, else `Content-Length`); the body is fetched with `Range` so an interrupted
//! download continues where it stopped. The file is only moved into place — and only then
//! registered — after its sha256 matches; a mismatch deletes the partial file so the next try
//! starts clean.
use std::fs::OpenOptions;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::blocking::Client;
use reqwest::header::{CONTENT_LENGTH, ETAG, RANGE};
use sha2::{Digest, Sha256};

pub const DEFAULT_ENDPOINT: &str = "https://huggingface.co";

#[derive(Debug, thiserror::Error)]
pub enum PullError {
    #[error(
        "{0:?} is not REPO or REPO:FILE (for example Qwen/Qwen2.5-0.5B-Instruct-GGUF:qwen2.5-0.5b-instruct-q4_k_m.gguf)"
    )]
    BadSpec(String),
    #[error("cannot reach {url}: {reason}")]
    Http { url: String, reason: String },
    #[error("{url} answered {status}")]
    Status { url: String, status: u16 },
    #[error("{repo} has no .gguf file")]
    NoGguf { repo: String },
    #[error("{repo} has several .gguf files; pick one with {repo}:FILE: {files}")]
    Ambiguous { repo: String, files: String },
    #[error(
        "the server gave no sha256 for {0}, so the download cannot be checked; pass --sha256 HEX"
    )]
    NoChecksum(String),
    #[error(
        "the download was interrupted after {done} of {total} bytes; run the same command again to resume"
    )]
    Interrupted { done: u64, total: u64 },
    #[error(
        "sha256 mismatch for {file}: expected {expected}, got {actual}; the download was deleted"
    )]
    Checksum {
        file: String,
        expected: String,
        actual: String,
    },
    #[error("cannot {what} {path}: {source}")]
    Io {
        what: &'static str,
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// `REPO[:FILE]`, split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullSpec {
    pub repo: String,
    pub file: Option<String>,
}

impl PullSpec {
    pub fn parse(s: &str) -> Result<PullSpec, PullError> {
        let (repo, file) = match s.split_once(':') {
            Some((r, f)) => (r, Some(f)),
            None => (s, None),
        };
        let bad = || PullError::BadSpec(s.to_owned());
        let mut parts = repo.split('/');
        let (Some(owner), Some(name), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(bad());
        };
        let part_ok = |p: &str| {
            !p.is_empty()
                && p != "."
                && p != ".."
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        };
        if !part_ok(owner) || !part_ok(name) {
            return Err(bad());
        }
        if let Some(f) = file {
            // Subfolders are fine on the Hub; escaping the download folder is not.
            if f.is_empty()
                || f.starts_with('/')
                || f.split('/').any(|p| p.is_empty() || p == "." || p == "..")
            {
                return Err(bad());
            }
        }
        Ok(PullSpec {
            repo: repo.to_owned(),
            file: file.map(str::to_owned),
        })
    }
}

/// The Hub to talk to: `HF_ENDPOINT` if set, else huggingface.co.
pub fn endpoint() -> String {
    std::env::var("HF_ENDPOINT")
        .ok()
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_ENDPOINT.to_owned())
        .trim_end_matches('/')
        .to_owned()
}

pub struct Downloader {
    endpoint: String,
    /// Follows redirects: the body may live on a CDN.
    client: Client,
    /// Does not: the checksum headers are on the Hub's own redirect response.
    head_client: Client,
    token: Option<String>,
}

/// Progress: bytes done, bytes total.
pub type Progress<'a> = &'a mut dyn FnMut(u64, u64);

impl Downloader {
    pub fn new(endpoint: String) -> Result<Downloader, PullError> {
        let build = |redirects| {
            Client::builder()
                .user_agent(concat!("keybot/", env!("CARGO_PKG_VERSION")))
                .connect_timeout(Duration::from_secs(30))
                // A model is gigabytes; only a stalled connection should end the download.
                .timeout(None)
                .redirect(redirects)
                .build()
                .map_err(|e| PullError::Http {
                    url: endpoint.clone(),
                    reason: e.to_string(),
                })
        };
        Ok(Downloader {
            client: build(reqwest::redirect::Policy::limited(10))?,
            head_client: build(reqwest::redirect::Policy::none())?,
            token: std::env::var("HF_TOKEN").ok().filter(|t| !t.is_empty()),
            endpoint,
        })
    }

    fn get(&self, client: &Client, url: &str) -> reqwest::blocking::RequestBuilder {
        let rb = client.get(url);
        match &self.token {
            Some(t) => rb.bearer_auth(t),
            None => rb,
        }
    }

    /// The file to pull: the one named, or the repository's only GGUF (preferring Q4_K_M when
    /// there are several quantisations of one model).
    pub fn pick_file(&self, spec: &PullSpec) -> Result<String, PullError> {
        if let Some(f) = &spec.file {
            return Ok(f.clone());
        }
        let url = format!("{}/api/models/{}", self.endpoint, spec.repo);
        let resp = self
            .get(&self.client, &url)
            .send()
            .map_err(|e| http(&url, &e))?;
        if !resp.status().is_success() {
            return Err(PullError::Status {
                url,
                status: resp.status().as_u16(),
            });
        }
        let info: serde_json::Value = resp.json().map_err(|e| http(&url, &e))?;
        let files: Vec<String> = info["siblings"]
            .as_array()
            .map(|s| {
                s.iter()
                    .filter_map(|f| f["rfilename"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        let ggufs: Vec<&String> = files
            .iter()
            .filter(|f| f.to_ascii_lowercase().ends_with(".gguf"))
            .collect();
        match ggufs.as_slice() {
            [] => Err(PullError::NoGguf {
                repo: spec.repo.clone(),
            }),
            [one] => Ok((*one).clone()),
            many => {
                let q4: Vec<&&String> = many
                    .iter()
                    .filter(|f| f.to_ascii_lowercase().contains("q4_k_m"))
                    .collect();
                if let [one] = q4.as_slice() {
                    return Ok((**one).clone());
                }
                Err(PullError::Ambiguous {
                    repo: spec.repo.clone(),
                    files: many
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                })
            }
        }
    }

    /// Downloads `file` of `repo` to `dest`, resuming a `dest.part` left by an earlier try.
    /// `expected_sha256` overrides the server's checksum.
    pub fn download(
        &self,
        repo: &str,
        file: &str,
        dest: &Path,
        expected_sha256: Option<&str>,
        progress: Progress<'_>,
    ) -> Result<String, PullError> {
        let url = format!("{}/{}/resolve/main/{}", self.endpoint, repo, file);
        let head = {
            let rb = self.head_client.head(&url);
            let rb = match &self.token {
                Some(t) => rb.bearer_auth(t),
                None => rb,
            };
            rb.send().map_err(|e| http(&url, &e))?
        };
        if !(head.status().is_success() || head.status().is_redirection()) {
            return Err(PullError::Status {
                url,
                status: head.status().as_u16(),
            });
        }
        let header = |name: &str| {
            head.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let server_sha = header("x-linked-etag")
            .or_else(|| header(ETAG.as_str()))
            .map(|e| {
                e.trim_start_matches("W/")
                    .trim_matches('"')
                    .to_ascii_lowercase()
            })
            .filter(|e| e.len() == 64 && e.chars().all(|c| c.is_ascii_hexdigit()));
        let total: Option<u64> = header("x-linked-size")
            .or_else(|| {
                if head.status().is_success() {
                    header(CONTENT_LENGTH.as_str())
                } else {
                    None
                }
            })
            .and_then(|s| s.parse().ok());
        let expected = match expected_sha256 {
            Some(s) => s.to_ascii_lowercase(),
            None => server_sha.ok_or_else(|| PullError::NoChecksum(url.clone()))?,
        };

        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent).map_err(|source| PullError::Io {
                what: "create",
                path: parent.display().to_string(),
                source,
            })?;
        }
        let part = part_path(dest);
        let io = |what, source| PullError::Io {
            what,
            path: part.display().to_string(),
            source,
        };
        let mut have = std::fs::metadata(&part).map(|m| m.len()).unwrap_or(0);
        if total.is_some_and(|t| have > t) {
            // Longer than the file can be: not ours to resume.
            std::fs::remove_file(&part).map_err(|e| io("remove", e))?;
            have = 0;
        }

        if total.is_none_or(|t| have < t) {
            let mut rb = self.get(&self.client, &url);
            if have > 0 {
                rb = rb.header(RANGE, format!("bytes={have}-"));
            }
            let mut resp = rb.send().map_err(|e| http(&url, &e))?;
            let append = match resp.status() {
                StatusCode::PARTIAL_CONTENT => true,
                StatusCode::OK => {
                    // The server ignored the range: start over.
                    have = 0;
                    false
                }
                StatusCode::RANGE_NOT_SATISFIABLE if have > 0 => true,
                s => {
                    return Err(PullError::Status {
                        url,
                        status: s.as_u16(),
                    });
                }
            };
            let total = total
                .or_else(|| resp.content_length().map(|l| l + have))
                .unwrap_or(0);
            let mut out = OpenOptions::new()
                .create(true)
                .write(true)
                .append(append)
                .truncate(!append)
                .open(&part)
                .map_err(|e| io("open", e))?;
            let mut buf = vec![0u8; 1 << 16];
            progress(have, total);
            loop {
                let n = match resp.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) => {
                        let _ = out.sync_all();
                        tracing::warn!("download of {url} interrupted: {e}");
                        return Err(PullError::Interrupted { done: have, total });
                    }
                };
                out.write_all(&buf[..n]).map_err(|e| io("write", e))?;
                have += n as u64;
                progress(have, total);
            }
            out.sync_all().map_err(|e| io("write", e))?;
            if total > 0 && have < total {
                return Err(PullError::Interrupted { done: have, total });
            }
        }

        let actual = {
            let mut f = std::fs::File::open(&part).map_err(|e| io("read", e))?;
            let mut h = Sha256::new();
            let mut buf = vec![0u8; 1 << 20];
            loop {
                let n = f.read(&mut buf).map_err(|e| io("read", e))?;
                if n == 0 {
                    break;
                }
                h.update(&buf[..n]);
            }
            hex::encode(h.finalize())
        };
        if actual != expected {
            let _ = std::fs::remove_file(&part);
            return Err(PullError::Checksum {
                file: file.to_owned(),
                expected,
                actual,
            });
        }
        std::fs::rename(&part, dest).map_err(|e| io("rename", e))?;
        Ok(actual)
    }
}

pub fn part_path(dest: &Path) -> PathBuf {
    let mut name = dest
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".part");
    dest.with_file_name(name)
}

fn http(url: &str, e: &reqwest::Error) -> PullError {
    let mut reason = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        reason.push_str(": ");
        reason.push_str(&s.to_string());
        src = s.source();
    }
    PullError::Http {
        url: url.to_owned(),
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs() {
        let s = PullSpec::parse("Qwen/Qwen2.5-GGUF:q4.gguf").unwrap();
        assert_eq!(
            (s.repo.as_str(), s.file.as_deref()),
            ("Qwen/Qwen2.5-GGUF", Some("q4.gguf"))
        );
        assert_eq!(PullSpec::parse("a/b").unwrap().file, None);
        for bad in [
            "a",
            "a/b/c",
            "../b",
            "a/b:../../x",
            "a/b:",
            "a/b:/etc/passwd",
            "a b/c",
        ] {
            assert!(PullSpec::parse(bad).is_err(), "{bad}");
        }
    }
}
