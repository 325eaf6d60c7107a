//! Sign-up with a password (Better Auth's `api/routes/sign-up.ts`, docs/compatibility.md §5.3):
//! the user and its credential account, the verification mail, and whether to sign in.

use actix_web::cookie::Cookie;

use super::credentials::{check_password_length, hash_password};
use super::mail::verify_email_mail;
use super::session::{create_session, session_cookies};
use super::users::{new_user, store_with_password, NewUser};
use crate::auth::session::ClientInfo;
use crate::error::{ApiError, ErrorCode};
use crate::state::AppState;
use crate::store::{StoreError, User};

/// What sign-up did. `session` is `None` when it does not sign in, and also when the email was
/// taken and the answer must not tell (then `user` was never stored).
pub struct SignedUp {
    pub user: User,
    pub session: Option<(String, Vec<Cookie<'static>>)>,
}

pub struct SignUp {
    pub user: NewUser,
    pub password: String,
    pub callback_url: Option<String>,
    pub dont_remember: bool,
}

pub async fn with_password(
    state: &AppState,
    client: &ClientInfo,
    sign_up: SignUp,
) -> Result<SignedUp, ApiError> {
    let settings = &state.settings.email_and_password;
    if !settings.enabled {
        return Err(ErrorCode::EmailPasswordSignUpDisabled.into());
    }
    check_password_length(state, &sign_up.password)?;
    let user = new_user(state, sign_up.user).await?;
    // Better Auth hides existing accounts when sign-up does not sign in.
    let enumeration_protected = settings.require_email_verification || !settings.auto_sign_in;
    let hidden = |user: User| {
        Ok(SignedUp {
            user,
            session: None,
        })
    };

    if state.store.find_user_by_email(&user.email).await?.is_some() {
        if enumeration_protected {
            // Same work as a real sign-up, so timing does not tell either.
            hash_password(state, sign_up.password).await?;
            return hidden(user);
        }
        return Err(ErrorCode::UserAlreadyExistsUseAnotherEmail.into());
    }
    let hash = hash_password(state, sign_up.password).await?;
    match store_with_password(state, &user, hash).await {
        Ok(()) => {}
        Err(StoreError::Conflict) if enumeration_protected => return hidden(user),
        Err(StoreError::Conflict) => return Err(ErrorCode::UserAlreadyExistsUseAnotherEmail.into()),
        Err(e) => return Err(e.into()),
    }
    tracing::Span::current().record("user_id", tracing::field::display(&user.id));

    let send_verification = state
        .settings
        .email_verification
        .send_on_sign_up
        .unwrap_or(settings.require_email_verification);
    if send_verification {
        let mail = verify_email_mail(state, &user, sign_up.callback_url.as_deref());
        state.mailer.send(mail).await;
    }
    if enumeration_protected {
        return hidden(user);
    }
    let session = create_session(state, &user.id, client, sign_up.dont_remember).await?;
    let cookies = session_cookies(state, &session, &user, sign_up.dont_remember);
    Ok(SignedUp {
        user,
        session: Some((session.token, cookies)),
    })
}
