//! Official test vectors: BIP-39, BIP-32, BIP-44 (Ethereum), EIP-55, Web3 Secret Storage v3,
//! EIP-191 and EIP-712. The files are copies kept in the project's tests/fixtures.
// Test code: unwrap, expect and panic are how a test fails (Cargo.toml's [workspace.lints] deny
// them in the program).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
use std::path::PathBuf;

use keybot_keystore::derive::{Root, parse_path};
use keybot_keystore::secret::{Password, Secret32};
use keybot_keystore::web3::{self, WriteParams};
use keybot_keystore::{Address, Phrase, Wallet, derive, sign};
use serde_json::Value;

fn fixture(name: &str) -> Value {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures")
        .join(name);
    serde_json::from_slice(&std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
        .unwrap()
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap()
}

#[test]
fn bip39_trezor_all_24() {
    let v = fixture("bip39_trezor_vectors.json");
    let rows = v["english"].as_array().unwrap();
    assert_eq!(rows.len(), 24);
    for row in rows {
        let entropy = hex::decode(s(&row[0])).unwrap();
        let phrase = Phrase::from_entropy(&entropy).unwrap();
        assert_eq!(*phrase.to_phrase_string(), s(&row[1]));
        let parsed = Phrase::parse(s(&row[1])).unwrap();
        assert_eq!(*parsed.entropy(), entropy);
        let seed = parsed.to_seed("TREZOR");
        assert_eq!(hex::encode(&seed[..]), s(&row[2]));
        let root = Root::from_seed(&seed[..]).unwrap();
        assert_eq!(*root.xprv(&[]).unwrap(), s(&row[3]));
    }
}

#[test]
fn bip32_vectors_1_to_4() {
    let v = fixture("bip32_test_vectors.json");
    let vectors = v["valid"].as_array().unwrap();
    assert_eq!(vectors.len(), 4);
    for vector in vectors {
        let seed = hex::decode(s(&vector["seed_hex"])).unwrap();
        let root = Root::from_seed(&seed).unwrap();
        for chain in vector["chains"].as_array().unwrap() {
            let path = parse_path(s(&chain["path"])).unwrap();
            assert_eq!(
                *root.xprv(&path).unwrap(),
                s(&chain["ext_prv"]),
                "vector {} {}",
                vector["vector"],
                chain["path"]
            );
        }
    }
}

#[test]
fn bip32_vector_5_invalid_keys_are_refused() {
    let v = fixture("bip32_test_vectors.json");
    let bad = v["vector5_invalid_extended_keys"].as_array().unwrap();
    assert!(bad.len() >= 10);
    let accepted: Vec<String> = bad
        .iter()
        .filter(|k| {
            let key = s(&k["key"]);
            if key.starts_with("xprv") || key.starts_with("tprv") {
                Root::from_xprv(key).is_ok()
            } else {
                derive::parse_xpub(key).is_ok()
            }
        })
        .map(|k| format!("{} ({})", s(&k["key"]), k["reason"]))
        .collect();
    assert!(accepted.is_empty(), "accepted invalid keys: {accepted:#?}");
}

#[test]
fn bip44_anvil_accounts() {
    let v = fixture("bip44_eth_hardhat_anvil_vectors.json");
    let phrase = Phrase::parse(s(&v["mnemonic"])).unwrap();
    assert_eq!(hex::encode(&*phrase.entropy()), s(&v["entropy_hex"]));
    let wallet = Wallet::new(phrase, "").unwrap();
    let accounts = v["accounts"].as_array().unwrap();
    let addrs = wallet.addresses(0, accounts.len() as u32).unwrap();
    for (acc, addr) in accounts.iter().zip(&addrs) {
        let i = acc["index"].as_u64().unwrap() as u32;
        assert_eq!(addr.to_checksum(None), s(&acc["address"]));
        let key = wallet
            .private_key(keybot_keystore::AccountRef::Hd(i))
            .unwrap();
        assert_eq!(
            format!("0x{}", hex::encode(key.expose())),
            s(&acc["private_key"])
        );
    }
    for m in v["mycrypto_vectors_with_passphrase"].as_array().unwrap() {
        let w = Wallet::new(
            Phrase::parse(s(&m["mnemonic"])).unwrap(),
            s(&m["passphrase"]),
        )
        .unwrap();
        let path = parse_path(s(&m["path"])).unwrap();
        let index = path[4];
        assert_eq!(
            w.addresses(index, 1).unwrap()[0].to_checksum(None),
            s(&m["address"])
        );
    }
}

#[test]
fn eip55_checksums() {
    let v = fixture("eip55_checksum_vectors.json");
    for group in ["all_caps", "all_lower", "normal"] {
        for a in v[group].as_array().unwrap() {
            let expected = s(a);
            let parsed: Address = expected.to_lowercase().parse().unwrap();
            assert_eq!(parsed.to_checksum(None), expected);
            assert!(Address::parse_checksummed(expected, None).is_ok());
        }
    }
}

fn check_v3(
    json: &Value,
    password: &str,
    expected_key: Option<&str>,
    expected_address: Option<&str>,
) {
    let text = serde_json::to_vec(json).unwrap();
    let d = web3::decrypt(&text, &Password::from(password)).unwrap();
    if let Some(k) = expected_key {
        assert_eq!(format!("{:0>64}", k), hex::encode(d.key.expose()));
    }
    if let Some(a) = expected_address {
        assert_eq!(d.address, a.parse::<Address>().unwrap());
    }
    assert!(matches!(
        web3::decrypt(&text, &Password::from("not the password")),
        Err(keybot_keystore::Error::WrongPassword)
    ));
}

#[test]
fn web3_v3_official_vectors() {
    let v = fixture("web3_secret_storage_v3_geth_vectors.json");
    for (name, t) in v["v3_test_vectors"].as_object().unwrap() {
        eprintln!("v3 vector {name}");
        check_v3(&t["json"], s(&t["password"]), Some(s(&t["priv"])), None);
    }
    let vl = &v["very_light_scrypt"];
    check_v3(
        &vl["json"],
        s(&vl["password"]),
        None,
        Some(s(&vl["address"])),
    );
    for (name, t) in v["geth_keystore_dir_good_files"].as_object().unwrap() {
        eprintln!("geth keystore {name}");
        check_v3(&t["json"], s(&t["password"]), None, Some(s(&t["address"])));
    }
}

#[test]
fn web3_v3_accepts_capital_crypto_and_missing_address() {
    let v = fixture("web3_secret_storage_v3_geth_vectors.json");
    let mut t = v["geth_keystore_dir_good_files"]["aaa"]["json"].clone();
    let obj = t.as_object_mut().unwrap();
    let crypto = obj.remove("crypto").unwrap();
    obj.insert("Crypto".into(), crypto);
    obj.remove("address");
    check_v3(
        &t,
        "foobar",
        None,
        Some("0xf466859ead1932d743d622cb74fc058882e8648a"),
    );
}

#[test]
fn web3_v3_bad_files_say_what_is_wrong() {
    let v = fixture("web3_secret_storage_v3_geth_vectors.json");
    let good = v["geth_keystore_dir_good_files"]["aaa"]["json"].clone();
    let pw = Password::from("foobar");
    let mut unknown_kdf = good.clone();
    unknown_kdf["crypto"]["kdf"] = "argon2".into();
    let mut bad_mac = good.clone();
    bad_mac["crypto"]["mac"] = "00".repeat(32).into();
    let mut huge = good.clone();
    huge["crypto"]["kdfparams"]["n"] = (1u64 << 30).into();
    let text = serde_json::to_string(&good).unwrap();
    for (bytes, want) in [
        (serde_json::to_vec(&unknown_kdf).unwrap(), "argon2"),
        (serde_json::to_vec(&huge).unwrap(), "out of bounds"),
        (
            text.as_bytes()[..text.len() / 2].to_vec(),
            "not a v3 keystore",
        ),
        (vec![0xff, 0xfe, 0x00], "UTF-8"),
    ] {
        let e = web3::decrypt(&bytes, &pw)
            .err()
            .expect("must fail")
            .to_string();
        assert!(e.contains(want), "{e}");
        assert!(!e.contains('\n'));
    }
    assert!(matches!(
        web3::decrypt(&serde_json::to_vec(&bad_mac).unwrap(), &pw),
        Err(keybot_keystore::Error::WrongPassword)
    ));
}

#[test]
fn web3_export_round_trips_with_geth_parameters() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("key.json");
    let key = Secret32::new([0x42; 32]);
    let pw = Password::from("export pw");
    let addr = web3::export(&out, &key, &pw, WriteParams::GETH_STANDARD).unwrap();
    let json: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(json["crypto"]["kdfparams"]["n"], 262144);
    assert_eq!(json["crypto"]["kdfparams"]["r"], 8);
    assert_eq!(json["crypto"]["kdfparams"]["p"], 1);
    assert_eq!(json["crypto"]["cipher"], "aes-128-ctr");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&out).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let d = web3::decrypt(&std::fs::read(&out).unwrap(), &pw).unwrap();
    assert_eq!(d.key.expose(), key.expose());
    assert_eq!(d.address, addr);
    // never overwrites
    assert!(web3::export(&out, &key, &pw, WriteParams::GETH_STANDARD).is_err());
}

