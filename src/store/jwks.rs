//! The `jwks` table of the JWT plugin (`spec/schema.md` §6, `spec/jwt-jwks.md` §5).

use chrono::{DateTime, Utc};
use entity::jwks::{Column, Entity};
use sea_orm::sea_query::{Order, Query};
use sea_orm::{ConnectionTrait, DbErr, QueryResult};

use super::{exec, get_opt_str, get_opt_ts, get_str, get_ts, Store, StoreResult};

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

impl Store {
    /// Every stored key, oldest first.
    pub async fn list_jwks(&self) -> StoreResult<Vec<JwkRow>> {
        let q = Query::select()
            .columns(COLUMNS)
            .from(Entity)
            .order_by(Column::CreatedAt, Order::Asc)
            .to_owned();
        let rows = self.db.query_all(self.stmt(&q)).await?;
        Ok(rows.iter().map(from_row).collect::<Result<_, _>>()?)
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
