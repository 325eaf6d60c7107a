//! Settings: built-in defaults → TOML file → `.env` → process environment (`CONFIG.md`).
//! This is the only module that reads environment variables.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

/// Better Auth's development default secret; refused everywhere (spec README §1.7).
const BETTER_AUTH_DEFAULT_SECRET: &str = "better-auth-secret-12345678901234567890";
const MIN_SECRET_LEN: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    Development,
    Production,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Pretty,
    Json,
}

/// One secret with its version (`BETTER_AUTH_SECRETS="2:new,1:old"`, `spec/crypto.md` §3).
#[derive(Debug, Clone)]
pub struct VersionedSecret {
    pub version: u32,
    pub value: SecretString,
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub environment: Environment,
    /// Current secret: signs cookies and HS256 tokens.
    pub secret: SecretString,
    /// All secrets, current first. Holds only the current one when no versions are given.
    pub secrets: Vec<VersionedSecret>,
    /// True when `secrets` came from `BETTER_AUTH_SECRETS` (envelopes then carry a version).
    pub versioned_secrets: bool,
    /// Origin of the base URL, e.g. `http://localhost:3001`.
    pub base_origin: String,
    /// Path under which the API is served, e.g. `/api/auth`.
    pub base_path: String,
    pub trusted_origins: Vec<String>,
    pub database_url: SecretString,
    pub redis_url: Option<SecretString>,
    pub host: String,
    pub port: u16,
    pub log_format: LogFormat,
    pub auto_migrate: bool,
    pub email_and_password: EmailAndPassword,
    pub session: SessionSettings,
    pub user: UserSettings,
    pub account: AccountSettings,
    pub rate_limit: RateLimitSettings,
    pub advanced: Advanced,
    pub plugins: Plugins,
    pub email: EmailSettings,
    pub redis: RedisSettings,
    pub verification: VerificationSettings,
    pub email_verification: EmailVerification,
    pub password_hashing: PasswordHashing,
    /// Warnings found while loading, logged once telemetry is up.
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EmailAndPassword {
    pub enabled: bool,
    pub min_password_length: usize,
    pub max_password_length: usize,
    pub require_email_verification: bool,
    pub auto_sign_in: bool,
    pub reset_password_token_expires_in: i64,
    pub revoke_sessions_on_password_reset: bool,
}

impl Default for EmailAndPassword {
    fn default() -> Self {
        Self {
            enabled: true,
            min_password_length: 8,
            max_password_length: 128,
            require_email_verification: false,
            auto_sign_in: true,
            reset_password_token_expires_in: 3600,
            revoke_sessions_on_password_reset: false,
        }
    }
}

/// Better Auth's `emailVerification` options (tokens-and-emails.md §1).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EmailVerification {
    /// `None`: follow `email_and_password.require_email_verification`.
    pub send_on_sign_up: Option<bool>,
    pub send_on_sign_in: bool,
    pub auto_sign_in_after_verification: bool,
    /// Lifetime of verification tokens, seconds.
    pub expires_in: i64,
}

