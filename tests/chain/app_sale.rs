//! The whole sale between two homes **in the app**, as two people would do it in their
//! terminals (two keybot processes in tmux at 80x24, one dev chain): the seller adds a file to
//! the sale vault, consents and lists it; the buyer buys it in two steps (allow exactly the
//! price, then pay into escrow); the seller delivers; the buyer saves the delivery; after the
//! challenge window the seller withdraws. Each step is read from what the screens say; the
//! saved file and the balances are checked with foundry's `cast`, not through keybot.
use crate::common::{self, Tmux};
use crate::market_world::*;

use std::path::Path;

const NOTE: &str = "Supplier call notes: the spring order moves to May, same quantities.\n";

/// keybot's app in `home`, unlocked, at 80x24.
fn app(home: &Path) -> Option<Tmux> {
    let bin = assert_cmd::cargo::cargo_bin("keybot").display().to_string();
    let h = home.display().to_string();
    let t = Tmux::start(&bin, &[("KEYBOT_HOME", h.as_str())], 80, 24)?;
    t.wait_for("Your wallet is locked", 30);
    t.line(PW);
    t.wait_for("● local #", 30);
    // The chat box has the keys after unlocking: Esc leaves it, 4 opens the Market.
    t.keys(&["Escape"]);
    t.keys(&["4"]);
    t.wait_for("Sale vault", 20);
    Some(t)
}

/// Presses `key`, waits for the review to say `sentence`, checks that its keys are on the
/// screen, and signs with `y`; waits for the result `done` and goes back with Enter.
fn review_and_sign(t: &Tmux, key: &str, sentence: &str, done: &str) -> String {
    t.keys(&[key]);
    let review = t.wait_for(sentence, 60);
    assert!(review.contains("The network fee is at most"), "{review}");
    assert!(review.contains("y sign and send"), "{review}");
    t.keys(&["y"]);
    let result = t.wait_for(done, 90);
    t.keys(&["Enter"]);
    result
}

