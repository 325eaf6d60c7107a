//! Passwords: the length policy, hashing, and checking a password against a user's credential
//! account (Better Auth's `api/routes/sign-in.ts`, `update-user.ts`, `crypto/password.ts`).
//! Hashing runs on the hasher's own threads, never on the async workers.

use secrecy::SecretString;

use crate::auth::password::js_length;
use crate::error::{ApiError, ErrorCode};
use crate::state::AppState;
use crate::store::{Account, User};

/// The password length rules shared by sign-up, reset and change (docs/compatibility.md §9.4).
pub fn check_password_length(state: &AppState, password: &str) -> Result<(), ApiError> {
    let len = js_length(password);
    let rules = &state.settings.email_and_password;
    if len < rules.min_password_length {
        return Err(ErrorCode::PasswordTooShort.into());
    }
    if len > rules.max_password_length {
        return Err(ErrorCode::PasswordTooLong.into());
    }
    Ok(())
}

/// A new hash of `password` in the configured format.
pub async fn hash_password(state: &AppState, password: String) -> Result<String, ApiError> {
    Ok(state.hasher.hash(SecretString::from(password)).await?)
}

/// The user of `email` (already normalised) and their credential account, when `password` is
/// theirs; `INVALID_EMAIL_OR_PASSWORD` otherwise. An unknown email, a user without a credential
/// account and a wrong password cost the same (a dummy hash is checked). A hash in an older
/// format is replaced in the background after a match.
pub async fn sign_in_with_password(
    state: &AppState,
    email: &str,
    password: String,
) -> Result<(User, Account), ApiError> {
    sign_in_with_password_by(state, "email", email, password)
        .await?
        .ok_or_else(|| {
            tracing::info!("sign-in refused: invalid email or password");
            ErrorCode::InvalidEmailOrPassword.into()
        })
}

/// The user whose `column` holds `value`, if the password is theirs; `None` otherwise, after
/// the same hashing work whether the user exists or not.
pub async fn sign_in_with_password_by(
    state: &AppState,
    column: &str,
    value: &str,
    password: String,
) -> Result<Option<(User, Account)>, ApiError> {
    let password = SecretString::from(password);
    let (user, account) = match state
        .store
        .find_user_with_credential_by(column, value)
        .await?
    {
        Some((user, account)) => (Some(user), account),
        None => (None, None),
    };
    let stored = account.as_ref().and_then(|a| a.password.clone());
    let verdict = state.hasher.verify(password.clone(), stored).await?;
    let (Some(user), Some(account), true) = (user, account, verdict.matches) else {
        return Ok(None);
    };
    if verdict.needs_rehash {
        rehash_in_background(state, account.id.clone(), password);
    }
    Ok(Some((user, account)))
}

/// The user's credential account when `password` is its password: `CREDENTIAL_ACCOUNT_NOT_FOUND`
/// without one (or without a password), `INVALID_PASSWORD` for a wrong one, `PASSWORD_TOO_LONG`
/// beyond the maximum length (checked first, as Better Auth does).
pub async fn check_user_password(
    state: &AppState,
    user_id: &str,
    password: String,
) -> Result<Account, ApiError> {
    if js_length(&password) > state.settings.email_and_password.max_password_length {
        return Err(ErrorCode::PasswordTooLong.into());
    }
    let account = state.store.find_credential_account(user_id).await?;
    let Some((account, stored)) = account.and_then(|a| a.password.clone().map(|p| (a, p))) else {
        return Err(ErrorCode::CredentialAccountNotFound.into());
    };
    let verdict = state
        .hasher
        .verify(SecretString::from(password), Some(stored))
        .await?;
    if !verdict.matches {
        return Err(ErrorCode::InvalidPassword.into());
    }
    Ok(account)
}

/// Replaces a scrypt / bcrypt / weaker hash by the current format after a successful sign-in,
/// without making the caller wait for the second hash.
fn rehash_in_background(state: &AppState, account_id: String, password: SecretString) {
    let state = state.clone();
    let span = tracing::Span::current();
    tokio::spawn(tracing::Instrument::instrument(
        async move {
            let result = async {
                let hash = state.hasher.hash(password).await?;
                state
                    .store
                    .set_account_password(
                        state.store.connection(),
                        &account_id,
                        &hash,
                        state.clock.now(),
                    )
                    .await?;
                Ok::<_, ApiError>(())
            }
            .await;
            match result {
                Ok(()) => tracing::info!(format = %state.hasher.format(), "password re-hashed"),
                Err(e) => tracing::warn!(error = %e, "password re-hash failed; the old hash stays"),
            }
        },
        span,
    ));
}
