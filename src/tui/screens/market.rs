//! The Market screen: the sale vault. Its items, and for the selected one the preview — exactly
//! the text a buyer would get, every removal marked and numbered — with the keys to keep a span
//! or remove it again, remove text the detectors missed, consent, and delete an item. Its view
//! state and its part of `update`; the decisions are checked here with the same pure functions
//! the service applies (`market::vault`), so a refusal shows at once and nothing is asked of the
//! store.
use super::market_onchain::{self as onchain, ChainView, MarketBook, MarketTx};
use super::vault_file::{self, DirEntry, FilePrompt};
use crate::market::book::{Listing, Purchase};
use crate::market::vault::{self as vault_view, Preview};
use crate::service::vault::{ConsentState, ItemView};
use crate::store::{ConversationId, ItemId, VaultItem};
use crate::tui::action::Action;
use crate::tui::effect::Effect;
use crate::tui::error::MarketReadError;
use crate::tui::state::*;

/// The Market screen's results from the runtime (errors come as `Action::Error`).
#[derive(Debug, Clone)]
pub enum MarketAction {
    /// The vault's items, read when the screen opens or after an item was removed.
    Items(Vec<MarketItem>),
    /// A conversation became item `id` (the list holds it): the screen opens on its preview.
    Added { items: Vec<MarketItem>, id: ItemId },
    /// A file became item `id` (the list holds it): the screen opens on its preview.
    FileAdded { items: Vec<MarketItem>, id: ItemId },
    /// The service refused the file: its line (as `keybot market add` prints it).
    FileRefused(String),
    /// The listing of the folder a Tab in the file prompt asked for, with the path as it was
    /// typed then; or why the folder could not be read.
    Listing {
        input: String,
        entries: Result<Vec<DirEntry>, String>,
    },
    /// Purchase `id` was saved to its file: the save prompt closes.
    Saved(u64),
    /// Purchase `id` was not saved (why is the error that comes with it): the prompt takes
    /// Enter again.
    SaveFailed(u64),
    /// One item after a change: a keep, a redaction, a consent.
    Updated(Box<MarketItem>),
    /// The market from the chain thread's sync, or why it could not be read.
    Synced(Result<Box<MarketBook>, MarketReadError>),
    /// The model has read item `id`: the spans it found (offsets into the item's text), or why
    /// it could not read it.
    ModelRead {
        id: ItemId,
        found: Result<Vec<keybot_redact::Span>, String>,
    },
}

/// What the Market screen (and the chat screen's "put it in the vault" key) asks the runtime.
#[derive(Debug)]
pub enum MarketEffect {
    List,
    /// Copy a conversation into the vault.
    AddChat(ConversationId),
    /// Copy a text file into the vault (the path as typed; a leading `~` is the home folder).
    AddFile(String),
    /// Let the default chat model read the item for people and places (off the loop, in an
    /// engine of its own); the answer is [`MarketAction::ModelRead`].
    ReadWithModel(ItemId),
    /// Keep what the model found as removals of their own kind ("found by the model").
    AddModelSpans {
        id: ItemId,
        spans: Vec<keybot_redact::Span>,
    },
    /// List a folder (as typed, empty for the working one) for the file prompt's Tab.
    ListFolder {
        folder: String,
        input: String,
    },
    Keep {
        id: ItemId,
        span: usize,
    },
    Redact {
        id: ItemId,
        span: usize,
    },
    /// Remove every occurrence of `text` (private: `<redacted>` in Debug).
    RedactText {
        id: ItemId,
        text: SecretText,
    },
    /// Sign the consent with account 0 over the item's plaintext, refused if its SHA-256 is no
    /// longer `sha256`: the bytes the user was shown are the bytes signed.
    Consent {
        id: ItemId,
        sha256: String,
    },
    Remove(ItemId),
    /// Read the market's events (and, with `market.delivery = auto`, deliver what was bought).
    Sync,
    /// Build `tx` on the chain thread and answer with the wallet's review `id`.
    Prepare {
        id: u64,
        tx: Box<MarketTx>,
    },
    /// Check a delivered purchase and write its plaintext to a new file at `path`.
    Save {
        purchase: Box<Purchase>,
        listing: Box<Listing>,
        path: std::path::PathBuf,
        /// The book it is in: the one-time keys are found from its purchases.
        book: Box<super::market_onchain::MarketBook>,
    },
}

