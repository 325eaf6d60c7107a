//! Session lifetime decisions (docs/compatibility.md §8); every function takes `now`.

use chrono::{DateTime, Duration, Utc};

/// Who is calling: the normalised client IP and the user agent, as a new session records them
/// (docs/compatibility.md §8.2). Read from the request by `crate::http::client`.
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    pub ip: Option<String>,
    pub user_agent: String,
}

/// "Don't remember me" sessions last one day whatever `expires_in` says
/// (docs/compatibility.md §8.3).
pub const DONT_REMEMBER_SECONDS: i64 = 86_400;

pub fn new_expiry(now: DateTime<Utc>, expires_in: i64, dont_remember: bool) -> DateTime<Utc> {
    now + Duration::seconds(if dont_remember {
        DONT_REMEMBER_SECONDS
    } else {
        expires_in
    })
}

/// Refresh is due once `update_age` seconds have passed since the session last got a full
/// `expires_in`: `expiresAt − expiresIn + updateAge ≤ now` (docs/compatibility.md §8.4 step 5).
pub fn refresh_due(
    expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
    expires_in: i64,
    update_age: i64,
) -> bool {
    expires_at - Duration::seconds(expires_in) + Duration::seconds(update_age) <= now
}

/// Fresh: created less than `fresh_age` seconds ago; `fresh_age = 0` means always
/// (docs/compatibility.md §8.5).
pub fn is_fresh(created_at: DateTime<Utc>, now: DateTime<Utc>, fresh_age: i64) -> bool {
    fresh_age == 0 || now - created_at < Duration::seconds(fresh_age)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + s, 0).unwrap_or_default()
    }

    #[test]
    fn the_spec_timeline_refreshes_after_update_age() {
        // expiresIn 120 s, updateAge 60 s: created at 0, expires at 120.
        let expires = new_expiry(t(0), 120, false);
        assert_eq!(expires, t(120));
        assert!(!refresh_due(expires, t(59), 120, 60));
        assert!(refresh_due(expires, t(60), 120, 60));
        assert!(refresh_due(expires, t(80), 120, 60));
    }

    #[test]
    fn update_age_zero_refreshes_every_time() {
        assert!(refresh_due(t(100), t(0), 100, 0));
    }

    #[test]
    fn dont_remember_sessions_last_a_day() {
        assert_eq!(new_expiry(t(0), 604_800, true), t(86_400));
    }

    #[test]
    fn freshness_follows_created_at() {
        assert!(is_fresh(t(0), t(86_399), 86_400));
        assert!(!is_fresh(t(0), t(86_400), 86_400));
        assert!(is_fresh(t(0), t(1_000_000), 0));
    }
}
