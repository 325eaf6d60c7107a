//! `POST /change-email` (endpoints.md §3.2, Better Auth 1.7.25 `update-user.mjs`). The switch
//! itself happens in `GET /verify-email`.

use actix_web::cookie::Cookie;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

use super::verification::{verification_mail, verify_email_mail};
use crate::auth::email_token::{EmailClaims, CHANGE_EMAIL_CONFIRMATION, CHANGE_EMAIL_VERIFICATION};
use crate::error::{ApiError, ErrorCode};
use crate::flows::session::session_cookies;
use crate::http::extract::{read_checked_body, Validator};
use crate::http::{Current, Need};
use crate::mail::MailKind;
use crate::state::AppState;
use crate::store::StoreError;

#[tracing::instrument(name = "change_email", skip_all, fields(user_id = tracing::field::Empty))]
pub async fn change_email(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = read_checked_body(&state, &req, payload, false).await?;
    let mut v = Validator::body(body.as_ref());
    let new_email = v.email("newEmail");
    let callback = v.opt_string("callbackURL");
    v.finish()?;
    let auth = Current::require(&state, &req, Need::Sensitive).await?;
    tracing::Span::current().record("user_id", tracing::field::display(&auth.user.id));
    let mut cookies = auth.cookies;
    let settings = &state.settings.user.change_email;
    if !settings.enabled {
        return Err(ApiError::from(ErrorCode::ChangeEmailDisabled).with_cookies(cookies));
    }
    let new_email = crate::auth::email::normalize(&new_email);
    let user = &auth.user;
    if new_email == user.email {
        return Err(
            ApiError::message_only(StatusCode::BAD_REQUEST, "Email is the same")
                .with_cookies(cookies),
        );
    }
    // Verification mail is always available here (the configured transport), so one of the
    // flows of §3.2 step 3 always applies.
    let without_verification = !user.email_verified && settings.update_email_without_verification;
    let confirm_first = user.email_verified && settings.send_change_email_confirmation;
    let callback = callback.as_deref();

    let ok = |cookies: Vec<Cookie<'static>>| -> Result<HttpResponse, ApiError> {
        let mut res = HttpResponse::Ok();
        for c in crate::flows::session::last_per_name(cookies) {
            res.cookie(c);
        }
        Ok(res.json(json!({ "status": true })))
    };

    // An address in use answers like success and does nothing (anti-enumeration).
    if state.store.find_user_by_email(&new_email).await?.is_some() {
        tracing::info!("change-email to an address in use: nothing done");
        return ok(cookies);
    }

    if without_verification {
        let updated = match state
            .store
            .update_user_email(
                &user.id,
                Some(&new_email),
                user.email_verified,
                state.clock.now(),
            )
            .await
        {
            Ok(Some(u)) => u,
            Ok(None) => return Err(ApiError::from(ErrorCode::UserNotFound).with_cookies(cookies)),
            // Taken meanwhile: the same quiet success.
            Err(StoreError::Conflict) => return ok(cookies),
            Err(e) => return Err(ApiError::from(e).with_cookies(cookies)),
        };
        cookies.extend(session_cookies(
            &state,
            &auth.session,
            &updated,
            auth.dont_remember,
        ));
        state
            .mailer
            .send(verify_email_mail(&state, &updated, callback))
            .await;
        return ok(cookies);
    }

    let mail = if confirm_first {
        // To the current address, which must approve the change first.
        let claims =
            EmailClaims::change(&user.email, &new_email, CHANGE_EMAIL_CONFIRMATION, &user.id);
        verification_mail(
            &state,
            &user.email,
            &user.id,
            &claims,
            callback,
            MailKind::ChangeEmailVerification,
        )
    } else {
        let claims =
            EmailClaims::change(&user.email, &new_email, CHANGE_EMAIL_VERIFICATION, &user.id);
        verification_mail(
            &state,
            &new_email,
            &user.id,
            &claims,
            callback,
            MailKind::VerifyEmail,
        )
    };
    state.mailer.send(mail).await;
    ok(cookies)
}
