//! The unlock screen: the password field. Its view state and its part of `update`.
use keybot_keystore::secret::Password;

use crate::tui::action::Action;
use crate::tui::effect::Effect;
use crate::tui::error::UnlockError;
use crate::tui::state::*;

/// The unlock screen's result from the runtime.
#[derive(Debug, Clone)]
pub enum UnlockAction {
    UnlockFailed(UnlockError),
}

/// What the unlock screen asks the runtime to do.
#[derive(Debug)]
pub enum UnlockEffect {
    Unlock { password: Password },
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Unlock {
    pub input: Input,
    pub error: Option<String>,
    pub busy: bool,
}

/// The password field has the keys all the time.
pub(crate) fn typing(_: &State) -> bool {
    true
}

pub(crate) const HELP: &[(&str, &str)] = &[("Enter", "unlock with the password")];

pub(crate) fn owns(action: &Action) -> bool {
    matches!(action, Action::Unlock(_))
}

/// A wrong password (or a vault that would not open): say why and let the user type again.
pub(crate) fn result(s: &mut State, action: Action) -> Vec<Effect> {
    if let Action::Unlock(UnlockAction::UnlockFailed(why)) = action {
        s.unlock.busy = false;
        s.unlock.error = Some(why.to_string());
    }
    vec![]
}

pub(crate) fn update(s: &mut State, action: Action) -> Vec<Effect> {
    if s.unlock.busy {
        return vec![];
    }
    match action {
        Action::Edit(e) => {
            s.unlock.input.apply(&e, false);
            vec![]
        }
        Action::Submit if !s.unlock.input.text.is_empty() => {
            s.unlock.busy = true;
            s.unlock.error = None;
            let password = Password::new(s.unlock.input.text.clone());
            s.unlock.input.wipe();
            vec![Effect::Unlock(UnlockEffect::Unlock { password })]
        }
        _ => vec![],
    }
}
