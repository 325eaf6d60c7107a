//! The rate limiter's place in the HTTP layer: it wraps the auth scope, so every request under
//! the base path is counted before the handler, body parsing and the origin check
//! (`crate::rate_limit` has the rules and the counting).
//!
//! A request is counted under the route the router will give it, found the way the router finds
//! it: on the percent-decoded path (`/api/auth/%73ign-in/email` is sign-in, under sign-in's rule
//! and in sign-in's bucket), and under the route's pattern (`/reset-password/{token}`: one
//! bucket, whatever the token). Every path no route serves shares one bucket per client, so
//! unknown paths never make new state (`docs/compatibility.md` §13).

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{web, ResponseError};

use super::client::rate_limit_ip;
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
    let settings = &state.settings;
    if settings.advanced.disable_ip_tracking {
        // Better Auth counts nothing without a client IP to count it under.
        return Ok(next.call(req).await?.map_into_left_body());
    }
    // The path as the router matches it: percent-decoded (but for `/`, `%` and `+`).
    let routed = req.match_info().as_str();
    let path = normalize_path(routed, &settings.base_path);
    let Some(rule) = limiter.rule_for(&path) else {
        return Ok(next.call(req).await?.map_into_left_body());
    };
    let route = req
        .resource_map()
        .match_pattern(routed)
        .map(|pattern| normalize_path(&pattern, &settings.base_path));
    let peer = req.peer_addr().map(|a| a.ip());
    let ip = rate_limit_ip(settings, req.headers(), peer);
    let key = limiter.key(ip.as_deref(), route.as_deref());
    let now_ms = state.clock.now().timestamp_millis();
    // Boxed: the store's future is large, and this middleware's own future, moved into a box on
    // every request, stays small when the rule is not reached.
    match Box::pin(limiter.consume(&key, rule, now_ms)).await {
        Verdict::Allowed => Ok(next.call(req).await?.map_into_left_body()),
        Verdict::Limited { retry_after } => {
            // The route, not the path: a path is the client's to make as long as it likes.
            let route = route.as_deref().unwrap_or(crate::rate_limit::UNKNOWN_ROUTE);
            tracing::warn!(
                route,
                window = rule.window,
                max = rule.max,
                "rate limit exceeded"
            );
            let res = ApiError::RateLimited { retry_after }.error_response();
            Ok(req.into_response(res).map_into_right_body())
        }
    }
}
