//! Downloading a GGUF from the Hugging Face Hub (or anything that speaks its protocol).
//!
//! Like `huggingface_hub` and the `hf-hub` crate: files are at
//! `{HF_ENDPOINT}/{repo}/resolve/{revision}/{file}`; a HEAD request without following redirects
//! gives the file's sha256 (`X-Linked-Etag` for LFS files, else `ETag`) and size
//! (`X-Linked-Size`, else `Content-Length`); the body is fetched with `Range` so an interrupted
//! download continues where it stopped. The file is only moved into place — and only then
//! registered — after its sha256 matches and its GGUF header checks out; a failed check deletes
//! the partial file so the next try starts clean.
//!
//! The server is not trusted beyond the bytes it serves: a file name from its listing must be a
//! plain relative path that stays inside the models folder, an error body is never written into
//! a partial download, a stalled connection ends the download, and plain `http://` is refused
//! unless the server is on this machine (the sha256 comes from the same server as the bytes, so
//! over plain HTTP anyone on the path could swap both).
use std::fs::OpenOptions;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::blocking::Client;
use reqwest::header::{CONTENT_LENGTH, ETAG, RANGE};
use sha2::{Digest, Sha256};

pub const DEFAULT_ENDPOINT: &str = "https://huggingface.co";

/// How long a download may go without receiving a byte before it is called interrupted.
const STALL_TIMEOUT: Duration = Duration::from_secs(30);

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
    #[error(
        "refusing {0}: plain http:// is only allowed for a server on this machine (the checksum comes from the same server, so anyone on the way could change both); use https://"
    )]
    Insecure(String),
    #[error(
        "refusing the file name {name:?}: {why} (a file name must be a relative path of plain names ending in .gguf)"
    )]
    BadFileName { name: String, why: &'static str },
    #[error("{file} is not a usable GGUF model ({reason}); the download was deleted")]
    NotGguf { file: String, reason: String },
    #[error("the server sent more than the {total} bytes it announced; the download was deleted")]
    TooLong { total: u64 },
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
            check_file_name(f)?;
        }
        Ok(PullSpec {
            repo: repo.to_owned(),
            file: file.map(str::to_owned),
        })
    }
}

/// Checks a file path inside a repository, whether the user typed it (`REPO:FILE`) or the
/// server's listing named it. It becomes part of a URL and of a path under the models folder, so
/// it must be a relative path of plain names: no absolute path, no `.` or `..`, no empty part
/// (`a//b`), no backslash, nothing a URL would read as a query, fragment or escape (`?`, `#`,
/// `%`), and nothing a terminal would obey. Subfolders are allowed: the Hub has them
/// (`Q4_K_M/model.gguf`) and each part is a plain name, so the path stays inside the folder.
pub fn check_file_name(name: &str) -> Result<(), PullError> {
    let bad = |why| {
        Err(PullError::BadFileName {
            name: name.to_owned(),
            why,
        })
    };
    if name.is_empty() {
        return bad("it is empty");
    }
    if name.len() > 1024 {
        return bad("it is too long");
    }
    if crate::sanitize::clean_line(name) != name {
        return bad("it contains control characters");
    }
    if name.starts_with('/') {
        return bad("it is an absolute path");
    }
    if name.contains(['\\', '?', '#', '%']) {
        return bad("it contains \\, ?, # or %");
    }
    if name
        .split('/')
        .any(|p| p.is_empty() || p == "." || p == "..")
    {
        return bad("it has an empty, . or .. part");
    }
    if !name.to_ascii_lowercase().ends_with(".gguf") {
        return bad("it does not end in .gguf");
    }
    Ok(())
}

