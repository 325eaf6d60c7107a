//! Application assembly, shared by `main` and the tests.

use std::net::TcpListener;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use actix_cors::Cors;
use actix_web::dev::{Server, ServerHandle};
use actix_web::http::Method;
use actix_web::{web, App, HttpServer};
use anyhow::Context;

use crate::auth::origin::is_trusted_origin;
use crate::config::Settings;
use crate::routes;
pub use crate::state::AppState;

pub struct Application {
    port: u16,
    server: Server,
    /// `GET /metrics` alone, on `metrics.port`.
    metrics: Option<(u16, Server)>,
    state: AppState,
}

/// Stops the service the way SIGTERM does (docs/operations.md §3): `/ready` answers 503 at
/// once, the listeners close after `shutdown.drain_delay`, and requests in flight get
/// `shutdown.grace_period` to finish.
#[derive(Clone)]
pub struct Shutdown {
    state: AppState,
    servers: Arc<Vec<ServerHandle>>,
}

impl Shutdown {
    /// Begins the shutdown and returns once the listeners are closed and the requests in
    /// flight have finished (or the grace period ran out). A second call changes nothing.
    pub async fn begin(&self) {
        if self.state.stopping.swap(true, Ordering::SeqCst) {
            return;
        }
        let s = &self.state.settings.shutdown;
        tracing::info!(
            drain_delay = s.drain_delay,
            grace_period = s.grace_period,
            "stopping: /ready answers 503"
        );
        tokio::time::sleep(Duration::from_secs(s.drain_delay)).await;
        tracing::info!("stopping: listener closed, finishing the requests in flight");
        for server in self.servers.iter() {
            server.stop(true).await;
        }
    }
}

impl Application {
    /// Loads the state with every plugin of this build, then binds and wires the server.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        Self::build_with(settings, crate::plugins::KINDS).await
    }

    /// As `build`, with the plugins of `kinds` (tests add plugins of their own).
    pub async fn build_with(
        settings: Settings,
        kinds: &[crate::plugin::Kind<AppState>],
    ) -> anyhow::Result<Self> {
        let state = AppState::load(settings, kinds).await?;
        Self::with_state(state)
    }

    /// Binds the configured address (port 0 picks a free one) and wires the server.
    pub fn with_state(state: AppState) -> anyhow::Result<Self> {
        let (host, port) = state.settings.listen_addr();
        let listener = TcpListener::bind((host.as_str(), port))
            .with_context(|| format!("binding {host}:{port}"))?;
        let port = listener.local_addr()?.port();
        let m = &state.settings.metrics;
        let metrics = match (m.enabled && !m.on_api_port, m.port) {
            (true, metrics_port) => {
                let listener = TcpListener::bind((host.as_str(), metrics_port))
                    .with_context(|| format!("metrics.port: binding {host}:{metrics_port}"))?;
                let metrics_port = listener.local_addr()?.port();
                Some((metrics_port, metrics_server(listener, state.clone())?))
            }
            _ => None,
        };
        let server = server(listener, state.clone())?;
        Ok(Self {
            port,
            server,
            metrics,
            state,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The port of `GET /metrics` when it has one of its own (`metrics.port`).
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics.as_ref().map(|(port, _)| *port)
    }

    /// What stops this service gracefully (the binary calls it on SIGTERM and SIGINT).
    pub fn shutdown(&self) -> Shutdown {
        let mut servers = vec![self.server.handle()];
        servers.extend(self.metrics.as_ref().map(|(_, s)| s.handle()));
        Shutdown {
            state: self.state.clone(),
            servers: Arc::new(servers),
        }
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let metrics = self.metrics.map(|(_, server)| {
            let handle = server.handle();
            (handle, tokio::spawn(server))
        });
        let result = self.server.await;
        if let Some((handle, task)) = metrics {
            handle.stop(false).await;
            let _ = task.await;
        }
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
    let grace_period = state.settings.shutdown.grace_period;
    let data = web::Data::new(state);
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let server = HttpServer::new(move || {
        let settings = data.settings.clone();
        // Each worker queries through a pool of its own (Store::for_worker says why), and calls
        // providers through connections of its own (Http::for_worker).
        let worker = match data.store.for_worker(workers) {
            Ok(store) => web::Data::new(AppState {
                store,
                provider_http: data
                    .provider_http
                    .for_worker()
                    .unwrap_or_else(|_| data.provider_http.clone()),
                ..AppState::clone(&data)
            }),
            Err(e) => {
                tracing::warn!(error = %e, "a worker shares the start-up database pool");
                data.clone()
            }
        };
        App::new()
            .app_data(worker)
            .wrap(actix_web::middleware::from_fn(
                crate::http::extract::body_deadline,
            ))
            .wrap(cors(&settings))
            .wrap(actix_web::middleware::from_fn(
                crate::telemetry::request_span,
            ))
            .configure(|cfg| routes::configure(cfg, &settings, &data.plugins))
            .default_service(web::to(routes::not_found))
    })
    .workers(workers)
    // Signals are the binary's (`Shutdown`): `/ready` must turn 503 before the listener closes.
    .disable_signals()
    .shutdown_timeout(grace_period)
    .listen(listener)?
    .run();
    Ok(server)
}

/// `GET /metrics` alone, on a listener of its own (`metrics.port`): one worker, no other route.
fn metrics_server(listener: TcpListener, state: AppState) -> anyhow::Result<Server> {
    let data = web::Data::new(state);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .route("/metrics", web::get().to(routes::metrics::metrics))
            .default_service(web::to(routes::not_found))
    })
    .workers(1)
    .disable_signals()
    .shutdown_timeout(1)
    .listen(listener)?
    .run();
    Ok(server)
}
