//! What `update` asks the runtime to do. Effects are plain data so `update` stays pure and
//! testable; the runtime performs them off the UI thread and answers with [`Action`]s.
//! Each screen's own requests are its enum, beside its `update` (`screens::*::…Effect`); the
//! runtime routes them per screen.
//!
//! [`Action`]: super::action::Action
use super::screens::chat::ChatEffect;
use super::screens::earnings::EarningsEffect;
use super::screens::market::MarketEffect;
use super::screens::onboarding::OnboardingEffect;
use super::screens::settings::SettingsEffect;
use super::screens::unlock::UnlockEffect;
use super::screens::wallet::WalletEffect;

#[derive(Debug)]
pub enum Effect {
    /// Drop every secret: the wallet, the store handle, the model's conversation.
    Lock,
    Copy(String),
    Quit,
    Onboarding(OnboardingEffect),
    Unlock(UnlockEffect),
    Wallet(WalletEffect),
    Chat(ChatEffect),
    Settings(SettingsEffect),
    Market(MarketEffect),
    Earnings(EarningsEffect),
}
