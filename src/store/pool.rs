//! The sqlx pool under SeaORM, built here rather than by `Database::connect` for two reasons
//! that show on every request:
//!
//! - sqlx pings a connection before handing it out (`test_before_acquire`), one more round
//!   trip per query. Here only a connection that sat idle for a while is pinged: under load a
//!   query costs its own round trip alone, and a connection that died while idle (a database
//!   restart, a proxy's idle timeout) is still replaced before use.
//! - A server on the loopback interface is reached without TLS unless the URL asks for it
//!   (`sslmode` / `ssl-mode`), as Node's `pg` and `mysql2` do: TLS between two processes of one
//!   host protects nothing and costs a handshake and a cipher on every round trip.

use std::time::Duration;

use sea_orm::sqlx::mysql::{MySqlConnectOptions, MySqlSslMode};
use sea_orm::sqlx::pool::PoolOptions;
use sea_orm::sqlx::postgres::{PgConnectOptions, PgSslMode};
use sea_orm::sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode};
use sea_orm::sqlx::{self, ConnectOptions as _, Connection as _};
use sea_orm::{
    ConnectOptions, DatabaseConnection, DbErr, RuntimeErr, SqlxMySqlConnector,
    SqlxPostgresConnector, SqlxSqliteConnector,
};

/// A connection idle for this long is pinged before use.
pub(super) const PING_IDLE_AFTER: Duration = Duration::from_secs(2);

pub(super) fn conn_err(e: sqlx::Error) -> DbErr {
    DbErr::Conn(RuntimeErr::SqlxError(e))
}

fn pool_options<DB: sqlx::Database>(opts: &ConnectOptions) -> PoolOptions<DB> {
    opts.clone()
        .sqlx_pool_options::<DB>()
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for >= PING_IDLE_AFTER {
                    conn.ping().await?;
                }
                Ok(true)
            })
        })
}

/// Whether the URL names a server on the loopback interface (not a socket path).
fn loopback_host(parsed: &url::Url) -> bool {
    match parsed.host() {
        // Non-special schemes keep IPv4 hosts as text.
        Some(url::Host::Domain(d)) => {
            d.eq_ignore_ascii_case("localhost")
                || d.parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback())
        }
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// Whether the URL names a server on the loopback interface and says nothing about TLS.
fn loopback_without_tls_setting(url: &str, setting: &str) -> bool {
    let Ok(parsed) = url::Url::parse(url) else {
        return false;
    };
    if parsed
        .query_pairs()
        .any(|(k, _)| k.eq_ignore_ascii_case(setting) || k == "sslrootcert")
    {
        return false;
    }
    // A Unix socket (`?host=/run/postgresql`) is not loopback: no TLS is negotiated there anyway.
    loopback_host(&parsed)
}

/// Whether the URL names a database server on this machine: a loopback address or a Unix
/// socket (`?host=/run/postgresql`, `?socket=/run/mysqld/mysqld.sock`).
pub(super) fn on_this_machine(url: &str) -> bool {
    let Ok(parsed) = url::Url::parse(url) else {
        return false;
    };
    loopback_host(&parsed)
        || parsed
            .query_pairs()
            .any(|(k, v)| (k == "host" || k == "socket") && v.starts_with('/'))
}

/// The pool's settings; the URL may hold a password, so `Debug` leaves it out.
#[derive(Clone)]
pub(super) struct Options(pub ConnectOptions);

impl std::fmt::Debug for Options {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Options")
            .field("max_connections", &self.0.get_max_connections())
            .finish_non_exhaustive()
    }
}

/// What the URL asks for, as sqlx options.
pub(super) enum Target {
    Postgres(PgConnectOptions),
    MySql(MySqlConnectOptions),
    Sqlite(SqliteConnectOptions),
}

pub(super) fn target(url: &str) -> Result<Target, DbErr> {
    if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        let mut o = url
            .parse::<PgConnectOptions>()
            .map_err(conn_err)?
            .disable_statement_logging();
        if loopback_without_tls_setting(url, "sslmode") {
            o = o.ssl_mode(PgSslMode::Disable);
        }
        // JIT compilation pays only for queries that read millions of rows; the store's read a
        // handful. With it on, a statement the planner costs high (a sequential scan of a large
        // table, or any scan it was told to avoid) is compiled on every run: 20-25 ms of
        // server CPU for a few rows, and a timing difference between answers. A URL that sets
        // `jit` in `options` keeps its own.
        if !url.contains("jit") {
            o = o.options([("jit", "off")]);
        }
        // Statements are prepared once per connection, and PostgreSQL's default then settles
        // on a generic plan after five runs, costed with the table's size at that time: planned
        // on a new, nearly empty table that is a sequential scan, kept for as long as the
        // connection lives unless an ANALYZE intervenes (the session lookup went from 37k to
        // 7k req/s as the table grew to 6,000 rows with autovacuum off). Sequential scans are
        // ruled out instead, so a generic plan reads the index at any table size and no
        // statement is planned again on each run: planning every run (`plan_cache_mode =
        // force_custom_plan`, as before) cost get-full-organization a third of its throughput
        // (3,093 against 4,831 req/s, bench/README.md). A statement with no index to use still
        // scans; with `jit` off its inflated cost compiles nothing. A URL that sets
        // `enable_seqscan` in `options` keeps its own.
        if !url.contains("enable_seqscan") {
            o = o.options([("enable_seqscan", "off")]);
        }
        Ok(Target::Postgres(o))
    } else if url.starts_with("mysql:") || url.starts_with("mariadb:") {
        let mut o = url
            .parse::<MySqlConnectOptions>()
            .map_err(conn_err)?
            .disable_statement_logging();
        if loopback_without_tls_setting(url, "ssl-mode") {
            o = o.ssl_mode(MySqlSslMode::Disabled);
        }
        Ok(Target::MySql(o))
    } else if url.starts_with("sqlite:") {
        // Per connection: WAL so readers never block the writer, a writer waits for the lock
        // instead of failing, and the schema's foreign keys hold.
        let o = url
            .parse::<SqliteConnectOptions>()
            .map_err(conn_err)?
            .journal_mode(SqliteJournalMode::Wal)
            .busy_timeout(Duration::from_secs(5))
            .foreign_keys(true)
            .disable_statement_logging();
        Ok(Target::Sqlite(o))
    } else {
        Err(DbErr::Conn(RuntimeErr::Internal(
            "the database URL must start with sqlite:, postgres:// or mysql://".into(),
        )))
    }
}