/// Where `file` of `repo` is stored: `models/{owner}--{name}/{file}`. Both parts are checked
/// here again, so no caller can build a path that leaves `models_dir`.
pub fn dest_path(models_dir: &Path, repo: &str, file: &str) -> Result<PathBuf, PullError> {
    check_file_name(file)?;
    let spec = PullSpec::parse(repo)?;
    let rel = Path::new(file);
    if !rel
        .components()
        .all(|c| matches!(c, std::path::Component::Normal(_)))
    {
        return Err(PullError::BadFileName {
            name: file.to_owned(),
            why: "it is not a plain relative path",
        });
    }
    Ok(models_dir.join(spec.repo.replace('/', "--")).join(rel))
}

/// True for `https://…`, and for `http://…` to this machine (a test server, a local mirror).
fn transport_ok(url: &reqwest::Url) -> bool {
    match url.scheme() {
        "https" => true,
        "http" => crate::net::is_loopback(url),
        _ => false,
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
        Downloader::with_stall_timeout(endpoint, STALL_TIMEOUT)
    }

    /// Like [`Downloader::new`], with how long a connection may stay silent before it counts as
    /// interrupted (the tests use a short one).
    pub fn with_stall_timeout(endpoint: String, stall: Duration) -> Result<Downloader, PullError> {
        let parsed = reqwest::Url::parse(&endpoint).map_err(|e| PullError::Http {
            url: endpoint.clone(),
            reason: e.to_string(),
        })?;
        if !transport_ok(&parsed) {
            return Err(PullError::Insecure(endpoint));
        }
        let build = |redirects| {
            Client::builder()
                .user_agent(concat!("keybot/", env!("CARGO_PKG_VERSION")))
                .connect_timeout(Duration::from_secs(30))
                // The blocking client applies this to getting the response headers and to each
                // read of the body, not to the whole download: a model is gigabytes and may take
                // an hour, but a connection that sends nothing for this long has stalled.
                .timeout(stall)
                .redirect(redirects)
                .build()
                .map_err(|e| PullError::Http {
                    url: endpoint.clone(),
                    reason: e.to_string(),
                })
        };
        crate::net::tls();
        // The body may live on a CDN, but a redirect must not downgrade to plain HTTP.
        let follow = reqwest::redirect::Policy::custom(|attempt| {
            if attempt.previous().len() >= 10 {
                attempt.error("too many redirects")
            } else if !transport_ok(attempt.url()) {
                let msg = format!("refusing a redirect to plain http: {}", attempt.url());
                attempt.error(msg)
            } else {
                attempt.follow()
            }
        });
        Ok(Downloader {
            client: build(follow)?,
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
        // The names come from the server: a hostile one (`../../x.gguf`, `/tmp/x.gguf`) is refused
        // here, before anything is fetched or written.
        let picked = match ggufs.as_slice() {
            [] => Err(PullError::NoGguf {
                repo: spec.repo.clone(),
            }),
            [one] => Ok((*one).clone()),
            many => {
                let q4: Vec<&&String> = many
                    .iter()
                    .filter(|f| f.to_ascii_lowercase().contains("q4_k_m"))
                    .collect();
                match q4.as_slice() {
                    [one] => Ok((**one).clone()),
                    _ => Err(PullError::Ambiguous {
                        repo: spec.repo.clone(),
                        files: many
                            .iter()
                            .map(|s| crate::sanitize::clean_line(s))
                            .collect::<Vec<_>>()
                            .join(", "),
                    }),
                }
            }
        }?;
        check_file_name(&picked)?;
        Ok(picked)
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
        check_file_name(file)?;
        let url = format!("{}/{}/resolve/main/{}", self.endpoint, repo, file);
        let remote = self.probe(&url)?;
        let expected = match expected_sha256 {
            Some(s) => s.to_ascii_lowercase(),
            None => remote
                .sha256
                .ok_or_else(|| PullError::NoChecksum(url.clone()))?,
        };
        let part = part_path(dest);
        let have = prepare_part(dest, &part, remote.total)?;
        self.fetch(&url, &part, have, remote.total, progress)?;
        let actual = verify_part(&part, file, expected)?;
        std::fs::rename(&part, dest).map_err(part_io("rename", &part))?;
        Ok(actual)
    }

    /// What the server says of the file before sending it, from a HEAD request that does not
    /// follow redirects (the Hub puts the checksum headers on its own redirect response).
    fn probe(&self, url: &str) -> Result<Remote, PullError> {
        let head = {
            let rb = self.head_client.head(url);
            let rb = match &self.token {
                Some(t) => rb.bearer_auth(t),
                None => rb,
            };
            rb.send().map_err(|e| http(url, &e))?
        };
        if !(head.status().is_success() || head.status().is_redirection()) {
            return Err(PullError::Status {
                url: url.to_owned(),
                status: head.status().as_u16(),
            });
        }
        let header = |name: &str| {
            head.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let sha256 = header("x-linked-etag")
            .or_else(|| header(ETAG.as_str()))
            .and_then(|e| sha256_of_etag(&e));
        let total: Option<u64> = header("x-linked-size")
            .or_else(|| {
                // A redirect's own Content-Length is its body's, not the file's.
                if head.status().is_success() {
                    header(CONTENT_LENGTH.as_str())
                } else {
                    None
                }
            })
            .and_then(|s| s.parse().ok());
        Ok(Remote { sha256, total })
    }

    /// Fetches the rest of the file into `part`, which holds its first `have` bytes: with a
    /// `Range` when there are any, starting over when the server ignores or refuses it.
    fn fetch(
        &self,
        url: &str,
        part: &Path,
        mut have: u64,
        total: Option<u64>,
        progress: Progress<'_>,
    ) -> Result<(), PullError> {
        // At most two requests: a refused resume (416) drops the partial file and starts over.
        let mut attempts = 0;
        while total.is_none_or(|t| have < t) {
            attempts += 1;
            let mut rb = self.get(&self.client, url);
            if have > 0 {
                rb = rb.header(RANGE, format!("bytes={have}-"));
            }
            let resp = rb.send().map_err(|e| http(url, &e))?;
            let append = match resp.status() {
                StatusCode::PARTIAL_CONTENT => true,
                StatusCode::OK => {
                    // The server ignored the range: start over.
                    have = 0;
                    false
                }
                StatusCode::RANGE_NOT_SATISFIABLE if have > 0 => {
                    // The body of a 416 is an error page, never file data. `Content-Range:
                    // bytes */N` says how long the file is: if that is what we have, it is
                    // complete (the checksum decides); otherwise the partial file belongs to
                    // some other version of the file and is dropped.
                    if content_range_len(&resp) == Some(have) {
                        break;
                    }
                    std::fs::remove_file(part).map_err(part_io("remove", part))?;
                    have = 0;
                    if attempts >= 2 {
                        return Err(PullError::Status {
                            url: url.to_owned(),
                            status: StatusCode::RANGE_NOT_SATISFIABLE.as_u16(),
                        });
                    }
                    continue;
                }
                s => {
                    return Err(PullError::Status {
                        url: url.to_owned(),
                        status: s.as_u16(),
                    });
                }
            };
            let total = total
                .or_else(|| resp.content_length().map(|l| l + have))
                .unwrap_or(0);
            let body = Body {
                url,
                part,
                append,
                have,
                total,
            };
            return body.write(resp, progress);
        }
        Ok(())
    }
}

/// What the server says of a file before sending it.
struct Remote {
    /// Lowercase hex, when the server gives one.
    sha256: Option<String>,
    /// The file's length, when the server gives it.
    total: Option<u64>,
}

/// The sha256 an `ETag` or `X-Linked-Etag` carries (quoted, maybe weak), if it is one.
fn sha256_of_etag(etag: &str) -> Option<String> {
    let e = etag
        .trim_start_matches("W/")
        .trim_matches('"')
        .to_ascii_lowercase();
    (e.len() == 64 && e.chars().all(|c| c.is_ascii_hexdigit())).then_some(e)
}

/// The partial download of `dest` ready to resume: its folder made, and how many bytes it has
/// (0 when there is none, or when it is longer than the file can be and so is not ours).
fn prepare_part(dest: &Path, part: &Path, total: Option<u64>) -> Result<u64, PullError> {
    if let Some(parent) = dest.parent() {
        std::fs::create_dir_all(parent).map_err(|source| PullError::Io {
            what: "create",
            path: parent.display().to_string(),
            source,
        })?;
    }
    let have = std::fs::metadata(part).map(|m| m.len()).unwrap_or(0);
    if total.is_some_and(|t| have > t) {
        std::fs::remove_file(part).map_err(part_io("remove", part))?;
        return Ok(0);
    }
    Ok(have)
}

/// One answer's body going into the partial file.
struct Body<'a> {
    url: &'a str,
    part: &'a Path,
    /// After the `have` bytes already there (a 206), or over them (a 200).
    append: bool,
    have: u64,
    /// 0 when unknown.
    total: u64,
}

impl Body<'_> {
    /// Writes the body to the partial file until it ends; a connection that stalls or breaks
    /// leaves what arrived for the next try, a body longer than announced deletes the file.
    fn write(
        self,
        mut resp: reqwest::blocking::Response,
        progress: Progress<'_>,
    ) -> Result<(), PullError> {
        let Body {
            url,
            part,
            append,
            mut have,
            total,
        } = self;
        let mut out = OpenOptions::new()
            .create(true)
            .write(true)
            .append(append)
            .truncate(!append)
            .open(part)
            .map_err(part_io("open", part))?;
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
            if total > 0 && have + n as u64 > total {
                // A server that never stops would fill the disk.
                drop(out);
                let _ = std::fs::remove_file(part);
                return Err(PullError::TooLong { total });
            }
            out.write_all(&buf[..n]).map_err(part_io("write", part))?;
            have += n as u64;
            progress(have, total);
        }
        out.sync_all().map_err(part_io("write", part))?;
        if total > 0 && have < total {
            return Err(PullError::Interrupted { done: have, total });
        }
        Ok(())
    }
}

