//! `POST /send-verification-email` and `GET /verify-email` (endpoints.md §4,
//! tokens-and-emails.md §1–2), following Better Auth 1.7.25's `email-verification.mjs`.

use std::time::Duration;

use actix_web::cookie::Cookie;
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use secrecy::ExposeSecret;
use serde_json::json;

use crate::auth::email_token::{
    self, EmailClaims, TokenError, CHANGE_EMAIL_CONFIRMATION, CHANGE_EMAIL_VERIFICATION,
};
use crate::auth::links::{append_query, verify_email_url};
use crate::error::{ApiError, ErrorCode};
use crate::flows::session::{last_per_name, resolve, session_cookies, Lookup};
use crate::http::extract::{check_query_callback, query_object, read_checked_body, Validator};
use crate::mail::{Mail, MailKind};
use crate::state::AppState;
use crate::store::json::user_json;
use crate::store::User;

/// Without a session the answer takes at least this long, so that whether a mail went out does
/// not show in the timing (Better Auth's `MINIMUM_MS`).
const ANONYMOUS_FLOOR: Duration = Duration::from_millis(500);

/// A verification token for `claims` and the mail carrying its link to `to`.
pub fn verification_mail(
    state: &AppState,
    to: &str,
    user_id: &str,
    claims: &EmailClaims,
    callback: Option<&str>,
    kind: MailKind,
) -> Mail {
    let now = state.clock.now();
    let secret = state.settings.secret.expose_secret().as_bytes();
    let token = email_token::mint(
        secret,
        claims,
        now.timestamp(),
        state.settings.email_verification.expires_in,
    );
    Mail {
        kind,
        email: to.to_owned(),
        user_id: user_id.to_owned(),
        url: verify_email_url(&state.settings.base_url(), &token, callback),
        token,
        at: now,
    }
}

/// The plain verify-email mail for `user` (Better Auth's `sendVerificationEmailFn`).
pub fn verify_email_mail(state: &AppState, user: &User, callback: Option<&str>) -> Mail {
    verification_mail(
        state,
        &user.email,
        &user.id,
        &EmailClaims::verify(&user.email, &user.id),
        callback,
        MailKind::VerifyEmail,
    )
}

#[tracing::instrument(name = "send_verification_email", skip_all)]
pub async fn send_verification_email(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = read_checked_body(&state, &req, payload, false).await?;
    let mut v = Validator::body(body.as_ref());
    let email = v.email("email");
    let callback = v.opt_string("callbackURL");
    v.finish()?;

    let resolved = resolve(
        &state,
        &crate::http::request_cookies(&req),
        Lookup::default(),
    )
    .await?;
    let cookies = resolved.cookies;
    let result = match resolved.found {
        None => {
            let started = tokio::time::Instant::now();
            let user = state
                .store
                .find_user_by_email(&crate::auth::email::normalize(&email))
                .await;
            let result = match user {
                Ok(Some(user)) if !user.email_verified => {
                    let mail = verify_email_mail(&state, &user, callback.as_deref());
                    state.mailer.deliver(&mail).await.map_err(ApiError::from)
                }
                Ok(_) => Ok(()),
                Err(e) => Err(e.into()),
            };
            tokio::time::sleep_until(started + ANONYMOUS_FLOOR).await;
            result
        }
        Some((_, user)) if user.email.to_lowercase() != email.to_lowercase() => {
            Err(ErrorCode::EmailMismatch.into())
        }
        Some((_, user)) if user.email_verified => Err(ErrorCode::EmailAlreadyVerified.into()),
        Some((_, user)) => {
            let mail = verify_email_mail(&state, &user, callback.as_deref());
            state.mailer.deliver(&mail).await.map_err(ApiError::from)
        }
    };
    if let Err(e) = result {
        return Err(e.with_cookies(cookies));
    }
    let mut res = HttpResponse::Ok();
    for c in cookies {
        res.cookie(c);
    }
    Ok(res.json(json!({ "status": true })))
}

/// 302 to `location` with the queued cookies (README §1.5).
pub fn redirect(location: &str, cookies: Vec<Cookie<'static>>) -> Result<HttpResponse, ApiError> {
    let value = header::HeaderValue::from_str(location)
        .map_err(|_| ApiError::from(ErrorCode::InvalidCallbackUrl))?;
    let mut res = HttpResponse::Found();
    res.insert_header((header::LOCATION, value))
        .content_type("application/json");
    for c in cookies {
        res.cookie(c);
    }
    Ok(res.finish())
}

/// The answer of a successful step: 302 to the callback, else 200 with `body`.
fn done(
    callback: Option<&str>,
    body: serde_json::Value,
    cookies: Vec<Cookie<'static>>,
) -> Result<HttpResponse, ApiError> {
    let cookies = last_per_name(cookies);
    match callback.filter(|c| !c.is_empty()) {
        Some(cb) => redirect(cb, cookies),
        None => {
            let mut res = HttpResponse::Ok();
            for c in cookies {
                res.cookie(c);
            }
            Ok(res.json(body))
        }
    }
}

