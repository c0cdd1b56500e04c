#![no_main]
//! Any bytes as a v3 keystore file: a clean error or a key, never a panic or an unbounded KDF.
use keybot_keystore::web3;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The KDF cost is bounded by the reader itself; cheap files are decrypted for real.
    let _ = web3::decrypt(data, &"foobar".into());
});
