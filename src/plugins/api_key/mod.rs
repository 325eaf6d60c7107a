//! The API key plugin (Better Auth's `apiKey()`, the `@better-auth/api-key` package,
//! `packages/api-key/src/`):
//!
//! - config: `[plugins.api_key]` ([`config::ApiKeySettings`]);
//! - schema: the `apikey` table;
//! - routes: `/api-key/create`, `/get`, `/update`, `/delete`, `/list`, and for backends holding
//!   the server token `/api-key/verify` and `/api-key/delete-all-expired-api-keys` ([`routes`]);
//! - hook: with `enable_session_for_api_keys`, a request carrying a key in `x-api-key` is served
//!   as the key's owner ([`Plugin::authenticate`]), each such request counted as a use.

pub mod config;
mod routes;
mod verify;

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use actix_web::http::header::HeaderMap;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest};
use async_trait::async_trait;
use chrono::Duration;
use secrecy::ExposeSecret;

use crate::auth::api_key::hash_key;
use crate::auth::crypto::ct_eq;
use crate::config::Settings;
use crate::error::ApiError;
use crate::openapi::builder::Op;
use crate::plugin::{Kind, Plugin, Schema, Table};
use crate::state::AppState;
use crate::store::{Session, User};
use config::ApiKeySettings;

pub const KIND: Kind<AppState> = Kind {
    id: "api_key",
    enabled: |s| s.plugins.api_key.enabled,
    schema: |_| Schema {
        tables: vec![APIKEY],
        ..Schema::default()
    },
    build: |b| {
        let settings = b.settings.plugins.api_key.clone();
        let session_expires_in = b.settings.session.expires_in;
        Box::pin(async move {
            Ok(Arc::new(ApiKeyPlugin {
                settings,
                session_expires_in,
                last_sweep: AtomicI64::new(0),
            }) as Arc<dyn Plugin<AppState>>)
        })
    },
};

/// Better Auth's `apikey` table, as its migration generator writes it for each dialect (1.7.25
/// with `@better-auth/api-key`); nullable MySQL timestamps spelled `null` for MariaDB.
pub const APIKEY: Table = Table {
    name: "apikey",
    sqlite: &[
        r#"create table "apikey" ("id" text not null primary key, "configId" text not null, "name" text, "start" text, "referenceId" text not null, "prefix" text, "key" text not null, "refillInterval" integer, "refillAmount" integer, "lastRefillAt" date, "enabled" integer, "rateLimitEnabled" integer, "rateLimitTimeWindow" integer, "rateLimitMax" integer, "requestCount" integer, "remaining" integer, "lastRequest" date, "expiresAt" date, "createdAt" date not null, "updatedAt" date not null, "permissions" text, "metadata" text)"#,
        r#"create index "apikey_configId_idx" on "apikey" ("configId")"#,
        r#"create index "apikey_referenceId_idx" on "apikey" ("referenceId")"#,
        r#"create index "apikey_key_idx" on "apikey" ("key")"#,
    ],
    postgres: &[
        r#"create table "apikey" ("id" text not null primary key, "configId" text not null, "name" text, "start" text, "referenceId" text not null, "prefix" text, "key" text not null, "refillInterval" integer, "refillAmount" integer, "lastRefillAt" timestamptz, "enabled" boolean, "rateLimitEnabled" boolean, "rateLimitTimeWindow" integer, "rateLimitMax" integer, "requestCount" integer, "remaining" integer, "lastRequest" timestamptz, "expiresAt" timestamptz, "createdAt" timestamptz not null, "updatedAt" timestamptz not null, "permissions" text, "metadata" text)"#,
        r#"create index "apikey_configId_idx" on "apikey" ("configId")"#,
        r#"create index "apikey_referenceId_idx" on "apikey" ("referenceId")"#,
        r#"create index "apikey_key_idx" on "apikey" ("key")"#,
    ],
    mysql: &[
        r#"create table `apikey` (`id` varchar(36) not null primary key, `configId` varchar(255) not null, `name` text, `start` text, `referenceId` varchar(255) not null, `prefix` text, `key` varchar(255) not null, `refillInterval` integer, `refillAmount` integer, `lastRefillAt` timestamp(3) null, `enabled` boolean, `rateLimitEnabled` boolean, `rateLimitTimeWindow` integer, `rateLimitMax` integer, `requestCount` integer, `remaining` integer, `lastRequest` timestamp(3) null, `expiresAt` timestamp(3) null, `createdAt` timestamp(3) not null, `updatedAt` timestamp(3) not null, `permissions` text, `metadata` text)"#,
        r#"create index `apikey_configId_idx` on `apikey` (`configId`)"#,
        r#"create index `apikey_referenceId_idx` on `apikey` (`referenceId`)"#,
        r#"create index `apikey_key_idx` on `apikey` (`key`)"#,
    ],
};

