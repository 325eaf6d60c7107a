//! Verification values: single-use values by identifier (docs/compatibility.md §10.3), in the
//! `verification` table, or with Redis under `verification:<identifier>` only, unless
//! `[verification] store_in_database` (then both), as Better Auth 1.7.25's internal adapter
//! keeps them (`createVerificationValue`, `findVerificationValue`, `consumeVerificationValue`
//! in `better-auth/dist/db/internal-adapter.mjs`; docs/compatibility.md §8.7).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use entity::verification::{Column, Entity};
use indexmap::IndexMap;
use sea_orm::sea_query::{Expr, Order, Query};
use sea_orm::{ConnectionTrait, DatabaseBackend, DbErr, QueryResult};
use serde_json::{json, Value};

use super::{exec, get_str, get_ts, Store, StoreResult};
use crate::auth::crypto::{generate_id, iso};
use crate::auth::fields::parse_date;

/// One verification value. The identifier embeds the token.
#[derive(Clone, PartialEq)]
pub struct Verification {
    /// Empty for a value Better Auth kept in Redis only: it gives those no id.
    pub id: String,
    pub identifier: String,
    pub value: String,
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

/// What one grouped take answers: per ticket, the value it took.
pub(super) type Taken = Arc<HashMap<u64, Option<Verification>>>;

/// Takes waiting, each an identifier and its caller's ticket (`take_rows_grouped`).
pub(super) type Takes = super::group::Group<(), Vec<(String, u64)>, Taken>;

/// The identifier embeds the token: never printed.
impl std::fmt::Debug for Verification {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verification")
            .field("id", &self.id)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

const COLUMNS: [Column; 6] = [
    Column::Id,
    Column::Identifier,
    Column::Value,
    Column::ExpiresAt,
    Column::CreatedAt,
    Column::UpdatedAt,
];

impl Verification {
    /// The JSON text Better Auth writes to Redis, byte for byte. Redis only: the data it was
    /// created with, no id (`{createdAt, updatedAt, ...data}`). Also in the table: the row as
    /// its adapter returns it, schema order with the id last.
    pub(super) fn stored_json(&self, with_row: bool) -> String {
        let (created, expires) = (iso(&self.created_at), iso(&self.expires_at));
        let value = if with_row {
            json!({
                "identifier": self.identifier,
                "value": self.value,
                "expiresAt": expires,
                "createdAt": created,
                "updatedAt": created,
                "id": self.id,
            })
        } else {
            json!({
                "createdAt": created,
                "updatedAt": created,
                "value": self.value,
                "identifier": self.identifier,
                "expiresAt": expires,
            })
        };
        value.to_string()
    }

    /// A value read from Redis under `identifier`: unreadable JSON, a missing `value` or an
    /// invalid `expiresAt` makes it absent (Better Auth's `hydrateCachedVerification`).
    pub(super) fn from_stored_json(identifier: &str, raw: &str) -> Option<Self> {
        let v: Value = serde_json::from_str(raw).ok()?;
        let text = |k: &str| v.get(k).and_then(Value::as_str);
        let expires_at = parse_date(text("expiresAt")?)?;
        Some(Self {
            id: text("id").unwrap_or_default().to_owned(),
            identifier: text("identifier").unwrap_or(identifier).to_owned(),
            value: text("value")?.to_owned(),
            expires_at,
            created_at: text("createdAt").and_then(parse_date).unwrap_or_default(),
        })
    }
}

fn from_row(row: &QueryResult) -> Result<Verification, DbErr> {
    Ok(Verification {
        id: get_str(row, "id")?,
        identifier: get_str(row, "identifier")?,
        value: get_str(row, "value")?,
        expires_at: get_ts(row, "expiresAt")?,
        created_at: get_ts(row, "createdAt")?,
    })
}

impl Store {
    /// Whether verification values are written to the table: always without Redis.
    fn verification_table(&self) -> bool {
        self.secondary
            .as_ref()
            .is_none_or(|r| r.verification_in_database)
    }

