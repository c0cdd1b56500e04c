//! The app's state machine: `update(state, action) -> effects`. Pure: no I/O, no clock, no
//! terminal — everything it needs arrives in the action, everything it wants done leaves as an
//! [`Effect`]. That keeps every screen's behaviour testable without a terminal or a model.
use super::action::Action;
use super::effect::Effect;
use super::screens::SCREENS;
use super::screens::chat::{ChatAction, ChatEffect};
use super::screens::wallet::onchain;
use super::state::*;

pub use super::screens::chat::SUGGESTED_MODEL;
pub use super::screens::settings::validate_setting;

/// Only routes: the app-wide actions (ticks, overlays, help, quit, lock, switching screens,
/// messages, the wallet opening) here; a result from the runtime to the screen that owns it;
/// any other key to the screen that is shown.
pub fn update(s: &mut State, action: Action) -> Vec<Effect> {
    let before = s.message.clone();
    let effects = route(s, action);
    if s.message != before
        && let Some((level, text)) = &s.message
    {
        s.message_at = s.now_ms;
        if s.log.len() == LOG_LEN {
            s.log.pop_front();
        }
        s.log.push_back(Logged {
            level: *level,
            text: text.clone(),
            at_ms: s.now_ms,
        });
    }
    effects
}

fn route(s: &mut State, action: Action) -> Vec<Effect> {
    match action {
        Action::Tick(now) => return tick(s, now),
        Action::UserActivity(at) => {
            s.last_activity_ms = s.now_ms;
            s.key_ms = at;
            // An error stays until the key after it.
            if matches!(s.message, Some((Level::Error, _))) && s.message_at < at {
                s.message = None;
            }
            return vec![];
        }
        Action::Drawn(at) => {
            drawn(s, at);
            return vec![];
        }
        Action::Resize(cols, rows) => {
            s.size = (cols, rows);
            clamp_review_scroll(s);
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
            s.overlay_scroll = 0;
            vec![]
        }
        Action::Command('L') => {
            s.overlay = Some(Overlay::Log);
            // The newest at the bottom, shown first.
            s.overlay_scroll = overlay_max(s, &Overlay::Log);
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
        Action::Screen(screen) if s.unlocked() && screen.is_main() => switch_to(s, screen),
        Action::NextScreen if s.unlocked() => switch_to(s, s.screen.next()),
        Action::Notice(m) => {
            s.message = Some((Level::Info, m));
            vec![]
        }
        Action::Error(e) => {
            s.message = Some((Level::Error, e.to_string()));
            // A consent that failed will not open the sell form typed ahead of it.
            s.market.consenting = None;
            if s.screen == Screen::Onboarding && s.onboarding == Onboarding::Writing {
                s.onboarding = Onboarding::default();
            }
            vec![]
        }
        Action::WalletReady { accounts } => wallet_ready(s, accounts),
        other => match SCREENS.iter().find(|d| (d.owns)(&other)) {
            Some(owner) => (owner.result)(s, other),
            None => (s.screen.def().update)(s, other),
        },
    }
}

/// The wallet is open (created or unlocked): onboarding and unlock are reset, the accounts are
/// listed, and the chat screen asks for the conversations and the model.
fn wallet_ready(
    s: &mut State,
    accounts: Vec<(u32, keybot_keystore::Address, String)>,
) -> Vec<Effect> {
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
        Effect::Chat(ChatEffect::ListConversations { search: None }),
        Effect::Chat(ChatEffect::LoadModel),
        Effect::Chat(ChatEffect::CheckQueue),
        Effect::Chat(ChatEffect::LoadToolsOff),
    ]
}

/// A frame is on the screen: a review drawn in it counts as seen from now on.
fn drawn(s: &mut State, at: u64) {
    if s.screen == Screen::Wallet
        && let WalletMode::Send(flow) = &mut s.wallet.mode
        && let SendStep::Review { shown_at, .. } = &mut flow.step
        && shown_at.is_none()
    {
        *shown_at = Some(at);
    }
}

/// After a resize the review's body may scroll less far.
fn clamp_review_scroll(s: &mut State) {
    if let WalletMode::Send(flow) = &mut s.wallet.mode {
        let max = super::screens::wallet::review::max_scroll(flow, s.size);
        if let SendStep::Review { scroll, .. } = &mut flow.step {
            *scroll = (*scroll).min(max);
        }
    }
}

fn tick(s: &mut State, now: u64) -> Vec<Effect> {
    s.now_ms = now;
    if matches!(s.message, Some((Level::Info, _))) && now.saturating_sub(s.message_at) >= NOTICE_MS
    {
        s.message = None;
    }
    if s.unlocked()
        && !s.generating()
        && let Some(limit) = s.autolock_ms()
        && now.saturating_sub(s.last_activity_ms) >= limit
    {
        return lock(s, "locked after being idle");
    }
    let mut effects = onchain::tick(s);
    effects.extend(super::screens::market_onchain::tick(s));
    effects
}

