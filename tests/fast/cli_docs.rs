//! Shell completions and man pages come from the same clap definitions as the parser.
use crate::common;

use clap::CommandFactory;
use keybot::cli::args::Cli;

/// Every subcommand at every depth, as "wallet send".
fn subcommand_paths(cmd: &clap::Command, prefix: &str, out: &mut Vec<String>) {
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let path = format!("{prefix}{}", sub.get_name());
        out.push(path.clone());
        subcommand_paths(sub, &format!("{path} "), out);
    }
}

#[test]
fn bash_completion_names_every_subcommand() {
    let home = tempfile::tempdir().unwrap();
    let out = common::keybot(home.path())
        .args(["completions", "bash"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let script = String::from_utf8(out.stdout).unwrap();
    assert!(
        script.contains("complete -F _keybot"),
        "not a bash completion script"
    );
    let mut paths = Vec::new();
    subcommand_paths(&Cli::command(), "", &mut paths);
    assert!(paths.iter().any(|p| p == "wallet send"), "{paths:?}");
    for path in &paths {
        let word = path.rsplit(' ').next().unwrap();
        assert!(
            script.contains(word),
            "the completion does not offer {path:?}"
        );
    }
    // Nothing was written: completions need no home.
    assert_eq!(std::fs::read_dir(home.path()).unwrap().count(), 0);
}

#[test]
fn other_shells_and_a_bad_shell() {
    let home = tempfile::tempdir().unwrap();
    for (shell, marker) in [("zsh", "#compdef keybot"), ("fish", "complete -c keybot")] {
        let out = common::keybot(home.path())
            .args(["completions", shell])
            .output()
            .unwrap();
        assert!(out.status.success());
        assert!(
            String::from_utf8_lossy(&out.stdout).contains(marker),
            "{shell}"
        );
    }
    let out = common::keybot(home.path())
        .args(["completions", "cmd.exe"])
        .output()
        .unwrap();
    assert!(!out.status.success());
}

#[test]
fn a_man_page_for_every_subcommand() {
    let dir = tempfile::tempdir().unwrap();
    clap_mangen::generate_to(Cli::command(), dir.path()).unwrap();
    let mut paths = Vec::new();
    subcommand_paths(&Cli::command(), "", &mut paths);
    let top = std::fs::read_to_string(dir.path().join("keybot.1")).unwrap();
    assert!(
        top.starts_with(".ie") || top.contains(".TH keybot"),
        "{top}"
    );
    for path in paths {
        let file = format!("keybot-{}.1", path.replace(' ', "-"));
        let page = std::fs::read_to_string(dir.path().join(&file))
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        assert!(page.contains(".TH"), "{file}");
    }
}
