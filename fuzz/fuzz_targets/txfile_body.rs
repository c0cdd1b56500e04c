//! The body of the txfile_parse fuzz target (any bytes as a transaction file for `keybot wallet
//! sign-tx`, or as a raw transaction for `keybot chain broadcast`: a clean error or a review, never
//! a panic — an amount, a fee or a decimals value must not overflow into a small number).
//!
//! In a file of its own so that keybot's test build compiles it too: tests/fast/fuzz_seeds.rs
//! runs it over the committed seeds, and CI's fuzz-crate check can leave out the one target that
//! links all of keybot and llama.cpp.
use keybot::chain::{ChainConfig, Network, Token, safety, txfile};

/// True when the bytes made a review or decoded as a raw transaction (the seed test asks it).
pub fn run(data: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(data) else {
        return false;
    };
    let address = |s: &str| safety::parse_address(s).unwrap();
    // This machine knows one token on chain 31337, so both the listed and the unlisted paths run.
    let mut config = ChainConfig::default();
    config.networks.insert(
        "local".into(),
        Network {
            chain_id: 31337,
            rpc: "http://127.0.0.1:8545".into(),
            dev: true,
            market: None,
            market_block: None,
            tokens: vec![Token {
                symbol: "tUSD".into(),
                address: address("0x0000000000000000000000000000000000000007"),
                decimals: 6,
            }],
        },
    );
    let from = address("0x0000000000000000000000000000000000000001");
    let mut understood = false;
    if let Ok(review) = txfile::parse(text, from, &config) {
        let _ = review.lines();
        let _ = review.unsigned();
        let _ = review.challenge();
        understood = true;
    }
    if let Ok(decoded) = txfile::decode_raw(text) {
        let _ = decoded.lines(&config.networks["local"].tokens);
        understood = true;
    }
    understood
}
