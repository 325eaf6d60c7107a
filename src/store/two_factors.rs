//! The two-factor plugin's `twoFactor` table (Better Auth's `plugins/two-factor/schema.ts`):
//! one row per enrolled user, the TOTP secret and the backup codes as Better Auth writes them
//! (encrypted by the caller), and the account lockout counters.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Alias, Expr, Query};
use sea_orm::{ConnectionTrait, DbErr, QueryResult};

use super::{exec, get_opt_ts, get_str, Store, StoreResult};
use crate::auth::crypto::generate_id;

/// One `twoFactor` row. `secret` and `backup_codes` are the columns as stored.
#[derive(Clone, PartialEq)]
pub struct TwoFactorRow {
    pub id: String,
    pub user_id: String,
    pub secret: String,
    pub backup_codes: String,
    /// `None` in rows written before the column existed (Better Auth reads them as verified).
    pub verified: Option<bool>,
    pub failed_verification_count: i64,
    pub locked_until: Option<DateTime<Utc>>,
}

/// The secret and the codes are credentials, even encrypted: never printed.
impl std::fmt::Debug for TwoFactorRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TwoFactorRow")
            .field("id", &self.id)
            .field("user_id", &self.user_id)
            .field("verified", &self.verified)
            .finish_non_exhaustive()
    }
}

fn table() -> Alias {
    Alias::new("twoFactor")
}

fn col(name: &str) -> Alias {
    Alias::new(name)
}

const COLUMNS: [&str; 7] = [
    "id",
    "secret",
    "backupCodes",
    "userId",
    "verified",
    "failedVerificationCount",
    "lockedUntil",
];

fn opt_bool(row: &QueryResult, c: &str) -> Option<bool> {
    row.try_get::<Option<bool>>("", c)
        .ok()
        .flatten()
        .or_else(|| {
            row.try_get::<Option<i64>>("", c)
                .ok()
                .flatten()
                .map(|v| v != 0)
        })
}

fn opt_int(row: &QueryResult, c: &str) -> i64 {
    row.try_get::<Option<i64>>("", c)
        .ok()
        .flatten()
        .or_else(|| {
            row.try_get::<Option<i32>>("", c)
                .ok()
                .flatten()
                .map(i64::from)
        })
        .unwrap_or(0)
}

fn from_row(row: &QueryResult) -> Result<TwoFactorRow, DbErr> {
    Ok(TwoFactorRow {
        id: get_str(row, "id")?,
        user_id: get_str(row, "userId")?,
        secret: get_str(row, "secret")?,
        backup_codes: get_str(row, "backupCodes")?,
        verified: opt_bool(row, "verified"),
        failed_verification_count: opt_int(row, "failedVerificationCount"),
        locked_until: get_opt_ts(row, "lockedUntil")?,
    })
}

impl Store {
    /// The user's row (Better Auth's `findOne` by `userId`: the first one).
    pub async fn find_two_factor(&self, user_id: &str) -> StoreResult<Option<TwoFactorRow>> {
        let mut q = Query::select();
        for c in COLUMNS {
            q.column(col(c));
        }
        q.from(table())
            .and_where(Expr::col(col("userId")).eq(user_id))
            .limit(1);
        match self.db.query_one(self.stmt(&q)).await? {
            Some(row) => Ok(Some(from_row(&row)?)),
            None => Ok(None),
        }
    }

    /// Enrolment: a new row for the user, or new secret and codes in their existing
    /// (unverified) one.
    pub async fn save_two_factor(
        &self,
        existing: Option<&str>,
        user_id: &str,
        secret: &str,
        backup_codes: &str,
        verified: bool,
    ) -> StoreResult<()> {
        let stmt = match existing {
            Some(id) => self.stmt(
                Query::update()
                    .table(table())
                    .value(col("secret"), secret)
                    .value(col("backupCodes"), backup_codes)
                    .value(col("verified"), verified)
                    .and_where(Expr::col(col("id")).eq(id)),
            ),
            None => self.stmt(
                Query::insert()
                    .into_table(table())
                    .columns(["id", "secret", "backupCodes", "userId", "verified"].map(col))
                    .values_panic([
                        generate_id().into(),
                        secret.into(),
                        backup_codes.into(),
                        user_id.into(),
                        verified.into(),
                    ]),
            ),
        };
        exec(&self.db, stmt).await?;
        Ok(())
    }

    pub async fn set_two_factor_verified(&self, id: &str) -> StoreResult<()> {
        let q = Query::update()
            .table(table())
            .value(col("verified"), true)
            .and_where(Expr::col(col("id")).eq(id))
            .to_owned();
        exec(&self.db, self.stmt(&q)).await?;
        Ok(())
    }

    /// New backup codes; with `expected`, only if the column still holds it (a backup code is
    /// spent once even by concurrent requests). Whether the row was changed.
    pub async fn set_backup_codes(
        &self,
        id: &str,
        expected: Option<&str>,
        codes: &str,
    ) -> StoreResult<bool> {
        let mut q = Query::update();
        q.table(table())
            .value(col("backupCodes"), codes)
            .and_where(Expr::col(col("id")).eq(id));
        if let Some(old) = expected {
            q.and_where(Expr::col(col("backupCodes")).eq(old));
        }
        Ok(exec(&self.db, self.stmt(&q)).await? > 0)
    }

    pub async fn delete_two_factor(&self, user_id: &str) -> StoreResult<()> {
        let q = Query::delete()
            .from_table(table())
            .and_where(Expr::col(col("userId")).eq(user_id))
            .to_owned();
        exec(&self.db, self.stmt(&q)).await?;
        Ok(())
    }

    /// One more failed verification, counted atomically; past `max` the account is locked
    /// until `lock_until` (Better Auth's `recordTwoFactorFailure`).
    pub async fn record_two_factor_failure(
        &self,
        id: &str,
        max: i64,
        lock_until: DateTime<Utc>,
    ) -> StoreResult<()> {
        let count = Expr::col(col("failedVerificationCount"));
        let inc = Query::update()
            .table(table())
            .value(
                col("failedVerificationCount"),
                Expr::expr(sea_orm::sea_query::Func::coalesce([
                    count.clone().into(),
                    Expr::val(0).into(),
                ]))
                .add(1),
            )
            .and_where(Expr::col(col("id")).eq(id))
            .to_owned();
        exec(&self.db, self.stmt(&inc)).await?;
        let lock = Query::update()
            .table(table())
            .value(col("lockedUntil"), self.ts(lock_until))
            .and_where(Expr::col(col("id")).eq(id))
            .and_where(count.gte(max))
            .to_owned();
        exec(&self.db, self.stmt(&lock)).await?;
        Ok(())
    }

    /// Failures forgotten and the lock lifted; with `expired_by`, only a lock that ended by then
    /// (Better Auth's `resetTwoFactorFailures`, `assertTwoFactorNotLocked`).
    pub async fn clear_two_factor_failures(
        &self,
        id: &str,
        expired_by: Option<DateTime<Utc>>,
    ) -> StoreResult<()> {
        let mut q = Query::update();
        q.table(table())
            .value(col("failedVerificationCount"), 0)
            .value(col("lockedUntil"), self.opt_ts(None))
            .and_where(Expr::col(col("id")).eq(id));
        if let Some(now) = expired_by {
            q.and_where(Expr::col(col("lockedUntil")).lte(self.ts(now)));
        }
        exec(&self.db, self.stmt(&q)).await?;
        Ok(())
    }
}
