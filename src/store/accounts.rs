//! The `account` table: the credential account that holds the password hash, and the
//! user's linked accounts.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use entity::account::{Column, Entity};
use indexmap::IndexMap;
use sea_orm::sea_query::{Alias, Cond, Expr, Query, SimpleExpr};
use sea_orm::{ConnectionTrait, DbErr, QueryResult};

use super::users::{self, User};
use super::{exec, get_opt_str, get_str, get_ts, Store, StoreResult};

pub const CREDENTIAL_PROVIDER: &str = "credential";
/// The `issuer` of credential accounts in schemas that have the column
/// (docs/compatibility.md §14.1).
pub const CREDENTIAL_ISSUER: &str = "local:credential";

#[derive(Clone, PartialEq)]
pub struct Account {
    pub id: String,
    pub account_id: String,
    pub provider_id: String,
    pub user_id: String,
    pub password: Option<String>,
    pub scope: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Holds a password hash: never printed.
impl std::fmt::Debug for Account {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Account")
            .field("id", &self.id)
            .field("provider_id", &self.provider_id)
            .field("user_id", &self.user_id)
            .finish_non_exhaustive()
    }
}

const COLUMNS: [Column; 8] = [
    Column::Id,
    Column::AccountId,
    Column::ProviderId,
    Column::UserId,
    Column::Password,
    Column::Scope,
    Column::CreatedAt,
    Column::UpdatedAt,
];

const NAMES: [&str; 8] = [
    "id",
    "accountId",
    "providerId",
    "userId",
    "password",
    "scope",
    "createdAt",
    "updatedAt",
];

/// The account's columns where a join with `user` selects them (the user's keep their names).
const JOINED_NAMES: [&str; 8] = [
    "a_id",
    "a_accountId",
    "a_providerId",
    "a_userId",
    "a_password",
    "a_scope",
    "a_createdAt",
    "a_updatedAt",
];

fn from_row(row: &QueryResult) -> Result<Account, DbErr> {
    from_named_row(row, &NAMES)
}

fn from_named_row(row: &QueryResult, n: &[&str; 8]) -> Result<Account, DbErr> {
    Ok(Account {
        id: get_str(row, n[0])?,
        account_id: get_str(row, n[1])?,
        provider_id: get_str(row, n[2])?,
        user_id: get_str(row, n[3])?,
        password: get_opt_str(row, n[4])?,
        scope: get_opt_str(row, n[5])?,
        created_at: get_ts(row, n[6])?,
        updated_at: get_ts(row, n[7])?,
    })
}

impl Store {
    pub async fn insert_account<C: ConnectionTrait>(&self, c: &C, a: &Account) -> StoreResult<()> {
        let mut cols: Vec<Alias> = COLUMNS
            .iter()
            .map(|c| Alias::new(sea_orm::Iden::to_string(c)))
            .collect();
        let mut vals: Vec<SimpleExpr> = vec![
            a.id.clone().into(),
            a.account_id.clone().into(),
            a.provider_id.clone().into(),
            a.user_id.clone().into(),
            a.password.clone().into(),
            a.scope.clone().into(),
            self.ts(a.created_at).into(),
            self.ts(a.updated_at).into(),
        ];
        if self.account_has_issuer {
            cols.push(Alias::new("issuer"));
            let issuer = if a.provider_id == CREDENTIAL_PROVIDER {
                CREDENTIAL_ISSUER.to_owned()
            } else {
                format!("local:oauth:{}", a.provider_id)
            };
            vals.push(issuer.into());
        }
        let q = Query::insert()
            .into_table(Entity)
            .columns(cols)
            .values_panic(vals)
            .to_owned();
        exec(c, self.stmt(&q)).await.map(|_| ())
    }

    /// What makes an account the credential account of `user_id` (a value or the joined user's
    /// `id` column): provider `credential`, `accountId` = user id, and, where the column exists,
    /// issuer `local:credential` (or unset, for rows written before it).
    fn credential_of(&self, user_id: SimpleExpr) -> Cond {
        let mut cond = Cond::all()
            .add(Expr::col((Entity, Column::UserId)).eq(user_id.clone()))
            .add(Expr::col((Entity, Column::ProviderId)).eq(CREDENTIAL_PROVIDER))
            .add(Expr::col((Entity, Column::AccountId)).eq(user_id));
        if self.account_has_issuer {
            let issuer = Alias::new("issuer");
            cond = cond.add(
                Cond::any()
                    .add(Expr::col((Entity, issuer.clone())).eq(CREDENTIAL_ISSUER))
                    .add(Expr::col((Entity, issuer)).is_null()),
            );
        }
        cond
    }

