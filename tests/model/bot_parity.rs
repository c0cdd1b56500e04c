//! The bot's tool calls against llama.cpp's own handling of the same template (the reference
//! helper, built from the vendored llama.cpp keybot links, applies and parses as llama-server
//! does with `--jinja`): the prompt with tools and a conversation with a call and its result is
//! the same byte for byte; the calls read from a set of answers are the same; both grammars are
//! lazy, wait for `<tool_call>` and keep the same tags as text.
use std::process::Command;

use keybot::bot::format::{Support, ToolFormat, tools_json};
use keybot::bot::tools::specs;
use keybot::chat::engine::{Engine, LoadRequest};
use keybot::chat::template::Message;
use serde_json::{Value, json};

use crate::common::{llama_tool, model_lock, test_model};

#[test]
fn tools_render_and_calls_parse_as_llama_cpp_does_for_the_chat_model() {
    let Some(model) = test_model("KEYBOT_TEST_MODEL") else {
        return;
    };
    let Some(reference) = llama_tool("llama-render-template") else {
        return;
    };
    let _serial = model_lock();
    let tools = tools_json(&specs(&["tUSD".to_owned()]));
    let messages = vec![
        Message::system("Be brief."),
        Message::user("What are my balances?"),
        Message::tool_calls("", [("balances".to_owned(), json!({}))]),
        Message::tool_result(r#"{"accounts":[{"ETH":"100","tokens":{"tUSD":"10000"}}]}"#),
        Message::assistant("You have 100 ETH and 10000 tUSD."),
        Message::user("Send 5 tUSD to 0x2546BcD3c84621e976D8185a91A922aE77ECEc30"),
    ];
    let dir = tempfile::tempdir().unwrap();
    let tools_file = dir.path().join("tools.json");
    let messages_file = dir.path().join("messages.json");
    std::fs::write(&tools_file, tools.to_string()).unwrap();
    std::fs::write(&messages_file, serde_json::to_vec(&messages).unwrap()).unwrap();
    let run = |extra: &[&str], stdin: Option<&str>| -> Value {
        let mut cmd = Command::new(&reference);
        cmd.arg(&model)
            .arg("--tools")
            .arg(&tools_file)
            .arg(&messages_file)
            .args(extra)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        {
            use std::io::Write;
            let mut input = child.stdin.take().unwrap();
            input.write_all(stdin.unwrap_or("").as_bytes()).unwrap();
        }
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let applied = run(&[], None);

    // The prompt, byte for byte.
    let engine = Engine::spawn().unwrap();
    let info = engine
        .load_blocking(
            LoadRequest {
                path: model.clone(),
                ..Default::default()
            },
            |_| {},
        )
        .unwrap();
    assert_eq!(info.tools, Support::Format(ToolFormat::Hermes));
    let (ours, _) = engine
        .render_tools_blocking(messages.clone(), Some(tools.clone()))
        .unwrap();
    assert_eq!(ours, applied["prompt"].as_str().unwrap());

    // The grammar: lazy, triggered at the opening tag, the tags kept as text.
    assert_eq!(applied["grammar_lazy"], true);
    let triggers: Vec<&str> = applied["triggers"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["value"].as_str())
        .collect();
    assert!(
        triggers.iter().any(|t| t.starts_with("<tool_call>")),
        "{triggers:?}"
    );
    assert_eq!(
        applied["preserved_tokens"],
        json!(ToolFormat::Hermes.preserved())
    );

    // The calls read from answers.
    for answer in [
        "<tool_call>\n{\"name\": \"balances\", \"arguments\": {}}\n</tool_call>",
        "Let me look that up.\n<tool_call>\n{\"name\": \"activity\", \"arguments\": {\"limit\": 3}}\n</tool_call>",
        "<tool_call>\n{\"name\": \"transfer\", \"arguments\": {\"amount\": \"5\", \"to\": \"0x2546BcD3c84621e976D8185a91A922aE77ECEc30\", \"token\": \"tUSD\"}}\n</tool_call>\n<tool_call>\n{\"name\": \"balances\", \"arguments\": {}}\n</tool_call>",
        "You have 100 ETH.",
    ] {
        let theirs = run(&["--parse"], Some(answer));
        let their_calls: Vec<(String, Value)> = theirs["tool_calls"]
            .as_array()
            .map(|calls| {
                calls
                    .iter()
                    .map(|c| {
                        let f = &c["function"];
                        let args = f["arguments"].as_str().unwrap();
                        (
                            f["name"].as_str().unwrap().to_owned(),
                            serde_json::from_str(args).unwrap(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        let parsed = ToolFormat::Hermes.parse(answer);
        let our_calls: Vec<(String, Value)> = parsed
            .calls
            .iter()
            .map(|c| (c.name.clone(), c.arguments.clone()))
            .collect();
        assert_eq!(our_calls, their_calls, "{answer}");
        assert_eq!(
            parsed.content,
            theirs["content"].as_str().unwrap_or("").trim(),
            "{answer}"
        );
        assert!(parsed.errors.is_empty(), "{answer}: {:?}", parsed.errors);
    }
}
