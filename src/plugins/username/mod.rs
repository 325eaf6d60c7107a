//! The username plugin (Better Auth's `username()`, `packages/better-auth/src/plugins/username/`):
//!
//! - config: `[plugins.username]` ([`config::UsernameSettings`]);
//! - schema: `user.username` (normalised, unique) and `user.displayUsername`;
//! - routes: `POST /sign-in/username`, `POST /is-username-available` ([`routes`]);
//! - hooks: sign-up and update-user check the username (length, characters, taken) and store it
//!   normalised, `displayUsername` defaulting to the username as given.

pub mod config;
mod routes;

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::web;
use async_trait::async_trait;
use indexmap::IndexMap;
use serde_json::{Map, Value};

use crate::auth::fields::{AdditionalField, FieldType};
use crate::auth::password::js_length;
use crate::config::Settings;
use crate::error::ApiError;
use crate::openapi::builder::Op;
use crate::plugin::{Kind, Plugin, Schema};
use crate::state::AppState;
use crate::store::User;
use config::{UsernameSettings, ValidationOrder};

/// The columns, as Better Auth names them.
pub const USERNAME: &str = "username";
pub const DISPLAY_USERNAME: &str = "displayUsername";

pub const KIND: Kind<AppState> = Kind {
    id: "username",
    enabled: |s| s.plugins.username.enabled,
    schema: |s| schema(&s.plugins.username),
    build: |b| {
        let settings = b.settings.plugins.username.clone();
        let store = b.store.clone();
        Box::pin(async move {
            // Better Auth declares the column `unique`; an adopted database may already have
            // the constraint, and one with duplicate usernames keeps working without it.
            if let Err(e) = store.create_unique_index("user", USERNAME).await {
                tracing::warn!(error = %e, "no unique index on user.username");
            }
            Ok(Arc::new(UsernamePlugin { settings }) as Arc<dyn Plugin<AppState>>)
        })
    },
};

fn field() -> AdditionalField {
    AdditionalField {
        field_type: FieldType::String,
        required: Some(false),
        default: None,
        input: true,
        returned: true,
    }
}

/// Better Auth's `username/schema.ts`.
fn schema(settings: &UsernameSettings) -> Schema {
    let mut user_fields = IndexMap::from([(USERNAME.to_owned(), field())]);
    if settings.display_username {
        user_fields.insert(DISPLAY_USERNAME.to_owned(), field());
    }
    Schema {
        user_fields,
        ..Schema::default()
    }
}

/// The plugin's error codes (Better Auth's `USERNAME_ERROR_CODES`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsernameError {
    InvalidUsernameOrPassword,
    EmailNotVerified,
    UsernameIsAlreadyTaken,
    UsernameTooShort,
    UsernameTooLong,
    InvalidUsername,
    UsernameIsImmutable,
}

impl UsernameError {
    fn code_and_message(self) -> (&'static str, &'static str) {
        use UsernameError::*;
        match self {
            InvalidUsernameOrPassword => (
                "INVALID_USERNAME_OR_PASSWORD",
                "Invalid username or password",
            ),
            EmailNotVerified => ("EMAIL_NOT_VERIFIED", "Email not verified"),
            UsernameIsAlreadyTaken => (
                "USERNAME_IS_ALREADY_TAKEN",
                "Username is already taken. Please try another.",
            ),
            UsernameTooShort => ("USERNAME_TOO_SHORT", "Username is too short"),
            UsernameTooLong => ("USERNAME_TOO_LONG", "Username is too long"),
            InvalidUsername => ("INVALID_USERNAME", "Username is invalid"),
            UsernameIsImmutable => ("USERNAME_IS_IMMUTABLE", "Username cannot be updated"),
        }
    }

    /// This error with the status the route answers it with.
    pub fn with_status(self, status: StatusCode) -> ApiError {
        let (code, message) = self.code_and_message();
        ApiError::Custom {
            status,
            code,
            message: message.into(),
        }
    }
}

/// Better Auth's `defaultUsernameValidator`: `^[a-zA-Z0-9_.]+$`.
fn allowed_characters(username: &str) -> bool {
    !username.is_empty()
        && username
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.')
}

pub struct UsernamePlugin {
    settings: UsernameSettings,
}

impl UsernamePlugin {
    /// `usernameNormalization`: lower case unless turned off.
    pub fn normalize(&self, username: &str) -> String {
        if self.settings.username_normalization {
            username.to_lowercase()
        } else {
            username.to_owned()
        }
    }

