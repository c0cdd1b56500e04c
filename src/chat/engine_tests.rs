//! Engine tests against real GGUF models (`KEYBOT_TEST_MODEL`: Qwen2.5-Coder-0.5B-Instruct with a
//! Jinja template; `KEYBOT_TEST_MODEL_BASE`: Gemma 3 270M without one). In CI a missing model is
//! a failure; elsewhere the test says SKIPPED and passes.
use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::*;

use crate::test_support::model_serial as serial;

fn model(var: &str) -> Option<PathBuf> {
    crate::test_support::test_model(var)
}

fn load(engine: &Engine, path: PathBuf, ctx: u32) -> ModelInfo {
    engine
        .load_blocking(
            LoadRequest {
                path,
                ctx: Some(ctx),
                threads: None,
                ..Default::default()
            },
            |_| {},
        )
        .expect("the test model loads")
}

fn greedy(prompt: Prompt, max_tokens: u32) -> GenerateRequest {
    GenerateRequest {
        prompt,
        sampling: SamplingParams {
            greedy: true,
            ..Default::default()
        },
        max_tokens: Some(max_tokens),
    }
}

#[test]
fn second_turn_prefills_only_new_tokens_and_matches_a_fresh_context() {
    let Some(path) = model("KEYBOT_TEST_MODEL") else {
        return;
    };
    let _g = serial();
    let engine = Engine::spawn().unwrap();
    load(&engine, path.clone(), 2048);

    let mut history = vec![
        Message::system("You are a terse assistant."),
        Message::user("Name the three primary colours of light, comma-separated."),
    ];
    let t1 = engine
        .generate_blocking(greedy(Prompt::Chat(history.clone()), 48), |_| {})
        .unwrap();
    assert_eq!(t1.stats.reused, 0);
    assert_eq!(t1.stats.prefilled, t1.stats.prompt_tokens);
    assert!(!t1.text.is_empty());

    history.push(Message::assistant(t1.text.clone()));
    history.push(Message::user("And of paint?"));
    let t2 = engine
        .generate_blocking(greedy(Prompt::Chat(history.clone()), 48), |_| {})
        .unwrap();
    eprintln!("turn 1: {:?}\nturn 2: {:?}", t1.stats, t2.stats);
    // Everything up to the end of the first answer came from the KV cache...
    assert!(
        t2.stats.reused >= t1.stats.prompt_tokens + t1.stats.generated - 1,
        "turn 2 reused {} tokens; turn 1 had {} prompt + {} generated",
        t2.stats.reused,
        t1.stats.prompt_tokens,
        t1.stats.generated
    );
    // ...so only the tail (end of the answer, the new user turn) was decoded.
    assert_eq!(t2.stats.prefilled, t2.stats.prompt_tokens - t2.stats.reused);
    assert!(
        t2.stats.prefilled < 20,
        "prefilled {} tokens for a short new turn",
        t2.stats.prefilled
    );

    // A fresh context given the same history answers the same (greedy).
    let fresh = Engine::spawn().unwrap();
    load(&fresh, path, 2048);
    let f2 = fresh
        .generate_blocking(greedy(Prompt::Chat(history), 48), |_| {})
        .unwrap();
    assert_eq!(f2.stats.reused, 0);
    assert_eq!(f2.text, t2.text);
}

#[test]
fn long_conversation_drops_oldest_turns_and_still_answers() {
    let Some(path) = model("KEYBOT_TEST_MODEL") else {
        return;
    };
    let _g = serial();
    let engine = Engine::spawn().unwrap();
    load(&engine, path, 512);
    let filler = "The quick brown fox jumps over the lazy dog. ".repeat(12);
    let mut history = vec![Message::system("Answer in one short sentence.")];
    let mut total_dropped = 0;
    let mut notices = Vec::new();
    for i in 0..6 {
        history.push(Message::user(format!(
            "Turn {i}. {filler} What animal jumps?"
        )));
        let turn = engine
            .generate_blocking(greedy(Prompt::Chat(history.clone()), 16), |ev| {
                if let ChatEvent::Notice(n) = ev {
                    notices.push(n.clone());
                }
            })
            .unwrap_or_else(|e| panic!("turn {i} failed: {e}"));
        assert!(turn.stats.generated > 0, "turn {i} answered nothing");
        assert!(turn.stats.ctx_used <= 512);
        if turn.dropped > 0 {
            let first = 1;
            history.drain(first..first + turn.dropped);
            total_dropped += turn.dropped;
        }
        assert_eq!(
            history[0].role, "system",
            "the system prompt is never dropped"
        );
        history.push(Message::assistant(turn.text));
    }
    assert!(
        total_dropped > 0,
        "six ~130-token turns cannot fit 512 tokens without dropping"
    );
    assert!(
        notices.iter().any(|n| n.contains("dropped")),
        "the user is told: {notices:?}"
    );
}

