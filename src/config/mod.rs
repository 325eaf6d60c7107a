//! Settings: built-in defaults → TOML file → `.env` → process environment
//! (`docs/configuration.md`). This is the only module that reads environment variables.

mod file;
mod secrets;
mod sections;
mod validate;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use secrecy::SecretString;

use file::{read_toml, FileConfig};
use secrets::load_secrets;
use validate::{redis_key_prefix, validate_file, validate_metrics, validate_rate_limit_storage};

pub use crate::auth::cookie_cache::CacheStrategy;
pub use crate::auth::crypto::VersionedSecret;
pub use crate::auth::fields::{AdditionalField, FieldType};
pub use crate::auth::format::{FormatSetting, StorageFormat};
pub use crate::auth::password::PasswordHashing;
pub use crate::plugins::bearer::config::BearerSettings;
pub use crate::plugins::jwt::config::JwtSettings;
pub use secrets::{generate_secret, sqlite_path, MIN_SECRET_LEN};
pub use sections::*;

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

#[derive(Debug, Clone)]
pub struct Settings {
    pub environment: Environment,
    /// `BETTER_AUTH_ENV` is set to `development` or `test` (Better Auth's `isDevelopment()` /
    /// `isTest()`, which read `NODE_ENV`): only then does a client without a trusted IP count
    /// as `127.0.0.1` (`@better-auth/core/src/utils/ip.ts`, `getIP`).
    pub development_explicit: bool,
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
    /// `[social_providers.<id>]`, in file order.
    pub social_providers: indexmap::IndexMap<String, SocialProviderSettings>,
    pub rate_limit: RateLimitSettings,
    pub advanced: Advanced,
    pub on_api_error: OnApiError,
    pub plugins: Plugins,
    pub email: EmailSettings,
    pub redis: RedisSettings,
    pub verification: VerificationSettings,
    pub email_verification: EmailVerification,
    pub password_hashing: PasswordHashing,
    pub metrics: MetricsSettings,
    pub shutdown: ShutdownSettings,
    pub storage: StorageSettings,
    /// Warnings found while loading, logged once telemetry is up.
    pub warnings: Vec<String>,
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
    "BETTER_AUTH_METRICS_TOKEN",
    "BETTER_AUTH_PLUGINS_API_KEY_SERVER_TOKEN",
    "BETTER_AUTH_SHUTDOWN_GRACE_PERIOD",
    "BETTER_AUTH_SHUTDOWN_DRAIN_DELAY",
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
#[error("invalid configuration: {}", .0.join("\ninvalid configuration: "))]
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
            let provider_secret = (name.starts_with("BETTER_AUTH_SOCIAL_PROVIDERS_")
                || name.starts_with("BETTER_AUTH_PLUGINS_GENERIC_OAUTH_"))
                && name.ends_with("_CLIENT_SECRET");
            if name.starts_with("BETTER_AUTH_")
                && !KNOWN_VARS.contains(&name.as_str())
                && !provider_secret
            {
                warnings.push(format!("unknown environment variable {name} is ignored"));
            }
        }

        let development_explicit =
            matches!(src.get("BETTER_AUTH_ENV"), Some("development" | "test"));
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
        // A base URL with a path is the full base; the base path option is then ignored
        // (docs/compatibility.md §2.1).
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
        if let Some(s) = src.get("BETTER_AUTH_PLUGINS_API_KEY_SERVER_TOKEN") {
            file.plugins.api_key.server_token = Some(SecretString::from(s.to_owned()));
        }
        validate_file(&file, &mut errors);
        let mut social_providers = file.social_providers.clone();
        for (id, provider) in social_providers.iter_mut() {
            let var = format!(
                "BETTER_AUTH_SOCIAL_PROVIDERS_{}_CLIENT_SECRET",
                id.to_uppercase().replace('-', "_")
            );
            if let Some(secret) = src.get(&var) {
                provider.client_secret = Some(SecretString::from(secret.to_owned()));
            }
        }
        for config in file.plugins.generic_oauth.config.iter_mut() {
            let var = format!(
                "BETTER_AUTH_PLUGINS_GENERIC_OAUTH_{}_CLIENT_SECRET",
                config.provider_id.to_uppercase().replace('-', "_")
            );
            if let Some(secret) = src.get(&var) {
                config.client_secret = Some(SecretString::from(secret.to_owned()));
            }
        }
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

        let mut metrics = file.metrics.clone();
        if let Some(token) = src.get("BETTER_AUTH_METRICS_TOKEN") {
            metrics.token = Some(SecretString::from(token.to_owned()));
        }
        validate_metrics(&metrics, port, &mut errors);
        let mut shutdown = file.shutdown.clone();
        for (name, value) in [
            (
                "BETTER_AUTH_SHUTDOWN_GRACE_PERIOD",
                &mut shutdown.grace_period,
            ),
            (
                "BETTER_AUTH_SHUTDOWN_DRAIN_DELAY",
                &mut shutdown.drain_delay,
            ),
        ] {
            if let Some(v) = src.get(name) {
                match v.parse::<u64>() {
                    Ok(n) => *value = n,
                    Err(_) => errors.push(format!("{name}: expected a number of seconds")),
                }
            }
        }
        if shutdown.grace_period > 3600 || shutdown.drain_delay > 3600 {
            errors
                .push("shutdown.grace_period / shutdown.drain_delay: at most 3600 seconds".into());
        }

        if !errors.is_empty() {
            return Err(ConfigErrors(errors));
        }
        Ok(Settings {
            environment,
            development_explicit,
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
            social_providers,
            rate_limit: file.rate_limit,
            advanced: file.advanced,
            on_api_error: file.on_api_error,
            plugins: file.plugins,
            redis,
            verification: file.verification,
            email,
            email_verification: file.email_verification,
            password_hashing: file
                .danger_password_hashing
                .unwrap_or(PasswordHashing::Standard),
            metrics,
            shutdown,
            storage: file.storage,
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

    /// Cookies are secure when configured so, else when the base URL is https
    /// (docs/compatibility.md §6.2).
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

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

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
    fn better_auth_secret_beside_versioned_secrets_is_the_legacy_one_tried_last() {
        let load = |secret: &str| {
            let vars = vec![
                (
                    "BETTER_AUTH_SECRETS",
                    "2:new-secret-0123456789abcdef0123456789",
                ),
                ("BETTER_AUTH_SECRET", secret),
                ("DATABASE_URL", "sqlite::memory:"),
            ];
            Settings::load(&Sources::from_map(vars))
                .map_err(|e| e.to_string())
                .unwrap()
        };
        let s = load("old-secret-0123456789abcdef0123456789");
        assert_eq!(
            s.secret.expose_secret(),
            "new-secret-0123456789abcdef0123456789"
        );
        assert_eq!(
            s.secrets.iter().map(|s| s.version).collect::<Vec<_>>(),
            vec![2, secrets::LEGACY_SECRET_VERSION]
        );
        assert_eq!(
            s.secrets[1].value.expose_secret(),
            "old-secret-0123456789abcdef0123456789"
        );
        // Already listed: not twice.
        let s = load("new-secret-0123456789abcdef0123456789");
        assert_eq!(s.secrets.len(), 1);
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
    fn microsoft_photo_sizes_are_the_ones_graph_serves() {
        let ms =
            |extra: &str| format!("[social_providers.microsoft]\nclient_id = \"c\"\n{extra}\n");
        assert!(load_with_toml(&ms("profile_photo_size = 96"), &[]).is_empty());
        let err = load_with_toml(&ms("profile_photo_size = 50"), &[]);
        assert_eq!(err.len(), 1, "{err:?}");
        assert!(err[0].starts_with("social_providers.microsoft.profile_photo_size:"));
        let err = load_with_toml(
            "[social_providers.github]\nclient_id = \"c\"\nprofile_photo_size = 48\n",
            &[],
        );
        assert!(err[0].contains("only for microsoft"), "{err:?}");
    }

    #[test]
    fn metrics_are_on_a_port_of_their_own_or_behind_a_token() {
        let s = load_ok_with_toml("[metrics]\nenabled = true\n");
        assert_eq!((s.metrics.port, s.metrics.on_api_port), (9464, false));
        let err = load_with_toml("[metrics]\nenabled = true\non_api_port = true\n", &[]);
        assert!(err[0].starts_with("metrics.on_api_port:"), "{err:?}");
        let ok = load_with_toml(
            "[metrics]\nenabled = true\non_api_port = true\n",
            &[("BETTER_AUTH_METRICS_TOKEN", "0123456789abcdef")],
        );
        assert!(ok.is_empty(), "{ok:?}");
        let err = load_with_toml(
            "[metrics]\nenabled = true\n",
            &[("BETTER_AUTH_METRICS_TOKEN", "short")],
        );
        assert!(err[0].starts_with("BETTER_AUTH_METRICS_TOKEN:"), "{err:?}");
        let err = load_with_toml(
            "[metrics]\nenabled = true\nport = 3001\n",
            &[("PORT", "3001")],
        );
        assert!(err[0].starts_with("metrics.port:"), "{err:?}");
        assert!(load_with_toml("[metrics]\nport = 3001\n", &[("PORT", "3001")]).is_empty());
    }

    #[test]
    fn shutdown_periods_come_from_the_file_or_the_environment() {
        let s = load_ok_with_toml("");
        assert_eq!((s.shutdown.grace_period, s.shutdown.drain_delay), (8, 0));
        let s = load_toml(
            "[shutdown]\ngrace_period = 20\ndrain_delay = 5\n",
            &[("BETTER_AUTH_SHUTDOWN_GRACE_PERIOD", "12")],
        )
        .unwrap();
        assert_eq!((s.shutdown.grace_period, s.shutdown.drain_delay), (12, 5));
        let err = load_with_toml("", &[("BETTER_AUTH_SHUTDOWN_DRAIN_DELAY", "soon")]);
        assert!(
            err[0].starts_with("BETTER_AUTH_SHUTDOWN_DRAIN_DELAY:"),
            "{err:?}"
        );
    }

    #[test]
    fn a_toml_error_names_the_line_and_the_setting_without_its_value() {
        let err = load_with_toml(
            "[session]\nupdate_age = 10\nexpires_in = \"a secret-looking value\"\n",
            &[],
        );
        assert_eq!(err.len(), 1, "{err:?}");
        assert!(
            err[0].contains("line 3 (setting session.expires_in)"),
            "{err:?}"
        );
        assert!(!err[0].contains("secret-looking"), "{err:?}");
        assert!(!err[0].contains('\n'));
        let err = load_with_toml("[sesion]\nexpires_in = 1\n", &[]);
        assert!(err[0].contains("sesion"), "{err:?}");
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
