//! Redis as Better Auth's `secondaryStorage` for sessions and verification values
//! (docs/compatibility.md §8.7), laid out as its internal adapter and the official Redis storage
//! lay it out, so a Node Better Auth on the same Redis and prefix shares them both ways
//! (`better-auth/dist/db/internal-adapter.mjs`):
//!
//! - `<prefix><token>`: `{"session": …, "user": …}`, TTL = whole seconds until `expiresAt`;
//! - `<prefix>active-sessions-<userId>`: `[{"token", "expiresAt": ms}]` sorted by `expiresAt`,
//!   expired entries dropped, TTL = seconds until the last one expires;
//! - `<prefix>revoked-sessions-before-<userId>`: epoch ms; an entry created before it is revoked
//!   (written by "revoke every session of the user", as Better Auth 1.7.25 does);
//! - `<prefix>verification:<identifier>`: a verification value (`verifications.rs` shapes it),
//!   TTL = whole seconds until its `expiresAt`, taken with GETDEL when single-use.
//!
//! Like Better Auth, the list is read-modified-written without a lock: two concurrent sign-ins
//! of one user may leave one token out of the list (its `<token>` entry still works).
//! Every Redis failure is `StoreError::Redis`, a 503; the connection manager reconnects by itself.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use redis::RedisResult;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::json::{session_from_json, session_json, stored_user_json, user_from_json};
use super::redis::RedisStorage;
use super::verifications::Verification;
use super::{Session, StoreResult, User, UserFields};
use crate::clock::Clock;

/// Where sessions live when Redis is configured, and how the `session` table is still used.
#[derive(Debug, Clone, Copy)]
pub struct SessionStorage {
    /// `session.storeSessionInDatabase`: rows are written too.
    pub in_database: bool,
    /// `session.preserveSessionInDatabase`: revoked rows stay, with `expiresAt = now`.
    pub preserve: bool,
}

impl SessionStorage {
    /// Better Auth's `databaseSessionFallbackEnabled`: a Redis miss is looked up in the table.
    pub fn database_fallback(self) -> bool {
        self.in_database && !self.preserve
    }
}

/// One entry of `active-sessions-<userId>`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SessionRef {
    token: String,
    /// Epoch milliseconds.
    expires_at: i64,
}

pub struct Secondary {
    redis: Arc<RedisStorage>,
    clock: Clock,
    pub storage: SessionStorage,
    /// `verification.storeInDatabase`: verification values are written to the table too.
    pub verification_in_database: bool,
    /// TTL of the revoked-before marker: Better Auth's `max(expiresIn, 1 day)`.
    revoked_before_ttl: u64,
}

impl std::fmt::Debug for Secondary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Secondary")
            .field("redis", &self.redis)
            .field("storage", &self.storage)
            .field("verification_in_database", &self.verification_in_database)
            .finish_non_exhaustive()
    }
}

/// Whole seconds from `now` until `until`, never negative (Better Auth's `getTTLSeconds`).
fn ttl_seconds(until_ms: i64, now: DateTime<Utc>) -> u64 {
    u64::try_from((until_ms - now.timestamp_millis()).div_euclid(1000)).unwrap_or(0)
}

fn user_key(kind: &str, user_id: &str) -> String {
    format!("{kind}-{user_id}")
}

impl Secondary {
    /// Sessions and verification values on `redis`, as `storage` and
    /// `verification_in_database` say; `expires_in` is `session.expiresIn`.
    pub fn new(
        redis: Arc<RedisStorage>,
        clock: Clock,
        storage: SessionStorage,
        verification_in_database: bool,
        expires_in: i64,
    ) -> Self {
        Self {
            redis,
            clock,
            storage,
            verification_in_database,
            revoked_before_ttl: u64::try_from(expires_in.max(86_400)).unwrap_or(86_400),
        }
    }

