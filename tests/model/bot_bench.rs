//! What the bot's tools cost a turn that calls none, measured on the engine itself (a benchmark:
//! it prints figures and asserts nothing about time). Each way — plain chat, and with the tools
//! in the prompt and their lazy grammar on the sampler — one conversation of two turns, then a
//! new conversation: the second turn is the app's case, where the conversation's KV cache already
//! holds the tools; a new conversation reuses them too (its prompt starts as the last one did).
//! Only the first turn with the tools after a load (or after a plain conversation) decodes them,
//! once. By default (`bot.tools = asked`) the app and `ask` send these questions without the
//! tools at all (`bot::route`); the last lines say so.
//!
//!   cargo test --features test-weak-kdf --test model bot_bench -- --ignored --nocapture
use std::sync::Arc;

use keybot::bot::format::ToolFormat;
use keybot::bot::turn::{Machine, Setup};
use keybot::chat::engine::{Engine, GenerateRequest, LoadRequest, Prompt, Stats};
use keybot::chat::sampling::SamplingParams;
use keybot::chat::template::Message;

use crate::common::{model_lock, test_model};

// Questions whose answers run to the token limit, so each rate is over the same length.
const FIRST: &str = "Write a long paragraph about the sea.";
const SECOND: &str = "Now a long paragraph about the mountains.";
const NEW: &str = "Write a long paragraph about the forest.";
/// Rounds of each way; the figures are their medians.
const ROUNDS: usize = 7;
/// The answer length, in tokens.
const ANSWER: u32 = 64;

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

/// A turn's time: the prefill of what is new, then the answer.
fn turn_ms(s: &Stats) -> f64 {
    s.prefill_ms + s.generate_ms
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

#[test]
#[ignore = "benchmark: prints figures"]
fn bench_what_the_tools_cost_a_turn_that_calls_none() {
    let Some(model) = test_model("KEYBOT_TEST_MODEL") else {
        return;
    };
    let _serial = model_lock();
    // One engine: two would each keep their CPU threads spinning and slow the other.
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
    let plain = |messages: Vec<Message>| {
        let req = GenerateRequest {
            prompt: Prompt::Chat(messages),
            sampling: sampling.clone(),
            max_tokens: Some(ANSWER),
        };
        turn(&engine, req)
    };
    // With the tools: the turn machine's own requests (prompt and grammar).
    let tools = |messages: Vec<Message>| {
        let req = Machine::new(Arc::clone(&setup), messages, 4).request(&sampling, Some(ANSWER));
        turn(&engine, req)
    };
    let chat = |first: &str| {
        vec![
            Message::user(FIRST),
            Message::new("assistant", first.trim()),
            Message::user(SECOND),
        ]
    };
    let run = |way: &dyn Fn(Vec<Message>) -> (String, Stats)| {
        let (a, first) = way(vec![Message::user(FIRST)]);
        let (_, second) = way(chat(&a));
        let (_, new) = way(vec![Message::user(NEW)]);
        [first, second, new]
    };
    // Per stage (first turn, second turn, a new conversation): the tools' time over plain's, a
    // pair per round. The way that goes first alternates, so a drift in the machine's speed
    // favours neither.
    let labels = ["first turn", "second turn", "a new conversation"];
    let mut ratios: [Vec<f64>; 3] = Default::default();
    let mut rates: [Vec<(f64, f64)>; 3] = Default::default();
    for round in 1..=ROUNDS {
        println!("round {round}/{ROUNDS}");
        let (p, t) = if round % 2 == 1 {
            let p = run(&plain);
            (p, run(&tools))
        } else {
            let t = run(&tools);
            (run(&plain), t)
        };
        for k in 0..3 {
            println!("{}", line(&format!("  plain, {}", labels[k]), &p[k]));
            println!("{}", line(&format!("  tools, {}", labels[k]), &t[k]));
            ratios[k].push(turn_ms(&t[k]) / turn_ms(&p[k]));
            rates[k].push((p[k].generate_tps(), t[k].generate_tps()));
        }
    }
    let report = |k: usize, what: &str| {
        let r = median(ratios[k].clone());
        let p = median(rates[k].iter().map(|x| x.0).collect());
        let t = median(rates[k].iter().map(|x| x.1).collect());
        println!(
            "{}, median of {ROUNDS} pairs: the tools add {:+.1}% {what} \
             (generation {p:.1} against {t:.1} tok/s)",
            labels[k],
            100.0 * (r - 1.0)
        );
    };
    report(1, "to the turn's time");
    report(2, "to the turn's time");
    // A plain conversation before it took the tools out of the cache: this turn decodes them,
    // as the first turn with the tools after a load does (once; a new conversation then
    // reuses them).
    report(0, "when it decodes them");
    // What the app and `ask` do with such questions under `bot.tools = asked`, the default:
    // they name nothing of the wallet or the market, so each goes without the tools and its
    // turn is the plain one. The figures with the tools are what a conversation about the
    // wallet (or `bot.tools = always`) pays for a turn that calls none.
    for q in [FIRST, SECOND, NEW] {
        let with = setup.wanted(&[Message::user(q)], false);
        println!(
            "bot.tools = asked: {q:?} goes {}",
            if with {
                "with the tools"
            } else {
                "without the tools (a plain turn: +0%)"
            }
        );
    }
}
