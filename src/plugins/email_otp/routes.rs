//! The email-OTP routes (Better Auth's `plugins/email-otp/routes.ts`).

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Map, Value};
use utoipa::openapi::path::HttpMethod::Post;

use super::{change_identifier, identifier, EmailOtpPlugin, OnSuccess, OtpError, TYPES};
use crate::auth::email;
use crate::auth::fields::SIGN_UP_KEYS;
use crate::config::Settings;
use crate::error::{ApiError, ErrorCode};
use crate::flows::credentials::{check_password_length, hash_password};
use crate::flows::passwordless::{user_for_proven_email, NewUserInput, Proven};
use crate::flows::session::{create_session, resolve, session_cookies, Lookup};
use crate::http::extract::{login_csrf, read_checked_body, Validator};
use crate::http::route::post;
use crate::http::{request_cookies, ClientInfo, Current, Need};
use crate::openapi::builder::{boolean, object, string, user, Op};
use crate::state::AppState;
use crate::store::json::user_json;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(post(
        "/email-otp/send-verification-otp",
        send_verification_otp,
    ))
    .service(post(
        "/email-otp/check-verification-otp",
        check_verification_otp,
    ))
    .service(post("/email-otp/verify-email", verify_email))
    .service(post("/sign-in/email-otp", sign_in_email_otp))
    .service(post(
        "/email-otp/request-password-reset",
        request_password_reset,
    ))
    .service(post("/forget-password/email-otp", request_password_reset))
    .service(post("/email-otp/reset-password", reset_password))
    .service(post(
        "/email-otp/request-email-change",
        request_email_change,
    ))
    .service(post("/email-otp/change-email", change_email));
}

fn plugin(state: &AppState) -> Result<&EmailOtpPlugin, ApiError> {
    state
        .plugins
        .get::<EmailOtpPlugin>()
        .ok_or_else(|| anyhow::anyhow!("the email-otp plugin is not enabled").into())
}

/// zod's `z.enum(types)`.
fn otp_type(v: &mut Validator<'_>) -> &'static str {
    let given = v.raw("type").and_then(Value::as_str).unwrap_or_default();
    match TYPES.iter().find(|t| **t == given) {
        Some(t) => t,
        None => {
            v.invalid(
                "type",
                "Invalid option: expected one of \
                 \"email-verification\"|\"sign-in\"|\"forget-password\"|\"change-email\"",
            );
            ""
        }
    }
}

/// The body's email lower-cased, which must be an address (`INVALID_EMAIL`).
fn address(raw: &str) -> Result<String, ApiError> {
    let lowered = raw.to_lowercase();
    if email::is_valid(&lowered) {
        Ok(lowered)
    } else {
        Err(ErrorCode::InvalidEmail.into())
    }
}

fn success() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "success": true }))
}

#[tracing::instrument(name = "email_otp.send", skip_all)]
pub async fn send_verification_otp(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = read_checked_body(&state, &req, payload, false).await?;
    let mut v = Validator::body(body.as_ref());
    let email = v.string("email");
    let otp_type = otp_type(&mut v);
    v.finish()?;
    login_csrf(&state, &req)?;
    let email = address(&email)?;
    if otp_type == "change-email" {
        return Err(ApiError::message_only(
            actix_web::http::StatusCode::BAD_REQUEST,
            "Invalid OTP type",
        ));
    }
    plugin(&state)?
        .issue_and_send(&state, otp_type, &email)
        .await?;
    Ok(success())
}

#[tracing::instrument(name = "email_otp.request_password_reset", skip_all)]
pub async fn request_password_reset(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = read_checked_body(&state, &req, payload, false).await?;
    let mut v = Validator::body(body.as_ref());
    let email = v.string("email");
    v.finish()?;
    let email = address(&email)?;
    plugin(&state)?
        .issue_and_send(&state, "forget-password", &email)
        .await?;
    Ok(success())
}

