//! Verifying a key and counting its use (`routes/verify-api-key.ts`'s `validateApiKey` and
//! `claimUsageInDatabase`): every counter moves with a guarded update, so concurrent
//! verifications can neither drive `remaining` below zero nor pass the rate limit.

use actix_web::http::StatusCode;
use indexmap::IndexMap;
use serde_json::json;

use super::{ApiKeyError, ApiKeyPlugin};
use crate::auth::access::{authorize, Actions, Connector, Statements};
use crate::auth::api_key::{evaluate_rate_limit, hash_key, refill_due, Counters, RateDecision};
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::api_keys::{ApiKeyRow, CounterChange};

/// How often a verification retries the rate-limit update it lost to a concurrent one.
const MAX_RETRIES: usize = 8;

fn unauthorized(e: ApiKeyError) -> ApiError {
    e.status(StatusCode::UNAUTHORIZED)
}

fn usage_exceeded() -> ApiError {
    ApiKeyError::UsageExceeded.status(StatusCode::TOO_MANY_REQUESTS)
}

fn rate_limited(try_again_in: i64) -> ApiError {
    ApiError::Detailed {
        status: StatusCode::TOO_MANY_REQUESTS,
        code: "RATE_LIMITED",
        message: "Rate limit exceeded.".into(),
        details: json!({ "tryAgainIn": try_again_in }),
    }
}

/// The key's row after one use was counted, or why the key is refused. The key is found by
/// its SHA-256 (an index lookup on a hash: nothing to compare in variable time).
pub async fn validate(
    plugin: &ApiKeyPlugin,
    state: &AppState,
    key: &str,
    permissions: Option<&IndexMap<String, Vec<String>>>,
) -> Result<ApiKeyRow, ApiError> {
    let found = state.store.find_api_key_by_hash(&hash_key(key)).await?;
    validate_found(plugin, state, found, permissions).await
}

/// [`validate`] for the row found by the key's hash (`None`: no such key).
pub async fn validate_found(
    plugin: &ApiKeyPlugin,
    state: &AppState,
    found: Option<ApiKeyRow>,
    permissions: Option<&IndexMap<String, Vec<String>>>,
) -> Result<ApiKeyRow, ApiError> {
    let Some(row) = found else {
        return Err(unauthorized(ApiKeyError::InvalidApiKey));
    };
    if row.enabled == Some(false) {
        return Err(unauthorized(ApiKeyError::KeyDisabled));
    }
    let now = state.clock.now();
    if row.expires_at.is_some_and(|at| now > at) {
        state.store.delete_api_key(&row.id).await?;
        return Err(unauthorized(ApiKeyError::KeyExpired));
    }
    if let Some(wanted) = permissions {
        let granted: Option<Statements> = row
            .permissions
            .as_deref()
            .and_then(|p| serde_json::from_str(p).ok());
        let Some(granted) = granted else {
            return Err(unauthorized(ApiKeyError::KeyNotFound));
        };
        let request: IndexMap<String, Actions> = wanted
            .iter()
            .map(|(k, v)| (k.clone(), Actions::from(v.clone())))
            .collect();
        if !authorize(&granted, &request, Connector::And).success {
            return Err(unauthorized(ApiKeyError::KeyNotFound));
        }
    }
    if row.remaining == Some(0) && row.refill_amount.is_none() {
        state.store.delete_api_key(&row.id).await?;
        return Err(usage_exceeded());
    }
    claim_usage(plugin, state, row).await
}

/// The row as stored now, or `row` as this verification left it when a concurrent one has
/// deleted the key meanwhile (the use this one took stands).
async fn reread(state: &AppState, row: ApiKeyRow) -> Result<ApiKeyRow, ApiError> {
    Ok(state.store.find_api_key(&row.id).await?.unwrap_or(row))
}

async fn claim_usage(
    plugin: &ApiKeyPlugin,
    state: &AppState,
    mut row: ApiKeyRow,
) -> Result<ApiKeyRow, ApiError> {
    let store = &state.store;
    if let Some(remaining) = row.remaining {
        let now = state.clock.now();
        let refilled = match row.refill_amount {
            Some(amount)
                if refill_due(
                    row.refill_interval,
                    Some(amount),
                    row.last_refill_at,
                    row.created_at,
                    now,
                ) =>
            {
                store
                    .refill_api_key(&row.id, row.last_refill_at, amount - 1, now)
                    .await?
                    .then_some((amount - 1, Some(now)))
            }
            _ => None,
        };
        match refilled {
            Some((left, at)) => {
                row.remaining = Some(left);
                row.last_refill_at = at;
            }
            None if store.take_api_key_use(&row.id).await? => {
                row.remaining = Some((remaining - 1).max(0));
            }
            None => return Err(usage_exceeded()),
        }
        row = reread(state, row).await?;
    }
    for _ in 0..MAX_RETRIES {
        let now = state.clock.now();
        let counters = Counters {
            plugin_enabled: plugin.settings.rate_limit.enabled,
            key_enabled: row.rate_limit_enabled,
            time_window: row.rate_limit_time_window,
            max: row.rate_limit_max,
            request_count: row.request_count,
            last_request: row.last_request,
        };
        let change = match evaluate_rate_limit(&counters, now) {
            RateDecision::Deny { try_again_in } => return Err(rate_limited(try_again_in)),
            // No counter moves: the use is written without a guard (it applies even where MySQL
            // reports no changed row), grouped with the others of the moment.
            RateDecision::Skip(last_request) => {
                store
                    .touch_api_key(&row.id, now, last_request.is_some())
                    .await?;
                if last_request.is_some() {
                    row.last_request = Some(now);
                }
                row.updated_at = now;
                return Ok(row);
            }
            RateDecision::Start => CounterChange::Start {
                now,
                window_start: None,
            },
            RateDecision::Reset { window_start } => CounterChange::Start {
                now,
                window_start: Some(window_start),
            },
            RateDecision::Increment { window_start, max } => CounterChange::Increment {
                now,
                window_start,
                max,
            },
        };
        if store.count_api_key_request(&row.id, change).await? {
            // The counter's update also set `updatedAt`; the row is answered as this use left
            // it (one write per use, no re-read).
            row.request_count = Some(match change {
                CounterChange::Increment { .. } => row.request_count.unwrap_or(0) + 1,
                CounterChange::Start { .. } => 1,
            });
            row.last_request = Some(now);
            row.updated_at = now;
            return Ok(row);
        }
        match store.find_api_key(&row.id).await? {
            Some(fresh) => row = fresh,
            // Deleted meanwhile: its rate limit no longer matters.
            None => return Ok(row),
        }
    }
    Err(rate_limited(0))
}
