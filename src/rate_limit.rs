//! Rate limiting as Better Auth 1.7.25 does it (`spec/rate-limit.md`; Better Auth
//! `api/rate-limiter/index.mjs`): every request under the base path is counted before routing,
//! body parsing and the origin check, per `<ip>|<path>`, with per-path rules; a refused request
//! gets 429 with `X-Retry-After`, rendered by `error.rs`.
//!
//! Storages (`[rate_limit] storage`):
//! - `memory`: per process, Better Auth's counting exactly (see [`consume_step`]), kept in
//!   governor's keyed state store (`memory.rs` says what is taken from governor and why its GCRA
//!   algorithm is not used). Only in builds with the `governor` feature.
//! - `database`: the `rateLimit` table, the same counting done by one conditional UPDATE
//!   (`store/rate_limits.rs`), so processes sharing the database share the limits.
//! - `redis`: Better Auth's secondary-storage counting, a fixed window from the first request
//!   (`redis.rs`), shared by every process on the same Redis.
//!
//! A shared storage that fails or takes longer than [`SHARED_STORAGE_TIMEOUT`] does not fail
//! the request: the limiter logs it and counts in this process's memory instead (fail over, not
//! open and not closed), so sign-in stays limited per process while the storage is down. Without
//! the `governor` feature there is no memory storage and such requests are let through.

#[cfg(feature = "governor")]
mod memory;
mod redis;

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use regex::Regex;

use crate::auth::origin::glob_regex;
use crate::config::{RateLimitStorage, Settings};
use crate::store::rate_limits::Consumed;
use crate::store::redis::RedisStorage;
use crate::store::Store;

/// How long a shared storage may take before the request is counted in memory instead.
pub const SHARED_STORAGE_TIMEOUT: Duration = Duration::from_secs(2);
/// Better Auth's key part for clients without a known IP: one shared bucket.
const NO_TRUSTED_IP: &str = "no-trusted-ip";
/// The key part of every path no route serves: one bucket per client for all of them, so a
/// client cannot make the limiter keep a counter per path it invents.
pub const UNKNOWN_ROUTE: &str = "<unknown>";
/// Expired `rateLimit` rows are deleted at most this often (per process).
const DATABASE_PRUNE_EVERY_MS: i64 = 60_000;

/// At most `max` requests per `window` seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub window: u64,
    pub max: u64,
}

impl Rule {
    fn window_ms(self) -> i64 {
        i64::try_from(self.window.saturating_mul(1000)).unwrap_or(i64::MAX)
    }
}

/// Better Auth's built-in stricter rules (rate-limit.md §2), first match wins.
fn special_rule(path: &str) -> Option<Rule> {
    let starts = |p: &[&str]| p.iter().any(|prefix| path.starts_with(prefix));
    if starts(&["/sign-in", "/sign-up", "/change-password", "/change-email"]) {
        return Some(Rule { window: 10, max: 3 });
    }
    if [
        "/request-password-reset",
        "/send-verification-email",
        "/email-otp/send-verification-otp",
        "/email-otp/request-password-reset",
    ]
    .contains(&path)
        || path.starts_with("/forget-password")
    {
        return Some(Rule { window: 60, max: 3 });
    }
    None
}

enum PathMatch {
    Exact(String),
    Glob(Regex),
}

/// A `[[rate_limit.rules]]` entry (Better Auth's `customRules`).
struct CustomRule {
    path: PathMatch,
    window: Option<u64>,
    max: Option<u64>,
    enabled: bool,
}

impl CustomRule {
    fn matches(&self, path: &str) -> bool {
        match &self.path {
            PathMatch::Exact(p) => p == path,
            PathMatch::Glob(re) => re.is_match(path),
        }
    }
}

/// The path rules and keys are made of: base path removed, trailing slashes stripped
/// (Better Auth `normalizePathname`).
pub fn normalize_path(path: &str, base_path: &str) -> String {
    let path = match path.trim_end_matches('/') {
        "" => "/",
        p => p,
    };
    let base = base_path.trim_end_matches('/');
    if base.is_empty() {
        return path.to_owned();
    }
    if path == base {
        return "/".to_owned();
    }
    match path.strip_prefix(base).filter(|rest| rest.starts_with('/')) {
        Some(rest) => rest.to_owned(),
        None => path.to_owned(),
    }
}

