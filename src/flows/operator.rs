//! The operator commands' steps (docs/operations.md §5), on the API's own flows: creating a
//! user with a password as sign-up does, setting a password as reset-password does, ending a
//! user's sessions as revoke-sessions does, deleting a user as delete-user does.

use serde_json::Map;

use super::credentials::{check_password_length, hash_password};
use super::users::{new_user, store_with_password, NewUser};
use crate::error::{ApiError, ErrorCode};
use crate::state::AppState;
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