/// An item as the screen shows it: the stored copy (its `Debug` shows no text), its preview and
/// the state of its consent.
#[derive(Clone, PartialEq, Eq)]
pub struct MarketItem {
    pub item: VaultItem,
    pub preview: Preview,
    pub consent: ConsentState,
}

impl From<ItemView> for MarketItem {
    fn from(v: ItemView) -> Self {
        MarketItem {
            item: v.item,
            preview: v.preview,
            consent: v.consent,
        }
    }
}

impl std::fmt::Debug for MarketItem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The preview's text is private data too: its summary only.
        f.debug_struct("MarketItem")
            .field("item", &self.item)
            .field("removed", &self.preview.summary())
            .field("consent", &self.consent.label())
            .finish()
    }
}

/// What the keys go to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum MarketMode {
    #[default]
    Browse,
    /// Typing text to remove from the selected item.
    RemoveText(Input),
    /// The consent step: what will be signed, shown before y/Enter signs it.
    Consent { id: ItemId, sha256: String },
    /// Asking before an item is deleted.
    ConfirmDelete(ItemId),
    /// The sell form of a consented item: its price, and the token (0 ETH, `i` token `i - 1`).
    Sell {
        id: ItemId,
        price: Input,
        token: usize,
    },
    /// The path a delivered purchase is saved to. `saving`: Enter handed it to the runtime,
    /// and another Enter waits for its answer (a second save of the same file would only be
    /// refused as existing, over the first one's notice).
    SaveTo {
        purchase: u64,
        path: Input,
        saving: bool,
    },
    /// The reason of a dispute of a delivered purchase (public, on chain).
    Dispute { purchase: u64, reason: Input },
    /// The new price of one of the user's listings (in its token).
    Reprice { listing: u64, price: Input },
    /// The path of a text file to add to the vault.
    AddFile(FilePrompt),
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MarketView {
    /// None until the store has answered.
    pub items: Option<Vec<MarketItem>>,
    pub selected: usize,
    /// The selected span's number (1-based, as the preview numbers them).
    pub span: Option<usize>,
    /// Where the preview is scrolled, in drawn (wrapped) lines: from the top of the text, or
    /// with `follow` from two lines above the selected span. Only `ui` knows how the lines wrap,
    /// so it turns this into the first line shown (and keeps that within the text); keeping it
    /// relative to the span makes the page keys move from what is on the screen.
    pub scroll: i32,
    /// The preview follows the selected span (`n`/`N` moved to it).
    pub follow: bool,
    pub mode: MarketMode,
    /// The on-chain sections.
    pub chain: ChainView,
    /// A consent being signed (the item), and whether `s` was pressed meanwhile: a key typed
    /// ahead is not lost, the sell form opens once the consent is in.
    pub consenting: Option<(ItemId, bool)>,
    /// The item the model is reading (one at a time: each read loads the model).
    pub model_reading: Option<ItemId>,
}

impl MarketView {
    pub fn item(&self) -> Option<&MarketItem> {
        self.items.as_ref()?.get(self.selected)
    }

    fn count(&self) -> usize {
        self.items.as_ref().map_or(0, Vec::len)
    }
}

/// Lines a page key scrolls the preview.
const PAGE: i32 = 10;

/// Keys are text only while typing the text to remove, a file's path, or in a form.
pub(crate) fn typing(s: &State) -> bool {
    matches!(
        s.market.mode,
        MarketMode::RemoveText(_) | MarketMode::AddFile(_)
    ) || onchain::typing(&s.market.mode)
}

