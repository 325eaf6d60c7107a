//! `GET /get-session`, and `GET /api/validate-session` for other backends (`spec/sessions.md`
//! §4; Better Auth's `api/routes/session.ts`).

use actix_web::http::header::{self, ContentType, HeaderValue};
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{Map, Value};

use crate::error::{ApiError, ErrorCode};
use crate::flows::session::Lookup;
use crate::http::current::flag;
use crate::http::hooks::caller_session;
use crate::state::AppState;
use crate::store::json::{session_json, user_json};

#[tracing::instrument(name = "get_session", skip_all)]
pub async fn get_session(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let lookup = Lookup {
        disable_cache: flag(&req, "disableCookieCache"),
        disable_refresh: flag(&req, "disableRefresh"),
    };
    let resolved = caller_session(&state, &req, lookup).await?;
    let mut res = HttpResponse::Ok();
    res.insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .insert_header((header::PRAGMA, HeaderValue::from_static("no-cache")));
    for c in resolved.cookies {
        res.cookie(c);
    }
    let Some((session, user)) = &resolved.found else {
        return Ok(res.json(Value::Null));
    };
    // The user's JSON serves the body, then the plugins' after-hooks (the JWT plugin's
    // `set-auth-jwt`, jwt-jwks.md §1.3).
    let mut body = Map::new();
    body.insert("session".into(), session_json(session));
    body.insert("user".into(), user_json(user, state.store.user_fields()));
    let bytes = serde_json::to_vec(&body).map_err(|e| ApiError::Internal(e.into()))?;
    let mut res = res.content_type(ContentType::json()).body(bytes);
    if let Some(user) = body.get("user") {
        for plugin in state.plugins.iter() {
            plugin
                .get_session_headers(&state, user, res.headers_mut())
                .await?;
        }
    }
    Ok(res)
}

/// `GET /api/validate-session`, outside the base path: for backends that forward their caller's
/// `Cookie` or `Authorization: Bearer` header. The session is read as get-session reads it but
/// never refreshed (the answer goes to a backend, not to the browser): 200 `{session, user}`,
/// else 401.
#[tracing::instrument(name = "validate_session", skip_all)]
pub async fn validate_session(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let lookup = Lookup {
        disable_refresh: true,
        ..Lookup::default()
    };
    let Some((session, user)) = caller_session(&state, &req, lookup).await?.found else {
        return Err(ErrorCode::Unauthorized.into());
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .json(serde_json::json!({ "session": session_json(&session), "user": user_json(&user, state.store.user_fields()) })))
}

/// `POST /get-session` exists only with `deferSessionRefresh`, which we do not offer.
pub async fn post_get_session() -> Result<HttpResponse, ApiError> {
    Err(ErrorCode::MethodNotAllowedDeferSessionRequired.into())
}
