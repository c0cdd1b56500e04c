//! Everything the screens show. `update` changes it; `ui` only reads it.
use keybot_keystore::Address;
use zeroize::Zeroizing;

use crate::chain::Token;
use crate::chain::balance::AccountBalance;
use crate::store::ConversationId;

// Each screen's view state lives with its screen; re-exported so `state::*` still names it all.
pub use super::screens::Screen;
pub use super::screens::chat::{ChatFocus, ChatLine, ChatView, ModelStatus};
pub use super::screens::earnings::{EarningsData, EarningsView};
pub use super::screens::market::{MarketItem, MarketMode, MarketView};
pub use super::screens::market_onchain::{ChainView, MarketBook, Section};
pub use super::screens::onboarding::Onboarding;
pub use super::screens::settings::{Setting, SettingsView};
pub use super::screens::unlock::Unlock;
pub use super::screens::wallet::review;
pub use super::screens::wallet::{
    Account, ActivityView, ProposedBy, SendField, SendFlow, SendForm, SendStep, Stays, Steps,
    WalletMode, WalletView,
};

/// Secret text held by the state (a phrase, its words): wiped on drop, and `<redacted>` in
/// `Debug`, so a `{:?}` of the state, an effect or a failed test's message never prints it.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretText(Zeroizing<String>);

impl SecretText {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<String> for SecretText {
    fn from(s: String) -> Self {
        SecretText(Zeroizing::new(s))
    }
}

impl std::ops::Deref for SecretText {
    type Target = String;
    fn deref(&self) -> &String {
        &self.0
    }
}

impl std::fmt::Debug for SecretText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// A single-line or multi-line text field with a cursor (in chars). Its text is wiped on drop
/// (it may be a password or a phrase word), and a secret field's text is `<redacted>` in
/// `Debug`.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Input {
    pub text: String,
    pub cursor: usize,
    /// Shown as bullets (passwords).
    pub secret: bool,
}

impl std::fmt::Debug for Input {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut d = f.debug_struct("Input");
        if self.secret {
            d.field("text", &"<redacted>");
        } else {
            d.field("text", &self.text);
        }
        d.field("cursor", &self.cursor)
            .field("secret", &self.secret)
            .finish()
    }
}

impl Drop for Input {
    fn drop(&mut self) {
        self.wipe();
    }
}

impl Input {
    pub fn secret() -> Input {
        let mut input = Input::default();
        input.secret = true;
        input
    }

    pub fn take(&mut self) -> String {
        self.cursor = 0;
        std::mem::take(&mut self.text)
    }

    pub fn set(&mut self, text: &str) {
        self.text = text.to_owned();
        self.cursor = text.chars().count();
    }

    /// Wipes a secret input's text.
    pub fn wipe(&mut self) {
        use zeroize::Zeroize;
        self.text.zeroize();
        self.cursor = 0;
    }

    fn byte_index(&self, char_idx: usize) -> usize {
        self.text
            .char_indices()
            .nth(char_idx)
            .map(|(i, _)| i)
            .unwrap_or(self.text.len())
    }

    pub fn apply(&mut self, edit: &super::action::Edit, multiline: bool) {
        use super::action::Edit;
        let len = self.text.chars().count();
        match edit {
            Edit::Char(c) => {
                let i = self.byte_index(self.cursor);
                self.text.insert(i, *c);
                self.cursor += 1;
            }
            Edit::Newline if multiline => {
                let i = self.byte_index(self.cursor);
                self.text.insert(i, '\n');
                self.cursor += 1;
            }
            Edit::Newline => {}
            Edit::Paste(s) => {
                let s: String = if multiline {
                    s.replace('\r', "")
                } else {
                    s.replace(['\r', '\n'], " ")
                };
                let s: String = s
                    .chars()
                    .filter(|c| !c.is_control() || *c == '\n')
                    .collect();
                let i = self.byte_index(self.cursor);
                self.text.insert_str(i, &s);
                self.cursor += s.chars().count();
            }
            Edit::Backspace if self.cursor > 0 => {
                let i = self.byte_index(self.cursor - 1);
                self.text.remove(i);
                self.cursor -= 1;
            }
            Edit::Delete if self.cursor < len => {
                let i = self.byte_index(self.cursor);
                self.text.remove(i);
            }
            Edit::ClearToStart => {
                // Through a wiped copy: what goes may be part of a password.
                use zeroize::Zeroize;
                let rest = Zeroizing::new(self.text[self.byte_index(self.cursor)..].to_owned());
                self.text.zeroize();
                self.text.push_str(&rest);
                self.cursor = 0;
            }
            Edit::Left => self.cursor = self.cursor.saturating_sub(1),
            Edit::Right => self.cursor = (self.cursor + 1).min(len),
            Edit::Home => self.cursor = 0,
            Edit::End => self.cursor = len,
            Edit::Backspace | Edit::Delete => {}
        }
    }
}

