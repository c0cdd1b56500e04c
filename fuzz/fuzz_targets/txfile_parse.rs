#![no_main]
//! Any bytes as a transaction file or a raw transaction: see txfile_body.rs.
use libfuzzer_sys::fuzz_target;

mod txfile_body;

fuzz_target!(|data: &[u8]| {
    txfile_body::run(data);
});
