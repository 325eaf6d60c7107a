//! The state every request sees: settings, storage, the hasher, the clock, cookies, mail, the
//! rate limiter and the enabled plugins. Built once before the server starts.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;

use crate::auth::cookies::CookieJar;
use crate::auth::password::PasswordHasher;
use crate::clock::Clock;
use crate::config::{Settings, StorageFormat};
use crate::mail::Mailer;
use crate::plugin::{Build, Kind};
use crate::rate_limit::RateLimiter;
use crate::store::redis::RedisStorage;
use crate::store::secondary::{Secondary, SessionStorage};
use crate::store::Store;

#[derive(Clone)]
pub struct AppState {
    pub settings: Arc<Settings>,
    pub store: Store,
    pub hasher: PasswordHasher,
    pub clock: Clock,
    pub cookies: CookieJar,
    /// The rate limiter and its counters, when rate limiting is on.
    pub rate_limiter: Option<Arc<RateLimiter>>,
    /// Delivers the verification, reset and deletion mails.
    pub mailer: Mailer,
    /// The enabled plugins.
    pub plugins: Plugins,
    /// The social providers (built-in and the generic OAuth plugin's) and their HTTP client.
    pub social: Arc<crate::social::Providers>,
    pub provider_http: crate::social::Http,
    /// The Prometheus registry, when `[metrics] enabled`.
    pub metrics: Option<Arc<crate::metrics::Metrics>>,
    /// Set once the process has been asked to stop: `/ready` then answers 503.
    pub stopping: Arc<AtomicBool>,
}

/// The enabled plugins, with this state as what their hooks receive.
pub type Plugins = crate::plugin::Plugins<AppState>;

/// Connects to the database of `settings` with the columns the enabled plugins (of `kinds`)
/// add to `user`. With `migrate`, runs the migrations and creates the plugins' missing tables;
/// without, only reads the schema.
pub async fn open_store(
    settings: &Settings,
    kinds: &[Kind<AppState>],
    migrate: bool,
) -> anyhow::Result<Store> {
    let schema = Plugins::schema(kinds, settings);
    let mut fields = settings.user.additional_fields.clone();
    fields.extend(schema.user_fields);
    let mut store = Store::connect(&settings.database_url, Arc::new(fields))
        .await
        .context("DATABASE_URL: cannot connect to the database")?;
    store.set_session_fields(Arc::new(schema.session_fields));
    if migrate {
        store
            .migrate(&schema.tables)
            .await
            .context("running migrations")?;
    } else {
        store
            .sync_schema()
            .await
            .context("reading the database schema")?;
    }
    let (format, why) = store.resolve_format(settings.storage.format);
    match format {
        StorageFormat::BetterAuth => tracing::info!(
            format = %format,
            reason = %why,
            "storage format: better-auth: password hashes (Better Auth's scrypt) and JWT keys \
             (its symmetricEncrypt) are written so that a Node Better Auth on this database reads \
             them. Once no Node instance is left, set [storage] format = \"native\": passwords then \
             move to argon2id at each sign-in and new keys are sealed with AES-256-GCM \
             (docs/migrating-from-node.md)"
        ),
        StorageFormat::Native => tracing::info!(
            format = %format,
            reason = %why,
            "storage format: native: argon2id password hashes, AES-256-GCM sealed JWT keys; a \
             Node Better Auth cannot share this database unless [storage] format = \
             \"better-auth\" (docs/migrating-from-node.md)"
        ),
    }
    Ok(store)
}

/// Whether Redis answers a PING within a few seconds: the binary refuses to start (and the
/// operator commands to run) without it, naming `REDIS_URL`. A running service rides through a
/// Redis outage (docs/storage-and-scaling.md).
pub async fn check_redis(settings: &Settings) -> anyhow::Result<()> {
    let Some(url) = &settings.redis_url else {
        return Ok(());
    };
    let redis = RedisStorage::open(url, &settings.redis.key_prefix)
        .map_err(|e| anyhow::anyhow!("REDIS_URL: not a Redis URL ({e})"))?;
    redis
        .ping(Duration::from_secs(5))
        .await
        .map_err(|e| anyhow::anyhow!("REDIS_URL: Redis does not answer ({e})"))
}

