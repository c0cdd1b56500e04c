//! `keybot market …`: the sale vault (vault.rs) and the market on chain. An item is offered only
//! after the user has seen exactly what a buyer gets (`preview`) and signed their consent to
//! those bytes. Each subcommand is a struct with its own `run`, next to what it does:
//! deploy.rs (deploy, join), sell.rs (sell, reprice, delist, listings, withdraw), serve.rs
//! (serve), buy.rs (browse, buy), purchases.rs (purchases, fetch, refund, challenge, dispute),
//! earnings.rs; session.rs is what they share (an unlocked wallet on a network's market).
mod buy;
mod deploy;
mod earnings;
mod purchases;
mod sell;
mod serve;
mod session;
mod vault;

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Subcommand};

use crate::config::Paths;

#[derive(Debug, Args)]
pub struct MarketArgs {
    /// Read the vault password from FILE (or set KEYBOT_PASSWORD).
    #[arg(long, value_name = "FILE", global = true)]
    password_file: Option<PathBuf>,
    #[command(subcommand)]
    command: MarketCommand,
}

#[derive(Debug, Subcommand)]
pub enum MarketCommand {
    #[command(flatten)]
    Vault(vault::VaultCommand),
    /// Deploy a DataMarket (keybot's committed contract) from one of your accounts, through the
    /// review, and use it on the network. ETH is always accepted; --token adds a configured
    /// token to its allow-list, fixed for the market's life.
    Deploy(deploy::DeployArgs),
    /// Use a market someone deployed: only after checking that the code at ADDRESS is exactly
    /// DataMarket's (from the committed artifact); writes it and its deployment block into the
    /// network's config.
    Join(deploy::JoinArgs),
    /// List a consented item for sale: encrypts its exact preview under a fresh key, keeps the
    /// key, and sends `list` through the review. Prints the listing id on the last line.
    Sell(sell::SellArgs),
    /// Change the price of one of your listings (purchases already paid keep their price).
    Reprice(sell::RepriceArgs),
    /// Stop offering one of your listings (paid purchases are still delivered).
    Delist(sell::DelistArgs),
    /// Your listings: price, sales, deliveries waiting, status.
    Listings(sell::ListingsArgs),
    /// Your purchases: listing, price, state, and until when a delivery can be challenged.
    Purchases(purchases::PurchasesArgs),
    /// Deliver every purchase of your listings as it comes (until Ctrl-C).
    Serve(serve::ServeArgs),
    /// Withdraw your settled earnings (every token, or --token), settling in the same call what
    /// has passed its challenge window.
    Withdraw(sell::WithdrawArgs),
    /// Active listings: title, price, size, what was removed, the seller's record.
    Browse(buy::BrowseArgs),
    /// Buy a listing: fetch and check its ciphertext, approve exactly the price (for a token) and
    /// pay into escrow with a one-time key, each through the review. Prints the purchase id on
    /// the last line.
    Buy(buy::BuyArgs),
    /// Wait for the delivery, check both hashes, decrypt, and write FILE (0600, never over an
    /// existing file).
    Fetch(purchases::FetchArgs),
    /// Take back the payment of an undelivered purchase after its deadline.
    Refund(purchases::RefundArgs),
    /// Take back the payment for a delivered key that does not open the listing: the contract
    /// checks the key itself. Refused, with nothing sent, when the key is right (a challenge
    /// publishes the purchase's one-time key).
    Challenge(purchases::ChallengeArgs),
    /// What your accounts earned: per token earned, pending in escrow, claimable, withdrawn and
    /// refunded; per listing; the recent sales, refunds and withdrawals.
    Earnings(earnings::EarningsArgs),
    /// Record on chain that a delivery does not open, publishing the purchase's one-time secret
    /// so that every client checks the claim itself (proven, or refuted: then the content is
    /// public).
    Dispute(purchases::DisputeArgs),
}

/// What every sending market command takes.
#[derive(Debug, Args)]
pub struct ChainOpts {
    #[arg(long)]
    network: Option<String>,
    /// Confirm without a prompt.
    #[arg(long)]
    yes: bool,
    /// Seconds to wait for each receipt.
    #[arg(long, default_value_t = 120, value_name = "SECONDS")]
    wait: u64,
    /// With --yes: also accept loud warnings.
    #[arg(long, requires = "yes")]
    accept_warnings: bool,
    /// Set by `keybot ask` when your model proposed this command: the review says so first
    /// (`untyped`: you never typed what it pays, a loud warning).
    #[arg(long, hide = true, value_name = "typed|untyped")]
    proposed_by_model: Option<Proposed>,
}

/// Who typed what a command the model proposed pays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Proposed {
    Typed,
    Untyped,
}

impl ChainOpts {
    /// The market session on these options' network, its reviews as these options say.
    pub fn open(
        &self,
        paths: &Paths,
        pw_file: Option<&std::path::Path>,
    ) -> Result<session::Session> {
        let mut s = session::Session::open(paths, pw_file, self.network.as_deref())?;
        s.proposed = self.proposed_by_model.map(|p| p == Proposed::Typed);
        s.accept_warnings = self.accept_warnings;
        Ok(s)
    }
}

impl MarketArgs {
    pub fn run(self, paths: &Paths) -> Result<u8> {
        let pw = self.password_file.as_deref();
        match self.command {
            MarketCommand::Vault(command) => vault::run(paths, pw, command),
            MarketCommand::Deploy(a) => a.run(paths, pw),
            MarketCommand::Join(a) => a.run(paths),
            MarketCommand::Sell(a) => a.run(paths, pw),
            MarketCommand::Reprice(a) => a.run(paths, pw),
            MarketCommand::Delist(a) => a.run(paths, pw),
            MarketCommand::Listings(a) => a.run(paths, pw),
            MarketCommand::Purchases(a) => a.run(paths, pw),
            MarketCommand::Serve(a) => a.run(paths, pw),
            MarketCommand::Withdraw(a) => a.run(paths, pw),
            MarketCommand::Browse(a) => a.run(paths, pw),
            MarketCommand::Buy(a) => a.run(paths, pw),
            MarketCommand::Fetch(a) => a.run(paths, pw),
            MarketCommand::Refund(a) => a.run(paths, pw),
            MarketCommand::Challenge(a) => a.run(paths, pw),
            MarketCommand::Earnings(a) => a.run(paths, pw),
            MarketCommand::Dispute(a) => a.run(paths, pw),
        }
    }
}
