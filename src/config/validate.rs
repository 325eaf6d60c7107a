//! Checks of the file's values that serde's types cannot express; every problem names its
//! setting.

use super::file::FileConfig;
use super::sections::{
    MetricsSettings, RateLimitStorage, BUILT_IN_PROVIDERS, DEFAULT_REDIS_KEY_PREFIX,
    RATE_LIMIT_MAX_LIMIT,
};

/// The Graph photo sizes Microsoft serves (Better Auth's `profilePhotoSize`).
const PHOTO_SIZES: [u32; 9] = [48, 64, 96, 120, 240, 360, 432, 504, 648];

/// The storage must exist in this build and have what it needs (docs/compatibility.md §13.5).
pub(super) fn validate_rate_limit_storage(
    storage: RateLimitStorage,
    redis_url: Option<&str>,
    errors: &mut Vec<String>,
) {
    match storage {
        RateLimitStorage::Memory if !cfg!(feature = "governor") => errors.push(
            "rate_limit.storage: `memory` needs a build with the `governor` feature; use `database` or `redis`, or set rate_limit.enabled = false".into(),
        ),
        RateLimitStorage::Redis => match redis_url {
            None => errors.push(
                "rate_limit.storage: `redis` needs REDIS_URL (or redis_url in the TOML file)"
                    .into(),
            ),
            // No TLS client is built in: `rediss://` would only fail at the first request.
            Some(url)
                if !["redis://", "redis+unix://", "unix://"]
                    .iter()
                    .any(|p| url.starts_with(p)) =>
            {
                errors.push(
                    "REDIS_URL: expected a redis:// or unix:// URL (rediss:// is not supported)"
                        .into(),
                )
            }
            Some(_) => {}
        },
        _ => {}
    }
}

/// `[redis] key_prefix`, or the deprecated `[rate_limit] key_prefix` when only that is given.
pub(super) fn redis_key_prefix(
    file: &FileConfig,
    errors: &mut Vec<String>,
    warnings: &mut Vec<String>,
) -> String {
    match (&file.redis.key_prefix, &file.rate_limit.key_prefix) {
        (Some(redis), Some(old)) if redis != old => {
            errors.push(format!(
                "rate_limit.key_prefix: deprecated alias of redis.key_prefix, and the two differ \
                 (`{old}` and `{redis}`); Redis has one prefix for sessions, verification values \
                 and rate limits: keep redis.key_prefix only"
            ));
            redis.clone()
        }
        (redis, Some(old)) => {
            warnings.push(
                "rate_limit.key_prefix is deprecated: write [redis] key_prefix, the one prefix of \
                 every Redis key (sessions, verification values and rate limits)"
                    .into(),
            );
            redis.clone().unwrap_or_else(|| old.clone())
        }
        (Some(redis), None) => redis.clone(),
        (None, None) => DEFAULT_REDIS_KEY_PREFIX.into(),
    }
}