#[test]
fn eip191_personal_sign_vectors() {
    let v = fixture("eip191_personal_sign_vectors.json");
    let key =
        Secret32::from_slice(&hex::decode(s(&v["private_key"]).trim_start_matches("0x")).unwrap())
            .unwrap();
    let signer = derive::signer_from_key(&key).unwrap();
    let address: Address = s(&v["address"]).parse().unwrap();
    assert_eq!(signer.address(), address);
    for t in v["vectors"].as_array().unwrap() {
        let message = match s(&t["message_kind"]) {
            "bytes" => s(&t["message_hex"]).to_owned(),
            _ => s(&t["message"]).to_owned(),
        };
        let bytes = sign::message_bytes(&message);
        assert_eq!(
            alloy::primitives::eip191_hash_message(&bytes).to_string(),
            s(&t["eip191_hash"])
        );
        let sig = sign::sign_message(&signer, &bytes).unwrap();
        assert_eq!(sign::signature_hex(&sig), s(&t["signature"]));
        let parsed = sign::parse_signature(s(&t["signature"])).unwrap();
        assert!(sign::verify_message(address, &bytes, &parsed));
        assert!(!sign::verify_message(address, b"something else", &parsed));
    }
}

/// Accounts 0–9 of the anvil phrase and personal_sign signatures as eth-account (Python, an
/// implementation that shares no code with keybot's crates) computes them; the generator and its
/// pinned versions are in scripts/vectors/.
#[test]
fn independent_eth_account_vectors() {
    let v = fixture("independent_vectors.json");
    assert!(s(&v["generator"]).starts_with("eth-account "));
    let wallet = Wallet::new(Phrase::parse(s(&v["mnemonic"])).unwrap(), "").unwrap();
    let accounts = v["accounts"].as_array().unwrap();
    assert_eq!(accounts.len(), 10);
    let addrs = wallet.addresses(0, 10).unwrap();
    for (acc, addr) in accounts.iter().zip(&addrs) {
        let i = acc["index"].as_u64().unwrap() as u32;
        assert_eq!(addr.to_checksum(None), s(&acc["address"]), "account {i}");
        let key = wallet
            .private_key(keybot_keystore::AccountRef::Hd(i))
            .unwrap();
        assert_eq!(
            format!("0x{}", hex::encode(key.expose())),
            s(&acc["private_key"])
        );
    }
    let ps = &v["personal_sign"];
    let key =
        Secret32::from_slice(&hex::decode(s(&ps["private_key"]).trim_start_matches("0x")).unwrap())
            .unwrap();
    let signer = derive::signer_from_key(&key).unwrap();
    assert_eq!(signer.address().to_checksum(None), s(&ps["address"]));
    let vectors = ps["vectors"].as_array().unwrap();
    assert!(vectors.iter().any(|t| s(&t["message"]) == "hello world"));
    for t in vectors {
        let bytes = sign::message_bytes(s(&t["message"]));
        assert_eq!(
            alloy::primitives::eip191_hash_message(&bytes).to_string(),
            s(&t["eip191_hash"])
        );
        let sig = sign::sign_message(&signer, &bytes).unwrap();
        assert_eq!(
            sign::signature_hex(&sig),
            s(&t["signature"]),
            "{:?}",
            s(&t["message"])
        );
    }
}

