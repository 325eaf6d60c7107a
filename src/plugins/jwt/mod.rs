//! The JWT plugin (Better Auth's `jwt()`, `packages/better-auth/src/plugins/jwt/`):
//!
//! - config: `[plugins.jwt]` ([`config::JwtSettings`]);
//! - schema: the `jwks` table;
//! - routes: `GET /token` (alias `/jwt`) and `GET /jwks` ([`routes`]);
//! - hook: get-session answers carry a token for the user in `set-auth-jwt`;
//! - signing: the key ring, or a shared HS256 secret ([`keys`]); the CLI's `jwks rotate`.

pub mod config;
pub mod keys;
mod routes;

use std::sync::Arc;

use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
use actix_web::web;
use anyhow::{anyhow, Context};
use async_trait::async_trait;
use serde_json::Value;

use crate::config::Settings;
use crate::error::ApiError;
use crate::http::expose_header;
use crate::openapi::builder::Op;
use crate::plugin::{Kind, Plugin, Schema, Table};
use crate::state::AppState;
use crate::store::{json::user_json, User};
pub use keys::JwtIssuer;

pub const KIND: Kind<AppState> = Kind {
    id: "jwt",
    enabled: |s| s.plugins.jwt.enabled,
    schema: |_| Schema {
        tables: vec![JWKS],
        ..Schema::default()
    },
    build: |b| {
        Box::pin(async move {
            let issuer = JwtIssuer::load(b.settings, b.store, b.clock.now())
                .await
                .context("loading the JWT signing keys")?;
            Ok(Arc::new(JwtPlugin { issuer }) as Arc<dyn Plugin<AppState>>)
        })
    },
};

/// Better Auth's `jwks` table, as its migration generator writes it for each dialect.
pub const JWKS: Table = Table {
    name: "jwks",
    sqlite: &[
        r#"create table "jwks" ("id" text not null primary key, "publicKey" text not null, "privateKey" text not null, "createdAt" date not null, "expiresAt" date, "alg" text, "crv" text)"#,
    ],
    postgres: &[
        r#"create table "jwks" ("id" text not null primary key, "publicKey" text not null, "privateKey" text not null, "createdAt" timestamptz not null, "expiresAt" timestamptz, "alg" text, "crv" text)"#,
    ],
    mysql: &[
        r#"create table `jwks` (`id` varchar(36) not null primary key, `publicKey` text not null, `privateKey` text not null, `createdAt` timestamp(3) not null, `expiresAt` timestamp(3) null, `alg` text, `crv` text)"#,
    ],
};

pub const SET_AUTH_JWT: HeaderName = HeaderName::from_static("set-auth-jwt");

#[derive(Debug)]
pub struct JwtPlugin {
    pub issuer: JwtIssuer,
}

impl JwtPlugin {
    /// A signed JWT for the user, with the current key.
    pub async fn mint(&self, state: &AppState, user: &User) -> Result<String, ApiError> {
        self.mint_json(state, user_json(user, state.store.user_fields()))
            .await
    }

    /// A signed JWT for a user already shaped as its JSON object (`store::json::user_json`).
    pub async fn mint_json(&self, state: &AppState, user: Value) -> Result<String, ApiError> {
        let Value::Object(user) = user else {
            return Err(anyhow!("user JSON is not an object").into());
        };
        Ok(self
            .issuer
            .mint(&state.store, user, state.clock.now())
            .await?)
    }
}

#[async_trait]
impl Plugin<AppState> for JwtPlugin {
    fn id(&self) -> &'static str {
        KIND.id
    }

    fn routes(&self, cfg: &mut web::ServiceConfig) {
        routes::configure(cfg);
    }

    fn openapi(&self, _settings: &Settings) -> Vec<Op> {
        routes::openapi()
    }

    /// Better Auth's jwt plugin hooks `/get-session` and sets `set-auth-jwt`
    /// (`plugins/jwt/index.ts`, `hooks.after`).
    async fn get_session_headers(
        &self,
        state: &AppState,
        user: &Value,
        headers: &mut HeaderMap,
    ) -> Result<(), ApiError> {
        let jwt = self.mint_json(state, user.clone()).await?;
        let value = HeaderValue::from_str(&jwt).map_err(|e| ApiError::Internal(e.into()))?;
        headers.insert(SET_AUTH_JWT, value);
        expose_header(headers, SET_AUTH_JWT.as_str());
        Ok(())
    }
}