    /// The service clock's now: TTLs count from it.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    async fn get(&self, key: &str) -> RedisResult<Option<String>> {
        self.redis.get(key).await
    }

    async fn set(&self, key: &str, value: &str, ttl: u64) -> RedisResult<()> {
        self.redis.set(key, value, ttl).await
    }

    async fn delete(&self, key: &str) -> RedisResult<()> {
        self.redis.delete(key).await
    }

    async fn get_json(&self, key: &str) -> RedisResult<Option<Value>> {
        // Unreadable JSON counts as absent, as Better Auth's `safeJSONParse` does.
        Ok(self
            .get(key)
            .await?
            .and_then(|s| serde_json::from_str(&s).ok()))
    }

    async fn session_refs(&self, user_id: &str) -> RedisResult<Vec<SessionRef>> {
        let raw = self.get(&user_key("active-sessions", user_id)).await?;
        Ok(raw
            .and_then(|s| serde_json::from_str(&s).ok())
            .unwrap_or_default())
    }

    /// Sorted by expiry, TTL until the last one; an empty or expired list is deleted.
    async fn set_session_refs(
        &self,
        user_id: &str,
        mut refs: Vec<SessionRef>,
        now: DateTime<Utc>,
    ) -> RedisResult<()> {
        refs.sort_by_key(|r| r.expires_at);
        let key = user_key("active-sessions", user_id);
        let ttl = ttl_seconds(refs.last().map_or(0, |r| r.expires_at), now);
        if ttl == 0 {
            return self.delete(&key).await;
        }
        let value = serde_json::to_string(&refs).unwrap_or_else(|_| "[]".into());
        self.set(&key, &value, ttl).await
    }

    /// The live list without `token`, with `add` appended.
    async fn replace_ref(
        &self,
        user_id: &str,
        token: &str,
        add: Option<SessionRef>,
        now: DateTime<Utc>,
    ) -> RedisResult<()> {
        let now_ms = now.timestamp_millis();
        let mut refs: Vec<SessionRef> = self
            .session_refs(user_id)
            .await?
            .into_iter()
            .filter(|r| r.expires_at > now_ms && r.token != token)
            .collect();
        refs.extend(add);
        self.set_session_refs(user_id, refs, now).await
    }

    async fn put_entry(&self, session: &Value, user: &Value, ttl: u64) -> RedisResult<()> {
        let token = session["token"].as_str().unwrap_or_default();
        let value = json!({ "session": session, "user": user }).to_string();
        self.set(token, &value, ttl).await
    }

    /// A new session: the list entry, then `<token>` with the user as stored now.
    pub async fn create(
        &self,
        session: &Session,
        user: Option<&User>,
        fields: &UserFields,
    ) -> StoreResult<()> {
        let now = self.now();
        let expires_ms = session.expires_at.timestamp_millis();
        let entry = SessionRef {
            token: session.token.clone(),
            expires_at: expires_ms,
        };
        self.replace_ref(&session.user_id, &session.token, Some(entry), now)
            .await?;
        let ttl = ttl_seconds(expires_ms, now);
        if ttl > 0 {
            let user = user.map_or(Value::Null, |u| stored_user_json(u, fields));
            self.put_entry(&session_json(session), &user, ttl).await?;
        }
        Ok(())
    }

    async fn is_revoked(&self, session: &Session) -> RedisResult<bool> {
        let key = user_key("revoked-sessions-before", &session.user_id);
        let before = self.get(&key).await?.and_then(|v| v.parse::<f64>().ok());
        Ok(before.is_some_and(|b| (session.created_at.timestamp_millis() as f64) < b))
    }

    /// `Some(answer)` when Redis holds the token (`None` inside when it is unreadable or
    /// revoked); `None` on a miss.
    pub async fn find(
        &self,
        token: &str,
        fields: &UserFields,
    ) -> StoreResult<Option<Option<(Session, User)>>> {
        let Some(v) = self.get_json(token).await? else {
            return Ok(None);
        };
        let Some(session) = session_from_json(&v["session"]) else {
            return Ok(Some(None));
        };
        if self.is_revoked(&session).await? {
            return Ok(Some(None));
        }
        Ok(Some(
            user_from_json(&v["user"], fields).map(|user| (session, user)),
        ))
    }

    /// The user's live sessions: the list, then each `<token>`.
    pub async fn list(&self, user_id: &str) -> StoreResult<Vec<Session>> {
        let now_ms = self.now().timestamp_millis();
        let mut seen = std::collections::HashSet::new();
        let mut sessions = Vec::new();
        for r in self.session_refs(user_id).await? {
            if r.expires_at <= now_ms || !seen.insert(r.token.clone()) {
                continue;
            }
            let Some(v) = self.get_json(&r.token).await? else {
                continue;
            };
            let Some(session) = session_from_json(&v["session"]) else {
                continue;
            };
            if !self.is_revoked(&session).await? {
                sessions.push(session);
            }
        }
        Ok(sessions)
    }

    /// The stored `{session, user}` entry of `token` and its session, when both read.
    async fn entry(&self, token: &str) -> StoreResult<Option<(Value, Session)>> {
        let Some(v) = self.get_json(token).await? else {
            return Ok(None);
        };
        Ok(session_from_json(&v["session"]).map(|s| (v, s)))
    }

    /// Refresh: the entry merged with the new dates and rewritten with the new TTL, and its
    /// list entry moved. False when the token is not there.
    pub async fn refresh(
        &self,
        token: &str,
        expires_at: DateTime<Utc>,
        updated_at: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let Some((mut v, session)) = self.entry(token).await? else {
            return Ok(false);
        };
        let now = self.now();
        let expires_ms = expires_at.timestamp_millis();
        let ttl = ttl_seconds(expires_ms, now);
        if ttl > 0 {
            let updated = Session {
                expires_at,
                updated_at,
                ..session
            };
            let mut stored = v["session"].take();
            if let (Some(m), Value::Object(new)) = (stored.as_object_mut(), session_json(&updated))
            {
                m.insert("expiresAt".into(), new["expiresAt"].clone());
                m.insert("updatedAt".into(), new["updatedAt"].clone());
            }
            self.put_entry(&stored, &v["user"], ttl).await?;
            let entry = SessionRef {
                token: token.to_owned(),
                expires_at: expires_ms,
            };
            self.replace_ref(&updated.user_id, token, Some(entry), now)
                .await?;
        }
        Ok(true)
    }

    /// Sets members of the stored session (the plugins' columns), keeping its TTL and
    /// refreshing `updatedAt`. False when the token is not there.
    pub async fn update_extra(
        &self,
        token: &str,
        values: &serde_json::Map<String, Value>,
        updated_at: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let Some((mut v, session)) = self.entry(token).await? else {
            return Ok(false);
        };
        let ttl = ttl_seconds(session.expires_at.timestamp_millis(), self.now());
        if ttl == 0 {
            return Ok(false);
        }
        let mut stored = v["session"].take();
        if let Some(m) = stored.as_object_mut() {
            for (k, value) in values {
                m.insert(k.clone(), value.clone());
            }
            m.insert(
                "updatedAt".into(),
                crate::auth::crypto::iso(&updated_at).into(),
            );
        }
        self.put_entry(&stored, &v["user"], ttl).await?;
        Ok(true)
    }

    /// Removes `<token>` and its list entry when it belongs to `owner` (any user when `None`).
    /// True when it was there.
    pub async fn remove(&self, token: &str, owner: Option<&str>) -> StoreResult<bool> {
        let Some(v) = self.get_json(token).await? else {
            return Ok(false);
        };
        let user_id = v["session"]["userId"].as_str().unwrap_or_default();
        if owner.is_some_and(|o| o != user_id) {
            return Ok(false);
        }
        if !user_id.is_empty() {
            self.replace_ref(user_id, token, None, self.now()).await?;
        }
        self.delete(token).await?;
        Ok(true)
    }

    /// Every session of the user: the revoked-before marker (`revoked_at`, default now), each
    /// listed `<token>`, and the list. Returns how many were listed.
    pub async fn revoke_user(
        &self,
        user_id: &str,
        revoked_at: Option<DateTime<Utc>>,
    ) -> StoreResult<u64> {
        let now = self.now();
        let revoked_ms = revoked_at.unwrap_or(now).timestamp_millis();
        let marker = user_key("revoked-sessions-before", user_id);
        let previous = self
            .get(&marker)
            .await?
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0);
        let value = (revoked_ms as f64).max(previous).to_string();
        self.set(&marker, &value, self.revoked_before_ttl).await?;
        let refs = self.session_refs(user_id).await?;
        for r in &refs {
            self.delete(&r.token).await?;
        }
        // Sessions listed meanwhile (not in `refs`) stay listed, as in Better Auth.
        let now_ms = now.timestamp_millis();
        let remaining: Vec<SessionRef> = self
            .session_refs(user_id)
            .await?
            .into_iter()
            .filter(|r| r.expires_at > now_ms && !refs.iter().any(|d| d.token == r.token))
            .collect();
        self.set_session_refs(user_id, remaining, now).await?;
        Ok(refs.len() as u64)
    }

    /// update-user: every live `<token>` of the user gets the new user, keeping its TTL.
    pub async fn rewrite_user(&self, user: &User, fields: &UserFields) -> StoreResult<()> {
        let now = self.now();
        let user_value = stored_user_json(user, fields);
        for r in self.session_refs(&user.id).await? {
            if r.expires_at <= now.timestamp_millis() {
                continue;
            }
            let Some(mut v) = self.get_json(&r.token).await? else {
                continue;
            };
            let Some(session) = session_from_json(&v["session"]) else {
                continue;
            };
            let ttl = ttl_seconds(session.expires_at.timestamp_millis(), now);
            if ttl > 0 {
                self.put_entry(&v["session"].take(), &user_value, ttl)
                    .await?;
            }
        }
        Ok(())
    }
}