    /// The user's credential account, which holds the password hash.
    pub async fn find_credential_account(&self, user_id: &str) -> StoreResult<Option<Account>> {
        let q = Query::select()
            .columns(COLUMNS)
            .from(Entity)
            .cond_where(self.credential_of(user_id.into()))
            .to_owned();
        match self.db.query_one(self.stmt(&q)).await? {
            Some(row) => Ok(Some(from_row(&row)?)),
            None => Ok(None),
        }
    }

    /// The user with this stored (lower-cased) email and their credential account, if any, in
    /// one round trip: what sign-in needs before it checks the password.
    pub async fn find_user_with_credential(
        &self,
        email: &str,
    ) -> StoreResult<Option<(User, Option<Account>)>> {
        self.find_user_with_credential_by("email", email).await
    }

    /// As [`Store::find_user_with_credential`], by another `user` column holding a unique value
    /// (the username plugin's `username`).
    pub async fn find_user_with_credential_by(
        &self,
        column: &str,
        value: &str,
    ) -> StoreResult<Option<(User, Option<Account>)>> {
        let mut q = self.user_select();
        for (col, name) in COLUMNS.into_iter().zip(JOINED_NAMES) {
            q.expr_as(Expr::col((Entity, col)), Alias::new(name));
        }
        let user_id = Expr::col((users::table(), Alias::new("id")));
        q.left_join(Entity, self.credential_of(user_id.into()))
            .and_where(Expr::col((users::table(), Alias::new(column))).eq(value));
        let Some(row) = self.db.query_one(self.stmt(&q)).await? else {
            return Ok(None);
        };
        let account = match get_opt_str(&row, JOINED_NAMES[0])? {
            Some(_) => Some(from_named_row(&row, &JOINED_NAMES)?),
            None => None,
        };
        Ok(Some((self.user_from_row(&row)?, account)))
    }

    pub async fn list_accounts(&self, user_id: &str) -> StoreResult<Vec<Account>> {
        let q = Query::select()
            .columns(COLUMNS)
            .from(Entity)
            .and_where(Expr::col(Column::UserId).eq(user_id))
            .to_owned();
        let rows = self.db.query_all(self.stmt(&q)).await?;
        Ok(rows.iter().map(from_row).collect::<Result<_, _>>()?)
    }

