//! The TOML file (`$BETTER_AUTH_CONFIG`, else `./better-auth.toml`): every key optional,
//! unknown keys refused.

use std::path::Path;

use serde::Deserialize;

use super::sections::*;
use crate::auth::password::PasswordHashing;

/// The TOML file, every key optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct FileConfig {
    pub(super) base_url: Option<String>,
    pub(super) base_path: Option<String>,
    pub(super) trusted_origins: Vec<String>,
    pub(super) database_url: Option<String>,
    pub(super) redis_url: Option<String>,
    pub(super) auto_migrate: Option<bool>,
    pub(super) email_and_password: EmailAndPassword,
    pub(super) session: SessionSettings,
    pub(super) user: UserSettings,
    pub(super) account: AccountSettings,
    pub(super) rate_limit: RateLimitSettings,
    pub(super) advanced: Advanced,
    pub(super) plugins: Plugins,
    pub(super) email: EmailSettings,
    pub(super) redis: RedisFile,
    pub(super) verification: VerificationSettings,
    pub(super) email_verification: EmailVerification,
    pub(super) danger_password_hashing: Option<PasswordHashing>,
}

/// `[redis]` as written; whether `key_prefix` was given decides how the deprecated
/// `[rate_limit] key_prefix` is taken.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RedisFile {
    pub(super) key_prefix: Option<String>,
}

pub(super) fn read_toml(path: &Path, errors: &mut Vec<String>) -> FileConfig {
    match std::fs::read_to_string(path) {
        Ok(text) => match toml::from_str::<FileConfig>(&text) {
            Ok(mut cfg) => {
                for field in cfg.user.additional_fields.values_mut() {
                    if let Some(d) = field.default.as_mut() {
                        toml_date_as_text(d);
                    }
                }
                cfg
            }
            Err(e) => {
                errors.push(format!("{}: {}", path.display(), e.message()));
                FileConfig::default()
            }
        },
        Err(e) => {
            errors.push(format!(
                "BETTER_AUTH_CONFIG: cannot read {}: {e}",
                path.display()
            ));
            FileConfig::default()
        }
    }
}

/// A TOML date read into JSON arrives as toml's private wrapper object: its RFC 3339 text is
/// what a `date` field's default means.
fn toml_date_as_text(v: &mut serde_json::Value) {
    let text = v
        .as_object()
        .filter(|m| m.len() == 1)
        .and_then(|m| m.get("$__toml_private_datetime"))
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned);
    if let Some(text) = text {
        *v = serde_json::Value::String(text);
    }
}
