//! `[plugins.magic_link]`: Better Auth's `magicLink()` options
//! (`packages/better-auth/src/plugins/magic-link/index.ts`).

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MagicLinkSettings {
    pub enabled: bool,
    /// Seconds a link lives (`expiresIn`).
    pub expires_in: i64,
    /// `disableSignUp`: a link for an unknown address creates no user.
    pub disable_sign_up: bool,
    /// `storeToken`: `plain`, or `hashed` (base64url SHA-256 in the identifier).
    pub store_token: StoreToken,
    /// `rateLimit` of `/sign-in/magic-link` and `/magic-link/verify`.
    pub rate_limit: LinkRateLimit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StoreToken {
    Plain,
    Hashed,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LinkRateLimit {
    pub window: u64,
    pub max: u64,
}

impl Default for LinkRateLimit {
    fn default() -> Self {
        Self { window: 60, max: 5 }
    }
}

impl Default for MagicLinkSettings {
    fn default() -> Self {
        Self {
            enabled: false,
            expires_in: 300,
            disable_sign_up: false,
            store_token: StoreToken::Plain,
            rate_limit: LinkRateLimit::default(),
        }
    }
}

impl MagicLinkSettings {
    /// Every problem, naming the setting.
    pub fn validate(&self, errors: &mut Vec<String>) {
        if !self.enabled {
            return;
        }
        if self.expires_in <= 0 {
            errors.push("plugins.magic_link.expires_in: must be positive".into());
        }
        if self.rate_limit.window == 0 || self.rate_limit.max == 0 {
            errors.push("plugins.magic_link.rate_limit: window and max must be positive".into());
        }
    }
}
