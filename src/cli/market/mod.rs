//! `keybot market …`: the sale vault (vault.rs) and the market on chain (onchain.rs). An item
//! is offered only after the user has seen exactly what a buyer gets (`preview`) and signed
//! their consent to those bytes.
mod earnings;
mod onchain;
mod vault;

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Subcommand};

use crate::config::Paths;
use crate::store::ItemId;

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
    Vault(VaultCommand),
    /// Deploy a DataMarket (keybot's committed contract) from one of your accounts, through the
    /// review, and use it on the network. ETH is always accepted; --token adds a configured
    /// token to its allow-list, fixed for the market's life.
    Deploy {
        #[arg(long = "token", value_name = "SYMBOL|ADDRESS")]
        tokens: Vec<String>,
        #[arg(long, default_value = "0", value_name = "ACCOUNT")]
        account: String,
        #[command(flatten)]
        chain: ChainOpts,
    },
    /// Use a market someone deployed: only after checking that the code at ADDRESS is exactly
    /// DataMarket's (from the committed artifact); writes it and its deployment block into the
    /// network's config.
    Join {
        address: String,
        #[arg(long)]
        network: Option<String>,
    },
    /// List a consented item for sale: encrypts its exact preview under a fresh key, keeps the
    /// key, and sends `list` through the review. Prints the listing id on the last line.
    Sell {
        item: ItemId,
        /// The price in the token's units (e.g. 5 or 0.01).
        #[arg(long, value_name = "AMOUNT")]
        price: String,
        /// ETH (default) or a configured token by symbol or address.
        #[arg(long, value_name = "SYMBOL|ADDRESS")]
        token: Option<String>,
        /// Where the ciphertext is published (https://, ipfs://, file://); needed over 32 KiB.
        #[arg(long, value_name = "URI")]
        uri: Option<String>,
        /// Also write the ciphertext to FILE (to publish it at --uri).
        #[arg(long, value_name = "FILE")]
        ciphertext_out: Option<PathBuf>,
        /// A tag for the listing's metadata (repeatable).
        #[arg(long = "tag", value_name = "TAG")]
        tags: Vec<String>,
        #[command(flatten)]
        chain: ChainOpts,
    },
    /// Change the price of one of your listings (purchases already paid keep their price).
    Reprice {
        listing: u64,
        #[arg(long, value_name = "AMOUNT")]
        price: String,
        #[command(flatten)]
        chain: ChainOpts,
    },
    /// Stop offering one of your listings (paid purchases are still delivered).
    Delist {
        listing: u64,
        #[command(flatten)]
        chain: ChainOpts,
    },
    /// Your listings: price, sales, deliveries waiting, status.
    Listings {
        #[arg(long)]
        json: bool,
        #[arg(long)]
        network: Option<String>,
    },
    /// Your purchases: listing, price, state, and until when a delivery can be challenged.
    Purchases {
        #[arg(long)]
        json: bool,
        #[arg(long)]
        network: Option<String>,
    },
    /// Deliver every purchase of your listings as it comes (until Ctrl-C).
    Serve {
        #[arg(long)]
        network: Option<String>,
        /// One pass, then exit.
        #[arg(long)]
        once: bool,
        /// Seconds between passes.
        #[arg(long, default_value_t = 2, value_name = "SECONDS")]
        poll: u64,
    },
    /// Withdraw your settled earnings (every token, or --token), settling in the same call what
    /// has passed its challenge window.
    Withdraw {
        #[arg(long, value_name = "SYMBOL|ADDRESS")]
        token: Option<String>,
        /// Pay to this address instead of the selling account.
        #[arg(long, value_name = "ADDRESS")]
        to: Option<String>,
        #[command(flatten)]
        chain: ChainOpts,
    },
    /// Active listings: title, price, size, what was removed, the seller's record.
    Browse {
        #[arg(long)]
        json: bool,
        #[arg(long, value_name = "ADDRESS")]
        seller: Option<String>,
        /// In each listing's own token's units.
        #[arg(long, value_name = "AMOUNT")]
        max_price: Option<String>,
        #[arg(long)]
        network: Option<String>,
    },
    /// Buy a listing: fetch and check its ciphertext, approve exactly the price (for a token) and
    /// pay into escrow with a one-time key, each through the review. Prints the purchase id on
    /// the last line.
    Buy {
        listing: u64,
        /// The most you pay (in the listing's token's units); default: the price shown now. The
        /// contract refuses the purchase if the seller repriced above it.
        #[arg(long, value_name = "AMOUNT")]
        max_price: Option<String>,
        /// The ciphertext, fetched by hand (an ipfs:// listing, or a file:// one from its
        /// seller): checked against the listing before anything is paid, and kept.
        #[arg(long, value_name = "FILE")]
        ciphertext: Option<PathBuf>,
        #[arg(long, default_value = "0", value_name = "ACCOUNT")]
        account: String,
        /// Buy although this wallet already bought this listing (or a purchase is pending).
        #[arg(long)]
        again: bool,
        #[command(flatten)]
        chain: ChainOpts,
    },
    /// Wait for the delivery, check both hashes, decrypt, and write FILE (0600, never over an
    /// existing file).
    Fetch {
        purchase: u64,
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Exit 3 at once when the key is not delivered yet.
        #[arg(long)]
        no_wait: bool,
        /// The ciphertext, fetched by hand (for an ipfs:// listing).
        #[arg(long, value_name = "FILE")]
        ciphertext: Option<PathBuf>,
        #[arg(long)]
        network: Option<String>,
    },
    /// Take back the payment of an undelivered purchase after its deadline.
    Refund {
        purchase: u64,
        /// Pay to this address instead of the buying account.
        #[arg(long, value_name = "ADDRESS")]
        to: Option<String>,
        #[command(flatten)]
        chain: ChainOpts,
    },
    /// Take back the payment for a delivered key that does not open the listing: the contract
    /// checks the key itself. Refused, with nothing sent, when the key is right (a challenge
    /// publishes the purchase's one-time key).
    Challenge {
        purchase: u64,
        #[command(flatten)]
        chain: ChainOpts,
    },
    /// What your accounts earned: per token earned, pending in escrow, claimable, withdrawn and
    /// refunded; per listing; the recent sales, refunds and withdrawals.
    Earnings {
        /// One JSON object: network, chain_id, block, tokens, listings.
        #[arg(long)]
        json: bool,
        /// Write every sale, refund and withdrawal to FILE as CSV (0600, never over a file).
        #[arg(long, value_name = "FILE")]
        csv: Option<PathBuf>,
        /// Count only events this many blocks below the head (default: 2, on a dev chain 0).
        #[arg(long, value_name = "BLOCKS")]
        confirmations: Option<u64>,
        #[arg(long)]
        network: Option<String>,
    },
    /// Record on chain that a delivery does not open, publishing the purchase's one-time secret
    /// so that every client checks the claim itself (proven, or refuted: then the content is
    /// public).
    Dispute {
        purchase: u64,
        #[arg(
            long,
            default_value = "the delivered key or content does not match the listing"
        )]
        reason: String,
        #[command(flatten)]
        chain: ChainOpts,
    },
}

