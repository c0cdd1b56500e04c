//! First run: create a wallet (the phrase shown once, three words typed back) or import one,
//! then the password. Its view state and its part of `update`.
use keybot_keystore::mnemonic::{WordCheck, check_word, resolve_word};
use keybot_keystore::secret::Password;
use zeroize::Zeroizing;

use crate::tui::action::{Action, Edit};
use crate::tui::effect::Effect;
use crate::tui::state::*;

/// The onboarding screen's result from the runtime.
#[derive(Debug, Clone)]
pub enum OnboardingAction {
    PhraseGenerated(Vec<String>),
}

/// What the onboarding screen asks the runtime to do.
#[derive(Debug)]
pub enum OnboardingEffect {
    GeneratePhrase {
        words: usize,
    },
    /// Create (or restore) the vault from the phrase and its BIP-39 passphrase (empty: none),
    /// and open the store.
    CreateWallet {
        phrase: SecretText,
        passphrase: SecretText,
        password: Password,
    },
}

const PHRASE_LENGTHS: [usize; 5] = [12, 15, 18, 21, 24];

/// The steps of first-run onboarding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Onboarding {
    /// Create a new wallet (0) or import a phrase (1).
    Choose { selected: usize },
    /// Waiting for the runtime to generate the phrase.
    Generating,
    /// The new phrase, shown once.
    ShowWords { words: Vec<SecretText> },
    /// Three words typed back; `asked` are word positions (0-based).
    Confirm {
        words: Vec<SecretText>,
        asked: [usize; 3],
        step: usize,
        input: Input,
        error: Option<String>,
    },
    /// Import: words typed one by one, each checked as it is typed.
    ImportWords {
        words: Vec<SecretText>,
        input: Input,
        hint: Option<String>,
    },
    /// The optional BIP-39 passphrase (the "25th word"), hidden; typed twice when not empty.
    /// Enter on an empty field: none.
    Passphrase {
        phrase: SecretText,
        first: Input,
        second: Input,
        on_second: bool,
        error: Option<String>,
    },
    /// The password, typed twice, with a strength meter.
    Password {
        phrase: SecretText,
        passphrase: SecretText,
        first: Input,
        second: Input,
        on_second: bool,
        /// zxcvbn's estimate of the first password, updated as it is typed.
        strength: Option<(u8, String)>,
        error: Option<String>,
    },
    /// The vault is being written (the KDF takes about a second).
    Writing,
}

impl Default for Onboarding {
    fn default() -> Self {
        Onboarding::Choose { selected: 0 }
    }
}

/// Keys go to a text field in every step but the choice, the words shown and the waits.
pub(crate) fn typing(s: &State) -> bool {
    !matches!(
        s.onboarding,
        Onboarding::Choose { .. }
            | Onboarding::ShowWords { .. }
            | Onboarding::Generating
            | Onboarding::Writing
    )
}

pub(crate) const HELP: &[(&str, &str)] = &[
    ("↑/↓ Enter", "choose"),
    ("Enter", "next step"),
    ("Esc", "back to the start"),
];

pub(crate) fn owns(action: &Action) -> bool {
    matches!(action, Action::Onboarding(_))
}

/// The phrase the runtime generated, to be shown once.
pub(crate) fn result(s: &mut State, action: Action) -> Vec<Effect> {
    if let Action::Onboarding(OnboardingAction::PhraseGenerated(words)) = action {
        s.onboarding = Onboarding::ShowWords {
            words: words.into_iter().map(SecretText::from).collect(),
        };
    }
    vec![]
}

pub(crate) fn update(s: &mut State, action: Action) -> Vec<Effect> {
    let state = std::mem::take(&mut s.onboarding);
    let (next, effects) = onboarding_step(state, action);
    s.onboarding = next;
    effects
}

fn onboarding_step(state: Onboarding, action: Action) -> (Onboarding, Vec<Effect>) {
    use Onboarding as O;
    match (state, action) {
        (O::Choose { selected }, Action::Up | Action::Down) => (
            O::Choose {
                selected: 1 - selected.min(1),
            },
            vec![],
        ),
        (O::Choose { selected: 0 }, Action::Submit) => (
            O::Generating,
            vec![Effect::Onboarding(OnboardingEffect::GeneratePhrase {
                words: 24,
            })],
        ),
        (O::Choose { .. }, Action::Submit) => (
            O::ImportWords {
                words: vec![],
                input: Input::default(),
                hint: None,
            },
            vec![],
        ),
        (O::ShowWords { words }, Action::Submit) => {
            let asked = pick_three(&words);
            (
                O::Confirm {
                    words,
                    asked,
                    step: 0,
                    input: Input::default(),
                    error: None,
                },
                vec![],
            )
        }
        (O::ShowWords { .. } | O::ImportWords { .. } | O::Confirm { .. }, Action::Back) => {
            (O::default(), vec![])
        }
        (o @ O::Confirm { .. }, action) => confirm(o, action),
        (o @ O::ImportWords { .. }, action) => import_words(o, action),
        (o @ O::Passphrase { .. }, action) => passphrase(o, action),
        (o @ O::Password { .. }, action) => password(o, action),
        (state, _) => (state, vec![]),
    }
}

