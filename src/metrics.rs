//! Prometheus metrics (docs/operations.md §2): a registry of this service's own (no global
//! recorder, so several services in one process — the tests — keep their figures apart),
//! written to by the request middleware and read on `GET /metrics` in the text format.
//!
//! Labels are bounded: the matched route *pattern* (never the path, which may hold a token),
//! the method from a fixed list, the status, and outcomes from fixed lists. No email, token,
//! IP address or user id is ever a label.

use std::sync::Arc;
use std::time::Duration;

use actix_web::http::{Method, StatusCode};
use metrics::{Key, KeyName, Label, Level, Metadata, Recorder, SharedString, Unit};
use metrics_exporter_prometheus::{
    Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder,
};
use sea_orm::DbErr;

use crate::error::ApiError;
use crate::store::redis::RedisStorage;
use crate::store::Store;

const REQUESTS: &str = "better_auth_http_requests_total";
const DURATION: &str = "better_auth_http_request_duration_seconds";
const SIGN_INS: &str = "better_auth_sign_ins_total";
const RATE_LIMITED: &str = "better_auth_rate_limit_refusals_total";
const DB_ERRORS: &str = "better_auth_db_errors_total";
const REDIS_ERRORS: &str = "better_auth_redis_errors_total";
const HASH_RUNNING: &str = "better_auth_password_hash_jobs_running";
const HASH_WAITING: &str = "better_auth_password_hash_queue_depth";
const HASH_CAPACITY: &str = "better_auth_password_hash_queue_capacity";
const HASH_THREADS: &str = "better_auth_password_hash_threads";
const HASH_REFUSED: &str = "better_auth_password_hash_refused_total";
const POOL_CONNECTIONS: &str = "better_auth_db_pool_connections";
const POOL_MAX: &str = "better_auth_db_pool_max_connections";
const JWKS_AGE: &str = "better_auth_jwks_signing_key_age_seconds";
const JWKS_KEYS: &str = "better_auth_jwks_keys";
const SHUTTING_DOWN: &str = "better_auth_shutting_down";

/// Request latency buckets, in seconds: sub-millisecond session checks to slow hashes.
const LATENCY_BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

static METADATA: Metadata<'static> = Metadata::new(module_path!(), Level::INFO, None);

/// The content type of the Prometheus text format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The registry, and what its gauges are read from when scraped.
pub struct Metrics {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
    /// The start-up store: its pool list covers every HTTP worker's pool.
    store: Store,
    redis: Option<Arc<RedisStorage>>,
    /// `<base path>/sign-in/`: routes under it count as sign-ins.
    sign_in_prefix: String,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

/// What the scrape reads besides the registry.
pub struct Gauges {
    pub hasher: crate::auth::password::HasherStats,
    /// Age of the key that signs now, and how many keys are published (JWT plugin).
    pub jwks: Option<(Option<Duration>, usize)>,
    pub shutting_down: bool,
}

fn key(name: &'static str, labels: Vec<Label>) -> Key {
    Key::from_parts(name, labels)
}

/// The method as a bounded label: an unknown method is `OTHER`.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}

/// What a sign-in's answer says about it (the route's statuses, Better Auth's
/// `api/routes/sign-in.ts`: 401 wrong email or password, 403 email not verified).
fn sign_in_outcome(status: StatusCode) -> &'static str {
    match status.as_u16() {
        200..=399 => "success",
        401 => "invalid_credentials",
        403 => "email_not_verified",
        429 => "rate_limited",
        503 => "unavailable",
        400..=499 => "rejected",
        _ => "error",
    }
}

/// The database error behind a response, if any: `unavailable` or `query`.
fn db_error_kind(error: Option<&actix_web::Error>) -> Option<&'static str> {
    let mut api = error?.as_error::<ApiError>()?;
    while let ApiError::WithCookies(inner, _) = api {
        api = inner;
    }
    match api {
        ApiError::Unavailable(e) if e.downcast_ref::<DbErr>().is_some() => Some("unavailable"),
        ApiError::Internal(e) if e.downcast_ref::<DbErr>().is_some() => Some("query"),
        _ => None,
    }
}