/// The configured network, as far as the screens need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetInfo {
    pub name: String,
    pub chain_id: u64,
    pub tokens: Vec<Token>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum NetStatus {
    /// Configured but not asked yet.
    #[default]
    Unknown,
    Online {
        block: u64,
    },
    Offline {
        reason: String,
    },
}

/// The first retry after a failure waits this long; each further failure doubles it…
pub const RETRY_FIRST_MS: u64 = 2_000;
/// …up to this.
pub const RETRY_MAX_MS: u64 = 60_000;
/// While online, balances and the block number are read again this often.
pub const REFRESH_MS: u64 = 30_000;

/// The network indicator's state. Without a configured network (`info` None) nothing is ever
/// asked of the runtime: no client, no socket.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetView {
    pub info: Option<NetInfo>,
    pub status: NetStatus,
    /// A balance refresh is running.
    pub refreshing: bool,
    /// An activity sync is running.
    pub syncing: bool,
    /// The current retry delay; 0 after a success.
    pub backoff_ms: u64,
    /// When the next refresh (or retry) is due, in `now_ms` time.
    pub next_refresh_ms: u64,
    /// The latest balances read, kept (and marked stale) while offline.
    pub balances: Vec<AccountBalance>,
}

/// How the indicator looks; `ui` picks the colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetLevel {
    None,
    Ok,
    Busy,
    Bad,
}

impl NetView {
    /// The status bar's network indicator at time `now`.
    pub fn indicator(&self, now: u64) -> (String, NetLevel) {
        let Some(info) = &self.info else {
            return ("no network".into(), NetLevel::None);
        };
        let name = crate::sanitize::clean_line(&info.name);
        if self.refreshing || self.syncing {
            return (format!("◌ {name} syncing"), NetLevel::Busy);
        }
        match &self.status {
            NetStatus::Unknown => (format!("◌ {name} connecting"), NetLevel::Busy),
            NetStatus::Online { block } => (format!("● {name} #{block}"), NetLevel::Ok),
            NetStatus::Offline { .. } => {
                let secs = self.next_refresh_ms.saturating_sub(now).div_ceil(1000);
                (
                    format!("○ {name} offline (retry in {secs}s)"),
                    NetLevel::Bad,
                )
            }
        }
    }

    pub fn online(&self) -> bool {
        matches!(self.status, NetStatus::Online { .. })
    }

    pub fn balance(&self, address: Address) -> Option<&AccountBalance> {
        self.balances.iter().find(|b| b.address == address)
    }

    /// The asset list of the send form: ETH, then the network's tokens.
    pub fn asset(&self, index: usize) -> crate::chain::send::Asset {
        use crate::chain::send::Asset;
        match (index, &self.info) {
            (0, _) | (_, None) => Asset::Eth,
            (i, Some(info)) => info
                .tokens
                .get(i - 1)
                .cloned()
                .map_or(Asset::Eth, Asset::Token),
        }
    }

    pub fn asset_count(&self) -> usize {
        1 + self.info.as_ref().map_or(0, |i| i.tokens.len())
    }