/// Three words typed back, one at a time; a wrong one keeps the step and says which it was.
fn confirm(o: Onboarding, action: Action) -> (Onboarding, Vec<Effect>) {
    use Onboarding as O;
    let O::Confirm {
        words,
        asked,
        step,
        mut input,
        error,
    } = o
    else {
        return (o, vec![]);
    };
    match action {
        Action::Submit => {
            let typed = input.take().trim().to_lowercase();
            if typed != *words[asked[step]] {
                let error = Some(format!(
                    "that is not word #{}; look at what you wrote down",
                    asked[step] + 1
                ));
                return (
                    O::Confirm {
                        words,
                        asked,
                        step,
                        input,
                        error,
                    },
                    vec![],
                );
            }
            if step == 2 {
                let phrase = join(&words);
                return (passphrase_step(phrase), vec![]);
            }
            (
                O::Confirm {
                    words,
                    asked,
                    step: step + 1,
                    input,
                    error: None,
                },
                vec![],
            )
        }
        Action::Edit(e) => {
            input.apply(&e, false);
            (
                O::Confirm {
                    words,
                    asked,
                    step,
                    input,
                    error,
                },
                vec![],
            )
        }
        _ => (
            O::Confirm {
                words,
                asked,
                step,
                input,
                error,
            },
            vec![],
        ),
    }
}

/// Import: words typed one by one (or pasted), each checked as it is typed.
fn import_words(o: Onboarding, action: Action) -> (Onboarding, Vec<Effect>) {
    use Onboarding as O;
    let O::ImportWords {
        mut words,
        mut input,
        hint,
    } = o
    else {
        return (o, vec![]);
    };
    match action {
        Action::Submit => import_submit(words, input),
        Action::Edit(Edit::Backspace) if input.text.is_empty() => {
            words.pop();
            input.cursor = 0;
            (O::ImportWords { words, input, hint }, vec![])
        }
        Action::Edit(e) => {
            input.apply(&e, false);
            let hint = live_hint(&input.text);
            (O::ImportWords { words, input, hint }, vec![])
        }
        _ => (O::ImportWords { words, input, hint }, vec![]),
    }
}

/// Enter in the import: the typed words join the phrase; an empty line (or the 24th word)
/// finishes it, and a phrase that checks out moves on to the password.
fn import_submit(mut words: Vec<SecretText>, mut input: Input) -> (Onboarding, Vec<Effect>) {
    let typed = Zeroizing::new(input.take());
    // Enter on an empty line finishes the phrase (a 12-word prefix of a 24-word phrase can
    // pass the checksum by chance, so the length alone cannot end the entry).
    let finishing = typed.trim().is_empty();
    let mut hint = None;
    for w in typed.split_whitespace() {
        match resolve_word(w) {
            Ok(word) => words.push(SecretText::from(word.to_owned())),
            Err(h) => {
                hint = Some(h);
                break;
            }
        }
        if words.len() == 24 {
            break;
        }
    }
    if hint.is_none() && (finishing || words.len() == 24) {
        if PHRASE_LENGTHS.contains(&words.len()) {
            let phrase = join(&words);
            match keybot_keystore::Phrase::parse(&phrase) {
                Ok(_) => return (passphrase_step(phrase), vec![]),
                Err(e) => hint = Some(e.to_string()),
            }
        } else {
            hint = Some(format!(
                "{} words so far; a phrase has 12, 15, 18, 21 or 24",
                words.len()
            ));
        }
    }
    (Onboarding::ImportWords { words, input, hint }, vec![])
}

/// The keys every field typed twice (the passphrase, the password) shares: an edit goes to the
/// field in focus and clears the error; Esc on the second empties it and goes back to the first;
/// Enter on the second with a different text empties it and says so. Any other action comes
/// back for the step to handle (Enter on the first, Enter on a matching second, Esc on the first).
fn typed_twice(
    action: Action,
    what: &str,
    first: &mut Input,
    second: &mut Input,
    on_second: &mut bool,
    error: &mut Option<String>,
) -> Option<Action> {
    match action {
        Action::Edit(e) => {
            *error = None;
            if *on_second {
                second.apply(&e, false);
            } else {
                first.apply(&e, false);
            }
        }
        Action::Back if *on_second => {
            second.wipe();
            *on_second = false;
            *error = None;
        }
        Action::Submit if *on_second && first.text != second.text => {
            second.wipe();
            *error = Some(format!("the two {what} differ; type the second one again"));
        }
        other => return Some(other),
    }
    None
}