/// The sale vault's commands.
#[derive(Debug, Subcommand)]
pub enum VaultCommand {
    /// List the conversations that can be added (id, messages, title).
    Chats {
        #[arg(long)]
        json: bool,
    },
    /// Put a copy of a conversation or a text file (UTF-8, at most 1 MiB) into the sale vault.
    /// Prints the new item's id.
    #[command(group = clap::ArgGroup::new("source").required(true))]
    Add {
        /// A conversation's id (`keybot market chats` lists them).
        #[arg(long, value_name = "ID", group = "source")]
        chat: Option<i64>,
        /// A text file.
        #[arg(long, value_name = "PATH", group = "source")]
        file: Option<PathBuf>,
        #[arg(long, value_name = "TEXT")]
        title: Option<String>,
        /// One JSON object: id, title, bytes, redactions by kind.
        #[arg(long)]
        json: bool,
    },
    /// The sale vault: id, title, size, what is removed, consent.
    Items {
        #[arg(long)]
        json: bool,
    },
    /// Print exactly the text a buyer would get (every removal replaced by a marker naming its
    /// kind); the summary goes to standard error.
    Preview {
        id: ItemId,
        /// Number the removed and kept spans, for `keep` and `redact` (not the buyer's text).
        #[arg(long)]
        numbered: bool,
    },
    /// Show a removed span to the buyer after all (refused for seed phrases, keys and tokens).
    Keep {
        id: ItemId,
        /// The span's number in `preview --numbered`.
        span: usize,
    },
    /// Remove a kept span again, or (--text) every occurrence of a text the detectors missed.
    #[command(group = clap::ArgGroup::new("what").required(true))]
    Redact {
        id: ItemId,
        /// The span's number in `preview --numbered`.
        #[arg(group = "what")]
        span: Option<usize>,
        /// Remove every occurrence of TEXT.
        #[arg(long, value_name = "TEXT", group = "what")]
        text: Option<String>,
    },
    /// Sign (EIP-191) a consent to offer the item's current preview, after showing its summary.
    Consent {
        id: ItemId,
        /// The selling account.
        #[arg(long, default_value = "0", value_name = "ACCOUNT")]
        account: String,
        /// Confirm without a prompt.
        #[arg(long)]
        yes: bool,
    },
    /// Delete an item from the sale vault (overwritten in the store).
    Remove { id: ItemId },
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
}

