//! The `session` table, and Redis in front of it when configured (docs/compatibility.md §8.7): each
//! function does what Better Auth's internal adapter does with `secondaryStorage`.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use entity::session::{Column, Entity};
use sea_orm::sea_query::{Alias, Expr, Query, SimpleExpr};
use sea_orm::{ConnectionTrait, DbErr, QueryResult, Statement};

use serde_json::{Map, Value};

use super::users::{read_field, write_field};
use super::{exec, get_opt_str, get_str, get_ts, users, Store, StoreResult, User};

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
    /// The columns plugins add (`Store::session_fields`) by name; a missing value is `null`.
    pub extra: Map<String, Value>,
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

/// The result names of `COLUMNS`, as selected alone and as selected beside the user's
/// columns (which share `id`, `createdAt` and `updatedAt`).
pub(super) const NAMES: [&str; 8] = [
    "id",
    "token",
    "userId",
    "expiresAt",
    "createdAt",
    "updatedAt",
    "ipAddress",
    "userAgent",
];
/// The result column of the session's token beside the user's columns.
pub(super) const JOINED_TOKEN: &str = "s_token";

const JOINED_NAMES: [&str; 8] = [
    "s_id",
    "s_token",
    "s_userId",
    "s_expiresAt",
    "s_createdAt",
    "s_updatedAt",
    "s_ipAddress",
    "s_userAgent",
];

/// The result name of a plugin's session column beside the user's columns.
fn joined_name(field: &str) -> String {
    format!("s_{field}")
}

fn from_named_row(row: &QueryResult, n: &[&str; 8]) -> Result<Session, DbErr> {
    Ok(Session {
        id: get_str(row, n[0])?,
        token: get_str(row, n[1])?,
        user_id: get_str(row, n[2])?,
        expires_at: get_ts(row, n[3])?,
        created_at: get_ts(row, n[4])?,
        updated_at: get_ts(row, n[5])?,
        ip_address: get_opt_str(row, n[6])?,
        user_agent: get_opt_str(row, n[7])?,
        extra: Map::new(),
    })
}

impl Store {
    /// A session from a row of `COLUMNS` and the plugins' columns, named as selected alone or
    /// (`joined`) beside the user's columns.
    fn session_from_row(&self, row: &QueryResult, joined: bool) -> Result<Session, DbErr> {
        let mut session = from_named_row(row, if joined { &JOINED_NAMES } else { &NAMES })?;
        for (name, def) in self.session_fields.iter() {
            let value = if joined {
                read_field(self.backend, row, &joined_name(name), def.field_type)?
            } else {
                read_field(self.backend, row, name, def.field_type)?
            };
            session.extra.insert(name.clone(), value);
        }
        Ok(session)
    }

    /// `SELECT` of a session's columns, the plugins' included.
    fn session_select(&self) -> sea_orm::sea_query::SelectStatement {
        let mut q = Query::select();
        q.columns(COLUMNS).from(Entity);
        for name in self.session_fields.keys() {
            q.column(Alias::new(name));
        }
        q
    }

    /// Sets plugin columns of the session with `token` (`activeOrganizationId`, ...), in the
    /// table and in Redis; 0 when the session is gone.
    pub async fn update_session_extra(
        &self,
        token: &str,
        values: &Map<String, Value>,
        now: DateTime<Utc>,
    ) -> StoreResult<u64> {
        let mut n = 0;
        if let Some(r) = &self.secondary {
            n = u64::from(r.update_extra(token, values, now).await?);
        }
        if self.session_table() {
            let mut q = Query::update();
            q.table(Entity)
                .value(Column::UpdatedAt, self.ts(now))
                .and_where(Expr::col(Column::Token).eq(token));
            for (name, value) in values {
                if let Some(def) = self.session_fields.get(name) {
                    q.value(
                        Alias::new(name),
                        write_field(self.backend, def.field_type, value),
                    );
                }
            }
            n = exec(&self.db, self.stmt(&q)).await?;
        }
        Ok(n)
    }

    pub async fn insert_session<C: ConnectionTrait>(&self, c: &C, s: &Session) -> StoreResult<()> {
        if self.session_table() {
            self.insert_session_rows(c, std::slice::from_ref(s)).await?;
        }
        self.cache_new_session(s).await
    }

    /// [`Self::insert_session`] outside a transaction: sessions created together (sign-ins at
    /// the same moment) go in one INSERT, one commit ([`super::group`]), grouped by the plugin
    /// columns they set.
    pub async fn store_session(&self, s: &Session) -> StoreResult<()> {
        if self.session_table() {
            let shared = self
                .session_inserts
                .join_with(
                    self.clone(),
                    self.session_columns(s),
                    vec![s.clone()],
                    super::group::append,
                    |store, _, rows| async move {
                        store.insert_session_rows(&store.db, &rows).await.ok()
                    },
                )
                .await;
            if shared.is_none() {
                self.insert_session_rows(&self.db, std::slice::from_ref(s))
                    .await?;
            }
        }
        self.cache_new_session(s).await
    }

