//! Password reset by mailed link (endpoints.md §1.4–1.6, tokens-and-emails.md §4):
//! `POST /request-password-reset` (and the pre-1.4 alias `/forget-password`),
//! `GET /reset-password/:token`, `POST /reset-password`.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::Duration;
use secrecy::SecretString;
use serde_json::json;

use super::sign_up::check_password_length;
use super::verification::redirect;
use crate::auth::crypto::random_alphanumeric;
use crate::auth::links::{reset_password_url, resolve_with_param};
use crate::error::{ApiError, ErrorCode};
use crate::http::extract::{check_query_callback, query_object, read_checked_body, Validator};
use crate::mail::{Mail, MailKind};
use crate::state::AppState;

const IDENTIFIER_PREFIX: &str = "reset-password:";
const TOKEN_LENGTH: usize = 24;
const INVALID_TOKEN: &str = "INVALID_TOKEN";

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
    if !state.settings.email_and_password.enabled {
        return Err(ErrorCode::ResetPasswordDisabled.into());
    }

    let token = random_alphanumeric(TOKEN_LENGTH);
    let identifier = format!("{IDENTIFIER_PREFIX}{token}");
    let now = state.clock.now();
    match state
        .store
        .find_user_by_email(&crate::auth::email::normalize(&email))
        .await?
    {
        Some(user) => {
            let ttl = state
                .settings
                .email_and_password
                .reset_password_token_expires_in;
            state
                .store
                .create_verification(&identifier, &user.id, now + Duration::seconds(ttl), now)
                .await?;
            let url =
                reset_password_url(&state.settings.base_url(), &token, redirect_to.as_deref());
            let mail = Mail {
                kind: MailKind::ResetPassword,
                email: user.email.clone(),
                user_id: user.id.clone(),
                url,
                token,
                at: now,
            };
            state.mailer.send(mail).await;
        }
        None => {
            // The same database round trip as a real request, as Better Auth does.
            state.store.find_verification(&identifier, now).await?;
            tracing::info!("password reset asked for an unknown email");
        }
    }
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
    let now = state.clock.now();
    let found = state
        .store
        .find_verification(&format!("{IDENTIFIER_PREFIX}{token}"), now)
        .await?;
    if found.is_none_or(|v| v.expires_at < now) {
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
    check_password_length(&state, &new_password)?;
    let identifier = format!("{IDENTIFIER_PREFIX}{token}");
    let now = state.clock.now();
    let Some(found) = state
        .store
        .find_verification(&identifier, now)
        .await?
        .filter(|v| v.expires_at >= now)
    else {
        return Err(ErrorCode::InvalidToken.into());
    };
    let Some(user) = state.store.find_user_by_id(&found.value).await? else {
        return Err(ErrorCode::UserNotFound.into());
    };
    tracing::Span::current().record("user_id", tracing::field::display(&user.id));
    let hash = state.hasher.hash(SecretString::from(new_password)).await?;
    // Spend the token only now; of two concurrent resets exactly one gets past this.
    if state
        .store
        .consume_verification(&identifier, state.clock.now())
        .await?
        .is_none()
    {
        return Err(ErrorCode::InvalidToken.into());
    }
    state
        .store
        .reset_credential_password(
            &user.id,
            &hash,
            state
                .settings
                .email_and_password
                .revoke_sessions_on_password_reset,
            state.clock.now(),
        )
        .await?;
    tracing::info!("password reset");
    Ok(HttpResponse::Ok().json(json!({ "status": true })))
}
