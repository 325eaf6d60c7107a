//! Users: a new user's values (the plugins' `on_user_create` hooks included) and storing it,
//! with or without a password (Better Auth's `internalAdapter.createUser` and
//! `api/routes/sign-up.ts`).

use serde_json::{Map, Value};

use crate::auth::crypto::generate_id;
use crate::auth::fields::{self, FieldError};
use crate::error::{ApiError, ErrorCode};
use crate::state::AppState;
use crate::store::accounts::CREDENTIAL_PROVIDER;
use crate::store::{Account, StoreResult, User};

/// A custom-field problem as Better Auth reports it.
pub fn field_error(e: FieldError) -> ApiError {
    match e {
        FieldError::NotAllowed(f) => ApiError::with_message(
            ErrorCode::FieldNotAllowed,
            format!("{f} is not allowed to be set"),
        ),
        FieldError::Missing(f) => {
            ApiError::with_message(ErrorCode::MissingField, format!("{f} is required"))
        }
        FieldError::Invalid(m) => ApiError::validation(m),
    }
}

/// What a new user is made of; `input` holds the request's other keys, checked against the
/// declared custom fields (`[user.additional_fields]` and the plugins' columns).
pub struct NewUser {
    pub name: String,
    /// Already normalised (`auth::email::normalize`).
    pub email: String,
    pub email_verified: bool,
    pub image: Option<String>,
    pub input: Map<String, Value>,
}

/// The user `new` describes, not yet stored: custom fields checked and defaulted, then each
/// plugin's `on_user_create` hook.
pub async fn new_user(state: &AppState, new: NewUser) -> Result<User, ApiError> {
    let fields = state.store.user_fields();
    let mut extra = fields::for_create(fields, &new.input).map_err(field_error)?;
    for name in fields.keys() {
        extra.entry(name.clone()).or_insert(Value::Null);
    }
    let now = state.clock.now();
    let mut user = User {
        id: generate_id(),
        name: new.name,
        email: new.email,
        email_verified: new.email_verified,
        image: new.image,
        created_at: now,
        updated_at: now,
        extra,
    };
    for plugin in state.plugins.iter() {
        plugin.on_user_create(state, &mut user).await?;
    }
    Ok(user)
}

/// Stores the user with a credential account holding `password_hash`, in one transaction; a
/// taken email is `StoreError::Conflict`.
pub async fn store_with_password(
    state: &AppState,
    user: &User,
    password_hash: String,
) -> StoreResult<()> {
    let account = Account {
        id: generate_id(),
        account_id: user.id.clone(),
        provider_id: CREDENTIAL_PROVIDER.to_owned(),
        user_id: user.id.clone(),
        password: Some(password_hash),
        scope: None,
        created_at: user.created_at,
        updated_at: user.created_at,
    };
    state.store.create_user_with_account(user, &account).await
}
