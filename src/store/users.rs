//! The `user` table, including its configured custom columns.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Alias, Expr, IntoColumnRef, Query, SelectStatement, SimpleExpr, Value};
use sea_orm::{ConnectionTrait, DatabaseBackend, DbErr, QueryResult};
use serde_json::{Map, Number};

use super::{exec, get_bool, get_opt_str, get_opt_ts, get_str, get_ts, Store, StoreResult};
use crate::auth::crypto::iso;
use crate::auth::fields::FieldType;

#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub id: String,
    pub name: String,
    pub email: String,
    pub email_verified: bool,
    pub image: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Custom fields by name; a missing value is JSON `null`.
    pub extra: Map<String, serde_json::Value>,
}

pub(super) fn table() -> Alias {
    Alias::new("user")
}

impl Store {
    fn user_columns(&self) -> Vec<Alias> {
        crate::auth::fields::CORE_USER_FIELDS
            .iter()
            .map(|c| Alias::new(*c))
            .chain(self.user_fields.keys().map(Alias::new))
            .collect()
    }

    /// `SELECT <user columns> FROM "user"`, columns qualified so that joins can add theirs.
    pub(super) fn user_select(&self) -> SelectStatement {
        let mut q = Query::select();
        for c in self.user_columns() {
            q.column((table(), c));
        }
        q.from(table());
        q
    }

    /// The user's columns beside `columns` of `table` (named `{prefix}{column}`), joined on
    /// `table.{owner} = user.id`: a row and its owner in one read.
    pub(super) fn user_with(
        &self,
        table_name: &str,
        columns: &[&str],
        prefix: &str,
        owner: &str,
    ) -> SelectStatement {
        let other = Alias::new(table_name);
        let mut q = self.user_select();
        for c in columns {
            q.expr_as(
                Expr::col((other.clone(), Alias::new(*c))),
                Alias::new(format!("{prefix}{c}")),
            );
        }
        q.inner_join(
            other.clone(),
            Expr::col((other, Alias::new(owner))).equals((table(), Alias::new("id"))),
        );
        q
    }

    /// The rows `select` (a [`Self::user_with`]) finds whose `key` column is one of `keys`,
    /// each with its owner, by key (`parse` reads a row and says its key): one query per
    /// `MAX_ROWS` keys, a key asked twice read once. A grouped lookup's read.
    pub(super) async fn rows_with_owners<T>(
        &self,
        select: SelectStatement,
        key: impl IntoColumnRef + Clone,
        mut keys: Vec<String>,
        parse: impl Fn(&QueryResult) -> Result<(String, T), DbErr>,
    ) -> StoreResult<HashMap<String, (T, User)>> {
        keys.sort_unstable();
        keys.dedup();
        let mut found = HashMap::with_capacity(keys.len());
        for chunk in keys.chunks(super::group::MAX_ROWS) {
            let q = select
                .clone()
                .and_where(Expr::col(key.clone()).is_in(chunk.iter().cloned()))
                .to_owned();
            for row in self.db.query_all(self.stmt(&q)).await? {
                let (k, value) = parse(&row)?;
                found.insert(k, (value, self.user_from_row(&row)?));
            }
        }
        Ok(found)
    }

    pub(super) fn user_from_row(&self, row: &QueryResult) -> Result<User, DbErr> {
        let mut extra = Map::new();
        for (name, def) in self.user_fields.iter() {
            extra.insert(
                name.clone(),
                read_field(self.backend, row, name, def.field_type)?,
            );
        }
        Ok(User {
            id: get_str(row, "id")?,
            name: get_str(row, "name")?,
            email: get_str(row, "email")?,
            email_verified: get_bool(row, "emailVerified")?,
            image: get_opt_str(row, "image")?,
            created_at: get_ts(row, "createdAt")?,
            updated_at: get_ts(row, "updatedAt")?,
            extra,
        })
    }

    async fn find_user_where<C: ConnectionTrait>(
        &self,
        c: &C,
        cond: SimpleExpr,
    ) -> StoreResult<Option<User>> {
        let q = self.user_select().and_where(cond).to_owned();
        match c.query_one(self.stmt(&q)).await? {
            Some(row) => Ok(Some(self.user_from_row(&row)?)),
            None => Ok(None),
        }
    }

    /// By the stored (lower-cased) email.
    pub async fn find_user_by_email(&self, email: &str) -> StoreResult<Option<User>> {
        self.find_user_where(&self.db, Expr::col(Alias::new("email")).eq(email))
            .await
    }

