//! `[plugins.jwt]`: Better Auth's `jwt()` plugin options (`packages/better-auth/src/plugins/jwt/`).

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::auth::crypto::MIN_SECRET_LEN;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct JwtSettings {
    pub enabled: bool,
    pub alg: String,
    pub expiration_time: i64,
    pub issuer: String,
    pub audience: String,
    /// How new private keys are sealed; by default as `[storage] format` says (AES-256-GCM when
    /// native, Better Auth's `symmetricEncrypt` in `better-auth` format).
    pub key_encryption: Option<String>,
    pub rotation_interval: i64,
    pub grace_period: i64,
    /// How old the in-memory copy of the `jwks` table may get before it is read again, so that
    /// a key made by `better-auth-rs jwks rotate` (or another replica) is picked up (seconds).
    pub key_refresh_interval: i64,
    /// The shared HMAC key when `alg = "HS256"` (also `BETTER_AUTH_JWT_SECRET`).
    pub jwt_secret: Option<SecretString>,
}

impl Default for JwtSettings {
    fn default() -> Self {
        Self {
            enabled: false,
            alg: "EdDSA".into(),
            expiration_time: 900,
            issuer: String::new(),
            audience: String::new(),
            key_encryption: None,
            rotation_interval: 0,
            grace_period: 2_592_000,
            key_refresh_interval: 30,
            jwt_secret: None,
        }
    }
}

impl JwtSettings {
    /// Every problem, naming the setting.
    pub fn validate(&self, errors: &mut Vec<String>) {
        if !["EdDSA", "ES256", "ES512", "RS256", "PS256", "HS256"].contains(&self.alg.as_str()) {
            errors.push(format!(
                "plugins.jwt.alg: unsupported algorithm `{}`",
                self.alg
            ));
        }
        if self
            .key_encryption
            .as_deref()
            .is_some_and(|k| !["aes-256-gcm", "better-auth", "none"].contains(&k))
        {
            errors.push(
                "plugins.jwt.key_encryption: expected aes-256-gcm, better-auth or none".into(),
            );
        }
        if self.expiration_time <= 0 || self.rotation_interval < 0 || self.grace_period < 0 {
            errors.push("plugins.jwt: expiration_time must be positive, rotation_interval and grace_period not negative".into());
        }
        if self.key_refresh_interval <= 0 {
            errors.push("plugins.jwt.key_refresh_interval: must be positive".into());
        }
        if self.alg == "HS256" {
            // The length only: the value itself never appears in a message.
            match self.jwt_secret.as_ref().map(|s| s.expose_secret().chars().count()) {
                None | Some(0) => errors.push(
                    "plugins.jwt.jwt_secret / BETTER_AUTH_JWT_SECRET: required when plugins.jwt.alg is HS256".into(),
                ),
                Some(n) if n < MIN_SECRET_LEN => errors.push(format!(
                    "plugins.jwt.jwt_secret / BETTER_AUTH_JWT_SECRET: must be at least {MIN_SECRET_LEN} characters"
                )),
                Some(_) => {}
            }
        }
    }
}
