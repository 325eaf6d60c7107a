//! `POST /sign-in/username` and `POST /is-username-available` (Better Auth's
//! `plugins/username/index.ts`).

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;
use utoipa::openapi::path::HttpMethod::Post;

use super::{UsernameError, UsernamePlugin, USERNAME};
use crate::auth::password::js_length;
use crate::config::Settings;
use crate::error::{ApiError, ErrorCode};
use crate::flows::credentials::sign_in_with_password_by;
use crate::flows::mail::verify_email_mail;
use crate::flows::sign_in;
use crate::http::extract::{login_csrf, read_checked_body, Validator};
use crate::http::route::post;
use crate::http::ClientInfo;
use crate::openapi::builder::{boolean, object, string, user, Op};
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(post("/sign-in/username", sign_in_username))
        .service(post("/is-username-available", is_username_available));
}

fn plugin(state: &AppState) -> Result<&UsernamePlugin, ApiError> {
    state
        .plugins
        .get::<UsernamePlugin>()
        .ok_or_else(|| anyhow::anyhow!("the username plugin is not enabled").into())
}

fn refused() -> ApiError {
    UsernameError::InvalidUsernameOrPassword.with_status(StatusCode::UNAUTHORIZED)
}

#[tracing::instrument(name = "sign_in.username", skip_all, fields(user_id = tracing::field::Empty))]
pub async fn sign_in_username(
    state: web::Data<AppState>,
    req: HttpRequest,
    client: ClientInfo,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = read_checked_body(&state, &req, payload, true).await?;
    let mut v = Validator::body(body.as_ref());
    let username = v.string("username");
    let password = v.string("password");
    let remember_me = v.opt_bool("rememberMe");
    let callback_url = v.opt_string("callbackURL");
    v.finish()?;
    login_csrf(&state, &req)?;
    let plugin = plugin(&state)?;

    if username.is_empty() || password.is_empty() {
        return Err(refused());
    }
    plugin
        .check(&username)
        .map_err(|e| e.with_status(StatusCode::UNPROCESSABLE_ENTITY))?;
    if js_length(&password) > state.settings.email_and_password.max_password_length {
        return Err(ErrorCode::PasswordTooLong.into());
    }
    let found =
        sign_in_with_password_by(&state, USERNAME, &plugin.normalize(&username), password).await?;
    let Some((user, _)) = found else {
        tracing::info!("sign-in refused: invalid username or password");
        return Err(refused());
    };
    tracing::Span::current().record("user_id", tracing::field::display(&user.id));
    if state.settings.email_and_password.require_email_verification && !user.email_verified {
        if state.settings.email_verification.send_on_sign_in {
            let mail = verify_email_mail(&state, &user, callback_url.as_deref());
            state.mailer.send(mail).await;
        }
        tracing::info!("sign-in refused: email not verified");
        return Err(UsernameError::EmailNotVerified.with_status(StatusCode::FORBIDDEN));
    }
    let dont_remember = remember_me == Some(false);
    let cookies = crate::http::request_cookies(&req);
    sign_in::complete(
        &state,
        &cookies,
        &user,
        &client,
        dont_remember,
        callback_url,
    )
    .await
}

#[tracing::instrument(name = "is_username_available", skip_all)]
pub async fn is_username_available(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = read_checked_body(&state, &req, payload, false).await?;
    let mut v = Validator::body(body.as_ref());
    let username = v.string("username");
    v.finish()?;
    let plugin = plugin(&state)?;
    let unprocessable = |e: UsernameError| e.with_status(StatusCode::UNPROCESSABLE_ENTITY);
    if username.is_empty() {
        return Err(unprocessable(UsernameError::InvalidUsername));
    }
    plugin.check(&username).map_err(unprocessable)?;
    let available = plugin.holder(&state, &username).await?.is_none();
    Ok(HttpResponse::Ok().json(json!({ "available": available })))
}

pub fn openapi(settings: &Settings) -> Vec<Op> {
    vec![
        Op::new(
            Post,
            "/sign-in/username",
            "Username",
            "Sign in with username",
        )
        .body(
            vec![
                ("username", string()),
                ("password", string()),
                ("rememberMe", boolean()),
                ("callbackURL", string()),
            ],
            &["username", "password"],
        )
        .ok(object(
            vec![
                ("redirect", boolean()),
                ("token", string()),
                ("url", string()),
                ("user", user(settings)),
            ],
            &["redirect", "token", "user"],
            true,
        )
        .into()),
        Op::new(
            Post,
            "/is-username-available",
            "Username",
            "Whether a username is free",
        )
        .body(vec![("username", string())], &["username"])
        .ok(object(vec![("available", boolean())], &["available"], true).into()),
    ]
}
