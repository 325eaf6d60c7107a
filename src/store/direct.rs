//! The connections that serve the session lookup, the one query of nearly every request
//! (get-session, `/token`, every protected route), outside sqlx's pool.
//!
//! sqlx's pool pings each connection it gets back before anyone may reuse it: a second round
//! trip for every query, which wakes the database server and the HTTP worker once more. Without
//! it get-session answered 22 % more requests a second on PostgreSQL and 33 % more on SQLite
//! (wrk, 32 connections, 2 cores shared with the database). The pool here, one per HTTP
//! worker, pings a connection only when it needs it: before reusing one whose last query did
//! not finish (it failed, so an answer may be left unread), or one that sat idle for a while,
//! so a connection that died while idle (a database restart, a proxy's idle timeout) is
//! replaced before use.
//!
//! Lookups are batched: while a worker's connections are busy, the lookups that arrive wait,
//! and the next free connection answers all of them (up to `MAX_BATCH`) with one
//! `... WHERE token IN (...)`. A lookup never joins a query already sent, so every answer was
//! read after its request arrived (a session revoked before that is never seen as valid). Under
//! load the database then runs one query for many requests instead of one each: get-session
//! from PostgreSQL, 64 sessions in turn on 32 connections, went from 25k to 47k req/s. The
//! queries run in a task of their own, so a request that goes away never interrupts one.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use deadpool::managed::{self, Metrics, Object, PoolError, RecycleResult, Timeouts};
use sea_orm::sqlx::{self, ConnectOptions as _, Connection as _};
use sea_orm::sqlx::{MySqlConnection, PgConnection, SqliteConnection};
use sea_orm::{ConnAcquireErr, DbErr, QueryResult, RuntimeErr};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;

use super::get_str;
use super::pool::{conn_err, Target, PING_IDLE_AFTER};

/// How long a lookup waits for a connection, or for a new one to open: as long as a query
/// waits for one of the sqlx pool (`acquire_timeout`, `connect_timeout`).
const WAIT: Duration = Duration::from_secs(5);

enum Raw {
    Postgres(PgConnection),
    MySql(MySqlConnection),
    Sqlite(SqliteConnection),
}

pub(super) struct Conn {
    raw: Raw,
    /// A query was sent and its answer not read to the end.
    unfinished: bool,
}

impl Conn {
    async fn ping(&mut self) -> Result<(), sqlx::Error> {
        match &mut self.raw {
            Raw::Postgres(c) => c.ping().await,
            Raw::MySql(c) => c.ping().await,
            Raw::Sqlite(c) => c.ping().await,
        }
    }

    async fn close(self) -> Result<(), sqlx::Error> {
        match self.raw {
            Raw::Postgres(c) => c.close().await,
            Raw::MySql(c) => c.close().await,
            Raw::Sqlite(c) => c.close().await,
        }
    }

    /// The rows `sql` finds with `keys` bound to its parameters, in order; `unfinished` stays
    /// set unless the answer was read to its end.
    async fn run(&mut self, sql: &str, keys: &[&str]) -> Result<Vec<QueryResult>, sqlx::Error> {
        self.unfinished = true;
        // Prepared once per connection and batch size, and cached, as sqlx's pool does.
        let rows = match &mut self.raw {
            Raw::Postgres(c) => fetch_all(&mut *c, sql, keys).await?,
            Raw::MySql(c) => fetch_all(&mut *c, sql, keys).await?,
            Raw::Sqlite(c) => fetch_all(&mut *c, sql, keys).await?,
        };
        self.unfinished = false;
        Ok(rows)
    }
}

