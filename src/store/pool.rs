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
use sea_orm::sqlx::sqlite::SqliteConnectOptions;
use sea_orm::sqlx::{self, ConnectOptions as _, Connection as _};
use sea_orm::{
    ConnectOptions, DatabaseConnection, DbErr, RuntimeErr, SqlxMySqlConnector,
    SqlxPostgresConnector, SqlxSqliteConnector,
};

/// A connection idle for this long is pinged before use.
const PING_IDLE_AFTER: Duration = Duration::from_secs(2);

fn conn_err(e: sqlx::Error) -> DbErr {
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

/// Whether the URL names a server on this host and says nothing about TLS.
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
    match parsed.host() {
        // Non-special schemes keep IPv4 hosts as text.
        Some(url::Host::Domain(d)) => {
            d.eq_ignore_ascii_case("localhost")
                || d.parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback())
        }
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        // A Unix socket (`?host=/run/postgresql`): no TLS is negotiated there anyway.
        None => false,
    }
}

/// Opens the pool for the URL's backend.
pub(super) async fn open(opts: &ConnectOptions) -> Result<DatabaseConnection, DbErr> {
    let url = opts.get_url();
    if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        let mut o = url
            .parse::<PgConnectOptions>()
            .map_err(conn_err)?
            .disable_statement_logging();
        if loopback_without_tls_setting(url, "sslmode") {
            o = o.ssl_mode(PgSslMode::Disable);
        }
        let pool = pool_options(opts).connect_with(o).await.map_err(conn_err)?;
        Ok(SqlxPostgresConnector::from_sqlx_postgres_pool(pool))
    } else if url.starts_with("mysql:") || url.starts_with("mariadb:") {
        let mut o = url
            .parse::<MySqlConnectOptions>()
            .map_err(conn_err)?
            .disable_statement_logging();
        if loopback_without_tls_setting(url, "ssl-mode") {
            o = o.ssl_mode(MySqlSslMode::Disabled);
        }
        let pool = pool_options(opts).connect_with(o).await.map_err(conn_err)?;
        Ok(SqlxMySqlConnector::from_sqlx_mysql_pool(pool))
    } else if url.starts_with("sqlite:") {
        let o = url
            .parse::<SqliteConnectOptions>()
            .map_err(conn_err)?
            .disable_statement_logging();
        let pool = pool_options(opts).connect_with(o).await.map_err(conn_err)?;
        Ok(SqlxSqliteConnector::from_sqlx_sqlite_pool(pool))
    } else {
        Err(DbErr::Conn(RuntimeErr::Internal(
            "the database URL must start with sqlite:, postgres:// or mysql://".into(),
        )))
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
}