/// The header a backend's server token comes in.
pub const SERVER_TOKEN_HEADER: &str = "x-server-token";

pub struct ApiKeyPlugin {
    settings: ApiKeySettings,
    /// `[session] expires_in`, for the expiry of a key's session.
    session_expires_in: i64,
    /// When expired keys were last swept (ms since the epoch).
    last_sweep: AtomicI64,
}

impl ApiKeyPlugin {
    /// Whether the request comes from a backend holding the server token (Better Auth's
    /// server-side `auth.api.*` calls). Compared in constant time.
    fn server_call(&self, req: &HttpRequest) -> bool {
        let (Some(token), Some(sent)) = (
            self.settings.server_token.as_ref(),
            req.headers().get(SERVER_TOKEN_HEADER).map(|v| v.as_bytes()),
        ) else {
            return false;
        };
        ct_eq(token.expose_secret().as_bytes(), sent)
    }

    /// Better Auth's `deleteAllExpiredApiKeys`: at most every 10 s unless `force`.
    async fn sweep_expired(&self, state: &AppState, force: bool) -> Result<u64, ApiError> {
        let now = state.clock.now();
        let last = self.last_sweep.load(Ordering::Relaxed);
        if !force && now.timestamp_millis() - last < 10_000 {
            return Ok(0);
        }
        self.last_sweep
            .store(now.timestamp_millis(), Ordering::Relaxed);
        Ok(state.store.delete_expired_api_keys(now).await?)
    }

    /// The key the request carries in the first of `api_key_headers` present.
    fn key_in(&self, headers: &HeaderMap) -> Option<String> {
        self.settings.api_key_headers.iter().find_map(|h| {
            headers
                .get(h.as_str())
                .and_then(|v| v.to_str().ok())
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        })
    }
}

/// The plugin's error codes (`error-codes.ts`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiKeyError {
    InvalidMetadataType,
    RefillAmountAndIntervalRequired,
    RefillIntervalAndAmountRequired,
    UserBanned,
    UnauthorizedSession,
    KeyNotFound,
    KeyDisabled,
    KeyExpired,
    UsageExceeded,
    ExpiresInIsTooSmall,
    ExpiresInIsTooLarge,
    InvalidPrefixLength,
    InvalidNameLength,
    MetadataDisabled,
    NoValuesToUpdate,
    KeyDisabledExpiration,
    InvalidApiKey,
    InvalidReferenceIdFromApiKey,
    ServerOnlyProperty,
    NameRequired,
}

