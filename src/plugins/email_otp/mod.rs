//! The email-OTP plugin (Better Auth's `emailOTP()`, `packages/better-auth/src/plugins/email-otp/`):
//!
//! - config: `[plugins.email_otp]` ([`config::EmailOtpSettings`]);
//! - storage: `verification` rows with identifier `<type>-otp-<email>` and value
//!   `<stored code>:<wrong attempts>`, the code plain, hashed or encrypted as Better Auth keeps
//!   it, so that this service and Better Auth accept each other's codes on one database;
//! - routes ([`routes`]): sending codes, sign-in, email verification, password reset, checks;
//! - rate limits: Better Auth's plugin rules (60 s, 3 requests) on every route of the plugin.

pub mod config;
mod routes;

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::web;
use async_trait::async_trait;
use chrono::Duration;
use rand::Rng;
use secrecy::ExposeSecret;

use crate::auth::crypto::{b64url, ct_eq, sha256};
use crate::auth::keyseal::{encrypt_value, symmetric_decrypt};
use crate::config::Settings;
use crate::error::ApiError;
use crate::mail::{Mail, MailKind};
use crate::openapi::builder::Op;
use crate::plugin::{Kind, Plugin};
use crate::rate_limit::Rule;
use crate::state::AppState;
use config::{EmailOtpSettings, ResendStrategy, StoreOtp};

pub const KIND: Kind<AppState> = Kind {
    id: "email_otp",
    enabled: |s| s.plugins.email_otp.enabled,
    schema: |_| crate::plugin::Schema::default(),
    build: |b| {
        let settings = b.settings.plugins.email_otp.clone();
        Box::pin(
            async move { Ok(Arc::new(EmailOtpPlugin { settings }) as Arc<dyn Plugin<AppState>>) },
        )
    },
};

/// The routes Better Auth's plugin gives its own rate-limit rule.
const LIMITED: &[&str] = &[
    "/email-otp/send-verification-otp",
    "/email-otp/check-verification-otp",
    "/email-otp/verify-email",
    "/sign-in/email-otp",
    "/email-otp/request-password-reset",
    "/email-otp/reset-password",
    "/forget-password/email-otp",
    "/email-otp/request-email-change",
    "/email-otp/change-email",
];

/// The code kinds Better Auth's body schemas accept.
pub const TYPES: &[&str] = &[
    "email-verification",
    "sign-in",
    "forget-password",
    "change-email",
];

/// Better Auth's `toOTPIdentifier`.
pub fn identifier(otp_type: &str, email: &str) -> String {
    format!("{otp_type}-otp-{email}")
}

/// The change-email code's identifier: `change-email-otp-<user id>:<new email>`.
pub fn change_identifier(user_id: &str, new_email: &str) -> String {
    identifier("change-email", &format!("{user_id}:{new_email}"))
}

/// The plugin's error codes (Better Auth's `EMAIL_OTP_ERROR_CODES`).
#[derive(Debug, Clone, Copy)]
pub enum OtpError {
    OtpExpired,
    InvalidOtp,
    TooManyAttempts,
}

impl From<OtpError> for ApiError {
    fn from(e: OtpError) -> Self {
        let (status, code, message) = match e {
            OtpError::OtpExpired => (StatusCode::BAD_REQUEST, "OTP_EXPIRED", "OTP expired"),
            OtpError::InvalidOtp => (StatusCode::BAD_REQUEST, "INVALID_OTP", "Invalid OTP"),
            OtpError::TooManyAttempts => (
                StatusCode::FORBIDDEN,
                "TOO_MANY_ATTEMPTS",
                "Too many attempts",
            ),
        };
        ApiError::Custom {
            status,
            code,
            message: message.into(),
        }
    }
}

/// What a correct code leaves behind (Better Auth's `successDisposition`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnSuccess {
    /// Spent: a credential route acted on it.
    Consume,
    /// Put back as it was, for the follow-up call (check-verification-otp).
    Restore,
}

/// Better Auth's `splitAtLastColon`.
fn split_at_last_colon(value: &str) -> (&str, &str) {
    value.rsplit_once(':').unwrap_or((value, ""))
}

/// Better Auth's `defaultKeyHasher`: base64url(SHA-256), no padding.
pub fn hash_code(code: &str) -> String {
    b64url(&sha256(code.as_bytes()))
}

pub struct EmailOtpPlugin {
    settings: EmailOtpSettings,
}

