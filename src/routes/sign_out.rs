//! `POST /sign-out` (endpoints.md §1.3).

use actix_web::{web, HttpRequest, HttpResponse};
use secrecy::ExposeSecret;
use serde_json::json;

use crate::auth::cookies::SESSION_TOKEN;
use crate::auth::crypto::Signed;
use crate::error::ApiError;
use crate::http::extract::read_checked_body;
use crate::http::request_cookies;
use crate::state::AppState;

#[tracing::instrument(name = "sign_out", skip_all)]
pub async fn sign_out(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    read_checked_body(&state, &req, payload, false).await?;
    let jar = request_cookies(&req);
    let secret = state.settings.secret.expose_secret().as_bytes();
    if let Signed::Valid(token) = jar.signed(secret, &state.cookies.name(SESSION_TOKEN)) {
        if let Err(e) = state.store.delete_session(token).await {
            tracing::warn!(error = %e, "sign-out could not delete the session");
        }
    }
    let mut res = HttpResponse::Ok();
    for c in state.cookies.clear_session(&jar) {
        res.cookie(c);
    }
    Ok(res.json(json!({ "success": true })))
}
