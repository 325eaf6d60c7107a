//! Application assembly, shared by `main` and the tests.

use std::net::TcpListener;

use actix_cors::Cors;
use actix_web::dev::Server;
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
    state: AppState,
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
    .shutdown_timeout(8)
    .listen(listener)?
    .run();
    Ok(server)
}
