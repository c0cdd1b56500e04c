//! Offline really is offline. In a network namespace with no network at all (`unshare -rn`:
//! not even a loopback that is up), everything that needs no chain works: init, addresses,
//! message signing, offline transaction signing and chat. Balance says "offline" instead of
//! hanging. And with no network configured, keybot opens no socket at all (checked with strace).
use crate::common;

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::{in_ci, test_model, tool};

const PW: &str = "offline password";
const PHRASE: &str =
    "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";
/// m/44'/60'/0'/0/0 of PHRASE (the same in MetaMask and cast).
const ADDRESS0: &str = "0x9858EfFD232B4033E47d90003D41EC34EcaEda94";

/// `unshare -rn` (a user and network namespace) must work; in CI its absence is a failure.
fn unshare() -> Option<std::path::PathBuf> {
    let path = tool("unshare")?;
    let works = Command::new(&path)
        .args(["-rn", "true"])
        .status()
        .is_ok_and(|s| s.success());
    if !works {
        assert!(!in_ci(), "unshare -rn must work in CI (user namespaces)");
        eprintln!("SKIPPED: unshare -rn is not permitted here; this test fails in CI");
        return None;
    }
    Some(path)
}

/// Runs `keybot ARGS` inside a fresh network namespace, optionally under `wrap` (strace).
fn run(unshare: &Path, home: &Path, wrap: &[&str], args: &[&str], stdin: Option<&str>) -> Output {
    let mut c = Command::new(unshare);
    c.arg("-rn")
        .args(wrap)
        .arg(assert_cmd::cargo::cargo_bin("keybot"))
        .args(args)
        .env("KEYBOT_HOME", home)
        .env("KEYBOT_PASSWORD", PW)
        .env("KEYBOT_TEST_WEAK_KDF", "1")
        .env_remove("KEYBOT_PASSPHRASE");
    if let Some(input) = stdin {
        use std::io::Write;
        use std::process::Stdio;
        c.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = c.spawn().unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        return child.wait_with_output().unwrap();
    }
    c.output().unwrap()
}

fn ok(out: &Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what} failed offline:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn tx_file(dir: &Path) -> std::path::PathBuf {
    let f = dir.join("tx.json");
    std::fs::write(
        &f,
        r#"{"chain_id": 1, "nonce": 7, "to": "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
            "value": "0.25", "gas_limit": 21000, "max_fee_per_gas": "30",
            "max_priority_fee_per_gas": "1.5"}"#,
    )
    .unwrap();
    f
}

#[test]
fn everything_local_works_without_any_network() {
    let Some(unshare) = unshare() else { return };
    let model = test_model("KEYBOT_TEST_MODEL");
    let home = tempfile::tempdir().unwrap();
    let h = home.path();

    ok(
        &run(&unshare, h, &[], &["init", "--import"], Some(PHRASE)),
        "init",
    );
    let addrs = ok(
        &run(&unshare, h, &[], &["wallet", "addresses"], None),
        "addresses",
    );
    assert!(addrs.contains(ADDRESS0), "{addrs}");
    let sig = ok(
        &run(
            &unshare,
            h,
            &[],
            &["wallet", "sign-message", "--yes", "hello"],
            None,
        ),
        "sign-message",
    );
    let verify = [
        "wallet",
        "verify",
        "--address",
        ADDRESS0,
        "--signature",
        sig.trim(),
        "hello",
    ];
    assert!(ok(&run(&unshare, h, &[], &verify, None), "verify").contains("valid"));
    let file = tx_file(h);
    let raw = ok(
        &run(
            &unshare,
            h,
            &[],
            &["wallet", "sign-tx", file.to_str().unwrap(), "--yes"],
            None,
        ),
        "sign-tx",
    );
    assert!(raw.trim().starts_with("0x02"), "{raw}");

    // No network configured: "offline", at once.
    let t = Instant::now();
    let out = run(&unshare, h, &[], &["wallet", "balance"], None);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("offline"));
    assert!(t.elapsed() < Duration::from_secs(10));

    // A network configured but unreachable (no interface is up): "offline", not a hang.
    std::fs::create_dir_all(h.join("config")).unwrap();
    std::fs::write(
        h.join("config/config.toml"),
        "network = \"local\"\n\n[networks.local]\nchain_id = 31337\nrpc = \"http://127.0.0.1:8545\"\ndev = true\ntokens = []\n",
    )
    .unwrap();
    let t = Instant::now();
    let out = run(&unshare, h, &[], &["wallet", "balance"], None);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("offline: cannot reach http://127.0.0.1:8545"),
        "{err}"
    );
    assert!(t.elapsed() < Duration::from_secs(20), "{:?}", t.elapsed());
    std::fs::remove_file(h.join("config/config.toml")).unwrap();

    if let Some(model) = &model {
        let out = run(
            &unshare,
            h,
            &[],
            &[
                "chat",
                "--greedy",
                "--max-tokens",
                "8",
                "--ctx",
                "512",
                "--model",
                model.to_str().unwrap(),
                "What is the capital of France? One word.",
            ],
            None,
        );
        assert!(ok(&out, "chat").contains("Paris"));
    }
}

