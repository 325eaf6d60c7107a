//! The connections that serve the session lookup, the one query of nearly every request
//! (get-session, `/token`, every protected route), outside sqlx's pool.
//!
//! sqlx's pool pings each connection it gets back before anyone may reuse it: a second round
//! trip for every query, which wakes the database server and the HTTP worker once more. Without
//! it get-session answered 22 % more requests a second on PostgreSQL and 33 % more on SQLite
//! (wrk, 32 connections, 2 cores shared with the database). The pool here, one per HTTP
//! worker, pings a connection only when it needs it: before reusing one whose last query did
//! not finish (the caller went away mid-query, or the query failed, so an answer may be left
//! unread), or one that sat idle for a while, so a connection that died while idle (a database
//! restart, a proxy's idle timeout) is replaced before use.

use std::time::Duration;

use deadpool::managed::{self, Metrics, Object, PoolError, RecycleResult, Timeouts};
use sea_orm::sqlx::{self, ConnectOptions as _, Connection as _};
use sea_orm::sqlx::{MySqlConnection, PgConnection, SqliteConnection};
use sea_orm::{ConnAcquireErr, DbErr, QueryResult, RuntimeErr};

use super::pool::{Target, PING_IDLE_AFTER};

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

    /// The one row `sql` finds with `key` bound to its only parameter; `unfinished` stays set
    /// unless the answer was read to its end.
    async fn run(&mut self, sql: &str, key: &str) -> Result<Option<QueryResult>, sqlx::Error> {
        self.unfinished = true;
        // Prepared once per connection and cached, as sqlx's pool does.
        let row = match &mut self.raw {
            Raw::Postgres(c) => sqlx::query(sql)
                .bind(key)
                .fetch_optional(c)
                .await?
                .map(Into::into),
            Raw::MySql(c) => sqlx::query(sql)
                .bind(key)
                .fetch_optional(c)
                .await?
                .map(Into::into),
            Raw::Sqlite(c) => sqlx::query(sql)
                .bind(key)
                .fetch_optional(c)
                .await?
                .map(Into::into),
        };
        self.unfinished = false;
        Ok(row)
    }
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

/// A worker's lookup connections: at most `size`, opened on first use.
#[derive(Clone)]
pub(super) struct Direct(managed::Pool<Manager>);

impl std::fmt::Debug for Direct {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let status = self.0.status();
        f.debug_struct("Direct")
            .field("size", &status.size)
            .field("max_size", &status.max_size)
            .finish()
    }
}

impl Direct {
    pub(super) fn new(target: Target, size: usize) -> Result<Self, DbErr> {
        let timeouts = Timeouts {
            wait: Some(WAIT),
            create: Some(WAIT),
            recycle: Some(WAIT),
        };
        managed::Pool::builder(Manager(target))
            .max_size(size)
            .timeouts(timeouts)
            .runtime(deadpool::Runtime::Tokio1)
            .build()
            .map(Self)
            .map_err(|e| DbErr::Custom(format!("the lookup connections: {e}")))
    }

    /// The one row `sql` finds with `key` bound to its only parameter. A connection that
    /// turns out dead (the server restarted or ended it, a proxy dropped it) is retried once on
    /// a new one, the others idle beside it dropped too: the lookup is a read, and the request
    /// need not fail for a connection that died while idle.
    pub(super) async fn fetch_optional(
        &self,
        sql: &str,
        key: &str,
    ) -> Result<Option<QueryResult>, DbErr> {
        let mut conn = self.0.get().await.map_err(acquire_err)?;
        match conn.run(sql, key).await {
            Err(e) if is_broken(&e) => {
                tracing::debug!(error = %e, "a lookup connection is gone; retrying on a new one");
                drop(Object::take(conn));
                drop(self.0.retain(|_, _| false));
                let mut conn = self.0.get().await.map_err(acquire_err)?;
                conn.run(sql, key).await.map_err(query_err)
            }
            row => row.map_err(query_err),
        }
    }

    /// Closes the idle connections politely and refuses new work; a connection still in use is
    /// dropped when its request ends.
    pub(super) async fn close(&self) {
        let idle = self.0.retain(|_, _| false).removed;
        self.0.close();
        for conn in idle {
            if let Err(e) = conn.close().await {
                tracing::debug!(error = %e, "closing a lookup connection");
            }
        }
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
        PoolError::Backend(e) => DbErr::Conn(RuntimeErr::SqlxError(e)),
        PoolError::Timeout(_) => DbErr::ConnectionAcquire(ConnAcquireErr::Timeout),
        PoolError::Closed => DbErr::ConnectionAcquire(ConnAcquireErr::ConnectionClosed),
        other => DbErr::Conn(RuntimeErr::Internal(other.to_string())),
    }
}
