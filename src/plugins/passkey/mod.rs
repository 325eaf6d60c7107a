//! The passkey plugin (Better Auth's `passkey()` of `@better-auth/passkey`,
//! `packages/passkey/src/`):
//!
//! - config: `[plugins.passkey]` ([`config::PasskeySettings`]): `rp_id`, `rp_name`, `origin`;
//! - schema: the `passkey` table (`schema.ts`);
//! - routes: `/passkey/*` ([`routes`]): registration and authentication ceremonies, list,
//!   rename, delete;
//! - checks: [`ceremony`], by `webauthn-rs-core`, with the arguments Better Auth gives
//!   simplewebauthn. A check is one signature verification (tens of microseconds), so it runs
//!   on the request's worker.

pub mod ceremony;
pub mod config;
mod routes;

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::web;
use async_trait::async_trait;

use crate::config::Settings;
use crate::error::ApiError;
use crate::openapi::builder::Op;
use crate::plugin::{Kind, Plugin, Schema, Table};
use crate::state::AppState;
use ceremony::RelyingParty;

pub const KIND: Kind<AppState> = Kind {
    id: "passkey",
    enabled: |s| s.plugins.passkey.enabled,
    schema: |_| Schema {
        tables: vec![PASSKEY],
        ..Schema::default()
    },
    build: |b| {
        let plugin = PasskeyPlugin::new(b.settings);
        Box::pin(async move { Ok(Arc::new(plugin) as Arc<dyn Plugin<AppState>>) })
    },
};

/// Better Auth's `passkey` table, as its migration generator writes it for each dialect
/// (MySQL's `createdAt` is declared `null` so that MariaDB gives it no automatic default).
pub const PASSKEY: Table = Table {
    name: "passkey",
    sqlite: &[
        r#"create table "passkey" ("id" text not null primary key, "name" text, "publicKey" text not null, "userId" text not null references "user" ("id") on delete cascade, "credentialID" text not null, "counter" integer not null, "deviceType" text not null, "backedUp" integer not null, "transports" text, "createdAt" date, "aaguid" text)"#,
        r#"create index "passkey_userId_idx" on "passkey" ("userId")"#,
        r#"create index "passkey_credentialID_idx" on "passkey" ("credentialID")"#,
    ],
    postgres: &[
        r#"create table "passkey" ("id" text not null primary key, "name" text, "publicKey" text not null, "userId" text not null references "user" ("id") on delete cascade, "credentialID" text not null, "counter" integer not null, "deviceType" text not null, "backedUp" boolean not null, "transports" text, "createdAt" timestamptz, "aaguid" text)"#,
        r#"create index "passkey_userId_idx" on "passkey" ("userId")"#,
        r#"create index "passkey_credentialID_idx" on "passkey" ("credentialID")"#,
    ],
    mysql: &[
        r#"create table `passkey` (`id` varchar(36) not null primary key, `name` text, `publicKey` text not null, `userId` varchar(36) not null references `user` (`id`) on delete cascade, `credentialID` varchar(255) not null, `counter` integer not null, `deviceType` text not null, `backedUp` boolean not null, `transports` text, `createdAt` timestamp(3) null, `aaguid` text)"#,
        r#"create index `passkey_userId_idx` on `passkey` (`userId`)"#,
        r#"create index `passkey_credentialID_idx` on `passkey` (`credentialID`)"#,
    ],
};

/// The challenge cookie (`advanced.webAuthnChallengeCookie`), under the cookie prefix.
pub const CHALLENGE_COOKIE: &str = "better-auth-passkey";
/// Lifetime of a challenge and its cookie, seconds (`MAX_AGE_IN_SECONDS`).
pub const CHALLENGE_MAX_AGE: i64 = 300;

/// The plugin's error codes (`PASSKEY_ERROR_CODES`, `error-codes.ts`).
#[derive(Debug, Clone, Copy)]
pub enum PasskeyError {
    ChallengeNotFound,
    NotAllowedToRegister,
    FailedToVerifyRegistration,
    /// 401 at sign-in, 404 when a route names a passkey by id.
    PasskeyNotFound(StatusCode),
    AuthenticationFailed,
}

impl From<PasskeyError> for ApiError {
    fn from(e: PasskeyError) -> Self {
        use PasskeyError::*;
        let (status, code, message) = match e {
            ChallengeNotFound => (
                StatusCode::BAD_REQUEST,
                "CHALLENGE_NOT_FOUND",
                "Challenge not found",
            ),
            NotAllowedToRegister => (
                StatusCode::UNAUTHORIZED,
                "YOU_ARE_NOT_ALLOWED_TO_REGISTER_THIS_PASSKEY",
                "You are not allowed to register this passkey",
            ),
            FailedToVerifyRegistration => (
                StatusCode::BAD_REQUEST,
                "FAILED_TO_VERIFY_REGISTRATION",
                "Failed to verify registration",
            ),
            PasskeyNotFound(status) => (status, "PASSKEY_NOT_FOUND", "Passkey not found"),
            AuthenticationFailed => (
                StatusCode::BAD_REQUEST,
                "AUTHENTICATION_FAILED",
                "Authentication failed",
            ),
        };
        ApiError::Custom {
            status,
            code,
            message: message.into(),
        }
    }
}

pub struct PasskeyPlugin {
    /// RP id and name; `origins` empty when the request's `Origin` decides.
    rp: RelyingParty,
}

impl PasskeyPlugin {
    fn new(settings: &Settings) -> Self {
        let s = &settings.plugins.passkey;
        // Better Auth's `getRpID`: the option, else the base URL's host name.
        let id = s.rp_id.clone().unwrap_or_else(|| {
            url::Url::parse(&settings.base_origin)
                .ok()
                .and_then(|u| u.host_str().map(str::to_owned))
                .unwrap_or_else(|| "localhost".into())
        });
        Self {
            rp: RelyingParty {
                id,
                // `opts.rpName || ctx.context.appName`; the app name defaults to "Better Auth".
                name: s.rp_name.clone().unwrap_or_else(|| "Better Auth".into()),
                origins: s.origin.as_ref().map(|o| o.list()).unwrap_or_default(),
            },
        }
    }

    /// The relying party a ceremony is checked against: the configured origins, else the
    /// request's `Origin` (`options.origin || ctx.headers.get("origin")`); `None` without one.
    pub fn relying_party(&self, request_origin: Option<&str>) -> Option<RelyingParty> {
        let mut rp = self.rp.clone();
        if rp.origins.is_empty() {
            rp.origins = vec![request_origin.filter(|o| !o.is_empty())?.to_owned()];
        }
        Some(rp)
    }
}

#[async_trait]
impl Plugin<AppState> for PasskeyPlugin {
    fn id(&self) -> &'static str {
        KIND.id
    }

    fn routes(&self, cfg: &mut web::ServiceConfig) {
        routes::configure(cfg);
    }

    fn openapi(&self, _settings: &Settings) -> Vec<Op> {
        routes::openapi()
    }
}