impl Metrics {
    pub fn new(
        store: Store,
        redis: Option<Arc<RedisStorage>>,
        base_path: &str,
    ) -> anyhow::Result<Self> {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Full(DURATION.into()), &LATENCY_BUCKETS)?
            .build_recorder();
        let handle = recorder.handle();
        let describe = |name: &'static str, unit: Option<Unit>, text: &'static str| {
            let (name, text) = (KeyName::from(name), SharedString::from(text));
            recorder.describe_counter(name.clone(), unit, text.clone());
            recorder.describe_gauge(name.clone(), unit, text.clone());
            recorder.describe_histogram(name, unit, text);
        };
        describe(
            REQUESTS,
            None,
            "HTTP requests answered, by method, route pattern and status",
        );
        describe(
            DURATION,
            Some(Unit::Seconds),
            "Time to answer an HTTP request, by method, route pattern and status",
        );
        describe(SIGN_INS, None, "Sign-in attempts by method and outcome");
        describe(
            RATE_LIMITED,
            None,
            "Requests refused by the rate limiter, by route pattern",
        );
        describe(
            DB_ERRORS,
            None,
            "Requests failed by a database error, by kind",
        );
        describe(
            REDIS_ERRORS,
            None,
            "Redis commands and connection attempts that failed",
        );
        describe(HASH_RUNNING, None, "Password hashing jobs running now");
        describe(
            HASH_WAITING,
            None,
            "Password hashing jobs waiting for a thread",
        );
        describe(
            HASH_CAPACITY,
            None,
            "Most password hashing jobs that may wait (then 503)",
        );
        describe(HASH_THREADS, None, "Password hashing threads");
        describe(
            HASH_REFUSED,
            None,
            "Password hashing jobs refused because the queue was full",
        );
        describe(
            POOL_CONNECTIONS,
            None,
            "Database pool connections, in use or idle",
        );
        describe(
            POOL_MAX,
            None,
            "Most connections the database pools may open",
        );
        describe(
            JWKS_AGE,
            Some(Unit::Seconds),
            "Age of the JWT plugin's key that signs now",
        );
        describe(JWKS_KEYS, None, "JWT plugin keys known to this instance");
        describe(
            SHUTTING_DOWN,
            None,
            "1 once the instance has been asked to stop",
        );
        Ok(Self {
            recorder,
            handle,
            store,
            redis,
            sign_in_prefix: format!("{base_path}/sign-in/"),
        })
    }

    /// One answered request. `route` is the matched pattern (`<unmatched>` when none).
    pub fn request(
        &self,
        method: &Method,
        route: &str,
        status: StatusCode,
        elapsed: Duration,
        error: Option<&actix_web::Error>,
    ) {
        let labels = vec![
            Label::new("method", method_label(method)),
            Label::new("route", route.to_owned()),
            Label::new("status", status.as_str().to_owned()),
        ];
        self.recorder
            .register_histogram(&key(DURATION, labels.clone()), &METADATA)
            .record(elapsed.as_secs_f64());
        self.recorder
            .register_counter(&key(REQUESTS, labels), &METADATA)
            .increment(1);
        if let Some(method) = route.strip_prefix(self.sign_in_prefix.as_str()) {
            let labels = vec![
                Label::new("method", method.to_owned()),
                Label::new("outcome", sign_in_outcome(status)),
            ];
            self.recorder
                .register_counter(&key(SIGN_INS, labels), &METADATA)
                .increment(1);
        }
        if status == StatusCode::TOO_MANY_REQUESTS {
            let labels = vec![Label::new("route", route.to_owned())];
            self.recorder
                .register_counter(&key(RATE_LIMITED, labels), &METADATA)
                .increment(1);
        }
        if let Some(kind) = db_error_kind(error) {
            self.recorder
                .register_counter(&key(DB_ERRORS, vec![Label::new("kind", kind)]), &METADATA)
                .increment(1);
        }
    }

    fn gauge(&self, name: &'static str, labels: Vec<Label>, value: f64) {
        self.recorder
            .register_gauge(&key(name, labels), &METADATA)
            .set(value);
    }

    fn total(&self, name: &'static str, value: u64) {
        self.recorder
            .register_counter(&key(name, Vec::new()), &METADATA)
            .absolute(value);
    }

    /// The text format, with the gauges read now.
    pub fn render(&self, now: Gauges) -> String {
        let h = now.hasher;
        self.gauge(HASH_RUNNING, Vec::new(), h.running as f64);
        self.gauge(HASH_WAITING, Vec::new(), h.waiting as f64);
        self.gauge(HASH_CAPACITY, Vec::new(), h.capacity as f64);
        self.gauge(HASH_THREADS, Vec::new(), h.threads as f64);
        self.total(HASH_REFUSED, h.refused as u64);
        let pool = self.store.pool_stats();
        let idle = pool.idle.min(pool.open);
        self.gauge(
            POOL_CONNECTIONS,
            vec![Label::new("state", "in_use")],
            (pool.open - idle) as f64,
        );
        self.gauge(
            POOL_CONNECTIONS,
            vec![Label::new("state", "idle")],
            idle as f64,
        );
        self.gauge(POOL_MAX, Vec::new(), pool.max as f64);
        self.total(REDIS_ERRORS, self.redis.as_ref().map_or(0, |r| r.errors()));
        if let Some((age, keys)) = now.jwks {
            if let Some(age) = age {
                self.gauge(JWKS_AGE, Vec::new(), age.as_secs_f64().floor());
            }
            self.gauge(JWKS_KEYS, Vec::new(), keys as f64);
        }
        self.gauge(
            SHUTTING_DOWN,
            Vec::new(),
            if now.shutting_down { 1.0 } else { 0.0 },
        );
        self.handle.run_upkeep();
        self.handle.render()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_in_outcomes_follow_the_status() {
        assert_eq!(sign_in_outcome(StatusCode::OK), "success");
        assert_eq!(
            sign_in_outcome(StatusCode::UNAUTHORIZED),
            "invalid_credentials"
        );
        assert_eq!(sign_in_outcome(StatusCode::FORBIDDEN), "email_not_verified");
        assert_eq!(
            sign_in_outcome(StatusCode::TOO_MANY_REQUESTS),
            "rate_limited"
        );
        assert_eq!(sign_in_outcome(StatusCode::BAD_REQUEST), "rejected");
        assert_eq!(sign_in_outcome(StatusCode::INTERNAL_SERVER_ERROR), "error");
    }

    #[test]
    fn unknown_methods_share_one_label() {
        assert_eq!(method_label(&Method::GET), "GET");
        let odd = Method::from_bytes(b"X-USER-SECRET").unwrap();
        assert_eq!(method_label(&odd), "OTHER");
    }
}
