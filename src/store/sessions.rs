//! The `session` table.

use chrono::{DateTime, Utc};
use entity::session::{Column, Entity};
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{ConnectionTrait, DbErr, QueryResult};

use super::{exec, get_opt_str, get_str, get_ts, Store, StoreResult, User};

#[derive(Clone, PartialEq)]
pub struct Session {
    pub id: String,
    pub token: String,
    pub user_id: String,
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
}

/// The token is the credential: keep it out of logs.
impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("id", &self.id)
            .field("user_id", &self.user_id)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

const COLUMNS: [Column; 8] = [
    Column::Id,
    Column::Token,
    Column::UserId,
    Column::ExpiresAt,
    Column::CreatedAt,
    Column::UpdatedAt,
    Column::IpAddress,
    Column::UserAgent,
];

fn from_row(row: &QueryResult) -> Result<Session, DbErr> {
    Ok(Session {
        id: get_str(row, "id")?,
        token: get_str(row, "token")?,
        user_id: get_str(row, "userId")?,
        expires_at: get_ts(row, "expiresAt")?,
        created_at: get_ts(row, "createdAt")?,
        updated_at: get_ts(row, "updatedAt")?,
        ip_address: get_opt_str(row, "ipAddress")?,
        user_agent: get_opt_str(row, "userAgent")?,
    })
}

impl Store {
    pub async fn insert_session<C: ConnectionTrait>(&self, c: &C, s: &Session) -> StoreResult<()> {
        let q = Query::insert()
            .into_table(Entity)
            .columns(COLUMNS)
            .values_panic([
                s.id.clone().into(),
                s.token.clone().into(),
                s.user_id.clone().into(),
                self.ts(s.expires_at).into(),
                self.ts(s.created_at).into(),
                self.ts(s.updated_at).into(),
                s.ip_address.clone().into(),
                s.user_agent.clone().into(),
            ])
            .to_owned();
        exec(c, self.stmt(&q)).await.map(|_| ())
    }

    pub async fn find_session(&self, token: &str) -> StoreResult<Option<Session>> {
        let q = Query::select()
            .columns(COLUMNS)
            .from(Entity)
            .and_where(Expr::col(Column::Token).eq(token))
            .to_owned();
        match self.db.query_one(self.stmt(&q)).await? {
            Some(row) => Ok(Some(from_row(&row)?)),
            None => Ok(None),
        }
    }

    /// The session with its user, or `None` when either is gone.
    pub async fn find_session_with_user(
        &self,
        token: &str,
    ) -> StoreResult<Option<(Session, User)>> {
        let Some(session) = self.find_session(token).await? else {
            return Ok(None);
        };
        Ok(self
            .find_user_by_id(&session.user_id)
            .await?
            .map(|u| (session, u)))
    }

    pub async fn list_sessions(&self, user_id: &str) -> StoreResult<Vec<Session>> {
        let q = Query::select()
            .columns(COLUMNS)
            .from(Entity)
            .and_where(Expr::col(Column::UserId).eq(user_id))
            .to_owned();
        let rows = self.db.query_all(self.stmt(&q)).await?;
        Ok(rows.iter().map(from_row).collect::<Result<_, _>>()?)
    }

    /// Extends a session; 0 rows means it was deleted meanwhile.
    pub async fn refresh_session(
        &self,
        token: &str,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<u64> {
        let q = Query::update()
            .table(Entity)
            .value(Column::ExpiresAt, self.ts(expires_at))
            .value(Column::UpdatedAt, self.ts(now))
            .and_where(Expr::col(Column::Token).eq(token))
            .to_owned();
        exec(&self.db, self.stmt(&q)).await
    }

    /// Every session of the user, including the caller's (revoke-sessions, change-password).
    pub async fn delete_user_sessions<C: ConnectionTrait>(
        &self,
        c: &C,
        user_id: &str,
    ) -> StoreResult<u64> {
        let q = Query::delete()
            .from_table(Entity)
            .and_where(Expr::col(Column::UserId).eq(user_id))
            .to_owned();
        exec(c, self.stmt(&q)).await
    }

    /// The user's sessions with these tokens; a token of another user is left alone.
    pub async fn delete_user_sessions_by_token(
        &self,
        user_id: &str,
        tokens: &[String],
    ) -> StoreResult<u64> {
        if tokens.is_empty() {
            return Ok(0);
        }
        let q = Query::delete()
            .from_table(Entity)
            .and_where(Expr::col(Column::UserId).eq(user_id))
            .and_where(Expr::col(Column::Token).is_in(tokens.iter().cloned()))
            .to_owned();
        exec(&self.db, self.stmt(&q)).await
    }

    pub async fn delete_session(&self, token: &str) -> StoreResult<u64> {
        let q = Query::delete()
            .from_table(Entity)
            .and_where(Expr::col(Column::Token).eq(token))
            .to_owned();
        exec(&self.db, self.stmt(&q)).await
    }
}
