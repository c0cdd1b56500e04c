//! Pure range planning for `eth_getLogs`: how wide the next request may be, what to do when a
//! provider refuses a range, and which refusals mean "ask for fewer blocks".
//!
//! Providers limit log queries by block span (QuickNode 10,000, Alchemy 2,000 or as few as 10
//! on a free plan, BSC 5,000) or by result count (Infura and geth-based nodes 10,000 logs,
//! Alchemy 10,000 logs or 150 MB). Neither limit is advertised, so the planner learns it: it
//! starts at a sensible span, halves on a refusal (down to one block), and grows back only
//! after a run of accepted requests, more slowly each time a grown span was refused again.
//! A plain anvil never refuses; a forking anvil passes its upstream's words through, which
//! are among those matched here.

/// The block after `next` minus `depth`, clamped to the chain: where a pass starts when a
/// cursor says `next` is the first unread block and the chain's head is `head`.
///
/// If the chain is now shorter than the cursor (a reorg to a shorter chain, a dev chain reset
/// to a snapshot), the pass starts at least at the head block, so the last span reaches the
/// head and the consumer drops what it had stored above it.
pub fn reread_start(next: u64, head: u64, depth: u64) -> u64 {
    let start = next.min(head.saturating_add(1)).saturating_sub(depth);
    if next > head.saturating_add(1) {
        start.min(head)
    } else {
        start
    }
}

/// Successes in a row before the span doubles, at first; each refused growth doubles it.
const GROW_AFTER: u32 = 4;

/// The span of the next `eth_getLogs` request, learned from the provider's answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planner {
    chunk: u64,
    max: u64,
    /// The smallest span refused so far in this pass: growth stays below it.
    ceiling: Option<u64>,
    /// The largest span accepted since the last refusal at or below it.
    good: u64,
    streak: u32,
    grow_after: u32,
}

impl Planner {
    /// A planner starting at `first` blocks per request, never asking for more than `max`.
    pub fn new(first: u64, max: u64) -> Planner {
        let max = max.max(1);
        Planner {
            chunk: first.clamp(1, max),
            max,
            ceiling: None,
            good: 0,
            streak: 0,
            grow_after: GROW_AFTER,
        }
    }

    /// The span the next request asks for.
    pub fn chunk(&self) -> u64 {
        self.chunk
    }

    /// The last block of the next request starting at `from`, not past `head`.
    pub fn end(&self, from: u64, head: u64) -> u64 {
        from.saturating_add(self.chunk - 1).min(head)
    }

    /// The provider answered a request spanning `span` blocks.
    pub fn accepted(&mut self, span: u64) {
        self.good = self.good.max(span);
        // A short span (the last one before the head) says nothing about the limit.
        if span < self.chunk {
            return;
        }
        self.streak += 1;
        if self.streak < self.grow_after || self.chunk >= self.max {
            return;
        }
        let mut next = self.chunk.saturating_mul(2).min(self.max);
        if let Some(ceiling) = self.ceiling
            && next >= ceiling
        {
            // Halfway to the span that was refused, never onto it.
            next = self.chunk + (ceiling - self.chunk) / 2;
        }
        if next > self.chunk {
            self.chunk = next;
            self.streak = 0;
        }
    }

    /// The provider refused a request spanning `span` blocks; `hint` is a span its message
    /// suggested, if any. False when there is nothing smaller to try (one block was refused).
    pub fn refused(&mut self, span: u64, hint: Option<u64>) -> bool {
        if span <= 1 {
            return false;
        }
        self.streak = 0;
        self.ceiling = Some(self.ceiling.map_or(span, |c| c.min(span)));
        if self.good >= span {
            // A span that worked earlier is refused now (denser logs): what it learned is void.
            self.good = 0;
        } else if self.good > 0 {
            // A grown span was refused: grow more slowly from here on.
            self.grow_after = self.grow_after.saturating_mul(2);
        }
        let halved = (span / 2).max(1);
        let mut chunk = halved.max(self.good.min(span - 1));
        if let Some(h) = hint.filter(|&h| h >= 1 && h < span) {
            chunk = h;
        }
        self.chunk = chunk.clamp(1, self.max);
        true
    }
}

/// What a refusal of a log query said, if it was one: a provider's "too many results" or
/// "block range too large" (in any of the common wordings), with the span it suggested when it
/// named one. `None` for every other error, which the indexer reports instead of retrying.
pub fn range_refusal(message: &str) -> Option<Refusal> {
    let m = message.to_ascii_lowercase();
    // A rate limit is not cured by asking for fewer blocks.
    if m.contains("rate limit") || m.contains("too many requests") {
        return None;
    }
    const WORDINGS: &[&str] = &[
        // geth, Infura, most geth forks: "query returned more than 10000 results"
        "query returned more than",
        "more than 10000 results",
        // BSC and other geth forks: "exceed maximum block range: 5000"
        "exceed maximum block range",
        "exceeds maximum block range",
        // reth: "query exceeds max block range 100000", "query exceeds max results 20000"
        "exceeds max block range",
        "exceeds max results",
        // erigon: "block range too large, max range: N"; others "block range too high",
        // "block range is too wide (maximum N)", "block range is larger than max block range"
        "block range too",
        "block range is too",
        "block range is larger",
        "range is too large",
        "range too large",
        // Alchemy: "Log response size exceeded. …", "…you can make eth_getLogs requests with up
        // to a 10 block range"
        "log response size exceeded",
        "response size exceeded",
        "requests with up to a",
        // QuickNode: "eth_getLogs is limited to a 10,000 range"
        "is limited to a",
        // Infura (2026): "range 1000000 exceeds limit of 10000"; Tenderly: "range N is bigger
        // than range limit 2000"
        "exceeds limit of",
        "bigger than range limit",
        // erigon forks and many gateways: "limit exceeded"; Nethermind and others
        "limit exceeded",
        "too many results",
        "too many logs",
        "logs limit",
    ];
    if !WORDINGS.iter().any(|w| m.contains(w)) {
        return None;
    }
    Some(Refusal {
        hint: suggested_span(&m),
    })
}