#[tracing::instrument(name = "email_otp.check", skip_all)]
pub async fn check_verification_otp(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = read_checked_body(&state, &req, payload, false).await?;
    let mut v = Validator::body(body.as_ref());
    let email = v.string("email");
    let otp_type = otp_type(&mut v);
    let otp = v.string("otp");
    v.finish()?;
    let email = address(&email)?;
    let id = identifier(otp_type, &email);
    plugin(&state)?
        .verify(&state, &id, &otp, OnSuccess::Restore)
        .await?;
    // Whoever holds a valid code may learn that the user exists.
    if state.store.find_user_by_email(&email).await?.is_none() {
        return Err(ErrorCode::UserNotFound.into());
    }
    Ok(success())
}

#[tracing::instrument(name = "email_otp.verify_email", skip_all, fields(user_id = tracing::field::Empty))]
pub async fn verify_email(
    state: web::Data<AppState>,
    req: HttpRequest,
    client: ClientInfo,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = read_checked_body(&state, &req, payload, false).await?;
    let mut v = Validator::body(body.as_ref());
    let email = v.string("email");
    let otp = v.string("otp");
    v.finish()?;
    let email = address(&email)?;
    let id = identifier("email-verification", &email);
    plugin(&state)?
        .verify(&state, &id, &otp, OnSuccess::Consume)
        .await?;
    let Some(user) = state.store.find_user_by_email(&email).await? else {
        return Err(ErrorCode::UserNotFound.into());
    };
    tracing::Span::current().record("user_id", tracing::field::display(&user.id));
    let updated = state
        .store
        .update_user_email(&user.id, Some(&email), true, state.clock.now())
        .await?
        .ok_or(ErrorCode::UserNotFound)?;
    let user_out = user_json(&updated, state.store.user_fields());
    let mut res = HttpResponse::Ok();
    if state
        .settings
        .email_verification
        .auto_sign_in_after_verification
    {
        let session = create_session(&state, &updated.id, &client, false).await?;
        for c in session_cookies(&state, &session, &updated, false) {
            res.cookie(c);
        }
        return Ok(res.json(json!({ "status": true, "token": session.token, "user": user_out })));
    }
    // The caller's own session: its cookie cache must say verified now.
    let resolved = resolve(&state, &request_cookies(&req), Lookup::default()).await?;
    let mut cookies = resolved.cookies;
    if let Some((session, current)) = resolved.found.filter(|(_, u)| u.id == updated.id) {
        let verified = crate::store::User {
            email_verified: true,
            ..current
        };
        cookies.extend(session_cookies(
            &state,
            &session,
            &verified,
            resolved.dont_remember,
        ));
    }
    for c in crate::flows::session::last_per_name(cookies) {
        res.cookie(c);
    }
    Ok(res.json(json!({ "status": true, "token": null, "user": user_out })))
}

#[tracing::instrument(name = "sign_in.email_otp", skip_all, fields(user_id = tracing::field::Empty))]
pub async fn sign_in_email_otp(
    state: web::Data<AppState>,
    req: HttpRequest,
    client: ClientInfo,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = read_checked_body(&state, &req, payload, true).await?;
    let mut v = Validator::body(body.as_ref());
    let email = v.string("email");
    let otp = v.string("otp");
    let name = v.opt_string("name");
    let image = v.opt_string("image");
    let rest: Map<String, Value> = v
        .object()
        .map(|m| {
            m.iter()
                .filter(|(k, _)| !SIGN_UP_KEYS.contains(&k.as_str()) && k.as_str() != "otp")
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        })
        .unwrap_or_default();
    v.finish()?;
    login_csrf(&state, &req)?;
    let plugin = plugin(&state)?;
    let email = email.to_lowercase();
    plugin
        .verify(
            &state,
            &identifier("sign-in", &email),
            &otp,
            OnSuccess::Consume,
        )
        .await?;
    let sign_up = (!plugin.settings.disable_sign_up).then(|| NewUserInput {
        name: name.unwrap_or_default(),
        image,
        input: rest,
    });
    let user = match user_for_proven_email(&state, &email, sign_up).await? {
        Proven::Existing(user) | Proven::New(user) => user,
        Proven::NoUser => return Err(OtpError::InvalidOtp.into()),
    };
    tracing::Span::current().record("user_id", tracing::field::display(&user.id));
    let session = create_session(&state, &user.id, &client, false).await?;
    let mut res = HttpResponse::Ok();
    for c in session_cookies(&state, &session, &user, false) {
        res.cookie(c);
    }
    Ok(res.json(json!({
        "token": session.token,
        "user": user_json(&user, state.store.user_fields()),
    })))
}

