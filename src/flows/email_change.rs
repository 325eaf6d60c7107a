//! `POST /change-email`'s first step (Better Auth's `api/routes/update-user.ts` `changeEmail`,
//! docs/compatibility.md §5.11): switch at once, or mail the link that confirms the change. The
//! switch itself happens when the link is followed (`flows::email_verification`).

use actix_web::cookie::Cookie;
use actix_web::http::StatusCode;

use super::mail::{verification_mail, verify_email_mail};
use super::session::session_cookies;
use crate::auth::email_token::{EmailClaims, CHANGE_EMAIL_CONFIRMATION, CHANGE_EMAIL_VERIFICATION};
use crate::error::{ApiError, ErrorCode};
use crate::mail::MailKind;
use crate::state::AppState;
use crate::store::{Session, StoreError, User};

/// The caller asking for the change.
pub struct Caller<'a> {
    pub session: &'a Session,
    pub user: &'a User,
    pub dont_remember: bool,
}

/// Starts the change to `new_email` (normalised); the cookies to add to the answer (the
/// session's, re-issued when the address switched at once). An address in use answers like
/// success and does nothing, so that the answer does not tell.
pub async fn request(
    state: &AppState,
    caller: Caller<'_>,
    new_email: &str,
    callback: Option<&str>,
) -> Result<Vec<Cookie<'static>>, ApiError> {
    let settings = &state.settings.user.change_email;
    if !settings.enabled {
        return Err(ErrorCode::ChangeEmailDisabled.into());
    }
    let user = caller.user;
    if new_email == user.email {
        return Err(ApiError::message_only(
            StatusCode::BAD_REQUEST,
            "Email is the same",
        ));
    }
    if state.store.find_user_by_email(new_email).await?.is_some() {
        tracing::info!("change-email to an address in use: nothing done");
        return Ok(Vec::new());
    }
    // Verification mail is always available here (the configured transport), so one of
    // Better Auth's three ways always applies.
    if !user.email_verified && settings.update_email_without_verification {
        let updated = match state
            .store
            .update_user_email(
                &user.id,
                Some(new_email),
                user.email_verified,
                state.clock.now(),
            )
            .await
        {
            Ok(Some(u)) => u,
            Ok(None) => return Err(ErrorCode::UserNotFound.into()),
            // Taken meanwhile: the same quiet success.
            Err(StoreError::Conflict) => return Ok(Vec::new()),
            Err(e) => return Err(e.into()),
        };
        let cookies = session_cookies(state, caller.session, &updated, caller.dont_remember);
        state
            .mailer
            .send(verify_email_mail(state, &updated, callback))
            .await;
        return Ok(cookies);
    }
    let mail = if user.email_verified && settings.send_change_email_confirmation {
        // To the current address, which must approve the change first.
        let claims =
            EmailClaims::change(&user.email, new_email, CHANGE_EMAIL_CONFIRMATION, &user.id);
        let kind = MailKind::ChangeEmailVerification;
        verification_mail(state, &user.email, &user.id, &claims, callback, kind)
    } else {
        let claims =
            EmailClaims::change(&user.email, new_email, CHANGE_EMAIL_VERIFICATION, &user.id);
        verification_mail(
            state,
            new_email,
            &user.id,
            &claims,
            callback,
            MailKind::VerifyEmail,
        )
    };
    state.mailer.send(mail).await;
    Ok(Vec::new())
}
