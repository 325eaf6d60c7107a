//! API keys (`@better-auth/api-key`): how a key is made and stored, and the per-key usage
//! decisions of `rate-limit.ts` and `routes/verify-api-key.ts`. Pure: `now` comes in.

use chrono::{DateTime, Duration, Utc};
use rand::Rng;

use super::crypto::{b64url, sha256};

/// The stored form of a key: SHA-256, base64url without padding (`defaultKeyHasher` in
/// `index.ts`). A key is found by this hash, so comparing it takes no secret-dependent time
/// beyond the index lookup of a value the caller cannot choose.
pub fn hash_key(key: &str) -> String {
    b64url(&sha256(key.as_bytes()))
}

/// A new key: `prefix` then `length` characters of `a–z A–Z` (`defaultKeyGenerator`, Better
/// Auth's `generateRandomString(length, "a-z", "A-Z")`).
pub fn generate_key(length: usize, prefix: &str) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut rng = crate::auth::crypto::rng();
    let random: String = (0..length)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect();
    format!("{prefix}{random}")
}

/// What the key's own counters say about a request (`evaluateRateLimit`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateDecision {
    /// Not limited; `Some(now)` still records the request time.
    Skip(Option<DateTime<Utc>>),
    /// The first request ever: start a window.
    Start,
    /// The window has passed: start a new one if `lastRequest` is still at most `window_start`.
    Reset { window_start: DateTime<Utc> },
    /// Count the request, while `lastRequest` is after `window_start` and the count below `max`.
    Increment {
        window_start: DateTime<Utc>,
        max: i64,
    },
    /// Over the limit; milliseconds until the window ends.
    Deny { try_again_in: i64 },
}

/// The key's rate-limit fields, as stored.
#[derive(Debug, Clone, Copy)]
pub struct Counters {
    pub plugin_enabled: bool,
    pub key_enabled: Option<bool>,
    pub time_window: Option<i64>,
    pub max: Option<i64>,
    pub request_count: Option<i64>,
    pub last_request: Option<DateTime<Utc>>,
}

pub fn evaluate_rate_limit(c: &Counters, now: DateTime<Utc>) -> RateDecision {
    if !c.plugin_enabled || c.key_enabled == Some(false) {
        return RateDecision::Skip(Some(now));
    }
    let (Some(window), Some(max)) = (c.time_window, c.max) else {
        return RateDecision::Skip(None);
    };
    let Some(last) = c.last_request else {
        return RateDecision::Start;
    };
    let since = (now - last).num_milliseconds();
    let window_start = now - Duration::milliseconds(window);
    if since > window {
        return RateDecision::Reset { window_start };
    }
    if c.request_count.unwrap_or(0) >= max {
        return RateDecision::Deny {
            try_again_in: window - since,
        };
    }
    RateDecision::Increment { window_start, max }
}

/// Whether a key with a refill is due one (`consumeRemaining`: more than `interval` ms since
/// the last refill, or since creation).
pub fn refill_due(
    interval: Option<i64>,
    amount: Option<i64>,
    last_refill_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> bool {
    match (interval, amount) {
        (Some(i), Some(a)) if i != 0 && a != 0 => {
            (now - last_refill_at.unwrap_or(created_at)).num_milliseconds() > i
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: i64) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(1_750_000_000_000 + ms).unwrap()
    }

    #[test]
    fn keys_are_hashed_as_better_auth_hashes_them() {
        // SHA-256("abc") in base64url without padding.
        assert_eq!(
            hash_key("abc"),
            "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0"
        );
    }

    #[test]
    fn a_new_key_is_the_prefix_and_letters() {
        let k = generate_key(64, "pk_");
        assert_eq!(k.len(), 67);
        assert!(k.starts_with("pk_"));
        assert!(k[3..].bytes().all(|b| b.is_ascii_alphabetic()));
    }

    #[test]
    fn the_window_counts_then_denies_then_resets() {
        let mut c = Counters {
            plugin_enabled: true,
            key_enabled: Some(true),
            time_window: Some(1000),
            max: Some(2),
            request_count: None,
            last_request: None,
        };
        assert_eq!(evaluate_rate_limit(&c, at(0)), RateDecision::Start);
        c.last_request = Some(at(0));
        c.request_count = Some(1);
        assert!(matches!(
            evaluate_rate_limit(&c, at(10)),
            RateDecision::Increment { max: 2, .. }
        ));
        c.request_count = Some(2);
        assert_eq!(
            evaluate_rate_limit(&c, at(400)),
            RateDecision::Deny { try_again_in: 600 }
        );
        assert!(matches!(
            evaluate_rate_limit(&c, at(1001)),
            RateDecision::Reset { .. }
        ));
        c.key_enabled = Some(false);
        assert_eq!(
            evaluate_rate_limit(&c, at(400)),
            RateDecision::Skip(Some(at(400)))
        );
    }

    #[test]
    fn a_refill_is_due_after_its_interval() {
        assert!(!refill_due(Some(1000), Some(5), None, at(0), at(1000)));
        assert!(refill_due(Some(1000), Some(5), None, at(0), at(1001)));
        assert!(!refill_due(
            Some(1000),
            Some(5),
            Some(at(900)),
            at(0),
            at(1001)
        ));
        assert!(!refill_due(None, Some(5), None, at(0), at(5000)));
    }
}