impl EmailOtpPlugin {
    /// A fresh code: `otp_length` uniform digits.
    fn generate(&self) -> String {
        let mut rng = crate::auth::crypto::rng();
        (0..self.settings.otp_length)
            .map(|_| char::from(b'0' + rng.gen_range(0..10u8)))
            .collect()
    }

    /// The code as `verification.value` keeps it (Better Auth's `storeOTP`).
    fn store_form(&self, state: &AppState, code: &str) -> Result<String, ApiError> {
        Ok(match self.settings.store_otp {
            StoreOtp::Plain => code.to_owned(),
            StoreOtp::Hashed => hash_code(code),
            StoreOtp::Encrypted => {
                let s = &state.settings;
                encrypt_value(&s.secrets, s.versioned_secrets, code)
                    .map_err(|e| anyhow::anyhow!("sealing a code: {e}"))?
            }
        })
    }

    /// The plain code back from its stored form; `None` when hashed or unreadable.
    fn readable(&self, state: &AppState, stored: &str) -> Option<String> {
        match self.settings.store_otp {
            StoreOtp::Plain => Some(stored.to_owned()),
            StoreOtp::Hashed => None,
            StoreOtp::Encrypted => {
                let bytes = match stored
                    .strip_prefix("$ba$")
                    .and_then(|rest| rest.split_once('$'))
                {
                    Some((version, hex)) => {
                        let version: u32 = version.parse().ok()?;
                        let secret = state
                            .settings
                            .secrets
                            .iter()
                            .find(|s| s.version == version)?;
                        symmetric_decrypt(secret.value.expose_secret().as_bytes(), hex)?
                    }
                    None => {
                        symmetric_decrypt(state.settings.secret.expose_secret().as_bytes(), stored)?
                    }
                };
                String::from_utf8(bytes).ok()
            }
        }
    }

    /// Better Auth's `verifyStoredOTP`, in constant time.
    fn matches(&self, state: &AppState, stored: &str, given: &str) -> bool {
        match self.settings.store_otp {
            StoreOtp::Hashed => ct_eq(hash_code(given).as_bytes(), stored.as_bytes()),
            _ => self
                .readable(state, stored)
                .is_some_and(|code| ct_eq(code.as_bytes(), given.as_bytes())),
        }
    }

    /// Better Auth's `resolveOTP`: the live code again with `resend_strategy = "reuse"` (its
    /// life extended), else a new one stored with no wrong attempts.
    async fn issue(
        &self,
        state: &AppState,
        otp_type: &str,
        email: &str,
    ) -> Result<String, ApiError> {
        let id = identifier(otp_type, email);
        let now = state.clock.now();
        let expires_at = now + Duration::seconds(self.settings.expires_in);
        if self.settings.resend_strategy == ResendStrategy::Reuse {
            if let Some(found) = state.store.find_verification(&id, now).await? {
                let (stored, attempts) = split_at_last_colon(&found.value);
                let spent = attempts
                    .parse::<u32>()
                    .is_ok_and(|n| n >= self.settings.allowed_attempts);
                if found.expires_at >= now && !spent {
                    if let Some(code) = self.readable(state, stored) {
                        state
                            .store
                            .extend_verification(&found, expires_at, now)
                            .await?;
                        return Ok(code);
                    }
                }
            }
        }
        self.issue_new(state, &id).await
    }

    /// A new code stored under the verification identifier `id` with no wrong attempts.
    async fn issue_new(&self, state: &AppState, id: &str) -> Result<String, ApiError> {
        let now = state.clock.now();
        let expires_at = now + Duration::seconds(self.settings.expires_in);
        let code = self.generate();
        let value = format!("{}:0", self.store_form(state, &code)?);
        state
            .store
            .create_verification(id, &value, expires_at, now)
            .await?;
        Ok(code)
    }