/// Opens the pool for the URL's backend and connects its first connections.
pub(super) async fn open(opts: &ConnectOptions) -> Result<DatabaseConnection, DbErr> {
    Ok(match target(opts.get_url())? {
        Target::Postgres(o) => SqlxPostgresConnector::from_sqlx_postgres_pool(
            pool_options(opts).connect_with(o).await.map_err(conn_err)?,
        ),
        Target::MySql(o) => SqlxMySqlConnector::from_sqlx_mysql_pool(
            pool_options(opts).connect_with(o).await.map_err(conn_err)?,
        ),
        Target::Sqlite(o) => SqlxSqliteConnector::from_sqlx_sqlite_pool(
            pool_options(opts).connect_with(o).await.map_err(conn_err)?,
        ),
    })
}

/// The pool, connecting on first use (from the task that uses it).
pub(super) fn open_lazy(opts: &ConnectOptions) -> Result<DatabaseConnection, DbErr> {
    Ok(match target(opts.get_url())? {
        Target::Postgres(o) => {
            SqlxPostgresConnector::from_sqlx_postgres_pool(pool_options(opts).connect_lazy_with(o))
        }
        Target::MySql(o) => {
            SqlxMySqlConnector::from_sqlx_mysql_pool(pool_options(opts).connect_lazy_with(o))
        }
        Target::Sqlite(o) => {
            SqlxSqliteConnector::from_sqlx_sqlite_pool(pool_options(opts).connect_lazy_with(o))
        }
    })
}

/// How many connections a pool holds, and how many of them are idle.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolStats {
    /// Connections open now.
    pub open: u64,
    /// Open connections not lent out.
    pub idle: u64,
    /// Most connections the pools may open.
    pub max: u64,
}

impl PoolStats {
    fn add(&mut self, size: u32, idle: usize, max: u32) {
        self.open += u64::from(size);
        self.idle += idle as u64;
        self.max += u64::from(max);
    }
}

/// Adds the pool of `db` to `stats`.
pub(super) fn add_stats(db: &DatabaseConnection, stats: &mut PoolStats) {
    match db {
        DatabaseConnection::SqlxPostgresPoolConnection(_) => {
            let p = db.get_postgres_connection_pool();
            stats.add(p.size(), p.num_idle(), p.options().get_max_connections());
        }
        DatabaseConnection::SqlxMySqlPoolConnection(_) => {
            let p = db.get_mysql_connection_pool();
            stats.add(p.size(), p.num_idle(), p.options().get_max_connections());
        }
        DatabaseConnection::SqlxSqlitePoolConnection(_) => {
            let p = db.get_sqlite_connection_pool();
            stats.add(p.size(), p.num_idle(), p.options().get_max_connections());
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_is_left_out_only_for_loopback_servers_whose_url_says_nothing_of_it() {
        for url in [
            "postgres://u@127.0.0.1:5432/db",
            "postgres://u@localhost/db",
            "postgres://u@[::1]:5432/db?application_name=x",
            "mysql://root@127.0.0.1:3306/test",
        ] {
            let setting = if url.starts_with("mysql") {
                "ssl-mode"
            } else {
                "sslmode"
            };
            assert!(loopback_without_tls_setting(url, setting), "{url}");
        }
        for (url, setting) in [
            ("postgres://u@db.example.com/db", "sslmode"),
            ("postgres://u@10.0.0.5/db", "sslmode"),
            ("postgres://u@127.0.0.1/db?sslmode=require", "sslmode"),
            ("postgres://u@localhost/db?sslrootcert=/ca.pem", "sslmode"),
            ("postgres:///db?host=/run/postgresql", "sslmode"),
            ("mysql://root@127.0.0.1/test?ssl-mode=REQUIRED", "ssl-mode"),
        ] {
            assert!(!loopback_without_tls_setting(url, setting), "{url}");
        }
    }

    #[test]
    fn servers_on_this_machine_are_loopback_addresses_and_unix_sockets() {
        for url in [
            "postgres://u@127.0.0.1:5432/db",
            "postgres://u@localhost/db?sslmode=require",
            "postgres://u@[::1]/db",
            "postgres:///db?host=/run/postgresql",
            "mysql://root@localhost/test?socket=/run/mysqld/mysqld.sock",
        ] {
            assert!(on_this_machine(url), "{url}");
        }
        for url in [
            "postgres://u@db.example.com/db",
            "postgres://u@10.0.0.5/db",
            "mysql://root@192.168.1.2:3306/test",
            "postgres://u@db.example.com/db?host=relative",
        ] {
            assert!(!on_this_machine(url), "{url}");
        }
    }
}
