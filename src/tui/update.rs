//! The app's state machine: `update(state, action) -> effects`. Pure: no I/O, no clock, no
//! terminal — everything it needs arrives in the action, everything it wants done leaves as an
//! [`Effect`]. That keeps every screen's behaviour testable without a terminal or a model.
use keybot_keystore::mnemonic::{WordCheck, check_word, resolve_word};
use keybot_keystore::secret::Password;
use zeroize::Zeroizing;

use super::action::{Action, Edit};
use super::effect::Effect;
use super::onchain;
use super::state::*;
use crate::chat::{ChatEvent, Message as ChatMessage};
use crate::store::Role;

const PHRASE_LENGTHS: [usize; 5] = [12, 15, 18, 21, 24];

/// What the no-model screen offers to download: small (about 0.5 GB), good at code and chat.
pub const SUGGESTED_MODEL: &str =
    "Qwen/Qwen2.5-Coder-0.5B-Instruct-GGUF:qwen2.5-coder-0.5b-instruct-q4_k_m.gguf";

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
        Action::Chat(event) => chat_event(s, event),
        Action::NetworkConfigured(_)
        | Action::ChainRefreshed(_)
        | Action::ActivityLoaded { .. }
        | Action::ReviewReady { .. }
        | Action::SendProgress(_)
        | Action::SendFinished { .. } => onchain::result(s, action),
        other => match s.screen {
            Screen::Onboarding => onboarding(s, other),
            Screen::Unlock => unlock(s, other),
            Screen::Wallet => wallet(s, other),
            Screen::Chat => chat(s, other),
            Screen::Settings => settings(s, other),
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

fn onboarding(s: &mut State, action: Action) -> Vec<Effect> {
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
        (O::Choose { selected: 0 }, Action::Submit) => {
            (O::Generating, vec![Effect::GeneratePhrase { words: 24 }])
        }
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
        (
            O::Confirm {
                words,
                asked,
                step,
                mut input,
                ..
            },
            Action::Submit,
        ) => {
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
                return (password_step(phrase), vec![]);
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
        (
            O::Confirm {
                words,
                asked,
                step,
                mut input,
                error,
            },
            Action::Edit(e),
        ) => {
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
        (
            O::ImportWords {
                mut words,
                mut input,
                ..
            },
            Action::Submit,
        ) => {
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
                        Ok(_) => return (password_step(phrase), vec![]),
                        Err(e) => hint = Some(e.to_string()),
                    }
                } else {
                    hint = Some(format!(
                        "{} words so far; a phrase has 12, 15, 18, 21 or 24",
                        words.len()
                    ));
                }
            }
            (O::ImportWords { words, input, hint }, vec![])
        }
        (
            O::ImportWords {
                mut words,
                mut input,
                hint,
            },
            Action::Edit(Edit::Backspace),
        ) if input.text.is_empty() => {
            words.pop();
            input.cursor = 0;
            (O::ImportWords { words, input, hint }, vec![])
        }
        (
            O::ImportWords {
                words, mut input, ..
            },
            Action::Edit(e),
        ) => {
            input.apply(&e, false);
            let hint = live_hint(&input.text);
            (O::ImportWords { words, input, hint }, vec![])
        }
        (o @ O::Password { .. }, action) => password(o, action),
        (state, _) => (state, vec![]),
    }
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
    match action {
        Action::Edit(e) => {
            *error = None;
            if *on_second {
                second.apply(&e, false);
            } else {
                first.apply(&e, false);
                *strength = (!first.text.is_empty()).then(|| strength_of(&first.text));
            }
        }
        Action::Back if *on_second => {
            second.wipe();
            *on_second = false;
            *error = None;
        }
        Action::Submit if !*on_second => match crate::strength::check_new(&first.text) {
            Ok(_) => {
                *on_second = true;
                *error = None;
            }
            Err(why) => *error = Some(why),
        },
        Action::Submit if first.text != second.text => {
            second.wipe();
            *error = Some("the two passwords differ; type the second one again".to_owned());
        }
        Action::Submit => {
            let password = Password::new(first.text.clone());
            first.wipe();
            second.wipe();
            let Onboarding::Password { phrase, .. } = o else {
                unreachable!("matched above")
            };
            return (
                Onboarding::Writing,
                // The app has no passphrase field yet: an empty one is none.
                vec![Effect::CreateWallet {
                    phrase,
                    passphrase: SecretText::from(String::new()),
                    password,
                }],
            );
        }
        _ => {}
    }
    (o, vec![])
}

