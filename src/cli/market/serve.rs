//! `keybot market serve`: the seller's delivery loop, every purchase of the user's listings
//! delivered as it comes.
use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Result;
use clap::Args;

use super::session::Session;
use crate::config::Paths;
use crate::market::book::Book;
use crate::sanitize::clean_line;
use crate::service::market as svc;
use crate::service::vault;

#[derive(Debug, Args)]
pub struct ServeArgs {
    #[arg(long)]
    network: Option<String>,
    /// One pass, then exit.
    #[arg(long)]
    once: bool,
    /// Seconds between passes.
    #[arg(long, default_value_t = 2, value_name = "SECONDS")]
    poll: u64,
}

impl ServeArgs {
    /// Delivers every purchase of the user's listings as it comes, until Ctrl-C (or after one
    /// pass with `--once`).
    pub fn run(self, paths: &Paths, pw_file: Option<&Path>) -> Result<u8> {
        let s = Session::open(paths, pw_file, self.network.as_deref())?;
        let stop = Arc::new(AtomicBool::new(false));
        {
            let stop = stop.clone();
            crate::cli::chat::on_ctrl_c(move || stop.store(true, Ordering::SeqCst))?;
        }
        eprintln!(
            "serving the market at {} on {} (Ctrl-C stops)",
            s.market.address.to_checksum(None),
            s.client.name
        );
        let mut told = HashSet::new();
        loop {
            let book = s.sync()?;
            // The chain's clock, not this machine's: the deadline is the contract's.
            let now = s.now().unwrap_or_else(|_| now_secs());
            deliver_pending(&s, &book, now, 120, &mut told)?;
            if self.once || stop.load(Ordering::SeqCst) {
                return Ok(0);
            }
            let until = Instant::now() + Duration::from_secs(self.poll.max(1));
            while Instant::now() < until {
                if stop.load(Ordering::SeqCst) {
                    return Ok(0);
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
}

/// One pass of the seller's delivery: every paid purchase of a listing whose key this store
/// holds, until an hour before its deadline (svc::DELIVERY_MARGIN). A purchase that cannot be
/// delivered (a buyer key that is no usable point, a delivery the node refuses) is skipped
/// with one line, and the others go on. Returns how many were delivered.
fn deliver_pending(
    s: &Session,
    book: &Book,
    now: u64,
    wait: u64,
    told: &mut HashSet<u64>,
) -> Result<usize> {
    let mut delivered = 0;
    for seller in &s.own {
        for p in book.undelivered(*seller) {
            let Some(listing) = book.listings.get(&p.listing) else {
                continue;
            };
            let Some(secret) = s.store.listing_secret(listing.content_hash)? else {
                // Listed from another machine whose store did not come back with a backup.
                tracing::warn!(purchase = p.id, "no content key for listing {}", listing.id);
                continue;
            };
            if !svc::deliverable(p, now) {
                // Said once per purchase, not on every pass.
                if told.insert(p.id) {
                    eprintln!(
                        "skipped purchase {} (listing {}): its deadline {} is less than an hour away or past; the buyer is refunded after it",
                        p.id,
                        listing.id,
                        crate::market::earnings::utc_time(p.deadline)
                    );
                }
                continue;
            }
            let sent = svc::deliver_call(p, &secret).and_then(|call| {
                let account = s.account_of(p.seller)?;
                s.sender(true, false, wait)
                    .send_confirmed(account, call, "Deliver")
            });
            match sent {
                Ok(_) => {
                    eprintln!("delivered purchase {} (listing {})", p.id, listing.id);
                    delivered += 1;
                }
                Err(e) => eprintln!(
                    "skipped purchase {} (listing {}): {}",
                    p.id,
                    listing.id,
                    clean_line(&format!("{e:#}"))
                ),
            }
        }
    }
    Ok(delivered)
}

fn now_secs() -> u64 {
    vault::now_secs().max(0) as u64
}
