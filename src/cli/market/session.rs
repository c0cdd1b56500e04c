//! What the market's on-chain commands share: a [`Session`] (an unlocked wallet connected to a
//! network's market, whose new events each command reads into the store first), and the checks
//! and names they all use. What a command sends goes through the same review and confirm as
//! `wallet send`.
use std::path::Path;
use std::time::Duration;

use alloy::primitives::{Address, U256};
use anyhow::{Result, anyhow, bail};
use keybot_keystore::{AccountRef, Wallet};

use crate::chain::{self, ChainConfig, Client, Token, activity};
use crate::cli::common::{Sender, connect, unlock};
use crate::cli::input;
use crate::config::Paths;
use crate::market::book::{Book, Listing};
use crate::market::meta::Meta;
use crate::sanitize::clean_line;
use crate::service::market::{self as svc, Market};
use crate::service::wallet::open_store;
use crate::store::Store;

/// An unlocked wallet connected to a network's market.
pub struct Session {
    pub rt: tokio::runtime::Runtime,
    pub client: Client,
    pub market: Market,
    pub wallet: Wallet,
    pub store: Store,
    pub own: Vec<Address>,
    /// `market.ipfs_gateway`, for an ipfs:// listing's ciphertext.
    pub ipfs_gateway: Option<String>,
    /// Set by `keybot ask` (hidden `--proposed-by-model`): every review says the model proposed
    /// it, loudly (`Some(false)`) when the user never typed what it pays.
    pub proposed: Option<bool>,
    /// `--accept-warnings`: with `--yes`, loud warnings are accepted too.
    pub accept_warnings: bool,
}

impl Session {
    /// Everything the user typed is checked by the caller before this asks for the password.
    pub fn open(paths: &Paths, pw_file: Option<&Path>, network: Option<&str>) -> Result<Session> {
        let config = ChainConfig::load(paths)?;
        let client = connect(&config, network)?;
        let market = svc::market_of(&client)?;
        let wallet = unlock(paths, pw_file)?;
        let store = open_store(paths, &wallet)?;
        let own = activity::own_addresses(&wallet, Some(&store))?;
        let ipfs_gateway = crate::service::settings::Settings::load(&store)?
            .0
            .ipfs_gateway()
            .map(str::to_owned);
        Ok(Session {
            rt: chain::runtime()?,
            client,
            market,
            wallet,
            store,
            own,
            ipfs_gateway,
            proposed: None,
            accept_warnings: false,
        })
    }

    /// The market's events up to the head, as a book.
    pub fn sync(&self) -> Result<Book> {
        self.rt
            .block_on(async {
                self.client.check_chain().await?;
                svc::sync(&self.client, &self.store, self.market).await
            })
            .map_err(Into::into)
    }

    pub fn sender(&self, yes: bool, accept_warnings: bool, wait: u64) -> Sender<'_> {
        Sender {
            rt: &self.rt,
            client: &self.client,
            store: &self.store,
            wallet: &self.wallet,
            own: &self.own,
            yes,
            accept_warnings: accept_warnings || self.accept_warnings,
            wait: Duration::from_secs(wait),
            proposed: self.proposed,
        }
    }

    /// The wallet's account for one of its addresses.
    pub fn account_of(&self, address: Address) -> Result<AccountRef> {
        self.wallet.find(address, 1000)?.ok_or_else(|| {
            anyhow!(
                "{} is not one of this wallet's accounts",
                address.to_checksum(None)
            )
        })
    }

    pub fn price(&self, token: Address, price: U256) -> String {
        svc::format_price(&self.client, token, price)
    }

    /// The chain's time: deadlines and challenge windows are the contract's, not this
    /// machine's.
    pub fn now(&self) -> Result<u64> {
        Ok(self.rt.block_on(svc::chain_time(&self.client))?)
    }

    /// The buyer's side: this wallet's one-time keys as the book shows them used.
    pub fn buyer<'a>(&'a self, keys: &'a svc::BuyerKeys, now: u64) -> svc::Buyer<'a> {
        svc::Buyer {
            ipfs_gateway: self.ipfs_gateway.as_deref(),
            ..svc::Buyer::new(
                &self.wallet,
                keys,
                &self.client,
                self.market,
                now,
                &self.own,
            )
        }
    }

    /// Where listings' ciphertexts may be read from.
    pub fn sources(&self) -> svc::Sources<'_> {
        svc::Sources {
            own: &self.own,
            ipfs_gateway: self.ipfs_gateway.as_deref(),
        }
    }
}

/// With no terminal to ask on, only `--yes` sends; said before the password is asked for.
pub fn refuse_unconfirmed(yes: bool) -> Result<()> {
    if !yes && !input::stdin_is_tty() {
        bail!("refusing to send without confirmation: pass --yes");
    }
    Ok(())
}

/// ETH (no `--token`, or `--token ETH`), or a token configured on the network.
pub fn listing_token(client: &Client, token: Option<&str>) -> Result<Token> {
    match token {
        None => Ok(svc::eth()),
        Some(t) if t.eq_ignore_ascii_case("ETH") => Ok(svc::eth()),
        Some(t) => client.network.token(t).cloned().ok_or_else(|| {
            anyhow!(
                "no token {:?} on network {} (add it with `keybot token add ADDRESS`)",
                clean_line(t),
                client.name
            )
        }),
    }
}

/// A listing's title, or a placeholder when its metadata does not parse.
pub fn meta_title(listing: &Listing) -> String {
    match Meta::parse(&listing.meta) {
        Ok(m) => m.title,
        Err(_) => "(unreadable metadata)".into(),
    }
}
