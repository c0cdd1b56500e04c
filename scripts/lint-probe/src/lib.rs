//! Each item trips one lint the gate must turn into an error (see Cargo.toml).

/// clippy::unwrap_used, denied by this crate's [lints] as keybot's [workspace.lints] deny it.
pub fn unwraps() -> u8 {
    "1".parse::<u8>().unwrap()
}

/// clippy::needless_return: a clippy lint that only warns by default, so an error here means
/// clippy ran and `-D warnings` reached it.
pub fn returns(x: u8) -> u8 {
    return x;
}

/// unused_variables: a rustc warning, an error only under `-D warnings`.
pub fn unused() {
    let never_read = 1;
}