#[tracing::instrument(name = "email_otp.reset_password", skip_all, fields(user_id = tracing::field::Empty))]
pub async fn reset_password(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = read_checked_body(&state, &req, payload, false).await?;
    let mut v = Validator::body(body.as_ref());
    let email = v.string("email");
    let otp = v.string("otp");
    let password = v.string("password");
    v.finish()?;
    let email = address(&email)?;
    check_password_length(&state, &password)?;
    let plugin = plugin(&state)?;
    let id = identifier("forget-password", &email);
    plugin.verify(&state, &id, &otp, OnSuccess::Restore).await?;
    let Some(user) = state.store.find_user_by_email(&email).await? else {
        return Err(ErrorCode::UserNotFound.into());
    };
    tracing::Span::current().record("user_id", tracing::field::display(&user.id));
    let hash = hash_password(&state, password).await?;
    // Spent only now, as Better Auth's `resetCredentialPassword` consumes it.
    plugin.verify(&state, &id, &otp, OnSuccess::Consume).await?;
    let revoke = state
        .settings
        .email_and_password
        .revoke_sessions_on_password_reset;
    let now = state.clock.now();
    state
        .store
        .reset_credential_password(&user.id, &hash, revoke, now)
        .await?;
    if !user.email_verified {
        state
            .store
            .update_user_email(&user.id, None, true, now)
            .await?;
    }
    tracing::info!("password reset by email code");
    Ok(success())
}

pub fn openapi(settings: &Settings) -> Vec<Op> {
    let ok = || object(vec![("success", boolean())], &[], true).into();
    let email_body = || vec![("email", string())];
    vec![
        Op::new(
            Post,
            "/email-otp/send-verification-otp",
            "Email OTP",
            "Send a code to an email address",
        )
        .body(
            vec![("email", string()), ("type", string())],
            &["email", "type"],
        )
        .ok(ok()),
        Op::new(
            Post,
            "/email-otp/check-verification-otp",
            "Email OTP",
            "Check a code without spending it",
        )
        .body(
            vec![("email", string()), ("type", string()), ("otp", string())],
            &["email", "type", "otp"],
        )
        .ok(ok()),
        Op::new(
            Post,
            "/email-otp/verify-email",
            "Email OTP",
            "Verify an email address with a code",
        )
        .body(
            vec![("email", string()), ("otp", string())],
            &["email", "otp"],
        )
        .ok(object(
            vec![
                ("status", boolean()),
                ("token", string()),
                ("user", user(settings)),
            ],
            &["status", "token", "user"],
            true,
        )
        .into()),
        Op::new(
            Post,
            "/sign-in/email-otp",
            "Email OTP",
            "Sign in with a code",
        )
        .body(
            vec![
                ("email", string()),
                ("otp", string()),
                ("name", string()),
                ("image", string()),
            ],
            &["email", "otp"],
        )
        .ok(object(
            vec![("token", string()), ("user", user(settings))],
            &["token", "user"],
            true,
        )
        .into()),
        Op::new(
            Post,
            "/email-otp/request-password-reset",
            "Email OTP",
            "Send a password-reset code",
        )
        .body(email_body(), &["email"])
        .ok(ok()),
        Op::new(
            Post,
            "/forget-password/email-otp",
            "Email OTP",
            "Send a password-reset code (deprecated path)",
        )
        .body(email_body(), &["email"])
        .ok(ok()),
        Op::new(
            Post,
            "/email-otp/reset-password",
            "Email OTP",
            "Reset the password with a code",
        )
        .body(
            vec![
                ("email", string()),
                ("otp", string()),
                ("password", string()),
            ],
            &["email", "otp", "password"],
        )
        .ok(ok()),
        Op::new(
            Post,
            "/email-otp/request-email-change",
            "Email OTP",
            "Send a code to the new address of the signed-in user",
        )
        .body(
            vec![("newEmail", string()), ("otp", string())],
            &["newEmail"],
        )
        .ok(ok()),
        Op::new(
            Post,
            "/email-otp/change-email",
            "Email OTP",
            "Change the signed-in user's address with the code sent there",
        )
        .body(
            vec![("newEmail", string()), ("otp", string())],
            &["newEmail", "otp"],
        )
        .ok(ok()),
    ]
}

