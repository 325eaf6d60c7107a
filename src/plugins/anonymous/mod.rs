//! The anonymous plugin (Better Auth's `anonymous()`,
//! `packages/better-auth/src/plugins/anonymous/`):
//!
//! - config: `[plugins.anonymous]` ([`config::AnonymousSettings`]);
//! - schema: `user.isAnonymous` (boolean, default false, not settable by input);
//! - routes ([`routes`]): `POST /sign-in/anonymous`, `POST /delete-anonymous-user`;
//! - hook: once a sign-in, sign-up or verification gives a browser that holds an anonymous
//!   user's session another user's session, the anonymous user is deleted (Better Auth's
//!   `hooks.after`), unless `disable_delete_anonymous_user`.

pub mod config;
mod routes;

use std::sync::Arc;

use actix_web::http::header::{HeaderMap, SET_COOKIE};
use actix_web::http::StatusCode;
use actix_web::web;
use async_trait::async_trait;
use indexmap::IndexMap;
use serde_json::{json, Value};

use crate::auth::cookies::{RequestCookies, SESSION_TOKEN};
use crate::auth::fields::{AdditionalField, FieldType};
use crate::config::Settings;
use crate::error::ApiError;
use crate::flows::session::{resolve, Lookup};
use crate::openapi::builder::Op;
use crate::plugin::{Kind, Plugin, Schema};
use crate::state::AppState;
use crate::store::User;
use config::AnonymousSettings;

/// The column, as Better Auth names it.
pub const IS_ANONYMOUS: &str = "isAnonymous";

pub const KIND: Kind<AppState> = Kind {
    id: "anonymous",
    enabled: |s| s.plugins.anonymous.enabled,
    schema: |_| Schema {
        user_fields: IndexMap::from([(
            IS_ANONYMOUS.to_owned(),
            AdditionalField {
                field_type: FieldType::Boolean,
                required: Some(false),
                default: Some(json!(false)),
                input: false,
                returned: true,
            },
        )]),
        ..Schema::default()
    },
    build: |b| {
        let settings = b.settings.plugins.anonymous.clone();
        Box::pin(
            async move { Ok(Arc::new(AnonymousPlugin { settings }) as Arc<dyn Plugin<AppState>>) },
        )
    },
};

/// The paths after which Better Auth's hook looks for a new session.
const SIGN_IN_PATHS: &[&str] = &[
    "/sign-in",
    "/sign-up",
    "/callback",
    "/magic-link/verify",
    "/email-otp/verify-email",
    "/one-tap/callback",
    "/passkey/verify-authentication",
    "/phone-number/verify",
    "/verify-email",
];

/// The plugin's error codes (Better Auth's `ANONYMOUS_ERROR_CODES`).
#[derive(Debug, Clone, Copy)]
pub enum AnonymousError {
    CannotSignInAgain,
    DeleteDisabled,
    NotAnonymous,
}

impl From<AnonymousError> for ApiError {
    fn from(e: AnonymousError) -> Self {
        let (status, code, message) = match e {
            AnonymousError::CannotSignInAgain => (
                StatusCode::BAD_REQUEST,
                "ANONYMOUS_USERS_CANNOT_SIGN_IN_AGAIN_ANONYMOUSLY",
                "Anonymous users cannot sign in again anonymously",
            ),
            AnonymousError::DeleteDisabled => (
                StatusCode::BAD_REQUEST,
                "DELETE_ANONYMOUS_USER_DISABLED",
                "Deleting anonymous users is disabled",
            ),
            AnonymousError::NotAnonymous => (
                StatusCode::FORBIDDEN,
                "USER_IS_NOT_ANONYMOUS",
                "User is not anonymous",
            ),
        };
        ApiError::Custom {
            status,
            code,
            message: message.into(),
        }
    }
}

/// Whether the user is an anonymous one.
pub fn is_anonymous(user: &User) -> bool {
    user.extra.get(IS_ANONYMOUS) == Some(&Value::Bool(true))
}

/// The session token a response's `Set-Cookie` gives the browser, if any (not a removal).
fn new_session_token(headers: &HeaderMap, cookie_name: &str) -> Option<String> {
    let prefix = format!("{cookie_name}=");
    headers
        .get_all(SET_COOKIE)
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.strip_prefix(&prefix))
        .filter_map(|v| v.split(';').next())
        .filter_map(|v| percent_encoding::percent_decode_str(v).decode_utf8().ok())
        .filter_map(|v| v.split('.').next().map(str::to_owned))
        .rfind(|t| !t.is_empty())
}

pub struct AnonymousPlugin {
    settings: AnonymousSettings,
}

impl AnonymousPlugin {
    /// Better Auth's `getAnonUserEmail`.
    fn email(&self) -> String {
        // Stored lower-cased, as Better Auth's `createUser` stores every email.
        let id = crate::auth::crypto::generate_id();
        match &self.settings.email_domain_name {
            Some(domain) => format!("temp-{id}@{domain}"),
            None => format!("{id}@anonymous.placeholder.invalid"),
        }
        .to_lowercase()
    }
}

#[async_trait]
impl Plugin<AppState> for AnonymousPlugin {
    fn id(&self) -> &'static str {
        KIND.id
    }

    fn routes(&self, cfg: &mut web::ServiceConfig) {
        routes::configure(cfg);
    }

    fn openapi(&self, settings: &Settings) -> Vec<Op> {
        routes::openapi(settings)
    }

    fn watches_responses(&self) -> bool {
        true
    }

    /// Better Auth's `hooks.after`: the browser held an anonymous user's session and now gets a
    /// session of another, non-anonymous user: the anonymous user (with its sessions and
    /// accounts) is deleted.
    async fn after_response(
        &self,
        state: &AppState,
        path: &str,
        request: &RequestCookies,
        response: &mut HeaderMap,
    ) {
        if self.settings.disable_delete_anonymous_user
            || !SIGN_IN_PATHS.iter().any(|p| path.starts_with(p))
        {
            return;
        }
        let Some(token) = new_session_token(response, &state.cookies.name(SESSION_TOKEN)) else {
            return;
        };
        let lookup = Lookup {
            disable_refresh: true,
            ..Lookup::default()
        };
        let anonymous = match resolve(state, request, lookup).await {
            Ok(resolved) => resolved.found.map(|(_, user)| user),
            Err(_) => None,
        };
        let Some(anonymous) = anonymous.filter(is_anonymous) else {
            return;
        };
        let new_user = match state.store.find_session_with_user(&token).await {
            Ok(found) => found.map(|(_, user)| user),
            Err(e) => {
                tracing::warn!(error = %e, "could not read the new session after a sign-in");
                None
            }
        };
        let Some(new_user) = new_user else {
            return;
        };
        if new_user.id == anonymous.id || is_anonymous(&new_user) {
            return;
        }
        match state.store.delete_user(&anonymous.id).await {
            Ok(()) => {
                tracing::info!(anonymous_user_id = %anonymous.id, "anonymous user linked and removed")
            }
            Err(e) => {
                tracing::error!(error = %e, "could not remove the anonymous user after linking")
            }
        }
    }
}
