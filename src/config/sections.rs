//! The sections of the settings, as the TOML file names them (`[email_and_password]`,
//! `[session]`, ...), with Better Auth's defaults.

use indexmap::IndexMap;
use secrecy::SecretString;
use serde::Deserialize;

use crate::auth::cookie_cache::CacheStrategy;
use crate::auth::fields::AdditionalField;
use crate::auth::format::FormatSetting;
use crate::plugins::admin::config::AdminSettings;
use crate::plugins::api_key::config::ApiKeySettings;
use crate::plugins::bearer::config::BearerSettings;
use crate::plugins::generic_oauth::config::GenericOAuthSettings;
use crate::plugins::jwt::config::JwtSettings;
use crate::plugins::organization::config::OrganizationSettings;
use crate::plugins::passkey::config::PasskeySettings;
use crate::plugins::two_factor::config::TwoFactorSettings;

pub(super) fn yes() -> bool {
    true
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

/// Better Auth's `emailVerification` options (docs/compatibility.md §10.1).
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
    /// `session.storeSessionInDatabase`, docs/compatibility.md §8.1, §8.7).
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
pub(super) const DEFAULT_REDIS_KEY_PREFIX: &str = "better-auth:";

/// `[redis]`: the secondary storage used when `REDIS_URL` is set (docs/compatibility.md §8.7).
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

/// `[verification]`: Better Auth's `verification` options (docs/compatibility.md §10.3).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VerificationSettings {
    /// With Redis, also write verification values to the `verification` table (Better Auth's
    /// `verification.storeInDatabase`, docs/compatibility.md §8.7); without it they live in Redis
    /// only.
    pub store_in_database: bool,
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

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UserSettings {
    pub additional_fields: IndexMap<String, AdditionalField>,
    pub delete_user: DeleteUser,
    pub change_email: ChangeEmail,
}

/// Better Auth's `account` options that apply here.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AccountSettings {
    pub account_linking: AccountLinking,
    /// Provider access and refresh tokens stored with Better Auth's `symmetricEncrypt`
    /// (`encryptOAuthTokens`).
    pub encrypt_oauth_tokens: bool,
    /// Where the OAuth state lives between sign-in and callback (`storeStateStrategy`).
    pub store_state_strategy: StateStrategy,
    /// Skips the signed state cookie check of the `database` strategy (`skipStateCookieCheck`).
    pub skip_state_cookie_check: bool,
    /// Refreshes the account's tokens on each sign-in (`updateAccountOnSignIn`).
    pub update_account_on_sign_in: bool,
    /// Seconds a request to a provider (token, user info, JWKS, discovery) may take. This
    /// service's own option: Better Auth's fetches have no bound.
    pub provider_timeout: u64,
}

impl Default for AccountSettings {
    fn default() -> Self {
        Self {
            account_linking: AccountLinking::default(),
            encrypt_oauth_tokens: false,
            store_state_strategy: StateStrategy::Database,
            skip_state_cookie_check: false,
            update_account_on_sign_in: true,
            provider_timeout: 10,
        }
    }
}

/// Better Auth's `account.storeStateStrategy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StateStrategy {
    /// A verification row keyed by the state, and a signed `state` cookie.
    Database,
    /// The state data encrypted in the `oauth_state` cookie.
    Cookie,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AccountLinking {
    /// Lets unlink-account remove a user's last account (docs/compatibility.md §5.14).
    pub allow_unlinking_all: bool,
    pub enabled: bool,
    /// Providers whose accounts link to an existing user by email even when the provider does
    /// not say the email is verified (`trustedProviders`).
    pub trusted_providers: Vec<String>,
    pub allow_different_emails: bool,
    pub require_local_email_verified: bool,
    pub disable_implicit_linking: bool,
    pub update_user_info_on_link: bool,
}

impl Default for AccountLinking {
    fn default() -> Self {
        Self {
            allow_unlinking_all: false,
            enabled: true,
            trusted_providers: Vec::new(),
            allow_different_emails: false,
            require_local_email_verified: true,
            disable_implicit_linking: false,
            update_user_info_on_link: false,
        }
    }
}

/// The providers `[social_providers.<id>]` may name.
pub const BUILT_IN_PROVIDERS: &[&str] = &[
    "github",
    "google",
    "discord",
    "microsoft",
    "gitlab",
    "apple",
    "linkedin",
    "slack",
    "spotify",
];

/// `[social_providers.<id>]`: one built-in provider (Better Auth's `socialProviders`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SocialProviderSettings {
    pub client_id: String,
    pub client_secret: Option<SecretString>,
    /// Added to the provider's default scopes (`scope`).
    pub scopes: Vec<String>,
    pub disable_default_scope: bool,
    pub disable_sign_up: bool,
    pub disable_implicit_sign_up: bool,
    pub override_user_info_on_sign_in: bool,
    pub require_email_verification: bool,
    pub prompt: Option<String>,
    /// Replaces `<base_url>/callback/<id>` as `redirect_uri` (`redirectURI`).
    pub redirect_uri: Option<String>,
    /// Endpoint overrides (GitHub Enterprise, proxies, tests); default: the provider's.
    pub authorization_endpoint: Option<String>,
    pub token_endpoint: Option<String>,
    pub user_info_endpoint: Option<String>,
    /// Where the provider's ID-token keys are (Google, Apple, Microsoft).
    pub jwks_endpoint: Option<String>,
    /// Microsoft's tenant (`tenantId`, default `common`) and authority.
    pub tenant_id: Option<String>,
    pub authority: Option<String>,
    /// Microsoft's profile photo, fetched from Graph as the user's image (`profilePhotoSize`,
    /// default 48; `disableProfilePhoto`).
    pub profile_photo_size: Option<u32>,
    pub disable_profile_photo: bool,
    /// GitLab's instance URL (`issuer`).
    pub issuer: Option<String>,
    /// Google's hosted domain restriction (`hd`).
    pub hd: Option<String>,
    pub access_type: Option<String>,
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

