//! `POST /delete-user` and `GET /delete-user/callback` (endpoints.md §3.3–3.4, Better Auth
//! 1.7.25 `update-user.mjs`).

use actix_web::cookie::Cookie;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::Duration;
use serde_json::json;

use crate::auth::crypto::random_lower_alphanumeric;
use crate::auth::links::delete_account_url;
use crate::auth::session::is_fresh;
use crate::error::{ApiError, ErrorCode};
use crate::flows::credentials::check_user_password;
use crate::flows::session::{resolve, Lookup};
use crate::http::extract::{check_query_callback, query_object, read_checked_body, Validator};
use crate::http::{redirect, request_cookies, Current, Need};
use crate::mail::{Mail, MailKind};
use crate::state::AppState;
use crate::store::User;

const IDENTIFIER_PREFIX: &str = "delete-account-";
const TOKEN_LENGTH: usize = 32;

fn deleted(cookies: Vec<Cookie<'static>>, message: &str) -> HttpResponse {
    let mut res = HttpResponse::Ok();
    for c in cookies {
        res.cookie(c);
    }
    res.json(json!({ "success": true, "message": message }))
}

/// Spends a delete-account token issued to `user` and deletes the user with its sessions and
/// accounts; the session cookies are expired. A wrong, used or expired token is 404
/// `INVALID_TOKEN` (and burnt anyway).
async fn delete_with_token(
    state: &AppState,
    req: &HttpRequest,
    user: &User,
    token: &str,
) -> Result<Vec<Cookie<'static>>, ApiError> {
    let consumed = state
        .store
        .consume_verification(&format!("{IDENTIFIER_PREFIX}{token}"), state.clock.now())
        .await?;
    if consumed.is_none_or(|v| v.value != user.id) {
        return Err(ApiError::with_status(
            ErrorCode::InvalidToken,
            StatusCode::NOT_FOUND,
        ));
    }
    delete(state, req, user).await
}

async fn delete(
    state: &AppState,
    req: &HttpRequest,
    user: &User,
) -> Result<Vec<Cookie<'static>>, ApiError> {
    state.store.delete_user(&user.id).await?;
    tracing::info!("user deleted");
    Ok(state.cookies.clear_session(&request_cookies(req)))
}

/// The body of `POST /delete-user` once the session is known (endpoints.md §3.3 steps 2–6).
async fn delete_or_mail(
    state: &AppState,
    req: &HttpRequest,
    auth: &Current,
    body: DeleteUserBody,
) -> Result<HttpResponse, ApiError> {
    let user = &auth.user;
    // A right password stands in for a fresh session.
    let password_checked = match body.password {
        None => false,
        Some(password) => {
            check_user_password(state, &user.id, password).await?;
            true
        }
    };
    match body.token {
        Some(token) => {
            let cleared = delete_with_token(state, req, user, &token).await?;
            Ok(deleted(cleared, "User deleted"))
        }
        None => mail_or_delete(state, req, auth, body.callback.as_deref(), password_checked).await,
    }
}

/// Steps 4–6: mail a delete-account link when configured, else delete now if the session is
/// fresh or the password was checked.
async fn mail_or_delete(
    state: &AppState,
    req: &HttpRequest,
    auth: &Current,
    callback: Option<&str>,
    password_checked: bool,
) -> Result<HttpResponse, ApiError> {
    let user = &auth.user;
    let settings = &state.settings.user.delete_user;
    let now = state.clock.now();
    if settings.send_delete_account_verification {
        let token = random_lower_alphanumeric(TOKEN_LENGTH);
        state
            .store
            .create_verification(
                &format!("{IDENTIFIER_PREFIX}{token}"),
                &user.id,
                now + Duration::seconds(settings.delete_token_expires_in),
                now,
            )
            .await?;
        let mail = Mail {
            kind: MailKind::DeleteAccount,
            email: user.email.clone(),
            user_id: user.id.clone(),
            url: delete_account_url(&state.settings.base_url(), &token, callback),
            token,
            at: now,
            extra: serde_json::Map::new(),
        };
        state.mailer.send(mail).await;
        return Ok(deleted(Vec::new(), "Verification email sent"));
    }
    if !password_checked
        && !is_fresh(
            auth.session.created_at,
            now,
            state.settings.session.fresh_age,
        )
    {
        return Err(ErrorCode::SessionExpired.into());
    }
    Ok(deleted(delete(state, req, user).await?, "User deleted"))
}

struct DeleteUserBody {
    callback: Option<String>,
    password: Option<String>,
    token: Option<String>,
}

#[tracing::instrument(name = "delete_user", skip_all, fields(user_id = tracing::field::Empty))]
pub async fn delete_user(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = read_checked_body(&state, &req, payload, false).await?;
    let mut v = Validator::body(body.as_ref());
    let body = DeleteUserBody {
        callback: v.opt_string("callbackURL"),
        password: v.opt_string("password").filter(|p| !p.is_empty()),
        token: v.opt_string("token").filter(|t| !t.is_empty()),
    };
    v.finish()?;
    let auth = Current::require(&state, &req, Need::Sensitive).await?;
    tracing::Span::current().record("user_id", tracing::field::display(&auth.user.id));
    if !state.settings.user.delete_user.enabled {
        return Err(ApiError::Empty(StatusCode::NOT_FOUND).with_cookies(auth.cookies));
    }
    let result = delete_or_mail(&state, &req, &auth, body).await;
    let cookies = auth.cookies;
    match result {
        Ok(mut res) => {
            for c in cookies {
                // The deletion's expired cookies win over any refresh queued before.
                if !res.cookies().any(|r| r.name() == c.name()) {
                    if let Err(e) = res.add_cookie(&c) {
                        tracing::error!(error = %e, "a cookie could not be added to the answer");
                    }
                }
            }
            Ok(res)
        }
        Err(e) => Err(e.with_cookies(cookies)),
    }
}

#[tracing::instrument(name = "delete_user_callback", skip_all, fields(user_id = tracing::field::Empty))]
pub async fn delete_user_callback(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let query = query_object(&req);
    let mut v = Validator::query(&query);
    let token = v.string("token");
    let callback = v.opt_string("callbackURL");
    v.finish()?;
    check_query_callback(&state, callback.as_deref())?;
    if !state.settings.user.delete_user.enabled {
        return Err(ErrorCode::NotFound.into());
    }
    let lookup = Lookup {
        disable_cache: true,
        disable_refresh: false,
    };
    let resolved = resolve(&state, &crate::http::request_cookies(&req), lookup).await?;
    let Some((_, user)) = resolved.found else {
        return Err(
            ApiError::with_status(ErrorCode::FailedToGetUserInfo, StatusCode::NOT_FOUND)
                .with_cookies(resolved.cookies),
        );
    };
    tracing::Span::current().record("user_id", tracing::field::display(&user.id));
    let cleared = delete_with_token(&state, &req, &user, &token)
        .await
        .map_err(|e| e.with_cookies(resolved.cookies))?;
    match callback.as_deref().filter(|c| !c.is_empty()) {
        Some(cb) => redirect(cb, cleared),
        None => Ok(deleted(cleared, "User deleted")),
    }
}
