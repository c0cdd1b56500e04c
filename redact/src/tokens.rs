//! API tokens by their published prefixes: OpenAI and Anthropic (`sk-`, `sk-proj-`, `sk-ant-`),
//! Stripe secret keys (`sk_live_`, `sk_test_`, `rk_live_`), GitHub (`ghp_`, `gho_`, `ghs_`, `ghu_`,
//! `ghr_`, `github_pat_`), GitLab (`glpat-`), AWS access key ids (`AKIA`/`ASIA` + 16), Slack
//! (`xoxb-`, `xoxp-`, …), Google API keys (`AIza` + 35), Hugging Face (`hf_`), npm (`npm_`), and
//! JSON Web Tokens (`eyJ….eyJ….signature`). A prefix alone, or with a short tail ("sk-learn"), is
//! a word, not a token: each needs the length its issuer gives it.

use crate::scan::run_end;
use crate::{Kind, Span};

/// Prefix, the fewest characters after it, and the characters allowed after it.
struct Rule {
    prefix: &'static [u8],
    min_tail: usize,
    /// An exact tail length (AWS, Google), or 0 for "at least `min_tail`".
    exact_tail: usize,
    tail: fn(u8) -> bool,
}

fn alnum(b: u8) -> bool {
    b.is_ascii_alphanumeric()
}
fn alnum_dash_underscore(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}
fn upper_digit(b: u8) -> bool {
    b.is_ascii_uppercase() || b.is_ascii_digit()
}

#[rustfmt::skip] // a table: one entry a line reads better than rustfmt's layout
const RULES: &[Rule] = &[
    Rule { prefix: b"sk-", min_tail: 20, exact_tail: 0, tail: alnum_dash_underscore },
    Rule { prefix: b"sk_live_", min_tail: 20, exact_tail: 0, tail: alnum },
    Rule { prefix: b"sk_test_", min_tail: 20, exact_tail: 0, tail: alnum },
    Rule { prefix: b"rk_live_", min_tail: 20, exact_tail: 0, tail: alnum },
    Rule { prefix: b"ghp_", min_tail: 30, exact_tail: 0, tail: alnum },
    Rule { prefix: b"gho_", min_tail: 30, exact_tail: 0, tail: alnum },
    Rule { prefix: b"ghs_", min_tail: 30, exact_tail: 0, tail: alnum },
    Rule { prefix: b"ghu_", min_tail: 30, exact_tail: 0, tail: alnum },
    Rule { prefix: b"ghr_", min_tail: 30, exact_tail: 0, tail: alnum },
    Rule { prefix: b"github_pat_", min_tail: 30, exact_tail: 0, tail: alnum_dash_underscore },
    Rule { prefix: b"glpat-", min_tail: 20, exact_tail: 0, tail: alnum_dash_underscore },
    Rule { prefix: b"AKIA", min_tail: 16, exact_tail: 16, tail: upper_digit },
    Rule { prefix: b"ASIA", min_tail: 16, exact_tail: 16, tail: upper_digit },
    Rule { prefix: b"AIza", min_tail: 35, exact_tail: 35, tail: alnum_dash_underscore },
    Rule { prefix: b"xoxb-", min_tail: 10, exact_tail: 0, tail: alnum_dash_underscore },
    Rule { prefix: b"xoxp-", min_tail: 10, exact_tail: 0, tail: alnum_dash_underscore },
    Rule { prefix: b"xoxa-", min_tail: 10, exact_tail: 0, tail: alnum_dash_underscore },
    Rule { prefix: b"xoxs-", min_tail: 10, exact_tail: 0, tail: alnum_dash_underscore },
    Rule { prefix: b"xoxr-", min_tail: 10, exact_tail: 0, tail: alnum_dash_underscore },
    Rule { prefix: b"xoxe-", min_tail: 10, exact_tail: 0, tail: alnum_dash_underscore },
    Rule { prefix: b"hf_", min_tail: 30, exact_tail: 0, tail: alnum },
    Rule { prefix: b"npm_", min_tail: 36, exact_tail: 0, tail: alnum },
];

/// The shortest JWT part counted (a header `{"alg":"HS256"}` is 20 characters in base64url).
const JWT_PART: usize = 10;

/// The bytes a token can start with (each rule's prefix, and `e` of a JWT's `eyJ`): every other
/// run of word bytes is passed over without looking at the rules. (An Aho-Corasick search for
/// the prefixes was tried: its prefilter cannot skip far when the prefixes start with `s`, `e`,
/// `g`, `h`, and walking the words was as fast.)
const FIRST_BYTES: [bool; 256] = {
    let mut first = [false; 256];
    let mut k = 0;
    while k < RULES.len() {
        first[RULES[k].prefix[0] as usize] = true;
        k += 1;
    }
    first[b'e' as usize] = true;
    first
};

fn token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

