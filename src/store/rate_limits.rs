//! The `rateLimit` table (docs/compatibility.md §14.1): Better Auth's database rate-limit storage,
//! with the same counting as its `createDatabaseStorageWrapper`, so a Node Better Auth and this
//! service can share the counters.

use entity::rate_limit::{Column, Entity};
use sea_orm::sea_query::{Expr, Query};
use sea_orm::ConnectionTrait;

use super::{exec, Store, StoreError, StoreResult};
use crate::auth::crypto::generate_id;

/// How often a lost race (a row created or reset meanwhile) is retried.
const ATTEMPTS: usize = 4;

/// The outcome of one request against a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consumed {
    Allowed,
    /// Refused; the key's last allowed request was at `last_request` (epoch ms).
    Refused {
        last_request: i64,
    },
}

impl Store {
    /// Counts one request against `key`: at most `max` per `window_ms`, the window running from
    /// the last allowed request (docs/compatibility.md §13.5).
    ///
    /// The decision is one conditional UPDATE, atomic on every backend: it resets an expired
    /// counter or increments one below `max`, and touches nothing otherwise. Only when it
    /// matched no row is the row read, to create it or to report when it frees up.
    pub async fn consume_rate_limit(
        &self,
        key: &str,
        window_ms: i64,
        max: u64,
        now_ms: i64,
    ) -> StoreResult<Consumed> {
        let expired_before = now_ms.saturating_sub(window_ms);
        let max = i64::try_from(max).unwrap_or(i64::MAX);
        for _ in 0..ATTEMPTS {
            let update = Query::update()
                .table(Entity)
                .value(
                    Column::Count,
                    Expr::case(Expr::col(Column::LastRequest).lte(expired_before), 1)
                        .finally(Expr::col(Column::Count).add(1)),
                )
                .value(Column::LastRequest, now_ms)
                .and_where(Expr::col(Column::Key).eq(key))
                .and_where(
                    Expr::col(Column::LastRequest)
                        .lte(expired_before)
                        .or(Expr::col(Column::Count).lt(max)),
                )
                .to_owned();
            if exec(&self.db, self.stmt(&update)).await? > 0 {
                return Ok(Consumed::Allowed);
            }
            match self.rate_limit_counter(key).await? {
                None => {
                    let insert = Query::insert()
                        .into_table(Entity)
                        .columns([Column::Id, Column::Key, Column::Count, Column::LastRequest])
                        .values_panic([generate_id().into(), key.into(), 1.into(), now_ms.into()])
                        .to_owned();
                    match exec(&self.db, self.stmt(&insert)).await {
                        Ok(_) => return Ok(Consumed::Allowed),
                        // Another request created it first: count against that row.
                        Err(StoreError::Conflict) => continue,
                        Err(e) => return Err(e),
                    }
                }
                Some((count, last_request)) => {
                    if last_request > expired_before && count >= max {
                        return Ok(Consumed::Refused { last_request });
                    }
                    // Reset or decremented meanwhile: decide again.
                }
            }
        }
        Err(StoreError::Conflict)
    }

    /// Deletes counters whose last request is older than `cutoff_ms`.
    pub async fn prune_rate_limits(&self, cutoff_ms: i64) -> StoreResult<u64> {
        let q = Query::delete()
            .from_table(Entity)
            .and_where(Expr::col(Column::LastRequest).lt(cutoff_ms))
            .to_owned();
        exec(&self.db, self.stmt(&q)).await
    }

    /// The stored counter of `key`, as `(count, lastRequest)`.
    pub async fn rate_limit_counter(&self, key: &str) -> StoreResult<Option<(i64, i64)>> {
        let q = Query::select()
            .columns([Column::Count, Column::LastRequest])
            .from(Entity)
            .and_where(Expr::col(Column::Key).eq(key))
            .to_owned();
        let Some(row) = self.db.query_one(self.stmt(&q)).await? else {
            return Ok(None);
        };
        let count = row
            .try_get::<i64>("", "count")
            .or_else(|_| row.try_get::<i32>("", "count").map(i64::from))?;
        Ok(Some((count, row.try_get("", "lastRequest")?)))
    }
}
