//! The `memory` storage: per process, Better Auth's counting ([`consume_step`]) on governor's
//! keyed state store.
//!
//! What comes from governor (via `actix_governor::governor`): its keyed state store, a sharded
//! concurrent map of atomic 64-bit cells updated by compare-and-swap (`measure_and_replace`), so
//! concurrent requests for one key cannot both pass a stale read, and its `retain_recent` sweep.
//!
//! What does not: governor's GCRA decision. GCRA with a burst of `max` and one cell back every
//! `window / max` would allow the same first `max` requests, but then (1) lets one more request
//! through every `window / max` instead of none until `window` after the last allowed request,
//! so a client pacing itself gets up to about twice `max` per window where Better Auth allows
//! `max`; (2) answers a refusal with the time until the next cell (`X-Retry-After` 4 for sign-in
//! instead of up to 10); (3) reads governor's own monotonic clock, which the service's injectable
//! clock cannot move. Better Auth's memory and database storages count the same way, so the
//! memory storage keeps that counting and only governor's storage is used.
//!
//! A cell holds `lastRequest` (epoch ms, 44 bits: until the year 2527) above the count (20 bits,
//! hence `max` ≤ 1 000 000), so a larger cell is a more recent request and governor's
//! `retain_recent(cutoff)` drops exactly the counters last used before the cutoff.

use std::sync::atomic::{AtomicI64, Ordering};

use actix_governor::governor::nanos::Nanos;
use actix_governor::governor::state::keyed::{DefaultKeyedStateStore, ShrinkableKeyedStateStore};
use actix_governor::governor::state::StateStore;

use super::{consume_step, Counter, Rule, Verdict};

const COUNT_BITS: u32 = 20;
const COUNT_MASK: u64 = (1 << COUNT_BITS) - 1;
/// Better Auth keeps at most 100 000 keys in memory.
pub const MAX_KEYS: usize = 100_000;
/// Expired counters are swept at most this often, or whenever there are too many keys.
const SWEEP_EVERY_MS: i64 = 1_000;

fn pack(c: Counter) -> Nanos {
    let last = u64::try_from(c.last_request).unwrap_or(0);
    Nanos::new((last << COUNT_BITS) | c.count.min(COUNT_MASK))
}

fn unpack(cell: Nanos) -> Counter {
    let v = cell.as_u64();
    Counter {
        count: v & COUNT_MASK,
        last_request: i64::try_from(v >> COUNT_BITS).unwrap_or(i64::MAX),
    }
}

/// The cell value below which counters last used before `cutoff_ms` lie.
fn older_than(cutoff_ms: i64) -> Nanos {
    let cutoff = u64::try_from(cutoff_ms).unwrap_or(0);
    Nanos::new((cutoff << COUNT_BITS).saturating_sub(1))
}

pub struct MemoryCounters {
    cells: DefaultKeyedStateStore<String>,
    longest_window_ms: i64,
    last_sweep: AtomicI64,
}

impl MemoryCounters {
    pub fn new(longest_window_ms: i64) -> Self {
        Self {
            cells: DefaultKeyedStateStore::default(),
            longest_window_ms,
            last_sweep: AtomicI64::new(i64::MIN),
        }
    }

    pub fn consume(&self, key: &str, rule: Rule, now_ms: i64) -> Verdict {
        let decided = self.cells.measure_and_replace(&key.to_owned(), |cell| {
            consume_step(cell.map(unpack), rule, now_ms).map(|next| ((), pack(next)))
        });
        self.sweep(now_ms);
        match decided {
            Ok(()) => Verdict::Allowed,
            Err(retry_after) => Verdict::Limited { retry_after },
        }
    }

    /// Drops counters older than the longest window; above [`MAX_KEYS`], also the least
    /// recently used ones, down to 90 % of the cap so the next sweeps have room. (Better Auth
    /// sweeps on every request and evicts the oldest *inserted* keys.)
    fn sweep(&self, now_ms: i64) {
        let last = self.last_sweep.load(Ordering::Relaxed);
        let crowded = self.cells.len() > MAX_KEYS;
        if !crowded && now_ms.saturating_sub(last) < SWEEP_EVERY_MS {
            return;
        }
        if self
            .last_sweep
            .compare_exchange(last, now_ms, Ordering::Relaxed, Ordering::Relaxed)
            .is_err()
        {
            return; // another request is sweeping
        }
        self.cells
            .retain_recent(older_than(now_ms.saturating_sub(self.longest_window_ms)));
        let len = self.cells.len();
        if len <= MAX_KEYS {
            return;
        }
        let keys: Vec<String> = self.cells.iter().map(|e| e.key().clone()).collect();
        let mut cells: Vec<u64> = keys
            .iter()
            .filter_map(|k| {
                self.cells
                    .measure_and_replace(k, Err::<((), Nanos), _>)
                    .err()
                    .flatten()
                    .map(Nanos::as_u64)
            })
            .collect();
        let excess = len - MAX_KEYS * 9 / 10;
        if excess == 0 || excess > cells.len() {
            return;
        }
        let (_, threshold, _) = cells.select_nth_unstable(excess - 1);
        self.cells.retain_recent(Nanos::new(*threshold));
        self.cells.shrink_to_fit();
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.cells.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULE: Rule = Rule { window: 10, max: 3 };

    #[test]
    fn cells_keep_count_and_time_in_order() {
        let c = Counter {
            count: 3,
            last_request: 1_800_000_000_123,
        };
        assert_eq!(unpack(pack(c)), c);
        assert!(pack(c).as_u64() < older_than(1_800_000_000_124).as_u64() + 1);
        assert!(pack(c).as_u64() > older_than(1_800_000_000_123).as_u64());
    }

    #[test]
    fn counts_like_better_auth_per_key() {
        let m = MemoryCounters::new(60_000);
        let t0 = 1_800_000_000_000;
        for i in 0..3 {
            assert_eq!(
                m.consume("1.2.3.4|/sign-in/email", RULE, t0 + i),
                Verdict::Allowed
            );
        }
        assert_eq!(
            m.consume("1.2.3.4|/sign-in/email", RULE, t0 + 5),
            Verdict::Limited { retry_after: 10 }
        );
        assert_eq!(
            m.consume("5.6.7.8|/sign-in/email", RULE, t0 + 5),
            Verdict::Allowed
        );
        assert_eq!(
            m.consume("1.2.3.4|/sign-in/email", RULE, t0 + 2 + 10_000),
            Verdict::Allowed
        );
    }

    #[test]
    fn old_counters_are_swept_and_the_key_count_is_capped() {
        let m = MemoryCounters::new(10_000);
        let t0 = 1_800_000_000_000;
        m.consume("a", RULE, t0);
        m.consume("b", RULE, t0 + 9_000);
        m.consume("c", RULE, t0 + 11_000);
        assert_eq!(m.len(), 2, "a is older than the longest window");
        let m = MemoryCounters::new(i64::from(u32::MAX));
        for i in 0..(MAX_KEYS as i64 + 1) {
            m.consume(&format!("k{i}"), RULE, t0 + i);
        }
        assert!(m.len() <= MAX_KEYS, "{}", m.len());
        assert!(m.len() >= MAX_KEYS * 9 / 10 - 1);
    }
}
