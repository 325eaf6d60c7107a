//! `GET /metrics`: Prometheus text format (docs/operations.md §2). Mounted on the API port only
//! with a bearer token (`BETTER_AUTH_METRICS_TOKEN`), or alone on `metrics.port`.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use secrecy::ExposeSecret;

use crate::auth::crypto::{ct_eq, sha256};
use crate::error::{ApiError, ErrorCode};
use crate::state::AppState;

pub async fn metrics(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    if let Some(token) = &state.settings.metrics.token {
        let sent = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default();
        // Digests compared, so neither the token nor its length shows in the timing.
        if !ct_eq(
            &sha256(sent.as_bytes()),
            &sha256(token.expose_secret().as_bytes()),
        ) {
            return Err(ErrorCode::Unauthorized.into());
        }
    }
    let body = render(&state).ok_or(ApiError::Code(ErrorCode::NotFound))?;
    Ok(HttpResponse::Ok()
        .content_type(crate::metrics::CONTENT_TYPE)
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body))
}

/// The metrics text now, with the gauges read from the hasher and the JWT key ring.
fn render(state: &AppState) -> Option<String> {
    let metrics = state.metrics.as_ref()?;
    let now = state.clock.now();
    let jwks = state
        .plugins
        .get::<crate::plugins::jwt::JwtPlugin>()
        .and_then(|p| p.issuer.key_stats(now));
    Some(metrics.render(crate::metrics::Gauges {
        hasher: state.hasher.stats(),
        jwks,
        shutting_down: state.is_stopping(),
    }))
}
