//! The habits the compiler holds (Cargo.toml's `[workspace.lints]`): the table denies what it
//! says, and every crate of the workspace takes it, so removing either fails here, not in a
//! review months later.
use std::path::Path;

fn manifest(rel: &str) -> toml::Table {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    std::fs::read_to_string(&path)
        .unwrap()
        .parse()
        .unwrap_or_else(|e| panic!("{rel}: {e}"))
}

#[test]
fn the_workspace_denies_unsafe_code_and_unwrap_expect_panic_dbg_outside_tests() {
    let root = manifest("Cargo.toml");
    let lints = &root["workspace"]["lints"];
    assert_eq!(lints["rust"]["unsafe_code"].as_str(), Some("forbid"));
    for lint in [
        "unwrap_used",
        "expect_used",
        "panic",
        "dbg_macro",
        "print_stdout",
        "too_many_lines",
    ] {
        assert_eq!(
            lints["clippy"][lint].as_str(),
            Some("deny"),
            "clippy::{lint} in [workspace.lints.clippy]"
        );
    }
    for member in ["Cargo.toml", "keystore/Cargo.toml", "redact/Cargo.toml"] {
        let m = manifest(member);
        assert_eq!(
            m.get("lints")
                .and_then(|l| l.get("workspace"))
                .and_then(|w| w.as_bool()),
            Some(true),
            "{member} takes the workspace's lints"
        );
    }
    // Test code may use them (clippy.toml), and only test code.
    let clippy =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("clippy.toml")).unwrap();
    for allow in [
        "allow-unwrap-in-tests",
        "allow-expect-in-tests",
        "allow-panic-in-tests",
        "allow-print-in-tests",
    ] {
        assert!(clippy.contains(&format!("{allow} = true")), "{allow}");
    }
    // The length that too_many_lines holds functions to.
    assert!(
        clippy.contains("too-many-lines-threshold = 100"),
        "clippy.toml: too-many-lines-threshold"
    );
}
