//! The market's command line as README.md's "market" section documents it, on `keybot chain
//! dev`, each promise run for real: a token off the market's allow-list refused by `market
//! sell`; `wallet send`, `market sell` and `market buy` signing nothing without a terminal and
//! without `--yes`.
//!
//! The chain is read back with `cast` (nonces, balances, the market's counters and listings),
//! never through keybot.
use crate::market_world::*;

use std::path::Path;

use alloy::primitives::U256;

/// What every sending command answers without a terminal and without `--yes`, and nothing else.
const NO_YES: &str = "error: refusing to send without confirmation: pass --yes\n";

/// Exit status 1 and exactly `line` as the last line of standard error; the whole stderr.
fn refused(out: &std::process::Output, line: &str) -> String {
    let err = stderr_of(out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(last_line(&err), line, "{err}");
    err
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
