#![no_main]
//! Any bytes as a vault file: parse and decode return errors, never panic.
use keybot_keystore::vault;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if vault::parse(data).is_ok() {
        let _ = vault::decode(data, &"password".into());
    }
    // The decrypted payload's own parser, reached directly.
    let _ = vault::decode_payload_for_fuzzing(data);
});