#[test]
fn eip712_mail_example() {
    let v = fixture("eip712_mail_vector.json");
    let json = serde_json::to_string(&v["typed_data"]).unwrap();
    assert_eq!(
        sign::typed_data_hash(&json).unwrap().to_string(),
        s(&v["signing_hash"])
    );
    let key =
        Secret32::from_slice(&hex::decode(s(&v["private_key"]).trim_start_matches("0x")).unwrap())
            .unwrap();
    let signer = derive::signer_from_key(&key).unwrap();
    assert_eq!(signer.address().to_checksum(None), s(&v["signer_address"]));
    let sig = sign::sign_typed_data(&signer, &json).unwrap();
    assert_eq!(sign::signature_hex(&sig), s(&v["signature_65"]));
    assert!(sign::typed_data_hash("{\"not\": \"typed data\"}").is_err());
}

fn key_signer(hex_key: &str) -> alloy::signers::local::PrivateKeySigner {
    let key =
        Secret32::from_slice(&hex::decode(hex_key.trim_start_matches("0x")).unwrap()).unwrap();
    derive::signer_from_key(&key).unwrap()
}

#[test]
fn eip155_legacy_transaction_example() {
    use alloy::consensus::TxLegacy;
    use alloy::primitives::{TxKind, U256};
    use keybot_keystore::tx::{UnsignedTx, sign_transaction};
    let v = fixture("eip155_legacy_tx_vector.json");
    let t = &v["tx"];
    let tx = TxLegacy {
        chain_id: Some(t["chain_id"].as_u64().unwrap()),
        nonce: t["nonce"].as_u64().unwrap(),
        gas_price: s(&t["gas_price"]).parse().unwrap(),
        gas_limit: t["gas_limit"].as_u64().unwrap(),
        to: TxKind::Call(s(&t["to"]).parse().unwrap()),
        value: s(&t["value"]).parse::<U256>().unwrap(),
        input: Default::default(),
    };
    let tx = UnsignedTx::Legacy(tx);
    assert_eq!(tx.signature_hash().to_string(), s(&v["signing_hash"]));
    let signed = sign_transaction(&key_signer(s(&v["private_key"])), tx.clone()).unwrap();
    assert_eq!(signed.raw.to_string(), s(&v["signed_tx_rlp"]));
    assert_eq!(signed.chain_id, 1);
    assert_eq!(signed.nonce, 9);
    assert_eq!(signed.hash, alloy::primitives::keccak256(&signed.raw));

    // Without a chain id the signature would be valid on every chain: refused.
    let UnsignedTx::Legacy(mut bare) = tx else {
        unreachable!()
    };
    bare.chain_id = None;
    let err = sign_transaction(&key_signer(s(&v["private_key"])), UnsignedTx::Legacy(bare));
    assert!(err.unwrap_err().to_string().contains("chain id"));
}