#[test]
fn stop_request_ends_a_long_generation_within_a_few_tokens() {
    let Some(path) = model("KEYBOT_TEST_MODEL") else {
        return;
    };
    let _g = serial();
    let engine = Engine::spawn().unwrap();
    load(&engine, path, 1024);
    let req = GenerateRequest {
        prompt: Prompt::Raw("Count from 1 to 1000, separated by commas: 1, 2, 3,".into()),
        sampling: SamplingParams {
            greedy: true,
            ..Default::default()
        },
        max_tokens: Some(900),
    };
    engine.generate(req).unwrap();
    let mut pieces = 0;
    let stop_at = loop {
        match engine
            .events()
            .recv_timeout(Duration::from_secs(60))
            .expect("pieces arrive")
        {
            ChatEvent::Piece(_) => {
                pieces += 1;
                if pieces == 10 {
                    let t = Instant::now();
                    engine.stop();
                    break t;
                }
            }
            ChatEvent::Done(r) => panic!("generation ended ({r:?}) before the stop request"),
            ChatEvent::Error(e) => panic!("{e}"),
            _ => {}
        }
    };
    let mut after_stop = 0;
    let (reason, stats) = {
        let mut stats = None;
        loop {
            match engine
                .events()
                .recv_timeout(Duration::from_secs(30))
                .expect("Done arrives")
            {
                ChatEvent::Piece(_) => after_stop += 1,
                ChatEvent::Stats(s) => stats = Some(s),
                ChatEvent::Done(r) => break (r, stats.expect("stats before done")),
                _ => {}
            }
        }
    };
    let waited = stop_at.elapsed();
    assert_eq!(reason, StopReason::Stopped);
    // The stop flag is checked per token: what arrives after it is what was already in flight
    // (a token or two, more only if this thread fell behind). Counted in tokens, not
    // milliseconds, so a loaded machine cannot fail it; `keybot bench chat` reports the time.
    assert!(
        after_stop <= 4,
        "{after_stop} pieces after the stop request"
    );
    assert!(
        stats.generated <= 10 + 4,
        "{} tokens generated",
        stats.generated
    );
    assert!(waited < Duration::from_secs(10), "stop took {waited:?}");
}

#[test]
fn bad_files_are_named_and_the_engine_keeps_serving() {
    let Some(path) = model("KEYBOT_TEST_MODEL_BASE") else {
        return;
    };
    let _g = serial();
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::spawn().unwrap();

    let err = |p: PathBuf| {
        engine
            .load_blocking(
                LoadRequest {
                    path: p,
                    ..Default::default()
                },
                |_| {},
            )
            .unwrap_err()
            .to_string()
    };
    let text = dir.path().join("notes.gguf");
    std::fs::write(&text, "just some text\n").unwrap();
    let cut = dir.path().join("cut.gguf");
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let errors = [
        (err(dir.path().join("missing.gguf")), "No such file"),
        (err(text), "not a GGUF"),
        (err(cut), "truncated"),
    ];
    for (e, needle) in &errors {
        assert!(e.contains(needle), "{e}");
        assert!(!e.contains('\n'), "one line: {e}");
    }

    // Generating with nothing loaded is an error, not a hang.
    engine.generate(greedy(Prompt::Raw("x".into()), 1)).unwrap();
    match engine
        .events()
        .recv_timeout(Duration::from_secs(5))
        .unwrap()
    {
        ChatEvent::Error(ChatError::NoModel) => {}
        other => panic!("expected NoModel, got {other:?}"),
    }

    // The same engine thread still loads and answers.
    load(&engine, path, 512);
    let e = engine
        .generate_blocking(greedy(Prompt::Raw(String::new()), 4), |_| {})
        .unwrap_err();
    assert!(matches!(e, ChatError::EmptyPrompt), "{e}");
    let e = engine
        .generate_blocking(greedy(Prompt::Chat(vec![Message::user("   ")]), 4), |_| {})
        .unwrap_err();
    assert!(matches!(e, ChatError::EmptyPrompt), "{e}");
    let t = engine
        .generate_blocking(greedy(Prompt::Raw("The sky is".into()), 4), |_| {})
        .unwrap();
    assert_eq!(t.stats.generated, 4);
}

