//! Email verification and the email change it completes (Better Auth's
//! `api/routes/email-verification.ts`, docs/compatibility.md §10.1–10.2): sending the mail, and what a
//! verify-email link does — verify the address, or take the next step of a change of address.

use std::time::Duration;

use actix_web::cookie::Cookie;
use secrecy::ExposeSecret;
use serde_json::{json, Value};

use super::mail::{verification_mail, verify_email_mail};
use super::session::{create_session, resolve, session_cookies, Lookup, Resolved};
use crate::auth::cookies::RequestCookies;
use crate::auth::email_token::{
    self, EmailClaims, TokenError, CHANGE_EMAIL_CONFIRMATION, CHANGE_EMAIL_VERIFICATION,
};
use crate::auth::session::ClientInfo;
use crate::error::{ApiError, ErrorCode};
use crate::mail::MailKind;
use crate::state::AppState;
use crate::store::{StoreError, User};

/// Without a session the answer takes at least this long, so that whether a mail went out does
/// not show in the timing (Better Auth's `MINIMUM_MS`).
const ANONYMOUS_FLOOR: Duration = Duration::from_millis(500);

/// `POST /send-verification-email`: to the caller when signed in (their address must match and
/// be unverified), else to `email` if such an unverified user exists, in the same time either
/// way. The resolved session's cookies come back with the outcome.
pub async fn send(
    state: &AppState,
    jar: &RequestCookies,
    email: &str,
    callback: Option<&str>,
) -> (Result<(), ApiError>, Vec<Cookie<'static>>) {
    let resolved = match resolve(state, jar, Lookup::default()).await {
        Ok(r) => r,
        Err(e) => return (Err(e), Vec::new()),
    };
    let result = match resolved.found {
        None => {
            let started = tokio::time::Instant::now();
            let user = state
                .store
                .find_user_by_email(&crate::auth::email::normalize(email))
                .await;
            let result = match user {
                Ok(Some(user)) if !user.email_verified => {
                    let mail = verify_email_mail(state, &user, callback);
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
            let mail = verify_email_mail(state, &user, callback);
            state.mailer.deliver(&mail).await.map_err(ApiError::from)
        }
    };
    (result, resolved.cookies)
}

/// What a verify-email link came to.
pub enum Verified {
    /// Done: answer `body` (or redirect to the callback) with `cookies`.
    Done {
        body: Value,
        cookies: Vec<Cookie<'static>>,
    },
    /// Refused with `code` (to the callback as `?error=<code>`, else 401), with `cookies`.
    Failed {
        code: ErrorCode,
        cookies: Vec<Cookie<'static>>,
    },
}

fn failed(code: ErrorCode, cookies: Vec<Cookie<'static>>) -> Result<Verified, ApiError> {
    Ok(Verified::Failed { code, cookies })
}

fn done(body: Value, cookies: Vec<Cookie<'static>>) -> Result<Verified, ApiError> {
    Ok(Verified::Done { body, cookies })
}

/// `GET /verify-email`: checks the token, then verifies the address, or takes the next step of
/// a change of address when the token carries `updateTo`.
pub async fn verify(
    state: &AppState,
    jar: &RequestCookies,
    client: &ClientInfo,
    token: &str,
    callback: Option<&str>,
) -> Result<Verified, ApiError> {
    let secret = state.settings.secret.expose_secret().as_bytes();
    let claims = match email_token::verify(secret, token, state.clock.now().timestamp()) {
        Ok(c) => c,
        Err(TokenError::Expired) => return failed(ErrorCode::TokenExpired, Vec::new()),
        Err(TokenError::Invalid) => return failed(ErrorCode::InvalidToken, Vec::new()),
    };
    if claims.update_to.is_some() {
        return change_step(state, jar, claims, callback).await;
    }
    let Some(user) = state.store.find_user_by_email(&claims.email).await? else {
        return failed(ErrorCode::UserNotFound, Vec::new());
    };
    if claims.user_id.as_ref().is_some_and(|id| *id != user.id) {
        return failed(ErrorCode::InvalidToken, Vec::new());
    }
    tracing::Span::current().record("user_id", tracing::field::display(&user.id));
    if user.email_verified {
        return done(json!({ "status": true, "user": null }), Vec::new());
    }
    let Some(updated) = state
        .store
        .update_user_email(&user.id, None, true, state.clock.now())
        .await?
    else {
        return failed(ErrorCode::UserNotFound, Vec::new());
    };
    let mut cookies = Vec::new();
    if state
        .settings
        .email_verification
        .auto_sign_in_after_verification
    {
        let resolved = resolve(state, jar, Lookup::default()).await?;
        cookies = resolved.cookies;
        match resolved.found {
            Some((session, current)) if current.email == claims.email => {
                cookies.extend(session_cookies(
                    state,
                    &session,
                    &updated,
                    resolved.dont_remember,
                ));
            }
            _ => {
                let session = create_session(state, &updated.id, client, false).await?;
                cookies.extend(session_cookies(state, &session, &updated, false));
            }
        }
    }
    done(json!({ "status": true, "user": null }), cookies)
}

/// A link of a change of address: confirm from the old address (then verify the new one), or
/// switch to the new address.
async fn change_step(
    state: &AppState,
    jar: &RequestCookies,
    claims: EmailClaims,
    callback: Option<&str>,
) -> Result<Verified, ApiError> {
    let (Some(update_to), Some(user_id)) = (claims.update_to.clone(), claims.user_id.clone())
    else {
        return failed(ErrorCode::InvalidToken, Vec::new());
    };
    let Some(user) = state.store.find_user_by_id(&user_id).await? else {
        return failed(ErrorCode::UserNotFound, Vec::new());
    };
    if user.email.to_lowercase() != claims.email {
        return failed(ErrorCode::InvalidToken, Vec::new());
    }
    tracing::Span::current().record("user_id", tracing::field::display(&user.id));
    let resolved = resolve(state, jar, Lookup::default()).await?;
    if matches!(&resolved.found, Some((_, u)) if u.id != user.id) {
        return failed(ErrorCode::InvalidUser, resolved.cookies);
    }
    match claims.request_type.as_deref() {
        // The old address confirmed: now verify the new one.
        Some(CHANGE_EMAIL_CONFIRMATION) => {
            let next = EmailClaims::change(
                &claims.email,
                &update_to,
                CHANGE_EMAIL_VERIFICATION,
                &user.id,
            );
            let mail = verification_mail(
                state,
                &update_to,
                &user.id,
                &next,
                callback,
                MailKind::VerifyEmail,
            );
            state.mailer.send(mail).await;
            done(json!({ "status": true }), resolved.cookies)
        }
        // The new address confirmed: switch, keeping the verified flag as it was.
        Some(CHANGE_EMAIL_VERIFICATION) => {
            switch(
                state,
                resolved,
                &user,
                &update_to,
                user.email_verified,
                None,
            )
            .await
        }
        // The legacy one-step change: switch now, unverified, and verify the new address.
        _ => switch(state, resolved, &user, &update_to, false, Some(callback)).await,
    }
}

/// Moves `user` to `update_to`; the caller's session cookies carry the new user. With
/// `then_verify`, mails a verify-email link to the new address (to that callback).
async fn switch(
    state: &AppState,
    resolved: Resolved,
    user: &User,
    update_to: &str,
    verified: bool,
    then_verify: Option<Option<&str>>,
) -> Result<Verified, ApiError> {
    let mut cookies = resolved.cookies;
    let updated = match state
        .store
        .update_user_email(&user.id, Some(update_to), verified, state.clock.now())
        .await
    {
        Ok(Some(u)) => u,
        Ok(None) => return failed(ErrorCode::UserNotFound, cookies),
        Err(StoreError::Conflict) => return failed(ErrorCode::InvalidToken, cookies),
        Err(e) => return Err(ApiError::from(e).with_cookies(cookies)),
    };
    if let Some(callback) = then_verify {
        state
            .mailer
            .send(verify_email_mail(state, &updated, callback))
            .await;
    }
    if let Some((session, _)) = &resolved.found {
        cookies.extend(session_cookies(
            state,
            session,
            &updated,
            resolved.dont_remember,
        ));
    }
    let body = json!({ "status": true, "user": crate::store::json::user_json(&updated, state.store.user_fields()) });
    done(body, cookies)
}
