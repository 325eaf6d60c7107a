//! The multi-session plugin (Better Auth's `multiSession()`,
//! `packages/better-auth/src/plugins/multi-session/index.ts`): one browser keeps several
//! accounts signed in and switches between them.
//!
//! - config: `[plugins.multi_session]` ([`config::MultiSessionSettings`]), off by default;
//! - no schema;
//! - routes: `GET /multi-session/list-device-sessions`, `POST /multi-session/set-active`,
//!   `POST /multi-session/revoke`;
//! - hooks (`after_response`): each response that writes a session cookie also writes
//!   `<session cookie name>_multi-<token in lower case>`, signed like it, up to
//!   `maximum_sessions` (an older one of the same user is dropped, its session deleted);
//!   `/sign-out` expires every such cookie the browser sent and deletes their sessions.

pub mod config;
mod routes;

use std::borrow::Cow;
use std::sync::Arc;

use actix_web::cookie::Cookie;
use actix_web::http::header::{self, HeaderMap, HeaderValue};
use actix_web::http::StatusCode;
use async_trait::async_trait;
use percent_encoding::percent_decode_str;
use secrecy::ExposeSecret;

use crate::auth::cookies::{RequestCookies, SESSION_TOKEN};
use crate::auth::crypto::{verify_signed, Signed};
use crate::config::Settings;
use crate::error::ApiError;
use crate::openapi::builder::Op;
use crate::plugin::{Kind, Plugin, Schema};
use crate::state::AppState;

pub const KIND: Kind<AppState> = Kind {
    id: "multi_session",
    enabled: |s| s.plugins.multi_session.enabled,
    schema: |_| Schema::default(),
    build: |b| {
        let maximum = b.settings.plugins.multi_session.maximum_sessions;
        Box::pin(async move {
            Ok(Arc::new(MultiSessionPlugin { maximum }) as Arc<dyn Plugin<AppState>>)
        })
    },
};

pub struct MultiSessionPlugin {
    maximum: usize,
}

/// `MULTI_SESSION_ERROR_CODES.INVALID_SESSION_TOKEN`, always 401.
pub(crate) fn invalid_session_token() -> ApiError {
    ApiError::Custom {
        status: StatusCode::UNAUTHORIZED,
        code: "INVALID_SESSION_TOKEN",
        message: Cow::Borrowed("Invalid session token"),
    }
}

/// Better Auth's `isMultiSessionCookie`.
fn is_multi(name: &str) -> bool {
    name.contains("_multi-")
}

pub(crate) fn secret(state: &AppState) -> &[u8] {
    state.settings.secret.expose_secret().as_bytes()
}

/// The cookie's full name for a session token.
pub(crate) fn cookie_name(state: &AppState, token: &str) -> String {
    format!(
        "{}_multi-{}",
        state.cookies.name(SESSION_TOKEN),
        token.to_lowercase()
    )
}

/// The multi-session cookie for `token`, with the session cookie's attributes and lifetime.
fn cookie_for(state: &AppState, token: &str) -> Cookie<'static> {
    let logical = format!("{SESSION_TOKEN}_multi-{}", token.to_lowercase());
    state.cookies.signed(
        secret(state),
        &logical,
        token,
        Some(state.cookies.session_max_age()),
    )
}

/// The session tokens of the request's validly signed multi-session cookies, by cookie name.
pub(crate) fn request_tokens<'a>(
    state: &AppState,
    jar: &'a RequestCookies,
) -> Vec<(&'a str, &'a str)> {
    let secret = secret(state);
    jar.names()
        .filter(|n| is_multi(n))
        .filter_map(|n| match jar.signed(secret, n) {
            Signed::Valid(token) => Some((n, token)),
            _ => None,
        })
        .collect()
}

fn append(headers: &mut HeaderMap, cookie: &Cookie<'static>) {
    if let Ok(v) = HeaderValue::from_str(&cookie.to_string()) {
        headers.append(header::SET_COOKIE, v);
    }
}

/// The session token a response's `Set-Cookie` gives the browser, if it sets one.
fn issued_token(state: &AppState, headers: &HeaderMap) -> Option<String> {
    let prefix = format!("{}=", state.cookies.name(SESSION_TOKEN));
    let value = headers
        .get_all(header::SET_COOKIE)
        .filter_map(|v| v.to_str().ok())
        .filter(|c| c.starts_with(&prefix))
        .filter_map(|c| c[prefix.len()..].split(';').next())
        .last()
        .filter(|v| !v.is_empty())?;
    let decoded = percent_decode_str(value).decode_utf8().ok()?;
    match verify_signed(secret(state), &decoded) {
        Signed::Valid(token) => Some(token.to_owned()),
        _ => None,
    }
}

impl MultiSessionPlugin {
    /// The first `hooks.after` of Better Auth's plugin: a new session cookie gets its
    /// multi-session twin, unless the browser holds `maximum` others already.
    async fn on_new_session(
        &self,
        state: &AppState,
        jar: &RequestCookies,
        headers: &mut HeaderMap,
    ) -> Result<(), ApiError> {
        let Some(token) = issued_token(state, headers) else {
            return Ok(());
        };
        let name = cookie_name(state, &token);
        if jar.get(&name).is_some() {
            return Ok(());
        }
        let Some((_, user)) = state.store.find_session_with_user(&token).await? else {
            return Ok(());
        };
        let keys = jar.names().filter(|n| is_multi(n)).count();
        let mut dropped = 0;
        for (key, other) in request_tokens(state, jar) {
            let same_user = state
                .store
                .find_session_with_user(other)
                .await?
                .is_some_and(|(_, u)| u.id == user.id);
            if same_user {
                state.store.delete_session(other).await?;
                append(headers, &state.cookies.removal(key));
                dropped += 1;
            }
        }
        if keys - dropped + 1 > self.maximum {
            return Ok(());
        }
        append(headers, &cookie_for(state, &token));
        Ok(())
    }

    /// The `/sign-out` hook: every multi-session cookie the browser sent is expired and its
    /// session deleted.
    async fn on_sign_out(
        &self,
        state: &AppState,
        jar: &RequestCookies,
        headers: &mut HeaderMap,
    ) -> Result<(), ApiError> {
        for (key, token) in request_tokens(state, jar) {
            // Better Auth lower-cases the name, then restores the `__Secure-` prefix.
            let name = key.to_lowercase().replacen("__secure-", "__Secure-", 1);
            append(headers, &state.cookies.removal(&name));
            state.store.delete_session(token).await?;
        }
        Ok(())
    }
}

#[async_trait]
impl Plugin<AppState> for MultiSessionPlugin {
    fn id(&self) -> &'static str {
        KIND.id
    }

    fn routes(&self, cfg: &mut actix_web::web::ServiceConfig) {
        routes::configure(cfg);
    }

    fn openapi(&self, settings: &Settings) -> Vec<Op> {
        routes::openapi(settings)
    }

    fn watches_responses(&self) -> bool {
        true
    }

    async fn after_response(
        &self,
        state: &AppState,
        path: &str,
        request: &RequestCookies,
        response: &mut HeaderMap,
    ) {
        let done = if path == "/sign-out" {
            self.on_sign_out(state, request, response).await
        } else {
            self.on_new_session(state, request, response).await
        };
        if let Err(e) = done {
            tracing::error!(error = %e, "multi-session cookies not updated");
        }
    }
}