    /// Better Auth's `validateUsernameValue`: length, then characters.
    pub fn check(&self, username: &str) -> Result<(), UsernameError> {
        let normalized;
        let value = match self.settings.validation_order {
            ValidationOrder::PreNormalization => username,
            ValidationOrder::PostNormalization => {
                normalized = self.normalize(username);
                &normalized
            }
        };
        let len = js_length(value);
        if len < self.settings.min_username_length {
            return Err(UsernameError::UsernameTooShort);
        }
        if len > self.settings.max_username_length {
            return Err(UsernameError::UsernameTooLong);
        }
        if !allowed_characters(value) {
            return Err(UsernameError::InvalidUsername);
        }
        Ok(())
    }

    /// The user holding `username` (normalised here).
    pub async fn holder(&self, state: &AppState, username: &str) -> Result<Option<User>, ApiError> {
        Ok(state
            .store
            .find_user_by_column(USERNAME, &self.normalize(username))
            .await?)
    }

    /// The checks of sign-up and update-user on a username given as a string: valid, and not
    /// another user's (`owner`: the user updating their own). Returns it normalised.
    async fn checked(
        &self,
        state: &AppState,
        username: &str,
        owner: Option<&User>,
    ) -> Result<String, ApiError> {
        self.check(username)
            .map_err(|e| e.with_status(StatusCode::BAD_REQUEST))?;
        let normalized = self.normalize(username);
        if let Some(holder) = state
            .store
            .find_user_by_column(USERNAME, &normalized)
            .await?
        {
            if owner.is_none_or(|u| u.id != holder.id) {
                return Err(
                    UsernameError::UsernameIsAlreadyTaken.with_status(StatusCode::BAD_REQUEST)
                );
            }
        }
        Ok(normalized)
    }
}

fn string_of<'a>(extra: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    extra.get(key).and_then(Value::as_str)
}

#[async_trait]
impl Plugin<AppState> for UsernamePlugin {
    fn id(&self) -> &'static str {
        KIND.id
    }

    fn routes(&self, cfg: &mut web::ServiceConfig) {
        routes::configure(cfg);
    }

    fn openapi(&self, settings: &Settings) -> Vec<Op> {
        routes::openapi(settings)
    }

    /// Better Auth's `hooks.before` on `/sign-up/email` and `databaseHooks.user.create.before`:
    /// a valid `displayUsername` stands in for a missing username; the username is checked,
    /// stored normalised, and `displayUsername` defaults to it as given.
    async fn on_user_create(&self, state: &AppState, user: &mut User) -> Result<(), ApiError> {
        let display = string_of(&user.extra, DISPLAY_USERNAME).map(str::to_owned);
        let mut username = user.extra.get(USERNAME).cloned().unwrap_or(Value::Null);
        if username.is_null() {
            if let Some(display) = display.as_deref().filter(|d| self.check(d).is_ok()) {
                username = Value::String(display.to_owned());
            }
        }
        let Value::String(raw) = username else {
            return Ok(());
        };
        let normalized = self.checked(state, &raw, None).await?;
        user.extra
            .insert(USERNAME.into(), Value::String(normalized));
        if self.settings.display_username {
            user.extra.insert(
                DISPLAY_USERNAME.into(),
                Value::String(display.unwrap_or(raw)),
            );
        }
        Ok(())
    }

    /// Better Auth's `hooks.before` on `/update-user` and `databaseHooks.user.update.before`.
    async fn on_user_update(
        &self,
        state: &AppState,
        user: &User,
        extra: &mut Map<String, Value>,
    ) -> Result<(), ApiError> {
        let Some(raw) = string_of(extra, USERNAME).map(str::to_owned) else {
            return Ok(());
        };
        self.check(&raw)
            .map_err(|e| e.with_status(StatusCode::BAD_REQUEST))?;
        let normalized = self.normalize(&raw);
        if self.settings.immutable_username {
            if let Some(current) = string_of(&user.extra, USERNAME) {
                if current != normalized {
                    return Err(
                        UsernameError::UsernameIsImmutable.with_status(StatusCode::BAD_REQUEST)
                    );
                }
            }
        }
        let normalized = self.checked(state, &raw, Some(user)).await?;
        extra.insert(USERNAME.into(), Value::String(normalized));
        Ok(())
    }
}
