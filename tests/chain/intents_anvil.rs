//! Contract calls as intents, against a real anvil with the dev chain's tUSD deployed: an
//! ERC-20 `approve` goes through the same pipeline as a transfer (the transaction service:
//! review with the call decoded, checks with a dry run, sign, record before broadcast,
//! broadcast, reconcile) and a call that would revert is refused with the contract's reason.
use crate::common;

use std::time::Duration;

use alloy::dyn_abi::DynSolValue;
use alloy::json_abi::JsonAbi;
use alloy::primitives::{Address, U256};
use alloy::providers::Provider;
use keybot::chain::send::{Outcome, Review};
use keybot::chain::{Call, ChainError, Client, Intent, Token, dev, send, token};
use keybot::service::tx;
use keybot::store::{Store, TxStatus};
use keybot_keystore::secret::Secret32;
use keybot_keystore::{AccountRef, Phrase, Wallet};

const PHRASE: &str =
    "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";

struct Chain {
    _anvil: dev::DevChain,
    client: Client,
    tusd: Token,
}

/// A fresh anvil with tUSD deployed and `fund` given ETH and tUSD, as `keybot chain dev` does.
/// None (skipped) without anvil outside CI; in CI a missing anvil fails.
async fn chain(fund: Address) -> Option<Chain> {
    // Missing in CI fails here; `dev::start` then finds the same anvil on PATH (or KEYBOT_ANVIL=…).
    common::tool("anvil")?;
    // Port 0: anvil binds a free port and says which (a port picked here and released could be
    // taken again before anvil binds it).
    let anvil = dev::start(0).await.unwrap();
    let bare = Client::new("local", &dev::network(&anvil.rpc, vec![])).unwrap();
    let tusd = dev::deploy(&bare).await.unwrap();
    dev::fund(&bare, &tusd, fund).await.unwrap();
    let client = Client::new("local", &dev::network(&anvil.rpc, vec![tusd.clone()])).unwrap();
    Some(Chain {
        _anvil: anvil,
        client,
        tusd,
    })
}

fn value(lines: &[(String, String)], label: &str) -> String {
    lines
        .iter()
        .find(|(l, _)| l == label)
        .unwrap_or_else(|| panic!("no {label:?} line in {lines:?}"))
        .1
        .clone()
}