/// The rows of `sql` with `keys` bound to its parameters, in order.
async fn fetch_all<'c, 'q, DB, E>(
    conn: E,
    sql: &'q str,
    keys: &[&'q str],
) -> Result<Vec<QueryResult>, sqlx::Error>
where
    DB: sqlx::Database,
    E: sqlx::Executor<'c, Database = DB>,
    &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    <DB as sqlx::Database>::Arguments<'q>: sqlx::IntoArguments<'q, DB>,
    DB::Row: Into<QueryResult>,
{
    let mut query = sqlx::query::<DB>(sql);
    for key in keys {
        query = query.bind(*key);
    }
    Ok(query
        .fetch_all(conn)
        .await?
        .into_iter()
        .map(Into::into)
        .collect())
}

pub(super) struct Manager(Target);

impl managed::Manager for Manager {
    type Type = Conn;
    type Error = sqlx::Error;

    async fn create(&self) -> Result<Conn, sqlx::Error> {
        let raw = match &self.0 {
            Target::Postgres(o) => Raw::Postgres(o.connect().await?),
            Target::MySql(o) => Raw::MySql(o.connect().await?),
            Target::Sqlite(o) => Raw::Sqlite(o.connect().await?),
        };
        Ok(Conn {
            raw,
            unfinished: false,
        })
    }

    async fn recycle(&self, conn: &mut Conn, metrics: &Metrics) -> RecycleResult<sqlx::Error> {
        if conn.unfinished || metrics.last_used() >= PING_IDLE_AFTER {
            // Reads whatever an interrupted query left (sqlx would also do that before the
            // next query), then one round trip.
            conn.ping().await?;
            conn.unfinished = false;
        }
        Ok(())
    }
}

/// The most lookups one query answers.
pub(super) const MAX_BATCH: usize = 32;

/// The lookup query, and how to find a row's key in its answer.
pub(super) struct LookupSql {
    /// `by_count[n - 1]`: the query with `n` parameters, `key IN ($1, ..., $n)`.
    pub by_count: Vec<String>,
    /// The result column that holds the key.
    pub key_column: &'static str,
}

/// What one lookup receives: its row, shared with the lookups of the same key in its batch.
type Answer = Result<Option<Arc<QueryResult>>, DbErr>;

struct Waiting {
    key: String,
    answer: oneshot::Sender<Answer>,
}

struct Shared {
    pool: managed::Pool<Manager>,
    sql: LookupSql,
    /// The batching task's queue, started by the first lookup (from within the worker's
    /// runtime).
    queue: OnceLock<mpsc::UnboundedSender<Waiting>>,
}

/// A worker's lookup connections: at most `size`, opened on first use.
#[derive(Clone)]
pub(super) struct Direct(Arc<Shared>);

impl std::fmt::Debug for Direct {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let status = self.0.pool.status();
        f.debug_struct("Direct")
            .field("size", &status.size)
            .field("max_size", &status.max_size)
            .finish()
    }
}

impl Direct {
    pub(super) fn new(target: Target, size: usize, sql: LookupSql) -> Result<Self, DbErr> {
        let timeouts = Timeouts {
            wait: Some(WAIT),
            create: Some(WAIT),
            recycle: Some(WAIT),
        };
        let pool = managed::Pool::builder(Manager(target))
            .max_size(size)
            .timeouts(timeouts)
            .runtime(deadpool::Runtime::Tokio1)
            .build()
            .map_err(|e| DbErr::Custom(format!("the lookup connections: {e}")))?;
        Ok(Self(Arc::new(Shared {
            pool,
            sql,
            queue: OnceLock::new(),
        })))
    }

    /// The row whose key column equals `key`, read by a query sent after this call.
    pub(super) async fn fetch_optional(&self, key: &str) -> Answer {
        let queue = self.0.queue.get_or_init(|| {
            let (tx, rx) = mpsc::unbounded_channel();
            tokio::spawn(batches(self.0.clone(), rx));
            tx
        });
        let (answer, answered) = oneshot::channel();
        let waiting = Waiting {
            key: key.to_owned(),
            answer,
        };
        let closed = || DbErr::ConnectionAcquire(ConnAcquireErr::ConnectionClosed);
        queue.send(waiting).map_err(|_| closed())?;
        // As long as a query waits for a connection of the sqlx pool; a database that stopped
        // answering then gives 503s instead of requests that hang.
        match tokio::time::timeout(WAIT, answered).await {
            Ok(answer) => answer.map_err(|_| closed())?,
            Err(_) => Err(DbErr::ConnectionAcquire(ConnAcquireErr::Timeout)),
        }
    }

    /// Closes the idle connections politely and refuses new work; a connection still in use is
    /// dropped when its batch ends.
    pub(super) async fn close(&self) {
        let idle = self.0.pool.retain(|_, _| false).removed;
        self.0.pool.close();
        for conn in idle {
            if let Err(e) = conn.close().await {
                tracing::debug!(error = %e, "closing a lookup connection");
            }
        }
    }
}

