//! Logging: one subscriber, JSON in production, and a span per request whose id is echoed in
//! `x-request-id`. Spans carry the route *pattern*, never the path or query, which may hold
//! tokens (`/reset-password/{token}`, `?token=`).

use std::io::{BufWriter, IsTerminal, Write};
use std::os::fd::AsFd;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::http::ConnectionType;
use actix_web::middleware::Next;
use actix_web::web;
use tracing::Instrument;
use tracing_appender::non_blocking::{NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;
use crate::state::AppState;

/// Installs the global subscriber once; later calls are no-ops. Log lines are written by a
/// thread of their own: keep the returned guard until the program ends, its drop writes out
/// what is still queued.
pub fn init(format: LogFormat, default_filter: &str) -> Option<WorkerGuard> {
    init_to(format, default_filter, false)
}

/// As `init`, with the lines on standard error: the operator commands keep standard output for
/// their answer (`--json`).
pub fn init_stderr(format: LogFormat, default_filter: &str) -> Option<WorkerGuard> {
    init_to(format, default_filter, true)
}

fn init_to(format: LogFormat, default_filter: &str, stderr: bool) -> Option<WorkerGuard> {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    // Colours only for a terminal: escape codes in a log file or a collector are noise.
    let ansi = if stderr {
        std::io::stderr().is_terminal()
    } else {
        std::io::stdout().is_terminal()
    };
    // Each event is formatted in full on the thread that logs it, then queued (never dropped:
    // a full queue makes the logger wait) for a writer thread that writes whatever has queued
    // up with one `write`. Under load that is one system call for many lines instead of one
    // per line on the HTTP workers, whose lines no longer wait on each other either.
    let fd = if stderr {
        std::io::stderr().as_fd().try_clone_to_owned()
    } else {
        std::io::stdout().as_fd().try_clone_to_owned()
    };
    let stdout = match fd {
        Ok(fd) => Box::new(std::fs::File::from(fd)) as Box<dyn Write + Send>,
        Err(_) if stderr => Box::new(std::io::stderr()),
        Err(_) => Box::new(std::io::stdout()),
    };
    // 8192 lines queue at most (a fraction of a second at full load; the default 128,000
    // slots would hold 4 MB of memory from the start).
    let (out, guard) = NonBlockingBuilder::default()
        .lossy(false)
        .buffered_lines_limit(8192)
        .thread_name("log-writer")
        .finish(BufWriter::with_capacity(64 * 1024, stdout));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(ansi)
        .with_writer(out);
    let installed = match format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .try_init(),
        LogFormat::Pretty => builder.try_init(),
    };
    installed.ok().map(|()| guard)
}

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Root span per request: request id, method, matched route, status, latency.
pub async fn request_span(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let request_id = uuid::Uuid::new_v4().to_string();
    let route = req.match_pattern().unwrap_or_else(|| "<unmatched>".into());
    let span = tracing::info_span!(
        "request",
        request_id = %request_id,
        method = %req.method(),
        route = %route,
        status = tracing::field::Empty,
    );
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let method = state
        .as_ref()
        .filter(|s| s.metrics.is_some())
        .map(|_| req.method().clone());
    let start = Instant::now();
    let result = next.call(req).instrument(span.clone()).await;
    // Milliseconds to the microsecond: `0.183`, not `0.18312300000000002`.
    let latency_ms = start.elapsed().as_micros() as f64 / 1000.0;
    match result {
        Ok(mut res) => {
            let metrics = state.as_ref().and_then(|s| s.metrics.as_deref());
            if let (Some(m), Some(method)) = (metrics, &method) {
                m.request(
                    method,
                    &route,
                    res.status(),
                    start.elapsed(),
                    res.response().error(),
                );
            }
            // Once stopping, every answer closes its connection: the client's next request
            // opens a new one, which a load balancer sends to another instance.
            if state.as_ref().is_some_and(|s| s.is_stopping()) {
                res.response_mut()
                    .head_mut()
                    .set_connection_type(ConnectionType::Close);
            }
            let status = res.status().as_u16();
            span.record("status", status);
            span.in_scope(|| tracing::info!(status, latency_ms, "request finished"));
            if let Ok(v) = HeaderValue::from_str(&request_id) {
                res.headers_mut().insert(REQUEST_ID, v);
            }
            Ok(res)
        }
        Err(e) => {
            span.in_scope(|| tracing::error!(latency_ms, "request failed before a response"));
            Err(e)
        }
    }
}