impl From<ChainOpts> for onchain::Sending {
    fn from(c: ChainOpts) -> onchain::Sending {
        onchain::Sending {
            network: c.network,
            yes: c.yes,
            wait: c.wait,
        }
    }
}

pub fn run(paths: &Paths, args: MarketArgs) -> Result<u8> {
    let pw = args.password_file.as_deref();
    match args.command {
        MarketCommand::Sell {
            item,
            price,
            token,
            uri,
            ciphertext_out,
            tags,
            chain,
        } => onchain::sell(
            paths,
            pw,
            onchain::SellArgs {
                item,
                price: &price,
                token: token.as_deref(),
                uri: uri.as_deref(),
                ciphertext_out: ciphertext_out.as_deref(),
                tags: &tags,
                network: chain.network.as_deref(),
                yes: chain.yes,
                wait: chain.wait,
            },
        ),
        MarketCommand::Deploy {
            tokens,
            account,
            chain,
        } => onchain::deploy(
            paths,
            pw,
            chain.network.as_deref(),
            &tokens,
            &account,
            chain.yes,
            chain.wait,
        ),
        MarketCommand::Join { address, network } => {
            onchain::join(paths, &address, network.as_deref())
        }
        MarketCommand::Reprice {
            listing,
            price,
            chain,
        } => onchain::reprice_or_delist(
            paths,
            pw,
            chain.network.as_deref(),
            listing,
            Some(&price),
            chain.yes,
            chain.wait,
        ),
        MarketCommand::Delist { listing, chain } => onchain::reprice_or_delist(
            paths,
            pw,
            chain.network.as_deref(),
            listing,
            None,
            chain.yes,
            chain.wait,
        ),
        MarketCommand::Listings { json, network } => {
            onchain::listings(paths, pw, network.as_deref(), json)
        }
        MarketCommand::Purchases { json, network } => {
            onchain::purchases(paths, pw, network.as_deref(), json)
        }
        MarketCommand::Serve {
            network,
            once,
            poll,
        } => onchain::serve(paths, pw, network.as_deref(), once, poll),
        MarketCommand::Withdraw { token, to, chain } => onchain::withdraw(
            paths,
            pw,
            chain.network.as_deref(),
            token.as_deref(),
            to.as_deref(),
            chain.yes,
            chain.wait,
        ),
        MarketCommand::Browse {
            json,
            seller,
            max_price,
            network,
        } => onchain::browse(
            paths,
            pw,
            network.as_deref(),
            seller.as_deref(),
            max_price.as_deref(),
            json,
        ),
        MarketCommand::Buy {
            listing,
            max_price,
            ciphertext,
            account,
            again,
            chain,
        } => onchain::buy(
            paths,
            pw,
            onchain::BuyArgs {
                listing,
                max_price: max_price.as_deref(),
                ciphertext: ciphertext.as_deref(),
                account: &account,
                again,
                network: chain.network.as_deref(),
                yes: chain.yes,
                wait: chain.wait,
            },
        ),
        MarketCommand::Fetch {
            purchase,
            out,
            no_wait,
            ciphertext,
            network,
        } => onchain::fetch(
            paths,
            pw,
            network.as_deref(),
            purchase,
            &out,
            no_wait,
            ciphertext.as_ref(),
        ),
        MarketCommand::Refund {
            purchase,
            to,
            chain,
        } => onchain::after_purchase(
            paths,
            pw,
            &chain.into(),
            purchase,
            onchain::BuyerStep::Refund { to: to.as_deref() },
        ),
        MarketCommand::Challenge { purchase, chain } => onchain::after_purchase(
            paths,
            pw,
            &chain.into(),
            purchase,
            onchain::BuyerStep::Challenge,
        ),
        MarketCommand::Dispute {
            purchase,
            reason,
            chain,
        } => onchain::after_purchase(
            paths,
            pw,
            &chain.into(),
            purchase,
            onchain::BuyerStep::Dispute { reason: &reason },
        ),
        MarketCommand::Earnings {
            json,
            csv,
            confirmations,
            network,
        } => earnings::run(
            paths,
            pw,
            earnings::EarningsArgs {
                network: network.as_deref(),
                json,
                csv: csv.as_deref(),
                confirmations,
            },
        ),
        MarketCommand::Vault(command) => vault::run(paths, pw, command),
    }
}
