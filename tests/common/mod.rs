//! Helpers shared by the integration tests.
#![allow(dead_code)]
pub mod proxy;
pub mod screen;
pub mod tls;
use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use sha2::{Digest, Sha256};

/// The anvil / hardhat default phrase (public; never use it for real funds).
pub const ANVIL_PHRASE: &str = "test test test test test test test test test test test junk";

/// `keybot` with its home in `home` and no secret-bearing variables from the outer environment.
pub fn keybot(home: &Path) -> Command {
    let mut c = Command::cargo_bin("keybot").unwrap();
    c.env("KEYBOT_HOME", home)
        .env_remove("KEYBOT_PASSWORD")
        .env_remove("KEYBOT_NEW_PASSWORD")
        .env_remove("KEYBOT_PASSPHRASE")
        .env_remove("KEYBOT_KEYSTORE_PASSWORD")
        .env_remove("KEYBOT_TEST_WEAK_KDF");
    c
}

/// `keybot ARGS` in `home`, unlocking with `pw` (KEYBOT_PASSWORD).
pub fn kb_with(home: &Path, pw: &str, args: &[&str]) -> std::process::Output {
    keybot(home)
        .args(args)
        .env("KEYBOT_PASSWORD", pw)
        .output()
        .unwrap()
}

/// [`kb_with`] that must succeed: its standard output.
pub fn ok_with(home: &Path, pw: &str, args: &[&str]) -> String {
    let out = kb_with(home, pw, args);
    assert!(
        out.status.success(),
        "keybot {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

pub fn in_ci() -> bool {
    std::env::var("CI")
        .map(|v| v == "true" || v == "1")
        .unwrap_or(false)
}

/// An external tool (cast, anvil, …) from `KEYBOT_<NAME>` or PATH. Missing in CI is a failure;
/// elsewhere the caller skips and says so.
pub fn tool(name: &str) -> Option<PathBuf> {
    let var = format!("KEYBOT_{}", name.to_uppercase());
    let found = std::env::var_os(&var)
        .map(PathBuf::from)
        .filter(|p| p.is_file())
        .or_else(|| {
            std::env::var_os("PATH").and_then(|paths| {
                std::env::split_paths(&paths)
                    .map(|d| d.join(name))
                    .find(|p| p.is_file())
            })
        });
    if found.is_none() {
        assert!(
            !in_ci(),
            "{name} is required in CI (set {var} or put it on PATH)"
        );
        eprintln!("SKIPPED: {name} not found (set {var}); this test fails in CI");
    }
    found
}

/// sha256 of every file under `dir`, for "changes nothing" checks.
pub fn snapshot(dir: &Path) -> BTreeMap<PathBuf, String> {
    let mut out = BTreeMap::new();
    fn walk(d: &Path, out: &mut BTreeMap<PathBuf, String>) {
        let Ok(rd) = std::fs::read_dir(d) else { return };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_none_or(|x| x != "log") {
                out.insert(
                    p.clone(),
                    hex::encode(Sha256::digest(std::fs::read(&p).unwrap())),
                );
            }
        }
    }
    walk(dir, &mut out);
    out
}

/// A home with a wallet restored from `phrase`, vault password `pw`.
pub fn home_with(phrase: &str, pw: &str) -> tempfile::TempDir {
    let home = tempfile::tempdir().unwrap();
    keybot(home.path())
        .args(["init", "--import"])
        .env("KEYBOT_PASSWORD", pw)
        .write_stdin(phrase)
        .assert()
        .success();
    home
}

/// Like [`home_with`], with the test-only weak KDF (the `test-weak-kdf` feature), so that every
/// later command unlocks in milliseconds: for tests that run many commands.
pub fn fast_home(phrase: &str, pw: &str) -> tempfile::TempDir {
    let home = tempfile::tempdir().unwrap();
    keybot(home.path())
        .args(["init", "--import"])
        .env("KEYBOT_PASSWORD", pw)
        .env("KEYBOT_TEST_WEAK_KDF", "1")
        .write_stdin(phrase)
        .assert()
        .success();
    home
}

/// Asserts that `phrase`, restored into a fresh home, gives the same account 0 as `home`
/// (unlocked with `pw`): the phrase a user was given really is this wallet's.
pub fn assert_phrase_restores(home: &Path, pw: &str, phrase: &str) {
    let first = |h: &Path, pw: &str| {
        let out = keybot(h)
            .args(["wallet", "addresses", "--count", "1"])
            .env("KEYBOT_PASSWORD", pw)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    };
    let restored = home_with(phrase, "x");
    assert_eq!(first(home, pw), first(restored.path(), "x"));
}

pub fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

pub fn vault(home: &Path) -> PathBuf {
    home.join("data/vault.kbv")
}

/// A program running in a real terminal: a tmux server on a private socket, one pane.
pub struct Tmux {
    socket: PathBuf,
    _dir: tempfile::TempDir,
}

impl Tmux {
    /// Runs `command` (a shell command line) in a `cols`x`rows` pane. After it exits the pane
    /// prints `EXIT=<status>` and stays open so the test can read it.
    pub fn start(command: &str, env: &[(&str, &str)], cols: u16, rows: u16) -> Option<Tmux> {
        let tmux = tool("tmux")?;
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("sock");
        let mut line = String::from("env");
        for (k, v) in env {
            line.push_str(&format!(" {k}='{v}'"));
        }
        line.push_str(&format!(" {command}; echo EXIT=$?; sleep 600"));
        let status = std::process::Command::new(&tmux)
            .arg("-S")
            .arg(&socket)
            .args([
                "-f",
                "/dev/null",
                "new-session",
                "-d",
                "-x",
                &cols.to_string(),
                "-y",
                &rows.to_string(),
                "sh",
                "-c",
                &line,
            ])
            .env("TERM", "xterm-256color")
            .status()
            .unwrap();
        assert!(status.success(), "tmux did not start");
        Some(Tmux { socket, _dir: dir })
    }

    fn tmux(&self, args: &[&str]) -> std::process::Output {
        std::process::Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .args(args)
            .output()
            .unwrap()
    }

    /// Types text literally.
    pub fn type_text(&self, text: &str) {
        self.tmux(&["send-keys", "-l", text]);
    }

    /// Sends key names (`Enter`, `Escape`, `C-c`, `Tab`, …).
    pub fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys"];
        args.extend_from_slice(keys);
        self.tmux(&args);
    }

    pub fn line(&self, text: &str) {
        self.type_text(text);
        self.keys(&["Enter"]);
    }

    /// The visible screen.
    pub fn screen(&self) -> String {
        String::from_utf8_lossy(&self.tmux(&["capture-pane", "-p"]).stdout).into_owned()
    }

    /// The whole normal-screen history (what would stay in the user's scrollback).
    pub fn history(&self) -> String {
        String::from_utf8_lossy(&self.tmux(&["capture-pane", "-p", "-S", "-", "-a"]).stdout)
            .into_owned()
            + &String::from_utf8_lossy(&self.tmux(&["capture-pane", "-p", "-S", "-"]).stdout)
    }

    /// Waits until the screen contains `needle`; panics with the screen after `secs`.
    pub fn wait_for(&self, needle: &str, secs: u64) -> String {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
        loop {
            let s = self.screen();
            if s.contains(needle) {
                return s;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "timed out waiting for {needle:?}; screen:\n{s}"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }

    /// Waits until `found` picks something out of the screen; panics with the screen after
    /// `secs`.
    pub fn wait_until<T>(&self, secs: u64, mut found: impl FnMut(&str) -> Option<T>) -> T {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
        loop {
            let s = self.screen();
            if let Some(v) = found(&s) {
                return v;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "timed out; screen:\n{s}"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }

    /// The pid of the program the pane's shell started.
    pub fn child_pid(&self) -> Option<u32> {
        let out = self.tmux(&["display-message", "-p", "#{pane_pid}"]);
        let shell = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        let kids = std::process::Command::new("pgrep")
            .args(["-P", &shell])
            .output()
            .ok()?;
        String::from_utf8_lossy(&kids.stdout)
            .lines()
            .next()?
            .trim()
            .parse()
            .ok()
    }

    /// Whether the cursor is visible (tmux's cursor_flag) and the pane is on the normal screen.
    pub fn cursor_visible_and_normal_screen(&self) -> (bool, bool) {
        let out = self.tmux(&["display-message", "-p", "#{cursor_flag} #{alternate_on}"]);
        let s = String::from_utf8_lossy(&out.stdout);
        let mut it = s.split_whitespace();
        (it.next() == Some("1"), it.next() == Some("0"))
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.tmux(&["kill-server"]);
    }
}

/// A real GGUF test model from `var` (`KEYBOT_TEST_MODEL`, `KEYBOT_TEST_MODEL_BASE`; set them with
/// `eval "$(bash scripts/fetch-test-models.sh)"`). Missing in CI is a failure.
pub fn test_model(var: &str) -> Option<PathBuf> {
    let found = std::env::var_os(var)
        .map(PathBuf::from)
        .filter(|p| p.is_file());
    if found.is_none() {
        assert!(
            !in_ci(),
            "{var} must point at the test model in CI (scripts/fetch-test-models.sh)"
        );
        eprintln!(
            "SKIPPED: {var} not set (eval \"$(bash scripts/fetch-test-models.sh)\"); this test fails in CI"
        );
    }
    found
}

/// Registers the server at `url` as the model `box` in `home` (`keybot model add-server`).
pub fn add_server(home: &Path, url: &str) {
    let add = keybot(home)
        .args(["model", "add-server", "box", url])
        .output()
        .unwrap();
    assert!(
        add.status.success(),
        "{}",
        String::from_utf8_lossy(&add.stderr)
    );
}

/// A llama.cpp reference tool built by scripts/build-llama-tools.sh, found through
/// `KEYBOT_LLAMA_COMPLETION`-style variables. Missing in CI is a failure.
pub fn llama_tool(bin: &str) -> Option<PathBuf> {
    let var = format!("KEYBOT_{}", bin.to_uppercase().replace('-', "_"));
    let found = std::env::var_os(&var)
        .map(PathBuf::from)
        .filter(|p| p.is_file());
    if found.is_none() {
        assert!(
            !in_ci(),
            "{bin} is required in CI (eval \"$(bash scripts/build-llama-tools.sh)\")"
        );
        eprintln!(
            "SKIPPED: {bin} not found (set {var}: eval \"$(bash scripts/build-llama-tools.sh)\")"
        );
    }
    found
}

/// Tests that run a model hold this: llama.cpp uses every core, and parallel models make each
/// other's timings (and CI) crawl.
pub fn model_lock() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// Spawns `cmd` (an anvil, `--port 0` or a fixed port) and returns it with the port from its
/// "Listening on 127.0.0.1:PORT" line: no bind-and-release race for a free port. Its output is
/// drained afterwards, since a full pipe would stall the node.
pub fn spawn_listening(cmd: &mut std::process::Command) -> (std::process::Child, u16) {
    use std::io::BufRead;
    let mut child = cmd.stdout(std::process::Stdio::piped()).spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok);
        for line in lines.by_ref() {
            if let Some(addr) = line.trim().strip_prefix("Listening on ") {
                let _ = tx.send(addr.rsplit(':').next().unwrap().parse::<u16>().unwrap());
                break;
            }
        }
        lines.for_each(drop);
    });
    let port = rx
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("anvil never said where it listens");
    (child, port)
}

/// One HTTP/1.1 message (head and a `Content-Length` body) from `s`, for the tests' RPC
/// proxies; None when the peer closed.
pub fn read_http(s: &mut impl std::io::Read) -> Option<Vec<u8>> {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        if s.read(&mut byte).ok()? == 0 {
            return None;
        }
        buf.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&buf).to_ascii_lowercase();
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .map(|v| v.trim().parse().unwrap())
        .unwrap_or(0);
    let mut body = vec![0; len];
    s.read_exact(&mut body).ok()?;
    buf.extend(body);
    Some(buf)
}

