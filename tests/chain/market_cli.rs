//! The market's command line as README.md's "market" section documents it, on `keybot chain
//! dev`, each promise run for real: a token off the market's allow-list refused by `market
//! sell`; `wallet send`, `market sell` and `market buy` signing nothing without a terminal and
//! without `--yes`; `market serve` as a loop (`--poll`) that delivers what is bought after it
//! started and stops cleanly on Ctrl-C; `market reprice` and `market delist` seen on chain and in
//! browse; an item over 32 KiB refused inline and listed at a URI, then bought and fetched with
//! `--ciphertext` copies; the human `market earnings` table; `--network NAME` choosing the
//! network; `market browse --seller` and `--max-price`; a listing at an `https://` URI fetched
//! over TLS, and one whose bytes are over the 2 MiB cap refused before anything is paid.
//!
//! The chain is read back with `cast` (nonces, balances, the market's counters and listings),
//! never through keybot.
use crate::common;
use crate::market_world::*;

use std::io::BufRead;
use std::path::Path;
use std::process::{Child, ExitStatus, Stdio};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use alloy::primitives::U256;
use keybot_keystore::content;

/// Where a test sends what it sends: an address no home owns.
const ELSEWHERE: &str = "0x1111111111111111111111111111111111111111";

/// What every sending command answers without a terminal and without `--yes`, and nothing else.
const NO_YES: &str = "error: refusing to send without confirmation: pass --yes\n";

