//! The only module that builds SeaORM queries. Values are encoded the way Better Auth's own
//! adapter stores them (dates as ISO text on SQLite, `timestamptz`/`timestamp(3)` elsewhere), so
//! a Node Better Auth can share the database.

pub mod accounts;
pub mod api_keys;
mod direct;
mod group;
pub mod json;
pub mod jwks;
pub mod organizations;
pub mod origin;
pub mod passkeys;
mod pool;
pub mod rate_limits;
pub mod redis;
pub mod schema;
pub mod secondary;
pub mod sessions;
pub mod teams;
pub mod two_factors;
pub mod user_list;
pub mod users;
pub mod verifications;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, Utc};
use indexmap::IndexMap;
use sea_orm::sea_query::Value;
use sea_orm::{
    ConnectOptions, ConnectionTrait, DatabaseBackend, DatabaseConnection, DbErr, QueryResult,
    RuntimeErr, SqlErr, Statement, TransactionTrait,
};
use secrecy::{ExposeSecret, SecretString};

use crate::auth::crypto::iso;
use crate::auth::fields::AdditionalField;
use crate::auth::format::{FormatSetting, StorageFormat};

pub use accounts::Account;
pub use jwks::{JwkRow, JwksChange};
pub use pool::PoolStats;
pub use sessions::Session;
pub use users::User;

/// Storage failures, classified for the HTTP layer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached (connection refused, pool exhausted, I/O): 503.
    #[error("database unavailable")]
    Unavailable(#[source] DbErr),
    /// A unique constraint refused the write.
    #[error("unique constraint violated")]
    Conflict,
    #[error("database error")]
    Other(#[source] DbErr),
    /// Redis (the secondary storage) failed or cannot be reached: 503.
    #[error("redis unavailable")]
    Redis(#[from] ::redis::RedisError),
}

impl StoreError {
    /// The storage cannot answer now (503), as opposed to a fault of ours.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, StoreError::Unavailable(_) | StoreError::Redis(_))
    }
}

impl From<DbErr> for StoreError {
    fn from(e: DbErr) -> Self {
        if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) {
            return StoreError::Conflict;
        }
        if is_unavailable(&e) {
            return StoreError::Unavailable(e);
        }
        StoreError::Other(e)
    }
}

/// Whether the database could not be reached or went away, as opposed to refusing a query:
/// no connection, a broken one, or the server saying it ended or will not take the session
/// (`docs/storage-and-scaling.md`, outages).
pub(crate) fn is_unavailable(e: &DbErr) -> bool {
    use sea_orm::sqlx::Error as Sqlx;
    let sqlx = match e {
        DbErr::ConnectionAcquire(_) => return true,
        DbErr::Conn(RuntimeErr::SqlxError(s))
        | DbErr::Exec(RuntimeErr::SqlxError(s))
        | DbErr::Query(RuntimeErr::SqlxError(s)) => s,
        DbErr::Conn(_) => return true,
        _ => return false,
    };
    match sqlx {
        Sqlx::Io(_)
        | Sqlx::PoolTimedOut
        | Sqlx::PoolClosed
        | Sqlx::WorkerCrashed
        | Sqlx::Tls(_)
        | Sqlx::Protocol(_) => true,
        Sqlx::Database(db) => db.code().is_some_and(|code| server_gone(&code)),
        _ => false,
    }
}