    async fn cache_new_session(&self, s: &Session) -> StoreResult<()> {
        if let Some(r) = &self.secondary {
            let user = self.find_user_by_id(&s.user_id).await?;
            r.create(s, user.as_ref(), &self.user_fields).await?;
        }
        Ok(())
    }

    /// The plugin columns `s` sets (those with a value): its row's columns beyond `NAMES`.
    fn session_columns(&self, s: &Session) -> Vec<String> {
        s.extra
            .iter()
            .filter(|(name, value)| !value.is_null() && self.session_fields.contains_key(*name))
            .map(|(name, _)| name.clone())
            .collect()
    }

    /// The rows in one INSERT per `MAX_ROWS`; every row sets the same plugin columns
    /// (`session_columns`).
    async fn insert_session_rows<C: ConnectionTrait>(
        &self,
        c: &C,
        rows: &[Session],
    ) -> StoreResult<()> {
        let Some(first) = rows.first() else {
            return Ok(());
        };
        let extra = self.session_columns(first);
        let mut cols: Vec<Alias> = NAMES.iter().map(|n| Alias::new(*n)).collect();
        cols.extend(extra.iter().map(Alias::new));
        for chunk in rows.chunks(super::group::MAX_ROWS) {
            self.insert_session_chunk(c, &cols, &extra, chunk).await?;
        }
        Ok(())
    }

    async fn insert_session_chunk<C: ConnectionTrait>(
        &self,
        c: &C,
        cols: &[Alias],
        extra: &[String],
        rows: &[Session],
    ) -> StoreResult<()> {
        let mut q = Query::insert();
        q.into_table(Entity).columns(cols.iter().cloned());
        for s in rows {
            let mut vals: Vec<SimpleExpr> = vec![
                s.id.clone().into(),
                s.token.clone().into(),
                s.user_id.clone().into(),
                self.ts(s.expires_at).into(),
                self.ts(s.created_at).into(),
                self.ts(s.updated_at).into(),
                s.ip_address.clone().into(),
                s.user_agent.clone().into(),
            ];
            for name in extra {
                let value = s.extra.get(name).cloned().unwrap_or(Value::Null);
                let def = &self.session_fields[name];
                vals.push(write_field(self.backend, def.field_type, &value).into());
            }
            q.values_panic(vals);
        }
        exec(c, self.stmt(&q)).await.map(|_| ())
    }

    pub async fn find_session(&self, token: &str) -> StoreResult<Option<Session>> {
        let q = self
            .session_select()
            .and_where(Expr::col(Column::Token).eq(token))
            .to_owned();
        match self.db.query_one(self.stmt(&q)).await? {
            Some(row) => Ok(Some(self.session_from_row(&row, false)?)),
            None => Ok(None),
        }
    }

    /// The session with its user, or `None` when either is gone.
    pub async fn find_session_with_user(
        &self,
        token: &str,
    ) -> StoreResult<Option<(Session, User)>> {
        if let Some(r) = &self.secondary {
            if let Some(found) = r.find(token, &self.user_fields).await? {
                return Ok(found);
            }
            if !r.storage.database_fallback() {
                return Ok(None);
            }
        }
        // One round trip: the session row joined with its user's row. The SQL is the same for
        // every lookup (only the token is bound), so it is built once.
        let row = match &self.lookups {
            Some(lookups) => lookups.fetch_optional(token).await?,
            None => {
                let sql = self
                    .session_lookup_sql
                    .get_or_init(|| self.session_lookup_sql(1));
                let stmt =
                    Statement::from_sql_and_values(self.backend, sql.clone(), [token.into()]);
                self.db.query_one(stmt).await?.map(Arc::new)
            }
        };
        match row {
            Some(row) => Ok(Some((
                self.session_from_row(&row, true)?,
                self.user_from_row(&row)?,
            ))),
            None => Ok(None),
        }
    }

    /// The session rows joined with their users' rows for `tokens` tokens (`IN` with that many
    /// parameters); the session's token comes back as `s_token`.
    pub(super) fn session_lookup_sql(&self, tokens: usize) -> String {
        let mut q = self.user_select();
        for (col, name) in COLUMNS.into_iter().zip(JOINED_NAMES) {
            q.expr_as(Expr::col((Entity, col)), Alias::new(name));
        }
        for name in self.session_fields.keys() {
            q.expr_as(
                Expr::col((Entity, Alias::new(name))),
                Alias::new(joined_name(name)),
            );
        }
        q.inner_join(
            Entity,
            Expr::col((Entity, Column::UserId)).equals((users::table(), Alias::new("id"))),
        );
        if tokens == 1 {
            q.and_where(Expr::col((Entity, Column::Token)).eq(""));
        } else {
            q.and_where(Expr::col((Entity, Column::Token)).is_in(vec![""; tokens]));
        }
        self.stmt(&q).sql
    }

