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
    let body = state
        .render_metrics()
        .ok_or(ApiError::Code(ErrorCode::NotFound))?;
    Ok(HttpResponse::Ok()
        .content_type(crate::metrics::CONTENT_TYPE)
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body))
}
