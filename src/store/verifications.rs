//! The `verification` table: single-use values by identifier (tokens-and-emails.md §3).

use chrono::{DateTime, Utc};
use entity::verification::{Column, Entity};
use sea_orm::sea_query::{Expr, Order, Query};
use sea_orm::{ConnectionTrait, DbErr, QueryResult};

use super::{exec, get_str, get_ts, Store, StoreResult};
use crate::auth::crypto::generate_id;

#[derive(Clone, PartialEq)]
pub struct Verification {
    pub id: String,
    pub identifier: String,
    pub value: String,
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

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
    /// Stores a value under `identifier` until `expires_at`.
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
        let q = Query::insert()
            .into_table(Entity)
            .columns(COLUMNS)
            .values_panic([
                v.id.clone().into(),
                v.identifier.clone().into(),
                v.value.clone().into(),
                self.ts(expires_at).into(),
                self.ts(now).into(),
                self.ts(now).into(),
            ])
            .to_owned();
        exec(&self.db, self.stmt(&q)).await?;
        Ok(v)
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

    /// The newest row for `identifier`, expired or not; every expired row of the table is
    /// deleted on the way, as Better Auth's lookup does.
    pub async fn find_verification(
        &self,
        identifier: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<Verification>> {
        let found = self.newest_verification(&self.db, identifier).await?;
        let q = Query::delete()
            .from_table(Entity)
            .and_where(Expr::col(Column::ExpiresAt).lt(self.ts(now)))
            .to_owned();
        exec(&self.db, self.stmt(&q)).await?;
        Ok(found)
    }

    /// Takes the newest row for `identifier` and deletes every row of it. Of concurrent
    /// consumers exactly one gets the row: the one whose delete removed it. An expired row is
    /// burnt all the same but not returned.
    pub async fn consume_verification(
        &self,
        identifier: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<Verification>> {
        // No transaction: the single-statement delete by id decides the winner on every backend
        // (a deferred SQLite transaction would fail its upgrade to a writer instead of waiting).
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
        Ok((latest.expires_at > now).then_some(latest))
    }
}