    /// Stores a value under `identifier` until `expires_at`: the row, then the Redis entry.
    pub async fn create_verification(
        &self,
        identifier: &str,
        value: &str,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<Verification> {
        let v = Verification {
            id: generate_id(),
            identifier: identifier.to_owned(),
            value: value.to_owned(),
            expires_at,
            created_at: now,
        };
        if self.verification_table() {
            let shared = self
                .verification_inserts
                .join_with(
                    self.clone(),
                    (),
                    vec![v.clone()],
                    super::group::append,
                    |store, (), rows| async move { store.insert_verifications(&rows).await.ok() },
                )
                .await;
            if shared.is_none() {
                self.insert_verifications(std::slice::from_ref(&v)).await?;
            }
        }
        if let Some(redis) = &self.secondary {
            redis.put_verification(&v).await?;
        }
        Ok(v)
    }

    /// The rows in one INSERT per `MAX_ROWS` (one statement, one commit): the values that
    /// concurrent requests create together ([`super::group`]), e.g. the states of many
    /// `/sign-in/social` at once. A statement inserts all its rows or none.
    async fn insert_verifications(&self, rows: &[Verification]) -> StoreResult<()> {
        for chunk in rows.chunks(super::group::MAX_ROWS) {
            let mut q = Query::insert();
            q.into_table(Entity).columns(COLUMNS);
            for v in chunk {
                q.values_panic([
                    v.id.clone().into(),
                    v.identifier.clone().into(),
                    v.value.clone().into(),
                    self.ts(v.expires_at).into(),
                    self.ts(v.created_at).into(),
                    self.ts(v.created_at).into(),
                ]);
            }
            exec(&self.db, self.stmt(&q)).await?;
        }
        Ok(())
    }

    async fn newest_verification<C: ConnectionTrait>(
        &self,
        c: &C,
        identifier: &str,
    ) -> StoreResult<Option<Verification>> {
        let q = Query::select()
            .columns(COLUMNS)
            .from(Entity)
            .and_where(Expr::col(Column::Identifier).eq(identifier))
            .order_by(Column::CreatedAt, Order::Desc)
            .limit(1)
            .to_owned();
        match c.query_one(self.stmt(&q)).await? {
            Some(row) => Ok(Some(from_row(&row)?)),
            None => Ok(None),
        }
    }

    /// The value for `identifier`, expired or not: the Redis entry if there is one, else (and
    /// only when the table is written) the newest row. Every expired row of the table is
    /// deleted on the way at most once a minute (Better Auth's `findVerificationValue` with
    /// `VERIFICATION_CLEANUP_INTERVAL_MS`): without an index on `expiresAt` each clean-up reads
    /// the whole table.
    pub async fn find_verification(
        &self,
        identifier: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<Verification>> {
        if let Some(redis) = &self.secondary {
            if let Some(found) = redis.verification(identifier).await? {
                return Ok(Some(found));
            }
            if !redis.verification_in_database {
                return Ok(None);
            }
        }
        let found = self.newest_verification(&self.db, identifier).await?;
        if self.verification_cleanup_due(now) {
            let q = Query::delete()
                .from_table(Entity)
                .and_where(Expr::col(Column::ExpiresAt).lt(self.ts(now)))
                .to_owned();
            exec(&self.db, self.stmt(&q)).await?;
        }
        Ok(found)
    }

    /// Whether this lookup runs the clean-up: the first one, then the first after each minute
    /// (one caller wins the slot).
    fn verification_cleanup_due(&self, now: DateTime<Utc>) -> bool {
        use std::sync::atomic::Ordering;
        const INTERVAL_MS: i64 = 60_000;
        let now = now.timestamp_millis();
        let next = &self.next_verification_cleanup;
        let due = next.load(Ordering::Relaxed);
        now >= due
            && next
                .compare_exchange(due, now + INTERVAL_MS, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
    }

    /// Takes the value for `identifier` so that no one can take it again. Of concurrent
    /// consumers exactly one gets it: in Redis only, the one whose GETDEL returned it; with the
    /// table, the one whose delete removed the newest row (every row of the identifier and the
    /// Redis entry go too). An expired value is burnt all the same but not returned.
    pub async fn consume_verification(
        &self,
        identifier: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<Verification>> {
        let taken = match &self.secondary {
            Some(redis) if !redis.verification_in_database => {
                redis.take_verification(identifier).await?
            }
            _ => self.consume_verification_row(identifier).await?,
        };
        Ok(taken.filter(|v| v.expires_at > now))
    }

    /// Removes every value kept for `identifier` (Better Auth's
    /// `deleteVerificationByIdentifier`): the Redis entry, and the rows where the table is
    /// written.
    pub async fn delete_verification(&self, identifier: &str) -> StoreResult<()> {
        if let Some(redis) = &self.secondary {
            redis.delete_verification(identifier).await?;
        }
        if self.verification_table() {
            let q = Query::delete()
                .from_table(Entity)
                .and_where(Expr::col(Column::Identifier).eq(identifier))
                .to_owned();
            exec(&self.db, self.stmt(&q)).await?;
        }
        Ok(())
    }

    /// Moves the expiry of the values kept for `identifier` (Better Auth's
    /// `updateVerificationByIdentifier`).
    pub async fn extend_verification(
        &self,
        found: &Verification,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        if self.verification_table() {
            let q = Query::update()
                .table(Entity)
                .value(Column::ExpiresAt, self.ts(expires_at))
                .value(Column::UpdatedAt, self.ts(now))
                .and_where(Expr::col(Column::Identifier).eq(found.identifier.clone()))
                .to_owned();
            exec(&self.db, self.stmt(&q)).await?;
        }
        if let Some(redis) = &self.secondary {
            let moved = Verification {
                expires_at,
                ..found.clone()
            };
            redis.put_verification(&moved).await?;
        }
        Ok(())
    }

    async fn consume_verification_row(
        &self,
        identifier: &str,
    ) -> StoreResult<Option<Verification>> {
        let taken = if self.backend == DatabaseBackend::MySql {
            self.take_newest_row(identifier).await?
        } else {
            self.take_rows_grouped(identifier).await?
        };
        // Better Auth removes the Redis entry only once the row is consumed.
        if let (Some(_), Some(redis)) = (&taken, &self.secondary) {
            redis.delete_verification(identifier).await?;
        }
        Ok(taken)
    }

    /// [`Self::take_rows_returning`], with the takes that concurrent requests make in one
    /// statement ([`super::group`]): e.g. the states of many OAuth callbacks at once. A take
    /// that the shared statement did not make (it failed) is made alone.
    async fn take_rows_grouped(&self, identifier: &str) -> StoreResult<Option<Verification>> {
        static TICKETS: AtomicU64 = AtomicU64::new(0);
        let ticket = TICKETS.fetch_add(1, Ordering::Relaxed);
        let shared = self
            .verification_takes
            .join_with(
                self.clone(),
                (),
                vec![(identifier.to_owned(), ticket)],
                super::group::append,
                |store, (), wanted| async move { Some(Arc::new(store.take_rows_of(wanted).await)) },
            )
            .await;
        match shared.as_ref().and_then(|taken| taken.get(&ticket)) {
            Some(taken) => Ok(taken.clone()),
            None => self.take_rows_returning(identifier).await,
        }
    }

    /// One `DELETE ... WHERE identifier IN (...) RETURNING` per `MAX_ROWS` identifiers, answered
    /// per ticket: an identifier's newest row goes to the first ticket that asked for it, the
    /// others get none (they lost the race, as with deletes of their own). The tickets of a
    /// statement that failed are left out.
    async fn take_rows_of(&self, wanted: Vec<(String, u64)>) -> HashMap<u64, Option<Verification>> {
        let mut by_identifier: IndexMap<String, Vec<u64>> = IndexMap::new();
        for (identifier, ticket) in wanted {
            by_identifier.entry(identifier).or_default().push(ticket);
        }
        let tickets: Vec<(String, Vec<u64>)> = by_identifier.into_iter().collect();
        let mut out = HashMap::new();
        for chunk in tickets.chunks(super::group::MAX_ROWS) {
            let q = Query::delete()
                .from_table(Entity)
                .and_where(
                    Expr::col(Column::Identifier).is_in(chunk.iter().map(|(i, _)| i.as_str())),
                )
                .returning(Query::returning().columns(COLUMNS))
                .to_owned();
            let Ok(rows) = self.db.query_all(self.stmt(&q)).await else {
                continue;
            };
            let mut newest: HashMap<String, Verification> = HashMap::new();
            for v in rows.iter().filter_map(|r| from_row(r).ok()) {
                match newest.get(&v.identifier) {
                    Some(kept) if kept.created_at >= v.created_at => {}
                    _ => {
                        newest.insert(v.identifier.clone(), v);
                    }
                }
            }
            for (identifier, waiting) in chunk {
                let mut taken = newest.remove(identifier);
                for ticket in waiting {
                    out.insert(*ticket, taken.take());
                }
            }
        }
        out
    }

    /// PostgreSQL and SQLite: one statement takes every row of the identifier and says which;
    /// of concurrent consumers only the one whose delete removed them gets any. The newest.
    async fn take_rows_returning(&self, identifier: &str) -> StoreResult<Option<Verification>> {
        let q = Query::delete()
            .from_table(Entity)
            .and_where(Expr::col(Column::Identifier).eq(identifier))
            .returning(Query::returning().columns(COLUMNS))
            .to_owned();
        let rows = self.db.query_all(self.stmt(&q)).await?;
        let mut taken = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
        taken.sort_by_key(|v| v.created_at);
        Ok(taken.pop())
    }

    /// MySQL and MariaDB (no `DELETE ... RETURNING` in MySQL): the newest row, taken by whoever
    /// deletes it by id, then the identifier's other rows. No transaction: the single-statement
    /// delete by id decides the winner.
    async fn take_newest_row(&self, identifier: &str) -> StoreResult<Option<Verification>> {
        let Some(latest) = self.newest_verification(&self.db, identifier).await? else {
            return Ok(None);
        };
        let won = Query::delete()
            .from_table(Entity)
            .and_where(Expr::col(Column::Id).eq(latest.id.clone()))
            .to_owned();
        if exec(&self.db, self.stmt(&won)).await? == 0 {
            return Ok(None);
        }
        let rest = Query::delete()
            .from_table(Entity)
            .and_where(Expr::col(Column::Identifier).eq(identifier))
            .to_owned();
        exec(&self.db, self.stmt(&rest)).await?;
        Ok(Some(latest))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value() -> Verification {
        let at = |s| parse_date(s).unwrap();
        Verification {
            id: "vid".into(),
            identifier: "reset-password:abc".into(),
            value: "uid".into(),
            expires_at: at("2026-01-01T01:00:00.000Z"),
            created_at: at("2026-01-01T00:00:00.000Z"),
        }
    }

    #[test]
    fn redis_values_are_written_as_better_auth_writes_them() {
        // Both lines as Better Auth 1.7.25 wrote them to Redis for a password reset.
        assert_eq!(
            value().stored_json(false),
            r#"{"createdAt":"2026-01-01T00:00:00.000Z","updatedAt":"2026-01-01T00:00:00.000Z","value":"uid","identifier":"reset-password:abc","expiresAt":"2026-01-01T01:00:00.000Z"}"#
        );
        assert_eq!(
            value().stored_json(true),
            r#"{"identifier":"reset-password:abc","value":"uid","expiresAt":"2026-01-01T01:00:00.000Z","createdAt":"2026-01-01T00:00:00.000Z","updatedAt":"2026-01-01T00:00:00.000Z","id":"vid"}"#
        );
    }

    #[test]
    fn redis_values_read_back_and_unreadable_ones_are_absent() {
        let v = value();
        for with_row in [false, true] {
            let back = Verification::from_stored_json(&v.identifier, &v.stored_json(with_row));
            let want = Verification {
                id: if with_row {
                    v.id.clone()
                } else {
                    String::new()
                },
                ..v.clone()
            };
            assert_eq!(back, Some(want));
        }
        for raw in [
            "",
            "null",
            "12",
            r#"{"value":"uid"}"#,
            r#"{"value":"uid","expiresAt":"soon"}"#,
            r#"{"expiresAt":"2026-01-01T01:00:00.000Z"}"#,
        ] {
            assert_eq!(Verification::from_stored_json("x", raw), None, "{raw}");
        }
    }
}