/// A `[[rate_limit.rules]]` entry: Better Auth's `rateLimit.customRules[path]`
/// (docs/compatibility.md §13.2).
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
    /// `None`: on only in production (docs/compatibility.md §2.7).
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

/// One `[advanced] trusted_proxies` entry: an address, or a CIDR range (`10.0.0.0/8`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProxyRange(pub ipnet::IpNet);

impl ProxyRange {
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        s.parse::<ipnet::IpNet>()
            .ok()
            .or_else(|| s.parse::<std::net::IpAddr>().ok().map(ipnet::IpNet::from))
            .map(|net| ProxyRange(net.trunc()))
    }

    pub fn contains(&self, ip: std::net::IpAddr) -> bool {
        let ip = match ip {
            std::net::IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, std::net::IpAddr::V4),
            v4 => v4,
        };
        self.0.contains(&ip)
    }
}

impl<'de> Deserialize<'de> for ProxyRange {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        ProxyRange::parse(&s).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "advanced.trusted_proxies: `{s}` is not an IP address or CIDR range"
            ))
        })
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Advanced {
    /// Better Auth `advanced.ipAddress.ipAddressHeaders`.
    pub ip_address_headers: Vec<String>,
    /// Better Auth `advanced.ipAddress.disableIpTracking`: no client IP is read or stored, and
    /// requests are not rate limited.
    pub disable_ip_tracking: bool,
    /// Better Auth `advanced.ipAddress.ipv6Subnet`: IPv6 addresses are cut to this prefix.
    pub ipv6_subnet: u8,
    /// Better Auth `advanced.ipAddress.trustedProxies`: addresses and CIDR ranges of the proxies
    /// in front of the service (`docs/configuration.md`, `[advanced]`).
    pub trusted_proxies: Vec<ProxyRange>,
    pub use_secure_cookies: Option<bool>,
    pub cookie_prefix: String,
    pub disable_csrf_check: bool,
    pub disable_origin_check: bool,
}

impl Default for Advanced {
    fn default() -> Self {
        Self {
            ip_address_headers: vec!["x-forwarded-for".into()],
            disable_ip_tracking: false,
            ipv6_subnet: 64,
            trusted_proxies: Vec::new(),
            use_secure_cookies: None,
            cookie_prefix: "better-auth".into(),
            disable_csrf_check: false,
            disable_origin_check: false,
        }
    }
}

/// Better Auth `onAPIError`: where `GET /error` sends the browser.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OnApiError {
    /// Better Auth `onAPIError.errorURL`: when set, `GET /error` redirects here with `error`
    /// (and `error_description`) appended; an absolute URL or a root-relative path.
    pub error_url: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Plugins {
    pub jwt: JwtSettings,
    pub bearer: BearerSettings,
    pub admin: AdminSettings,
    pub passkey: PasskeySettings,
    pub two_factor: TwoFactorSettings,
    pub api_key: ApiKeySettings,
    pub organization: OrganizationSettings,
    pub username: crate::plugins::username::config::UsernameSettings,
    pub email_otp: crate::plugins::email_otp::config::EmailOtpSettings,
    pub magic_link: crate::plugins::magic_link::config::MagicLinkSettings,
    pub anonymous: crate::plugins::anonymous::config::AnonymousSettings,
    pub last_login_method: crate::plugins::last_login_method::config::LastLoginMethodSettings,
    pub multi_session: crate::plugins::multi_session::config::MultiSessionSettings,
    pub generic_oauth: GenericOAuthSettings,
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

/// `[metrics]`: Prometheus metrics on `GET /metrics` (docs/operations.md §2). Off by default;
/// when on, the endpoint is on a port of its own (`port`, kept out of the public load
/// balancer), or with `on_api_port` on the API port behind a bearer token
/// (`BETTER_AUTH_METRICS_TOKEN`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsSettings {
    pub enabled: bool,
    /// The listener of `/metrics` alone (on `HOST`).
    pub port: u16,
    /// Serve `/metrics` on the API port instead (a token is then required).
    pub on_api_port: bool,
    /// The bearer token `/metrics` requires; better given as `BETTER_AUTH_METRICS_TOKEN`.
    pub token: Option<secrecy::SecretString>,
}

/// `[storage]`: the format of what the service writes, for a database a Node Better Auth
/// shares (docs/migrating-from-node.md).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageSettings {
    pub format: FormatSetting,
}

/// The OpenTelemetry Prometheus exporter's port.
pub const DEFAULT_METRICS_PORT: u16 = 9464;

impl Default for MetricsSettings {
    fn default() -> Self {
        Self {
            enabled: false,
            port: DEFAULT_METRICS_PORT,
            on_api_port: false,
            token: None,
        }
    }
}

/// `[shutdown]`: what SIGTERM does (docs/operations.md §3). `/ready` answers 503 at once;
/// after `drain_delay` seconds the listener closes; requests in flight (password hashes
/// included) then have `grace_period` seconds to finish before the process exits.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ShutdownSettings {
    pub grace_period: u64,
    pub drain_delay: u64,
}

impl Default for ShutdownSettings {
    fn default() -> Self {
        // Below the 10 s that Docker and Kubernetes wait before SIGKILL.
        Self {
            grace_period: 8,
            drain_delay: 0,
        }
    }
}
