//! The `apikey` table of the API key plugin (`@better-auth/api-key`'s `schema.ts`, its
//! `adapter.ts` and the guarded updates of `routes/verify-api-key.ts`).

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Alias, Expr, Func, Order, Query, SelectStatement, SimpleExpr, Value};
use sea_orm::{ConnectionTrait, DbErr, QueryResult};

use std::collections::HashMap;
use std::sync::Arc;

use super::{exec, get_opt_str, get_opt_ts, get_str, get_ts, Store, StoreResult, User};

/// One stored key. `key` is the SHA-256 of the key (base64url, no padding), never the key.
#[derive(Clone, PartialEq)]
pub struct ApiKeyRow {
    pub id: String,
    pub config_id: String,
    pub name: Option<String>,
    pub start: Option<String>,
    /// The owner: a user id (Better Auth's `references: "user"`).
    pub reference_id: String,
    pub prefix: Option<String>,
    pub key: String,
    pub refill_interval: Option<i64>,
    pub refill_amount: Option<i64>,
    pub last_refill_at: Option<DateTime<Utc>>,
    pub enabled: Option<bool>,
    pub rate_limit_enabled: Option<bool>,
    pub rate_limit_time_window: Option<i64>,
    pub rate_limit_max: Option<i64>,
    pub request_count: Option<i64>,
    pub remaining: Option<i64>,
    pub last_request: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// JSON text, as Better Auth stores it.
    pub permissions: Option<String>,
    /// JSON text, as Better Auth stores it.
    pub metadata: Option<String>,
}

/// Keys found with their owners, by hash (`find_api_key_with_owner`).
pub(super) type KeysWithOwners = Arc<HashMap<String, (ApiKeyRow, User)>>;

/// The hashed key is enough to find the row: keep it out of logs all the same.
impl std::fmt::Debug for ApiKeyRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiKeyRow")
            .field("id", &self.id)
            .field("reference_id", &self.reference_id)
            .field("enabled", &self.enabled)
            .finish_non_exhaustive()
    }
}

/// A change to some columns of a key (`None`: unchanged; `Some(None)`: set to NULL).
#[derive(Debug, Default, Clone)]
pub struct ApiKeyUpdate {
    pub name: Option<String>,
    pub enabled: Option<bool>,
    pub expires_at: Option<Option<DateTime<Utc>>>,
    pub metadata: Option<Option<String>>,
    pub remaining: Option<i64>,
    pub refill_amount: Option<i64>,
    pub refill_interval: Option<i64>,
    pub rate_limit_enabled: Option<bool>,
    pub rate_limit_time_window: Option<i64>,
    pub rate_limit_max: Option<i64>,
    pub permissions: Option<Option<String>>,
}

impl ApiKeyUpdate {
    pub fn is_empty(&self) -> bool {
        self.name.is_none()
            && self.enabled.is_none()
            && self.expires_at.is_none()
            && self.metadata.is_none()
            && self.remaining.is_none()
            && self.refill_amount.is_none()
            && self.refill_interval.is_none()
            && self.rate_limit_enabled.is_none()
            && self.rate_limit_time_window.is_none()
            && self.rate_limit_max.is_none()
            && self.permissions.is_none()
    }
}

/// How a verification moves the per-key rate-limit counter (`rate-limit.ts`'s decisions).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CounterChange {
    /// `requestCount = 1, lastRequest = now`, while `lastRequest` is NULL (`None`) or at most
    /// the given window start.
    Start {
        now: DateTime<Utc>,
        window_start: Option<DateTime<Utc>>,
    },
    /// `requestCount + 1, lastRequest = now`, while `lastRequest` is after the window start
    /// and `requestCount` below `max`.
    Increment {
        now: DateTime<Utc>,
        window_start: DateTime<Utc>,
        max: i64,
    },
}

const TABLE: &str = "apikey";

