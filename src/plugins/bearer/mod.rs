//! The bearer plugin (Better Auth's `bearer()`, `packages/better-auth/src/plugins/bearer/index.ts`,
//! docs/compatibility.md §12):
//!
//! - config: `[plugins.bearer]` ([`config::BearerSettings`]), on by default;
//! - no schema, no routes;
//! - hooks: before a route, `Authorization: Bearer <token>` becomes the session cookie; after it,
//!   a newly written session cookie is echoed in `set-auth-token`.

pub mod config;

use std::sync::Arc;

use actix_web::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use async_trait::async_trait;
use percent_encoding::percent_decode_str;
use secrecy::ExposeSecret;

use crate::auth::cookies::SESSION_TOKEN;
use crate::auth::crypto::{encode_uri_component, sign_value, verify_signed_lenient};
use crate::http::expose_header;
use crate::plugin::{Kind, Plugin, Schema};
use crate::state::AppState;

pub const KIND: Kind<AppState> = Kind {
    id: "bearer",
    enabled: |s| s.plugins.bearer.enabled,
    schema: |_| Schema::default(),
    build: |b| {
        let require_signature = b.settings.plugins.bearer.require_signature;
        Box::pin(async move {
            Ok(Arc::new(BearerPlugin { require_signature }) as Arc<dyn Plugin<AppState>>)
        })
    },
};

pub const SET_AUTH_TOKEN: HeaderName = HeaderName::from_static("set-auth-token");

pub struct BearerPlugin {
    require_signature: bool,
}

/// The signed session value a bearer header stands for, if it is valid
/// (docs/compatibility.md §12.1).
fn bearer_session_value(
    state: &AppState,
    require_signature: bool,
    authorization: &str,
) -> Option<String> {
    let (scheme, rest) = authorization.split_at_checked(7)?;
    if !scheme.eq_ignore_ascii_case("bearer ") {
        return None;
    }
    let token = rest.trim();
    if token.is_empty() {
        return None;
    }
    let secret = state.settings.secret.expose_secret().as_bytes();
    let signed = if token.contains('.') {
        if token.contains('%') {
            percent_decode_str(token).decode_utf8().ok()?.into_owned()
        } else {
            token.to_owned()
        }
    } else if require_signature {
        return None;
    } else {
        sign_value(secret, token)
    };
    let raw = verify_signed_lenient(secret, &signed)?;
    Some(sign_value(secret, raw))
}

#[async_trait]
impl Plugin<AppState> for BearerPlugin {
    fn id(&self) -> &'static str {
        KIND.id
    }

    /// A valid bearer token replaces the session cookie; every other cookie stays.
    fn on_request(&self, state: &AppState, headers: &mut HeaderMap) {
        let bearer = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|a| bearer_session_value(state, self.require_signature, a));
        let Some(value) = bearer else {
            return;
        };
        let cookie_name = state.cookies.name(SESSION_TOKEN);
        let others: Vec<String> = headers
            .get_all(header::COOKIE)
            .filter_map(|v| v.to_str().ok())
            .flat_map(|h| {
                h.split(';')
                    .map(|p| p.trim().to_owned())
                    .collect::<Vec<_>>()
            })
            .filter(|p| !p.is_empty() && p.split('=').next() != Some(cookie_name.as_str()))
            .collect();
        let mut all = vec![format!("{cookie_name}={}", encode_uri_component(&value))];
        all.extend(others);
        if let Ok(v) = HeaderValue::from_str(&all.join("; ")) {
            headers.insert(header::COOKIE, v);
        }
    }

    /// A session cookie written by the route is echoed in `set-auth-token`.
    fn on_response(&self, state: &AppState, headers: &mut HeaderMap) {
        let prefix = format!("{}=", state.cookies.name(SESSION_TOKEN));
        let issued = headers
            .get_all(header::SET_COOKIE)
            .filter_map(|v| v.to_str().ok())
            .filter(|c| c.starts_with(&prefix) && !c.contains("Max-Age=0"))
            .filter_map(|c| c[prefix.len()..].split(';').next().map(str::to_owned))
            .find(|v| !v.is_empty());
        if let Some(value) = issued {
            let decoded = percent_decode_str(&value).decode_utf8_lossy().into_owned();
            if let Ok(v) = HeaderValue::from_str(&decoded) {
                headers.insert(SET_AUTH_TOKEN, v);
                expose_header(headers, "set-auth-token");
            }
        }
    }
}
