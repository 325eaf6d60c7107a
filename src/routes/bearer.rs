//! The bearer plugin (`spec/bearer.md`): `Authorization: Bearer <token>` becomes the session
//! cookie before the route runs, and a newly written session cookie is echoed in
//! `set-auth-token`.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage};
use percent_encoding::percent_decode_str;
use secrecy::ExposeSecret;

use super::extract::SentCookies;
use crate::auth::cookies::SESSION_TOKEN;
use crate::auth::crypto::{encode_uri_component, sign_value, verify_signed_lenient};
use crate::startup::AppState;

pub const SET_AUTH_TOKEN: HeaderName = HeaderName::from_static("set-auth-token");

/// Adds `name` to `Access-Control-Expose-Headers`, keeping what is there.
pub fn expose_header(headers: &mut actix_web::http::header::HeaderMap, name: &str) {
    let current = headers
        .get(header::ACCESS_CONTROL_EXPOSE_HEADERS)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .unwrap_or_default();
    if current
        .split(',')
        .any(|h| h.trim().eq_ignore_ascii_case(name))
    {
        return;
    }
    let joined = if current.is_empty() {
        name.to_owned()
    } else {
        format!("{current}, {name}")
    };
    if let Ok(v) = HeaderValue::from_str(&joined) {
        headers.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, v);
    }
}

/// The signed session value a bearer header stands for, if it is valid (bearer.md §1).
fn bearer_session_value(state: &AppState, authorization: &str) -> Option<String> {
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
    } else if state.settings.plugins.bearer.require_signature {
        return None;
    } else {
        sign_value(secret, token)
    };
    let raw = verify_signed_lenient(secret, &signed)?;
    Some(sign_value(secret, raw))
}

pub async fn middleware(
    mut req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return next.call(req).await;
    };
    let had_cookies = req.headers().contains_key(header::COOKIE);
    req.extensions_mut().insert(SentCookies(had_cookies));
    let cookie_name = state.cookies.name(SESSION_TOKEN);
    if !state.settings.plugins.bearer.enabled {
        return next.call(req).await;
    }
    let bearer = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|a| bearer_session_value(&state, a));
    if let Some(value) = bearer {
        // Replace the session cookie, keep every other cookie.
        let others: Vec<String> = req
            .headers()
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
            req.headers_mut().insert(header::COOKIE, v);
        }
    }
    let mut res = next.call(req).await?;
    let prefix = format!("{cookie_name}=");
    let issued = res
        .headers()
        .get_all(header::SET_COOKIE)
        .filter_map(|v| v.to_str().ok())
        .filter(|c| c.starts_with(&prefix) && !c.contains("Max-Age=0"))
        .filter_map(|c| c[prefix.len()..].split(';').next().map(str::to_owned))
        .find(|v| !v.is_empty());
    if let Some(value) = issued {
        let decoded = percent_decode_str(&value).decode_utf8_lossy().into_owned();
        if let Ok(v) = HeaderValue::from_str(&decoded) {
            res.headers_mut().insert(SET_AUTH_TOKEN, v);
            expose_header(res.headers_mut(), "set-auth-token");
        }
    }
    Ok(res)
}
