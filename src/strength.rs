//! How strong a new password is, one rule for the command line and the app: at least 8
//! characters, and not one that zxcvbn scores 0 ("password", "12345678", a keyboard walk):
//! those fall to the first guesses of any cracker, whatever the KDF costs. A score of 1 is
//! allowed with its warning; the choice is the user's.

/// zxcvbn's score (0 to 4) and a one-line, person-readable estimate with its advice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Strength {
    pub score: u8,
    pub hint: String,
}

/// The shortest new password accepted, in characters.
pub const MIN_CHARS: usize = 8;

pub fn estimate(password: &str) -> Strength {
    let estimate = zxcvbn::zxcvbn(password, &["keybot"]);
    let score = u8::from(estimate.score());
    let label = ["very weak", "weak", "fair", "strong", "very strong"][usize::from(score.min(4))];
    let mut hint = format!("{label} ({score}/4)");
    if let Some(fb) = estimate.feedback() {
        if let Some(w) = fb.warning() {
            hint.push_str(&format!(": {w}"));
        } else if let Some(sug) = fb.suggestions().first() {
            hint.push_str(&format!(": {sug}"));
        }
    }
    Strength { score, hint }
}

/// Accepts a new password (with its estimate, to show) or says in one line why not.
pub fn check_new(password: &str) -> Result<Strength, String> {
    if password.chars().count() < MIN_CHARS {
        return Err(format!(
            "too short: use at least {MIN_CHARS} characters (a few random words work well)"
        ));
    }
    let s = estimate(password);
    if s.score == 0 {
        return Err(format!(
            "too easy to guess, {}; a few random words work well",
            s.hint
        ));
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn score_zero_is_refused_score_one_is_warned() {
        assert!(check_new("password").unwrap_err().contains("too easy"));
        assert!(check_new("12345678").is_err());
        assert!(check_new("short").unwrap_err().contains("too short"));
        let ok = check_new("purple elephant dances quietly").unwrap();
        assert!(ok.score >= 3, "{ok:?}");
    }
}