    pub async fn set_account_password<C: ConnectionTrait>(
        &self,
        c: &C,
        account_id: &str,
        hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<u64> {
        let q = Query::update()
            .table(Entity)
            .value(Column::Password, hash)
            .value(Column::UpdatedAt, self.ts(now))
            .and_where(Expr::col(Column::Id).eq(account_id))
            .to_owned();
        exec(c, self.stmt(&q)).await
    }

    /// Deletes one of the user's accounts by row id; 0 when the user has no such account.
    pub async fn delete_account(&self, user_id: &str, id: &str) -> StoreResult<u64> {
        let q = Query::delete()
            .from_table(Entity)
            .and_where(Expr::col(Column::UserId).eq(user_id))
            .and_where(Expr::col(Column::Id).eq(id))
            .to_owned();
        exec(&self.db, self.stmt(&q)).await
    }
}

impl Store {
    /// Better Auth's `revokeUnprovenAccountAccess`, in one transaction: a user whose email was
    /// never verified, now proven by a magic link or an email code, loses every account link
    /// and session made before the proof, and their email becomes verified. The user as stored
    /// afterwards.
    pub async fn revoke_unproven_access(
        &self,
        user_id: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<User>> {
        use sea_orm::TransactionTrait;
        let txn = self.db.begin().await?;
        self.delete_user_sessions(&txn, user_id).await?;
        let q = Query::delete()
            .from_table(Entity)
            .and_where(Expr::col(Column::UserId).eq(user_id))
            .to_owned();
        exec(&txn, self.stmt(&q)).await?;
        txn.commit().await?;
        self.update_user_email(user_id, None, true, now).await
    }

    /// After a password reset: sets the credential account's password, creating the account
    /// when the user has none, and with `revoke_sessions` deletes every session of the user,
    /// all in one transaction (Better Auth's `resetCredentialPassword`).
    pub async fn reset_credential_password(
        &self,
        user_id: &str,
        hash: &str,
        revoke_sessions: bool,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        use sea_orm::TransactionTrait;
        let txn = self.db.begin().await?;
        if revoke_sessions {
            self.delete_user_sessions(&txn, user_id).await?;
        }
        match self.find_credential_account(user_id).await? {
            Some(account) => {
                self.set_account_password(&txn, &account.id, hash, now)
                    .await?;
            }
            None => {
                let account = Account {
                    id: crate::auth::crypto::generate_id(),
                    account_id: user_id.to_owned(),
                    provider_id: CREDENTIAL_PROVIDER.to_owned(),
                    user_id: user_id.to_owned(),
                    password: Some(hash.to_owned()),
                    scope: None,
                    created_at: now,
                    updated_at: now,
                };
                self.insert_account(&txn, &account).await?;
            }
        }
        txn.commit().await?;
        Ok(())
    }

    /// Stores a new password hash; with `new_session`, first deletes every session of the user
    /// and then inserts that one. One transaction, as Better Auth's change-password
    /// (docs/compatibility.md §5.7).
    pub async fn change_password(
        &self,
        account_id: &str,
        hash: &str,
        now: DateTime<Utc>,
        new_session: Option<&super::Session>,
    ) -> StoreResult<()> {
        let txn = self.begin().await?;
        if let Some(session) = new_session {
            self.revoke_user_sessions(&txn, &session.user_id, Some(session.created_at))
                .await?;
        }
        self.set_account_password(&txn, account_id, hash, now)
            .await?;
        if let Some(session) = new_session {
            self.insert_session(&txn, session).await?;
        }
        txn.commit().await?;
        Ok(())
    }
}

/// A provider account's tokens (`accessToken`, `refreshToken`, `idToken`, their expiries and
/// `scope`), as stored: access and refresh tokens possibly encrypted. Never printed.
#[derive(Clone, Default, PartialEq)]
pub struct AccountTokens {
    pub access_token: Option<String>,
    pub refresh_token: Option<String>,
    pub id_token: Option<String>,
    pub access_token_expires_at: Option<DateTime<Utc>>,
    pub refresh_token_expires_at: Option<DateTime<Utc>>,
    pub scope: Option<String>,
}

/// Accounts with their users read by one grouped lookup, by account id.
pub(super) type AccountsWithUsers = Arc<HashMap<String, (Account, User)>>;

/// Account lookups waiting, by provider: the account ids (`find_account_with_user_by_key`).
pub(super) type AccountLookups = super::group::Group<String, Vec<String>, AccountsWithUsers>;

/// Token updates waiting, by the columns they set (`update_account_tokens`): account id,
/// tokens, time.
pub(super) type TokenUpdates = super::group::Group<u8, Vec<(String, AccountTokens, DateTime<Utc>)>>;

/// The token columns an update may write; a group of updates is keyed by which, one bit each
/// in this order.
const TOKEN_COLUMNS: [Column; 6] = [
    Column::AccessToken,
    Column::RefreshToken,
    Column::IdToken,
    Column::AccessTokenExpiresAt,
    Column::RefreshTokenExpiresAt,
    Column::Scope,
];

impl std::fmt::Debug for AccountTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AccountTokens(<redacted>)")
    }
}

const TOKEN_NAMES: [&str; 5] = [
    "accessToken",
    "refreshToken",
    "idToken",
    "accessTokenExpiresAt",
    "refreshTokenExpiresAt",
];

fn tokens_from_row(row: &QueryResult) -> Result<AccountTokens, DbErr> {
    Ok(AccountTokens {
        access_token: get_opt_str(row, TOKEN_NAMES[0])?,
        refresh_token: get_opt_str(row, TOKEN_NAMES[1])?,
        id_token: get_opt_str(row, TOKEN_NAMES[2])?,
        access_token_expires_at: super::get_opt_ts(row, TOKEN_NAMES[3])?,
        refresh_token_expires_at: super::get_opt_ts(row, TOKEN_NAMES[4])?,
        scope: get_opt_str(row, "scope")?,
    })
}

impl Store {
    /// A provider account with its tokens, inserted on `c` (the `issuer` column, where it
    /// exists, says `local:oauth:<provider>`).
    pub async fn insert_account_with_tokens<C: ConnectionTrait>(
        &self,
        c: &C,
        a: &Account,
        t: &AccountTokens,
    ) -> StoreResult<()> {
        self.insert_account(c, a).await?;
        self.set_account_tokens(c, &a.id, t, true, a.updated_at)
            .await
            .map(|_| ())
    }

