//! `/multi-session/*` (Better Auth's `plugins/multi-session/index.ts` endpoints). A browser
//! proves each account with its signed `<session cookie>_multi-<token>` cookie; a token it
//! holds no such cookie for is refused.

use actix_web::cookie::Cookie;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};
use utoipa::openapi::path::HttpMethod::{Get, Post};

use super::{cookie_name, invalid_session_token, request_tokens, secret};
use crate::auth::cookies::{RequestCookies, DONT_REMEMBER};
use crate::auth::crypto::Signed;
use crate::config::Settings;
use crate::error::ApiError;
use crate::flows::session::session_cookies;
use crate::http::extract::{read_checked_body, Validator};
use crate::http::route::{get, post};
use crate::http::{json_with_cookies, request_cookies, Current, Need};
use crate::openapi::builder::{
    array_of, object, session, session_and_user, status_true, string, Op,
};
use crate::state::AppState;
use crate::store::json::{session_json, user_json};
use crate::store::{Session, User};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(get(
        "/multi-session/list-device-sessions",
        list_device_sessions,
    ))
    .service(post("/multi-session/set-active", set_active))
    .service(post("/multi-session/revoke", revoke));
}

fn pair_json(state: &AppState, session: &Session, user: &User) -> Value {
    json!({
        "session": session_json(session),
        "user": user_json(user, state.store.user_fields()),
    })
}

/// The unexpired sessions (with their users) of `tokens`, in order.
async fn live_sessions(
    state: &AppState,
    tokens: impl IntoIterator<Item = &str>,
) -> Result<Vec<(Session, User)>, ApiError> {
    let now = state.clock.now();
    let mut out = Vec::new();
    for token in tokens {
        if let Some(found) = state.store.find_session_with_user(token).await? {
            if found.0.expires_at > now {
                out.push(found);
            }
        }
    }
    Ok(out)
}

/// The token of the browser's multi-session cookie for `token`, if validly signed.
fn held_token(state: &AppState, jar: &RequestCookies, token: &str) -> Option<String> {
    match jar.signed(secret(state), &cookie_name(state, token)) {
        Signed::Valid(t) => Some(t.to_owned()),
        _ => None,
    }
}

fn session_token_body(body: Option<&Value>) -> Result<String, ApiError> {
    let mut v = Validator::body(body);
    let token = v.string("sessionToken");
    v.finish()?;
    Ok(token)
}

#[tracing::instrument(name = "multi_session.list_device_sessions", skip_all)]
async fn list_device_sessions(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let jar = request_cookies(&req);
    let tokens = request_tokens(&state, &jar);
    let mut list: Vec<(Session, User)> = Vec::new();
    for found in live_sessions(&state, tokens.iter().map(|(_, t)| *t)).await? {
        if !list.iter().any(|(_, u)| u.id == found.1.id) {
            list.push(found);
        }
    }
    let body: Vec<Value> = list.iter().map(|(s, u)| pair_json(&state, s, u)).collect();
    Ok(HttpResponse::Ok().json(body))
}

#[tracing::instrument(name = "multi_session.set_active", skip_all)]
async fn set_active(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = read_checked_body(&state, &req, payload, false).await?;
    let wanted = session_token_body(body.as_ref())?;
    let jar = request_cookies(&req);
    let Some(token) = held_token(&state, &jar, &wanted) else {
        return Err(invalid_session_token());
    };
    let found = live_sessions(&state, [token.as_str()]).await?;
    let Some((session, user)) = found.into_iter().next() else {
        let gone = state.cookies.removal(&cookie_name(&state, &wanted));
        return Err(invalid_session_token().with_cookies(vec![gone]));
    };
    let dont_remember = matches!(
        jar.signed(secret(&state), &state.cookies.name(DONT_REMEMBER)),
        Signed::Valid(_)
    );
    let cookies = session_cookies(&state, &session, &user, dont_remember);
    Ok(json_with_cookies(
        cookies,
        &pair_json(&state, &session, &user),
    ))
}

#[tracing::instrument(name = "multi_session.revoke", skip_all)]
async fn revoke(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = read_checked_body(&state, &req, payload, false).await?;
    let wanted = session_token_body(body.as_ref())?;
    let current = Current::require(&state, &req, Need::Session).await?;
    let Some(token) = held_token(&state, &current.jar, &wanted) else {
        return Err(current.fail(invalid_session_token()));
    };
    let mut cookies: Vec<Cookie<'static>> = Vec::new();
    let result = async {
        state.store.delete_session(&token).await?;
        cookies.push(state.cookies.removal(&cookie_name(&state, &wanted)));
        if current.session.token != token {
            return Ok(());
        }
        // The active session is gone: the browser switches to its next live account, or is
        // signed out.
        let others = request_tokens(&state, &current.jar);
        let next = live_sessions(&state, others.iter().map(|(_, t)| *t)).await?;
        match next.first() {
            Some((session, user)) => {
                cookies.extend(session_cookies(
                    &state,
                    session,
                    user,
                    current.dont_remember,
                ));
            }
            None => cookies.extend(state.cookies.clear_session(&current.jar)),
        }
        Ok::<(), ApiError>(())
    }
    .await;
    if let Err(e) = result {
        return Err(current.fail(e));
    }
    Ok(current.respond(cookies, &status_body()))
}

fn status_body() -> Value {
    json!({ "status": true })
}

pub fn openapi(settings: &Settings) -> Vec<Op> {
    let token = || vec![("sessionToken", string())];
    vec![
        Op::new(
            Get,
            "/multi-session/list-device-sessions",
            "Multi-session",
            "List the device sessions of the browser",
        )
        .ok(array_of(session_and_user(settings))),
        Op::new(
            Post,
            "/multi-session/set-active",
            "Multi-session",
            "Set the active session",
        )
        .body(token(), &["sessionToken"])
        .ok(object(vec![("session", session())], &[], true).into()),
        Op::new(
            Post,
            "/multi-session/revoke",
            "Multi-session",
            "Revoke a device session",
        )
        .body(token(), &["sessionToken"])
        .ok(status_true()),
    ]
}
