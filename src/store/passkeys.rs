//! The `passkey` table of the passkey plugin, in Better Auth's names and encodings
//! (`packages/passkey/src/schema.ts`): `publicKey` is the standard base64 of the credential's
//! COSE key, `transports` a comma-separated list, `counter` the last signature counter.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Alias, Expr, Order, Query, SelectStatement};
use sea_orm::{ConnectionTrait, DbErr, QueryResult};

use super::users::User;
use super::{exec, get_bool, get_opt_str, get_opt_ts, get_str, Store, StoreResult};

/// One stored passkey.
#[derive(Debug, Clone, PartialEq)]
pub struct PasskeyRow {
    pub id: String,
    pub name: Option<String>,
    /// Standard base64 of the COSE public key, as simplewebauthn returns it.
    pub public_key: String,
    pub user_id: String,
    /// Base64url (no padding) credential id, as the browser reports it.
    pub credential_id: String,
    pub counter: i64,
    /// `singleDevice` or `multiDevice` (the backup-eligible flag).
    pub device_type: String,
    pub backed_up: bool,
    pub transports: Option<String>,
    pub created_at: Option<DateTime<Utc>>,
    pub aaguid: Option<String>,
}

const TABLE: &str = "passkey";
const COLUMNS: [&str; 11] = [
    "id",
    "name",
    "publicKey",
    "userId",
    "credentialID",
    "counter",
    "deviceType",
    "backedUp",
    "transports",
    "createdAt",
    "aaguid",
];

fn from_row(row: &QueryResult) -> Result<PasskeyRow, DbErr> {
    from_named_row(row, |c| c.to_owned())
}

/// A row whose columns are named `name(column)` (`p_id`, ... beside a user's columns).
fn from_named_row(row: &QueryResult, name: impl Fn(&str) -> String) -> Result<PasskeyRow, DbErr> {
    let counter_name = name("counter");
    let counter = row
        .try_get::<i64>("", &counter_name)
        .or_else(|_| row.try_get::<i32>("", &counter_name).map(i64::from))?;
    Ok(PasskeyRow {
        id: get_str(row, &name("id"))?,
        name: get_opt_str(row, &name("name"))?,
        public_key: get_str(row, &name("publicKey"))?,
        user_id: get_str(row, &name("userId"))?,
        credential_id: get_str(row, &name("credentialID"))?,
        counter,
        device_type: get_str(row, &name("deviceType"))?,
        backed_up: get_bool(row, &name("backedUp"))?,
        transports: get_opt_str(row, &name("transports"))?,
        created_at: get_opt_ts(row, &name("createdAt"))?,
        aaguid: get_opt_str(row, &name("aaguid"))?,
    })
}

fn select_where(column: &str, value: &str) -> SelectStatement {
    Query::select()
        .columns(COLUMNS.map(Alias::new))
        .from(Alias::new(TABLE))
        .and_where(Expr::col(Alias::new(column)).eq(value))
        .order_by(Alias::new("id"), Order::Asc)
        .to_owned()
}

impl Store {
    /// The user's passkeys.
    pub async fn list_passkeys(&self, user_id: &str) -> StoreResult<Vec<PasskeyRow>> {
        let rows = self
            .db
            .query_all(self.stmt(&select_where("userId", user_id)))
            .await?;
        Ok(rows.iter().map(from_row).collect::<Result<_, _>>()?)
    }

    /// The passkey with this row id.
    pub async fn find_passkey(&self, id: &str) -> StoreResult<Option<PasskeyRow>> {
        let row = self
            .db
            .query_one(self.stmt(&select_where("id", id)))
            .await?;
        Ok(row.as_ref().map(from_row).transpose()?)
    }

    /// The passkey with this credential id (the first, should an adopted database hold two).
    pub async fn find_passkey_by_credential(
        &self,
        credential_id: &str,
    ) -> StoreResult<Option<PasskeyRow>> {
        let q = select_where("credentialID", credential_id)
            .limit(1)
            .to_owned();
        let row = self.db.query_one(self.stmt(&q)).await?;
        Ok(row.as_ref().map(from_row).transpose()?)
    }

    /// [`Self::find_passkey_by_credential`] with the passkey's user, in one round trip when
    /// the user exists (a passkey sign-in's read); `None` for the user when it does not.
    pub async fn find_passkey_with_user_by_credential(
        &self,
        credential_id: &str,
    ) -> StoreResult<Option<(PasskeyRow, Option<User>)>> {
        let table = Alias::new(TABLE);
        let q = self
            .user_with(TABLE, &COLUMNS, "p_", "userId")
            .and_where(Expr::col((table.clone(), Alias::new("credentialID"))).eq(credential_id))
            .order_by((table, Alias::new("id")), Order::Asc)
            .limit(1)
            .to_owned();
        if let Some(row) = self.db.query_one(self.stmt(&q)).await? {
            let passkey = from_named_row(&row, |c| format!("p_{c}"))?;
            return Ok(Some((passkey, Some(self.user_from_row(&row)?))));
        }
        Ok(self
            .find_passkey_by_credential(credential_id)
            .await?
            .map(|p| (p, None)))
    }

    pub async fn insert_passkey<C: ConnectionTrait>(
        &self,
        c: &C,
        p: &PasskeyRow,
    ) -> StoreResult<()> {
        let q = Query::insert()
            .into_table(Alias::new(TABLE))
            .columns(COLUMNS.map(Alias::new))
            .values_panic([
                p.id.clone().into(),
                p.name.clone().into(),
                p.public_key.clone().into(),
                p.user_id.clone().into(),
                p.credential_id.clone().into(),
                p.counter.into(),
                p.device_type.clone().into(),
                p.backed_up.into(),
                p.transports.clone().into(),
                self.opt_ts(p.created_at).into(),
                p.aaguid.clone().into(),
            ])
            .to_owned();
        exec(c, self.stmt(&q)).await.map(|_| ())
    }

    /// Sets the counter after a successful assertion. Returns whether the row still exists.
    pub async fn set_passkey_counter(&self, id: &str, counter: i64) -> StoreResult<bool> {
        self.update_passkey(id, "counter", counter.into()).await
    }

    /// Renames a passkey. Returns whether the row exists.
    pub async fn rename_passkey(&self, id: &str, name: &str) -> StoreResult<bool> {
        self.update_passkey(id, "name", name.into()).await
    }

    async fn update_passkey(
        &self,
        id: &str,
        column: &str,
        value: sea_orm::sea_query::SimpleExpr,
    ) -> StoreResult<bool> {
        let q = Query::update()
            .table(Alias::new(TABLE))
            .value(Alias::new(column), value)
            .and_where(Expr::col(Alias::new("id")).eq(id))
            .to_owned();
        exec(&self.db, self.stmt(&q)).await?;
        // MySQL counts only changed rows: look the row up instead.
        Ok(self.find_passkey(id).await?.is_some())
    }

    /// Deletes a passkey by row id.
    pub async fn delete_passkey(&self, id: &str) -> StoreResult<()> {
        let q = Query::delete()
            .from_table(Alias::new(TABLE))
            .and_where(Expr::col(Alias::new("id")).eq(id))
            .to_owned();
        exec(&self.db, self.stmt(&q)).await.map(|_| ())
    }
}
