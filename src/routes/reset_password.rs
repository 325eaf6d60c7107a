//! Password reset by mailed link (docs/compatibility.md §5.6; Better Auth's
//! `api/routes/password.ts`): `POST /request-password-reset` (and the pre-1.4 alias
//! `/forget-password`), `GET /reset-password/:token`, `POST /reset-password`.

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

use crate::auth::links::resolve_with_param;
use crate::error::{ApiError, ErrorCode};
use crate::flows::password_reset;
use crate::http::extract::{
    check_query_callback, nul_issue, query_object, read_checked_body, Validator,
};
use crate::http::redirect;
use crate::state::AppState;

const INVALID_TOKEN: &str = "INVALID_TOKEN";
/// The answer takes at least this long, for a known email as for an unknown one, so that the
/// time does not tell which it was whatever each costs the database (`docs/compatibility.md`
/// §5.6). Better Auth makes the same database round trip for an unknown email
/// (`better-auth/src/api/routes/password.ts`) and a floor of this length for verification mails
/// (`MINIMUM_MS`, `better-auth/src/api/routes/email-verification.ts`).
const ANSWER_FLOOR: std::time::Duration = std::time::Duration::from_millis(500);

#[tracing::instrument(name = "request_password_reset", skip_all)]
pub async fn request_password_reset(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = read_checked_body(&state, &req, payload, false).await?;
    let mut v = Validator::body(body.as_ref());
    let email = v.email("email");
    let redirect_to = v.opt_string("redirectTo");
    v.finish()?;
    let started = tokio::time::Instant::now();
    let result = password_reset::request(&state, &email, redirect_to.as_deref()).await;
    tokio::time::sleep_until(started + ANSWER_FLOOR).await;
    result?;
    Ok(HttpResponse::Ok().json(json!({
        "status": true,
        "message": "If this email exists in our system, check your email for the reset link",
    })))
}

#[tracing::instrument(name = "reset_password_callback", skip_all)]
pub async fn reset_password_callback(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let query = query_object(&req);
    let mut v = Validator::query(&query);
    let callback = v.string("callbackURL");
    v.finish()?;
    check_query_callback(&state, Some(&callback))?;
    let token = path.into_inner();
    if token.contains('\0') {
        return Err(nul_issue("params.token"));
    }
    let base = state.settings.base_url();
    let error_target = || {
        let target = if callback.is_empty() {
            format!("{base}/error")
        } else {
            callback.clone()
        };
        resolve_with_param(&base, &target, "error", INVALID_TOKEN)
            .ok_or(ApiError::from(ErrorCode::InvalidCallbackUrl))
    };
    if token.is_empty() || callback.is_empty() {
        return redirect(&error_target()?, Vec::new());
    }
    if !password_reset::is_live(&state, &token).await? {
        return redirect(&error_target()?, Vec::new());
    }
    let location = resolve_with_param(&base, &callback, "token", &token)
        .ok_or(ApiError::from(ErrorCode::InvalidCallbackUrl))?;
    redirect(&location, Vec::new())
}

#[tracing::instrument(name = "reset_password", skip_all, fields(user_id = tracing::field::Empty))]
pub async fn reset_password(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = read_checked_body(&state, &req, payload, false).await?;
    let query = query_object(&req);
    let mut q = Validator::query(&query);
    let query_token = q.opt_string("token");
    let mut v = Validator::body(body.as_ref());
    let new_password = v.string("newPassword");
    let body_token = v.opt_string("token");
    q.finish()?;
    v.finish()?;

    // Body token, else query token; an empty one counts as none, as in JavaScript.
    let Some(token) = body_token
        .filter(|t| !t.is_empty())
        .or(query_token.filter(|t| !t.is_empty()))
    else {
        return Err(ErrorCode::InvalidToken.into());
    };
    password_reset::reset(&state, &token, new_password).await?;
    Ok(HttpResponse::Ok().json(json!({ "status": true })))
}
