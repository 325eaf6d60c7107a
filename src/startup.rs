//! Application assembly, shared by `main` and the tests.

use std::net::TcpListener;
use std::sync::Arc;

use actix_cors::Cors;
use actix_web::dev::Server;
use actix_web::http::Method;
use actix_web::{web, App, HttpServer};
use anyhow::Context;

use crate::auth::cookies::CookieJar;
use crate::auth::origin::is_trusted_origin;
use crate::auth::password::PasswordHasher;
use crate::clock::Clock;
use crate::config::Settings;
use crate::keys::JwtIssuer;
use crate::mail::Mailer;
use crate::rate_limit::RateLimiter;
use crate::routes;
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
    /// JWT plugin signing (key ring or shared secret), loaded when the plugin is enabled.
    pub jwt: Option<Arc<JwtIssuer>>,
    /// The rate limiter and its counters, when rate limiting is on.
    pub rate_limiter: Option<Arc<RateLimiter>>,
    /// Delivers the verification, reset and deletion mails.
    pub mailer: Mailer,
}

impl AppState {
    /// Connects, migrates (unless turned off) and prepares everything requests need.
    pub async fn load(settings: Settings) -> anyhow::Result<Self> {
        let fields = Arc::new(settings.user.additional_fields.clone());
        let mut store = Store::connect(&settings.database_url, fields)
            .await
            .context("connecting to the database")?;
        if settings.auto_migrate {
            store.migrate().await.context("running migrations")?;
        } else {
            store
                .sync_schema()
                .await
                .context("reading the database schema")?;
        }
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
        let hasher = PasswordHasher::new(settings.password_hashing, cores, (cores * 64).max(256))
            .map_err(|e| anyhow::anyhow!(e))
            .context("preparing the password hasher")?;
        let cookies = CookieJar::new(
            &settings.advanced.cookie_prefix,
            settings.secure_cookies(),
            settings.session.expires_in,
            settings.session.cookie_cache.max_age,
        );
        let mailer = Mailer::new(&settings.email).context("preparing mail delivery")?;
        let jwt = if settings.plugins.jwt.enabled {
            let issuer = JwtIssuer::load(&settings, &store, clock.now())
                .await
                .context("loading the JWT signing keys")?;
            Some(Arc::new(issuer))
        } else {
            None
        };
        let rate_limiter = RateLimiter::from_settings(&settings, &store, redis.as_ref())
            .context("preparing the rate limiter")?;
        Ok(Self {
            settings: Arc::new(settings),
            store,
            hasher,
            clock,
            cookies,
            jwt,
            rate_limiter,
            mailer,
        })
    }
}

pub struct Application {
    port: u16,
    server: Server,
    state: AppState,
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let state = AppState::load(settings).await?;
        Self::with_state(state)
    }

    /// Binds the configured address (port 0 picks a free one) and wires the server.
    pub fn with_state(state: AppState) -> anyhow::Result<Self> {
        let (host, port) = state.settings.listen_addr();
        let listener = TcpListener::bind((host.as_str(), port))
            .with_context(|| format!("binding {host}:{port}"))?;
        let port = listener.local_addr()?.port();
        let server = server(listener, state.clone())?;
        Ok(Self {
            port,
            server,
            state,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let result = self.server.await;
        if let Err(e) = self.state.store.clone().close().await {
            tracing::warn!(error = %e, "closing the database pool");
        }
        result
    }
}

/// CORS for browser apps on trusted origins, with credentials; the bearer and JWT headers are
/// readable by scripts.
fn cors(settings: &Settings) -> Cors {
    let trusted = settings.trusted_origins.clone();
    Cors::default()
        .allowed_origin_fn(move |origin, _| {
            origin
                .to_str()
                .is_ok_and(|o| is_trusted_origin(o, &trusted))
        })
        .allowed_methods([Method::GET, Method::POST, Method::OPTIONS])
        .allow_any_header()
        .supports_credentials()
        .expose_headers(["set-auth-token", "set-auth-jwt", "x-request-id"])
        .max_age(600)
}

pub fn server(listener: TcpListener, state: AppState) -> anyhow::Result<Server> {
    let data = web::Data::new(state);
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let server = HttpServer::new(move || {
        let settings = data.settings.clone();
        // Each worker queries through a pool of its own (Store::for_worker says why).
        let worker = match data.store.for_worker(workers) {
            Ok(store) => web::Data::new(AppState {
                store,
                ..AppState::clone(&data)
            }),
            Err(e) => {
                tracing::warn!(error = %e, "a worker shares the start-up database pool");
                data.clone()
            }
        };
        App::new()
            .app_data(worker)
            .wrap(cors(&settings))
            .wrap(actix_web::middleware::from_fn(
                crate::telemetry::request_span,
            ))
            .configure(|cfg| routes::configure(cfg, &settings))
            .default_service(web::to(routes::not_found))
    })
    .workers(workers)
    .shutdown_timeout(8)
    .listen(listener)?
    .run();
    Ok(server)
}
