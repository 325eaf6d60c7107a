//! Sign-in by a proven email (magic links, email codes): the user of the address, created when
//! missing unless sign-up is off, and an unverified one stripped of what predates the proof
//! (Better Auth's `plugins/magic-link/index.ts`, `plugins/email-otp/routes.ts`,
//! `db/revoke-unproven-account-access.ts`).

use serde_json::{Map, Value};

use super::users::{new_user, NewUser};
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::{StoreError, User};

/// Who proved control of the address.
pub enum Proven {
    /// An existing user (now verified).
    Existing(User),
    /// A user created by this sign-in, email verified.
    New(User),
    /// No such user, and sign-up is off.
    NoUser,
}

/// What a new user gets from the sign-in's body.
pub struct NewUserInput {
    pub name: String,
    pub image: Option<String>,
    /// Declared custom fields (`parseUserInput`).
    pub input: Map<String, Value>,
}

/// The user of `email` (normalised) once its owner proved control of it.
pub async fn user_for_proven_email(
    state: &AppState,
    email: &str,
    sign_up: Option<NewUserInput>,
) -> Result<Proven, ApiError> {
    if let Some(user) = state.store.find_user_by_email(email).await? {
        if user.email_verified {
            return Ok(Proven::Existing(user));
        }
        let promoted = state
            .store
            .revoke_unproven_access(&user.id, state.clock.now())
            .await?;
        tracing::info!("unverified user proven by email: accounts and sessions revoked");
        return Ok(promoted.map_or(Proven::NoUser, Proven::Existing));
    }
    let Some(new) = sign_up else {
        return Ok(Proven::NoUser);
    };
    let user = new_user(
        state,
        NewUser {
            name: new.name,
            email: email.to_owned(),
            email_verified: true,
            image: new.image,
            input: new.input,
        },
    )
    .await?;
    match state
        .store
        .insert_user(state.store.connection(), &user)
        .await
    {
        Ok(()) => Ok(Proven::New(user)),
        // Created meanwhile by a concurrent sign-in: sign that user in.
        Err(StoreError::Conflict) => match state.store.find_user_by_email(email).await? {
            Some(user) => Ok(Proven::Existing(user)),
            None => Err(StoreError::Conflict.into()),
        },
        Err(e) => Err(e.into()),
    }
}
