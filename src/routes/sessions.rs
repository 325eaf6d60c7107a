//! Session management: list, revoke, update (docs/compatibility.md §5.9). Revocation deletes rows;
//! the caller's own cookies are expired when its own session goes, as Better Auth 1.7.25
//! does (`api/routes/session.ts`). Another browser holding a still-valid cookie cache keeps
//! reading it until the cache expires (docs/compatibility.md §8.4 step 2), but the sensitive routes
//! re-read the database, so a revoked session can do nothing that matters.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

use crate::error::{ApiError, ErrorCode};
use crate::http::extract::{no_fields_to_update, read_checked_body, record_body, Validator};
use crate::http::{Current, Need};
use crate::state::AppState;
use crate::store::json::session_json;

#[tracing::instrument(name = "list_sessions", skip_all)]
pub async fn list_sessions(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let current = Current::require(&state, &req, Need::Fresh).await?;
    let now = state.clock.now();
    let sessions = state
        .store
        .list_sessions(&current.user.id)
        .await
        .map_err(|e| {
            if e.is_unavailable() {
                return current.fail(ApiError::from(e));
            }
            tracing::error!(error = %e, "listing sessions failed");
            current.fail(ApiError::Empty(StatusCode::INTERNAL_SERVER_ERROR))
        })?;
    let active: Vec<Value> = sessions
        .iter()
        .filter(|s| s.expires_at > now && state.plugins.iter().all(|p| p.listed(s)))
        .map(session_json)
        .collect();
    Ok(current.respond(Vec::new(), &Value::Array(active)))
}

/// Revocation storage failures are a coded 500 (docs/compatibility.md §5.9); an unreachable storage
/// is the 503 of every route.
fn revoke_failed(e: crate::store::StoreError) -> ApiError {
    if e.is_unavailable() {
        return e.into();
    }
    tracing::error!(error = %e, "revoking sessions failed");
    ErrorCode::InternalServerError.into()
}

#[tracing::instrument(name = "revoke_session", skip_all)]
pub async fn revoke_session(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = read_checked_body(&state, &req, payload, false).await?;
    let mut v = Validator::body(body.as_ref());
    let token = v.string("token");
    v.finish()?;
    let current = Current::require(&state, &req, Need::Sensitive).await?;
    // Scoped to the caller: another user's token is silently left alone.
    state
        .store
        .delete_user_sessions_by_token(&current.user.id, std::slice::from_ref(&token))
        .await
        .map_err(|e| current.fail(revoke_failed(e)))?;
    let cookies = if token == current.session.token {
        state.cookies.clear_session(&current.jar)
    } else {
        Vec::new()
    };
    Ok(current.respond(cookies, &json!({ "status": true })))
}

#[tracing::instrument(name = "revoke_sessions", skip_all)]
pub async fn revoke_sessions(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    read_checked_body(&state, &req, payload, false).await?;
    let current = Current::require(&state, &req, Need::Sensitive).await?;
    state
        .store
        .delete_user_sessions(state.store.connection(), &current.user.id)
        .await
        .map_err(|e| current.fail(revoke_failed(e)))?;
    let cookies = state.cookies.clear_session(&current.jar);
    Ok(current.respond(cookies, &json!({ "status": true })))
}

#[tracing::instrument(name = "revoke_other_sessions", skip_all)]
pub async fn revoke_other_sessions(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    read_checked_body(&state, &req, payload, false).await?;
    let current = Current::require(&state, &req, Need::Sensitive).await?;
    let now = state.clock.now();
    let others: Vec<String> = state
        .store
        .list_sessions(&current.user.id)
        .await
        .map_err(|e| current.fail(e))?
        .into_iter()
        .filter(|s| s.expires_at > now && s.token != current.session.token)
        .map(|s| s.token)
        .collect();
    state
        .store
        .delete_user_sessions_by_token(&current.user.id, &others)
        .await
        .map_err(|e| current.fail(e))?;
    Ok(current.respond(Vec::new(), &json!({ "status": true })))
}

/// Better Auth updates only declared session additional fields here; this service declares
/// none, so every object body has nothing to update (core fields are ignored, as there).
#[tracing::instrument(name = "update_session", skip_all)]
pub async fn update_session(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = read_checked_body(&state, &req, payload, false).await?;
    record_body(body.as_ref())?;
    let current = Current::require(&state, &req, Need::Session).await?;
    Err(current.fail(no_fields_to_update()))
}
