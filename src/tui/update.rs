//! The app's state machine: `update(state, action) -> effects`. Pure: no I/O, no clock, no
//! terminal — everything it needs arrives in the action, everything it wants done leaves as an
//! [`Effect`]. That keeps every screen's behaviour testable without a terminal or a model.
use super::action::Action;
use super::effect::Effect;
use super::screens::wallet::chain as onchain;
use super::screens::{chat, onboarding, settings, unlock, wallet};
use super::state::*;

pub use super::screens::chat::SUGGESTED_MODEL;
pub use super::screens::settings::validate_setting;

pub fn update(s: &mut State, action: Action) -> Vec<Effect> {
    match action {
        Action::Tick(now) => return tick(s, now),
        Action::UserActivity => {
            s.last_activity_ms = s.now_ms;
            return vec![];
        }
        _ => {}
    }
    // Overlays take keys first.
    if let Some(overlay) = s.overlay.clone()
        && let Some(effects) = overlay_action(s, &overlay, &action)
    {
        return effects;
    }
    match action {
        Action::ToggleHelp => {
            s.overlay = if s.overlay == Some(Overlay::Help) {
                None
            } else {
                Some(Overlay::Help)
            };
            vec![]
        }
        Action::Quit => {
            if s.generating() {
                s.overlay = Some(Overlay::ConfirmQuit);
                vec![]
            } else {
                s.quit = true;
                vec![Effect::Quit]
            }
        }
        Action::Lock if s.unlocked() => lock(s, "locked"),
        Action::Screen(screen) if s.unlocked() && Screen::MAIN.contains(&screen) => {
            switch_to(s, screen)
        }
        Action::NextScreen if s.unlocked() => {
            let i = Screen::MAIN
                .iter()
                .position(|x| *x == s.screen)
                .unwrap_or(0);
            switch_to(s, Screen::MAIN[(i + 1) % Screen::MAIN.len()])
        }
        Action::Notice(m) => {
            s.message = Some((Level::Info, m));
            vec![]
        }
        Action::Error(m) => {
            s.message = Some((Level::Error, m));
            if s.screen == Screen::Onboarding && s.onboarding == Onboarding::Writing {
                s.onboarding = Onboarding::default();
            }
            vec![]
        }
        Action::PhraseGenerated(words) => {
            s.onboarding = Onboarding::ShowWords {
                words: words.into_iter().map(SecretText::from).collect(),
            };
            vec![]
        }
        Action::WalletReady { accounts } => {
            s.onboarding = Onboarding::default();
            s.unlock = Unlock {
                input: Input::secret(),
                ..Unlock::default()
            };
            s.wallet.accounts = accounts
                .into_iter()
                .map(|(index, address, label)| Account {
                    index,
                    address,
                    label,
                })
                .collect();
            s.wallet.selected = 0;
            s.screen = Screen::Chat;
            s.message = None;
            s.last_activity_ms = s.now_ms;
            vec![
                Effect::ListConversations { search: None },
                Effect::LoadModel,
            ]
        }
        Action::UnlockFailed(why) => {
            s.unlock.busy = false;
            s.unlock.error = Some(why);
            vec![]
        }
        Action::AccountsDerived(accounts) => {
            s.wallet.accounts = accounts
                .into_iter()
                .map(|(index, address, label)| Account {
                    index,
                    address,
                    label,
                })
                .collect();
            s.wallet.selected = s
                .wallet
                .selected
                .min(s.wallet.accounts.len().saturating_sub(1));
            // A new account's balance.
            onchain::entered_wallet(s)
        }
        Action::Conversations(list) => {
            s.chat.conversations = list;
            s.chat.selected = s
                .chat
                .selected
                .min(s.chat.conversations.len().saturating_sub(1));
            // Right after unlocking, reopen the most recent conversation, as a chat client does.
            if !s.chat.opened_once && s.chat.current.is_none() && s.chat.streaming.is_none() {
                s.chat.opened_once = true;
                if let Some(first) = s.chat.conversations.first() {
                    return vec![Effect::OpenConversation(first.id)];
                }
            }
            vec![]
        }
        Action::ConversationOpened {
            conversation,
            messages,
        } => {
            s.chat.current = Some(conversation.id);
            if let Some(i) = s
                .chat
                .conversations
                .iter()
                .position(|c| c.id == conversation.id)
            {
                s.chat.selected = i;
            } else {
                s.chat.conversations.insert(0, conversation);
                s.chat.selected = 0;
            }
            s.chat.messages = messages
                .into_iter()
                .map(|m| ChatLine {
                    role: m.role,
                    text: m.text,
                })
                .collect();
            s.chat.scroll = 0;
            vec![]
        }
        Action::ModelProgress(p) => {
            s.chat.model = ModelStatus::Downloading(p);
            vec![]
        }
        Action::ModelInstalled(name) => {
            if let Some(item) = s
                .settings
                .items
                .iter_mut()
                .find(|i| i.key == "model.default")
            {
                item.value = name.clone();
            }
            s.chat.model = ModelStatus::Loading(0);
            s.message = Some((Level::Info, format!("model {name} is ready to load")));
            vec![
                Effect::SaveSetting {
                    key: "model.default".into(),
                    value: name,
                },
                Effect::LoadModel,
            ]
        }
        Action::ModelFailed(why) => {
            s.chat.model = ModelStatus::Failed(why.clone());
            s.message = Some((Level::Error, why));
            vec![]
        }
        Action::ModelMissing(why) => {
            s.chat.model = ModelStatus::Missing(why);
            vec![]
        }
        Action::Chat(event) => chat::chat_event(s, event),
        Action::NetworkConfigured(_)
        | Action::ChainRefreshed(_)
        | Action::ActivityLoaded { .. }
        | Action::ReviewReady { .. }
        | Action::SendProgress(_)
        | Action::SendFinished { .. } => onchain::result(s, action),
        other => match s.screen {
            Screen::Onboarding => onboarding::onboarding(s, other),
            Screen::Unlock => unlock::unlock(s, other),
            Screen::Wallet => wallet::wallet(s, other),
            Screen::Chat => chat::chat(s, other),
            Screen::Settings => settings::settings(s, other),
        },
    }
}