    /// The token a listing is priced in: 0 is ETH, `i` the network's token `i - 1`. Here, not
    /// with the sell form's keys, because its drawing names the token too.
    pub fn sell_token(&self, index: usize) -> Token {
        match self.asset(index) {
            crate::chain::send::Asset::Token(t) => t,
            _ => Token {
                symbol: "ETH".into(),
                address: Address::ZERO,
                decimals: 18,
            },
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Overlay {
    Help,
    ConfirmQuit,
    ConfirmDelete(ConversationId),
    /// The user stopped a purchase after its approval: the approval stays; y resets it.
    ApprovalStays(Box<Stays>),
    /// A listing the user already bought: y buys another copy (as `market buy --again`).
    BuyAgain {
        listing: Box<crate::market::book::Listing>,
        purchase: u64,
        buyer: Address,
    },
    /// The last messages with their times.
    Log,
}

impl Overlay {
    /// Overlays answered with y / n.
    pub fn asks(&self) -> bool {
        matches!(
            self,
            Overlay::ConfirmQuit
                | Overlay::ConfirmDelete(_)
                | Overlay::ApprovalStays(_)
                | Overlay::BuyAgain { .. }
        )
    }
}

/// How long a notice stays on the status line; an error stays until the next key.
pub const NOTICE_MS: u64 = 6_000;
/// How many messages the log keeps.
pub const LOG_LEN: usize = 100;

/// A message as the log keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logged {
    pub level: Level,
    pub text: String,
    /// `now_ms` when it was shown.
    pub at_ms: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Info,
    Error,
}

#[derive(Debug, Clone, PartialEq)]
pub struct State {
    pub screen: Screen,
    pub overlay: Option<Overlay>,
    pub onboarding: Onboarding,
    pub unlock: Unlock,
    pub wallet: WalletView,
    pub net: NetView,
    pub chat: ChatView,
    pub settings: SettingsView,
    pub market: MarketView,
    pub earnings: EarningsView,
    /// The status line's message. Whoever sets it sets only this; `update` notices the change,
    /// stamps it (`message_at`) and logs it, and expires a notice after [`NOTICE_MS`].
    pub message: Option<(Level, String)>,
    pub message_at: u64,
    /// The last [`LOG_LEN`] messages, oldest first.
    pub log: std::collections::VecDeque<Logged>,
    /// How far the help and the message log are scrolled.
    pub overlay_scroll: usize,
    /// The terminal's size (columns, rows), for what must fit it (a review's scrolling).
    pub size: (u16, u16),
    /// When the last key was typed (`now_ms` time, from the key's own timestamp).
    pub key_ms: u64,
    pub now_ms: u64,
    pub last_activity_ms: u64,
    pub quit: bool,
}

impl State {
    /// The first screen: onboarding when there is no vault yet, else unlock.
    pub fn new(has_vault: bool) -> State {
        State {
            screen: if has_vault {
                Screen::Unlock
            } else {
                Screen::Onboarding
            },
            overlay: None,
            onboarding: Onboarding::default(),
            unlock: Unlock {
                input: Input::secret(),
                ..Unlock::default()
            },
            wallet: WalletView::default(),
            net: NetView::default(),
            chat: ChatView::default(),
            settings: SettingsView::default(),
            market: MarketView::default(),
            earnings: EarningsView::default(),
            message: None,
            message_at: 0,
            log: Default::default(),
            overlay_scroll: 0,
            size: (80, 24),
            key_ms: 0,
            now_ms: 0,
            last_activity_ms: 0,
            quit: false,
        }
    }

    pub fn unlocked(&self) -> bool {
        self.screen.is_main()
    }

    /// Background work the user waits on (a transaction being prepared or sent, a sync): the
    /// screen shows a spinner, so it is drawn again on every tick.
    pub fn busy(&self) -> bool {
        let sending = match &self.wallet.mode {
            WalletMode::Send(flow) => matches!(
                flow.step,
                SendStep::Preparing { .. } | SendStep::Sending { .. }
            ),
            _ => false,
        };
        sending
            || self.net.refreshing
            || self.net.syncing
            || self.market.chain.syncing
            || self.market.model_reading.is_some()
            || self.earnings.loading
    }

    /// Purchases waiting for the user's key (`market.delivery = approve`): counted on the
    /// Market tab.
    pub fn waiting_for_you(&self) -> usize {
        super::screens::market_onchain::waiting_for_you(self)
    }

    /// The user's active listings made from vault item `id`, as the last market read found them.
    pub fn listed_as(&self, id: crate::store::ItemId) -> &[u64] {
        self.market
            .chain
            .market
            .as_deref()
            .and_then(|m| m.listed.get(&id))
            .map_or(&[], Vec::as_slice)
    }

    pub fn generating(&self) -> bool {
        self.chat.streaming.is_some()
    }

    /// Whether keys go to a text field (so letters and digits are text, not commands): the
    /// shown screen's row of the screen table says.
    pub fn typing(&self) -> bool {
        (self.screen.def().typing)(self)
    }

    pub fn autolock_ms(&self) -> Option<u64> {
        let minutes: u64 = self
            .settings
            .get("security.autolock_minutes")?
            .parse()
            .ok()?;
        (minutes > 0).then_some(minutes * 60_000)
    }
}