fn password_step(phrase: SecretText) -> Onboarding {
    Onboarding::Password {
        phrase,
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

fn unlock(s: &mut State, action: Action) -> Vec<Effect> {
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

fn wallet(s: &mut State, action: Action) -> Vec<Effect> {
    let w = &mut s.wallet;
    if let Some(input) = &mut w.labelling {
        match action {
            Action::Edit(e) => input.apply(&e, false),
            Action::Back => w.labelling = None,
            Action::Submit => {
                let label = crate::sanitize::clean_line(input.text.trim()).into_owned();
                w.labelling = None;
                if let Some(acc) = w.accounts.get_mut(w.selected) {
                    acc.label = label.clone();
                    return vec![Effect::SetAccountLabel {
                        index: acc.index,
                        label,
                    }];
                }
            }
            _ => {}
        }
        return vec![];
    }
    if onchain::owns_key(s, &action) {
        return onchain::wallet_key(s, action);
    }
    let w = &mut s.wallet;
    match action {
        Action::Up => w.selected = w.selected.saturating_sub(1),
        Action::Down => w.selected = (w.selected + 1).min(w.accounts.len().saturating_sub(1)),
        Action::Command('n') => {
            return vec![Effect::DeriveAccounts {
                count: w.accounts.len() as u32 + 1,
            }];
        }
        Action::Command('l') if !w.accounts.is_empty() => {
            let mut input = Input::default();
            input.set(&w.accounts[w.selected].label);
            w.labelling = Some(input);
        }
        Action::Command('c') => {
            if let Some(acc) = w.accounts.get(w.selected) {
                return vec![Effect::Copy(acc.address.to_checksum(None))];
            }
        }
        _ => {}
    }
    vec![]
}

fn chat(s: &mut State, action: Action) -> Vec<Effect> {
    let c = &mut s.chat;
    if let Some(input) = &mut c.renaming {
        match action {
            Action::Edit(e) => input.apply(&e, false),
            Action::Back => c.renaming = None,
            Action::Submit => {
                let title = crate::sanitize::clean_line(input.text.trim()).into_owned();
                c.renaming = None;
                if let Some(conv) = c.conversations.get_mut(c.selected)
                    && !title.is_empty()
                {
                    conv.title = title.clone();
                    return vec![Effect::RenameConversation(conv.id, title)];
                }
            }
            _ => {}
        }
        return vec![];
    }
    if let Some(input) = &mut c.model_path {
        match action {
            Action::Edit(e) => input.apply(&e, false),
            Action::Back => c.model_path = None,
            Action::Submit => {
                let path = input.take();
                c.model_path = None;
                if !path.trim().is_empty() {
                    c.model = ModelStatus::Loading(0);
                    return vec![Effect::AddModel(path.trim().to_owned())];
                }
            }
            _ => {}
        }
        return vec![];
    }
    let no_model = matches!(c.model, ModelStatus::Missing(_) | ModelStatus::Failed(_));
    match action {
        Action::Command('p') if no_model => {
            c.model = ModelStatus::Downloading(0);
            return vec![Effect::PullModel(SUGGESTED_MODEL.to_owned())];
        }
        Action::Command('a') if no_model => {
            c.model_path = Some(Input::default());
            return vec![];
        }
        _ => {}
    }
    if let Some(input) = &mut c.system_prompt {
        match action {
            Action::Edit(e) => input.apply(&e, true),
            Action::Back => c.system_prompt = None,
            Action::Submit => {
                let prompt = crate::sanitize::clean(input.text.trim()).into_owned();
                c.system_prompt = None;
                if let Some(conv) = c.conversations.get_mut(c.selected) {
                    conv.system_prompt = prompt.clone();
                    return vec![Effect::SetSystemPrompt(conv.id, prompt)];
                }
            }
            _ => {}
        }
        return vec![];
    }
    if let Some(input) = &mut c.search {
        match action {
            Action::Edit(e) => {
                input.apply(&e, false);
                return vec![Effect::ListConversations {
                    search: Some(input.text.clone()),
                }];
            }
            Action::Back => {
                c.search = None;
                return vec![Effect::ListConversations { search: None }];
            }
            Action::Submit => {
                c.search = None;
                c.focus = ChatFocus::List;
            }
            _ => {}
        }
        return vec![];
    }
    match (c.focus, action) {
        (_, Action::Back) if c.streaming.is_some() => vec![Effect::StopGeneration],
        (ChatFocus::Input, Action::Back | Action::FocusNext) => {
            c.focus = ChatFocus::List;
            vec![]
        }
        (ChatFocus::List, Action::FocusNext | Action::Back) => {
            c.focus = ChatFocus::Input;
            vec![]
        }
        (ChatFocus::Input, Action::Edit(e)) => {
            c.input.apply(&e, true);
            vec![]
        }
        (ChatFocus::Input, Action::Submit) => send(s),
        (_, Action::ScrollUp(n)) => {
            c.scroll = c.scroll.saturating_add(n);
            vec![]
        }
        (_, Action::ScrollDown(n)) => {
            c.scroll = c.scroll.saturating_sub(n);
            vec![]
        }
        (_, Action::PageUp) => {
            c.scroll = c.scroll.saturating_add(10);
            vec![]
        }
        (_, Action::PageDown) => {
            c.scroll = c.scroll.saturating_sub(10);
            vec![]
        }
        (ChatFocus::List, Action::Up) => {
            c.selected = c.selected.saturating_sub(1);
            vec![]
        }
        (ChatFocus::List, Action::Down) => {
            c.selected = (c.selected + 1).min(c.conversations.len().saturating_sub(1));
            vec![]
        }
        (ChatFocus::List, Action::Submit) => match c.conversations.get(c.selected) {
            Some(conv) => {
                c.focus = ChatFocus::Input;
                vec![Effect::OpenConversation(conv.id)]
            }
            None => vec![],
        },
        (ChatFocus::List, Action::Command('n')) => {
            c.focus = ChatFocus::Input;
            c.current = None;
            c.messages.clear();
            vec![Effect::NewConversation]
        }
        (ChatFocus::List, Action::Command('r')) => {
            if let Some(conv) = c.conversations.get(c.selected) {
                let mut input = Input::default();
                input.set(&conv.title);
                c.renaming = Some(input);
            }
            vec![]
        }
        (ChatFocus::List, Action::Command('d')) => {
            if let Some(conv) = c.conversations.get(c.selected) {
                s.overlay = Some(Overlay::ConfirmDelete(conv.id));
            }
            vec![]
        }
        (ChatFocus::List, Action::Command('s')) => {
            if let Some(conv) = c.conversations.get(c.selected) {
                let mut input = Input::default();
                input.set(&conv.system_prompt);
                c.system_prompt = Some(input);
            }
            vec![]
        }
        (ChatFocus::List, Action::Command('/')) => {
            c.search = Some(Input::default());
            vec![]
        }
        (ChatFocus::List, Action::Command('g')) => regenerate(s),
        (ChatFocus::List, Action::Command('e')) => edit_last(s),
        _ => vec![],
    }
}

fn history(c: &ChatView) -> Vec<ChatMessage> {
    let mut h = Vec::with_capacity(c.messages.len() + 1);
    if let Some(conv) = c
        .current
        .and_then(|id| c.conversations.iter().find(|x| x.id == id))
        && !conv.system_prompt.is_empty()
    {
        h.push(ChatMessage::new("system", conv.system_prompt.clone()));
    }
    h.extend(
        c.messages
            .iter()
            .filter(|m| m.role != Role::System)
            .map(|m| {
                ChatMessage::new(
                    if m.role == Role::User {
                        "user"
                    } else {
                        "assistant"
                    },
                    m.text.clone(),
                )
            }),
    );
    h
}

fn can_generate(s: &mut State) -> bool {
    if s.chat.streaming.is_some() {
        return false;
    }
    if !matches!(s.chat.model, ModelStatus::Ready { .. }) {
        s.message = Some((
            Level::Error,
            "no model is loaded yet (see the chat screen for how to get one)".into(),
        ));
        return false;
    }
    true
}

fn send(s: &mut State) -> Vec<Effect> {
    if s.chat.input.text.trim().is_empty() || !can_generate(s) {
        return vec![];
    }
    let c = &mut s.chat;
    let text = c.input.take();
    c.messages.push(ChatLine {
        role: Role::User,
        text: text.clone(),
    });
    c.streaming = Some(String::new());
    c.regenerating = false;
    c.scroll = 0;
    let history = history(c);
    // Without a current conversation the runtime creates one first (titled from the question).
    vec![Effect::Send {
        conversation: c.current,
        text,
        history,
        regenerate: false,
    }]
}

fn regenerate(s: &mut State) -> Vec<Effect> {
    if !can_generate(s) {
        return vec![];
    }
    let c = &mut s.chat;
    let (Some(conversation), Some(last)) = (c.current, c.messages.last()) else {
        return vec![];
    };
    if last.role != Role::Assistant {
        return vec![];
    }
    c.messages.pop();
    c.streaming = Some(String::new());
    c.regenerating = true;
    c.focus = ChatFocus::Input;
    let history = history(c);
    vec![Effect::Send {
        conversation: Some(conversation),
        text: String::new(),
        history,
        regenerate: true,
    }]
}

/// Puts the last question back into the input (and removes it and its answer) for editing.
fn edit_last(s: &mut State) -> Vec<Effect> {
    let c = &mut s.chat;
    if c.streaming.is_some() {
        return vec![];
    }
    let Some(pos) = c.messages.iter().rposition(|m| m.role == Role::User) else {
        return vec![];
    };
    let question = c.messages[pos].text.clone();
    let removed = c.messages.len() - pos;
    c.messages.truncate(pos);
    c.input.set(&question);
    c.focus = ChatFocus::Input;
    match c.current {
        Some(conversation) => vec![Effect::DeleteLastMessages {
            conversation,
            count: removed,
        }],
        None => vec![],
    }
}

fn chat_event(s: &mut State, event: ChatEvent) -> Vec<Effect> {
    let c = &mut s.chat;
    match event {
        ChatEvent::LoadProgress(p) => {
            c.model = ModelStatus::Loading((p.clamp(0.0, 1.0) * 100.0) as u8)
        }
        ChatEvent::Loaded(info) => {
            c.model = ModelStatus::Ready {
                name: info
                    .path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                device: info.device.clone(),
                gpu_layers: info.gpu_layers,
                total_layers: info.n_layer + 1,
                ctx: info.n_ctx,
            }
        }
        ChatEvent::Unloaded => c.model = ModelStatus::Missing(String::new()),
        ChatEvent::Notice(m) => s.message = Some((Level::Info, m)),
        ChatEvent::TurnsDropped(n) => {
            s.message = Some((
                Level::Info,
                format!(
                    "the conversation outgrew the context: the model no longer sees the oldest {n} messages"
                ),
            ));
        }
        ChatEvent::Piece(p) => {
            if let Some(text) = &mut c.streaming {
                text.push_str(&p);
            }
        }
        ChatEvent::Stats(st) => {
            c.tokens_per_second = Some(st.generate_tps());
            c.ctx_used = Some((st.ctx_used, st.ctx_size));
        }
        ChatEvent::Done(_) => {
            if let Some(text) = c.streaming.take() {
                c.messages.push(ChatLine {
                    role: Role::Assistant,
                    text: text.clone(),
                });
                if let Some(conversation) = c.current {
                    return vec![Effect::SaveAnswer {
                        conversation,
                        text,
                        tokens: 0,
                        replace_last: c.regenerating,
                    }];
                }
            }
        }
        ChatEvent::Error(e) => {
            if let Some(text) = c.streaming.take()
                && !text.is_empty()
            {
                c.messages.push(ChatLine {
                    role: Role::Assistant,
                    text,
                });
            }
            if matches!(c.model, ModelStatus::Loading(_)) {
                c.model = ModelStatus::Failed(e.to_string());
            }
            s.message = Some((Level::Error, e.to_string()));
        }
        ChatEvent::Prompt { .. } | ChatEvent::Bench(_) => {}
    }
    vec![]
}

fn settings(s: &mut State, action: Action) -> Vec<Effect> {
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
    crate::service::settings::validate(key, value)
}
