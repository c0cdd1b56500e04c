//! The settings screen: the list of settings and the edit field, with validation before a
//! value is saved. Its view state and its part of `update`.
use crate::tui::action::Action;
use crate::tui::effect::Effect;
use crate::tui::screens::chat::ChatEffect;
use crate::tui::state::*;

/// What the settings screen asks the runtime to do (the chat screen saves its model with it too).
#[derive(Debug)]
pub enum SettingsEffect {
    SaveSetting { key: String, value: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    pub key: &'static str,
    pub label: &'static str,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingsView {
    pub items: Vec<Setting>,
    pub selected: usize,
    pub editing: Option<Input>,
}

impl Default for SettingsView {
    /// The settings and their defaults, from the one table of them (`service::settings`).
    fn default() -> Self {
        use crate::service::settings::{ITEMS, Settings};
        let defaults = Settings::default();
        SettingsView {
            items: ITEMS
                .iter()
                .map(|item| Setting {
                    key: item.key,
                    label: item.label,
                    value: defaults.text(item.key).unwrap_or_default(),
                })
                .collect(),
            selected: 0,
            editing: None,
        }
    }
}

impl SettingsView {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.items
            .iter()
            .find(|s| s.key == key)
            .map(|s| s.value.as_str())
    }
}

pub(crate) fn typing(s: &State) -> bool {
    s.settings.editing.is_some()
}

pub(crate) const HELP: &[(&str, &str)] = &[
    ("↑/↓", "select"),
    ("Enter", "edit / save"),
    ("Esc", "cancel"),
];

pub(crate) use super::{no_result as result, owns_nothing as owns};

pub(crate) fn update(s: &mut State, action: Action) -> Vec<Effect> {
    let st = &mut s.settings;
    if let Some(input) = &mut st.editing {
        match action {
            Action::Edit(e) => input.apply(&e, false),
            Action::Back => st.editing = None,
            Action::Submit => {
                let value = input.text.trim().to_owned();
                st.editing = None;
                let item = &mut st.items[st.selected];
                if let Err(why) = validate_setting(item.key, &value) {
                    s.message = Some((Level::Error, why));
                    return vec![];
                }
                item.value = value.clone();
                let key = item.key;
                let mut effects = vec![Effect::Settings(SettingsEffect::SaveSetting {
                    key: key.to_owned(),
                    value,
                })];
                // A different model, context or GPU split takes effect now, not at the next unlock.
                if key.starts_with("model.") && !s.generating() {
                    effects.push(Effect::Chat(ChatEffect::LoadModel));
                }
                return effects;
            }
            _ => {}
        }
        return vec![];
    }
    match action {
        Action::Up => st.selected = st.selected.saturating_sub(1),
        Action::Down => st.selected = (st.selected + 1).min(st.items.len() - 1),
        Action::Submit => {
            let mut input = Input::default();
            input.set(&st.items[st.selected].value);
            st.editing = Some(input);
        }
        _ => {}
    }
    vec![]
}

/// Checks a setting before it is stored: a wrong value is refused with a message, never saved.
pub fn validate_setting(key: &str, value: &str) -> Result<(), String> {
    crate::service::settings::validate(key, value)
}