#[test]
fn a_whole_sale_between_two_homes_in_the_app() {
    let Some(w) = world() else {
        return;
    };
    let (seller_home, buyer_home) = (w.seller.path(), w.buyer.path());
    let before_seller = tusd_of(&w.dev.rpc, w.dev.tusd, SELLER_0);
    let before_buyer = tusd_of(&w.dev.rpc, w.dev.tusd, BUYER_0);
    let files = tempfile::tempdir().unwrap();
    let note = files.path().join("supplier-notes.txt");
    std::fs::write(&note, NOTE).unwrap();

    // The seller: add the file, consent, sell for 5 tUSD.
    let Some(seller) = app(seller_home) else {
        return;
    };
    seller.keys(&["f"]);
    seller.wait_for("File to add to the sale vault", 10);
    seller.line(&note.display().to_string());
    // The prompt shows the path too: wait for the new item's preview.
    seller.wait_for("Preview of item 1", 20);
    seller.keys(&["c"]);
    seller.wait_for("Signs the consent statement", 10);
    // `y s` typed at once: the s arrives before the consent is signed and is not lost.
    seller.keys(&["y", "s"]);
    seller.wait_for("List item", 20);
    seller.type_text("5");
    seller.keys(&["Tab"]);
    seller.wait_for("tUSD  (Tab: next token)", 10);
    seller.keys(&["Enter"]);
    let review = seller.wait_for("You list vault item", 60);
    assert!(review.contains("for 5 tUSD"), "{review}");
    seller.keys(&["y"]);
    seller.wait_for("Listed #1 for 5 tUSD.", 90);
    seller.keys(&["Enter"]);
    // The seller goes on with something else: the wallet screen.
    seller.keys(&["1"]);
    seller.wait_for("Accounts", 10);
    assert_eq!(
        counter(&w.dev.rpc, &w.dev.market.to_string(), "listingCount"),
        1
    );

    // The buyer: browse, buy in two steps.
    let Some(buyer) = app(buyer_home) else {
        return;
    };
    buyer.keys(&["]", "]"]);
    buyer.wait_for("supplier-notes.txt", 30);
    assert_eq!(allowance(&w, BUYER_0), tusd(0));
    review_and_sign(
        &buyer,
        "b",
        "Step 1 of 2: You allow the market",
        "Step 2 of 2: You pay 5 tUSD into escrow for listing #1",
    );
    // Straight on to step 2: the allowance is exactly the price, nothing paid yet.
    assert_eq!(allowance(&w, BUYER_0), tusd(5));
    assert_eq!(tusd_of(&w.dev.rpc, w.dev.tusd, BUYER_0), before_buyer);
    let screen = buyer.screen();
    assert!(screen.contains("y sign and send"), "{screen}");
    buyer.keys(&["y"]);
    let bought = buyer.wait_for("Bought #1 for 5 tUSD (purchase #1)", 90);
    assert!(bought.contains("waiting for the seller's key"), "{bought}");
    buyer.keys(&["Enter"]);
    assert_eq!(
        tusd_of(&w.dev.rpc, w.dev.tusd, BUYER_0),
        before_buyer - tusd(5)
    );
    assert_eq!(
        allowance(&w, BUYER_0),
        tusd(0),
        "no allowance left standing"
    );

    // The seller is told on whatever screen it is (the Market tab counts the purchase waiting
    // for the key), and approves the delivery.
    seller.wait_for("4 Market (1)", 60);
    seller.keys(&["4", "]"]);
    seller.wait_for("Waiting for delivery (1)", 60);
    review_and_sign(
        &seller,
        "a",
        "You deliver listing #1's key to the buyer of purchase #1",
        "Delivered purchase #1",
    );

    // The buyer saves the delivery to a new file.
    buyer.keys(&["]"]);
    buyer.keys(&["g"]);
    buyer.wait_for("delivered: s saves", 60);
    let saved = files.path().join("bought.txt");
    buyer.keys(&["s"]);
    // The prompt offers a default name; Ctrl-U clears it for a path of our own.
    let prompt = buyer.wait_for("Save purchase 1", 10);
    assert!(prompt.contains("~/keybot-purchase-1.txt"), "{prompt}");
    // A file that exists is refused (nothing is overwritten) and the prompt takes Enter again.
    let taken = files.path().join("taken.txt");
    std::fs::write(&taken, "mine").unwrap();
    buyer.keys(&["C-u"]);
    buyer.line(&taken.display().to_string());
    // The refusal's line (it starts with the path; "exists" is past the 80 columns) is on the
    // status line, and the prompt is back from "Saving…".
    buyer.wait_until(30, |s| {
        let status = s.lines().last().unwrap_or_default();
        (status.contains("taken.") && s.contains("Save purchase 1 to a new file")).then_some(())
    });
    assert_eq!(std::fs::read_to_string(&taken).unwrap(), "mine");
    buyer.keys(&["C-u"]);
    buyer.line(&saved.display().to_string());
    // The status line has room for the start of the notice; the log (L) has it whole.
    buyer.wait_for("purchase 1: ", 30);
    buyer.keys(&["L"]);
    let log = buyer.wait_for("Messages", 10);
    assert!(log.contains("bytes checked and written to"), "{log}");
    buyer.keys(&["Escape"]);
    assert_eq!(std::fs::read_to_string(&saved).unwrap(), NOTE);

    // Three days later the payment is the seller's: withdrawn from the Earnings screen.
    pass_time(&w.dev.rpc, THREE_DAYS + 60);
    seller.keys(&["5"]);
    seller.keys(&["r"]);
    seller.wait_for("w withdraw", 30);
    // "claimable" is a column heading from the first frame: wait for the tUSD row itself to
    // say 5 claimable (token, earned, settling, pending, claimable…), or `w` finds nothing.
    seller.wait_until(60, |s| {
        s.lines()
            .map(|l| {
                l.trim_start_matches('│')
                    .split_whitespace()
                    .collect::<Vec<_>>()
            })
            .any(|cols| cols.len() > 4 && cols[0] == "tUSD" && cols[4] == "5")
            .then_some(())
    });
    let result = review_and_sign(
        &seller,
        "w",
        "You withdraw 5 tUSD from the market",
        "Withdrew 5 tUSD to 0x9858…",
    );
    assert!(result.contains("confirmed in block"), "{result}");
    assert_eq!(
        tusd_of(&w.dev.rpc, w.dev.tusd, SELLER_0),
        before_seller + tusd(5)
    );
    let _ = common::in_ci();
}