/// `keybot chain dev` running in `home` (funding its account 0 and `fund`), stopped (SIGTERM) on
/// drop.
pub struct DevChain {
    pub child: std::process::Child,
    pub rpc: String,
    pub port: u16,
    pub tusd: alloy::primitives::Address,
    pub anvil: std::path::PathBuf,
    pub market: alloy::primitives::Address,
}

impl DevChain {
    /// `who`'s tUSD in base units as foundry's `cast` prints it (`5000000 [5e6]`), read from the
    /// chain, not through keybot.
    pub fn tusd_of(&self, who: &str) -> String {
        cast(&[
            "call",
            "--rpc-url",
            &self.rpc,
            &self.tusd.to_string(),
            "balanceOf(address)(uint256)",
            who,
        ])
    }
}

/// Sends `sig` to a child of this test (rustix's safe `kill`).
pub fn signal(child: &std::process::Child, sig: rustix::process::Signal) {
    let _ = rustix::process::kill_process(rustix::process::Pid::from_child(child), sig);
}

impl Drop for DevChain {
    fn drop(&mut self) {
        // SIGTERM: `keybot chain dev` stops its anvil and exits cleanly on it.
        signal(&self.child, rustix::process::Signal::TERM);
        let _ = self.child.wait();
    }
}

/// foundry's `cast` with `args` (found as [`tool`] finds it); it must succeed. Its stdout, trimmed.
pub fn cast(args: &[&str]) -> String {
    let out = std::process::Command::new(tool("cast").expect("cast"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cast {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

pub fn dev_chain(home: &Path, pw: &str, fund: &[alloy::primitives::Address]) -> Option<DevChain> {
    let anvil = tool("anvil")?;
    let mut cmd = dev_chain_command(home, pw, &anvil, fund);
    cmd.stderr(std::process::Stdio::inherit());
    Some(start_dev_chain(cmd, anvil).0)
}

/// `keybot chain dev` in `home` on a free port with one account, `anvil`, funding `fund`; its
/// stdout piped for [`start_dev_chain`]. The caller may add to it (an environment, a stderr).
pub fn dev_chain_command(
    home: &Path,
    pw: &str,
    anvil: &Path,
    fund: &[alloy::primitives::Address],
) -> std::process::Command {
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("keybot"));
    cmd.env("KEYBOT_HOME", home)
        .env("KEYBOT_PASSWORD", pw)
        .env("KEYBOT_ANVIL", anvil)
        .args(["chain", "dev", "--port", "0", "--accounts", "1"])
        .stdout(std::process::Stdio::piped());
    for a in fund {
        cmd.args(["--fund", &a.to_string()]);
    }
    cmd
}

/// Spawns `cmd` (a [`dev_chain_command`]) and reads its stdout up to "ready": the chain, the
/// lines it printed up to there, and the rest of them to come.
pub fn start_dev_chain(
    mut cmd: std::process::Command,
    anvil: std::path::PathBuf,
) -> (DevChain, Vec<String>, std::sync::mpsc::Receiver<String>) {
    let mut child = cmd.spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let (mut tusd, mut market, mut rpc) = (None, None, None);
    let mut seen = Vec::new();
    loop {
        let line = rx
            .recv_timeout(std::time::Duration::from_secs(90))
            .expect("keybot chain dev did not get ready");
        if let Some(a) = line.strip_prefix("tUSD") {
            tusd = Some(a.trim().parse().unwrap());
        }
        if let Some(a) = line.strip_prefix("market") {
            market = a.split_whitespace().next().map(|a| a.parse().unwrap());
        }
        if let Some(a) = line.strip_prefix("RPC") {
            rpc = Some(a.trim().to_owned());
        }
        let ready = line.starts_with("ready");
        seen.push(line);
        if ready {
            break;
        }
    }
    let rpc: String = rpc.unwrap();
    let port = rpc.rsplit(':').next().unwrap().parse().unwrap();
    let chain = DevChain {
        child,
        rpc,
        port,
        tusd: tusd.unwrap(),
        market: market.unwrap(),
        anvil,
    };
    (chain, seen, rx)
}

/// `keybot backup export` of `home`, decrypted with `phrase`'s backup key: the archive's
/// plaintext as JSON, for tests that look for what must never be in a backup.
pub fn backup_plaintext(home: &Path, phrase: &str, pw: &str) -> String {
    use keybot_keystore::bip85::Purpose;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("all.kbb");
    keybot(home)
        .env("KEYBOT_PASSWORD", pw)
        .args(["backup", "export"])
        .arg(&file)
        .assert()
        .success();
    let wallet =
        keybot_keystore::Wallet::new(keybot_keystore::Phrase::parse(phrase).unwrap(), "").unwrap();
    let key = wallet.purpose_key(Purpose::Backup).unwrap();
    let archive = keybot::store::backup::read_file(&key, &file).unwrap();
    serde_json::to_string(&archive).unwrap()
}

/// A loopback port nothing listens on now (bound, then closed): for a server a test starts, or
/// for an address where nothing answers.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A child process (a peer a test started) killed and reaped on drop.
pub struct Reaped(pub std::process::Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
