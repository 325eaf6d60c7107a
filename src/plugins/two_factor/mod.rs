//! The two-factor plugin (Better Auth's `twoFactor()`,
//! `packages/better-auth/src/plugins/two-factor/`):
//!
//! - config: `[plugins.two_factor]` ([`config::TwoFactorSettings`]);
//! - schema: the `twoFactor` table and `user.twoFactorEnabled`;
//! - routes: `/two-factor/*` ([`routes`]): enable, disable, TOTP URI, verify TOTP / OTP /
//!   backup code, send OTP, new backup codes;
//! - hooks: a password sign-in of an enrolled user answers `{twoFactorRedirect: true,
//!   twoFactorMethods}` with the signed `two_factor` cookie and no session, unless the
//!   request carries a valid `trust_device` cookie ([`challenge`] completes it);
//! - rate limit: `/two-factor/*` at 3 requests per 10 seconds.

mod challenge;
pub mod codes;
pub mod config;
mod routes;

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use async_trait::async_trait;
use indexmap::IndexMap;
use serde_json::{json, Value};

use crate::auth::fields::{AdditionalField, FieldType};
use crate::config::Settings;
use crate::error::ApiError;
use crate::openapi::builder::Op;
use crate::plugin::{AfterSignIn, Kind, Plugin, Schema, SignIn, Table};
use crate::rate_limit::Rule;
use crate::state::AppState;
use config::TwoFactorSettings;

/// The user column that says a user signs in with a second factor.
pub const ENABLED_FIELD: &str = "twoFactorEnabled";

pub const KIND: Kind<AppState> = Kind {
    id: "two_factor",
    enabled: |s| s.plugins.two_factor.enabled,
    schema: |_| schema(),
    build: |b| {
        let settings = b.settings.plugins.two_factor.clone();
        Box::pin(
            async move { Ok(Arc::new(TwoFactorPlugin { settings }) as Arc<dyn Plugin<AppState>>) },
        )
    },
};

/// The DDL Better Auth 1.7.25's migrations write for `twoFactor`.
pub const TWO_FACTOR_TABLE: Table = Table {
    name: "twoFactor",
    sqlite: &[
        r#"create table "twoFactor" ("id" text not null primary key, "secret" text not null, "backupCodes" text not null, "userId" text not null references "user" ("id") on delete cascade, "verified" integer, "failedVerificationCount" integer, "lockedUntil" date)"#,
        r#"create index "twoFactor_secret_idx" on "twoFactor" ("secret")"#,
        r#"create index "twoFactor_userId_idx" on "twoFactor" ("userId")"#,
    ],
    postgres: &[
        r#"create table "twoFactor" ("id" text not null primary key, "secret" text not null, "backupCodes" text not null, "userId" text not null references "user" ("id") on delete cascade, "verified" boolean, "failedVerificationCount" integer, "lockedUntil" timestamptz)"#,
        r#"create index "twoFactor_secret_idx" on "twoFactor" ("secret")"#,
        r#"create index "twoFactor_userId_idx" on "twoFactor" ("userId")"#,
    ],
    mysql: &[
        r#"create table `twoFactor` (`id` varchar(36) not null primary key, `secret` varchar(255) not null, `backupCodes` text not null, `userId` varchar(36) not null references `user` (`id`) on delete cascade, `verified` boolean, `failedVerificationCount` integer, `lockedUntil` timestamp(3) null)"#,
        r#"create index `twoFactor_secret_idx` on `twoFactor` (`secret`)"#,
        r#"create index `twoFactor_userId_idx` on `twoFactor` (`userId`)"#,
    ],
};

/// Better Auth's `two-factor/schema.ts`.
fn schema() -> Schema {
    Schema {
        tables: vec![TWO_FACTOR_TABLE],
        user_fields: IndexMap::from([(
            ENABLED_FIELD.to_owned(),
            AdditionalField {
                field_type: FieldType::Boolean,
                required: Some(false),
                default: Some(json!(false)),
                input: false,
                returned: true,
            },
        )]),
        session_fields: IndexMap::new(),
    }
}

/// The plugin's error codes (Better Auth's `TWO_FACTOR_ERROR_CODES`), with the status each
/// route answers them with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TwoFactorError {
    /// `OTP_NOT_CONFIGURED` as the OTP routes word it.
    OtpNotConfiguredRoute,
    OtpNotConfigured,
    OtpHasExpired,
    TotpNotEnabled,
    TotpAlreadyEnabled,
    /// `TOTP_NOT_CONFIGURED` as the TOTP routes word it.
    TotpNotConfiguredRoute,
    TotpNotConfigured,
    TwoFactorNotEnabled,
    BackupCodesNotEnabled,
    InvalidBackupCode,
    InvalidCode,
    TooManyAttemptsRequestNewCode,
    AccountTemporarilyLocked,
    InvalidTwoFactorCookie,
}