#[test]
fn gpu_layers_on_a_cpu_only_build_is_refused() {
    if backend::GPU_COMPILED_IN {
        eprintln!("SKIPPED: this is a GPU build");
        return;
    }
    let Some(path) = model("KEYBOT_TEST_MODEL_BASE") else {
        return;
    };
    let _g = serial();
    let engine = Engine::spawn().unwrap();
    for g in [GpuLayers::Count(1), GpuLayers::All] {
        let e = engine
            .load_blocking(
                LoadRequest {
                    path: path.clone(),
                    gpu_layers: g,
                    ..Default::default()
                },
                |_| {},
            )
            .unwrap_err();
        assert!(matches!(e, ChatError::NoGpuBuild(_)), "{e}");
    }
    let info = load(&engine, path, 512);
    assert_eq!((info.gpu_layers, info.device.as_str()), (0, "CPU"));
}

#[test]
fn model_without_template_falls_back_to_chatml_or_a_named_builtin() {
    let Some(path) = model("KEYBOT_TEST_MODEL_BASE") else {
        return;
    };
    let _g = serial();
    let engine = Engine::spawn().unwrap();
    let mut notices = Vec::new();
    let info = engine
        .load_blocking(
            LoadRequest {
                path: path.clone(),
                ctx: Some(512),
                ..Default::default()
            },
            |ev| {
                if let ChatEvent::Notice(n) = ev {
                    notices.push(n.clone());
                }
            },
        )
        .unwrap();
    assert!(info.template.contains("ChatML"), "{}", info.template);
    assert!(
        notices.iter().any(|n| n.contains("no chat template")),
        "{notices:?}"
    );
    let t = engine
        .generate_blocking(greedy(Prompt::Chat(vec![Message::user("Hi")]), 4), |_| {})
        .unwrap();
    assert!(t.stats.prompt_tokens > 3);

    let req = LoadRequest {
        path,
        ctx: Some(512),
        template: Some(TemplateOverride::Name("gemma".into())),
        ..Default::default()
    };
    let info = engine.load_blocking(req, |_| {}).unwrap();
    assert!(info.template.contains("gemma"), "{}", info.template);
    let t = engine
        .generate_blocking(greedy(Prompt::Chat(vec![Message::user("Hi")]), 4), |_| {})
        .unwrap();
    assert!(t.stats.generated > 0 || t.reason == StopReason::EndOfTurn);

    let req = LoadRequest {
        path: info.path.clone(),
        ctx: Some(512),
        template: Some(TemplateOverride::Name("no-such-template".into())),
        ..Default::default()
    };
    let e = engine
        .load_blocking(req, |_| {})
        .map(|i| i.template)
        .unwrap();
    assert!(e.contains("none usable"), "{e}");
    let e = engine
        .generate_blocking(greedy(Prompt::Chat(vec![Message::user("Hi")]), 4), |_| {})
        .unwrap_err();
    assert!(e.to_string().contains("no-such-template"), "{e}");
    // Raw completion needs no template.
    engine
        .generate_blocking(greedy(Prompt::Raw("Hi".into()), 2), |_| {})
        .unwrap();
}

#[test]
fn split_characters_stream_as_whole_text() {
    let Some(path) = model("KEYBOT_TEST_MODEL") else {
        return;
    };
    let _g = serial();
    let engine = Engine::spawn().unwrap();
    load(&engine, path, 1024);
    let mut pieces = Vec::new();
    let t = engine
        .generate_blocking(
            greedy(
                Prompt::Chat(vec![Message::user(
                    "Reply with three emoji and the Chinese word for cat.",
                )]),
                24,
            ),
            |ev| {
                if let ChatEvent::Piece(p) = ev {
                    pieces.push(p.clone());
                }
            },
        )
        .unwrap();
    eprintln!("{:?}", pieces);
    assert!(!t.text.contains('\u{FFFD}'), "{:?}", t.text);
    assert!(!t.text.is_ascii(), "expected some non-ASCII: {:?}", t.text);
}

/// The sale vault's second reader holds the model's answer to a JSON object by a grammar: it
/// must be one llama.cpp accepts (a grammar it cannot parse gives no sampler at all).
#[test]
fn the_model_readers_grammar_is_accepted_by_llama_cpp() {
    let Some(path) = model("KEYBOT_TEST_MODEL") else {
        return;
    };
    let backend = backend::get().unwrap();
    let params = LlamaModelParams::default().with_vocab_only(true);
    let model = LlamaModel::load_from_file(backend, &path, &params).unwrap();
    let grammar = llama_cpp_2::sampling::LlamaSampler::grammar(
        &model,
        crate::market::model_reader::GRAMMAR,
        "root",
    );
    assert!(grammar.is_ok(), "{:?}", grammar.err());
    // A broken grammar is refused, so the check above can fail.
    assert!(llama_cpp_2::sampling::LlamaSampler::grammar(&model, "root ::= (", "root").is_err());
}