#[test]
fn an_erc20_approve_is_reviewed_checked_signed_recorded_broadcast_and_reconciled() {
    let rt = keybot::chain::runtime().unwrap();
    let wallet = Wallet::new(Phrase::parse(PHRASE).unwrap(), "").unwrap();
    let me = wallet.address(AccountRef::Hd(0)).unwrap();
    let spender: Address = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
        .parse()
        .unwrap();
    let Some(c) = rt.block_on(chain(me)) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("keybot.db"), &Secret32::new([3; 32])).unwrap();

    // Review: the call decoded, the amount in the token's units, then the usual lines.
    let approve = token::approve(me, &c.tusd, spender, U256::from(2_500_000u64));
    let review: Review = rt
        .block_on(tx::prepare(&c.client, Some(&store), approve.clone(), &[me]))
        .unwrap();
    let lines = review.lines();
    assert_eq!(
        value(&lines, "function"),
        "approve(address spender, uint256 value)"
    );
    assert_eq!(value(&lines, "· spender"), spender.to_checksum(None));
    assert_eq!(
        value(&lines, "· value"),
        "2.5 tUSD (2500000 base units)",
        "the amount in the token's units"
    );
    assert!(value(&lines, "contract").starts_with(&c.tusd.address.to_checksum(None)));
    assert!(value(&lines, "network").contains("chain id 31337"));
    assert_eq!(value(&lines, "value"), "0 ETH");
    assert!(value(&lines, "data").starts_with("0x095ea7b3"));
    for l in ["nonce", "gas limit", "max fee", "fee cap"] {
        value(&lines, l);
    }
    assert!(
        review.gas_limit > 21_000,
        "a contract call's gas came from a dry run"
    );
    assert!(!review.has_loud_warning(), "{:?}", review.warnings);

    // Signed for the account it names only.
    let wrong = tx::sign(&wallet, AccountRef::Hd(1), &review).unwrap_err();
    assert!(matches!(wrong, ChainError::Refused(_)), "{wrong}");
    let record = tx::sign(&wallet, AccountRef::Hd(0), &review).unwrap();
    assert_eq!(record.to, c.tusd.address);
    let call = record.call.clone().expect("recorded as a call");
    assert_eq!(call.data, approve.data().to_vec());
    assert!(
        call.function
            .contains("approve(address spender, uint256 value)")
    );

    // Broadcast with mining paused: recorded first, pending on the way.
    rt.block_on(async {
        let p = c.client.provider();
        let _: () = p
            .raw_request("evm_setAutomine".into(), (false,))
            .await
            .unwrap();
        let outcome = tx::broadcast(
            &c.client,
            Some(&store),
            &record,
            Duration::from_millis(300),
            &mut |_| {},
        )
        .await
        .unwrap();
        assert_eq!(outcome, Outcome::StillPending);
        let row = store.sent_tx(record.hash).unwrap().unwrap();
        assert_eq!(row.status, TxStatus::Pending);
        assert_eq!(
            row.call,
            Some(call.clone()),
            "kind call, with its call data"
        );
        // Read back as the intent it was signed for.
        let Intent::Call(back) = Intent::from_record(&row).unwrap() else {
            panic!("a call row reads back as a call")
        };
        assert_eq!(
            (back.contract, back.args.clone()),
            (approve.contract, approve.args.clone())
        );

        // Mined, then reconciled: confirmed with its block, and the allowance is on chain.
        let _: String = p.raw_request("evm_mine".into(), ()).await.unwrap();
        send::reconcile(&c.client, &store).await.unwrap();
        let row = store.sent_tx(record.hash).unwrap().unwrap();
        assert_eq!(row.status, TxStatus::Confirmed);
        assert!(row.block.is_some());
        let allowed = token::IERC20::new(c.tusd.address, p)
            .allowance(me, spender)
            .call()
            .await
            .unwrap();
        assert_eq!(allowed, U256::from(2_500_000u64));
    });
}

#[test]
fn a_call_that_would_revert_is_refused_with_the_contracts_reason() {
    let rt = keybot::chain::runtime().unwrap();
    let wallet = Wallet::new(Phrase::parse(PHRASE).unwrap(), "").unwrap();
    let me = wallet.address(AccountRef::Hd(0)).unwrap();
    let Some(c) = rt.block_on(chain(me)) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("keybot.db"), &Secret32::new([3; 32])).unwrap();

    // OpenZeppelin refuses an approval for the zero address with a custom error (ERC-6093).
    let zero = token::approve(me, &c.tusd, Address::ZERO, U256::from(1u64));
    let e = rt
        .block_on(tx::prepare(&c.client, Some(&store), zero, &[me]))
        .unwrap_err();
    let ChainError::Revert { reason } = &e else {
        panic!("expected a revert, got {e:?}")
    };
    assert!(
        reason.starts_with("ERC20InvalidSpender(spender: 0x0000"),
        "{reason}"
    );
    assert!(e.to_string().contains("nothing was signed"), "{e}");

    // A call built from the contract's own JSON ABI decodes that contract's errors.
    let artifact: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("assets/contracts/TestToken.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let abi: JsonAbi = serde_json::from_value(artifact["abi"].clone()).unwrap();
    let faucet = abi.function("faucet").unwrap()[0].clone();
    let mut too_much = Call::new(
        me,
        c.tusd.address,
        faucet,
        vec![
            DynSolValue::Address(me),
            DynSolValue::Uint(U256::from(2_000_000_000_000u64), 256),
        ],
        U256::ZERO,
    )
    .unwrap();
    too_much.errors = abi.errors().cloned().collect();
    let e = rt
        .block_on(tx::prepare(&c.client, Some(&store), too_much, &[me]))
        .unwrap_err();
    assert_eq!(
        e,
        ChainError::Revert {
            reason: "FaucetCapExceeded(requested: 2000000000000, cap: 1000000000000)".into()
        }
    );
    // Nothing was recorded: a refused intent never reaches the store.
    assert!(store.sent_txs(31337).unwrap().is_empty());
}
