//! Reading users page by page, for the operator commands (`better-auth-rs user list`,
//! `sessions revoke --all`; docs/operations.md §5).

use sea_orm::sea_query::{Alias, Expr, Func, Order, Query};
use sea_orm::ConnectionTrait;

use super::{users::table, Store, StoreResult, User};

impl Store {
    /// Users oldest first (then by id), `limit` of them after skipping `offset`.
    pub async fn list_users(&self, limit: u64, offset: u64) -> StoreResult<Vec<User>> {
        let q = self
            .user_select()
            .order_by((table(), Alias::new("createdAt")), Order::Asc)
            .order_by((table(), Alias::new("id")), Order::Asc)
            .limit(limit)
            .offset(offset)
            .to_owned();
        let rows = self.db.query_all(self.stmt(&q)).await?;
        Ok(rows
            .iter()
            .map(|r| self.user_from_row(r))
            .collect::<Result<_, _>>()?)
    }

    /// How many users there are.
    pub async fn count_users(&self) -> StoreResult<u64> {
        let q = Query::select()
            .expr_as(Func::count(Expr::col(Alias::new("id"))), Alias::new("n"))
            .from(table())
            .to_owned();
        let row = self.db.query_one(self.stmt(&q)).await?;
        let n = row
            .map(|r| {
                r.try_get::<i64>("", "n")
                    .or_else(|_| r.try_get::<i32>("", "n").map(i64::from))
            })
            .transpose()?
            .unwrap_or(0);
        Ok(u64::try_from(n).unwrap_or(0))
    }
}