    /// Writes the tokens that are given (Better Auth drops `undefined` members), and `scope`
    /// when `with_scope`; `updatedAt` too.
    pub async fn set_account_tokens<C: ConnectionTrait>(
        &self,
        c: &C,
        id: &str,
        t: &AccountTokens,
        with_scope: bool,
        now: DateTime<Utc>,
    ) -> StoreResult<u64> {
        let mut q = Query::update();
        q.table(Entity).value(Column::UpdatedAt, self.ts(now));
        for (_, column, value) in self.token_values(t, with_scope) {
            q.value(column, value);
        }
        q.and_where(Expr::col(Column::Id).eq(id));
        exec(c, self.stmt(&q)).await
    }

    /// The value `t` gives a column of [`TOKEN_COLUMNS`], as stored; `None` when it has none.
    fn token_value(&self, t: &AccountTokens, column: Column) -> Option<sea_orm::Value> {
        match column {
            Column::AccessToken => t.access_token.clone().map(Into::into),
            Column::RefreshToken => t.refresh_token.clone().map(Into::into),
            Column::IdToken => t.id_token.clone().map(Into::into),
            Column::AccessTokenExpiresAt => t.access_token_expires_at.map(|v| self.ts(v)),
            Column::RefreshTokenExpiresAt => t.refresh_token_expires_at.map(|v| self.ts(v)),
            Column::Scope => t.scope.clone().map(Into::into),
            _ => None,
        }
    }

