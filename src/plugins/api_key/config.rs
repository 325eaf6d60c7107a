//! `[plugins.api_key]`: the options of Better Auth's `apiKey()` plugin
//! (`packages/api-key/src/index.ts` of `@better-auth/api-key`), with its defaults; one
//! configuration (Better Auth's `configId` "default").

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApiKeySettings {
    pub enabled: bool,
    /// A request carrying a key in one of `api_key_headers` is served with a session of the
    /// key's owner (`enableSessionForAPIKeys`).
    pub enable_session_for_api_keys: bool,
    /// The headers a key is read from, first found wins (`apiKeyHeaders`).
    pub api_key_headers: Vec<String>,
    /// Random characters of a new key, after its prefix (`defaultKeyLength`).
    pub default_key_length: usize,
    /// The prefix of keys created without one (`defaultPrefix`).
    pub default_prefix: Option<String>,
    pub minimum_prefix_length: usize,
    pub maximum_prefix_length: usize,
    pub minimum_name_length: usize,
    pub maximum_name_length: usize,
    pub require_name: bool,
    /// Whether keys may carry `metadata` (`enableMetadata`).
    pub enable_metadata: bool,
    pub starting_characters_config: StartingCharacters,
    pub key_expiration: KeyExpiration,
    pub rate_limit: KeyRateLimit,
    /// The token a backend sends in `x-server-token` to act as Better Auth's server-side
    /// `auth.api.*` calls: `/api-key/verify`, `/api-key/delete-all-expired-api-keys`, and the
    /// server-only fields of create and update. Unset: those stay unreachable, as in Better
    /// Auth over HTTP. Better given as `BETTER_AUTH_PLUGINS_API_KEY_SERVER_TOKEN`.
    pub server_token: Option<SecretString>,
}

/// `startingCharactersConfig`: how much of a new key is stored in plain text as `start`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StartingCharacters {
    pub should_store: bool,
    pub characters_length: usize,
}

/// `keyExpiration`: the bounds are in days, `default_expires_in` in seconds (as Better Auth's).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KeyExpiration {
    pub default_expires_in: Option<i64>,
    pub disable_custom_expires_time: bool,
    pub min_expires_in: f64,
    pub max_expires_in: f64,
}

/// `rateLimit`: the per-key limit new keys get; the window is in milliseconds.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KeyRateLimit {
    pub enabled: bool,
    pub time_window: i64,
    pub max_requests: i64,
}

impl Default for ApiKeySettings {
    fn default() -> Self {
        Self {
            enabled: false,
            enable_session_for_api_keys: false,
            api_key_headers: vec!["x-api-key".into()],
            default_key_length: 64,
            default_prefix: None,
            minimum_prefix_length: 1,
            maximum_prefix_length: 32,
            minimum_name_length: 1,
            maximum_name_length: 32,
            require_name: false,
            enable_metadata: false,
            starting_characters_config: StartingCharacters::default(),
            key_expiration: KeyExpiration::default(),
            rate_limit: KeyRateLimit::default(),
            server_token: None,
        }
    }
}

impl Default for StartingCharacters {
    fn default() -> Self {
        Self {
            should_store: true,
            characters_length: 6,
        }
    }
}

impl Default for KeyExpiration {
    fn default() -> Self {
        Self {
            default_expires_in: None,
            disable_custom_expires_time: false,
            min_expires_in: 1.0,
            max_expires_in: 365.0,
        }
    }
}

impl Default for KeyRateLimit {
    fn default() -> Self {
        Self {
            enabled: true,
            time_window: 86_400_000,
            max_requests: 10,
        }
    }
}

/// The shortest server token accepted.
const MIN_SERVER_TOKEN_LEN: usize = 32;

impl ApiKeySettings {
    /// Every problem, naming the setting.
    pub fn validate(&self, errors: &mut Vec<String>) {
        if !self.enabled {
            return;
        }
        let name_ok = |h: &String| {
            !h.is_empty()
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        };
        if self.api_key_headers.is_empty() || !self.api_key_headers.iter().all(name_ok) {
            errors.push("plugins.api_key.api_key_headers: one or more header names".into());
        }
        if self.default_key_length == 0 || self.default_key_length > 512 {
            errors.push("plugins.api_key.default_key_length: between 1 and 512".into());
        }
        if let Some(p) = &self.default_prefix {
            if p.is_empty()
                || !p
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                errors.push(
                    "plugins.api_key.default_prefix: letters, digits, '-' and '_' only".into(),
                );
            }
        }
        if self.minimum_prefix_length > self.maximum_prefix_length {
            errors
                .push("plugins.api_key.minimum_prefix_length: above maximum_prefix_length".into());
        }
        if self.minimum_name_length > self.maximum_name_length {
            errors.push("plugins.api_key.minimum_name_length: above maximum_name_length".into());
        }
        let e = &self.key_expiration;
        if e.min_expires_in < 0.0 || e.min_expires_in > e.max_expires_in {
            errors.push(
                "plugins.api_key.key_expiration: min_expires_in must be >= 0 and <= max_expires_in"
                    .into(),
            );
        }
        if e.default_expires_in.is_some_and(|s| s <= 0) {
            errors
                .push("plugins.api_key.key_expiration.default_expires_in: positive seconds".into());
        }
        let r = &self.rate_limit;
        if r.time_window <= 0 || r.max_requests <= 0 || r.time_window > i64::from(i32::MAX) {
            errors.push(
                "plugins.api_key.rate_limit: time_window (ms, fits a 32-bit column) and \
                 max_requests must be positive"
                    .into(),
            );
        }
        if let Some(t) = &self.server_token {
            if t.expose_secret().chars().count() < MIN_SERVER_TOKEN_LEN {
                errors.push(format!(
                    "plugins.api_key.server_token: at least {MIN_SERVER_TOKEN_LEN} characters"
                ));
            }
        }
    }
}