fn verification_key(identifier: &str) -> String {
    format!("verification:{identifier}")
}

impl Secondary {
    /// Writes a verification value until its expiry (nothing when it has already expired, as
    /// Better Auth's `createVerificationValue`).
    pub async fn put_verification(&self, v: &Verification) -> StoreResult<()> {
        let ttl = ttl_seconds(v.expires_at.timestamp_millis(), self.now());
        if ttl > 0 {
            let value = v.stored_json(self.verification_in_database);
            self.set(&verification_key(&v.identifier), &value, ttl)
                .await?;
        }
        Ok(())
    }

    /// The value kept for `identifier`; an unreadable one counts as absent.
    pub async fn verification(&self, identifier: &str) -> StoreResult<Option<Verification>> {
        let raw = self.get(&verification_key(identifier)).await?;
        Ok(raw.and_then(|s| Verification::from_stored_json(identifier, &s)))
    }

    /// Takes the value with one GETDEL: of concurrent callers exactly one gets it.
    pub async fn take_verification(&self, identifier: &str) -> StoreResult<Option<Verification>> {
        let raw = self
            .redis
            .get_and_delete(&verification_key(identifier))
            .await?;
        Ok(raw.and_then(|s| Verification::from_stored_json(identifier, &s)))
    }

    /// Removes the value kept for `identifier`.
    pub async fn delete_verification(&self, identifier: &str) -> StoreResult<()> {
        Ok(self.delete(&verification_key(identifier)).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_is_whole_seconds_until_expiry_and_never_negative() {
        let now = DateTime::from_timestamp_millis(1_000_000).unwrap();
        assert_eq!(ttl_seconds(1_000_000 + 1_999, now), 1);
        assert_eq!(ttl_seconds(1_000_000 + 2_000, now), 2);
        assert_eq!(ttl_seconds(1_000_000 + 999, now), 0);
        assert_eq!(ttl_seconds(1_000_000 - 5_000, now), 0);
    }
}
