//! How the next token is chosen.
//!
//! The defaults and the order of the chain are llama.cpp's (`common/common.h`,
//! `common/sampling.cpp`): top-k, top-p, min-p, temperature, then a seeded draw. The samplers
//! llama.cpp also chains by default (penalties, DRY, typical-p, XTC, top-n-sigma) are no-ops at
//! their default settings, so leaving them out changes nothing a user can see.
use llama_cpp_2::sampling::LlamaSampler;

/// llama.cpp's "pick a random seed" value (`LLAMA_DEFAULT_SEED`).
pub const RANDOM_SEED: u32 = 0xFFFF_FFFF;

#[derive(Debug, Clone, PartialEq)]
pub struct SamplingParams {
    pub temp: f32,
    pub top_k: i32,
    pub top_p: f32,
    pub min_p: f32,
    /// `RANDOM_SEED` draws a fresh seed per generation.
    pub seed: u32,
    /// Always take the most likely token: reproducible output, what tests compare.
    pub greedy: bool,
    /// A GBNF grammar (llama.cpp's) the answer must follow, rooted at `root`: the sale vault's
    /// second reader holds the model to a JSON object with it.
    pub grammar: Option<String>,
    /// With patterns here the grammar is lazy: the answer is free until what it wrote so far
    /// matches one of them whole (a regular expression), then held to the grammar from the
    /// pattern's first group on (the bot's tool calls, as llama-server does).
    pub grammar_patterns: Vec<String>,
    /// Words that also trigger the lazy grammar as tokens, where the vocabulary has them as one
    /// token (a format's `<tool_call>`).
    pub trigger_words: Vec<String>,
    /// Words shown in the answer although the model's vocabulary has them as special tokens
    /// (a tool call's `<tool_call>` tags: without them the call cannot be read).
    pub preserved: Vec<String>,
    /// The grammar's answer as a JSON schema, where it has one: a server model is held to the
    /// schema (OpenAI `response_format`) since a GBNF grammar is llama.cpp's alone.
    pub json_schema: Option<serde_json::Value>,
}

impl Default for SamplingParams {
    fn default() -> Self {
        SamplingParams {
            temp: 0.8,
            top_k: 40,
            top_p: 0.95,
            min_p: 0.05,
            seed: RANDOM_SEED,
            greedy: false,
            grammar: None,
            grammar_patterns: Vec::new(),
            trigger_words: Vec::new(),
            preserved: Vec::new(),
            json_schema: None,
        }
    }
}

#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum SamplingError {
    #[error("--temp must be a number ≥ 0 (got {0})")]
    Temp(f32),
    #[error("--top-p must be between 0 and 1 (got {0})")]
    TopP(f32),
    #[error("--min-p must be between 0 and 1 (got {0})")]
    MinP(f32),
}

impl SamplingParams {
    pub fn validate(&self) -> Result<(), SamplingError> {
        if !(self.temp.is_finite() && self.temp >= 0.0) {
            return Err(SamplingError::Temp(self.temp));
        }
        if !(0.0..=1.0).contains(&self.top_p) {
            return Err(SamplingError::TopP(self.top_p));
        }
        if !(0.0..=1.0).contains(&self.min_p) {
            return Err(SamplingError::MinP(self.min_p));
        }
        Ok(())
    }

    /// Greedy when asked, and when the temperature is 0 (as in llama.cpp, where `--temp 0`
    /// means "take the argmax").
    pub fn is_greedy(&self) -> bool {
        self.greedy || self.temp <= 0.0
    }

    pub fn build(&self) -> LlamaSampler {
        if self.is_greedy() {
            return LlamaSampler::greedy();
        }
        // min_keep 0 as in llama.cpp's common_params_sampling.
        LlamaSampler::chain_simple([
            LlamaSampler::top_k(self.top_k),
            LlamaSampler::top_p(self.top_p, 0),
            LlamaSampler::min_p(self.min_p, 0),
            LlamaSampler::temp(self.temp),
            LlamaSampler::dist(self.seed),
        ])
    }
}

/// The index of the largest logit (the first, on ties), as llama.cpp's greedy sampler picks it.
/// Greedy decoding uses this directly on the logits: the sampler would first copy the whole
/// vocabulary into a candidate array, which costs a few percent of a small model's token time.
pub fn argmax(logits: &[f32]) -> usize {
    let mut best = 0;
    let mut best_logit = f32::NEG_INFINITY;
    for (i, &l) in logits.iter().enumerate() {
        if l > best_logit {
            best = i;
            best_logit = l;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argmax_takes_the_first_largest() {
        assert_eq!(argmax(&[0.5, 2.0, -1.0, 2.0]), 1);
        assert_eq!(argmax(&[f32::NAN, -3.0]), 1);
        assert_eq!(argmax(&[]), 0);
    }

    #[test]
    fn defaults_are_llama_cpps() {
        let p = SamplingParams::default();
        assert_eq!((p.temp, p.top_k, p.top_p, p.min_p), (0.8, 40, 0.95, 0.05));
        assert!(!p.is_greedy());
    }

    #[test]
    fn temp_zero_is_greedy_and_bad_values_are_refused() {
        assert!(
            SamplingParams {
                temp: 0.0,
                ..Default::default()
            }
            .is_greedy()
        );
        assert!(
            SamplingParams {
                temp: -1.0,
                ..Default::default()
            }
            .validate()
            .is_err()
        );
        assert!(
            SamplingParams {
                top_p: 1.5,
                ..Default::default()
            }
            .validate()
            .is_err()
        );
        assert!(
            SamplingParams {
                min_p: f32::NAN,
                ..Default::default()
            }
            .validate()
            .is_err()
        );
    }
}