const COLUMNS: [&str; 22] = [
    "id",
    "configId",
    "name",
    "start",
    "referenceId",
    "prefix",
    "key",
    "refillInterval",
    "refillAmount",
    "lastRefillAt",
    "enabled",
    "rateLimitEnabled",
    "rateLimitTimeWindow",
    "rateLimitMax",
    "requestCount",
    "remaining",
    "lastRequest",
    "expiresAt",
    "createdAt",
    "updatedAt",
    "permissions",
    "metadata",
];

fn table() -> Alias {
    Alias::new(TABLE)
}

fn col(name: &str) -> Alias {
    Alias::new(name)
}

/// An integer column as any backend returns it (PostgreSQL `integer` is 32-bit).
fn get_opt_int(row: &QueryResult, c: &str) -> Result<Option<i64>, DbErr> {
    if let Ok(v) = row.try_get::<Option<i64>>("", c) {
        return Ok(v);
    }
    if let Ok(v) = row.try_get::<Option<i32>>("", c) {
        return Ok(v.map(i64::from));
    }
    row.try_get::<Option<f64>>("", c)
        .map(|v| v.map(|f| f as i64))
}

/// A boolean column, stored as a boolean or as 0/1.
fn get_opt_bool(row: &QueryResult, c: &str) -> Result<Option<bool>, DbErr> {
    if let Ok(v) = row.try_get::<Option<bool>>("", c) {
        return Ok(v);
    }
    get_opt_int(row, c).map(|v| v.map(|i| i != 0))
}

fn from_row(row: &QueryResult) -> Result<ApiKeyRow, DbErr> {
    from_named_row(row, |c| c.to_owned())
}

/// A row whose columns are named `name(column)` (`k_id`, ... beside a user's columns).
fn from_named_row(row: &QueryResult, name: impl Fn(&str) -> String) -> Result<ApiKeyRow, DbErr> {
    let get_str = |c: &str| get_str(row, &name(c));
    let get_opt_str = |c: &str| get_opt_str(row, &name(c));
    let get_opt_int = |c: &str| get_opt_int(row, &name(c));
    let get_opt_ts = |c: &str| get_opt_ts(row, &name(c));
    let get_opt_bool = |c: &str| get_opt_bool(row, &name(c));
    let get_ts = |c: &str| get_ts(row, &name(c));
    Ok(ApiKeyRow {
        id: get_str("id")?,
        config_id: get_opt_str("configId")?.unwrap_or_else(|| "default".into()),
        name: get_opt_str("name")?,
        start: get_opt_str("start")?,
        reference_id: get_str("referenceId")?,
        prefix: get_opt_str("prefix")?,
        key: get_str("key")?,
        refill_interval: get_opt_int("refillInterval")?,
        refill_amount: get_opt_int("refillAmount")?,
        last_refill_at: get_opt_ts("lastRefillAt")?,
        enabled: get_opt_bool("enabled")?,
        rate_limit_enabled: get_opt_bool("rateLimitEnabled")?,
        rate_limit_time_window: get_opt_int("rateLimitTimeWindow")?,
        rate_limit_max: get_opt_int("rateLimitMax")?,
        request_count: get_opt_int("requestCount")?,
        remaining: get_opt_int("remaining")?,
        last_request: get_opt_ts("lastRequest")?,
        expires_at: get_opt_ts("expiresAt")?,
        created_at: get_ts("createdAt")?,
        updated_at: get_ts("updatedAt")?,
        permissions: get_opt_str("permissions")?,
        metadata: get_opt_str("metadata")?,
    })
}

fn select() -> SelectStatement {
    Query::select()
        .columns(COLUMNS.map(col))
        .from(table())
        .to_owned()
}

/// Integers are written as 32-bit values: the columns are `integer` on every backend.
fn int(v: Option<i64>) -> Value {
    Value::Int(v.map(|n| n.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32))
}

fn opt_str(v: &Option<String>) -> Value {
    Value::String(v.clone().map(Box::new))
}

impl Store {
    fn key_ts(&self, dt: Option<DateTime<Utc>>) -> Value {
        self.opt_ts(dt)
    }