fn tick(s: &mut State, now: u64) -> Vec<Effect> {
    s.now_ms = now;
    if s.unlocked()
        && !s.generating()
        && let Some(limit) = s.autolock_ms()
        && now.saturating_sub(s.last_activity_ms) >= limit
    {
        return lock(s, "locked after being idle");
    }
    onchain::tick(s)
}

fn switch_to(s: &mut State, screen: Screen) -> Vec<Effect> {
    let was = s.screen;
    s.screen = screen;
    if screen == Screen::Wallet && was != Screen::Wallet {
        return onchain::entered_wallet(s);
    }
    vec![]
}

/// Drops everything unlocked from the state and tells the runtime to drop its secrets.
fn lock(s: &mut State, why: &str) -> Vec<Effect> {
    let settings = std::mem::take(&mut s.settings);
    *s = State::new(true);
    s.settings = settings;
    s.message = Some((Level::Info, why.to_owned()));
    vec![Effect::StopGeneration, Effect::Lock]
}

fn overlay_action(s: &mut State, overlay: &Overlay, action: &Action) -> Option<Vec<Effect>> {
    match (overlay, action) {
        (Overlay::Help, Action::ToggleHelp | Action::Back | Action::Submit) => {
            s.overlay = None;
            Some(vec![])
        }
        (Overlay::Help, _) => Some(vec![]),
        (Overlay::ConfirmQuit, Action::Confirm(true)) => {
            s.overlay = None;
            s.quit = true;
            Some(vec![Effect::StopGeneration, Effect::Quit])
        }
        (Overlay::ConfirmDelete(id), Action::Confirm(true)) => {
            let id = *id;
            s.overlay = None;
            if s.chat.current == Some(id) {
                s.chat.current = None;
                s.chat.messages.clear();
            }
            s.chat.conversations.retain(|c| c.id != id);
            s.chat.selected = s
                .chat
                .selected
                .min(s.chat.conversations.len().saturating_sub(1));
            Some(vec![Effect::DeleteConversation(id)])
        }
        (
            Overlay::ConfirmQuit | Overlay::ConfirmDelete(_),
            Action::Confirm(false) | Action::Back,
        ) => {
            s.overlay = None;
            Some(vec![])
        }
        (Overlay::ConfirmQuit | Overlay::ConfirmDelete(_), Action::Chat(_)) => None,
        (Overlay::ConfirmQuit | Overlay::ConfirmDelete(_), _) => Some(vec![]),
    }
}