/// The plugin when `change_email.enabled`, else Better Auth's 400.
fn change_email_plugin(state: &AppState) -> Result<&EmailOtpPlugin, ApiError> {
    let plugin = plugin(state)?;
    if !plugin.settings.change_email.enabled {
        return Err(ApiError::message_only(
            actix_web::http::StatusCode::BAD_REQUEST,
            "Change email with OTP is disabled",
        ));
    }
    Ok(plugin)
}

/// The new address lower-cased: an address (`INVALID_EMAIL`), not the caller's own.
fn new_address(current: &Current, raw: &str) -> Result<String, ApiError> {
    let new_email = address(raw)?;
    if new_email == current.user.email.to_lowercase() {
        return Err(ApiError::message_only(
            actix_web::http::StatusCode::BAD_REQUEST,
            "Email is the same",
        ));
    }
    Ok(new_email)
}

/// The change-email routes' request: `newEmail` and `otp` (required or not) from the body, then
/// the caller's session re-read from the database (`sensitiveSessionMiddleware`).
async fn change_request(
    state: &AppState,
    req: &HttpRequest,
    payload: web::Payload,
    otp_required: bool,
) -> Result<(Current, String, Option<String>), ApiError> {
    let body = read_checked_body(state, req, payload, false).await?;
    let mut v = Validator::body(body.as_ref());
    let new_email = v.string("newEmail");
    let otp = if otp_required {
        Some(v.string("otp"))
    } else {
        v.opt_string("otp")
    };
    v.finish()?;
    let current = Current::require(state, req, Need::Sensitive).await?;
    tracing::Span::current().record("user_id", tracing::field::display(&current.user.id));
    Ok((current, new_email, otp))
}

#[tracing::instrument(name = "email_otp.request_email_change", skip_all, fields(user_id = tracing::field::Empty))]
pub async fn request_email_change(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let (current, new_email, otp) = change_request(&state, &req, payload, false).await?;
    let result = async {
        let plugin = change_email_plugin(&state)?;
        let new_email = new_address(&current, &new_email)?;
        if plugin.settings.change_email.verify_current_email {
            let Some(otp) = otp else {
                return Err(ApiError::message_only(
                    actix_web::http::StatusCode::BAD_REQUEST,
                    "OTP is required to verify current email",
                ));
            };
            let id = identifier("email-verification", &current.user.email.to_lowercase());
            plugin.verify(&state, &id, &otp, OnSuccess::Consume).await?;
        }
        plugin
            .issue_email_change(&state, &current.user.id, &new_email)
            .await?;
        Ok(json!({ "success": true }))
    }
    .await;
    current.answer(result)
}

#[tracing::instrument(name = "email_otp.change_email", skip_all, fields(user_id = tracing::field::Empty))]
pub async fn change_email(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let (current, new_email, otp) = change_request(&state, &req, payload, true).await?;
    let otp = otp.unwrap_or_default();
    let result = async {
        let plugin = change_email_plugin(&state)?;
        let new_email = new_address(&current, &new_email)?;
        let id = change_identifier(&current.user.id, &new_email);
        plugin.verify(&state, &id, &otp, OnSuccess::Consume).await?;
        // A valid code was given: telling that an address is taken is safe now.
        let in_use = || {
            ApiError::message_only(
                actix_web::http::StatusCode::BAD_REQUEST,
                "Email already in use",
            )
        };
        if state.store.find_user_by_email(&new_email).await?.is_some() {
            return Err(in_use());
        }
        let updated = match state
            .store
            .update_user_email(&current.user.id, Some(&new_email), true, state.clock.now())
            .await
        {
            Ok(Some(u)) => u,
            Ok(None) => return Err(ErrorCode::UserNotFound.into()),
            Err(crate::store::StoreError::Conflict) => return Err(in_use()),
            Err(e) => return Err(e.into()),
        };
        tracing::info!("email changed with a code");
        let cookies = session_cookies(&state, &current.session, &updated, current.dont_remember);
        Ok((json!({ "success": true }), cookies))
    }
    .await;
    current.answer_with(result)
}
