//! What the bot's tools cost a turn that calls none, measured on the engine itself (a benchmark:
//! it prints figures and asserts nothing about time). Two turns of one conversation, each way:
//! plain chat, and with the tools in the prompt and their lazy grammar on the sampler; the
//! second turn is the app's case, where the conversation's KV cache already holds the tools.
//! Also the second turn with the tools in the prompt but no grammar, to tell the prompt's cost
//! from the grammar's.
//!
//!   cargo test --features test-weak-kdf --test model bot_bench -- --ignored --nocapture
use std::sync::Arc;

use keybot::bot::format::ToolFormat;
use keybot::bot::turn::{Machine, Setup};
use keybot::chat::engine::{Engine, GenerateRequest, LoadRequest, Prompt, Stats};
use keybot::chat::sampling::SamplingParams;
use keybot::chat::template::Message;

use crate::common::{model_lock, test_model};

const FIRST: &str = "Write one sentence about the sea.";
const SECOND: &str = "Now one sentence about the mountains.";

fn turn(engine: &Engine, req: GenerateRequest) -> (String, Stats) {
    let t = engine.generate_blocking(req, |_| {}).unwrap();
    (t.text, t.stats)
}

fn line(label: &str, s: &Stats) -> String {
    format!(
        "{label:<34} prompt {:>5} tok ({:>5} reused) prefill {:>7.0} ms | gen {:>3} tok {:>5.1} tok/s",
        s.prompt_tokens,
        s.reused,
        s.prefill_ms,
        s.generated,
        s.generate_tps()
    )
}

#[test]
#[ignore = "benchmark: prints figures"]
fn bench_what_the_tools_cost_a_turn_that_calls_none() {
    let Some(model) = test_model("KEYBOT_TEST_MODEL") else {
        return;
    };
    let _serial = model_lock();
    let engine = Engine::spawn().unwrap();
    engine
        .load_blocking(
            LoadRequest {
                path: model,
                ctx: Some(4096),
                ..Default::default()
            },
            |_| {},
        )
        .unwrap();
    let sampling = SamplingParams {
        greedy: true,
        ..SamplingParams::default()
    };
    let setup = Arc::new(Setup::new(ToolFormat::Hermes, &["tUSD".to_owned()]).unwrap());
    let req = |prompt: Prompt, s: &SamplingParams| GenerateRequest {
        prompt,
        sampling: s.clone(),
        max_tokens: Some(64),
    };

    // Plain: two turns.
    let (a1, plain1) = turn(
        &engine,
        req(Prompt::Chat(vec![Message::user(FIRST)]), &sampling),
    );
    let second = vec![
        Message::user(FIRST),
        Message::new("assistant", a1.trim()),
        Message::user(SECOND),
    ];
    let (_, plain2) = turn(&engine, req(Prompt::Chat(second), &sampling));

    // With the tools: the turn machine's own requests (prompt and grammar).
    let m = Machine::new(Arc::clone(&setup), vec![Message::user(FIRST)], 4);
    let (t1, tools1) = turn(&engine, m.request(&sampling, Some(64)));
    let second = vec![
        Message::user(FIRST),
        Message::new("assistant", t1.trim()),
        Message::user(SECOND),
    ];
    let m = Machine::new(Arc::clone(&setup), second.clone(), 4);
    let (_, tools2) = turn(&engine, m.request(&sampling, Some(64)));
    // The same second turn, the tools in the prompt but no grammar on the sampler.
    let mut bare = m.request(&sampling, Some(64));
    bare.sampling = sampling.clone();
    let (_, tools2_bare) = turn(&engine, bare);

    println!("{}", line("plain, first turn", &plain1));
    println!("{}", line("plain, second turn", &plain2));
    println!("{}", line("tools, first turn", &tools1));
    println!("{}", line("tools, second turn", &tools2));
    println!("{}", line("tools, second turn, no grammar", &tools2_bare));
    let ms = |s: &Stats| s.prefill_ms + s.generate_ms;
    println!(
        "second turn with tools / without: time {:.2}x, generation {:.2}x",
        ms(&tools2) / ms(&plain2).max(1.0),
        plain2.generate_tps() / tools2.generate_tps().max(0.001),
    );
}
