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

/// What every crate denies outside tests.
const CLIPPY_DENIED: [&str; 6] = [
    "unwrap_used",
    "expect_used",
    "panic",
    "dbg_macro",
    "print_stdout",
    "too_many_lines",
];

#[test]
fn the_workspace_denies_unsafe_code_and_unwrap_expect_panic_dbg_outside_tests() {
    let root = manifest("Cargo.toml");
    let lints = &root["workspace"]["lints"];
    assert_eq!(lints["rust"]["unsafe_code"].as_str(), Some("forbid"));
    for lint in CLIPPY_DENIED {
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
    // The one crate that calls C itself (ggml's registry, for llama.cpp's RPC backend) denies
    // unsafe code instead of forbidding it, allows it in its ffi module alone, and wants every
    // unsafe block to say why it is sound; the rest of the table as the workspace's.
    let rpc = manifest("llama-rpc/Cargo.toml");
    let lints = &rpc["lints"];
    assert_eq!(lints["rust"]["unsafe_code"].as_str(), Some("deny"));
    assert_eq!(
        lints["rust"]["unsafe_op_in_unsafe_fn"].as_str(),
        Some("deny")
    );
    for lint in ["undocumented_unsafe_blocks"].iter().chain(&CLIPPY_DENIED) {
        assert_eq!(
            lints["clippy"][lint].as_str(),
            Some("deny"),
            "llama-rpc: {lint}"
        );
    }
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("llama-rpc/src");
    for entry in std::fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let unsafe_here = text.contains("unsafe {") || text.contains("unsafe fn");
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            !unsafe_here || name == "ffi.rs",
            "unsafe code in llama-rpc/src/{name}"
        );
    }
    let lib = std::fs::read_to_string(src.join("lib.rs")).unwrap();
    assert!(
        lib.contains("#![deny(unsafe_code)]") && lib.contains("#[allow(unsafe_code)]\nmod ffi;")
    );

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
