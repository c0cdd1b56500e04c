//! No secret of a market session reaches an output or a file in plaintext (issue 20, item 5):
//! on `keybot chain dev`, a seller and a buyer (fresh 24-word phrases) run a whole sale through
//! the command line with every log target at trace (keybot's and its dependencies'): vault add,
//! preview, consent, sell, browse, buy, serve, fetch, earnings (JSON and CSV), withdraw after the
//! challenge window, activity, backup export. Then every secret the session used is derived
//! again from the phrases with keybot_keystore's public API (and the chain's public record): the
//! phrases and seeds, the BIP-32 roots, the account keys, the store's database key, the backup
//! key, the v1 market key, the buyer's one-time keys (with the challenge inverse and the shared
//! point of the delivery), the listing's content key. Each is searched for in every standard
//! output and error, `chain dev`'s own, and every file under both homes (the logs, the config,
//! the store, the CSV, the backups): as hex in either case (with or without 0x), base64, a
//! decimal byte list (`{:?}` and JSON), and as raw bytes; the phrases as any four of their
//! words in a row, whatever separates them. The item's plaintext is in no log, no output but
//! `market preview`'s, and no file under either home.
use crate::common;
use common::cast;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use alloy::primitives::{Address, B256, U256};
use alloy::providers::{Provider, ProviderBuilder};
use alloy::rpc::types::Filter;
use alloy::sol_types::SolEvent;
use base64::Engine;
use keybot_keystore::bip85::Purpose;
use keybot_keystore::delivery::{self, Binding};
use keybot_keystore::derive::{HARDENED, Root};
use keybot_keystore::{AccountRef, Phrase, Wallet};
use sha2::{Digest, Sha512};

/// Not a word of any phrase, and long enough to be found if it leaked.
const PW: &str = "Vault pass for the market leak test 7c1";
const CHAIN_ID: u64 = 31337;
const EMAIL: &str = "maren.holt@example.org";
const NOTE: &str = "Harbour survey, pier seven, measured at low tide on a grey Tuesday.\n\
                    Pilings two through nine show cracks wider than the standard allows.\n\
                    Ask maren.holt@example.org for the diver's photographs.\n\
                    Estimated repair: eleven weeks, two cranes, one barge from Kessel yard.\n";
/// Every target at trace, the dependencies' included: a directive list, which keybot takes as
/// written (a plain `trace` raises only keybot's own targets; this is a superset of it). The HTTP
/// and RPC libraries then log every request and response body.
const LOG: &str = "trace,keybot=trace";

mod ev {
    alloy::sol! {
        event Purchased(uint256 indexed purchaseId, address indexed buyer, address indexed seller,
            uint256 listingId, address token, uint256 price, bytes buyerKey, uint64 deadline);
        event Delivered(uint256 indexed purchaseId, address indexed seller, bytes delivery, uint64 settlesAt);
    }
}

/// Everything keybot printed in the session, by command.
#[derive(Default)]
struct Outputs(Vec<(String, Vec<u8>)>);