#[test]
fn eip1559_ethereumjs_vectors() {
    use alloy::consensus::TxEip1559;
    use alloy::primitives::{TxKind, U256};
    use keybot_keystore::tx::{UnsignedTx, sign_transaction};
    let v = fixture("eip1559_ethereumjs_signed_tx_vectors.json");
    let vectors = v["vectors"].as_array().unwrap();
    assert!(vectors.len() >= 5);
    for t in vectors {
        let n = |k: &str| t[k].as_u64().unwrap();
        let tx = TxEip1559 {
            chain_id: n("chainId"),
            nonce: n("nonce"),
            gas_limit: n("gasLimit"),
            max_fee_per_gas: n("maxFeePerGas").into(),
            max_priority_fee_per_gas: n("maxInclusionFeePerGas").into(),
            to: TxKind::Call(s(&t["to"]).parse().unwrap()),
            value: U256::from(n("value")),
            access_list: Default::default(),
            input: Default::default(),
        };
        let signed =
            sign_transaction(&key_signer(s(&t["privateKey"])), UnsignedTx::Eip1559(tx)).unwrap();
        assert_eq!(
            signed.raw.to_string(),
            s(&t["raw_eip2718"]),
            "nonce {}",
            n("nonce")
        );
        assert_eq!(signed.hash, alloy::primitives::keccak256(&signed.raw));
    }
}

#[test]
fn web3_scrypt_parameters_that_overflow_are_refused_without_a_panic() {
    let v = fixture("web3_secret_storage_v3_geth_vectors.json");
    let good = v["geth_keystore_dir_good_files"]["aaa"]["json"].clone();
    for (n, r, p) in [
        (1u64 << 63, 64u64, 64u64),
        (1u64 << 62, 8, 1),
        (1u64 << 57, 64, 1),
        (1u64 << 40, 64, 64),
    ] {
        let mut huge = good.clone();
        huge["crypto"]["kdfparams"]["n"] = n.into();
        huge["crypto"]["kdfparams"]["r"] = r.into();
        huge["crypto"]["kdfparams"]["p"] = p.into();
        let e = web3::decrypt(
            &serde_json::to_vec(&huge).unwrap(),
            &Password::from("foobar"),
        )
        .err()
        .expect("must fail")
        .to_string();
        assert!(e.contains("out of bounds"), "n={n} r={r} p={p}: {e}");
    }
}