/// The chat screen's key that puts a conversation into the vault (in its list, or anywhere a
/// letter is not text); it is in the chat screen's help.
pub const ADD_KEY: char = 'm';

pub(crate) const HELP: &[(&str, &str)] = &[
    ("↑/↓", "select an item"),
    ("n / N", "next / previous span of the preview"),
    ("k", "keep the span: the buyer gets it (never for a secret)"),
    ("r", "remove a kept span again"),
    (
        "x or /",
        "remove text the detectors missed (every occurrence)",
    ),
    (
        "c",
        "consent: sign that exactly this preview may be offered",
    ),
    ("d", "delete the item (asks first)"),
    (
        "M",
        "your default chat model reads the item for names and places the detectors missed (at most 64 KiB)",
    ),
    (
        "f",
        "add a text file (UTF-8, at most 1 MiB): its path, Tab completes it",
    ),
    (
        "[ / ]",
        "previous / next section: vault, my listings, browse, my purchases",
    ),
    (
        "s (vault)",
        "sell the consented item: price and token, then the review",
    ),
    (
        "a (my listings)",
        "approve the selected delivery: review, send",
    ),
    (
        "↑/↓ p x (my listings)",
        "on a listing: p reprices it, x delists it (each through the review)",
    ),
    (
        "b (browse)",
        "buy the selected listing (a token is approved first)",
    ),
    (
        "s (my purchases)",
        "save a delivery to a new file (both hashes checked)",
    ),
    (
        "r (my purchases)",
        "refund an undelivered purchase after its deadline",
    ),
    (
        "d (my purchases)",
        "dispute a delivery: a reason, public on chain, then the review",
    ),
    ("g", "read the market from the chain again"),
    ("PgUp/PgDn, wheel", "scroll the preview"),
    (
        "m (chat list)",
        "put the selected conversation into the vault",
    ),
];

/// The vault's items and the results of each change.
pub(crate) fn owns(action: &Action) -> bool {
    matches!(action, Action::Market(_))
}

pub(crate) fn result(s: &mut State, action: Action) -> Vec<Effect> {
    let Action::Market(action) = action else {
        return vec![];
    };
    let m = &mut s.market;
    match action {
        MarketAction::Items(items) => {
            let before = m.item().map(|i| i.item.id);
            m.items = Some(items);
            // Stay on the same item where it is still there.
            match before.and_then(|id| position(m, id)) {
                Some(i) => m.selected = i,
                None => select(m, m.selected.min(m.count().saturating_sub(1))),
            }
            if let Some(span) = m.span
                && m.item().is_none_or(|i| i.preview.entry(span).is_none())
            {
                m.span = None;
            }
        }
        MarketAction::Added { items, id } => {
            let line =
                format!("the conversation is item {id} of the sale vault: check what a buyer gets");
            opened_on(s, items, id, line);
            return read_if_set(s, id);
        }
        MarketAction::FileAdded { items, id } => {
            let line = vault_file::added(&items, id);
            opened_on(s, items, id, line);
            return read_if_set(s, id);
        }
        MarketAction::ModelRead { id, found } => {
            m.model_reading = None;
            return match found {
                Ok(spans) if spans.is_empty() => {
                    s.message = Some((
                        Level::Info,
                        format!("the model read item {id}: nothing more to remove"),
                    ));
                    vec![]
                }
                Ok(spans) => vec![Effect::Market(MarketEffect::AddModelSpans { id, spans })],
                Err(why) => error(s, format!("the model did not read item {id}: {why}")),
            };
        }
        MarketAction::FileRefused(why) => vault_file::refused(s, why),
        MarketAction::Listing { input, entries } => vault_file::listed(s, &input, entries),
        MarketAction::Saved(purchase) => {
            if matches!(m.mode, MarketMode::SaveTo { purchase: p, .. } if p == purchase) {
                m.mode = MarketMode::Browse;
            }
        }
        MarketAction::SaveFailed(failed) => {
            if let MarketMode::SaveTo {
                purchase, saving, ..
            } = &mut m.mode
                && *purchase == failed
            {
                *saving = false;
            }
        }
        MarketAction::Updated(item) => {
            let (id, given) = (item.item.id, item.consent.is_given());
            updated(m, *item);
            if let Some((waiting, sell)) = m.consenting
                && waiting == id
            {
                m.consenting = None;
                if sell && given && m.item().is_some_and(|i| i.item.id == id) {
                    return onchain::open_sell(s);
                }
            }
        }
        MarketAction::Synced(r) => {
            onchain::synced(s, r);
            // A proposal of the model's may have waited for this book.
            return super::chat_bot::book_read(s);
        }
    }
    vec![]
}

