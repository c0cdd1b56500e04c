//! The settings screen: the list of settings and the edit field, with validation before a
//! value is saved. Its view state and its part of `update`.
use crate::tui::action::Action;
use crate::tui::effect::Effect;
use crate::tui::state::*;

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
    fn default() -> Self {
        let item = |key, label, value: &str| Setting {
            key,
            label,
            value: value.to_owned(),
        };
        SettingsView {
            items: vec![
                item("model.default", "Default model", ""),
                item(
                    "model.gpu_layers",
                    "GPU layers (auto, all or a number)",
                    "auto",
                ),
                item("model.ctx", "Context size (tokens)", "4096"),
                item("sampling.temp", "Temperature", "0.8"),
                item("sampling.top_k", "Top-k", "40"),
                item("sampling.top_p", "Top-p", "0.95"),
                item("sampling.min_p", "Min-p", "0.05"),
                item(
                    "ui.theme",
                    "Theme (dark, light, high-contrast, or a user theme)",
                    "dark",
                ),
                item(
                    "security.autolock_minutes",
                    "Auto-lock after idle minutes (0 = never)",
                    "10",
                ),
            ],
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
                let mut effects = vec![Effect::SaveSetting {
                    key: key.to_owned(),
                    value,
                }];
                // A different model, context or GPU split takes effect now, not at the next unlock.
                if key.starts_with("model.") && !s.generating() {
                    effects.push(Effect::LoadModel);
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
    let num = |lo: f64, hi: f64| -> Result<(), String> {
        match value.parse::<f64>() {
            Ok(v) if (lo..=hi).contains(&v) => Ok(()),
            _ => Err(format!("{key}: expected a number from {lo} to {hi}")),
        }
    };
    match key {
        "model.gpu_layers" if value == "auto" || value == "all" => Ok(()),
        "model.gpu_layers" => value
            .parse::<u32>()
            .map(|_| ())
            .map_err(|_| "GPU layers: auto, all or a number".into()),
        "model.ctx" => num(128.0, 1_048_576.0),
        "sampling.temp" => num(0.0, 5.0),
        "sampling.top_k" => num(0.0, 100_000.0),
        "sampling.top_p" | "sampling.min_p" => num(0.0, 1.0),
        "security.autolock_minutes" => num(0.0, 1440.0),
        _ => Ok(()),
    }
}