impl ApiKeyError {
    pub fn code(self) -> &'static str {
        self.parts().0
    }

    pub fn message(self) -> &'static str {
        self.parts().1
    }

    fn parts(self) -> (&'static str, &'static str) {
        use ApiKeyError::*;
        match self {
            InvalidMetadataType => (
                "INVALID_METADATA_TYPE",
                "metadata must be an object or undefined",
            ),
            RefillAmountAndIntervalRequired => (
                "REFILL_AMOUNT_AND_INTERVAL_REQUIRED",
                "refillAmount is required when refillInterval is provided",
            ),
            RefillIntervalAndAmountRequired => (
                "REFILL_INTERVAL_AND_AMOUNT_REQUIRED",
                "refillInterval is required when refillAmount is provided",
            ),
            UserBanned => ("USER_BANNED", "User is banned"),
            UnauthorizedSession => ("UNAUTHORIZED_SESSION", "Unauthorized or invalid session"),
            KeyNotFound => ("KEY_NOT_FOUND", "API Key not found"),
            KeyDisabled => ("KEY_DISABLED", "API Key is disabled"),
            KeyExpired => ("KEY_EXPIRED", "API Key has expired"),
            UsageExceeded => ("USAGE_EXCEEDED", "API Key has reached its usage limit"),
            ExpiresInIsTooSmall => (
                "EXPIRES_IN_IS_TOO_SMALL",
                "The expiresIn is smaller than the predefined minimum value.",
            ),
            ExpiresInIsTooLarge => (
                "EXPIRES_IN_IS_TOO_LARGE",
                "The expiresIn is larger than the predefined maximum value.",
            ),
            InvalidPrefixLength => (
                "INVALID_PREFIX_LENGTH",
                "The prefix length is either too large or too small.",
            ),
            InvalidNameLength => (
                "INVALID_NAME_LENGTH",
                "The name length is either too large or too small.",
            ),
            MetadataDisabled => ("METADATA_DISABLED", "Metadata is disabled."),
            NoValuesToUpdate => ("NO_VALUES_TO_UPDATE", "No values to update."),
            KeyDisabledExpiration => (
                "KEY_DISABLED_EXPIRATION",
                "Custom key expiration values are disabled.",
            ),
            InvalidApiKey => ("INVALID_API_KEY", "Invalid API key."),
            InvalidReferenceIdFromApiKey => (
                "INVALID_REFERENCE_ID_FROM_API_KEY",
                "The reference id from the API key is invalid.",
            ),
            ServerOnlyProperty => (
                "SERVER_ONLY_PROPERTY",
                "The property you're trying to set can only be set from the server auth \
                 instance only.",
            ),
            NameRequired => ("NAME_REQUIRED", "API Key name is required."),
        }
    }

    /// This error with the status Better Auth answers it with at that point.
    pub fn status(self, status: StatusCode) -> ApiError {
        ApiError::Custom {
            status,
            code: self.code(),
            message: self.message().into(),
        }
    }
}

#[async_trait]
impl Plugin<AppState> for ApiKeyPlugin {
    fn id(&self) -> &'static str {
        KIND.id
    }

    fn routes(&self, cfg: &mut web::ServiceConfig) {
        routes::configure(cfg);
    }

    fn openapi(&self, _settings: &Settings) -> Vec<Op> {
        routes::openapi()
    }

    fn authenticates(&self) -> bool {
        self.settings.enable_session_for_api_keys
    }

    /// Better Auth's `hooks.before` (`index.ts`): the key is verified (and a use counted) on
    /// whatever route it comes with, and stands for a session of its owner: id = the key's id,
    /// token = the key, no row stored.
    async fn authenticate(
        &self,
        state: &AppState,
        headers: &HeaderMap,
        ip: Option<&str>,
    ) -> Result<Option<(Session, User)>, ApiError> {
        let Some(key) = self.key_in(headers) else {
            return Ok(None);
        };
        if key.len() < self.settings.default_key_length {
            return Err(ApiKeyError::InvalidApiKey.status(StatusCode::FORBIDDEN));
        }
        // The key and its owner in one read.
        let (found, owner) = match state.store.find_api_key_with_owner(&hash_key(&key)).await? {
            Some((row, owner)) => (Some(row), owner),
            None => (None, None),
        };
        let row = verify::validate_found(self, state, found, None).await?;
        if let Err(e) = self.sweep_expired(state, false).await {
            tracing::warn!(error = %e, "could not delete expired API keys");
        }
        let user = match owner {
            Some(user) => Some(user),
            None => state.store.find_user_by_id(&row.reference_id).await?,
        };
        let Some(user) = user else {
            return Err(ApiKeyError::InvalidReferenceIdFromApiKey.status(StatusCode::UNAUTHORIZED));
        };
        let now = state.clock.now();
        // Better Auth passes `session.expiresIn` (seconds) to a helper taking milliseconds;
        // the session of a key without expiry is thus `expiresIn` ms long, as there.
        let expires_at = row
            .expires_at
            .unwrap_or(now + Duration::milliseconds(self.session_expires_in));
        let session = Session {
            id: row.id.clone(),
            token: key,
            user_id: row.reference_id.clone(),
            expires_at,
            created_at: now,
            updated_at: now,
            ip_address: ip.map(str::to_owned),
            user_agent: headers
                .get(actix_web::http::header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            extra: Default::default(),
        };
        Ok(Some((session, user)))
    }
}
