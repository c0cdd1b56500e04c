//! `keybot market earnings [--json] [--csv FILE]`: what the wallet's accounts earned on the
//! network's market, read from the chain into the store first (market::earnings has the
//! definitions). The CSV is the user's own record: every sale, refund and withdrawal.
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use clap::Args;

use super::session::Session;
use crate::config::Paths;
use crate::market::earnings::{Earnings, utc_date, utc_time};
use crate::sanitize::clean_line;
use crate::service::market as svc;

#[derive(Debug, Args)]
pub struct EarningsArgs {
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
}

impl EarningsArgs {
    pub fn run(self, paths: &Paths, pw_file: Option<&Path>) -> Result<u8> {
        let csv = self.csv.as_deref();
        if let Some(csv) = csv
            && csv.exists()
        {
            bail!(
                "{} exists; keybot never overwrites a file",
                clean_line(&csv.display().to_string())
            );
        }
        let s = Session::open(paths, pw_file, self.network.as_deref())?;
        let confirmations = self
            .confirmations
            .unwrap_or_else(|| svc::default_confirmations(&s.client));
        let e = s.rt.block_on(async {
            s.client.check_chain().await?;
            svc::sync_earnings(&s.client, &s.store, s.market, &s.own, confirmations).await
        })?;
        if let Some(csv) = csv {
            keybot_keystore::atomic::create_private(csv, csv_of(&s, &e).as_bytes())?;
            eprintln!(
                "{} sales, refunds and withdrawals written to {}",
                e.entries.len(),
                clean_line(&csv.display().to_string())
            );
        }
        if self.json {
            println!("{}", svc::earnings_json(&s.client, &e));
        } else if csv.is_none() {
            print!("{}", text_of(&s, &e));
        }
        Ok(0)
    }
}

/// The CSV: a header, then one line per entry. No field can hold a comma, quote or newline
/// (numbers, hex, a fixed word, an ISO time), so nothing needs quoting.
fn csv_of(s: &Session, e: &Earnings) -> String {
    let mut out = String::from("kind,block,time,tx_hash,listing,buyer,token,amount\n");
    for x in &e.entries {
        let _ = writeln!(
            out,
            "{},{},{},{:#x},{},{},{},{}",
            x.kind.name(),
            x.block,
            x.time.map(utc_time).unwrap_or_default(),
            x.tx_hash,
            x.listing.map(|l| l.to_string()).unwrap_or_default(),
            x.buyer.map(|b| b.to_checksum(None)).unwrap_or_default(),
            svc::token_key(x.token),
            svc::token_amount(&s.client, x.token, x.amount),
        );
    }
    out
}

fn text_of(s: &Session, e: &Earnings) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "earnings on {} at block {}",
        clean_line(&s.client.name),
        e.block
    );
    if e.is_empty() {
        let _ = writeln!(out, "no sales yet");
        return out;
    }
    let p = |t, v| svc::format_price(&s.client, t, v);
    for f in &e.tokens {
        let _ = writeln!(
            out,
            "  earned {}  settling {}  pending {}  claimable {}  withdrawn {}  refunded {}",
            p(f.token, f.earned),
            p(f.token, f.settling),
            p(f.token, f.pending),
            p(f.token, f.claimable),
            p(f.token, f.withdrawn),
            p(f.token, f.refunded),
        );
    }
    let _ = writeln!(out, "listings:");
    for l in &e.listings {
        let _ = writeln!(
            out,
            "  {:>5}  {:<30}  {:>3} sold  {:>18}  {} refunded  {} disputed  last sale {}",
            l.listing,
            clean_line(&l.title),
            l.sales,
            p(l.token, l.revenue),
            l.refunds,
            l.disputes,
            match l.last_sale {
                Some((_, Some(t))) => utc_date(t / crate::market::earnings::DAY),
                Some((b, None)) => format!("block {b}"),
                None => "-".into(),
            }
        );
    }
    let _ = writeln!(out, "recent:");
    for x in e.entries.iter().rev().take(10) {
        let _ = writeln!(
            out,
            "  {:<10}  {:>18}  block {}  {:#x}",
            x.kind.name(),
            p(x.token, x.amount),
            x.block,
            x.tx_hash
        );
    }
    out
}
