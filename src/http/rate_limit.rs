//! The rate limiter's place in the HTTP layer: it wraps the auth scope, so every request under
//! the base path is counted before routing, body parsing and the origin check (`crate::rate_limit`
//! has the rules and the counting).

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{web, ResponseError};

use super::client::client_ip;
use crate::error::ApiError;
use crate::rate_limit::{normalize_path, Verdict};
use crate::state::AppState;

/// Wraps the auth scope: counts the request, or answers 429 before anything else runs.
pub async fn middleware<B: MessageBody>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<EitherBody<B>>, actix_web::Error> {
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return Ok(next.call(req).await?.map_into_left_body());
    };
    let Some(limiter) = state.rate_limiter.as_deref() else {
        return Ok(next.call(req).await?.map_into_left_body());
    };
    let path = normalize_path(req.path(), &state.settings.base_path);
    let Some(rule) = limiter.rule_for(&path) else {
        return Ok(next.call(req).await?.map_into_left_body());
    };
    let ip = client_ip(&state.settings, req.headers());
    let key = limiter.key(ip.as_deref(), &path);
    let now_ms = state.clock.now().timestamp_millis();
    match limiter.consume(&key, rule, now_ms).await {
        Verdict::Allowed => Ok(next.call(req).await?.map_into_left_body()),
        Verdict::Limited { retry_after } => {
            tracing::warn!(path = %path, window = rule.window, max = rule.max, "rate limit exceeded");
            let res = ApiError::RateLimited { retry_after }.error_response();
            Ok(req.into_response(res).map_into_right_body())
        }
    }
}