/// The key that lets the model read the selected item.
pub const MODEL_KEY: char = 'M';

/// `M`, or a new item with `market.model_reader = on`: the model reads item `id`. One read at a
/// time, and only items it reads whole.
fn read_with_model(s: &mut State, id: ItemId) -> Vec<Effect> {
    use crate::market::model_reader::MAX_ITEM_BYTES;
    if let Some(busy) = s.market.model_reading {
        return error(
            s,
            format!("the model is still reading item {busy}; one item at a time"),
        );
    }
    let Some(item) = s.market.items.iter().flatten().find(|i| i.item.id == id) else {
        return vec![];
    };
    if item.item.text.len() > MAX_ITEM_BYTES {
        return error(
            s,
            format!(
                "item {id} is over the {} KiB the model reads; its preview has the detectors' removals only",
                MAX_ITEM_BYTES / 1024
            ),
        );
    }
    s.market.model_reading = Some(id);
    s.message = Some((
        Level::Info,
        format!("the model is reading item {id} for names and places…"),
    ));
    vec![Effect::Market(MarketEffect::ReadWithModel(id))]
}

/// A new item is read by the model when the setting says so and it is small enough (a larger
/// one says why not).
fn read_if_set(s: &mut State, id: ItemId) -> Vec<Effect> {
    use crate::service::settings::MARKET_MODEL_READER;
    if s.settings.get(MARKET_MODEL_READER) != Some("on") || s.market.model_reading.is_some() {
        return vec![];
    }
    read_with_model(s, id)
}

/// A new item `id` is in the vault: the Market screen opens on its preview, with `line`.
fn opened_on(s: &mut State, items: Vec<MarketItem>, id: ItemId, line: String) {
    let m = &mut s.market;
    m.items = Some(items);
    m.mode = MarketMode::Browse;
    select(m, position(m, id).unwrap_or(0));
    s.screen = Screen::Market;
    s.message = Some((Level::Info, line));
}

/// One item after a change. A keep or a redaction renumbers the spans (a hand removal comes or
/// goes): the selection stays on the span at the same place in the text, not on its number.
fn updated(m: &mut MarketView, item: MarketItem) {
    let id = item.item.id;
    let selected = m.item().is_some_and(|i| i.item.id == id);
    let was = m
        .item()
        .filter(|_| selected)
        .and_then(|i| i.preview.entry(m.span?))
        .map(|e| (e.start, e.end));
    if let Some(items) = &mut m.items
        && let Some(slot) = items.iter_mut().find(|i| i.item.id == id)
    {
        *slot = item;
    }
    let Some(preview) = m.item().map(|i| &i.preview) else {
        return;
    };
    m.span = match (was, m.span) {
        (Some((start, end)), _) if selected => same_place(preview, start, end),
        (_, Some(span)) => {
            let count = preview.entries.len();
            (count > 0).then_some(span.min(count))
        }
        (_, None) => None,
    };
}