/// A key's state: requests counted, and when the last allowed one came (epoch ms).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counter {
    pub count: u64,
    pub last_request: i64,
}

/// Seconds until a refused key is allowed again: `ceil((lastRequest + window − now) / 1000)`.
pub fn retry_after(last_request: i64, rule: Rule, now_ms: i64) -> u64 {
    let remaining_ms = last_request.saturating_add(rule.window_ms()) - now_ms;
    u64::try_from(remaining_ms.max(0))
        .unwrap_or(0)
        .div_ceil(1000)
}

/// Better Auth's memory and database step (rate-limit.md §5, `decideConsume`): the next state
/// when the request is allowed, else the seconds to wait. A refused request changes nothing.
pub fn consume_step(current: Option<Counter>, rule: Rule, now_ms: i64) -> Result<Counter, u64> {
    let fresh = Counter {
        count: 1,
        last_request: now_ms,
    };
    match current {
        None => Ok(fresh),
        Some(c) if now_ms - c.last_request >= rule.window_ms() => Ok(fresh),
        Some(c) if c.count >= rule.max => Err(retry_after(c.last_request, rule, now_ms)),
        Some(c) => Ok(Counter {
            count: c.count + 1,
            last_request: now_ms,
        }),
    }
}

/// What the storage decided for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allowed,
    Limited { retry_after: u64 },
}

enum Storage {
    #[cfg(feature = "governor")]
    Memory(memory::MemoryCounters),
    Database {
        store: Store,
        longest_window_ms: i64,
        last_prune: AtomicI64,
    },
    Redis(redis::RedisCounters),
}