/// The downloaded file's sha256 if it is `expected` and the file is a GGUF model; otherwise the
/// partial file is deleted, so the next try starts clean.
fn verify_part(part: &Path, file: &str, expected: String) -> Result<String, PullError> {
    let actual = sha256_file(part).map_err(part_io("read", part))?;
    if actual != expected {
        let _ = std::fs::remove_file(part);
        return Err(PullError::Checksum {
            file: file.to_owned(),
            expected,
            actual,
        });
    }
    // The checksum only says the bytes are the server's; whether they are a model is checked
    // before the file takes its place, so a bad download never sits under its final name.
    if let Err(e) = super::gguf::read_header(part) {
        let _ = std::fs::remove_file(part);
        return Err(PullError::NotGguf {
            file: file.to_owned(),
            reason: e.to_string(),
        });
    }
    Ok(actual)
}

/// A file's sha256, in lowercase hex.
fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut f = std::fs::File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex::encode(h.finalize()))
}

/// How a failed operation on the partial file reads.
fn part_io<'a>(
    what: &'static str,
    part: &'a Path,
) -> impl FnOnce(std::io::Error) -> PullError + 'a {
    move |source| PullError::Io {
        what,
        path: part.display().to_string(),
        source,
    }
}

/// `N` from a `Content-Range: bytes */N` header (the form a 416 answer uses).
fn content_range_len(resp: &reqwest::blocking::Response) -> Option<u64> {
    resp.headers()
        .get(reqwest::header::CONTENT_RANGE)?
        .to_str()
        .ok()?
        .strip_prefix("bytes */")?
        .trim()
        .parse()
        .ok()
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

    #[test]
    fn file_names_must_stay_inside_the_models_folder() {
        for ok in [
            "m.gguf",
            "Q4_K_M/m-00001-of-00002.GGUF",
            "a b.gguf",
            "..m.gguf",
        ] {
            assert!(check_file_name(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "../../evil.gguf",
            "/tmp/abs.gguf",
            "a/./m.gguf",
            "a//m.gguf",
            "a\\..\\m.gguf",
            "m.gguf?x=1",
            "%2e%2e/m.gguf",
            "m\x1b[2J.gguf",
            "m\u{202e}fuggg.gguf",
            "README.md",
            "..",
        ] {
            let e = check_file_name(bad).unwrap_err().to_string();
            assert!(e.contains("refusing the file name"), "{bad}: {e}");
            assert!(!e.chars().any(char::is_control), "{e:?}");
        }
        let models = Path::new("/home/u/.local/share/keybot/models");
        let dest = dest_path(models, "owner/name", "sub/m.gguf").unwrap();
        assert_eq!(dest, models.join("owner--name/sub/m.gguf"));
        assert!(dest_path(models, "owner/name", "../m.gguf").is_err());
        assert!(dest_path(models, "../x", "m.gguf").is_err());
    }

    #[test]
    fn plain_http_only_to_this_machine() {
        let ok = |u: &str| transport_ok(&reqwest::Url::parse(u).unwrap());
        for u in [
            "https://huggingface.co",
            "https://mirror.example:8443/hf",
            "http://127.0.0.1:8080",
            "http://127.1.2.3",
            "http://localhost:9000",
            "http://[::1]:9000",
        ] {
            assert!(ok(u), "{u}");
        }
        for u in [
            "http://huggingface.co",
            "http://10.0.0.1",
            "http://[::2]",
            "http://localhost.evil.example",
            "ftp://127.0.0.1",
        ] {
            assert!(!ok(u), "{u}");
        }
        assert!(matches!(
            Downloader::new("http://example.com".into()),
            Err(PullError::Insecure(_))
        ));
    }

    #[test]
    fn a_checksum_is_an_etag_of_64_hex_digits() {
        let sha = "AB".repeat(32);
        let lower = Some("ab".repeat(32));
        assert_eq!(sha256_of_etag(&format!("\"{sha}\"")), lower);
        assert_eq!(sha256_of_etag(&format!("W/\"{sha}\"")), lower);
        assert_eq!(sha256_of_etag(&sha), lower);
        for not_one in ["", "\"abc\"", &"g".repeat(64), &"a".repeat(65)] {
            assert_eq!(sha256_of_etag(not_one), None, "{not_one}");
        }
    }

    #[test]
    fn a_server_that_stops_sending_ends_the_download() {
        use std::io::{BufRead, BufReader};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let sha = "ab".repeat(32);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let sha = sha.clone();
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(stream.try_clone().unwrap());
                    let mut line = String::new();
                    reader.read_line(&mut line).unwrap();
                    while reader.read_line(&mut String::new()).unwrap() > 2 {}
                    let mut w = &stream;
                    write!(
                        w,
                        "HTTP/1.1 200 OK\r\nETag: \"{sha}\"\r\nContent-Length: 1000\r\n\r\n"
                    )
                    .unwrap();
                    if line.starts_with("GET") {
                        w.write_all(&[0u8; 10]).unwrap();
                        w.flush().unwrap();
                        // Then silence, with the connection open, until the client gives up.
                        let _ = reader.read(&mut [0u8; 1]);
                    }
                });
            }
        });
        let dir = tempfile::tempdir().unwrap();
        let dl = Downloader::with_stall_timeout(endpoint, Duration::from_millis(500)).unwrap();
        let start = std::time::Instant::now();
        let e = dl
            .download(
                "o/n",
                "m.gguf",
                &dir.path().join("m.gguf"),
                None,
                &mut |_, _| {},
            )
            .unwrap_err();
        assert!(
            matches!(
                e,
                PullError::Interrupted {
                    done: 10,
                    total: 1000
                }
            ),
            "{e}"
        );
        assert!(start.elapsed() < Duration::from_secs(20));
    }
}