impl Default for EmailVerification {
    fn default() -> Self {
        Self {
            send_on_sign_up: None,
            send_on_sign_in: false,
            auto_sign_in_after_verification: false,
            expires_in: 3600,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SessionSettings {
    pub expires_in: i64,
    pub update_age: i64,
    pub fresh_age: i64,
    pub disable_session_refresh: bool,
    pub cookie_cache: CookieCache,
    /// With Redis, also write sessions to the `session` table (Better Auth's
    /// `session.storeSessionInDatabase`, sessions.md §1, §8).
    pub store_session_in_database: bool,
    /// With Redis and the table, revoked rows stay with `expiresAt = now` (Better Auth's
    /// `session.preserveSessionInDatabase`).
    pub preserve_session_in_database: bool,
}

impl Default for SessionSettings {
    fn default() -> Self {
        Self {
            expires_in: 604_800,
            update_age: 86_400,
            fresh_age: 86_400,
            disable_session_refresh: false,
            cookie_cache: CookieCache::default(),
            store_session_in_database: false,
            preserve_session_in_database: false,
        }
    }
}

/// Better Auth's official Redis storage puts this before every key.
const DEFAULT_REDIS_KEY_PREFIX: &str = "better-auth:";

/// `[redis]`: the secondary storage used when `REDIS_URL` is set (sessions.md §8).
#[derive(Debug, Clone)]
pub struct RedisSettings {
    /// Put before every key (sessions, verification values, rate-limit counters): one prefix
    /// for the whole secondary storage, as the official Redis adapter has (`better-auth:`).
    pub key_prefix: String,
}

impl Default for RedisSettings {
    fn default() -> Self {
        Self {
            key_prefix: DEFAULT_REDIS_KEY_PREFIX.into(),
        }
    }
}

/// `[redis]` as written; whether `key_prefix` was given decides how the deprecated
/// `[rate_limit] key_prefix` is taken.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RedisFile {
    key_prefix: Option<String>,
}

/// `[verification]`: Better Auth's `verification` options (tokens-and-emails.md §3).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VerificationSettings {
    /// With Redis, also write verification values to the `verification` table (Better Auth's
    /// `verification.storeInDatabase`, sessions.md §8); without it they live in Redis only.
    pub store_in_database: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CacheStrategy {
    Compact,
    Jwt,
    Jwe,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CookieCache {
    pub enabled: bool,
    pub max_age: i64,
    pub strategy: CacheStrategy,
    pub version: String,
}

impl Default for CookieCache {
    fn default() -> Self {
        Self {
            enabled: false,
            max_age: 300,
            strategy: CacheStrategy::Compact,
            version: "1".into(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum FieldType {
    #[serde(rename = "string")]
    String,
    #[serde(rename = "number")]
    Number,
    #[serde(rename = "boolean")]
    Boolean,
    #[serde(rename = "date")]
    Date,
    #[serde(rename = "json")]
    Json,
    #[serde(rename = "string[]")]
    StringArray,
    #[serde(rename = "number[]")]
    NumberArray,
}

/// A custom user column declared in `[user.additional_fields.<name>]` (`spec/schema.md` §9).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdditionalField {
    #[serde(rename = "type")]
    pub field_type: FieldType,
    /// `None` = unspecified: NOT NULL in the schema but not mandatory on create.
    #[serde(default)]
    pub required: Option<bool>,
    #[serde(default)]
    pub default: Option<toml::Value>,
    #[serde(default = "yes")]
    pub input: bool,
    #[serde(default = "yes")]
    pub returned: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UserSettings {
    pub additional_fields: IndexMap<String, AdditionalField>,
    pub delete_user: DeleteUser,
    pub change_email: ChangeEmail,
}

/// Better Auth's `account` options that apply here.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AccountSettings {
    pub account_linking: AccountLinking,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AccountLinking {
    /// Lets unlink-account remove a user's last account (endpoints.md §5.2).
    pub allow_unlinking_all: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeleteUser {
    pub enabled: bool,
    pub delete_token_expires_in: i64,
    /// Better Auth's `sendDeleteAccountVerification`: deletion waits for the mailed link.
    pub send_delete_account_verification: bool,
}

impl Default for DeleteUser {
    fn default() -> Self {
        Self {
            enabled: false,
            delete_token_expires_in: 86_400,
            send_delete_account_verification: false,
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChangeEmail {
    pub enabled: bool,
    pub update_email_without_verification: bool,
    /// Better Auth's `sendChangeEmailConfirmation`: a verified user first confirms the change
    /// from the old address.
    pub send_change_email_confirmation: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RateLimitStorage {
    Memory,
    Database,
    Redis,
}

/// A `[[rate_limit.rules]]` entry: Better Auth's `rateLimit.customRules[path]` (rate-limit.md §2).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitRule {
    /// An exact path under the base path (`/get-session`) or a pattern (`/sign-in/*`, `/**`).
    pub path: String,
    /// Seconds; when omitted, the window of the rule that would apply otherwise.
    #[serde(default)]
    pub window: Option<u64>,
    /// Requests per window; when omitted, the max of the rule that would apply otherwise.
    #[serde(default)]
    pub max: Option<u64>,
    /// `false`: no rate limiting for these paths (Better Auth's `customRules[path] = false`).
    #[serde(default = "yes")]
    pub enabled: bool,
}

/// Largest `max` accepted: the in-memory counter keeps the count in 20 bits.
pub const RATE_LIMIT_MAX_LIMIT: u64 = 1_000_000;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimitSettings {
    /// `None`: on only in production (spec README §1.7).
    pub enabled: Option<bool>,
    pub window: u64,
    pub max: u64,
    /// `memory` by default; `database` in a build without the `governor` feature.
    pub storage: RateLimitStorage,
    /// Deprecated alias of `[redis] key_prefix`, read only at load (a warning; an error when
    /// both are set and differ). The counters use the one Redis prefix.
    pub key_prefix: Option<String>,
    pub rules: Vec<RateLimitRule>,
}

impl Default for RateLimitSettings {
    fn default() -> Self {
        Self {
            enabled: None,
            window: 10,
            max: 100,
            storage: if cfg!(feature = "governor") {
                RateLimitStorage::Memory
            } else {
                RateLimitStorage::Database
            },
            key_prefix: None,
            rules: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Advanced {
    pub ip_address_headers: Vec<String>,
    pub use_secure_cookies: Option<bool>,
    pub cookie_prefix: String,
    pub disable_csrf_check: bool,
    pub disable_origin_check: bool,
}

impl Default for Advanced {
    fn default() -> Self {
        Self {
            ip_address_headers: vec!["x-forwarded-for".into()],
            use_secure_cookies: None,
            cookie_prefix: "better-auth".into(),
            disable_csrf_check: false,
            disable_origin_check: false,
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Plugins {
    pub jwt: JwtSettings,
    pub bearer: BearerSettings,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct JwtSettings {
    pub enabled: bool,
    pub alg: String,
    pub expiration_time: i64,
    pub issuer: String,
    pub audience: String,
    pub key_encryption: String,
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
            key_encryption: "aes-256-gcm".into(),
            rotation_interval: 0,
            grace_period: 2_592_000,
            key_refresh_interval: 30,
            jwt_secret: None,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BearerSettings {
    pub enabled: bool,
    pub require_signature: bool,
}

impl Default for BearerSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            require_signature: false,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EmailSettings {
    pub transport: String,
    pub file: String,
    pub smtp_url: String,
    pub webhook_url: String,
    pub from: String,
}

impl Default for EmailSettings {
    fn default() -> Self {
        Self {
            transport: "log".into(),
            file: "outbox.jsonl".into(),
            smtp_url: String::new(),
            webhook_url: String::new(),
            from: "no-reply@localhost".into(),
        }
    }
}

/// Argon2id cost for new hashes. `DangerTestMinimum` exists for test suites only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PasswordHashing {
    Standard,
    DangerTestMinimum,
}

/// The TOML file, every key optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct FileConfig {
    base_url: Option<String>,
    base_path: Option<String>,
    trusted_origins: Vec<String>,
    database_url: Option<String>,
    redis_url: Option<String>,
    auto_migrate: Option<bool>,
    email_and_password: EmailAndPassword,
    session: SessionSettings,
    user: UserSettings,
    account: AccountSettings,
    rate_limit: RateLimitSettings,
    advanced: Advanced,
    plugins: Plugins,
    email: EmailSettings,
    redis: RedisFile,
    verification: VerificationSettings,
    email_verification: EmailVerification,
    danger_password_hashing: Option<PasswordHashing>,
}

/// Environment variables we know; any other `BETTER_AUTH_*` one is reported.
const KNOWN_VARS: &[&str] = &[
    "BETTER_AUTH_SECRET",
    "BETTER_AUTH_SECRETS",
    "BETTER_AUTH_URL",
    "BETTER_AUTH_TRUSTED_ORIGINS",
    "BETTER_AUTH_ENV",
    "BETTER_AUTH_CONFIG",
    "BETTER_AUTH_AUTO_MIGRATE",
    "BETTER_AUTH_JWT_SECRET",
    "BETTER_AUTH_EMAIL_FILE",
];

/// Where configuration values come from; tests pass their own map instead of the process env.
pub struct Sources {
    pub vars: BTreeMap<String, String>,
}

impl Sources {
    /// The process environment, with `./.env` underneath it (the environment wins).
    pub fn from_process() -> Self {
        let mut vars: BTreeMap<String, String> = BTreeMap::new();
        if let Ok(iter) = dotenvy::from_path_iter(".env") {
            for (k, v) in iter.flatten() {
                vars.insert(k, v);
            }
        }
        vars.extend(std::env::vars());
        Self { vars }
    }

    pub fn from_map<I: IntoIterator<Item = (K, V)>, K: Into<String>, V: Into<String>>(
        it: I,
    ) -> Self {
        Self {
            vars: it.into_iter().map(|(k, v)| (k.into(), v.into())).collect(),
        }
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.trim().is_empty())
    }
}

/// Every problem found, one line each, naming the setting.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration:\n  - {}", .0.join("\n  - "))]
pub struct ConfigErrors(pub Vec<String>);

impl Settings {
    /// Loads from the process environment (and `.env`, and the TOML file).
    pub fn from_env() -> Result<Self, ConfigErrors> {
        Self::load(&Sources::from_process())
    }

    pub fn load(src: &Sources) -> Result<Self, ConfigErrors> {
        let mut errors = Vec::new();
        let mut warnings = Vec::new();

        let config_path = src.get("BETTER_AUTH_CONFIG").map(PathBuf::from);
        let mut file = match &config_path {
            Some(p) => read_toml(p, &mut errors),
            None if Path::new("better-auth.toml").exists() => {
                read_toml(Path::new("better-auth.toml"), &mut errors)
            }
            None => FileConfig::default(),
        };

        for name in src.vars.keys() {
            if name.starts_with("BETTER_AUTH_") && !KNOWN_VARS.contains(&name.as_str()) {
                warnings.push(format!("unknown environment variable {name} is ignored"));
            }
        }

        let environment = match src.get("BETTER_AUTH_ENV").unwrap_or("development") {
            "production" => Environment::Production,
            "development" | "test" => Environment::Development,
            other => {
                errors.push(format!(
                    "BETTER_AUTH_ENV: expected `development` or `production`, got `{other}`"
                ));
                Environment::Development
            }
        };

        let base_url = src
            .get("BETTER_AUTH_URL")
            .map(str::to_owned)
            .or(file.base_url.clone())
            .unwrap_or_else(|| "http://localhost:3001".into());
        let (base_origin, url_path) = match url::Url::parse(&base_url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => (
                u.origin().ascii_serialization(),
                u.path().trim_end_matches('/').to_owned(),
            ),
            _ => {
                errors.push(format!(
                    "BETTER_AUTH_URL / base_url: `{base_url}` is not an http(s) URL"
                ));
                (String::new(), String::new())
            }
        };
        // A base URL with a path is the full base; the base path option is then ignored (README §1.1).
        let base_path = if !url_path.is_empty() {
            url_path
        } else {
            let p = file.base_path.clone().unwrap_or_else(|| "/api/auth".into());
            let p = p.trim_end_matches('/').to_owned();
            if !p.is_empty() && !p.starts_with('/') {
                errors.push(format!("base_path: `{p}` must start with `/`"));
            }
            p
        };

        let mut trusted_origins = vec![base_origin.clone()];
        trusted_origins.extend(file.trusted_origins.iter().cloned());
        if let Some(list) = src.get("BETTER_AUTH_TRUSTED_ORIGINS") {
            trusted_origins.extend(
                list.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(String::from),
            );
        }
        trusted_origins.retain(|o| !o.is_empty());
        trusted_origins.dedup();

        let database_url = src
            .get("DATABASE_URL")
            .map(str::to_owned)
            .or(file.database_url.clone())
            .unwrap_or_else(|| "sqlite://better-auth.db?mode=rwc".into());
        if ![
            "sqlite:",
            "postgres://",
            "postgresql://",
            "mysql://",
            "mariadb://",
        ]
        .iter()
        .any(|p| database_url.starts_with(p))
        {
            errors.push("DATABASE_URL: expected a sqlite:, postgres:// or mysql:// URL".into());
        }
        let database_url = database_url.replacen("mariadb://", "mysql://", 1);

        let host = src.get("HOST").unwrap_or("127.0.0.1").to_owned();
        let port = match src.get("PORT").map(str::parse::<u16>) {
            None => 3001,
            Some(Ok(p)) => p,
            Some(Err(_)) => {
                errors.push("PORT: expected a number from 0 to 65535".into());
                3001
            }
        };
        let log_format = match src.get("LOG_FORMAT").unwrap_or("pretty") {
            "json" => LogFormat::Json,
            "pretty" => LogFormat::Pretty,
            other => {
                errors.push(format!(
                    "LOG_FORMAT: expected `pretty` or `json`, got `{other}`"
                ));
                LogFormat::Pretty
            }
        };
        let auto_migrate = match src.get("BETTER_AUTH_AUTO_MIGRATE") {
            Some(v) => parse_bool("BETTER_AUTH_AUTO_MIGRATE", v, &mut errors),
            None => file.auto_migrate.unwrap_or(true),
        };

        let (secret, secrets, versioned_secrets) =
            load_secrets(src, environment, &database_url, &mut errors, &mut warnings);

        if let Some(s) = src.get("BETTER_AUTH_JWT_SECRET") {
            file.plugins.jwt.jwt_secret = Some(SecretString::from(s.to_owned()));
        }
        validate_file(&file, &mut errors);
        let mut email = file.email.clone();
        if let Some(path) = src.get("BETTER_AUTH_EMAIL_FILE") {
            email.file = path.to_owned();
        }

        let redis_url = src
            .get("REDIS_URL")
            .map(str::to_owned)
            .or(file.redis_url.clone());
        let rate_limit_on = file
            .rate_limit
            .enabled
            .unwrap_or(environment == Environment::Production);
        if rate_limit_on {
            validate_rate_limit_storage(file.rate_limit.storage, redis_url.as_deref(), &mut errors);
        }
        let redis = RedisSettings {
            key_prefix: redis_key_prefix(&file, &mut errors, &mut warnings),
        };

        if !errors.is_empty() {
            return Err(ConfigErrors(errors));
        }
        Ok(Settings {
            environment,
            secret,
            secrets,
            versioned_secrets,
            base_origin,
            base_path,
            trusted_origins,
            database_url: SecretString::from(database_url),
            redis_url: redis_url.map(SecretString::from),
            host,
            port,
            log_format,
            auto_migrate,
            email_and_password: file.email_and_password,
            session: file.session,
            user: file.user,
            account: file.account,
            rate_limit: file.rate_limit,
            advanced: file.advanced,
            plugins: file.plugins,
            redis,
            verification: file.verification,
            email,
            email_verification: file.email_verification,
            password_hashing: file
                .danger_password_hashing
                .unwrap_or(PasswordHashing::Standard),
            warnings,
        })
    }

    pub fn listen_addr(&self) -> (String, u16) {
        (self.host.clone(), self.port)
    }

    /// `baseURL` (full): origin + base path, used in every generated link.
    pub fn base_url(&self) -> String {
        format!("{}{}", self.base_origin, self.base_path)
    }

    pub fn is_production(&self) -> bool {
        self.environment == Environment::Production
    }

    pub fn rate_limit_enabled(&self) -> bool {
        self.rate_limit.enabled.unwrap_or(self.is_production())
    }

    /// Cookies are secure when configured so, else when the base URL is https (cookies.md §2).
    pub fn secure_cookies(&self) -> bool {
        self.advanced
            .use_secure_cookies
            .unwrap_or(self.base_origin.starts_with("https://"))
    }

    pub fn jwt_issuer(&self) -> String {
        non_empty_or(&self.plugins.jwt.issuer, &self.base_origin)
    }

    pub fn jwt_audience(&self) -> String {
        non_empty_or(&self.plugins.jwt.audience, &self.base_origin)
    }
}

fn non_empty_or(value: &str, fallback: &str) -> String {
    if value.is_empty() {
        fallback.to_owned()
    } else {
        value.to_owned()
    }
}

fn read_toml(path: &Path, errors: &mut Vec<String>) -> FileConfig {
    match std::fs::read_to_string(path) {
        Ok(text) => match toml::from_str::<FileConfig>(&text) {
            Ok(cfg) => cfg,
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

fn parse_bool(name: &str, value: &str, errors: &mut Vec<String>) -> bool {
    match value.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => true,
        "0" | "false" | "no" | "off" => false,
        _ => {
            errors.push(format!("{name}: expected true or false, got `{value}`"));
            false
        }
    }
}

fn load_secrets(
    src: &Sources,
    environment: Environment,
    database_url: &str,
    errors: &mut Vec<String>,
    warnings: &mut Vec<String>,
) -> (SecretString, Vec<VersionedSecret>, bool) {
    let mut secrets = Vec::new();
    let mut versioned = false;
    if let Some(list) = src.get("BETTER_AUTH_SECRETS") {
        versioned = true;
        for (i, entry) in list
            .split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .enumerate()
        {
            match entry
                .split_once(':')
                .map(|(v, s)| (v.trim().parse::<u32>(), s.trim()))
            {
                Some((Ok(version), value)) if !value.is_empty() => {
                    if secrets
                        .iter()
                        .any(|s: &VersionedSecret| s.version == version)
                    {
                        errors.push(format!(
                            "BETTER_AUTH_SECRETS: version {version} is listed twice"
                        ));
                    }
                    secrets.push(VersionedSecret {
                        version,
                        value: SecretString::from(value.to_owned()),
                    });
                }
                _ => errors.push(format!(
                    "BETTER_AUTH_SECRETS: entry {} is not `<version>:<secret>`",
                    i + 1
                )),
            }
        }
        if secrets.is_empty() {
            errors.push("BETTER_AUTH_SECRETS: no secret given".into());
        }
    }
    let current = match (secrets.first(), src.get("BETTER_AUTH_SECRET")) {
        (Some(first), _) => Some(first.value.clone()),
        (None, Some(s)) => Some(SecretString::from(s.to_owned())),
        (None, None) => None,
    };
    let current = match current {
        Some(s) => s,
        None if environment == Environment::Production => {
            errors.push("BETTER_AUTH_SECRET: required when BETTER_AUTH_ENV=production".into());
            SecretString::from(String::new())
        }
        None => match development_secret(database_url) {
            Ok((s, path)) => {
                warnings.push(format!(
                    "BETTER_AUTH_SECRET is not set: using the development secret kept in {}",
                    path.display()
                ));
                s
            }
            Err(e) => {
                errors.push(format!(
                    "BETTER_AUTH_SECRET: not set, and no development secret could be kept: {e}"
                ));
                SecretString::from(String::new())
            }
        },
    };
    let all = std::iter::once(&current).chain(secrets.iter().map(|s| &s.value));
    for s in all {
        let s = s.expose_secret();
        if s.is_empty() {
            continue;
        }
        if s == BETTER_AUTH_DEFAULT_SECRET {
            errors.push(
                "BETTER_AUTH_SECRET: the Better Auth example default secret must not be used"
                    .into(),
            );
        } else if s.chars().count() < MIN_SECRET_LEN {
            let msg = format!("BETTER_AUTH_SECRET: must be at least {MIN_SECRET_LEN} characters");
            if environment == Environment::Production {
                errors.push(msg)
            } else {
                warnings.push(msg)
            }
        }
    }
    if secrets.is_empty() {
        secrets.push(VersionedSecret {
            version: 0,
            value: current.clone(),
        });
    }
    (current, secrets, versioned)
}

/// The generated development secret lives beside the SQLite file (else in the working
/// directory), readable by its owner only, and is reused on the next start.
fn development_secret(database_url: &str) -> std::io::Result<(SecretString, PathBuf)> {
    let dir = sqlite_path(database_url)
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(|| PathBuf::from("."));
    let path = dir.join(".better-auth-secret");
    if let Ok(existing) = std::fs::read_to_string(&path) {
        let existing = existing.trim().to_owned();
        if existing.len() >= MIN_SECRET_LEN {
            return Ok((SecretString::from(existing), path));
        }
    }
    let secret = generate_secret();
    write_private(&path, &secret)?;
    Ok((SecretString::from(secret), path))
}

fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(contents.as_bytes())
}

/// A new random secret: 48 bytes, base64url (64 characters).
pub fn generate_secret() -> String {
    use base64::Engine;
    use rand::RngCore;
    let mut bytes = [0u8; 48];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The file path of a `sqlite:` URL, if it names a file.
pub fn sqlite_path(database_url: &str) -> Option<PathBuf> {
    let rest = database_url
        .strip_prefix("sqlite://")
        .or_else(|| database_url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    if path.is_empty() || path == ":memory:" {
        return None;
    }
    Some(PathBuf::from(path))
}

/// The storage must exist in this build and have what it needs (rate-limit.md §5).
fn validate_rate_limit_storage(
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
fn redis_key_prefix(
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

fn validate_file(file: &FileConfig, errors: &mut Vec<String>) {
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
            if crate::auth::fields::default_to_json(field.field_type, default).is_none() {
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
    let jwt = &file.plugins.jwt;
    if !["EdDSA", "ES256", "ES512", "RS256", "PS256", "HS256"].contains(&jwt.alg.as_str()) {
        errors.push(format!(
            "plugins.jwt.alg: unsupported algorithm `{}`",
            jwt.alg
        ));
    }
    if !["aes-256-gcm", "better-auth", "none"].contains(&jwt.key_encryption.as_str()) {
        errors.push("plugins.jwt.key_encryption: expected aes-256-gcm, better-auth or none".into());
    }
    if jwt.expiration_time <= 0 || jwt.rotation_interval < 0 || jwt.grace_period < 0 {
        errors.push("plugins.jwt: expiration_time must be positive, rotation_interval and grace_period not negative".into());
    }
    if jwt.key_refresh_interval <= 0 {
        errors.push("plugins.jwt.key_refresh_interval: must be positive".into());
    }
    if jwt.alg == "HS256" {
        // The length only: the value itself never appears in a message.
        match jwt.jwt_secret.as_ref().map(|s| s.expose_secret().chars().count()) {
            None | Some(0) => errors.push(
                "plugins.jwt.jwt_secret / BETTER_AUTH_JWT_SECRET: required when plugins.jwt.alg is HS256".into(),
            ),
            Some(n) if n < MIN_SECRET_LEN => errors.push(format!(
                "plugins.jwt.jwt_secret / BETTER_AUTH_JWT_SECRET: must be at least {MIN_SECRET_LEN} characters"
            )),
            Some(_) => {}
        }
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
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Vec<(&'static str, &'static str)> {
        vec![
            ("BETTER_AUTH_SECRET", "0123456789abcdef0123456789abcdef0123"),
            ("DATABASE_URL", "sqlite::memory:"),
        ]
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let mut vars = base();
        vars.push(("PORT", "not-a-port"));
        vars.push(("LOG_FORMAT", "xml"));
        vars.push(("BETTER_AUTH_ENV", "staging"));
        let err = Settings::load(&Sources::from_map(vars))
            .err()
            .map(|e| e.0)
            .unwrap_or_default();
        assert_eq!(err.len(), 3, "{err:?}");
        assert!(err.iter().any(|e| e.starts_with("PORT")));
        assert!(err.iter().any(|e| e.starts_with("LOG_FORMAT")));
        assert!(err.iter().any(|e| e.starts_with("BETTER_AUTH_ENV")));
    }

    #[test]
    fn production_refuses_to_start_without_a_secret() {
        let vars = vec![
            ("BETTER_AUTH_ENV", "production"),
            ("DATABASE_URL", "sqlite::memory:"),
        ];
        let err = Settings::load(&Sources::from_map(vars))
            .err()
            .map(|e| e.0)
            .unwrap_or_default();
        assert!(
            err.iter().any(|e| e.contains("BETTER_AUTH_SECRET")),
            "{err:?}"
        );
    }

    #[test]
    fn versioned_secrets_make_the_first_one_current() {
        let vars = vec![
            (
                "BETTER_AUTH_SECRETS",
                "2:new-secret-0123456789abcdef0123456789,1:old-secret-0123456789abcdef0123456789",
            ),
            ("DATABASE_URL", "sqlite::memory:"),
        ];
        let s = Settings::load(&Sources::from_map(vars))
            .map_err(|e| e.to_string())
            .unwrap();
        assert_eq!(
            s.secret.expose_secret(),
            "new-secret-0123456789abcdef0123456789"
        );
        assert_eq!(
            s.secrets.iter().map(|s| s.version).collect::<Vec<_>>(),
            vec![2, 1]
        );
    }

    #[test]
    fn hs256_needs_its_own_long_secret_which_no_message_shows() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("hs.toml");
        std::fs::write(&config, "[plugins.jwt]\nenabled = true\nalg = \"HS256\"\n").unwrap();
        let load = |jwt_secret: Option<&str>| {
            let mut vars: Vec<(String, String)> = base()
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect();
            vars.push(("BETTER_AUTH_CONFIG".into(), config.display().to_string()));
            if let Some(s) = jwt_secret {
                vars.push(("BETTER_AUTH_JWT_SECRET".into(), s.to_owned()));
            }
            Settings::load(&Sources::from_map(vars))
        };
        let missing = load(None).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(missing.contains("BETTER_AUTH_JWT_SECRET") && missing.contains("required"));
        let short = load(Some("short-jwt-secret"))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(short.contains("at least 32"), "{short}");
        assert!(!short.contains("short-jwt-secret"));
        let ok = load(Some("a-long-enough-shared-secret-0123456789"))
            .map_err(|e| e.to_string())
            .unwrap();
        assert!(!format!("{ok:?}").contains("a-long-enough-shared-secret"));
        let off = Settings::load(&Sources::from_map(base()))
            .map_err(|e| e.to_string())
            .unwrap();
        assert!(!off.plugins.jwt.enabled && off.plugins.jwt.jwt_secret.is_none());
    }

    #[test]
    fn mail_transports_need_their_address_and_the_outbox_can_come_from_the_environment() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("c.toml");
        let load = |toml: &str, extra: Vec<(&'static str, &'static str)>| {
            std::fs::write(&config, toml).unwrap();
            let mut vars = base();
            vars.push(("BETTER_AUTH_CONFIG", config.to_str().unwrap()));
            vars.extend(extra);
            Settings::load(&Sources::from_map(vars))
        };
        let err = load("[email]\ntransport = \"smtp\"", vec![])
            .err()
            .unwrap()
            .0;
        assert!(
            err.iter().any(|e| e.starts_with("email.smtp_url")),
            "{err:?}"
        );
        let err = load(
            "[email]\ntransport = \"webhook\"\nwebhook_url = \"ftp://x\"",
            vec![],
        )
        .err()
        .unwrap()
        .0;
        assert!(
            err.iter().any(|e| e.starts_with("email.webhook_url")),
            "{err:?}"
        );
        let err = load("[email]\nfrom = \"not a mailbox\"", vec![])
            .err()
            .unwrap()
            .0;
        assert!(err.iter().any(|e| e.starts_with("email.from")), "{err:?}");
        let s = load(
            "[email]\ntransport = \"file\"",
            vec![("BETTER_AUTH_EMAIL_FILE", "/tmp/outbox.jsonl")],
        )
        .map_err(|e| e.to_string())
        .unwrap();
        assert_eq!(s.email.file, "/tmp/outbox.jsonl");
        assert!(s.warnings.is_empty(), "{:?}", s.warnings);
    }

    #[test]
    fn base_url_with_path_replaces_the_base_path() {
        let mut vars = base();
        vars.push(("BETTER_AUTH_URL", "https://auth.example.com/custom/auth/"));
        let s = Settings::load(&Sources::from_map(vars))
            .map_err(|e| e.to_string())
            .unwrap();
        assert_eq!(s.base_origin, "https://auth.example.com");
        assert_eq!(s.base_path, "/custom/auth");
        assert!(s.secure_cookies());
    }

    fn load_toml(
        toml: &str,
        extra: &[(&'static str, &'static str)],
    ) -> Result<Settings, ConfigErrors> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("better-auth.toml");
        std::fs::write(&path, toml).unwrap();
        let path = path.display().to_string();
        let mut vars: Vec<(&str, &str)> = base();
        vars.push(("BETTER_AUTH_CONFIG", &path));
        vars.extend_from_slice(extra);
        Settings::load(&Sources::from_map(vars))
    }

    /// The problems found, none when the configuration loads.
    fn load_with_toml(toml: &str, extra: &[(&'static str, &'static str)]) -> Vec<String> {
        load_toml(toml, extra)
            .err()
            .map(|e| e.0)
            .unwrap_or_default()
    }

    #[test]
    fn rate_limit_storage_and_rules_are_checked_when_limiting_is_on() {
        let redis = "[rate_limit]\nstorage = \"redis\"\n";
        assert!(load_with_toml(redis, &[]).is_empty(), "off in development");
        let err = load_with_toml(redis, &[("BETTER_AUTH_ENV", "production")]);
        assert!(err.iter().any(|e| e.contains("REDIS_URL")), "{err:?}");
        let ok = load_with_toml(
            redis,
            &[
                ("BETTER_AUTH_ENV", "production"),
                ("REDIS_URL", "redis://127.0.0.1:6379"),
            ],
        );
        assert!(ok.is_empty(), "{ok:?}");
        let err = load_with_toml(
            "[rate_limit]\nmax = 2000000\n[[rate_limit.rules]]\npath = \"sign-in\"\nmax = 0\n",
            &[],
        );
        assert_eq!(err.len(), 3, "{err:?}");
        let memory = load_with_toml("[rate_limit]\nenabled = true\nstorage = \"memory\"\n", &[]);
        assert_eq!(memory.is_empty(), cfg!(feature = "governor"), "{memory:?}");
    }

    fn load_ok_with_toml(toml: &str) -> Settings {
        load_toml(toml, &[]).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn redis_has_one_key_prefix_and_the_rate_limit_one_is_a_deprecated_alias() {
        let deprecated = |s: &Settings| {
            s.warnings
                .iter()
                .any(|w| w.contains("rate_limit.key_prefix is deprecated"))
        };
        let s = load_ok_with_toml("");
        assert_eq!(s.redis.key_prefix, "better-auth:");
        assert!(!deprecated(&s), "{:?}", s.warnings);

        let s = load_ok_with_toml("[redis]\nkey_prefix = \"app:\"\n");
        assert_eq!(s.redis.key_prefix, "app:");
        assert!(!deprecated(&s), "{:?}", s.warnings);

        let s = load_ok_with_toml("[rate_limit]\nkey_prefix = \"old:\"\n");
        assert_eq!(s.redis.key_prefix, "old:", "the alias alone is the prefix");
        assert!(deprecated(&s), "{:?}", s.warnings);

        let s = load_ok_with_toml(
            "[rate_limit]\nkey_prefix = \"same:\"\n[redis]\nkey_prefix = \"same:\"\n",
        );
        assert_eq!(s.redis.key_prefix, "same:");
        assert!(deprecated(&s), "{:?}", s.warnings);

        let err = load_with_toml(
            "[rate_limit]\nkey_prefix = \"old:\"\n[redis]\nkey_prefix = \"new:\"\n",
            &[],
        );
        assert_eq!(err.len(), 1, "{err:?}");
        assert!(err[0].starts_with("rate_limit.key_prefix:"), "{err:?}");
        assert!(err[0].contains("redis.key_prefix"), "{err:?}");
    }

    #[test]
    fn verification_values_stay_out_of_the_table_unless_store_in_database() {
        assert!(!load_ok_with_toml("").verification.store_in_database);
        let s = load_ok_with_toml("[verification]\nstore_in_database = true\n");
        assert!(s.verification.store_in_database);
        let err = load_with_toml("[verification]\nstore_identifier = \"hashed\"\n", &[]);
        assert!(
            err.iter().any(|e| e.contains("store_identifier")),
            "{err:?}"
        );
    }

    #[test]
    fn development_secret_is_generated_once_and_kept_private() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/auth.db?mode=rwc", dir.path().display());
        let load =
            || Settings::load(&Sources::from_map(vec![("DATABASE_URL", url.as_str())])).unwrap();
        let first = load();
        let second = load();
        assert_eq!(first.secret.expose_secret(), second.secret.expose_secret());
        let meta = std::fs::metadata(dir.path().join(".better-auth-secret")).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        }
        assert!(first
            .warnings
            .iter()
            .any(|w| w.contains("BETTER_AUTH_SECRET")));
    }
}