    /// Better Auth's `atomicVerifyOTP`: of concurrent guesses one at a time compares; a wrong
    /// guess puts the code back with one more attempt and its expiry; past `allowed_attempts`
    /// the code is spent (403 `TOO_MANY_ATTEMPTS`, then 400 `INVALID_OTP`).
    pub async fn verify(
        &self,
        state: &AppState,
        id: &str,
        given: &str,
        on_success: OnSuccess,
    ) -> Result<(), ApiError> {
        let store = &state.store;
        let now = state.clock.now();
        if let Some(found) = store.find_verification(id, now).await? {
            if found.expires_at < now {
                store.delete_verification(id).await?;
                return Err(OtpError::OtpExpired.into());
            }
        }
        let Some(taken) = store.consume_verification(id, now).await? else {
            return Err(OtpError::InvalidOtp.into());
        };
        let (stored, attempts) = split_at_last_colon(&taken.value);
        let used: u32 = attempts.parse().unwrap_or(0);
        if used >= self.settings.allowed_attempts {
            tracing::info!("code refused: too many attempts");
            return Err(OtpError::TooManyAttempts.into());
        }
        if !self.matches(state, stored, given) {
            let value = format!("{stored}:{}", used + 1);
            store
                .create_verification(id, &value, taken.expires_at, state.clock.now())
                .await?;
            tracing::info!("code refused: wrong code");
            return Err(OtpError::InvalidOtp.into());
        }
        if on_success == OnSuccess::Consume {
            return Ok(());
        }
        if store.find_verification(id, now).await?.is_some() {
            return Err(OtpError::InvalidOtp.into());
        }
        store
            .create_verification(id, &taken.value, taken.expires_at, state.clock.now())
            .await?;
        Ok(())
    }

    /// Sends `code` to `email` (`sendVerificationOTP`).
    async fn send(
        &self,
        state: &AppState,
        email: &str,
        user_id: &str,
        otp_type: &'static str,
        code: String,
    ) {
        let mail = Mail {
            kind: MailKind::EmailOtp { otp_type },
            email: email.to_owned(),
            user_id: user_id.to_owned(),
            url: String::new(),
            token: code,
            at: state.clock.now(),
            extra: Default::default(),
        };
        state.mailer.send(mail).await;
    }

    /// `/email-otp/request-email-change`'s code: made for the user and the new address, and
    /// sent there unless a user already has it (then dropped, the answer the same).
    pub async fn issue_email_change(
        &self,
        state: &AppState,
        user_id: &str,
        new_email: &str,
    ) -> Result<(), ApiError> {
        let id = change_identifier(user_id, new_email);
        let code = self.issue_new(state, &id).await?;
        if state.store.find_user_by_email(new_email).await?.is_some() {
            state.store.delete_verification(&id).await?;
            return Ok(());
        }
        self.send(state, new_email, user_id, "change-email", code)
            .await;
        Ok(())
    }

    /// Send-verification-otp and request-password-reset: a code is made and stored whoever
    /// asks, then dropped again (no mail) when no user has the address, unless it is a sign-in
    /// code and sign-up is on. The answer is the same either way.
    pub async fn issue_and_send(
        &self,
        state: &AppState,
        otp_type: &'static str,
        email: &str,
    ) -> Result<(), ApiError> {
        let code = self.issue(state, otp_type, email).await?;
        let user = state.store.find_user_by_email(email).await?;
        let sign_up = otp_type == "sign-in" && !self.settings.disable_sign_up;
        match user {
            Some(user) => {
                self.send(state, &user.email, &user.id, otp_type, code)
                    .await
            }
            None if sign_up => self.send(state, email, "", otp_type, code).await,
            None => {
                state
                    .store
                    .delete_verification(&identifier(otp_type, email))
                    .await?
            }
        }
        Ok(())
    }
}

#[async_trait]
impl Plugin<AppState> for EmailOtpPlugin {
    fn id(&self) -> &'static str {
        KIND.id
    }

    fn routes(&self, cfg: &mut web::ServiceConfig) {
        routes::configure(cfg);
    }

    fn openapi(&self, settings: &Settings) -> Vec<Op> {
        routes::openapi(settings)
    }

    fn rate_limit(&self) -> Vec<(&'static str, Rule)> {
        let rule = Rule {
            window: self.settings.rate_limit.window,
            max: self.settings.rate_limit.max,
        };
        LIMITED.iter().map(|p| (*p, rule)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashed_codes_are_unpadded_base64url_sha256() {
        // base64url(SHA-256("123456")), as Better Auth's defaultKeyHasher writes it.
        assert_eq!(
            hash_code("123456"),
            "jZae727K08KaOmKSgOaGzww_XVqGr_PKEgIMkjrcbJI"
        );
    }

    #[test]
    fn values_split_at_the_last_colon() {
        assert_eq!(split_at_last_colon("$ba$1$ab:cd:2"), ("$ba$1$ab:cd", "2"));
        assert_eq!(split_at_last_colon("123456"), ("123456", ""));
    }
}