fn switch_to(s: &mut State, screen: Screen) -> Vec<Effect> {
    let was = s.screen;
    s.screen = screen;
    if screen == Screen::Wallet && was != Screen::Wallet {
        return onchain::entered_wallet(s);
    }
    if screen == Screen::Market && was != Screen::Market {
        return super::screens::market::entered(s);
    }
    if screen == Screen::Earnings && was != Screen::Earnings {
        return super::screens::earnings::entered(s);
    }
    vec![]
}

/// Drops everything unlocked from the state and tells the runtime to drop its secrets.
fn lock(s: &mut State, why: &str) -> Vec<Effect> {
    let settings = std::mem::take(&mut s.settings);
    *s = State::new(true);
    s.settings = settings;
    s.message = Some((Level::Info, why.to_owned()));
    vec![Effect::Chat(ChatEffect::StopGeneration), Effect::Lock]
}

/// How far the help or the log scrolls: its last line at the bottom.
fn overlay_max(s: &State, overlay: &Overlay) -> usize {
    let len = match overlay {
        Overlay::Help => super::keymap::help_lines(s, s.size.0).len(),
        Overlay::Log => s.log.len(),
        _ => 0,
    };
    len.saturating_sub(super::keymap::overlay_rows(s.size.1))
}

/// The help's and the log's keys: they scroll, and close.
fn scroll_overlay(s: &mut State, overlay: &Overlay, action: &Action) -> Vec<Effect> {
    let max = overlay_max(s, overlay);
    let page = super::keymap::overlay_rows(s.size.1)
        .saturating_sub(1)
        .max(1);
    let at = &mut s.overlay_scroll;
    match action {
        Action::ToggleHelp | Action::Back | Action::Submit => s.overlay = None,
        Action::Up | Action::ScrollUp(_) => *at = at.saturating_sub(1),
        Action::Down | Action::ScrollDown(_) => *at = (*at + 1).min(max),
        Action::PageUp => *at = at.saturating_sub(page),
        Action::PageDown => *at = (*at + page).min(max),
        _ => {}
    }
    vec![]
}

fn overlay_action(s: &mut State, overlay: &Overlay, action: &Action) -> Option<Vec<Effect>> {
    match (overlay, action) {
        // The vault's results reach the Market screen under any overlay (a conversation added
        // from the chat screen opens its preview even if the help was opened meanwhile).
        (_, Action::Market(_)) => None,
        // Results from the runtime reach their screens under the help and the log.
        (Overlay::Help | Overlay::Log, a) if is_result(a) => None,
        (Overlay::Help | Overlay::Log, _) => Some(scroll_overlay(s, overlay, action)),
        (Overlay::ApprovalStays(stays), Action::Confirm(true)) => {
            s.overlay = None;
            let stays = (**stays).clone();
            Some(super::screens::market_onchain::review(
                s,
                stays.owner,
                super::screens::market_onchain::MarketTx::ResetApproval {
                    owner: stays.owner,
                    token: stays.token,
                },
            ))
        }
        (Overlay::ApprovalStays(stays), Action::Confirm(false) | Action::Back) => {
            s.overlay = None;
            s.message = Some((
                Level::Info,
                format!(
                    "your approval stays: the market may take exactly {} (a purchase at that price uses it)",
                    stays.amount
                ),
            ));
            Some(vec![])
        }
        (Overlay::BuyAgain { listing, buyer, .. }, Action::Confirm(true)) => {
            s.overlay = None;
            let tx = super::screens::market_onchain::MarketTx::Buy {
                listing: listing.clone(),
                buyer: *buyer,
                again: true,
            };
            Some(super::screens::market_onchain::review(s, *buyer, tx))
        }
        (Overlay::BuyAgain { .. }, Action::Confirm(false) | Action::Back) => {
            s.overlay = None;
            Some(vec![])
        }
        (Overlay::ApprovalStays(_) | Overlay::BuyAgain { .. }, a) if is_result(a) => None,
        (Overlay::ApprovalStays(_) | Overlay::BuyAgain { .. }, _) => Some(vec![]),
        (Overlay::ConfirmQuit, Action::Confirm(true)) => {
            s.overlay = None;
            s.quit = true;
            Some(vec![Effect::Chat(ChatEffect::StopGeneration), Effect::Quit])
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
            Some(vec![Effect::Chat(ChatEffect::DeleteConversation(id))])
        }
        (
            Overlay::ConfirmQuit | Overlay::ConfirmDelete(_),
            Action::Confirm(false) | Action::Back,
        ) => {
            s.overlay = None;
            Some(vec![])
        }
        (Overlay::ConfirmQuit | Overlay::ConfirmDelete(_), Action::Chat(ChatAction::Event(_))) => {
            None
        }
        (Overlay::ConfirmQuit | Overlay::ConfirmDelete(_), _) => Some(vec![]),
    }
}

/// Whether an action is a result from the runtime (not a key): it must reach its screen
/// whatever overlay is open.
fn is_result(a: &Action) -> bool {
    matches!(
        a,
        Action::WalletReady { .. }
            | Action::Notice(_)
            | Action::Error(_)
            | Action::Onboarding(_)
            | Action::Unlock(_)
            | Action::Wallet(_)
            | Action::Chat(_)
            | Action::Market(_)
            | Action::Earnings(_)
    )
}