impl TwoFactorError {
    fn parts(self) -> (StatusCode, &'static str, &'static str) {
        use TwoFactorError::*;
        const BAD: StatusCode = StatusCode::BAD_REQUEST;
        const UNAUTHORIZED: StatusCode = StatusCode::UNAUTHORIZED;
        match self {
            OtpNotConfiguredRoute => (BAD, "OTP_NOT_CONFIGURED", "otp isn't configured"),
            OtpNotConfigured => (BAD, "OTP_NOT_CONFIGURED", "OTP is not available"),
            OtpHasExpired => (BAD, "OTP_HAS_EXPIRED", "OTP has expired"),
            TotpNotEnabled => (BAD, "TOTP_NOT_ENABLED", "TOTP not enabled"),
            TotpAlreadyEnabled => (BAD, "TOTP_ALREADY_ENABLED", "TOTP is already enabled"),
            TotpNotConfiguredRoute => (BAD, "TOTP_NOT_CONFIGURED", "totp isn't configured"),
            TotpNotConfigured => (BAD, "TOTP_NOT_CONFIGURED", "TOTP is not available"),
            TwoFactorNotEnabled => (BAD, "TWO_FACTOR_NOT_ENABLED", "Two factor isn't enabled"),
            BackupCodesNotEnabled => (
                BAD,
                "BACKUP_CODES_NOT_ENABLED",
                "Backup codes aren't enabled",
            ),
            InvalidBackupCode => (UNAUTHORIZED, "INVALID_BACKUP_CODE", "Invalid backup code"),
            InvalidCode => (UNAUTHORIZED, "INVALID_CODE", "Invalid code"),
            TooManyAttemptsRequestNewCode => (
                BAD,
                "TOO_MANY_ATTEMPTS_REQUEST_NEW_CODE",
                "Too many attempts. Please request a new code.",
            ),
            AccountTemporarilyLocked => (
                StatusCode::TOO_MANY_REQUESTS,
                "ACCOUNT_TEMPORARILY_LOCKED",
                "Too many failed verification attempts. Your account is temporarily locked. \
                 Please try again later.",
            ),
            InvalidTwoFactorCookie => (
                UNAUTHORIZED,
                "INVALID_TWO_FACTOR_COOKIE",
                "Invalid two factor cookie",
            ),
        }
    }
}

impl From<TwoFactorError> for ApiError {
    fn from(e: TwoFactorError) -> Self {
        let (status, code, message) = e.parts();
        ApiError::Custom {
            status,
            code,
            message: message.into(),
        }
    }
}

pub struct TwoFactorPlugin {
    settings: TwoFactorSettings,
}

impl TwoFactorPlugin {
    /// The methods a pending sign-in may use (`twoFactorMethods`): `totp` when the user has a
    /// verified secret and TOTP is on, `otp` when codes can be sent.
    async fn methods(
        &self,
        state: &AppState,
        user_id: &str,
    ) -> Result<Vec<&'static str>, ApiError> {
        let mut methods = Vec::new();
        if !self.settings.totp_options.disable {
            let row = state.store.find_two_factor(user_id).await?;
            if row.is_some_and(|r| r.verified != Some(false)) {
                methods.push("totp");
            }
        }
        if self.settings.otp_options.send_otp {
            methods.push("otp");
        }
        Ok(methods)
    }
}

/// Whether the user's `twoFactorEnabled` is true.
pub fn is_enabled(user: &crate::store::User) -> bool {
    user.extra.get(ENABLED_FIELD) == Some(&Value::Bool(true))
}

#[async_trait]
impl Plugin<AppState> for TwoFactorPlugin {
    fn id(&self) -> &'static str {
        KIND.id
    }

    fn routes(&self, cfg: &mut web::ServiceConfig) {
        routes::configure(cfg);
    }

    fn openapi(&self, settings: &Settings) -> Vec<Op> {
        routes::openapi(settings)
    }

    /// Better Auth's `rateLimit: [{ pathMatcher: path.startsWith("/two-factor/"), window: 10,
    /// max: 3 }]`.
    fn rate_limit(&self) -> Vec<(&'static str, Rule)> {
        vec![("/two-factor/", Rule { window: 10, max: 3 })]
    }

    /// Better Auth's `hooks.after` on the password sign-ins: an enrolled user gets the second
    /// factor's challenge instead of a session, unless the device is trusted (its cookie is
    /// then renewed).
    async fn after_sign_in(
        &self,
        state: &AppState,
        sign_in: &SignIn<'_>,
    ) -> Result<AfterSignIn, ApiError> {
        if !is_enabled(sign_in.user) {
            return Ok(AfterSignIn::Continue);
        }
        let trust =
            challenge::read_trusted_device(state, sign_in.cookies, &sign_in.user.id).await?;
        if let challenge::Trust::Trusted(identifier) = &trust {
            let cookie = challenge::renew_trusted_device(
                state,
                &self.settings,
                &sign_in.user.id,
                identifier,
            )
            .await?;
            return Ok(AfterSignIn::ContinueWith(vec![cookie]));
        }
        let mut cookies = Vec::new();
        if trust == challenge::Trust::Untrusted {
            cookies.push(
                state
                    .cookies
                    .removal(&state.cookies.name(challenge::TRUST_DEVICE)),
            );
        }
        cookies.extend(
            challenge::begin(
                state,
                &self.settings,
                &sign_in.user.id,
                sign_in.dont_remember,
            )
            .await?,
        );
        let methods = self.methods(state, &sign_in.user.id).await?;
        tracing::info!("sign-in waits for its second factor");
        let mut res = HttpResponse::Ok();
        for c in cookies {
            res.cookie(c);
        }
        Ok(AfterSignIn::Respond(res.json(json!({
            "twoFactorRedirect": true,
            "twoFactorMethods": methods,
        }))))
    }
}
