//! Password reset by mailed link (Better Auth's `api/routes/password.ts`,
//! docs/compatibility.md §5.6, §10.4): the link's token is a `verification` row
//! `reset-password:<token>` holding the user id, spent once.

use chrono::Duration;

use super::credentials::{check_password_length, hash_password};
use crate::auth::crypto::random_alphanumeric;
use crate::auth::links::reset_password_url;
use crate::error::{ApiError, ErrorCode};
use crate::mail::{Mail, MailKind};
use crate::state::AppState;

const IDENTIFIER_PREFIX: &str = "reset-password:";
const TOKEN_LENGTH: usize = 24;

fn identifier(token: &str) -> String {
    format!("{IDENTIFIER_PREFIX}{token}")
}

/// Mails a reset link to `email`'s user, if there is one; the same database work either way.
pub async fn request(
    state: &AppState,
    email: &str,
    redirect_to: Option<&str>,
) -> Result<(), ApiError> {
    if !state.settings.email_and_password.enabled {
        return Err(ErrorCode::ResetPasswordDisabled.into());
    }
    let token = random_alphanumeric(TOKEN_LENGTH);
    let now = state.clock.now();
    let email = crate::auth::email::normalize(email);
    let Some(user) = state.store.find_user_by_email(&email).await? else {
        // The same database round trip as a real request, as Better Auth does.
        state
            .store
            .find_verification(&identifier(&token), now)
            .await?;
        tracing::info!("password reset asked for an unknown email");
        return Ok(());
    };
    let ttl = state
        .settings
        .email_and_password
        .reset_password_token_expires_in;
    state
        .store
        .create_verification(
            &identifier(&token),
            &user.id,
            now + Duration::seconds(ttl),
            now,
        )
        .await?;
    let url = reset_password_url(&state.settings.base_url(), &token, redirect_to);
    let mail = Mail {
        kind: MailKind::ResetPassword,
        email: user.email.clone(),
        user_id: user.id.clone(),
        url,
        token,
        at: now,
        extra: serde_json::Map::new(),
    };
    state.mailer.send(mail).await;
    Ok(())
}

/// Whether `token` is a live reset token (the link's landing check).
pub async fn is_live(state: &AppState, token: &str) -> Result<bool, ApiError> {
    let now = state.clock.now();
    let found = state
        .store
        .find_verification(&identifier(token), now)
        .await?;
    Ok(found.is_some_and(|v| v.expires_at >= now))
}

/// Sets the password of the token's user and spends the token (revoking the user's sessions
/// when configured).
pub async fn reset(state: &AppState, token: &str, new_password: String) -> Result<(), ApiError> {
    check_password_length(state, &new_password)?;
    let identifier = identifier(token);
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
    let hash = hash_password(state, new_password).await?;
    // Spend the token only now; of two concurrent resets exactly one gets past this.
    if state
        .store
        .consume_verification(&identifier, state.clock.now())
        .await?
        .is_none()
    {
        return Err(ErrorCode::InvalidToken.into());
    }
    let revoke = state
        .settings
        .email_and_password
        .revoke_sessions_on_password_reset;
    state
        .store
        .reset_credential_password(&user.id, &hash, revoke, state.clock.now())
        .await?;
    tracing::info!("password reset");
    Ok(())
}
