//! The magic-link plugin (Better Auth's `magicLink()`,
//! `packages/better-auth/src/plugins/magic-link/index.ts`):
//!
//! - config: `[plugins.magic_link]` ([`config::MagicLinkSettings`]);
//! - storage: a `verification` value under `magic-link:<token>` (or its hash) holding
//!   `{"type":"magic-link","email":…,"name":…}`, as Better Auth stores it, so a link either
//!   server mailed verifies on the other;
//! - routes ([`routes`]): `POST /sign-in/magic-link`, `GET /magic-link/verify`;
//! - rate limit: Better Auth's plugin rule (60 s, 5 requests) on both.

pub mod config;
mod routes;

use std::sync::Arc;

use actix_web::web;
use async_trait::async_trait;

use crate::auth::crypto::{b64url, sha256};
use crate::config::Settings;
use crate::openapi::builder::Op;
use crate::plugin::{Kind, Plugin};
use crate::rate_limit::Rule;
use crate::state::AppState;
use config::{MagicLinkSettings, StoreToken};

pub const KIND: Kind<AppState> = Kind {
    id: "magic_link",
    enabled: |s| s.plugins.magic_link.enabled,
    schema: |_| crate::plugin::Schema::default(),
    build: |b| {
        let settings = b.settings.plugins.magic_link.clone();
        Box::pin(
            async move { Ok(Arc::new(MagicLinkPlugin { settings }) as Arc<dyn Plugin<AppState>>) },
        )
    },
};

pub struct MagicLinkPlugin {
    settings: MagicLinkSettings,
}

impl MagicLinkPlugin {
    /// `magic-link:<token as stored>` (Better Auth's `magicLinkIdentifier(storeToken(token))`).
    pub fn identifier(&self, token: &str) -> String {
        match self.settings.store_token {
            StoreToken::Plain => format!("magic-link:{token}"),
            StoreToken::Hashed => format!("magic-link:{}", b64url(&sha256(token.as_bytes()))),
        }
    }
}

#[async_trait]
impl Plugin<AppState> for MagicLinkPlugin {
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
        vec![("/sign-in/magic-link", rule), ("/magic-link/verify", rule)]
    }
}