/// The password step: typing (with a live strength estimate), Esc from the second field back to
/// the first, Enter to move on, and finally the effect that writes the vault.
fn password(mut o: Onboarding, action: Action) -> (Onboarding, Vec<Effect>) {
    let Onboarding::Password {
        first,
        second,
        on_second,
        strength,
        error,
        ..
    } = &mut o
    else {
        return (o, vec![]);
    };
    let edits_first = matches!(action, Action::Edit(_)) && !*on_second;
    let Some(action) = typed_twice(action, "passwords", first, second, on_second, error) else {
        if edits_first {
            *strength = (!first.text.is_empty()).then(|| strength_of(&first.text));
        }
        return (o, vec![]);
    };
    match action {
        Action::Submit if !*on_second => match crate::strength::check_new(&first.text) {
            Ok(_) => {
                *on_second = true;
                *error = None;
            }
            Err(why) => *error = Some(why),
        },
        Action::Submit => {
            let password = Password::new(first.text.clone());
            first.wipe();
            second.wipe();
            let Onboarding::Password {
                phrase, passphrase, ..
            } = o
            else {
                unreachable!("matched above")
            };
            return (
                Onboarding::Writing,
                vec![Effect::Onboarding(OnboardingEffect::CreateWallet {
                    phrase,
                    passphrase,
                    password,
                })],
            );
        }
        _ => {}
    }
    (o, vec![])
}

/// The passphrase step: Enter on an empty field goes on without one; a passphrase is typed
/// twice (a typo would make another wallet, empty, and the real one unreachable); Esc from the
/// second field back to the first, from the first back to the start.
fn passphrase(mut o: Onboarding, action: Action) -> (Onboarding, Vec<Effect>) {
    let Onboarding::Passphrase {
        first,
        second,
        on_second,
        error,
        ..
    } = &mut o
    else {
        return (o, vec![]);
    };
    let Some(action) = typed_twice(action, "passphrases", first, second, on_second, error) else {
        return (o, vec![]);
    };
    match action {
        Action::Back => {
            first.wipe();
            return (Onboarding::default(), vec![]);
        }
        Action::Submit if !*on_second && !first.text.is_empty() => *on_second = true,
        Action::Submit => {
            let passphrase = SecretText::from(first.text.clone());
            first.wipe();
            second.wipe();
            let Onboarding::Passphrase { phrase, .. } = o else {
                unreachable!("matched above")
            };
            return (password_step(phrase, passphrase), vec![]);
        }
        _ => {}
    }
    (o, vec![])
}

fn passphrase_step(phrase: SecretText) -> Onboarding {
    Onboarding::Passphrase {
        phrase,
        first: Input::secret(),
        second: Input::secret(),
        on_second: false,
        error: None,
    }
}

fn password_step(phrase: SecretText, passphrase: SecretText) -> Onboarding {
    Onboarding::Password {
        phrase,
        passphrase,
        first: Input::secret(),
        second: Input::secret(),
        on_second: false,
        strength: None,
        error: None,
    }
}

fn live_hint(text: &str) -> Option<String> {
    let last = text.split_whitespace().last()?;
    match check_word(last) {
        WordCheck::Unknown {
            suggestion: Some(x),
        } => Some(format!("not a BIP-39 word; did you mean \"{x}\"?")),
        WordCheck::Unknown { suggestion: None } => Some("not a BIP-39 word".to_owned()),
        _ => None,
    }
}

fn strength_of(password: &str) -> (u8, String) {
    let s = crate::strength::estimate(password);
    (s.score, s.hint)
}

fn join(words: &[SecretText]) -> SecretText {
    // Sized up front so the string never reallocates and leaves an unwiped copy behind.
    let mut s = String::with_capacity(words.iter().map(|w| w.len() + 1).sum());
    for (i, w) in words.iter().enumerate() {
        if i > 0 {
            s.push(' ');
        }
        s.push_str(w);
    }
    SecretText::from(s)
}

/// Three distinct positions to ask back. Derived from the words themselves rather than a clock
/// or RNG so `update` stays pure; the words are random, so the positions are unpredictable.
fn pick_three(words: &[SecretText]) -> [usize; 3] {
    let n = words.len().max(3);
    let mut h: u64 = 0xcbf29ce484222325;
    for w in words {
        for b in w.bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(0x100000001b3);
        }
    }
    let mut picked: Vec<usize> = Vec::with_capacity(3);
    while picked.len() < 3 {
        h = h.rotate_left(17).wrapping_mul(0x9E3779B97F4A7C15) ^ 0x5851F42D4C957F2D;
        let i = (h % n as u64) as usize;
        if !picked.contains(&i) {
            picked.push(i);
        }
    }
    picked.sort_unstable();
    [picked[0], picked[1], picked[2]]
}