    /// By a custom column holding a unique value (the username plugin's `username`).
    pub async fn find_user_by_column(
        &self,
        column: &str,
        value: &str,
    ) -> StoreResult<Option<User>> {
        self.find_user_where(&self.db, Expr::col(Alias::new(column)).eq(value))
            .await
    }

    pub async fn find_user_by_id(&self, id: &str) -> StoreResult<Option<User>> {
        self.find_user_where(&self.db, Expr::col(Alias::new("id")).eq(id))
            .await
    }

    /// Inserts a user; a taken email is `StoreError::Conflict`.
    pub async fn insert_user<C: ConnectionTrait>(&self, c: &C, user: &User) -> StoreResult<()> {
        let mut cols = vec![
            Alias::new("id"),
            Alias::new("name"),
            Alias::new("email"),
            Alias::new("emailVerified"),
            Alias::new("image"),
            Alias::new("createdAt"),
            Alias::new("updatedAt"),
        ];
        let mut vals: Vec<SimpleExpr> = vec![
            user.id.clone().into(),
            user.name.clone().into(),
            user.email.clone().into(),
            user.email_verified.into(),
            user.image.clone().into(),
            self.ts(user.created_at).into(),
            self.ts(user.updated_at).into(),
        ];
        for (name, value) in &user.extra {
            let Some(def) = self.user_fields.get(name) else {
                continue;
            };
            if value.is_null() {
                continue;
            }
            cols.push(Alias::new(name));
            vals.push(write_field(self.backend, def.field_type, value).into());
        }
        let q = Query::insert()
            .into_table(table())
            .columns(cols)
            .values_panic(vals)
            .to_owned();
        exec(c, self.stmt(&q)).await.map(|_| ())
    }
}

/// A custom value as stored: JSON text on SQLite/MySQL, `jsonb` on PostgreSQL.
pub(super) fn write_field(backend: DatabaseBackend, ty: FieldType, v: &serde_json::Value) -> Value {
    use serde_json::Value as J;
    match (ty, v) {
        // A NULL typed like its column: PostgreSQL refuses a text NULL for a boolean column.
        (FieldType::Number, J::Null) => Value::BigInt(None),
        (FieldType::Boolean, J::Null) => Value::Bool(None),
        (FieldType::Date, J::Null) if backend != DatabaseBackend::Sqlite => {
            Value::ChronoDateTimeUtc(None)
        }
        (_, J::Null) if backend == DatabaseBackend::Postgres && ty != FieldType::String => {
            Value::Json(None)
        }
        (_, J::Null) => Value::String(None),
        (FieldType::String, J::String(s)) => s.clone().into(),
        (FieldType::Number, J::Number(n)) => match n.as_i64() {
            Some(i) => i.into(),
            None => n.as_f64().unwrap_or_default().into(),
        },
        (FieldType::Boolean, J::Bool(b)) => (*b).into(),
        (FieldType::Date, J::String(s)) => match crate::auth::fields::parse_date(s) {
            Some(d) => super::ts_value(backend, d),
            None => s.clone().into(),
        },
        (_, other) if backend == DatabaseBackend::Postgres => {
            Value::Json(Some(Box::new(other.clone())))
        }
        (_, other) => other.to_string().into(),
    }
}

pub(super) fn read_field(
    backend: DatabaseBackend,
    row: &QueryResult,
    col: &str,
    ty: FieldType,
) -> Result<serde_json::Value, DbErr> {
    use serde_json::Value as J;
    Ok(match ty {
        FieldType::String => get_opt_str(row, col)?.map(J::String).unwrap_or(J::Null),
        FieldType::Boolean => match row.try_get::<Option<bool>>("", col) {
            Ok(v) => v.map(J::Bool).unwrap_or(J::Null),
            Err(_) => row
                .try_get::<Option<i64>>("", col)?
                .map(|i| J::Bool(i != 0))
                .unwrap_or(J::Null),
        },
        FieldType::Number => {
            if let Ok(v) = row.try_get::<Option<i64>>("", col) {
                v.map(|i| J::Number(i.into())).unwrap_or(J::Null)
            } else if let Ok(v) = row.try_get::<Option<i32>>("", col) {
                v.map(|i| J::Number(i.into())).unwrap_or(J::Null)
            } else {
                row.try_get::<Option<f64>>("", col)?
                    .and_then(Number::from_f64)
                    .map(J::Number)
                    .unwrap_or(J::Null)
            }
        }
        FieldType::Date => get_opt_ts(row, col)?
            .map(|d| J::String(iso(&d)))
            .unwrap_or(J::Null),
        FieldType::Json | FieldType::StringArray | FieldType::NumberArray => {
            if backend == DatabaseBackend::Postgres {
                if let Ok(v) = row.try_get::<Option<J>>("", col) {
                    return Ok(v.unwrap_or(J::Null));
                }
            }
            match get_opt_str(row, col)? {
                Some(text) => serde_json::from_str(&text).unwrap_or(J::String(text)),
                None => J::Null,
            }
        }
    })
}