impl Outputs {
    /// `keybot ARGS` in `home` (named `who`) with `KEYBOT_LOG` at [`LOG`]; must succeed. Its stdout
    /// and stderr are kept for the search, except the stdout of `market preview`, whose job is
    /// to print the plaintext. Returns stdout.
    fn ok(&mut self, who: &str, home: &Path, args: &[&str]) -> String {
        let out = common::keybot(home)
            .args(args)
            .env("KEYBOT_PASSWORD", PW)
            .env("KEYBOT_LOG", LOG)
            .output()
            .unwrap();
        let stdout = String::from_utf8(out.stdout.clone()).unwrap();
        assert!(
            out.status.success(),
            "{who}: keybot {args:?} failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let name = format!("{who}: keybot {}", args.join(" "));
        if !args.starts_with(&["market", "preview"]) {
            self.0.push((format!("stdout of {name}"), out.stdout));
        }
        self.0.push((format!("stderr of {name}"), out.stderr));
        stdout
    }
}

fn last_line(s: &str) -> String {
    s.lines().last().unwrap_or("").trim().to_owned()
}

/// `keybot chain dev` in `home` with `KEYBOT_LOG` at [`LOG`], funding `fund`, its stderr written
/// to `stderr`: the chain, its stdout lines up to "ready", and the rest of them to come.
fn dev_chain(
    home: &Path,
    fund: Address,
    stderr: &Path,
) -> Option<(
    common::DevChain,
    Vec<String>,
    std::sync::mpsc::Receiver<String>,
)> {
    let anvil = common::tool("anvil")?;
    common::tool("cast")?;
    let mut cmd = common::dev_chain_command(home, PW, &anvil, &[fund]);
    cmd.env("KEYBOT_LOG", LOG)
        .stderr(std::fs::File::create(stderr).unwrap());
    Some(common::start_dev_chain(cmd, anvil))
}

/// HMAC-SHA512, written out (the keystore's BIP-85 HEX is crate-private for the market key).
fn hmac_sha512(key: &[u8], msg: &[u8]) -> [u8; 64] {
    assert!(key.len() <= 128);
    let mut k = [0u8; 128];
    k[..key.len()].copy_from_slice(key);
    let (mut inner, mut outer) = (Sha512::new(), Sha512::new());
    inner.update(k.map(|b| b ^ 0x36));
    inner.update(msg);
    outer.update(k.map(|b| b ^ 0x5c));
    outer.update(inner.finalize());
    outer.finalize().into()
}

/// BIP-85 HEX, 32 bytes at `index` (`m/83696968'/128169'/32'/index'`).
fn bip85_hex32(root: &Root, index: u32) -> [u8; 32] {
    let path = [
        83696968 | HARDENED,
        128169 | HARDENED,
        32 | HARDENED,
        index | HARDENED,
    ];
    let k = root.private_key(&path).unwrap();
    hmac_sha512(b"bip-entropy-from-k", k.expose())[..32]
        .try_into()
        .unwrap()
}

/// The secrets to look for: raw bytes (searched in several encodings) or text.
#[derive(Default)]
struct Secrets {
    bytes: Vec<(String, Vec<u8>)>,
    text: Vec<(String, String)>,
    /// Per phrase: its words.
    phrases: Vec<(String, Vec<String>)>,
}

impl Secrets {
    fn add(&mut self, name: impl Into<String>, bytes: &[u8]) {
        self.bytes.push((name.into(), bytes.to_vec()));
    }

    /// Every secret of `who`'s wallet that the phrase alone gives.
    fn of_wallet(&mut self, who: &str, phrase: &str) -> Wallet {
        let p = Phrase::parse(phrase).unwrap();
        self.phrases.push((
            format!("{who}'s phrase"),
            phrase.split_whitespace().map(str::to_owned).collect(),
        ));
        self.add(format!("{who}'s phrase entropy"), &p.entropy());
        let seed = p.to_seed("");
        self.add(format!("{who}'s seed"), &seed[..]);
        let root = Root::from_seed(&seed[..]).unwrap();
        for (name, path) in [
            ("root", vec![]),
            ("m/44'/60'/0'", vec![44 | HARDENED, 60 | HARDENED, HARDENED]),
            (
                "m/44'/60'/0'/0",
                vec![44 | HARDENED, 60 | HARDENED, HARDENED, 0],
            ),
        ] {
            self.text.push((
                format!("{who}'s {name} xprv"),
                root.xprv(&path).unwrap().to_string(),
            ));
        }
        let wallet = Wallet::new(p, "").unwrap();
        for i in 0..8 {
            let key = wallet.private_key(AccountRef::Hd(i)).unwrap();
            self.add(format!("{who}'s account {i} key"), key.expose());
        }
        let db = wallet.purpose_key(Purpose::Database).unwrap();
        let backup = wallet.purpose_key(Purpose::Backup).unwrap();
        // The hand-written BIP-85 agrees with the keystore's, so the market key below is right.
        assert_eq!(&bip85_hex32(&root, 0), db.expose());
        assert_eq!(&bip85_hex32(&root, 2), backup.expose());
        self.add(format!("{who}'s database key"), db.expose());
        self.add(format!("{who}'s backup key"), backup.expose());
        self.add(format!("{who}'s v1 market key"), &bip85_hex32(&root, 1));
        for j in 0..4 {
            if let Ok(b) = wallet.dispute_secret(j) {
                self.add(format!("{who}'s one-time buyer key {j}"), b.expose());
            }
        }
        wallet
    }
}

/// The ways a byte string may be written down.
fn encodings(bytes: &[u8]) -> Vec<(&'static str, String)> {
    let list: Vec<String> = bytes.iter().map(u8::to_string).collect();
    vec![
        // Haystacks are lower-cased: this finds upper and mixed case, with or without 0x.
        ("hex", hex::encode(bytes)),
        (
            "base64",
            base64::engine::general_purpose::STANDARD_NO_PAD
                .encode(bytes)
                .to_lowercase(),
        ),
        (
            "base64url",
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode(bytes)
                .to_lowercase(),
        ),
        ("a {:?} byte list", format!("[{}]", list.join(", "))),
        ("a JSON byte list", format!("[{}]", list.join(","))),
    ]
}

/// The words of `text`, lower-cased, in order: whatever separates them (spaces, newlines,
/// quotes and commas of a JSON array, numbering).
fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_ascii_alphabetic())
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
        .collect()
}