/// The second reader with the test chat model: the grammar holds the greedy answer to the JSON
/// object (it parses, whatever the model thinks), and every span it yields is text that is
/// there, of a person or a place.
#[test]
fn the_model_reader_answers_in_its_grammar_and_points_only_at_the_text() {
    use crate::market::model_reader::{self, GRAMMAR, PROMPT, parse_answer};
    let Some(path) = model("KEYBOT_TEST_MODEL") else {
        return;
    };
    let _serial = serial();
    let engine = Engine::spawn().unwrap();
    load(&engine, path, 2048);
    let text = "My neighbour Anna Kowalczyk waters the plants while we are in Lisbon.";
    let turn = engine
        .generate_blocking(
            GenerateRequest {
                prompt: Prompt::Chat(vec![Message::user(format!("{PROMPT}{text}"))]),
                sampling: SamplingParams {
                    greedy: true,
                    grammar: Some(GRAMMAR.to_owned()),
                    ..Default::default()
                },
                max_tokens: Some(model_reader::MAX_ANSWER_TOKENS),
            },
            |_| {},
        )
        .unwrap();
    assert!(
        parse_answer(&turn.text).is_some(),
        "not the grammar's JSON: {:?}",
        turn.text
    );
    let spans = model_reader::read(&engine, text).unwrap();
    let found: Vec<&str> = spans.iter().map(|s| &text[s.start..s.end]).collect();
    // Greedy with the pinned test model: this is what it answers.
    assert!(
        found.contains(&"Anna Kowalczyk") && found.contains(&"Lisbon"),
        "{found:?}"
    );
    for s in &spans {
        assert!(matches!(
            s.kind,
            keybot_redact::Kind::Name | keybot_redact::Kind::Place
        ));
        assert!(text.get(s.start..s.end).is_some_and(|t| !t.is_empty()));
    }
    eprintln!(
        "the test model found {:?} in {text:?}",
        spans
            .iter()
            .map(|s| &text[s.start..s.end])
            .collect::<Vec<_>>()
    );
}

/// A tools prompt's public head is decoded once and kept between engines (between runs of
/// `keybot ask`): the next engine loads its state, reuses it and answers exactly as the first;
/// only the head is saved (0600), never the question; a damaged file is decoded and written
/// again.
#[test]
fn a_tools_prompts_head_is_kept_between_engines_and_only_the_head() {
    use std::os::unix::fs::PermissionsExt as _;
    let Some(path) = model("KEYBOT_TEST_MODEL") else {
        return;
    };
    let _g = serial();
    let sha = super::super::registry::sha256_file(&path, |_| {}).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let prompts = dir.path().join("prompts");
    let tools = crate::bot::format::tools_json(&crate::bot::tools::specs(&["tUSD".to_owned()]));
    let ask = |question: &str| {
        let engine = Engine::spawn().unwrap();
        engine
            .load_blocking(
                LoadRequest {
                    path: path.clone(),
                    ctx: Some(2048),
                    expected_sha256: Some(sha.clone()),
                    prompt_cache: Some(prompts.clone()),
                    ..Default::default()
                },
                |_| {},
            )
            .unwrap();
        let prompt = Prompt::Tools {
            messages: vec![Message::user(question)],
            tools: tools.clone(),
        };
        engine
            .generate_blocking(greedy(prompt, 12), |_| {})
            .unwrap()
    };
    let files = || -> Vec<std::path::PathBuf> {
        std::fs::read_dir(&prompts)
            .map(|d| d.map(|e| e.unwrap().path()).collect())
            .unwrap_or_default()
    };

    let first = ask("Write one sentence about the sea.");
    assert_eq!(first.stats.reused, 0);
    let saved = files();
    assert_eq!(saved.len(), 1, "{saved:?}");
    let mode = std::fs::metadata(&saved[0]).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);

    // The next run loads the head: every token up to the question, none of it.
    let again = ask("Write one sentence about the sea.");
    let head = again.stats.reused;
    assert!(
        head > 500 && head < first.stats.prompt_tokens - 5,
        "{:?}",
        again.stats
    );
    assert_eq!(
        again.text, first.text,
        "the same answer from the loaded state"
    );
    let other = ask("And one about the mountains?");
    assert_eq!(other.stats.reused, head, "another question shares the head");
    assert_eq!(files(), saved, "nothing more was written");

    // A damaged file is not used: decoded again, and written again whole.
    let bytes = std::fs::read(&saved[0]).unwrap();
    std::fs::write(&saved[0], &bytes[..bytes.len() / 3]).unwrap();
    let repaired = ask("Write one sentence about the sea.");
    assert_eq!(repaired.stats.reused, 0);
    assert_eq!(repaired.text, first.text);
    assert_eq!(std::fs::read(&saved[0]).unwrap().len(), bytes.len());
    assert_eq!(ask("Write one sentence about the sea.").stats.reused, head);
}