#[test]
fn with_no_network_configured_no_socket_is_opened() {
    let Some(unshare) = unshare() else { return };
    let Some(strace) = tool("strace") else { return };
    let model = test_model("KEYBOT_TEST_MODEL");
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let log = h.join("strace.log");
    let file = tx_file(h);
    let traced = |args: &[&str], stdin: Option<&str>| -> (Output, String) {
        let wrap = [
            strace.to_str().unwrap(),
            "-f",
            "-qq",
            "-e",
            // execve too: every trace then has at least keybot's own exec, which proves that
            // strace followed this run (an empty log would pass the socket check for free).
            "trace=socket,socketpair,connect,execve",
            "-o",
            log.to_str().unwrap(),
        ];
        // Each case gets a fresh log: one left by the previous case would pass for this one's.
        let _ = std::fs::remove_file(&log);
        let out = run(&unshare, h, &wrap, args, stdin);
        (out, std::fs::read_to_string(&log).unwrap_or_default())
    };
    let mut cases: Vec<(Vec<String>, Option<&str>)> = vec![
        (vec!["init".into(), "--import".into()], Some(PHRASE)),
        (vec!["wallet".into(), "addresses".into()], None),
        (
            vec![
                "wallet".into(),
                "sign-tx".into(),
                file.to_str().unwrap().into(),
                "--yes".into(),
            ],
            None,
        ),
        (vec!["wallet".into(), "balance".into()], None),
        (vec!["chain".into(), "list".into()], None),
        // A model on a server: registered with no socket, and asked for with none either.
        (
            vec![
                "model".into(),
                "add-server".into(),
                "box".into(),
                "http://127.0.0.1:8080".into(),
            ],
            None,
        ),
        (
            vec!["chat".into(), "--model".into(), "box".into(), "Hi".into()],
            None,
        ),
    ];
    if let Some(m) = &model {
        let chat = |extra: &[&str]| -> Vec<String> {
            let mut args: Vec<String> = ["chat", "--max-tokens", "4", "--ctx", "512", "--model"]
                .map(String::from)
                .to_vec();
            args.push(m.to_str().unwrap().into());
            args.extend(extra.iter().map(|a| (*a).to_owned()));
            args.push("Hi".into());
            args
        };
        cases.push((chat(&[]), None));
        // Layers on an rpc-server: one line, and no connection tried.
        cases.push((chat(&["--rpc", "127.0.0.1:50052"]), None));
    }
    for (args, stdin) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (out, trace) = traced(&args, stdin);
        let is_balance = args == ["wallet", "balance"];
        let is_server = args.contains(&"box") && args[0] == "chat";
        let is_rpc = args.contains(&"--rpc");
        assert_eq!(
            out.status.success(),
            !is_balance && !is_server && !is_rpc,
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        if is_server {
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(err.lines().count(), 1, "{err}");
            assert!(err.contains("offline: box is a model on a server"), "{err}");
        }
        if is_rpc {
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(err.lines().count(), 1, "{err}");
            assert!(
                err.contains("offline: the model's layers go to rpc-server 127.0.0.1:50052"),
                "{err}"
            );
        }
        // strace traced this run (so the check below can fail), and saw no socket call.
        assert!(
            trace
                .lines()
                .any(|l| l.contains("execve(") && l.contains("keybot")),
            "strace did not trace keybot for {args:?}:\n{trace}"
        );
        // `chat` watches for Ctrl-C with tokio's signal handling, whose driver wakes through an
        // AF_UNIX socketpair (an in-process pipe nothing outside can reach), as in the app.
        // Anything that could reach out (socket() of any family, connect()) must be absent.
        let sockets: Vec<&str> = trace
            .lines()
            .filter(|l| {
                (l.contains("socket") && !l.contains("socketpair(AF_UNIX"))
                    || l.contains("connect(")
            })
            .collect();
        assert!(
            sockets.is_empty(),
            "{args:?} opened sockets:\n{}",
            sockets.join("\n")
        );
    }
}

/// The terminal app too: unlocked, on the wallet screen, with no network configured, it opens no
/// socket (strace over the whole process, in a namespace with no network).
#[test]
fn the_app_opens_no_socket_without_a_network() {
    let Some(unshare) = unshare() else { return };
    let Some(strace) = tool("strace") else { return };
    let home = common::fast_home(PHRASE, PW);
    let log = home.path().join("strace.log");
    let command = format!(
        "{} -rn {} -f -qq -e trace=socket,socketpair,connect -o {} {}",
        unshare.display(),
        strace.display(),
        log.display(),
        assert_cmd::cargo::cargo_bin("keybot").display()
    );
    let h = home.path().display().to_string();
    let Some(t) = common::Tmux::start(&command, &[("KEYBOT_HOME", h.as_str())], 120, 36) else {
        return;
    };
    t.wait_for("Your wallet is locked", 30);
    t.line(PW);
    t.wait_for("no network", 30);
    t.keys(&["Escape"]);
    t.keys(&["1"]);
    t.wait_for("no network configured", 20);
    t.keys(&["q"]);
    t.wait_for("EXIT=0", 30);
    let trace = std::fs::read_to_string(&log).expect("strace wrote its log");
    // tokio's signal handling (SIGTERM restores the terminal) wakes its driver through an
    // AF_UNIX socketpair: an in-process pipe that nothing outside can reach. Every call that could
    // reach out (socket() of any family, connect()) must be absent. strace's own
    // "<detached ...>" note (a thread that ended while it was being traced, seen on a loaded
    // machine) is not a call.
    assert!(
        trace
            .lines()
            .filter(|l| !l.ends_with("<detached ...>"))
            .all(|l| l.contains("socketpair(AF_UNIX")),
        "unexpected: {trace}"
    );
    let sockets: Vec<&str> = trace
        .lines()
        .filter(|l| l.contains("socket(") || l.contains("connect("))
        .collect();
    assert!(
        sockets.is_empty(),
        "the app opened sockets:\n{}",
        sockets.join("\n")
    );
}