    pub async fn list_sessions(&self, user_id: &str) -> StoreResult<Vec<Session>> {
        if let Some(r) = self
            .secondary
            .as_ref()
            .filter(|r| !r.storage.database_fallback())
        {
            return r.list(user_id).await;
        }
        let q = self
            .session_select()
            .and_where(Expr::col(Column::UserId).eq(user_id))
            .to_owned();
        let rows = self.db.query_all(self.stmt(&q)).await?;
        Ok(rows
            .iter()
            .map(|r| self.session_from_row(r, false))
            .collect::<Result<_, _>>()?)
    }

    /// Extends a session; 0 rows means it was deleted meanwhile.
    pub async fn refresh_session(
        &self,
        token: &str,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<u64> {
        let mut n = 0;
        if let Some(r) = &self.secondary {
            n = u64::from(r.refresh(token, expires_at, now).await?);
        }
        if self.session_table() {
            let q = Query::update()
                .table(Entity)
                .value(Column::ExpiresAt, self.ts(expires_at))
                .value(Column::UpdatedAt, self.ts(now))
                .and_where(Expr::col(Column::Token).eq(token))
                .to_owned();
            n = exec(&self.db, self.stmt(&q)).await?;
        }
        Ok(n)
    }

    /// With `preserveSessionInDatabase`: the live rows matched by `cond` end now instead of
    /// being deleted (Better Auth's `endPreservedSessions`).
    async fn end_session_rows<C: ConnectionTrait>(
        &self,
        c: &C,
        cond: SimpleExpr,
        now: DateTime<Utc>,
    ) -> StoreResult<u64> {
        let q = Query::update()
            .table(Entity)
            .value(Column::ExpiresAt, self.ts(now))
            .and_where(cond)
            .and_where(Expr::col(Column::ExpiresAt).gt(self.ts(now)))
            .to_owned();
        exec(c, self.stmt(&q)).await
    }

    /// Deletes the rows matched by `cond`, or ends them when they are preserved.
    async fn remove_session_rows<C: ConnectionTrait>(
        &self,
        c: &C,
        cond: SimpleExpr,
    ) -> StoreResult<u64> {
        if let Some(r) = self.secondary.as_ref().filter(|r| r.storage.preserve) {
            return self.end_session_rows(c, cond, r.now()).await;
        }
        let q = Query::delete()
            .from_table(Entity)
            .and_where(cond)
            .to_owned();
        exec(c, self.stmt(&q)).await
    }

    /// Every session of the user, including the caller's (revoke-sessions, change-password).
    pub async fn delete_user_sessions<C: ConnectionTrait>(
        &self,
        c: &C,
        user_id: &str,
    ) -> StoreResult<u64> {
        self.revoke_user_sessions(c, user_id, None).await
    }

    /// As `delete_user_sessions`; in Redis, entries created before `revoked_at` (default now)
    /// are revoked, so a session created for the caller at that instant survives.
    pub(crate) async fn revoke_user_sessions<C: ConnectionTrait>(
        &self,
        c: &C,
        user_id: &str,
        revoked_at: Option<DateTime<Utc>>,
    ) -> StoreResult<u64> {
        let mut n = 0;
        if self.session_table() {
            n = self
                .remove_session_rows(c, Expr::col(Column::UserId).eq(user_id))
                .await?;
        }
        if let Some(r) = &self.secondary {
            n = n.max(r.revoke_user(user_id, revoked_at).await?);
        }
        Ok(n)
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
        let mut n = 0;
        if let Some(r) = &self.secondary {
            for token in tokens {
                n += u64::from(r.remove(token, Some(user_id)).await?);
            }
        }
        if self.session_table() {
            let cond = Expr::col(Column::UserId)
                .eq(user_id)
                .and(Expr::col(Column::Token).is_in(tokens.iter().cloned()));
            n = n.max(self.remove_session_rows(&self.db, cond).await?);
        }
        Ok(n)
    }

    pub async fn delete_session(&self, token: &str) -> StoreResult<u64> {
        let mut n = 0;
        if let Some(r) = &self.secondary {
            n = u64::from(r.remove(token, None).await?);
        }
        if self.session_table() {
            let cond = Expr::col(Column::Token).eq(token);
            n = n.max(self.remove_session_rows(&self.db, cond).await?);
        }
        Ok(n)
    }
}