/// What update-user may change (docs/compatibility.md §5.10); `None` leaves a column as it is.
#[derive(Debug, Default, Clone)]
pub struct UserUpdate {
    pub name: Option<String>,
    /// `Some(None)` clears the image.
    pub image: Option<Option<String>>,
    /// Custom fields, already checked against their declarations.
    pub extra: Map<String, serde_json::Value>,
}

impl UserUpdate {
    /// Nothing to change: update-user answers "No fields to update".
    pub fn is_empty(&self) -> bool {
        self.name.is_none() && self.image.is_none() && self.extra.is_empty()
    }
}

impl Store {
    /// Applies `update` and `updatedAt = now`; the user as stored afterwards, `None` if gone.
    pub async fn update_user(
        &self,
        id: &str,
        update: &UserUpdate,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<User>> {
        let mut q = Query::update();
        q.table(table())
            .value(Alias::new("updatedAt"), self.ts(now))
            .and_where(Expr::col(Alias::new("id")).eq(id));
        if let Some(name) = &update.name {
            q.value(Alias::new("name"), name.clone());
        }
        if let Some(image) = &update.image {
            q.value(Alias::new("image"), image.clone());
        }
        for (name, value) in &update.extra {
            if let Some(def) = self.user_fields.get(name) {
                q.value(
                    Alias::new(name),
                    write_field(self.backend, def.field_type, value),
                );
            }
        }
        self.apply_user_update(id, &q).await
    }

    /// Runs a user UPDATE and reads the user back; sessions kept in Redis get the new user too
    /// (docs/compatibility.md §8.7), so get-session shows the change at once.
    async fn apply_user_update(
        &self,
        id: &str,
        q: &sea_orm::sea_query::UpdateStatement,
    ) -> StoreResult<Option<User>> {
        exec(&self.db, self.stmt(q)).await?;
        let user = self.find_user_by_id(id).await?;
        if let (Some(r), Some(user)) = (&self.secondary, &user) {
            r.rewrite_user(user, &self.user_fields).await?;
        }
        Ok(user)
    }

    /// User and credential account in one transaction (docs/compatibility.md §5.3).
    pub async fn create_user_with_account(
        &self,
        user: &User,
        account: &super::Account,
    ) -> StoreResult<()> {
        let txn = self.begin().await?;
        self.insert_user(&txn, user).await?;
        self.insert_account(&txn, account).await?;
        txn.commit().await?;
        Ok(())
    }
}

impl Store {
    /// Sets `email` (when given) and `emailVerified`, refreshing `updatedAt`; the user as
    /// stored afterwards, `None` if it is gone. A taken email is `StoreError::Conflict`.
    pub async fn update_user_email(
        &self,
        id: &str,
        email: Option<&str>,
        email_verified: bool,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<User>> {
        let mut q = Query::update();
        q.table(table())
            .value(Alias::new("emailVerified"), email_verified)
            .value(Alias::new("updatedAt"), self.ts(now))
            .and_where(Expr::col(Alias::new("id")).eq(id));
        if let Some(email) = email {
            q.value(Alias::new("email"), email);
        }
        self.apply_user_update(id, &q).await
    }

    /// Deletes the user with its sessions and accounts, in one transaction.
    pub async fn delete_user(&self, id: &str) -> StoreResult<()> {
        use sea_orm::TransactionTrait;
        let txn = self.db.begin().await?;
        // Sessions first, wherever they live (the table, Redis or both).
        self.delete_user_sessions(&txn, id).await?;
        for (t, col) in [("account", "userId"), ("user", "id")] {
            let q = Query::delete()
                .from_table(Alias::new(t))
                .and_where(Expr::col(Alias::new(col)).eq(id))
                .to_owned();
            exec(&txn, self.stmt(&q)).await?;
        }
        txn.commit().await?;
        Ok(())
    }
}