/// Exit status 1 and exactly `line` as the last line of standard error; the whole stderr.
fn refused(out: &std::process::Output, line: &str) -> String {
    let err = stderr_of(out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(last_line(&err), line, "{err}");
    err
}

/// `listings(id)` on chain, read with cast: (active, price in base units).
fn listing_on_chain(w: &World, listing: &str) -> (bool, U256) {
    let out = cast(&[
        "call",
        "--rpc-url",
        &w.dev.rpc,
        &w.dev.market.to_string(),
        "listings(uint256)(address,bool,address,uint256,bytes32)",
        listing,
    ]);
    let fields: Vec<&str> = out.lines().collect();
    assert_eq!(fields.len(), 5, "{out}");
    assert!(fields[0].eq_ignore_ascii_case(SELLER_0), "{out}");
    (fields[1] == "true", number(fields[3]))
}

/// The listing ids of a `market browse --json` answer.
fn browsed(home: &Path, extra: &[&str]) -> Vec<u64> {
    let mut args = vec!["market", "browse", "--json"];
    args.extend(extra);
    let rows: serde_json::Value = serde_json::from_str(&ok(home, &args)).unwrap();
    rows.as_array()
        .unwrap()
        .iter()
        .map(|r| r["listing"].as_u64().unwrap())
        .collect()
}

/// The listing `listing` of a `market browse --json` answer, if it is there.
fn browse_row(home: &Path, listing: &str) -> Option<serde_json::Value> {
    let rows: serde_json::Value =
        serde_json::from_str(&ok(home, &["market", "browse", "--json"])).unwrap();
    rows.as_array()
        .unwrap()
        .iter()
        .find(|r| r["listing"].as_u64() == listing.parse().ok())
        .cloned()
}

#[test]
fn market_sell_in_a_token_the_market_does_not_accept_is_refused_and_nothing_is_sent() {
    let Some(w) = world() else { return };
    let s = w.seller.path();
    // A market that accepts ETH only, deployed through keybot: the seller's network uses it
    // from now on. tUSD is still a token of that network.
    let eth_only = last_line(&ok(s, &["market", "deploy", "--yes"])).to_owned();
    let item = consented_item(s, "Priced in a token this market does not take.\n");
    let sent = nonce(&w.dev.rpc, SELLER_0);
    assert_eq!(counter(&w.dev.rpc, &eth_only, "listingCount"), 0);

    let out = kb(
        s,
        &[
            "market", "sell", &item, "--price", "1", "--token", "tUSD", "--yes",
        ],
    );
    refused(
        &out,
        &format!(
            "error: the transaction would revert: TokenNotAllowed(token: {}); nothing was signed",
            w.dev.tusd
        ),
    );
    assert_eq!(nonce(&w.dev.rpc, SELLER_0), sent, "something was sent");
    assert_eq!(counter(&w.dev.rpc, &eth_only, "listingCount"), 0);
    assert_eq!(ok(s, &["market", "listings", "--json"]).trim(), "[]");

    // The refusal was the token's: the same item in ETH is listed on that market.
    let listing = last_line(&ok(
        s,
        &["market", "sell", &item, "--price", "0.01", "--yes"],
    ))
    .to_owned();
    assert_eq!(listing, "1");
    assert_eq!(counter(&w.dev.rpc, &eth_only, "listingCount"), 1);
    assert_eq!(nonce(&w.dev.rpc, SELLER_0), sent + 1);
}

#[test]
fn without_a_terminal_and_without_yes_send_sell_and_buy_sign_nothing() {
    let Some(w) = world() else { return };
    let (s, b) = (w.seller.path(), w.buyer.path());
    let market = w.dev.market.to_string();
    let (_, listing) = listed(s, "Listed with --yes, bought without it.\n", "2");
    let item = consented_item(s, "Consented, never listed without --yes.\n");
    let before = |who: &str| {
        (
            nonce(&w.dev.rpc, who),
            eth_of(&w.dev.rpc, who),
            tusd_of(&w.dev.rpc, w.dev.tusd, who),
        )
    };
    let (seller, buyer) = (before(SELLER_0), before(BUYER_0));
    let counts = || {
        (
            counter(&w.dev.rpc, &market, "listingCount"),
            counter(&w.dev.rpc, &market, "purchaseCount"),
        )
    };
    assert_eq!(counts(), (1, 0));

    // assert_cmd gives keybot a pipe for standard input, never a terminal: no one to ask.
    let cases: [(&Path, Vec<&str>); 4] = [
        (b, vec!["wallet", "send", "--to", SELLER_0, "--value", "1"]),
        (
            b,
            vec![
                "wallet", "send", "--to", SELLER_0, "--value", "1", "--token", "tUSD",
            ],
        ),
        (
            s,
            vec!["market", "sell", &item, "--price", "1", "--token", "tUSD"],
        ),
        (b, vec!["market", "buy", &listing]),
    ];
    for (home, args) in cases {
        let out = kb(home, &args);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stderr_of(&out));
        // One line and nothing before it: no review, no "Listing …", no "Buying …".
        assert_eq!(stderr_of(&out), NO_YES, "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
    assert_eq!(before(SELLER_0), seller, "the seller's account moved");
    assert_eq!(before(BUYER_0), buyer, "the buyer's account moved");
    assert_eq!(allowance(&w, BUYER_0), U256::ZERO, "an approval was sent");
    assert_eq!(counts(), (1, 0), "a listing or a purchase was made");
    assert_eq!(ok(b, &["market", "purchases", "--json"]).trim(), "[]");
    let mine: serde_json::Value =
        serde_json::from_str(&ok(s, &["market", "listings", "--json"])).unwrap();
    assert_eq!(mine.as_array().unwrap().len(), 1, "{mine:#}");
}

/// `keybot market serve --poll 1` running in a home, its standard error read line by line;
/// killed if the test ends before it exits.
struct Serving {
    child: Child,
    lines: Receiver<String>,
    seen: Vec<String>,
}

impl Serving {
    fn start(home: &Path) -> Serving {
        let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("keybot"))
            .env("KEYBOT_HOME", home)
            .env("KEYBOT_PASSWORD", PW)
            .args(["market", "serve", "--poll", "1"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
            {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Serving {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// The first line (from now on) that `want` accepts; panics with every line seen after
    /// `secs`, or when serve ended without it.
    fn wait_line(&mut self, secs: u64, want: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if want(&line) {
                        return line;
                    }
                }
                Err(e) => panic!(
                    "market serve: no such line within {secs} s ({e}); it said:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
    }

    /// Ctrl-C (SIGINT), then its exit status; panics when it has not exited within `secs`.
    fn interrupt(&mut self, secs: u64) -> ExitStatus {
        common::signal(&self.child, rustix::process::Signal::INT);
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                // What it said up to the end, for the caller's checks.
                self.seen.extend(self.lines.iter());
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "market serve did not exit within {secs} s of Ctrl-C; it said:\n{}",
                self.seen.join("\n")
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

#[test]
fn market_serve_with_poll_delivers_purchases_made_after_it_started_and_stops_cleanly_on_ctrl_c() {
    let Some(w) = world() else { return };
    let (s, b) = (w.seller.path(), w.buyer.path());
    let (item, listing) = listed(s, "Delivered by a seller who serves.\n", "1");
    let mut serving = Serving::start(s);
    let hello = serving.wait_line(60, |l| l.starts_with("serving the market at "));
    assert_eq!(
        hello,
        format!(
            "serving the market at {} on local (Ctrl-C stops)",
            w.dev.market
        )
    );

    // Two purchases, each made while serve waits between passes: both are delivered, so it
    // really goes on after the first.
    let files = tempfile::tempdir().unwrap();
    let preview = ok(s, &["market", "preview", &item]);
    for (i, again) in [(1, &[][..]), (2, &["--again"][..])] {
        let mut args = vec!["market", "buy", &listing, "--yes"];
        args.extend(again);
        let purchase = last_line(&ok(b, &args)).to_owned();
        assert_eq!(purchase, i.to_string());
        let want = format!("delivered purchase {purchase} (listing {listing})");
        serving.wait_line(60, |l| l == want);
        let out = files.path().join(format!("{purchase}.txt"));
        let got = fetch(b, &purchase, &out, &["--no-wait"]);
        assert!(got.status.success(), "{}", stderr_of(&got));
        assert_eq!(std::fs::read_to_string(&out).unwrap(), preview);
    }

    let status = serving.interrupt(30);
    assert_eq!(
        status.code(),
        Some(0),
        "not a clean exit: {status:?}\n{}",
        serving.seen.join("\n")
    );
    assert!(
        serving
            .seen
            .iter()
            .all(|l| !l.starts_with("error") && !l.starts_with("skipped")),
        "{}",
        serving.seen.join("\n")
    );
    // Nothing else was sent: two deliveries besides the listing.
    assert_eq!(nonce(&w.dev.rpc, SELLER_0), 3);
}

#[test]
fn market_reprice_and_delist_change_the_listing_on_chain_and_in_browse() {
    let Some(w) = world() else { return };
    let (s, b) = (w.seller.path(), w.buyer.path());
    let (item, listing) = listed(s, "A note whose seller changes its mind.\n", "2");
    assert_eq!(listing_on_chain(&w, &listing), (true, tusd(2)));
    let paid_before = last_line(&ok(b, &["market", "buy", &listing, "--yes"])).to_owned();

    // Only the seller's wallet changes a listing; the buyer's keybot refuses and sends nothing.
    let buyer_sent = nonce(&w.dev.rpc, BUYER_0);
    let out = kb(b, &["market", "reprice", &listing, "--price", "1", "--yes"]);
    refused(
        &out,
        &format!("error: listing {listing} is {SELLER_0}'s, not this wallet's"),
    );
    let out = kb(b, &["market", "delist", &listing, "--yes"]);
    refused(
        &out,
        &format!("error: listing {listing} is {SELLER_0}'s, not this wallet's"),
    );
    assert_eq!(nonce(&w.dev.rpc, BUYER_0), buyer_sent);

    ok(
        s,
        &["market", "reprice", &listing, "--price", "3.5", "--yes"],
    );
    assert_eq!(
        listing_on_chain(&w, &listing),
        (true, U256::from(3_500_000))
    );
    let row = browse_row(b, &listing).expect("listed");
    assert_eq!(row["price"], "3500000", "{row:#}");
    assert_eq!(row["price_display"], "3.5 tUSD", "{row:#}");
    // What is already paid keeps its price.
    let bought: serde_json::Value =
        serde_json::from_str(&ok(b, &["market", "purchases", "--json"])).unwrap();
    assert_eq!(bought[0]["purchase"].to_string(), paid_before);
    assert_eq!(bought[0]["price"], tusd(2).to_string(), "{bought:#}");

    ok(s, &["market", "delist", &listing, "--yes"]);
    assert_eq!(
        listing_on_chain(&w, &listing),
        (false, U256::from(3_500_000))
    );
    assert_eq!(
        browse_row(b, &listing),
        None,
        "a delisted listing is browsed"
    );
    let out = kb(b, &["market", "browse"]);
    assert!(out.status.success());
    assert!(out.stdout.is_empty());
    assert_eq!(stderr_of(&out), "no active listings\n");
    let mine: serde_json::Value =
        serde_json::from_str(&ok(s, &["market", "listings", "--json"])).unwrap();
    assert_eq!(mine[0]["active"], false, "{mine:#}");
    assert_eq!(mine[0]["price"], "3500000", "{mine:#}");
    assert!(
        ok(s, &["market", "listings"])
            .trim_end()
            .ends_with("delisted"),
        "the human listing says so"
    );

    // Nobody buys it any more, and the seller cannot change it again; nothing is sent.
    let (buyer_sent, seller_sent) = (nonce(&w.dev.rpc, BUYER_0), nonce(&w.dev.rpc, SELLER_0));
    let out = kb(b, &["market", "buy", &listing, "--again", "--yes"]);
    refused(
        &out,
        &format!("error: listing {listing} was delisted by its seller"),
    );
    for args in [
        vec!["market", "reprice", &listing, "--price", "1", "--yes"],
        vec!["market", "delist", &listing, "--yes"],
    ] {
        refused(
            &kb(s, &args),
            &format!("error: listing {listing} is already delisted"),
        );
    }
    assert_eq!(nonce(&w.dev.rpc, BUYER_0), buyer_sent);
    assert_eq!(nonce(&w.dev.rpc, SELLER_0), seller_sent);

    // A purchase paid before the delisting is still delivered, at the price it was paid.
    let served = kb(s, &["market", "serve", "--once"]);
    assert!(
        stderr_of(&served).contains(&format!(
            "delivered purchase {paid_before} (listing {listing})"
        )),
        "{}",
        stderr_of(&served)
    );
    let files = tempfile::tempdir().unwrap();
    let out = files.path().join("got.txt");
    ok(
        b,
        &[
            "market",
            "fetch",
            &paid_before,
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        ok(s, &["market", "preview", &item])
    );
    assert_eq!(tusd_earnings(s)["settling"], "2");
}

#[test]
fn an_item_over_32_kib_is_refused_inline_then_listed_at_a_uri_and_bought_and_fetched_with_copies() {
    let Some(w) = world() else { return };
    let (s, b) = (w.seller.path(), w.buyer.path());
    let market = w.dev.market.to_string();
    let text = "Lorem ipsum dolor sit amet, consectetur adipiscing elit.\n".repeat(700);
    let item = consented_item(s, &text);
    let preview = ok(s, &["market", "preview", &item]);
    assert_eq!(preview, text, "nothing in it is removed");
    // The KBM1 ciphertext of these bytes, as long as keybot's will be (a fresh key and nonce
    // each time, the same length).
    let sealed = content::seal(&content::new_key().unwrap(), preview.as_bytes())
        .unwrap()
        .len();
    assert!(sealed > 32 * 1024);

    let sent = nonce(&w.dev.rpc, SELLER_0);
    let files = tempfile::tempdir().unwrap();
    let copy = files.path().join("copy.kbm");
    let out = kb(
        s,
        &[
            "market",
            "sell",
            &item,
            "--price",
            "1",
            "--token",
            "tUSD",
            "--ciphertext-out",
            copy.to_str().unwrap(),
            "--yes",
        ],
    );
    refused(
        &out,
        &format!(
            "error: the item's ciphertext is {sealed} bytes, over the 32768 a listing carries inline: \
             publish it and pass --uri (--ciphertext-out FILE writes it)"
        ),
    );
    assert_eq!(nonce(&w.dev.rpc, SELLER_0), sent, "something was sent");
    assert_eq!(counter(&w.dev.rpc, &market, "listingCount"), 0);
    assert!(!copy.exists(), "a ciphertext was written for no listing");

    // With --uri it is listed: the ciphertext is written where the file:// URI says and where
    // --ciphertext-out says, and the listing carries none of it inline.
    let at = files.path().join("published.kbm");
    let listing = sell_with(
        s,
        &item,
        "1",
        &[
            "--uri",
            &format!("file://{}", at.display()),
            "--ciphertext-out",
            copy.to_str().unwrap(),
        ],
    );
    let bytes = std::fs::read(&copy).unwrap();
    assert_eq!(bytes.len(), sealed);
    assert_eq!(std::fs::read(&at).unwrap(), bytes);
    let row = browse_row(b, &listing).expect("listed");
    assert_eq!(row["inline"], false, "{row:#}");
    assert_eq!(row["bytes"], preview.len(), "{row:#}");

    // A stranger's file:// is never read: the buyer needs the copy, passed with --ciphertext.
    let buyer_sent = nonce(&w.dev.rpc, BUYER_0);
    let err = refused(
        &kb(b, &["market", "buy", &listing, "--yes"]),
        &format!(
            "error: listing {listing} points to a file on its seller's machine (file://{}); keybot \
             reads file:// only for your own listings: get the ciphertext from the seller and pass \
             --ciphertext FILE",
            at.display()
        ),
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    assert_eq!(nonce(&w.dev.rpc, BUYER_0), buyer_sent, "something was sent");
    let bought = kb(
        b,
        &[
            "market",
            "buy",
            &listing,
            "--ciphertext",
            copy.to_str().unwrap(),
            "--yes",
        ],
    );
    assert!(bought.status.success(), "{}", stderr_of(&bought));
    assert!(
        stderr_of(&bought).contains(&format!(
            "its {sealed} bytes of ciphertext are checked against the listing"
        )),
        "{}",
        stderr_of(&bought)
    );
    let purchase = last_line(&String::from_utf8(bought.stdout).unwrap()).to_owned();
    ok(s, &["market", "serve", "--once"]);

    // The buyer's keybot kept the copy it checked before paying: fetch needs nothing more.
    let got = files.path().join("got.txt");
    ok(
        b,
        &["market", "fetch", &purchase, "--out", got.to_str().unwrap()],
    );
    assert_eq!(std::fs::read_to_string(&got).unwrap(), preview);

    // A buyer restored from the phrase alone has no copy: fetch refuses the stranger's path
    // and writes nothing, then opens the copy passed with --ciphertext.
    let restored = common::fast_home(BUYER, PW);
    let r = restored.path();
    ok(r, &["chain", "add", "local", "--rpc", &w.dev.rpc, "--yes"]);
    ok(r, &["market", "join", &market]);
    let again = files.path().join("again.txt");
    let out = fetch(r, &purchase, &again, &[]);
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        last_line(&err).ends_with(
            "keybot reads file:// only for your own listings: get the ciphertext from the seller and pass --ciphertext FILE"
        ),
        "{err}"
    );
    assert!(!again.exists());
    let out = fetch(
        r,
        &purchase,
        &again,
        &["--ciphertext", copy.to_str().unwrap()],
    );
    let err = stderr_of(&out);
    assert!(out.status.success(), "{err}");
    assert_eq!(
        last_line(&err),
        format!(
            "purchase {purchase}: {} bytes checked and written to {}",
            preview.len(),
            again.display()
        )
    );
    assert_eq!(std::fs::read_to_string(&again).unwrap(), preview);
    assert_eq!(common::mode(&again), 0o600);
}

/// `cast tx HASH FIELD`.
fn tx_field(rpc: &str, hash: &str, field: &str) -> String {
    cast(&["tx", "--rpc-url", rpc, hash, field])
}

/// The UTC date (YYYY-MM-DD) of block `block`'s timestamp, computed with `date`, not keybot.
fn block_date(rpc: &str, block: &str) -> String {
    let time = cast(&["block", block, "--field", "timestamp", "--rpc-url", rpc]);
    let out = std::process::Command::new("date")
        .args(["-u", "-d", &format!("@{time}"), "+%F"])
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// The rows of `recent:` in the human earnings table, against the chain: each names a real
/// transaction in the block it says, sent by `from`, and its kind and amount. The rows' blocks.
fn check_recent(w: &World, text: &str, expect: &[(&str, &str, &str)]) -> Vec<String> {
    let recent: Vec<&str> = text
        .lines()
        .skip_while(|l| *l != "recent:")
        .skip(1)
        .collect();
    assert_eq!(recent.len(), expect.len(), "{text}");
    let mut blocks = Vec::new();
    for (row, (kind, amount, from)) in recent.iter().zip(expect) {
        let cols: Vec<&str> = row.split_whitespace().collect();
        // "  sale              5 tUSD  block 7  0x…"
        assert_eq!(cols.len(), 6, "{row}");
        assert_eq!(&row[..2], "  ", "{row}");
        assert_eq!(
            row[2..].find(char::is_whitespace),
            Some(kind.len()),
            "{row}"
        );
        assert_eq!(
            (cols[0], cols[1], cols[2]),
            (*kind, *amount, "tUSD"),
            "{row}"
        );
        assert_eq!(cols[3], "block", "{row}");
        let hash = cols[5];
        assert_eq!(tx_field(&w.dev.rpc, hash, "blockNumber"), cols[4], "{row}");
        assert!(
            tx_field(&w.dev.rpc, hash, "from").eq_ignore_ascii_case(from),
            "{row}"
        );
        blocks.push(cols[4].to_owned());
    }
    blocks
}

#[test]
fn the_human_earnings_table_has_the_documented_rows_and_columns() {
    let Some(w) = world() else { return };
    let (s, b) = (w.seller.path(), w.buyer.path());
    let head = || cast(&["block-number", "--rpc-url", &w.dev.rpc]);
    let text = ok(s, &["market", "earnings"]);
    assert_eq!(
        text,
        format!("earnings on local at block {}\nno sales yet\n", head())
    );

    let (_, delivered) = listed(s, "Sold and delivered.\n", "5");
    let (_, waiting) = listed(s, "Sold, never delivered.\n", "2");
    ok(b, &["market", "buy", &delivered, "--yes"]);
    ok(s, &["market", "serve", "--once"]);
    ok(b, &["market", "buy", &waiting, "--yes"]);
    let text = ok(s, &["market", "earnings"]);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], format!("earnings on local at block {}", head()));
    assert_eq!(
        lines[1],
        "  earned 0 tUSD  settling 5 tUSD  pending 2 tUSD  claimable 0 tUSD  withdrawn 0 tUSD  refunded 0 tUSD",
        "{text}"
    );
    assert_eq!(lines[2], "listings:", "{text}");
    assert_eq!(lines[5], "recent:", "{text}");
    // Newest first: the second sale, then the first.
    let blocks = check_recent(&w, &text, &[("sale", "2", BUYER_0), ("sale", "5", BUYER_0)]);
    let day = |i: usize| block_date(&w.dev.rpc, &blocks[i]);
    // A listing's row: id, title, sales, revenue (what of them settled: src/market/earnings.rs),
    // refunds, disputes, the day of its last sale.
    let row = |listing: &str, revenue: &str, day: &str| {
        format!(
            "  {listing:>5}  {:<30}  {:>3} sold  {revenue:>18}  0 refunded  0 disputed  last sale {day}",
            "note.txt", 1
        )
    };
    assert_eq!(lines[3], row(&delivered, "0 tUSD", &day(1)), "{text}");
    assert_eq!(lines[4], row(&waiting, "0 tUSD", &day(0)), "{text}");

    // After the challenge window the delivered sale is earned; withdrawn, it shows as such and
    // the withdrawal heads the recent rows. The undelivered one stays pending.
    pass_time(&w.dev.rpc, THREE_DAYS + 1);
    ok(s, &["market", "withdraw", "--token", "tUSD", "--yes"]);
    let text = ok(s, &["market", "earnings"]);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[1],
        "  earned 5 tUSD  settling 0 tUSD  pending 2 tUSD  claimable 0 tUSD  withdrawn 5 tUSD  refunded 0 tUSD",
        "{text}"
    );
    assert_eq!(lines[3], row(&delivered, "5 tUSD", &day(1)), "{text}");
    assert_eq!(lines[4], row(&waiting, "0 tUSD", &day(0)), "{text}");
    assert_eq!(lines[5], "recent:", "{text}");
    check_recent(
        &w,
        &text,
        &[
            ("withdrawal", "5", SELLER_0),
            ("sale", "2", BUYER_0),
            ("sale", "5", BUYER_0),
        ],
    );
    // The same figures as --json, which the other tests check against the logs.
    let f = tusd_earnings(s);
    assert_eq!(
        (&f["earned"], &f["withdrawn"], &f["pending"]),
        (&"5".into(), &"5".into(), &"2".into())
    );
}

#[test]
fn network_name_selects_the_network_a_market_command_uses() {
    let Some(w) = world() else { return };
    let (s, b) = (w.seller.path(), w.buyer.path());
    let (_, listing) = listed(s, "Bought on the network named.\n", "1");
    // A second network on the buyer's machine, made the default: the same node, but no market
    // joined and no token added there.
    ok(b, &["chain", "add", "second", "--rpc", &w.dev.rpc, "--yes"]);
    ok(b, &["chain", "use", "second"]);
    let no_market = "error: network second has no market: `keybot market join ADDRESS` (or `keybot chain dev`, which deploys one)";
    refused(&kb(b, &["market", "browse", "--json"]), no_market);
    refused(&kb(b, &["market", "purchases", "--json"]), no_market);

    assert_eq!(
        browsed(b, &["--network", "local"]),
        vec![listing.parse::<u64>().unwrap()]
    );
    let (sent, before) = (
        nonce(&w.dev.rpc, BUYER_0),
        tusd_of(&w.dev.rpc, w.dev.tusd, BUYER_0),
    );
    // Without --network the default has no market: refused before anything is signed.
    refused(&kb(b, &["market", "buy", &listing, "--yes"]), no_market);
    assert_eq!(nonce(&w.dev.rpc, BUYER_0), sent);
    let purchase = last_line(&ok(
        b,
        &["market", "buy", &listing, "--network", "local", "--yes"],
    ))
    .to_owned();
    // The approval and the purchase, on the named network's market.
    assert_eq!(nonce(&w.dev.rpc, BUYER_0), sent + 2);
    assert_eq!(tusd_of(&w.dev.rpc, w.dev.tusd, BUYER_0), before - tusd(1));
    let bought: serde_json::Value = serde_json::from_str(&ok(
        b,
        &["market", "purchases", "--json", "--network", "local"],
    ))
    .unwrap();
    assert_eq!(bought[0]["purchase"].to_string(), purchase, "{bought:#}");
    // The default stayed the default.
    refused(&kb(b, &["market", "purchases", "--json"]), no_market);
    let balance: serde_json::Value = serde_json::from_str(&ok(
        b,
        &["wallet", "balance", "--network", "local", "--json"],
    ))
    .unwrap();
    assert!(
        balance.to_string().contains("tUSD"),
        "tUSD is local's token: {balance:#}"
    );
    let balance = ok(b, &["wallet", "balance", "--json"]);
    assert!(!balance.contains("tUSD"), "second has no token: {balance}");
}

#[test]
fn market_browse_filters_by_seller_and_by_max_price() {
    let Some(w) = world() else { return };
    let (s, b) = (w.seller.path(), w.buyer.path());
    let (_, one) = listed(s, "One tUSD.\n", "1");
    let (_, two) = listed(s, "Two tUSD.\n", "2");
    let (_, five) = listed(s, "Five tUSD.\n", "5");
    // The buyer sells too: a second seller.
    let (_, theirs) = listed(b, "The buyer's own note.\n", "2.000001");
    let id = |l: &String| l.parse::<u64>().unwrap();
    let stranger = common::fast_home(STRANGER, PW);
    let t = stranger.path();
    ok(t, &["chain", "add", "local", "--rpc", &w.dev.rpc, "--yes"]);
    ok(t, &["token", "add", &w.dev.tusd.to_string()]);
    ok(t, &["market", "join", &w.dev.market.to_string()]);

    assert_eq!(
        browsed(t, &[]),
        vec![id(&one), id(&two), id(&five), id(&theirs)]
    );
    assert_eq!(
        browsed(t, &["--seller", SELLER_0]),
        vec![id(&one), id(&two), id(&five)]
    );
    // An address in lower case is the same seller.
    assert_eq!(
        browsed(t, &["--seller", &BUYER_0.to_lowercase()]),
        vec![id(&theirs)]
    );
    // At most the price, in the listing's token: 2 takes 2 and leaves 2.000001.
    assert_eq!(browsed(t, &["--max-price", "2"]), vec![id(&one), id(&two)]);
    assert_eq!(
        browsed(t, &["--max-price", "5"]),
        vec![id(&one), id(&two), id(&five), id(&theirs)]
    );
    assert_eq!(
        browsed(t, &["--seller", SELLER_0, "--max-price", "1.5"]),
        vec![id(&one)]
    );
    assert_eq!(browsed(t, &["--seller", ELSEWHERE]), Vec::<u64>::new());
    let out = kb(t, &["market", "browse", "--seller", ELSEWHERE]);
    assert!(out.status.success());
    assert_eq!(stderr_of(&out), "no active listings\n");
    // A mistyped checksum is refused, not read as some other seller.
    let typo = SELLER_0.replace("Ef", "eF");
    refused(
        &kb(t, &["market", "browse", "--seller", &typo]),
        &format!(
            "error: {typo:?}: the EIP-55 checksum (the mix of capitals) is wrong; check for a typo"
        ),
    );
}

#[test]
fn an_https_listing_is_fetched_over_tls_and_bytes_over_the_2_mib_cap_are_refused_before_paying() {
    use common::tls::{HttpsFiles, test_pki};
    let Some(w) = world() else { return };
    let (s, b) = (w.seller.path(), w.buyer.path());
    let (ca, config) = test_pki();
    let (other_ca, _) = test_pki();
    let site = tempfile::tempdir().unwrap();
    let server = HttpsFiles::serve(site.path().to_owned(), config);
    let certs = tempfile::tempdir().unwrap();
    let (ours, theirs) = (certs.path().join("ca.pem"), certs.path().join("other.pem"));
    std::fs::write(&ours, ca).unwrap();
    std::fs::write(&theirs, other_ca).unwrap();
    // keybot with the system's CA store replaced by `roots`.
    let buyer = |roots: &Path, args: &[&str]| {
        common::keybot(b)
            .env("KEYBOT_PASSWORD", PW)
            .env("SSL_CERT_FILE", roots)
            .env_remove("SSL_CERT_DIR")
            .args(args)
            .output()
            .unwrap()
    };

    // The seller lists with its ciphertext at the https:// URI and publishes the file there.
    let item = consented_item(s, "Published over https.\n");
    let published = site.path().join("note.kbm");
    let listing = sell_with(
        s,
        &item,
        "1",
        &[
            "--uri",
            &format!("{}/note.kbm", server.url),
            "--ciphertext-out",
            published.to_str().unwrap(),
        ],
    );
    let sent = nonce(&w.dev.rpc, BUYER_0);

    // A certificate the store does not hold: nothing fetched, nothing paid.
    let out = buyer(&theirs, &["market", "buy", &listing, "--yes"]);
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        last_line(&err).starts_with("error: cannot fetch the ciphertext:"),
        "{err}"
    );
    assert_eq!(server.served(), 0);
    assert_eq!(nonce(&w.dev.rpc, BUYER_0), sent, "something was sent");

    let out = buyer(&ours, &["market", "buy", &listing, "--yes"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(server.served(), 1);
    let purchase = last_line(&String::from_utf8(out.stdout).unwrap()).to_owned();
    ok(s, &["market", "serve", "--once"]);
    // The seller takes the file down: the copy checked before paying is what fetch opens.
    std::fs::remove_file(&published).unwrap();
    let files = tempfile::tempdir().unwrap();
    let got = files.path().join("got.txt");
    let out = buyer(
        &ours,
        &["market", "fetch", &purchase, "--out", got.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(
        std::fs::read_to_string(&got).unwrap(),
        ok(s, &["market", "preview", &item])
    );
    assert_eq!(server.served(), 1, "fetched again after paying");

    // A listing whose URI answers with more than MAX_FETCH (2 MiB) is refused at the cap, and
    // exactly 2 MiB gets past it to the hash check: either way nothing is paid.
    let item = consented_item(s, "Its URI answers with too much.\n");
    let listing = sell_with(
        s,
        &item,
        "1",
        &["--uri", &format!("{}/big.kbm", server.url)],
    );
    let cap = 2 << 20;
    let (sent, before) = (
        nonce(&w.dev.rpc, BUYER_0),
        tusd_of(&w.dev.rpc, w.dev.tusd, BUYER_0),
    );
    std::fs::write(site.path().join("big.kbm"), vec![0x4b; cap + 1]).unwrap();
    let out = buyer(&ours, &["market", "buy", &listing, "--yes"]);
    refused(
        &out,
        &format!(
            "error: the ciphertext at the listing's URI is larger than any listing's (over {cap} bytes)"
        ),
    );
    std::fs::write(site.path().join("big.kbm"), vec![0x4b; cap]).unwrap();
    let out = buyer(&ours, &["market", "buy", &listing, "--yes"]);
    refused(
        &out,
        &format!(
            "error: listing {listing}'s ciphertext is not the listed one (keccak256 differs from its content hash); nothing was paid"
        ),
    );
    assert_eq!(server.served(), 3);
    assert_eq!(nonce(&w.dev.rpc, BUYER_0), sent, "something was sent");
    assert_eq!(tusd_of(&w.dev.rpc, w.dev.tusd, BUYER_0), before);
    assert_eq!(allowance(&w, BUYER_0), U256::ZERO);
}