#[tracing::instrument(name = "verify_email", skip_all, fields(user_id = tracing::field::Empty))]
pub async fn verify_email(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let query = query_object(&req);
    let mut v = Validator::query(&query);
    let token = v.string("token");
    let callback = v.opt_string("callbackURL");
    v.finish()?;
    check_query_callback(&state, callback.as_deref())?;
    let callback = callback.as_deref().filter(|c| !c.is_empty());

    // Fail(code): back to the callback with `error=<code>`, else 401 (§2).
    let fail = |code: ErrorCode, cookies: Vec<Cookie<'static>>| match callback {
        Some(cb) => {
            let location = append_query(cb, "error", code.code())
                .ok_or(ApiError::from(ErrorCode::InvalidCallbackUrl))?;
            redirect(&location, cookies)
        }
        None => Err(
            ApiError::with_status(code, actix_web::http::StatusCode::UNAUTHORIZED)
                .with_cookies(cookies),
        ),
    };

    let secret = state.settings.secret.expose_secret().as_bytes();
    let claims = match email_token::verify(secret, &token, state.clock.now().timestamp()) {
        Ok(c) => c,
        Err(TokenError::Expired) => return fail(ErrorCode::TokenExpired, Vec::new()),
        Err(TokenError::Invalid) => return fail(ErrorCode::InvalidToken, Vec::new()),
    };

    if let Some(update_to) = claims.update_to.clone() {
        let Some(user_id) = claims.user_id.clone() else {
            return fail(ErrorCode::InvalidToken, Vec::new());
        };
        let Some(user) = state.store.find_user_by_id(&user_id).await? else {
            return fail(ErrorCode::UserNotFound, Vec::new());
        };
        if user.email.to_lowercase() != claims.email {
            return fail(ErrorCode::InvalidToken, Vec::new());
        }
        tracing::Span::current().record("user_id", tracing::field::display(&user.id));
        let resolved = resolve(
            &state,
            &crate::http::request_cookies(&req),
            Lookup::default(),
        )
        .await?;
        let mut cookies = resolved.cookies;
        if matches!(&resolved.found, Some((_, u)) if u.id != user.id) {
            return fail(ErrorCode::InvalidUser, cookies);
        }
        return match claims.request_type.as_deref() {
            // The old address confirmed: now verify the new one.
            Some(CHANGE_EMAIL_CONFIRMATION) => {
                let next = EmailClaims::change(
                    &claims.email,
                    &update_to,
                    CHANGE_EMAIL_VERIFICATION,
                    &user.id,
                );
                let mail = verification_mail(
                    &state,
                    &update_to,
                    &user.id,
                    &next,
                    callback,
                    MailKind::VerifyEmail,
                );
                state.mailer.send(mail).await;
                done(callback, json!({ "status": true }), cookies)
            }
            // The new address confirmed: switch, keeping the verified flag as it was.
            Some(CHANGE_EMAIL_VERIFICATION) => {
                let updated = match state
                    .store
                    .update_user_email(
                        &user.id,
                        Some(&update_to),
                        user.email_verified,
                        state.clock.now(),
                    )
                    .await
                {
                    Ok(Some(u)) => u,
                    Ok(None) => return fail(ErrorCode::UserNotFound, cookies),
                    Err(crate::store::StoreError::Conflict) => {
                        return fail(ErrorCode::InvalidToken, cookies)
                    }
                    Err(e) => return Err(ApiError::from(e).with_cookies(cookies)),
                };
                if let Some((session, _)) = &resolved.found {
                    cookies.extend(session_cookies(
                        &state,
                        session,
                        &updated,
                        resolved.dont_remember,
                    ));
                }
                let body = json!({ "status": true, "user": user_json(&updated, state.store.user_fields()) });
                done(callback, body, cookies)
            }
            // The legacy one-step change: switch now, unverified, and verify the new address.
            _ => {
                let updated = match state
                    .store
                    .update_user_email(&user.id, Some(&update_to), false, state.clock.now())
                    .await
                {
                    Ok(Some(u)) => u,
                    Ok(None) => return fail(ErrorCode::UserNotFound, cookies),
                    Err(crate::store::StoreError::Conflict) => {
                        return fail(ErrorCode::InvalidToken, cookies)
                    }
                    Err(e) => return Err(ApiError::from(e).with_cookies(cookies)),
                };
                state
                    .mailer
                    .send(verify_email_mail(&state, &updated, callback))
                    .await;
                if let Some((session, _)) = &resolved.found {
                    cookies.extend(session_cookies(
                        &state,
                        session,
                        &updated,
                        resolved.dont_remember,
                    ));
                }
                let body = json!({ "status": true, "user": user_json(&updated, state.store.user_fields()) });
                done(callback, body, cookies)
            }
        };
    }

    let Some(user) = state.store.find_user_by_email(&claims.email).await? else {
        return fail(ErrorCode::UserNotFound, Vec::new());
    };
    if claims.user_id.as_ref().is_some_and(|id| *id != user.id) {
        return fail(ErrorCode::InvalidToken, Vec::new());
    }
    tracing::Span::current().record("user_id", tracing::field::display(&user.id));
    if user.email_verified {
        return done(
            callback,
            json!({ "status": true, "user": null }),
            Vec::new(),
        );
    }
    let Some(updated) = state
        .store
        .update_user_email(&user.id, None, true, state.clock.now())
        .await?
    else {
        return fail(ErrorCode::UserNotFound, Vec::new());
    };
    let mut cookies = Vec::new();
    if state
        .settings
        .email_verification
        .auto_sign_in_after_verification
    {
        let resolved = resolve(
            &state,
            &crate::http::request_cookies(&req),
            Lookup::default(),
        )
        .await?;
        cookies = resolved.cookies;
        match resolved.found {
            Some((session, current)) if current.email == claims.email => {
                cookies.extend(session_cookies(
                    &state,
                    &session,
                    &updated,
                    resolved.dont_remember,
                ));
            }
            _ => {
                let client = crate::http::ClientInfo::from_request(&state, &req);
                let session =
                    crate::flows::session::create_session(&state, &updated.id, &client, false)
                        .await?;
                cookies.extend(session_cookies(&state, &session, &updated, false));
            }
        }
    }
    done(callback, json!({ "status": true, "user": null }), cookies)
}