/// Every file under `dir`.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// The findings of `secrets` in one haystack, "SECRET (as FORM) in WHERE".
fn search(secrets: &Secrets, name: &str, hay: &[u8], found: &mut Vec<String>) {
    let text = String::from_utf8_lossy(hay).to_lowercase();
    for (secret, bytes) in &secrets.bytes {
        if contains(hay, bytes) {
            found.push(format!("{secret} (raw bytes) in {name}"));
        }
        for (form, encoded) in encodings(bytes) {
            if text.contains(&encoded) {
                found.push(format!("{secret} (as {form}) in {name}"));
            }
        }
    }
    for (secret, t) in &secrets.text {
        if text.contains(&t.to_lowercase()) {
            found.push(format!("{secret} in {name}"));
        }
    }
    let hay_words: BTreeSet<Vec<String>> = words(&text).windows(4).map(<[_]>::to_vec).collect();
    for (secret, phrase) in &secrets.phrases {
        if let Some(w) = phrase.windows(4).find(|w| hay_words.contains(*w)) {
            found.push(format!(
                "4 words of {secret} in a row ({}…) in {name}",
                w[0]
            ));
        }
    }
}

/// The `ev` event `E` of purchase `id`, read with alloy.
fn event_of<E: SolEvent>(rpc: &str, market: Address, id: u64) -> E {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        keybot::net::tls();
        let provider = ProviderBuilder::new().connect_http(rpc.parse().unwrap());
        let filter = Filter::new()
            .address(market)
            .event_signature(E::SIGNATURE_HASH)
            .topic1(B256::from(U256::from(id)))
            .from_block(0u64);
        let logs = provider.get_logs(&filter).await.unwrap();
        assert_eq!(logs.len(), 1, "purchase {id}: {logs:?}");
        E::decode_log(&logs[0].inner).unwrap().data
    })
}