pub struct RateLimiter {
    default: Rule,
    /// The enabled plugins' rules by exact path, or by prefix for a pattern ending with `/`
    /// (Better Auth's plugin `rateLimit`).
    plugin_rules: Vec<(&'static str, Rule)>,
    rules: Vec<CustomRule>,
    storage: Storage,
    /// Where requests are counted while a shared storage is failing.
    #[cfg(feature = "governor")]
    fallback: Option<memory::MemoryCounters>,
    degraded: AtomicBool,
    warned_no_ip: AtomicBool,
}

impl RateLimiter {
    /// The limiter the settings ask for, or `None` when rate limiting is off.
    /// `redis` is the process's Redis handle (when `REDIS_URL` is set), shared with the
    /// sessions; `plugin_rules` the enabled plugins' rules, by path prefix.
    pub fn from_settings(
        settings: &Settings,
        store: &Store,
        redis: Option<&Arc<RedisStorage>>,
        plugin_rules: Vec<(&'static str, Rule)>,
    ) -> anyhow::Result<Option<Arc<Self>>> {
        if !settings.rate_limit_enabled() {
            return Ok(None);
        }
        let rl = &settings.rate_limit;
        let mut rules = Vec::new();
        for r in &rl.rules {
            let path = if r.path.contains('*') {
                PathMatch::Glob(
                    glob_regex(&r.path)
                        .with_context(|| format!("rate_limit.rules: bad pattern {}", r.path))?,
                )
            } else {
                PathMatch::Exact(normalize_path(&r.path, ""))
            };
            rules.push(CustomRule {
                path,
                window: r.window,
                max: r.max,
                enabled: r.enabled,
            });
        }
        // Better Auth prunes `rateLimit` rows older than the longest window it may use.
        let longest_window = [rl.window, 60]
            .into_iter()
            .chain(plugin_rules.iter().map(|(_, r)| r.window))
            .chain(rl.rules.iter().filter_map(|r| r.window))
            .max()
            .unwrap_or(rl.window);
        let longest_window_ms = Rule {
            window: longest_window,
            max: 1,
        }
        .window_ms();
        let storage = match rl.storage {
            #[cfg(feature = "governor")]
            RateLimitStorage::Memory => {
                Storage::Memory(memory::MemoryCounters::new(longest_window_ms))
            }
            #[cfg(not(feature = "governor"))]
            RateLimitStorage::Memory => {
                anyhow::bail!("rate_limit.storage = \"memory\" needs the `governor` feature")
            }
            RateLimitStorage::Database => Storage::Database {
                store: store.clone(),
                longest_window_ms,
                last_prune: AtomicI64::new(i64::MIN),
            },
            RateLimitStorage::Redis => {
                let shared = redis.context("rate_limit.storage = \"redis\" needs REDIS_URL")?;
                Storage::Redis(redis::RedisCounters::new(shared.clone()))
            }
        };
        Ok(Some(Arc::new(Self {
            default: Rule {
                window: rl.window,
                max: rl.max,
            },
            plugin_rules,
            rules,
            #[cfg(feature = "governor")]
            fallback: match storage {
                Storage::Memory(_) => None,
                _ => Some(memory::MemoryCounters::new(longest_window_ms)),
            },
            storage,
            degraded: AtomicBool::new(false),
            warned_no_ip: AtomicBool::new(false),
        })))
    }

    /// The rule for a path, or `None` when a custom rule turns limiting off for it.
    /// Precedence (last wins): default → built-in special rule → first matching plugin rule →
    /// first matching custom rule (Better Auth's `resolveRateLimitConfig`).
    pub fn rule_for(&self, path: &str) -> Option<Rule> {
        let base = self
            .plugin_rules
            .iter()
            .find(|(p, _)| *p == path || (p.ends_with('/') && path.starts_with(p)))
            .map(|(_, r)| *r)
            .or_else(|| special_rule(path))
            .unwrap_or(self.default);
        match self.rules.iter().find(|r| r.matches(path)) {
            None => Some(base),
            Some(r) if !r.enabled => None,
            Some(r) => Some(Rule {
                window: r.window.unwrap_or(base.window),
                max: r.max.unwrap_or(base.max),
            }),
        }
    }

    /// Counts one request against `key`.
    pub async fn consume(&self, key: &str, rule: Rule, now_ms: i64) -> Verdict {
        let shared = match &self.storage {
            #[cfg(feature = "governor")]
            Storage::Memory(m) => return m.consume(key, rule, now_ms),
            Storage::Database {
                store,
                longest_window_ms,
                last_prune,
            } => {
                let counted = async {
                    let consumed = store
                        .consume_rate_limit(key, rule.window_ms(), rule.max, now_ms)
                        .await?;
                    let last = last_prune.load(Ordering::Relaxed);
                    if now_ms.saturating_sub(last) >= DATABASE_PRUNE_EVERY_MS
                        && last_prune
                            .compare_exchange(last, now_ms, Ordering::Relaxed, Ordering::Relaxed)
                            .is_ok()
                    {
                        store
                            .prune_rate_limits(now_ms.saturating_sub(*longest_window_ms))
                            .await?;
                    }
                    Ok::<_, crate::store::StoreError>(match consumed {
                        Consumed::Allowed => Verdict::Allowed,
                        Consumed::Refused { last_request } => Verdict::Limited {
                            retry_after: retry_after(last_request, rule, now_ms),
                        },
                    })
                };
                tokio::time::timeout(SHARED_STORAGE_TIMEOUT, counted)
                    .await
                    .map_err(anyhow::Error::from)
                    .and_then(|r| r.map_err(anyhow::Error::from))
            }
            Storage::Redis(r) => tokio::time::timeout(SHARED_STORAGE_TIMEOUT, r.consume(key, rule))
                .await
                .map_err(anyhow::Error::from)
                .and_then(|r| r),
        };
        match shared {
            Ok(verdict) => {
                if self.degraded.swap(false, Ordering::Relaxed) {
                    tracing::info!("rate-limit storage reachable again");
                }
                verdict
            }
            Err(e) => {
                if !self.degraded.swap(true, Ordering::Relaxed) {
                    tracing::error!(error.cause_chain = ?e, "rate-limit storage failing; counting in this process until it is back");
                }
                self.consume_fallback(key, rule, now_ms)
            }
        }
    }

    #[cfg(feature = "governor")]
    fn consume_fallback(&self, key: &str, rule: Rule, now_ms: i64) -> Verdict {
        match &self.fallback {
            Some(m) => m.consume(key, rule, now_ms),
            None => Verdict::Allowed,
        }
    }

    #[cfg(not(feature = "governor"))]
    fn consume_fallback(&self, _key: &str, _rule: Rule, _now_ms: i64) -> Verdict {
        Verdict::Allowed
    }

    /// `<ip>|<route>` (Better Auth `createRateLimitKey`): the route's path, or its pattern when
    /// it has parameters (`/reset-password/{token}`), or [`UNKNOWN_ROUTE`] for every path no
    /// route serves. A key is therefore at most an IP and one of the service's route patterns
    /// long, which bounds the limiter's memory (`MAX_KEYS` keys, `memory.rs`).
    pub fn key(&self, ip: Option<&str>, route: Option<&str>) -> String {
        let ip = ip.unwrap_or_else(|| {
            if !self.warned_no_ip.swap(true, Ordering::Relaxed) {
                tracing::warn!(
                    "rate limiting found no client IP and uses one shared bucket per route"
                );
            }
            NO_TRUSTED_IP
        });
        format!("{ip}|{}", route.unwrap_or(UNKNOWN_ROUTE))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIGN_IN: Rule = Rule { window: 10, max: 3 };

    #[test]
    fn counting_follows_better_auths_example() {
        // rate-limit.md §5: allowed at 0, 1, 2 s; refused at 11 s with 1 s to wait (the window
        // counts from the last allowed request); reset at 12 s.
        let mut c = None;
        for t in [0, 1_000, 2_000] {
            c = Some(consume_step(c, SIGN_IN, t).unwrap());
        }
        assert_eq!(c.unwrap().count, 3);
        assert_eq!(consume_step(c, SIGN_IN, 11_000), Err(1));
        assert_eq!(
            consume_step(c, SIGN_IN, 12_000),
            Ok(Counter {
                count: 1,
                last_request: 12_000
            })
        );
        assert_eq!(consume_step(c, SIGN_IN, 2_500), Err(10));
    }

    #[test]
    fn paths_lose_the_base_path_and_trailing_slashes() {
        assert_eq!(
            normalize_path("/api/auth/sign-in/email/", "/api/auth"),
            "/sign-in/email"
        );
        assert_eq!(normalize_path("/api/auth", "/api/auth"), "/");
        assert_eq!(normalize_path("/api/auth/", "/api/auth"), "/");
        assert_eq!(normalize_path("/api/authx", "/api/auth"), "/api/authx");
        assert_eq!(normalize_path("/ok", ""), "/ok");
    }

    #[test]
    fn special_rules_are_better_auths() {
        for p in [
            "/sign-in/email",
            "/sign-up/email",
            "/change-password",
            "/change-email",
            "/sign-in/social",
        ] {
            assert_eq!(special_rule(p), Some(SIGN_IN), "{p}");
        }
        let reset = Some(Rule { window: 60, max: 3 });
        for p in [
            "/request-password-reset",
            "/send-verification-email",
            "/forget-password",
            "/forget-password/email-otp",
            "/email-otp/send-verification-otp",
            "/email-otp/request-password-reset",
        ] {
            assert_eq!(special_rule(p), reset, "{p}");
        }
        for p in [
            "/get-session",
            "/ok",
            "/sign-out",
            "/request-password-reset/x",
            "/reset-password",
        ] {
            assert_eq!(special_rule(p), None, "{p}");
        }
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        assert_eq!(retry_after(0, SIGN_IN, 9_001), 1);
        assert_eq!(retry_after(0, SIGN_IN, 9_000), 1);
        assert_eq!(retry_after(0, SIGN_IN, 8_999), 2);
        assert_eq!(retry_after(0, SIGN_IN, 0), 10);
    }
}
