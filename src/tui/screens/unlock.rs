//! The unlock screen: the password field. Its view state and its part of `update`.
use keybot_keystore::secret::Password;

use crate::tui::action::Action;
use crate::tui::effect::Effect;
use crate::tui::state::*;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Unlock {
    pub input: Input,
    pub error: Option<String>,
    pub busy: bool,
}

pub(crate) fn unlock(s: &mut State, action: Action) -> Vec<Effect> {
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
            vec![Effect::Unlock { password }]
        }
        _ => vec![],
    }
}
