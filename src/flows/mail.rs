//! The mails that carry a signed email-verification token (Better Auth's
//! `api/routes/email-verification.ts` `sendVerificationEmailFn`, `createEmailVerificationToken`).

use secrecy::ExposeSecret;

use crate::auth::email_token::{self, EmailClaims};
use crate::auth::links::verify_email_url;
use crate::mail::{Mail, MailKind};
use crate::state::AppState;
use crate::store::User;

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
        extra: serde_json::Map::new(),
    }
}

/// The plain verify-email mail for `user`.
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