    /// The token columns an update of `t` writes, with their values and their places in
    /// [`TOKEN_COLUMNS`]: those it has a value for (Better Auth drops `undefined` members),
    /// `scope` only `with_scope`.
    fn token_values<'a>(
        &'a self,
        t: &'a AccountTokens,
        with_scope: bool,
    ) -> impl Iterator<Item = (usize, Column, sea_orm::Value)> + 'a {
        TOKEN_COLUMNS
            .into_iter()
            .enumerate()
            .filter(move |(_, column)| with_scope || !matches!(column, Column::Scope))
            .filter_map(|(i, column)| Some((i, column, self.token_value(t, column)?)))
    }

    /// [`Self::set_account_tokens`] on the pool, with the updates that concurrent sign-ins make
    /// of the same columns in one statement ([`super::group`]). An update the shared statement
    /// did not make (it failed) is made alone.
    pub async fn update_account_tokens(
        &self,
        id: &str,
        t: &AccountTokens,
        with_scope: bool,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        // The group's key: which columns the update writes, one bit each.
        let columns = self
            .token_values(t, with_scope)
            .fold(0, |bits, (i, _, _)| bits | 1 << i);
        let shared = self
            .account_token_updates
            .join_with(
                self.clone(),
                columns,
                vec![(id.to_owned(), t.clone(), now)],
                super::group::append,
                |store, columns, updates| async move {
                    store.write_account_tokens(columns, updates).await.ok()
                },
            )
            .await;
        if shared.is_none() {
            self.set_account_tokens(&self.db, id, t, with_scope, now)
                .await?;
        }
        Ok(())
    }

    /// One UPDATE per `MAX_ROWS` accounts: each column of `columns` (bits of [`TOKEN_COLUMNS`])
    /// and `updatedAt` set to the account's own value, `CASE id WHEN ... THEN ...`. Of two
    /// updates of one account the later wins, as it would alone.
    async fn write_account_tokens(
        &self,
        columns: u8,
        updates: Vec<(String, AccountTokens, DateTime<Utc>)>,
    ) -> StoreResult<()> {
        let latest: IndexMap<String, (AccountTokens, DateTime<Utc>)> = updates
            .into_iter()
            .map(|(id, t, now)| (id, (t, now)))
            .collect();
        let latest: Vec<_> = latest.into_iter().collect();
        for chunk in latest.chunks(super::group::MAX_ROWS) {
            let mut q = Query::update();
            q.table(Entity);
            let at = chunk
                .iter()
                .map(|(id, (_, now))| (id.as_str(), self.ts(*now)));
            if let Some(at) = super::group::case_by_id(Column::Id, at) {
                q.value(Column::UpdatedAt, at);
            }
            let written = TOKEN_COLUMNS
                .into_iter()
                .enumerate()
                .filter(|(i, _)| columns & (1 << i) != 0);
            for (_, column) in written {
                // Every update of the group writes the column; were one not to, it would keep
                // the stored value.
                let values = chunk.iter().map(|(id, (t, _))| {
                    let value: SimpleExpr = match self.token_value(t, column) {
                        Some(v) => v.into(),
                        None => Expr::col(column).into(),
                    };
                    (id.as_str(), value)
                });
                if let Some(set) = super::group::case_by_id(Column::Id, values) {
                    q.value(column, set);
                }
            }
            q.and_where(Expr::col(Column::Id).is_in(chunk.iter().map(|(id, _)| id.as_str())));
            exec(&self.db, self.stmt(&q)).await?;
        }
        Ok(())
    }

    /// The account of this provider identity (`findAccountByKey`).
    pub async fn find_account_by_key(
        &self,
        provider_id: &str,
        account_id: &str,
    ) -> StoreResult<Option<Account>> {
        let q = Query::select()
            .columns(COLUMNS)
            .from(Entity)
            .and_where(Expr::col(Column::ProviderId).eq(provider_id))
            .and_where(Expr::col(Column::AccountId).eq(account_id))
            .to_owned();
        match self.db.query_one(self.stmt(&q)).await? {
            Some(row) => Ok(Some(from_row(&row)?)),
            None => Ok(None),
        }
    }

    /// [`Self::find_account_by_key`] with the account's user, in one round trip when the user
    /// exists (the OAuth callback's first read); `None` for the user when it does not. The
    /// lookups that concurrent callbacks of one provider make share one query
    /// (`accountId IN (...)`, [`super::group`]); an account not found that way (none, or its
    /// user gone), or a shared read that failed, is looked up alone.
    pub async fn find_account_with_user_by_key(
        &self,
        provider_id: &str,
        account_id: &str,
    ) -> StoreResult<Option<(Account, Option<User>)>> {
        let found = self
            .account_lookups
            .join_with(
                self.clone(),
                provider_id.to_owned(),
                vec![account_id.to_owned()],
                super::group::append,
                |store, provider, ids| async move {
                    store
                        .accounts_with_users(&provider, ids)
                        .await
                        .ok()
                        .map(Arc::new)
                },
            )
            .await;
        if let Some((account, user)) = found.as_ref().and_then(|f| f.get(account_id)) {
            return Ok(Some((account.clone(), Some(user.clone()))));
        }
        Ok(self
            .find_account_by_key(provider_id, account_id)
            .await?
            .map(|a| (a, None)))
    }

    /// The provider's accounts with these account ids that have a user, with the user, by
    /// account id.
    async fn accounts_with_users(
        &self,
        provider_id: &str,
        account_ids: Vec<String>,
    ) -> StoreResult<HashMap<String, (Account, User)>> {
        let select = self
            .user_with("account", &NAMES, "a_", "userId")
            .and_where(Expr::col((Entity, Column::ProviderId)).eq(provider_id))
            .to_owned();
        self.rows_with_owners(select, (Entity, Column::AccountId), account_ids, |row| {
            let account = from_named_row(row, &JOINED_NAMES)?;
            Ok((account.account_id.clone(), account))
        })
        .await
    }

    /// One of the user's accounts by row id, with its tokens.
    pub async fn find_account_with_tokens(
        &self,
        user_id: &str,
        id: &str,
    ) -> StoreResult<Option<(Account, AccountTokens)>> {
        let mut q = Query::select();
        q.columns(COLUMNS)
            .columns([
                Column::AccessToken,
                Column::RefreshToken,
                Column::IdToken,
                Column::AccessTokenExpiresAt,
                Column::RefreshTokenExpiresAt,
            ])
            .from(Entity)
            .and_where(Expr::col(Column::UserId).eq(user_id))
            .and_where(Expr::col(Column::Id).eq(id));
        match self.db.query_one(self.stmt(&q)).await? {
            Some(row) => Ok(Some((from_row(&row)?, tokens_from_row(&row)?))),
            None => Ok(None),
        }
    }

    /// The user's accounts with tokens, most recently updated first (sign-out's provider logout).
    pub async fn list_accounts_with_tokens(
        &self,
        user_id: &str,
    ) -> StoreResult<Vec<(Account, AccountTokens)>> {
        let mut out = Vec::new();
        for a in self.list_accounts(user_id).await? {
            if let Some(found) = self.find_account_with_tokens(user_id, &a.id).await? {
                out.push(found);
            }
        }
        out.sort_by_key(|a| std::cmp::Reverse(a.0.updated_at));
        Ok(out)
    }

    /// A user signing up through a provider and their account, in one transaction.
    pub async fn create_user_with_provider_account(
        &self,
        user: &User,
        account: &Account,
        tokens: &AccountTokens,
    ) -> StoreResult<()> {
        let txn = self.begin().await?;
        self.insert_user(&txn, user).await?;
        self.insert_account_with_tokens(&txn, account, tokens)
            .await?;
        txn.commit().await?;
        Ok(())
    }
}