pub(crate) fn find(text: &str, out: &mut Vec<Span>) {
    let t = text.as_bytes();
    let mut i = 0;
    while i < t.len() {
        if !token_byte(t[i]) {
            i += 1;
        } else if FIRST_BYTES[usize::from(t[i])] {
            i = token_at(t, i, out);
        } else {
            // `i` starts a run of token bytes that no prefix starts: the whole run is skipped.
            i = run_end(t, i, token_byte);
        }
    }
}

/// Looks for a token at `i`, the start of a run of token bytes; where to go on from (the end of
/// the token or of the run).
fn token_at(t: &[u8], i: usize, out: &mut Vec<Span>) -> usize {
    let end = run_end(t, i, token_byte);
    if let Some(jwt_end) = jwt(t, i, end) {
        out.push(Span {
            start: i,
            end: jwt_end,
            kind: Kind::ApiToken,
        });
        return jwt_end;
    }
    if let Some(tok_end) = prefixed(&t[i..end]) {
        out.push(Span {
            start: i,
            end: i + tok_end,
            kind: Kind::ApiToken,
        });
    }
    end
}

/// The length of the token at the start of `run` (a run of token bytes), if it is one.
fn prefixed(run: &[u8]) -> Option<usize> {
    let rule = RULES.iter().find(|r| run.starts_with(r.prefix))?;
    let tail = &run[rule.prefix.len()..];
    let n = tail.iter().take_while(|&&b| (rule.tail)(b)).count();
    // Tails that may hold dashes could be hyphenated words ("sk-learn-…"): a random token has a
    // digit or a capital somewhere, lowercase words do not.
    let wordlike = (rule.tail)(b'-')
        && tail[..n]
            .iter()
            .all(|b| b.is_ascii_lowercase() || matches!(b, b'-' | b'_'));
    let ok = if wordlike {
        false
    } else if rule.exact_tail > 0 {
        // AWS and Google ids have a fixed length; a longer word is something else.
        n == rule.exact_tail && tail.len() == n
    } else {
        n >= rule.min_tail
    };
    ok.then_some(rule.prefix.len() + n)
}

/// A JWT starting at `i` (where a token run `i..run_end` starts): three base64url parts joined by
/// dots, the first two JSON objects (`eyJ`).
fn jwt(t: &[u8], i: usize, run_end_: usize) -> Option<usize> {
    if !t[i..].starts_with(b"eyJ") || run_end_ - i < JWT_PART || t.get(run_end_) != Some(&b'.') {
        return None;
    }
    let p2 = run_end_ + 1;
    let p2_end = run_end(t, p2, token_byte);
    if !t[p2..].starts_with(b"eyJ") || p2_end - p2 < JWT_PART || t.get(p2_end) != Some(&b'.') {
        return None;
    }
    let p3 = p2_end + 1;
    let p3_end = run_end(t, p3, token_byte);
    (p3_end - p3 >= JWT_PART).then_some(p3_end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(text: &str) -> Vec<&str> {
        let mut out = Vec::new();
        find(text, &mut out);
        out.iter().map(|s| &text[s.start..s.end]).collect()
    }

    const JWT: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";

    #[test]
    fn tokens_of_every_issuer() {
        let tokens = [
            "sk-abcdefghijklmnopqrstuvwxyz0123456789ABCD",
            "sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z_A-B",
            "sk-ant-api03-abcdefghijklmnopqrstuvwxyz012345",
            "sk_live_51HabcdefghijklmnopqrstuvWXYZ",
            "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
            "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEF",
            "glpat-abcdefghij0123456789",
            "sk-proj-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "AKIAIOSFODNN7EXAMPLE",
            "AIzaSyDaGmWKa4JsXZ-HjGw7ISLn_3namBGewQe",
            "xoxb-1234567890-1234567890123-abcdefghijklmnopqrstuvwx",
            "hf_abcdefghijklmnopqrstuvwxyzABCDEFGH",
            JWT,
        ];
        for tok in tokens {
            let t = format!("export KEY={tok}.");
            assert_eq!(found(&t), [tok], "{tok}");
            let t = format!("Authorization: Bearer {tok}\n");
            assert_eq!(found(&t), [tok], "{tok}");
        }
    }

    #[test]
    fn words_with_a_prefix_are_kept() {
        for t in [
            "pip install sk-learn, use skeleton-key",
            "the ghp_ prefix marks a GitHub token",
            "AKIA1234 is too short, AKIAIOSFODNN7EXAMPLEX too long",
            "xoxb-123",
            "eyJhbGciOiJIUzI1NiJ9 alone is only a header",
            "hf_hub_download(repo_id)",
            "task-1234567890-abcdefghijklmnopqrstuvwxyz",
            "sk-learn-is-a-library-for-machine-learning",
            "sk-learn_is_a_library_for_machine_learning",
        ] {
            assert!(found(t).is_empty(), "{t}: {:?}", found(t));
        }
    }
}