/// A provider's refusal of a log query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal {
    /// The span the provider said would work, when it said.
    pub hint: Option<u64>,
}

/// The span a refusal suggests: Infura and Alchemy name a working range as `[0xA, 0xB]`.
fn suggested_span(m: &str) -> Option<u64> {
    let open = m.rfind('[')?;
    let close = open + m[open..].find(']')?;
    let (a, b) = m[open + 1..close].split_once(',')?;
    let hex =
        |s: &str| u64::from_str_radix(s.trim().trim_matches('"').strip_prefix("0x")?, 16).ok();
    let (a, b) = (hex(a)?, hex(b)?);
    (b >= a).then(|| b - a + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rereads_the_last_blocks_and_never_starts_past_a_shorter_chain() {
        assert_eq!(reread_start(100, 200, 12), 88);
        assert_eq!(reread_start(5, 200, 12), 0);
        assert_eq!(
            reread_start(201, 200, 0),
            201,
            "nothing new, nothing to read"
        );
        // The chain got shorter than the cursor: start below the head so the tip is replaced.
        assert_eq!(reread_start(300, 200, 12), 189);
        assert_eq!(reread_start(300, 200, 0), 200);
    }

    #[test]
    fn halves_down_to_one_block_then_gives_up() {
        let mut p = Planner::new(2000, 2000);
        assert_eq!(p.end(10, 100_000), 2009);
        assert_eq!(p.end(10, 500), 500, "never past the head");
        let mut spans = vec![];
        while p.refused(p.chunk(), None) {
            spans.push(p.chunk());
        }
        assert_eq!(
            spans,
            [1000, 500, 250, 125, 62, 31, 15, 7, 3, 1],
            "halved each time"
        );
        assert!(!p.refused(1, None), "one block refused: nothing smaller");
    }

    #[test]
    fn grows_back_carefully_below_the_refused_span() {
        // A provider that refuses more than 300 blocks.
        let limit = 300;
        let mut p = Planner::new(2000, 2000);
        let mut refusals = 0;
        let mut asked = vec![];
        for _ in 0..200 {
            let span = p.chunk();
            asked.push(span);
            if span > limit {
                refusals += 1;
                assert!(p.refused(span, None));
            } else {
                p.accepted(span);
            }
        }
        // 2000, 1000, 500 refused on the way down; growth after that is rare and only ever
        // between the last accepted span and the smallest refused one.
        assert!(refusals <= 8, "{refusals} refusals: {asked:?}");
        assert!(asked[3..].iter().all(|&s| s <= 500), "{asked:?}");
        let late = &asked[150..];
        assert!(
            late.iter().all(|&s| s >= 250),
            "it keeps the best accepted span: {late:?}"
        );
    }

    #[test]
    fn grows_to_the_maximum_when_nothing_is_refused() {
        let mut p = Planner::new(100, 1000);
        for _ in 0..40 {
            p.accepted(p.chunk());
        }
        assert_eq!(p.chunk(), 1000);
        // A short last span does not count as a success.
        let mut q = Planner::new(100, 1000);
        for _ in 0..40 {
            q.accepted(7);
        }
        assert_eq!(q.chunk(), 100);
    }

    #[test]
    fn a_suggested_range_is_taken() {
        let mut p = Planner::new(2000, 2000);
        let r = range_refusal(
            "query returned more than 10000 results. Try with this block range [0x1D4C0, 0x1D5FF].",
        )
        .unwrap();
        assert_eq!(r.hint, Some(0x1D5FF - 0x1D4C0 + 1));
        p.refused(2000, r.hint);
        assert_eq!(p.chunk(), 320);
        // A hint as wide as the refused span is no hint.
        p.refused(320, Some(5000));
        assert_eq!(p.chunk(), 160);
    }

    #[test]
    fn recognises_the_common_providers_wordings() {
        for msg in [
            "query returned more than 10000 results",
            "Query returned more than 10000 results. Try with this block range [0x10, 0x20].",
            "exceed maximum block range: 5000",
            "query exceeds max block range 100000",
            "query exceeds max results 20000",
            "block range too large, max range: 1000",
            "block range too high",
            "block range is too wide (maximum 1024)",
            "block range is larger than max block range, block range = 5120, max block range = 5000",
            "Log response size exceeded. You can make eth_getLogs requests with up to a 2K block range and no limit on the response size, or you can request any block range with a cap of 10K logs in the response. Based on your parameters and the response size limit, this block range should work: [0x0, 0x1869f]",
            "Under the Free tier plan, you can make eth_getLogs requests with up to a 10 block range.",
            "eth_getLogs is limited to a 10,000 range",
            "range 1000000 exceeds limit of 10000",
            "range 9009594 is bigger than range limit 2000",
            "limit exceeded",
            "Too many results",
        ] {
            assert!(range_refusal(msg).is_some(), "{msg}");
        }
        assert_eq!(
            range_refusal("this block range should work: [0x0, 0x1869f]"),
            None,
            "a hint alone is not a refusal"
        );
        for msg in [
            "execution reverted",
            "header not found",
            "daily request rate limit exceeded",
            "Too Many Requests",
            "invalid params",
            "",
        ] {
            assert_eq!(range_refusal(msg), None, "{msg}");
        }
    }
}
