//! The `jwks` table of the JWT plugin (docs/compatibility.md §14.1, §11.6).

use chrono::{DateTime, Utc};
use entity::jwks::{Column, Entity};
use sea_orm::sea_query::{Expr, Order, Query, SelectStatement};
use sea_orm::{ConnectionTrait, DatabaseBackend, DbErr, QueryResult, Statement};

use super::{exec, get_opt_str, get_opt_ts, get_str, get_ts, Store, StoreError, StoreResult};

/// One stored key. `private_key` is the column as stored (sealed, or plain JWK text).
#[derive(Clone, PartialEq)]
pub struct JwkRow {
    pub id: String,
    pub public_key: String,
    pub private_key: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub alg: Option<String>,
    pub crv: Option<String>,
}

/// The private key column may be plain JWK text: keep it out of logs.
impl std::fmt::Debug for JwkRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwkRow")
            .field("id", &self.id)
            .field("alg", &self.alg)
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

const COLUMNS: [Column; 7] = [
    Column::Id,
    Column::PublicKey,
    Column::PrivateKey,
    Column::CreatedAt,
    Column::ExpiresAt,
    Column::Alg,
    Column::Crv,
];

fn from_row(row: &QueryResult) -> Result<JwkRow, DbErr> {
    Ok(JwkRow {
        id: get_str(row, "id")?,
        public_key: get_str(row, "publicKey")?,
        private_key: get_str(row, "privateKey")?,
        created_at: get_ts(row, "createdAt")?,
        expires_at: get_opt_ts(row, "expiresAt")?,
        alg: get_opt_str(row, "alg")?,
        crv: get_opt_str(row, "crv")?,
    })
}

/// A change to the key table decided while holding the lock of [`Store::change_jwks_exclusively`].
#[derive(Debug, Default)]
pub struct JwksChange {
    /// Keys whose `expiresAt` becomes `expire_at` (rotation: they stay published for the grace
    /// period, and stop signing).
    pub expire: Vec<String>,
    pub expire_at: Option<DateTime<Utc>>,
    pub insert: Option<JwkRow>,
}

/// Name of the MySQL/MariaDB user lock, and key of the PostgreSQL advisory lock, that serialise
/// writers of the `jwks` table across every process sharing the database.
const MYSQL_LOCK: &str = "better-auth-rs.jwks";
const PG_LOCK_KEY: i64 = 0x6a77_6b73; // "jwks"
const LOCK_WAIT_SECS: i64 = 30;

fn select_all() -> SelectStatement {
    Query::select()
        .columns(COLUMNS)
        .from(Entity)
        .order_by(Column::CreatedAt, Order::Asc)
        .to_owned()
}

impl Store {
    /// Every stored key, oldest first.
    pub async fn list_jwks(&self) -> StoreResult<Vec<JwkRow>> {
        let rows = self.db.query_all(self.stmt(&select_all())).await?;
        Ok(rows.iter().map(from_row).collect::<Result<_, _>>()?)
    }

    /// Reads the key table and applies what `decide` returns, with every other process that
    /// shares the database kept out in the meantime, so that replicas starting together on an
    /// empty table (or rotating together) end up with one new key, not one each. The lock is
    /// PostgreSQL's `pg_advisory_xact_lock`, MySQL's `GET_LOCK`, or SQLite's write lock (taken
    /// by the transaction's first statement). Returns whether anything was written.
    pub async fn change_jwks_exclusively<F>(&self, decide: F) -> StoreResult<bool>
    where
        F: FnOnce(&[JwkRow]) -> Option<JwksChange>,
    {
        let txn = self.begin().await?;
        let mysql = self.backend == DatabaseBackend::MySql;
        let lock = match self.backend {
            DatabaseBackend::Postgres => {
                format!("SELECT pg_advisory_xact_lock({PG_LOCK_KEY})")
            }
            DatabaseBackend::MySql => {
                format!("SELECT GET_LOCK('{MYSQL_LOCK}', {LOCK_WAIT_SECS}) AS got")
            }
            // A write as the first statement makes this the only writing transaction, waiting
            // (busy_timeout) for any other to end; reading first could not upgrade safely.
            DatabaseBackend::Sqlite => "UPDATE jwks SET id = id WHERE 1 = 0".to_owned(),
        };
        let got = txn
            .query_one(Statement::from_string(self.backend, lock))
            .await?;
        if mysql && got.and_then(|r| r.try_get::<i64>("", "got").ok()) != Some(1) {
            return Err(DbErr::Custom("timed out waiting for the jwks lock".into()).into());
        }
        let outcome = async {
            // MySQL: a locking read sees rows committed by the previous lock holder.
            let mut q = select_all();
            if mysql {
                q.lock_exclusive();
            }
            let rows = txn.query_all(self.stmt(&q)).await?;
            let rows = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
            let Some(change) = decide(&rows) else {
                return Ok::<_, StoreError>(false);
            };
            if let (false, Some(at)) = (change.expire.is_empty(), change.expire_at) {
                let q = Query::update()
                    .table(Entity)
                    .value(Column::ExpiresAt, self.ts(at))
                    .and_where(Expr::col(Column::Id).is_in(change.expire.iter().cloned()))
                    .to_owned();
                exec(&txn, self.stmt(&q)).await?;
            }
            if let Some(row) = &change.insert {
                self.insert_jwk(&txn, row).await?;
            }
            Ok(true)
        }
        .await;
        if mysql {
            // The user lock belongs to the pooled connection, not to the transaction: release it
            // on every path. Rows written above stay row-locked until the commit below, so the
            // next holder's locking read waits for them.
            txn.execute(Statement::from_string(
                self.backend,
                format!("DO RELEASE_LOCK('{MYSQL_LOCK}')"),
            ))
            .await?;
        }
        let written = outcome?;
        txn.commit().await?;
        Ok(written)
    }

    /// Replaces a key's sealed private key (re-sealing with the current secret).
    pub async fn update_jwk_private_key(&self, id: &str, private_key: &str) -> StoreResult<()> {
        let q = Query::update()
            .table(Entity)
            .value(Column::PrivateKey, private_key)
            .and_where(Expr::col(Column::Id).eq(id))
            .to_owned();
        exec(&self.db, self.stmt(&q)).await.map(|_| ())
    }

    pub async fn insert_jwk<C: ConnectionTrait>(&self, c: &C, k: &JwkRow) -> StoreResult<()> {
        let q = Query::insert()
            .into_table(Entity)
            .columns(COLUMNS)
            .values_panic([
                k.id.clone().into(),
                k.public_key.clone().into(),
                k.private_key.clone().into(),
                self.ts(k.created_at).into(),
                self.opt_ts(k.expires_at).into(),
                k.alg.clone().into(),
                k.crv.clone().into(),
            ])
            .to_owned();
        exec(c, self.stmt(&q)).await.map(|_| ())
    }
}
