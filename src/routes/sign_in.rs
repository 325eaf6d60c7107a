//! `POST /sign-in/email` (docs/compatibility.md §5.4; Better Auth's `api/routes/sign-in.ts`).

use actix_web::{web, HttpRequest, HttpResponse};

use crate::error::{ApiError, ErrorCode};
use crate::flows::credentials::sign_in_with_password;
use crate::flows::mail::verify_email_mail;
use crate::flows::session::forget_dont_remember;
use crate::flows::sign_in;
use crate::http::extract::{login_csrf, read_checked_body, Validator};
use crate::http::{request_cookies, ClientInfo};
use crate::state::AppState;

#[tracing::instrument(name = "sign_in.email", skip_all, fields(user_id = tracing::field::Empty))]
pub async fn sign_in_email(
    state: web::Data<AppState>,
    req: HttpRequest,
    client: ClientInfo,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = read_checked_body(&state, &req, payload, true).await?;
    let mut v = Validator::body(body.as_ref());
    let email = v.string("email");
    let password = v.string("password");
    let callback_url = v.opt_string("callbackURL");
    let remember_me = v.opt_bool("rememberMe");
    v.finish()?;
    login_csrf(&state, &req)?;

    if !state.settings.email_and_password.enabled {
        return Err(ErrorCode::EmailPasswordDisabled.into());
    }
    if !crate::auth::email::is_valid(&email) {
        return Err(ErrorCode::InvalidEmail.into());
    }
    // Before the user is looked up, so it tells nothing about the address.
    if crate::auth::password::js_length(&password)
        > state.settings.email_and_password.max_password_length
    {
        return Err(ErrorCode::PasswordTooLong.into());
    }
    let email = crate::auth::email::normalize(&email);
    let (user, _) = sign_in_with_password(&state, &email, password).await?;
    tracing::Span::current().record("user_id", tracing::field::display(&user.id));
    if state.settings.email_and_password.require_email_verification && !user.email_verified {
        if state.settings.email_verification.send_on_sign_in {
            let mail = verify_email_mail(&state, &user, callback_url.as_deref());
            state.mailer.send(mail).await;
        }
        tracing::info!("sign-in refused: email not verified");
        return Err(ErrorCode::EmailNotVerified.into());
    }
    let dont_remember = remember_me == Some(false);
    let cookies = request_cookies(&req);
    let mut res = sign_in::complete(
        &state,
        &cookies,
        &user,
        &client,
        dont_remember,
        callback_url,
    )
    .await?;
    if let Some(c) = forget_dont_remember(&state, &cookies, dont_remember) {
        res.add_cookie(&c)
            .map_err(|e| ApiError::Internal(e.into()))?;
    }
    Ok(res)
}
