//! The operator commands' steps (docs/operations.md §5), on the API's own flows: creating a
//! user with a password as sign-up does, setting a password as reset-password does, ending a
//! user's sessions as revoke-sessions does, deleting a user as delete-user does.

use chrono::Duration;
use serde_json::{Map, Value};

use super::credentials::{check_password_length, hash_password};
use super::users::{new_user, store_with_password, NewUser};
use crate::auth::crypto::iso;
use crate::error::{ApiError, ErrorCode};
use crate::state::AppState;
use crate::store::user_list::UserQuery;
use crate::store::users::UserUpdate;
use crate::store::{StoreError, User};

/// A user to create with an email and a password.
pub struct NewPasswordUser {
    pub name: String,
    pub email: String,
    pub password: String,
    pub email_verified: bool,
}

/// Creates the user and its credential account in one transaction: the email checked and
/// normalised, the password length rules, the custom fields' defaults and the plugins'
/// `on_user_create` hooks, as sign-up applies them. A taken email is `USER_ALREADY_EXISTS`.
pub async fn create_with_password(
    state: &AppState,
    new: NewPasswordUser,
) -> Result<User, ApiError> {
    if !crate::auth::email::is_valid(&new.email) {
        return Err(ErrorCode::InvalidEmail.into());
    }
    check_password_length(state, &new.password)?;
    let user = new_user(
        state,
        NewUser {
            name: new.name,
            email: crate::auth::email::normalize(&new.email),
            email_verified: new.email_verified,
            image: None,
            input: Map::new(),
        },
    )
    .await?;
    if state.store.find_user_by_email(&user.email).await?.is_some() {
        return Err(ErrorCode::UserAlreadyExists.into());
    }
    let hash = hash_password(state, new.password).await?;
    match store_with_password(state, &user, hash).await {
        Ok(()) => Ok(user),
        Err(StoreError::Conflict) => Err(ErrorCode::UserAlreadyExists.into()),
        Err(e) => Err(e.into()),
    }
}

/// Users oldest first, `limit` of them after `offset`, and how many there are in all.
pub async fn list(state: &AppState, limit: u64, offset: u64) -> Result<(Vec<User>, u64), ApiError> {
    let query = UserQuery {
        sort: Some(("createdAt".to_owned(), false)),
        limit: Some(limit),
        offset: Some(offset),
        ..UserQuery::default()
    };
    state
        .store
        .list_users(&query)
        .await?
        .map_err(|_| ApiError::Internal(anyhow::anyhow!("listing users")))
}

/// Bans the user as the admin plugin's ban-user does: the reason (else the configured default,
/// else `No reason`), an expiry `expires_in` seconds from now (else the configured default, else
/// none), and every session of the user ends.
pub async fn ban(
    state: &AppState,
    user: &User,
    reason: Option<String>,
    expires_in: Option<f64>,
) -> Result<User, ApiError> {
    let settings = &state.settings.plugins.admin;
    let now = state.clock.now();
    let reason = reason
        .filter(|r| !r.is_empty())
        .or_else(|| settings.default_ban_reason.clone())
        .unwrap_or_else(|| "No reason".into());
    let expires_ms = expires_in
        .filter(|s| *s != 0.0)
        .map(|s| (s * 1000.0) as i64)
        .or(settings
            .default_ban_expires_in
            .map(|s| s.saturating_mul(1000)));
    let expires = expires_ms.map(|ms| Value::String(iso(&(now + Duration::milliseconds(ms)))));
    let update = UserUpdate {
        extra: Map::from_iter([
            ("banned".to_owned(), Value::Bool(true)),
            ("banReason".to_owned(), Value::String(reason)),
            ("banExpires".to_owned(), expires.unwrap_or(Value::Null)),
        ]),
        ..UserUpdate::default()
    };
    let banned = state
        .store
        .update_user(&user.id, &update, now)
        .await?
        .ok_or(ErrorCode::UserNotFound)?;
    revoke_sessions(state, user).await?;
    tracing::info!("user banned");
    Ok(banned)
}

/// The update that lifts a ban.
pub fn unbanned() -> UserUpdate {
    UserUpdate {
        extra: Map::from_iter([
            ("banned".to_owned(), Value::Bool(false)),
            ("banReason".to_owned(), Value::Null),
            ("banExpires".to_owned(), Value::Null),
        ]),
        ..UserUpdate::default()
    }
}

/// Lifts the user's ban as the admin plugin's unban-user does.
pub async fn unban(state: &AppState, user: &User) -> Result<User, ApiError> {
    Ok(state
        .store
        .update_user(&user.id, &unbanned(), state.clock.now())
        .await?
        .ok_or(ErrorCode::UserNotFound)?)
}

/// A user by id, or else by email.
pub async fn find(state: &AppState, id_or_email: &str) -> Result<Option<User>, ApiError> {
    if let Some(user) = state.store.find_user_by_id(id_or_email).await? {
        return Ok(Some(user));
    }
    let email = crate::auth::email::normalize(id_or_email);
    Ok(state.store.find_user_by_email(&email).await?)
}

/// Sets the user's password as reset-password does: the credential account gets the new hash
/// (and is created when missing); with `revoke_sessions`, every session of the user ends.
pub async fn set_password(
    state: &AppState,
    user: &User,
    password: String,
    revoke_sessions: bool,
) -> Result<(), ApiError> {
    check_password_length(state, &password)?;
    let hash = hash_password(state, password).await?;
    state
        .store
        .reset_credential_password(&user.id, &hash, revoke_sessions, state.clock.now())
        .await?;
    Ok(())
}

/// Ends every session of the user, wherever sessions are kept (the table, Redis or both), as
/// revoke-sessions does. Returns how many ended.
pub async fn revoke_sessions(state: &AppState, user: &User) -> Result<u64, ApiError> {
    Ok(state
        .store
        .delete_user_sessions(state.store.connection(), &user.id)
        .await?)
}

/// Deletes the user with its sessions and accounts, as delete-user does.
pub async fn delete(state: &AppState, user: &User) -> Result<(), ApiError> {
    Ok(state.store.delete_user(&user.id).await?)
}