/// The batching task: takes whatever lookups are waiting whenever a connection is free, until
/// every `Direct` handle is gone.
async fn batches(shared: Arc<Shared>, mut queue: mpsc::UnboundedReceiver<Waiting>) {
    let connections = shared.pool.status().max_size.max(1);
    let mut running = JoinSet::new();
    loop {
        tokio::select! {
            waiting = queue.recv(), if running.len() < connections => {
                let Some(first) = waiting else { break };
                let mut batch = vec![first];
                while batch.len() < MAX_BATCH {
                    match queue.try_recv() {
                        Ok(w) => batch.push(w),
                        Err(_) => break,
                    }
                }
                running.spawn(answer_batch(shared.clone(), batch));
            }
            Some(_) = running.join_next(), if !running.is_empty() => {}
        }
    }
    while running.join_next().await.is_some() {}
}

/// One query for the batch's keys; each lookup gets the row of its key, or the error.
async fn answer_batch(shared: Arc<Shared>, batch: Vec<Waiting>) {
    let mut keys: Vec<&str> = Vec::with_capacity(batch.len());
    for w in &batch {
        if !keys.contains(&w.key.as_str()) {
            keys.push(&w.key);
        }
    }
    let result = match shared.sql.by_count.get(keys.len() - 1) {
        Some(sql) => shared.rows(sql, &keys).await,
        None => Err(DbErr::Custom("a lookup batch larger than MAX_BATCH".into())),
    };
    match result {
        Ok(rows) => {
            let mut by_key = HashMap::with_capacity(rows.len());
            for row in rows {
                match get_str(&row, shared.sql.key_column) {
                    Ok(key) => {
                        by_key.insert(key, Arc::new(row));
                    }
                    Err(e) => tracing::error!(error = %e, "a lookup row without its key"),
                }
            }
            for w in batch {
                let _ = w.answer.send(Ok(by_key.get(&w.key).cloned()));
            }
        }
        Err(e) => {
            for w in batch {
                let _ = w.answer.send(Err(same_error(&e)));
            }
        }
    }
}

impl Shared {
    /// A connection that turns out dead (the server restarted or ended it, a proxy dropped it)
    /// is retried once on a new one, the others idle beside it dropped too: the lookup is a
    /// read, and the requests need not fail for a connection that died while idle.
    async fn rows(&self, sql: &str, keys: &[&str]) -> Result<Vec<QueryResult>, DbErr> {
        let mut conn = self.pool.get().await.map_err(acquire_err)?;
        match conn.run(sql, keys).await {
            Err(e) if is_broken(&e) => {
                tracing::debug!(error = %e, "a lookup connection is gone; retrying on a new one");
                drop(Object::take(conn));
                drop(self.pool.retain(|_, _| false));
                let mut conn = self.pool.get().await.map_err(acquire_err)?;
                conn.run(sql, keys).await.map_err(query_err)
            }
            rows => rows.map_err(query_err),
        }
    }
}

/// The batch's error for each of its lookups (`DbErr` is not `Clone`), classified as the
/// original is: unreachable (503) or not.
fn same_error(e: &DbErr) -> DbErr {
    if super::is_unavailable(e) {
        DbErr::Conn(RuntimeErr::Internal(e.to_string()))
    } else {
        DbErr::Query(RuntimeErr::Internal(e.to_string()))
    }
}

/// The connection itself failed, not the query: I/O, a broken protocol stream, or the server
/// saying it ended the session (SQLSTATE class 08, connection exception, or 57P01-57P03, the
/// server shutting down or an administrator ending the backend).
fn is_broken(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_) | sqlx::Error::Protocol(_) | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => db
            .code()
            .is_some_and(|c| c.starts_with("08") || matches!(&*c, "57P01" | "57P02" | "57P03")),
        _ => false,
    }
}

fn query_err(e: sqlx::Error) -> DbErr {
    DbErr::Query(RuntimeErr::SqlxError(e))
}

fn acquire_err(e: PoolError<sqlx::Error>) -> DbErr {
    match e {
        PoolError::Backend(e) => conn_err(e),
        PoolError::Timeout(_) => DbErr::ConnectionAcquire(ConnAcquireErr::Timeout),
        PoolError::Closed => DbErr::ConnectionAcquire(ConnAcquireErr::ConnectionClosed),
        other => DbErr::Conn(RuntimeErr::Internal(other.to_string())),
    }
}