#[test]
fn a_market_session_at_trace_leaks_no_phrase_key_or_plaintext() {
    let seller_phrase = Phrase::generate(24).unwrap().to_phrase_string().to_string();
    let buyer_phrase = Phrase::generate(24).unwrap().to_phrase_string().to_string();
    let mut secrets = Secrets::default();
    let seller_wallet = secrets.of_wallet("the seller", &seller_phrase);
    let buyer_wallet = secrets.of_wallet("the buyer", &buyer_phrase);
    secrets.text.push(("the vault password".into(), PW.into()));
    let buyer_0 = buyer_wallet.address(AccountRef::Hd(0)).unwrap();

    let seller = common::fast_home(&seller_phrase, PW);
    let buyer = common::fast_home(&buyer_phrase, PW);
    let (s, b) = (seller.path(), buyer.path());
    let outside = tempfile::tempdir().unwrap();
    let dev_stderr = outside.path().join("chain-dev.stderr");
    let Some((dev, mut dev_out, dev_stdout)) = dev_chain(s, buyer_0, &dev_stderr) else {
        return;
    };
    let rpc = dev.rpc.clone();
    let mut out = Outputs::default();

    ok_buyer_setup(&mut out, b, &dev);
    let note = outside.path().join("survey.txt");
    std::fs::write(&note, NOTE).unwrap();
    let item = last_line(&out.ok(
        "seller",
        s,
        &[
            "market",
            "add",
            "--file",
            note.to_str().unwrap(),
            "--title",
            "Pier survey",
        ],
    ));
    out.ok("seller", s, &["market", "items", "--json"]);
    let preview = out.ok("seller", s, &["market", "preview", &item]);
    assert!(!preview.contains(EMAIL) && preview.contains("[email]"));
    out.ok("seller", s, &["market", "consent", &item, "--yes"]);
    let listing = last_line(&out.ok(
        "seller",
        s,
        &[
            "market", "sell", &item, "--price", "5", "--token", "tUSD", "--yes",
        ],
    ));
    out.ok("seller", s, &["market", "listings", "--json"]);

    out.ok("buyer", b, &["market", "browse", "--json"]);
    let purchase = last_line(&out.ok("buyer", b, &["market", "buy", &listing, "--yes"]));
    out.ok("buyer", b, &["market", "purchases", "--json"]);
    out.ok("seller", s, &["market", "serve", "--once"]);
    let fetched = outside.path().join("bought.txt");
    out.ok(
        "buyer",
        b,
        &[
            "market",
            "fetch",
            &purchase,
            "--out",
            fetched.to_str().unwrap(),
        ],
    );
    assert_eq!(std::fs::read_to_string(&fetched).unwrap(), preview);
    out.ok("buyer", b, &["market", "purchases", "--json"]);

    out.ok("seller", s, &["market", "earnings", "--json"]);
    let csv = s.join("earnings.csv");
    out.ok(
        "seller",
        s,
        &["market", "earnings", "--csv", csv.to_str().unwrap()],
    );
    // After the challenge window the seller withdraws.
    cast(&["rpc", "--rpc-url", &rpc, "evm_increaseTime", "259201"]);
    cast(&["rpc", "--rpc-url", &rpc, "evm_mine"]);
    out.ok("seller", s, &["market", "withdraw", "--yes"]);
    out.ok("seller", s, &["market", "earnings"]);
    for (who, home) in [("seller", s), ("buyer", b)] {
        out.ok(who, home, &["wallet", "balance"]);
        out.ok(who, home, &["wallet", "activity", "--json"]);
        let backup = home.join("backup.kbb");
        out.ok(who, home, &["backup", "export", backup.to_str().unwrap()]);
    }

    // The secrets the chain's record gives: the buyer's one-time key for this purchase (found
    // by its public key), the shared point and inverse a challenge would publish, and the
    // content key the delivery carries.
    let id: u64 = purchase.parse().unwrap();
    let bought: ev::Purchased = event_of(&rpc, dev.market, id);
    let delivered: ev::Delivered = event_of(&rpc, dev.market, id);
    let j = (0..16)
        .find(|j| {
            buyer_wallet
                .buyer_key(*j)
                .unwrap()
                .is_some_and(|k| k[..] == bought.buyerKey[..])
        })
        .expect("the purchase's key is one of the buyer's first one-time keys");
    let binding = Binding {
        chain_id: CHAIN_ID,
        market: dev.market,
        purchase_id: id,
    };
    let content_key = buyer_wallet
        .open_delivery(j, &delivered.delivery, &binding)
        .unwrap();
    let proof = buyer_wallet
        .challenge_proof(j, &delivered.delivery)
        .unwrap();
    assert!(delivery::secret_opens(proof.secret(), &bought.buyerKey));
    secrets.add("the listing's content key", content_key.expose());
    secrets.add(
        "the challenge's inverse of the one-time key",
        proof.inverse(),
    );
    secrets.add("the delivery's shared point", &proof.shared);
    secrets.add("the delivery's shared point's x", &proof.shared[..32]);
    let mask: Vec<u8> = delivered.delivery[64..]
        .iter()
        .zip(content_key.expose())
        .map(|(c, k)| c ^ k)
        .collect();
    secrets.add("the delivery's mask", &mask);

    drop(dev);
    // Stopped: its stdout closes, and the reader thread ends after the last line.
    loop {
        match dev_stdout.recv_timeout(std::time::Duration::from_secs(30)) {
            Ok(line) => dev_out.push(line),
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
            Err(e) => panic!("keybot chain dev's stdout stayed open: {e}"),
        }
    }
    let mut haystacks = out.0;
    haystacks.push((
        "stdout of keybot chain dev".into(),
        dev_out.join("\n").into_bytes(),
    ));
    haystacks.push((
        "stderr of keybot chain dev".into(),
        std::fs::read(&dev_stderr).unwrap(),
    ));
    let mut logs = 0;
    let mut home_files = Vec::new();
    for (who, home) in [("the seller", s), ("the buyer", b)] {
        for f in files_under(home) {
            let name = format!("{who}'s {}", f.strip_prefix(home).unwrap().display());
            let bytes = std::fs::read(&f).unwrap();
            if f.parent().is_some_and(|d| d.ends_with("data/logs")) {
                logs += 1;
                // As chatty as it gets: the RPC client's trace lines with every request's body,
                // keybot's own lines among them.
                let text = String::from_utf8_lossy(&bytes);
                for line in [
                    "TRACE alloy_rpc_client::call: serialized request",
                    "eth_sendRawTransaction",
                    "INFO keybot::chain::send: broadcasting",
                ] {
                    assert!(text.contains(line), "{name} lacks {line:?}");
                }
            }
            home_files.push((name, bytes));
        }
    }
    assert_eq!(logs, 2, "each home has its log");
    // The seller's store holds the same content key (read only now: opening it writes).
    let store = keybot::store::Store::open(
        &s.join("data/keybot.db"),
        &seller_wallet.purpose_key(Purpose::Database).unwrap(),
    )
    .unwrap();
    let stored = store.all_listing_secrets().unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].content_key.expose(), content_key.expose());

    let mut found = Vec::new();
    for (name, hay) in haystacks.iter().chain(&home_files) {
        search(&secrets, name, hay, &mut found);
    }
    // The plaintext: the item as sold, line by line, and the e-mail address its preview left
    // out. Nowhere but in `market preview`'s stdout (not kept) and the file fetch wrote.
    let plain: Vec<&str> = NOTE
        .lines()
        .chain(preview.lines())
        .filter(|l| l.len() >= 16)
        .chain([EMAIL])
        .collect();
    for (name, hay) in haystacks.iter().chain(&home_files) {
        for line in &plain {
            if contains(hay, line.as_bytes()) {
                found.push(format!("the item's plaintext {line:?} in {name}"));
            }
        }
    }
    assert!(
        found.is_empty(),
        "secrets leaked ({} findings):\n{}",
        found.len(),
        found.join("\n")
    );
    // The search itself finds what it looks for.
    let mut probe = Vec::new();
    let leak = format!(
        "x=0x{} {}",
        hex::encode_upper(content_key.expose()),
        buyer_phrase.split_whitespace().collect::<Vec<_>>()[3..7].join("\",\"")
    );
    search(&secrets, "a probe", leak.as_bytes(), &mut probe);
    assert_eq!(probe.len(), 2, "{probe:?}");
}

/// The buyer's home set up as a second machine: `chain add`, `token add`, `market join`.
fn ok_buyer_setup(out: &mut Outputs, b: &Path, dev: &common::DevChain) {
    out.ok(
        "buyer",
        b,
        &["chain", "add", "local", "--rpc", &dev.rpc, "--yes"],
    );
    out.ok("buyer", b, &["token", "add", &dev.tusd.to_string()]);
    out.ok("buyer", b, &["market", "join", &dev.market.to_string()]);
}