/// The number of the span at `start..end`, or where it went (a hand removal kept again is
/// gone): the next one after it, else the last before it.
fn same_place(preview: &Preview, start: usize, end: usize) -> Option<usize> {
    let e = &preview.entries;
    e.iter()
        .find(|e| (e.start, e.end) == (start, end))
        .or_else(|| e.iter().find(|e| e.start >= start))
        .or_else(|| e.last())
        .map(|e| e.number)
}

fn position(m: &MarketView, id: ItemId) -> Option<usize> {
    m.items.as_ref()?.iter().position(|i| i.item.id == id)
}

/// Selects item `i` with its preview from the top.
fn select(m: &mut MarketView, i: usize) {
    m.selected = i;
    m.span = None;
    m.scroll = 0;
    m.follow = false;
}

/// The screen was switched to: read the vault (again: the command line may have changed it).
pub(crate) fn entered(s: &mut State) -> Vec<Effect> {
    let mut effects = vec![Effect::Market(MarketEffect::List)];
    effects.extend(onchain::sync_now(s));
    effects
}

pub(crate) fn update(s: &mut State, action: Action) -> Vec<Effect> {
    match &s.market.mode {
        MarketMode::RemoveText(_) => remove_text(s, action),
        MarketMode::Consent { .. } => consent_step(s, action),
        MarketMode::ConfirmDelete(_) => confirm_delete(s, action),
        MarketMode::Sell { .. } => onchain::sell_key(s, action),
        MarketMode::SaveTo { .. } => onchain::save_key(s, action),
        MarketMode::Dispute { .. } => onchain::dispute_key(s, action),
        MarketMode::Reprice { .. } => onchain::reprice_key(s, action),
        MarketMode::AddFile(_) => vault_file::key(s, action),
        MarketMode::Browse => {
            if let Some(effects) = onchain::common_key(s, &action) {
                return effects;
            }
            if s.market.chain.section != onchain::Section::Vault {
                return onchain::section_key(s, action);
            }
            browse(s, action)
        }
    }
}

fn error(s: &mut State, why: impl Into<String>) -> Vec<Effect> {
    s.message = Some((Level::Error, why.into()));
    vec![]
}

fn browse(s: &mut State, action: Action) -> Vec<Effect> {
    let m = &mut s.market;
    let count = m.count();
    match action {
        Action::Up if m.selected > 0 => select(m, m.selected - 1),
        Action::Down if m.selected + 1 < count => select(m, m.selected + 1),
        Action::PageUp => scroll(m, -PAGE),
        Action::PageDown => scroll(m, PAGE),
        Action::ScrollUp(n) => scroll(m, -i32::from(n)),
        Action::ScrollDown(n) => scroll(m, i32::from(n)),
        Action::Command(c @ ('n' | 'N')) => next_span(m, c == 'n'),
        Action::Command('k') => return keep(s),
        Action::Command(MODEL_KEY) => {
            let Some(id) = m.item().map(|i| i.item.id) else {
                return vec![];
            };
            return read_with_model(s, id);
        }
        Action::Command('s') => return onchain::open_sell(s),
        Action::Command(vault_file::KEY) => return vault_file::open(s),
        Action::Command('r') => return redact(s),
        Action::Command('x' | '/') if m.item().is_some() => {
            m.mode = MarketMode::RemoveText(Input::default());
        }
        Action::Command('c') => {
            if let Some(i) = m.item() {
                m.mode = MarketMode::Consent {
                    id: i.item.id,
                    sha256: i.preview.sha256(),
                };
            }
        }
        Action::Command('d') => {
            if let Some(i) = m.item() {
                m.mode = MarketMode::ConfirmDelete(i.item.id);
            }
        }
        _ => {}
    }
    vec![]
}

/// Scrolls `by` drawn lines (down when positive). `ui` stops at either end of the text; here
/// the offset is only kept within the most lines the text could wrap into, and not above its
/// top when it counts from there.
fn scroll(m: &mut MarketView, by: i32) {
    let most = m.item().map_or(0, |i| {
        i32::try_from(i.item.text.len() * 2).unwrap_or(i32::MAX)
    });
    let least = if m.follow { -most } else { 0 };
    m.scroll = m.scroll.saturating_add(by).clamp(least, most.max(least));
}