    pub async fn insert_api_key(&self, k: &ApiKeyRow) -> StoreResult<()> {
        let q = Query::insert()
            .into_table(table())
            .columns(COLUMNS.map(col))
            .values_panic([
                k.id.clone().into(),
                k.config_id.clone().into(),
                opt_str(&k.name).into(),
                opt_str(&k.start).into(),
                k.reference_id.clone().into(),
                opt_str(&k.prefix).into(),
                k.key.clone().into(),
                int(k.refill_interval).into(),
                int(k.refill_amount).into(),
                self.key_ts(k.last_refill_at).into(),
                Value::Bool(k.enabled).into(),
                Value::Bool(k.rate_limit_enabled).into(),
                int(k.rate_limit_time_window).into(),
                int(k.rate_limit_max).into(),
                int(k.request_count).into(),
                int(k.remaining).into(),
                self.key_ts(k.last_request).into(),
                self.key_ts(k.expires_at).into(),
                self.ts(k.created_at).into(),
                self.ts(k.updated_at).into(),
                opt_str(&k.permissions).into(),
                opt_str(&k.metadata).into(),
            ])
            .to_owned();
        exec(&self.db, self.stmt(&q)).await.map(|_| ())
    }

    async fn one_api_key(&self, q: SelectStatement) -> StoreResult<Option<ApiKeyRow>> {
        let row = self.db.query_one(self.stmt(&q)).await?;
        Ok(row.as_ref().map(from_row).transpose()?)
    }

    /// The key whose hash is `hashed`, with its owner (`None` when the owner is not found).
    /// The lookups that arrive together are answered by one query joining the key and its
    /// user (`... WHERE key IN (...)`, [`super::group`]): a machine client's requests cost the
    /// database a share of one read each, not two reads. A key not found that way (unknown, or
    /// its owner gone), or a shared read that failed, is looked up alone.
    pub async fn find_api_key_with_owner(
        &self,
        hashed: &str,
    ) -> StoreResult<Option<(ApiKeyRow, Option<User>)>> {
        let found = self
            .api_key_lookups
            .join_with(
                self.clone(),
                (),
                vec![hashed.to_owned()],
                super::group::append,
                |store, (), hashes| async move {
                    store.api_keys_with_owners(hashes).await.ok().map(Arc::new)
                },
            )
            .await;
        if let Some((row, user)) = found.as_ref().and_then(|f| f.get(hashed)) {
            return Ok(Some((row.clone(), Some(user.clone()))));
        }
        Ok(self
            .find_api_key_by_hash(hashed)
            .await?
            .map(|row| (row, None)))
    }

    /// The keys with these hashes that have an owner, with the owner, by hash.
    async fn api_keys_with_owners(
        &self,
        hashes: Vec<String>,
    ) -> StoreResult<HashMap<String, (ApiKeyRow, User)>> {
        let select = self.user_with(TABLE, &COLUMNS, "k_", "referenceId");
        self.rows_with_owners(select, (table(), col("key")), hashes, |row| {
            let key = from_named_row(row, |c| format!("k_{c}"))?;
            Ok((key.key.clone(), key))
        })
        .await
    }

    /// The key whose hash is `hashed` (the `key` column is indexed).
    pub async fn find_api_key_by_hash(&self, hashed: &str) -> StoreResult<Option<ApiKeyRow>> {
        let q = select()
            .and_where(Expr::col(col("key")).eq(hashed))
            .to_owned();
        self.one_api_key(q).await
    }

    pub async fn find_api_key(&self, id: &str) -> StoreResult<Option<ApiKeyRow>> {
        let q = select().and_where(Expr::col(col("id")).eq(id)).to_owned();
        self.one_api_key(q).await
    }

    /// The keys `reference_id` owns, sorted by `sort` (a column, descending when `true`).
    pub async fn list_api_keys(
        &self,
        reference_id: &str,
        sort: Option<(&str, bool)>,
    ) -> StoreResult<Vec<ApiKeyRow>> {
        let mut q = select()
            .and_where(Expr::col(col("referenceId")).eq(reference_id))
            .to_owned();
        if let Some((c, desc)) = sort {
            q.order_by(col(c), if desc { Order::Desc } else { Order::Asc });
        }
        let rows = self.db.query_all(self.stmt(&q)).await?;
        Ok(rows.iter().map(from_row).collect::<Result<_, _>>()?)
    }

