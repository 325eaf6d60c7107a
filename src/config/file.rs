//! The TOML file (`$BETTER_AUTH_CONFIG`, else `./better-auth.toml`): every key optional,
//! unknown keys refused.

use std::path::Path;

use indexmap::IndexMap;
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
    pub(super) social_providers: IndexMap<String, SocialProviderSettings>,
    pub(super) rate_limit: RateLimitSettings,
    pub(super) advanced: Advanced,
    pub(super) on_api_error: OnApiError,
    pub(super) plugins: Plugins,
    pub(super) email: EmailSettings,
    pub(super) redis: RedisFile,
    pub(super) verification: VerificationSettings,
    pub(super) email_verification: EmailVerification,
    pub(super) danger_password_hashing: Option<PasswordHashing>,
    pub(super) metrics: MetricsSettings,
    pub(super) shutdown: ShutdownSettings,
    pub(super) storage: StorageSettings,
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
                let setting = e
                    .span()
                    .and_then(|span| setting_at(&text, span.start))
                    .map(|(line, key)| format!(" line {line}{key}"))
                    .unwrap_or_default();
                errors.push(format!(
                    "{}{setting}: {}",
                    path.display(),
                    without_values(e.message())
                ));
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

/// A parser message on one line, with the quoted values it cites left out (a value given to
/// the wrong key may be a secret): `invalid type: string "…", expected i64`.
fn without_values(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut quoted = false;
    for c in message.trim().chars() {
        match c {
            '"' if quoted => {
                out.push_str("…\"");
                quoted = false;
            }
            '"' => {
                out.push('"');
                quoted = true;
            }
            '\n' | '\r' if !quoted => out.push(' '),
            _ if quoted => {}
            c => out.push(c),
        }
    }
    out
}

/// The line of `offset` in `text`, and ` (setting a.b)` when that line assigns a key: the last
/// table header before it joined with the key. Values are never shown (they may be secrets).
fn setting_at(text: &str, offset: usize) -> Option<(usize, String)> {
    let before = text.get(..offset)?;
    let line_no = before.matches('\n').count() + 1;
    let line = text.lines().nth(line_no - 1).unwrap_or_default().trim();
    let table = text
        .lines()
        .take(line_no)
        .map(str::trim)
        .filter(|l| l.starts_with('['))
        .last()
        .map(|h| h.trim_matches(|c| c == '[' || c == ']').trim().to_owned());
    let key = line
        .split_once('=')
        .map(|(k, _)| k.trim().trim_matches('"').to_owned())
        .filter(|k| !k.is_empty() && !k.contains(char::is_whitespace));
    let name = match (table, key) {
        (Some(t), Some(k)) if !line.starts_with('[') => format!(" (setting {t}.{k})"),
        (None, Some(k)) => format!(" (setting {k})"),
        (Some(t), _) if line.starts_with('[') => format!(" (table [{t}])"),
        _ => String::new(),
    };
    Some((line_no, name))
}
