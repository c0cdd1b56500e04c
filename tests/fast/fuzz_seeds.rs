//! The txfile_parse fuzz target's body over its committed seeds. CI fuzzes the five targets that
//! need only the keystore, gguf.rs or the redact crate (.ci/run); this one links all of keybot and
//! llama.cpp and runs by hand (scripts/fuzz.sh). Compiling its body here keeps it from drifting
//! away from keybot's API unnoticed, and the seeds (a listed-token transfer, an ETH transfer, units
//! edge cases) must pass through the parser without a panic.
use std::path::Path;

#[path = "../../fuzz/fuzz_targets/txfile_body.rs"]
mod txfile_body;

#[test]
fn the_txfile_fuzz_body_runs_over_every_committed_seed() {
    let seeds = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/txfile_parse");
    let mut understood = Vec::new();
    for entry in std::fs::read_dir(&seeds).unwrap() {
        let path = entry.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        if txfile_body::run(&data) {
            understood.push(path.file_name().unwrap().to_string_lossy().into_owned());
        }
    }
    understood.sort();
    // The two seeds on the configured chain make reviews (one listed token, one ETH transfer), so
    // the fuzzer starts from inputs that reach the review code, not only the parser's refusals.
    for seed in ["eth.json", "token.json"] {
        assert!(
            understood.iter().any(|s| s == seed),
            "{seed}: {understood:?}"
        );
    }
}