    /// Applies `u` and `updatedAt = now`; the row after, if it still exists.
    pub async fn update_api_key(
        &self,
        id: &str,
        u: &ApiKeyUpdate,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<ApiKeyRow>> {
        self.write_api_key_update(id, u, now).await?;
        self.find_api_key(id).await
    }

    /// A use of the key that changes no counter: `updatedAt = now`, and `lastRequest = now`
    /// too when `last_request` (a key without a rate limit, Better Auth's
    /// `lastRequest: new Date()`). The uses that arrive together, of this key and of others,
    /// share one UPDATE setting each key's latest time ([`super::group`]): a machine client
    /// sending many requests no longer has them queue on the row's lock, one commit each.
    /// Answered once a write at least as late as `now` is stored for the key.
    pub async fn touch_api_key(
        &self,
        id: &str,
        now: DateTime<Utc>,
        last_request: bool,
    ) -> StoreResult<()> {
        let shared = self
            .api_key_touches
            .join_with(
                self.clone(),
                last_request,
                HashMap::from([(id.to_owned(), now)]),
                |pending, more| {
                    for (id, at) in more {
                        let slot = pending.entry(id).or_insert(at);
                        *slot = (*slot).max(at);
                    }
                },
                |store, last_request, uses| async move {
                    store.write_touches(&uses, last_request).await.ok()
                },
            )
            .await;
        if shared.is_some() {
            return Ok(());
        }
        self.write_touches(&HashMap::from([(id.to_owned(), now)]), last_request)
            .await
    }

    /// One UPDATE per `MAX_ROWS` keys: `updatedAt` (and `lastRequest`) set to each key's time,
    /// `CASE id WHEN ... THEN ...`.
    async fn write_touches(
        &self,
        uses: &HashMap<String, DateTime<Utc>>,
        last_request: bool,
    ) -> StoreResult<()> {
        let uses: Vec<(&String, &DateTime<Utc>)> = uses.iter().collect();
        for chunk in uses.chunks(super::group::MAX_ROWS) {
            self.write_touch_chunk(chunk, last_request).await?;
        }
        Ok(())
    }

    async fn write_touch_chunk(
        &self,
        uses: &[(&String, &DateTime<Utc>)],
        last_request: bool,
    ) -> StoreResult<()> {
        let times = uses.iter().map(|&(id, time)| (id.as_str(), self.ts(*time)));
        let Some(at) = super::group::case_by_id(col("id"), times) else {
            return Ok(());
        };
        let mut q = Query::update();
        q.table(table()).value(col("updatedAt"), at.clone());
        if last_request {
            q.value(col("lastRequest"), at);
        }
        q.and_where(Expr::col(col("id")).is_in(uses.iter().map(|(id, _)| id.as_str())));
        exec(&self.db, self.stmt(&q)).await.map(|_| ())
    }

    /// The UPDATE of [`Self::update_api_key`], without reading the row back.
    async fn write_api_key_update(
        &self,
        id: &str,
        u: &ApiKeyUpdate,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let mut q = Query::update();
        q.table(table()).value(col("updatedAt"), self.ts(now));
        if let Some(v) = &u.name {
            q.value(col("name"), v.clone());
        }
        if let Some(v) = u.enabled {
            q.value(col("enabled"), v);
        }
        if let Some(v) = u.expires_at {
            q.value(col("expiresAt"), self.key_ts(v));
        }
        if let Some(v) = &u.metadata {
            q.value(col("metadata"), opt_str(v));
        }
        if let Some(v) = u.remaining {
            q.value(col("remaining"), int(Some(v)));
        }
        if let Some(v) = u.refill_amount {
            q.value(col("refillAmount"), int(Some(v)));
        }
        if let Some(v) = u.refill_interval {
            q.value(col("refillInterval"), int(Some(v)));
        }
        if let Some(v) = u.rate_limit_enabled {
            q.value(col("rateLimitEnabled"), v);
        }
        if let Some(v) = u.rate_limit_time_window {
            q.value(col("rateLimitTimeWindow"), int(Some(v)));
        }
        if let Some(v) = u.rate_limit_max {
            q.value(col("rateLimitMax"), int(Some(v)));
        }
        if let Some(v) = &u.permissions {
            q.value(col("permissions"), opt_str(v));
        }
        q.and_where(Expr::col(col("id")).eq(id));
        exec(&self.db, self.stmt(&q)).await?;
        Ok(())
    }

    pub async fn delete_api_key(&self, id: &str) -> StoreResult<u64> {
        let q = Query::delete()
            .from_table(table())
            .and_where(Expr::col(col("id")).eq(id))
            .to_owned();
        exec(&self.db, self.stmt(&q)).await
    }

    /// Deletes every key whose `expiresAt` has passed.
    pub async fn delete_expired_api_keys(&self, now: DateTime<Utc>) -> StoreResult<u64> {
        let q = Query::delete()
            .from_table(table())
            .and_where(Expr::col(col("expiresAt")).is_not_null())
            .and_where(Expr::col(col("expiresAt")).lt(self.ts(now)))
            .to_owned();
        exec(&self.db, self.stmt(&q)).await
    }

    /// The refill, won by one verification only: `remaining = value, lastRefillAt = now`
    /// while `lastRefillAt` is still `observed`. Whether this call won it.
    pub async fn refill_api_key(
        &self,
        id: &str,
        observed: Option<DateTime<Utc>>,
        value: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let guard: SimpleExpr = match observed {
            None => Expr::col(col("lastRefillAt")).is_null(),
            Some(t) => Expr::col(col("lastRefillAt")).eq(self.ts(t)),
        };
        let q = Query::update()
            .table(table())
            .value(col("remaining"), int(Some(value)))
            .value(col("lastRefillAt"), self.ts(now))
            .and_where(Expr::col(col("id")).eq(id))
            .and_where(guard)
            .to_owned();
        Ok(exec(&self.db, self.stmt(&q)).await? == 1)
    }

    /// One use taken while `remaining > 0`; whether one was left.
    pub async fn take_api_key_use(&self, id: &str) -> StoreResult<bool> {
        let q = Query::update()
            .table(table())
            .value(col("remaining"), Expr::col(col("remaining")).sub(1))
            .and_where(Expr::col(col("id")).eq(id))
            .and_where(Expr::col(col("remaining")).gt(0))
            .to_owned();
        Ok(exec(&self.db, self.stmt(&q)).await? == 1)
    }

    /// Applies a rate-limit counter change under its guard; whether it applied.
    pub async fn count_api_key_request(
        &self,
        id: &str,
        change: CounterChange,
    ) -> StoreResult<bool> {
        let mut q = Query::update();
        let now = match change {
            CounterChange::Start { now, .. } | CounterChange::Increment { now, .. } => now,
        };
        // `updatedAt` in the same statement: a use costs one write.
        q.table(table())
            .value(col("updatedAt"), self.ts(now))
            .and_where(Expr::col(col("id")).eq(id));
        match change {
            CounterChange::Start { now, window_start } => {
                q.value(col("requestCount"), int(Some(1)))
                    .value(col("lastRequest"), self.ts(now));
                q.and_where(match window_start {
                    None => Expr::col(col("lastRequest")).is_null(),
                    Some(w) => Expr::col(col("lastRequest")).lte(self.ts(w)),
                });
            }
            CounterChange::Increment {
                now,
                window_start,
                max,
            } => {
                let count: SimpleExpr =
                    Func::coalesce([Expr::col(col("requestCount")).into(), Expr::val(0).into()])
                        .into();
                q.value(col("requestCount"), count.clone().add(1))
                    .value(col("lastRequest"), self.ts(now))
                    .and_where(Expr::col(col("lastRequest")).gt(self.ts(window_start)))
                    .and_where(Expr::expr(count).lt(int(Some(max))));
            }
        }
        Ok(exec(&self.db, self.stmt(&q)).await? == 1)
    }
}