/// SQLSTATEs of a server that ended the session or takes none: class 08 (connection
/// exception; MySQL's 1053 "server shutdown in progress" is 08S01), PostgreSQL's 57P01-57P03
/// (administrator or crash shutdown, cannot connect now) and 53300 (too many connections),
/// MariaDB's 70100 (the connection was killed) and MySQL's 1040 (too many connections, 08004).
fn server_gone(code: &str) -> bool {
    code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03" | "53300" | "70100")
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Key of the PostgreSQL advisory lock, and name of the MySQL/MariaDB user lock, that let one
/// process at a time run the migrations.
const MIGRATION_PG_LOCK: i64 = 0x6d69_6772; // "migr"
const MIGRATION_MYSQL_LOCK: &str = "better-auth-rs.migrations";

/// Declared custom user columns, in configuration order.
pub type UserFields = Arc<IndexMap<String, AdditionalField>>;

/// The connections of one HTTP worker (`Store::for_worker`).
#[derive(Debug)]
struct WorkerPool {
    db: DatabaseConnection,
    lookups: direct::Direct,
}

#[derive(Clone, Debug)]
pub struct Store {
    db: DatabaseConnection,
    backend: DatabaseBackend,
    user_fields: UserFields,
    /// Columns the enabled plugins add to `session` (`activeOrganizationId`, ...).
    session_fields: UserFields,
    /// How the pool was opened; its URL may hold a password, so it never prints.
    options: Arc<pool::Options>,
    /// The HTTP workers' pools made from this one (`for_worker`), closed with it; `None` once
    /// closed.
    worker_pools: Arc<std::sync::Mutex<Option<Vec<WorkerPool>>>>,
    /// The SQL of `find_session_with_user`, built on first use.
    session_lookup_sql: Arc<std::sync::OnceLock<String>>,
    /// An HTTP worker's connections for that lookup (`direct.rs` says why); `None` in the
    /// start-up store, whose lookups go through the pool.
    lookups: Option<direct::Direct>,
    /// Whether `account` has the `issuer` column of newer Better Auth schemas.
    account_has_issuer: bool,
    /// Redis for sessions and verification values, when `REDIS_URL` is set
    /// (docs/compatibility.md §8.7).
    secondary: Option<Arc<secondary::Secondary>>,
    /// Who created the tables, found when the schema was first read.
    origin: Option<origin::Origin>,
    /// What the service writes for Node to read (`resolve_format`).
    format: StorageFormat,
    /// When a verification lookup next deletes the expired rows (Unix milliseconds), shared by
    /// the workers' stores: once a minute per process, as Better Auth's internal adapter does.
    next_verification_cleanup: Arc<std::sync::atomic::AtomicI64>,
    /// Uses of API keys waiting to be written (key id, time), by whether `lastRequest` moves
    /// (`touch_api_key`); this and the groups below are each worker's own (`for_worker`).
    api_key_touches: Arc<group::Group<bool, std::collections::HashMap<String, DateTime<Utc>>>>,
    /// Verification rows waiting to be inserted (`create_verification`).
    verification_inserts: Arc<group::Group<(), Vec<verifications::Verification>>>,
    /// Verification values waiting to be taken, by identifier with each caller's ticket
    /// (`consume_verification`, PostgreSQL and SQLite).
    verification_takes: Arc<verifications::Takes>,
    /// Provider account lookups waiting, by provider (`find_account_with_user_by_key`).
    account_lookups: Arc<accounts::AccountLookups>,
    /// Provider token updates waiting, by the columns they set (`update_account_tokens`).
    account_token_updates: Arc<accounts::TokenUpdates>,
    /// New sessions waiting to be inserted, by the plugin columns they set (`store_session`).
    session_inserts: Arc<group::Group<Vec<String>, Vec<Session>>>,
    /// API key lookups waiting, by hash (`find_api_key_with_owner`).
    api_key_lookups: Arc<group::Group<(), Vec<String>, api_keys::KeysWithOwners>>,
}

impl Store {
    /// Opens the pool. SQLite connections get WAL, a busy timeout (readers never block
    /// writers) and foreign keys.
    pub async fn connect(url: &SecretString, user_fields: UserFields) -> Result<Self, DbErr> {
        let url = url.expose_secret();
        let sqlite = url.starts_with("sqlite:");
        let cores = std::thread::available_parallelism()
            .map(|n| n.get() as u32)
            .unwrap_or(2);
        let mut opts = ConnectOptions::new(url.to_owned());
        // Four server connections per core (split between the HTTP workers): on 2 cores, 8
        // gave get-session from PostgreSQL 25 % more throughput and half the p99 of 16, where
        // more server processes competed for the cores; 4 made requests queue for a connection.
        opts.max_connections(if sqlite {
            cores * 2
        } else {
            (cores * 4).max(8)
        })
        .min_connections(1)
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(Duration::from_secs(5))
        .idle_timeout(Duration::from_secs(300));
        let db = pool::open(&opts).await?;
        Ok(Self {
            backend: db.get_database_backend(),
            db,
            options: Arc::new(pool::Options(opts)),
            worker_pools: Arc::new(std::sync::Mutex::new(Some(Vec::new()))),
            session_lookup_sql: Arc::default(),
            lookups: None,
            user_fields,
            session_fields: UserFields::default(),
            account_has_issuer: false,
            secondary: None,
            origin: None,
            format: StorageFormat::Native,
            next_verification_cleanup: Arc::default(),
            api_key_touches: Arc::default(),
            verification_inserts: Arc::default(),
            verification_takes: Arc::default(),
            account_lookups: Arc::default(),
            account_token_updates: Arc::default(),
            session_inserts: Arc::default(),
            api_key_lookups: Arc::default(),
        })
    }

    /// The same store on a pool of its own for one HTTP worker thread, connected on first use
    /// from that thread. A connection then lives on the worker's own event loop: sharing one
    /// pool between workers makes every query's I/O wake another thread, which cost a third of
    /// the CPU of a session lookup.
    pub fn for_worker(&self, workers: usize) -> Result<Self, DbErr> {
        let mut opts = self.options.0.clone();
        let total = opts.get_max_connections().unwrap_or(16);
        let share = total / u32::try_from(workers.max(1)).unwrap_or(1);
        opts.max_connections(share.max(2)).min_connections(0);
        let db = pool::open_lazy(&opts)?;
        let target = pool::target(opts.get_url())?;
        let lookups = match target {
            // SQLite reads on threads of this process: two readers per worker beat one by a
            // third on get-session.
            pool::Target::Sqlite(_) => 2,
            // A database server on this machine runs on the same cores: one lookup in flight
            // per worker keeps one server process per core busy. With two per worker the
            // scheduler let a runnable server process wait for up to 1.7 s now and then
            // (get-session p99 over 100 ms in one run of three; 10 ms worst with one).
            _ if pool::on_this_machine(opts.get_url()) => 1,
            _ => share as usize,
        };
        let sql = direct::LookupSql {
            by_count: (1..=direct::MAX_BATCH)
                .map(|n| self.session_lookup_sql(n))
                .collect(),
            key_column: sessions::JOINED_TOKEN,
        };
        let lookups = direct::Direct::new(pool::target(opts.get_url())?, lookups, sql)?;
        match self.worker_pools.lock().as_deref_mut() {
            Ok(Some(pools)) => pools.push(WorkerPool {
                db: db.clone(),
                lookups: lookups.clone(),
            }),
            _ => return Err(DbErr::Custom("the database pool is closed".into())),
        }
        Ok(Self {
            db,
            options: Arc::new(pool::Options(opts)),
            lookups: Some(lookups),
            // Each worker groups its own requests' writes and lookups, on its own connections:
            // one shared group would let a single query be in flight for the whole process,
            // and wake the other worker's thread for every answer.
            api_key_touches: Arc::default(),
            verification_inserts: Arc::default(),
            verification_takes: Arc::default(),
            account_lookups: Arc::default(),
            account_token_updates: Arc::default(),
            session_inserts: Arc::default(),
            api_key_lookups: Arc::default(),
            ..self.clone()
        })
    }

    /// Runs the migrations, creates the enabled plugins' `tables` that are missing, adds missing
    /// custom columns, and looks at the account table.
    pub async fn migrate(&mut self, tables: &[schema::Table]) -> Result<(), DbErr> {
        use migration::MigratorTrait;
        // Replicas starting together on a new database: one migrates while the others wait on
        // a database lock, then find nothing left to do. The lock is held by a transaction of
        // its own; the migrations run on other pooled connections.
        let (lock, unlock) = match self.backend {
            DatabaseBackend::Postgres => (
                format!("SELECT pg_advisory_xact_lock({MIGRATION_PG_LOCK})"),
                None,
            ),
            DatabaseBackend::MySql => (
                format!("SELECT GET_LOCK('{MIGRATION_MYSQL_LOCK}', 120) AS got"),
                Some(format!("DO RELEASE_LOCK('{MIGRATION_MYSQL_LOCK}')")),
            ),
            // One file, one writer at a time; every migration skips tables that exist.
            DatabaseBackend::Sqlite => {
                let found = Self::origin_before_migrating(&self.db).await?;
                migration::Migrator::up(&self.db, None).await?;
                schema::create_missing_tables(&self.db, tables).await?;
                schema::add_missing_core_columns(&self.db).await?;
                origin::record(&self.db, &found).await?;
                self.origin = Some(found);
                return self.sync_schema().await;
            }
        };
        let holder = self.db.begin().await?;
        let got = holder
            .query_one(Statement::from_string(self.backend, lock))
            .await?;
        if unlock.is_some() && got.and_then(|r| r.try_get::<i64>("", "got").ok()) != Some(1) {
            return Err(DbErr::Custom(
                "timed out waiting for another instance's migrations".into(),
            ));
        }
        let outcome = async {
            let found = Self::origin_before_migrating(&self.db).await?;
            migration::Migrator::up(&self.db, None).await?;
            schema::create_missing_tables(&self.db, tables).await?;
            schema::add_missing_core_columns(&self.db).await?;
            origin::record(&self.db, &found).await?;
            self.origin = Some(found);
            self.sync_schema().await
        }
        .await;
        if let Some(unlock) = unlock {
            holder
                .execute(Statement::from_string(self.backend, unlock))
                .await?;
        }
        holder.commit().await?;
        outcome
    }

    /// A foreign schema refused, then who created the tables.
    async fn origin_before_migrating(db: &DatabaseConnection) -> Result<origin::Origin, DbErr> {
        origin::check_foreign_schema(db).await?;
        origin::detect(db).await
    }

    /// Decides the format of what the service writes from `[storage] format` and who created
    /// the tables; returns it with the reason, for the start-up log.
    pub fn resolve_format(&mut self, setting: FormatSetting) -> (StorageFormat, String) {
        let created_by = self.origin.as_ref().map(|o| o.created_by);
        let reason = self
            .origin
            .as_ref()
            .map_or("the schema was not read", |o| o.reason);
        let (format, why) = match setting {
            FormatSetting::BetterAuth => (
                StorageFormat::BetterAuth,
                "configured ([storage] format = \"better-auth\")".to_owned(),
            ),
            FormatSetting::Native => (
                StorageFormat::Native,
                "configured ([storage] format = \"native\")".to_owned(),
            ),
            FormatSetting::Auto => match created_by {
                Some(origin::CreatedBy::BetterAuth) => (
                    StorageFormat::BetterAuth,
                    format!("[storage] format = \"auto\": {reason}"),
                ),
                _ => (
                    StorageFormat::Native,
                    format!("[storage] format = \"auto\": {reason}"),
                ),
            },
        };
        self.format = format;
        (format, why)
    }

    /// What the service writes for a Node Better Auth to read, resolved at start.
    pub fn format(&self) -> StorageFormat {
        self.format
    }

    /// Adapts to the schema as it is (run after `migrate`, or alone when migrations are off).
    pub async fn sync_schema(&mut self) -> Result<(), DbErr> {
        if self.origin.is_none() {
            origin::check_foreign_schema(&self.db).await?;
            self.origin = Some(origin::detect(&self.db).await?);
        }
        let added = schema::add_missing_columns(&self.db, "user", &self.user_fields).await?
            | schema::add_missing_columns(&self.db, "session", &self.session_fields).await?;
        if added && self.backend == DatabaseBackend::Sqlite {
            // SQLite connections opened before an ALTER TABLE can keep reading the new column as
            // NULL through their cached statements: start the pool afresh.
            self.db.clone().close().await?;
            self.db = pool::open(&self.options.0).await?;
        }
        self.account_has_issuer = schema::has_column(&self.db, "account", "issuer").await?;
        Ok(())
    }

    /// Sessions and verification values go to Redis from now on (and to their tables only as
    /// the secondary's settings say).
    pub fn set_secondary(&mut self, secondary: secondary::Secondary) {
        self.secondary = Some(Arc::new(secondary));
    }

    /// Whether sessions are written to the `session` table.
    fn session_table(&self) -> bool {
        self.secondary
            .as_ref()
            .is_none_or(|r| r.storage.in_database)
    }

    pub fn connection(&self) -> &DatabaseConnection {
        &self.db
    }

    /// Declares the columns the enabled plugins add to `session`: added when missing at
    /// migration, then read and written with every session.
    pub fn set_session_fields(&mut self, fields: UserFields) {
        self.session_fields = fields;
    }

    pub fn session_fields(&self) -> &UserFields {
        &self.session_fields
    }

    pub fn user_fields(&self) -> &UserFields {
        &self.user_fields
    }

    pub fn backend(&self) -> DatabaseBackend {
        self.backend
    }

    /// The connections of the start-up pool and of every HTTP worker's pool, added up.
    pub fn pool_stats(&self) -> PoolStats {
        let mut stats = PoolStats::default();
        pool::add_stats(&self.db, &mut stats);
        if let Ok(Some(workers)) = self.worker_pools.lock().as_deref() {
            for w in workers {
                pool::add_stats(&w.db, &mut stats);
            }
        }
        stats
    }

    pub async fn ping(&self) -> StoreResult<()> {
        Ok(self.db.ping().await?)
    }

    /// Closes the pool and the workers' pools made from it.
    pub async fn close(self) -> Result<(), DbErr> {
        let workers = match self.worker_pools.lock() {
            Ok(mut pools) => pools.take(),
            Err(_) => None,
        };
        for pool in workers.into_iter().flatten() {
            pool.lookups.close().await;
            pool.db.close().await?;
        }
        self.db.close().await
    }

    /// A unique index on a plugin's column (`schema::create_unique_index`).
    pub async fn create_unique_index(&self, table: &str, column: &str) -> StoreResult<()> {
        Ok(schema::create_unique_index(&self.db, table, column).await?)
    }

    pub async fn begin(&self) -> StoreResult<sea_orm::DatabaseTransaction> {
        Ok(self.db.begin().await?)
    }

    fn stmt<S: sea_orm::StatementBuilder>(&self, q: &S) -> Statement {
        self.backend.build(q)
    }

    /// A date as this backend stores it.
    fn ts(&self, dt: DateTime<Utc>) -> Value {
        ts_value(self.backend, dt)
    }

    /// An optional date as this backend stores it (a typed NULL when absent).
    fn opt_ts(&self, dt: Option<DateTime<Utc>>) -> Value {
        match (dt, self.backend) {
            (Some(dt), _) => self.ts(dt),
            (None, DatabaseBackend::Sqlite) => Value::String(None),
            (None, _) => Value::ChronoDateTimeUtc(None),
        }
    }
}

pub(crate) fn ts_value(backend: DatabaseBackend, dt: DateTime<Utc>) -> Value {
    match backend {
        DatabaseBackend::Sqlite => Value::String(Some(Box::new(iso(&dt)))),
        _ => Value::ChronoDateTimeUtc(Some(Box::new(dt))),
    }
}

/// Dates as any Better Auth back-end may have stored them: native timestamps, ISO text, SQL
/// `YYYY-MM-DD HH:MM:SS[.fff]` text, or epoch milliseconds.
pub(crate) fn get_opt_ts(row: &QueryResult, col: &str) -> Result<Option<DateTime<Utc>>, DbErr> {
    if let Ok(v) = row.try_get::<Option<DateTime<Utc>>>("", col) {
        return Ok(v);
    }
    if let Ok(v) = row.try_get::<Option<String>>("", col) {
        return match v {
            None => Ok(None),
            Some(s) => parse_text_ts(&s)
                .map(Some)
                .ok_or_else(|| DbErr::Type(format!("column {col}: unreadable date"))),
        };
    }
    if let Ok(v) = row.try_get::<Option<i64>>("", col) {
        return Ok(v.and_then(DateTime::from_timestamp_millis));
    }
    if let Ok(v) = row.try_get::<Option<NaiveDateTime>>("", col) {
        return Ok(v.map(|n| n.and_utc()));
    }
    Err(DbErr::Type(format!("column {col}: unreadable date")))
}

pub(crate) fn get_ts(row: &QueryResult, col: &str) -> Result<DateTime<Utc>, DbErr> {
    get_opt_ts(row, col)?.ok_or_else(|| DbErr::Type(format!("column {col}: null date")))
}

fn parse_text_ts(s: &str) -> Option<DateTime<Utc>> {
    if let Ok(d) = DateTime::parse_from_rfc3339(s) {
        return Some(d.with_timezone(&Utc));
    }
    for fmt in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"] {
        if let Ok(n) = NaiveDateTime::parse_from_str(s, fmt) {
            return Some(n.and_utc());
        }
    }
    s.parse::<i64>()
        .ok()
        .and_then(DateTime::from_timestamp_millis)
}

pub(crate) fn get_str(row: &QueryResult, col: &str) -> Result<String, DbErr> {
    row.try_get::<String>("", col)
}

pub(crate) fn get_opt_str(row: &QueryResult, col: &str) -> Result<Option<String>, DbErr> {
    row.try_get::<Option<String>>("", col)
}

pub(crate) fn get_bool(row: &QueryResult, col: &str) -> Result<bool, DbErr> {
    row.try_get::<bool>("", col)
        .or_else(|_| row.try_get::<i64>("", col).map(|v| v != 0))
}

pub(crate) async fn exec<C: ConnectionTrait>(c: &C, stmt: Statement) -> StoreResult<u64> {
    Ok(c.execute(stmt).await?.rows_affected())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_dates_in_every_stored_form_parse() {
        let want = DateTime::parse_from_rfc3339("2025-06-01T12:00:00.500Z")
            .unwrap()
            .with_timezone(&Utc);
        for s in [
            "2025-06-01T12:00:00.500Z",
            "2025-06-01T12:00:00.5+00:00",
            "2025-06-01 12:00:00.500",
            "1748779200500",
        ] {
            assert_eq!(parse_text_ts(s), Some(want), "{s}");
        }
    }
}