pub(super) fn validate_file(file: &FileConfig, errors: &mut Vec<String>) {
    let ep = &file.email_and_password;
    if ep.min_password_length == 0 || ep.max_password_length < ep.min_password_length {
        errors
            .push("email_and_password: need 0 < min_password_length <= max_password_length".into());
    }
    let s = &file.session;
    if s.expires_in <= 0 || s.expires_in > 34_560_000 {
        errors.push("session.expires_in: must be between 1 second and 400 days".into());
    }
    if s.update_age < 0 || s.fresh_age < 0 {
        errors.push("session.update_age / session.fresh_age: must not be negative".into());
    }
    if s.cookie_cache.max_age <= 0 || s.cookie_cache.max_age > 34_560_000 {
        errors.push("session.cookie_cache.max_age: must be between 1 second and 400 days".into());
    }
    for (name, field) in &file.user.additional_fields {
        let valid_name = !name.is_empty()
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !name.starts_with(|c: char| c.is_ascii_digit());
        if !valid_name {
            errors.push(format!(
                "user.additional_fields.{name}: the name must be letters, digits and `_`"
            ));
        }
        if crate::auth::fields::CORE_USER_FIELDS.contains(&name.as_str()) {
            errors.push(format!(
                "user.additional_fields.{name}: `{name}` is a core user column"
            ));
        }
        if let Some(default) = &field.default {
            if crate::auth::fields::default_value(field.field_type, default).is_none() {
                errors.push(format!(
                    "user.additional_fields.{name}.default: does not match type {:?}",
                    field.field_type
                ));
            }
        }
    }
    let rl = &file.rate_limit;
    if rl.window == 0 || rl.max == 0 || rl.max > RATE_LIMIT_MAX_LIMIT {
        errors.push(format!(
            "rate_limit.window / rate_limit.max: must be positive, max at most {RATE_LIMIT_MAX_LIMIT}"
        ));
    }
    for (i, rule) in rl.rules.iter().enumerate() {
        if !rule.path.starts_with('/') {
            errors.push(format!(
                "rate_limit.rules[{i}].path: `{}` must start with `/`",
                rule.path
            ));
        }
        if rule.window == Some(0)
            || rule.max == Some(0)
            || rule.max.is_some_and(|m| m > RATE_LIMIT_MAX_LIMIT)
        {
            errors.push(format!(
                "rate_limit.rules[{i}]: window and max must be positive, max at most {RATE_LIMIT_MAX_LIMIT}"
            ));
        }
    }
    file.plugins.jwt.validate(errors);
    file.plugins.admin.validate(errors);
    file.plugins.passkey.validate(errors);
    file.plugins.two_factor.validate(errors);
    file.plugins.api_key.validate(errors);
    file.plugins.organization.validate(errors);
    file.plugins.username.validate(errors);
    file.plugins.email_otp.validate(errors);
    file.plugins.magic_link.validate(errors);
    file.plugins.anonymous.validate(errors);
    file.plugins.last_login_method.validate(errors);
    file.plugins.multi_session.validate(errors);
    file.plugins.generic_oauth.validate(errors);
    for (id, provider) in &file.social_providers {
        if !BUILT_IN_PROVIDERS.contains(&id.as_str()) {
            errors.push(format!(
                "social_providers.{id}: unknown provider (built in: {})",
                BUILT_IN_PROVIDERS.join(", ")
            ));
        }
        if provider.client_id.is_empty() {
            errors.push(format!("social_providers.{id}.client_id: required"));
        }
        if let Some(size) = provider.profile_photo_size {
            if id != "microsoft" {
                errors.push(format!(
                    "social_providers.{id}.profile_photo_size: only for microsoft"
                ));
            } else if !PHOTO_SIZES.contains(&size) {
                errors.push(format!(
                    "social_providers.microsoft.profile_photo_size: one of {PHOTO_SIZES:?}"
                ));
            }
        }
    }
    if file.account.provider_timeout == 0 || file.account.provider_timeout > 120 {
        errors.push("account.provider_timeout: from 1 to 120 seconds".into());
    }
    let mail = &file.email;
    match mail.transport.as_str() {
        "log" | "file" => {}
        "smtp" if mail.smtp_url.starts_with("smtp://") || mail.smtp_url.starts_with("smtps://") => {
        }
        "smtp" => {
            errors.push("email.smtp_url: transport smtp needs an smtp:// or smtps:// URL".into())
        }
        "webhook"
            if mail.webhook_url.starts_with("http://")
                || mail.webhook_url.starts_with("https://") => {}
        "webhook" => {
            errors.push("email.webhook_url: transport webhook needs an http(s) URL".into())
        }
        _ => errors.push("email.transport: expected log, file, smtp or webhook".into()),
    }
    if mail.from.parse::<lettre::message::Mailbox>().is_err() {
        errors.push("email.from: not a mailbox address".into());
    }
    if file.email_verification.expires_in <= 0
        || file.user.delete_user.delete_token_expires_in <= 0
        || file.email_and_password.reset_password_token_expires_in <= 0
    {
        errors.push("email_verification.expires_in, user.delete_user.delete_token_expires_in, email_and_password.reset_password_token_expires_in: must be positive".into());
    }
    if file.advanced.cookie_prefix.is_empty()
        || !file
            .advanced
            .cookie_prefix
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    {
        errors.push("advanced.cookie_prefix: letters, digits, `-`, `_` and `.` only".into());
    }
    if file.advanced.ipv6_subnet > 128 {
        errors.push("advanced.ipv6_subnet: a prefix length from 0 to 128".into());
    }
    if let Some(url) = &file.on_api_error.error_url {
        if crate::auth::links::append_query(url, "error", "UNKNOWN").is_none() {
            errors.push(
                "on_api_error.error_url: an absolute URL or a path starting with a single `/`"
                    .into(),
            );
        }
    }
}

/// Shortest metrics token accepted.
const MIN_METRICS_TOKEN_LEN: usize = 16;

/// `/metrics` is never public: on the API port it needs a token (docs/operations.md §2).
pub(super) fn validate_metrics(metrics: &MetricsSettings, api_port: u16, errors: &mut Vec<String>) {
    use secrecy::ExposeSecret;
    if !metrics.enabled {
        return;
    }
    if let Some(token) = &metrics.token {
        if token.expose_secret().chars().count() < MIN_METRICS_TOKEN_LEN {
            errors.push(format!(
                "BETTER_AUTH_METRICS_TOKEN: must be at least {MIN_METRICS_TOKEN_LEN} characters"
            ));
        }
    }
    if metrics.on_api_port {
        if metrics.token.is_none() {
            errors.push(
                "metrics.on_api_port: /metrics on the API port needs BETTER_AUTH_METRICS_TOKEN"
                    .into(),
            );
        }
    } else if metrics.port == api_port && api_port != 0 {
        errors.push(format!(
            "metrics.port: {api_port} is the API port (PORT); choose another, or set metrics.on_api_port"
        ));
    }
}