/// Moves to the next (or previous) span, round the end; the preview follows it.
fn next_span(m: &mut MarketView, forward: bool) {
    let Some(item) = m.item() else { return };
    let count = item.preview.entries.len();
    if count == 0 {
        return;
    }
    let next = match (m.span, forward) {
        (None, true) => 1,
        (None, false) => count,
        (Some(n), true) => n % count + 1,
        (Some(n), false) => (n + count - 2) % count + 1,
    };
    m.span = Some(next);
    m.follow = true;
    m.scroll = 0;
}

fn selected_span(s: &mut State) -> Option<(ItemId, usize, Preview)> {
    let item = s.market.item()?;
    let why = match s.market.span {
        Some(n) => return Some((item.item.id, n, item.preview.clone())),
        None if item.preview.entries.is_empty() => {
            "this item has no spans: nothing was detected or removed"
        }
        None => "select a span first: n moves to the next one",
    };
    error(s, why);
    None
}

/// `k`: the buyer gets the selected span. A secret is refused here, with the service's reason.
fn keep(s: &mut State) -> Vec<Effect> {
    let Some((id, span, preview)) = selected_span(s) else {
        return vec![];
    };
    match vault_view::keep(&preview, span) {
        Ok(_) => vec![Effect::Market(MarketEffect::Keep { id, span })],
        Err(e) => error(s, e.to_string()),
    }
}

/// `r`: the selected span is removed again.
fn redact(s: &mut State) -> Vec<Effect> {
    let Some((id, span, preview)) = selected_span(s) else {
        return vec![];
    };
    match vault_view::redact(&preview, span) {
        Ok(_) => vec![Effect::Market(MarketEffect::Redact { id, span })],
        Err(e) => error(s, e.to_string()),
    }
}

fn remove_text(s: &mut State, action: Action) -> Vec<Effect> {
    let MarketMode::RemoveText(input) = &mut s.market.mode else {
        return vec![];
    };
    match action {
        Action::Edit(e) => input.apply(&e, false),
        Action::Back => s.market.mode = MarketMode::Browse,
        Action::Submit => {
            let needle = SecretText::from(input.take());
            s.market.mode = MarketMode::Browse;
            let Some(item) = s.market.item() else {
                return vec![];
            };
            let id = item.item.id;
            return match vault_view::redact_text(&item.item.text, &item.preview, &needle) {
                Ok(_) => vec![Effect::Market(MarketEffect::RedactText {
                    id,
                    text: needle,
                })],
                Err(e) => error(s, e.to_string()),
            };
        }
        _ => {}
    }
    vec![]
}

fn consent_step(s: &mut State, action: Action) -> Vec<Effect> {
    let MarketMode::Consent { id, sha256 } = &s.market.mode else {
        return vec![];
    };
    match action {
        Action::Command('y' | 'Y') | Action::Submit => {
            let effect = MarketEffect::Consent {
                id: *id,
                sha256: sha256.clone(),
            };
            s.market.consenting = Some((*id, false));
            s.market.mode = MarketMode::Browse;
            vec![Effect::Market(effect)]
        }
        Action::Back | Action::Command('n' | 'N') => {
            s.market.mode = MarketMode::Browse;
            vec![]
        }
        _ => vec![],
    }
}

fn confirm_delete(s: &mut State, action: Action) -> Vec<Effect> {
    let MarketMode::ConfirmDelete(id) = s.market.mode else {
        return vec![];
    };
    match action {
        Action::Command('y' | 'Y') | Action::Submit => {
            s.market.mode = MarketMode::Browse;
            vec![Effect::Market(MarketEffect::Remove(id))]
        }
        Action::Back | Action::Command('n' | 'N') => {
            s.market.mode = MarketMode::Browse;
            vec![]
        }
        _ => vec![],
    }
}