impl AppState {
    /// Whether the process has been asked to stop.
    pub fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::Relaxed)
    }

    /// Connects, migrates (unless turned off) and prepares everything requests need, the
    /// enabled plugins of `kinds` included.
    pub async fn load(settings: Settings, kinds: &[Kind<AppState>]) -> anyhow::Result<Self> {
        let mut store = open_store(&settings, kinds, settings.auto_migrate).await?;
        let clock = Clock::default();
        // One Redis handle for the whole secondary storage: sessions, verification values and
        // rate-limit counters share its connection and key prefix.
        let redis = match &settings.redis_url {
            Some(url) => Some(Arc::new(
                RedisStorage::open(url, &settings.redis.key_prefix)
                    .context("REDIS_URL is not a Redis URL")?,
            )),
            None => None,
        };
        if let Some(redis) = &redis {
            // Connect now, from the start-up runtime, which lives as long as the process: the
            // connection's I/O task runs where it is first opened, and an HTTP worker's runtime
            // ends with that worker during a graceful shutdown, breaking the connection under
            // the other workers' requests in flight. Redis down now: the first request connects.
            if let Err(e) = redis.connection().await {
                tracing::warn!(error = %e, "Redis does not answer yet");
            }
            let storage = SessionStorage {
                in_database: settings.session.store_session_in_database,
                preserve: settings.session.preserve_session_in_database,
            };
            store.set_secondary(Secondary::new(
                redis.clone(),
                clock.clone(),
                storage,
                settings.verification.store_in_database,
                settings.session.expires_in,
            ));
        }
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        // A burst of a few hundred sign-ins queues (at standard cost that is a wait of about
        // 256 × 15 ms ÷ cores); beyond that the service sheds load with 503.
        let hasher = PasswordHasher::with_format(
            settings.password_hashing,
            store.format(),
            cores,
            (cores * 64).max(256),
        )
        .map_err(|e| anyhow::anyhow!(e))
        .context("preparing the password hasher")?;
        let cookies = CookieJar::new(
            &settings.advanced.cookie_prefix,
            settings.secure_cookies(),
            settings.session.expires_in,
            settings.session.cookie_cache.max_age,
        );
        let mailer = Mailer::new(&settings.email).context("preparing mail delivery")?;
        let plugins = Plugins::load(
            kinds,
            Build {
                settings: &settings,
                store: &store,
                clock: &clock,
            },
        )
        .await?;
        let provider_http =
            crate::social::Http::new(Duration::from_secs(settings.account.provider_timeout))
                .context("preparing the HTTP client for providers")?;
        // Generic providers first: one may shadow a built-in of the same id, as in Better Auth.
        let mut social = crate::plugins::generic_oauth::providers(
            &settings.plugins.generic_oauth.config,
            &provider_http,
        )
        .await;
        for (id, c) in &settings.social_providers {
            social.extend(crate::social::built_in(id, c));
        }
        let plugin_rules = plugins.iter().flat_map(|p| p.rate_limit()).collect();
        let rate_limiter =
            RateLimiter::from_settings(&settings, &store, redis.as_ref(), plugin_rules)
                .context("preparing the rate limiter")?;
        let metrics = if settings.metrics.enabled {
            Some(Arc::new(
                crate::metrics::Metrics::new(store.clone(), redis.clone(), &settings.base_path)
                    .context("preparing the metrics registry")?,
            ))
        } else {
            None
        };
        Ok(Self {
            settings: Arc::new(settings),
            store,
            hasher,
            clock,
            cookies,
            rate_limiter,
            mailer,
            plugins,
            social: Arc::new(crate::social::Providers::new(social)),
            provider_http,
            metrics,
            stopping: Arc::new(AtomicBool::new(false)),
        })
    }
}
