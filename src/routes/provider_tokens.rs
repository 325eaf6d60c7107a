//! The provider tokens of the caller's accounts: `POST /get-access-token`,
//! `POST /refresh-token` (Better Auth's `api/routes/account.ts` `getAccessToken`,
//! `refreshToken`).

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Map, Value};

use crate::auth::crypto::iso;
use crate::error::ApiError;
use crate::flows::oauth::{oauth_error, open_token, seal_token};
use crate::http::extract::read_checked_body;
use crate::http::{Current, Need};
use crate::social::Tokens;
use crate::state::AppState;
use crate::store::accounts::AccountTokens;
use crate::store::Account;

/// The account selector: `{accountId, userId?}` (or `{useAccountCookie: true, userId?}`,
/// which finds nothing here: no account cookie is kept). Strict: other keys are refused.
fn selected_account_id(
    m: Option<&Map<String, Value>>,
    at: &str,
) -> Result<Option<String>, ApiError> {
    let Some(m) = m else {
        return Err(ApiError::validation(format!("[{at}] Invalid input")));
    };
    let allowed = ["accountId", "userId", "useAccountCookie"];
    if let Some(k) = m.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(ApiError::validation(format!(
            "[{at}] Unrecognized key: \"{k}\""
        )));
    }
    match (m.get("accountId"), m.get("useAccountCookie")) {
        (Some(Value::String(id)), None) => Ok(Some(id.clone())),
        (None, Some(Value::Bool(true))) => Ok(None),
        _ => Err(ApiError::validation(format!("[{at}] Invalid input"))),
    }
}

/// Over HTTP a session is required; without one the answer is 401 with an empty body.
async fn caller(state: &AppState, req: &HttpRequest) -> Result<Current, ApiError> {
    let need = match state.settings.session.cookie_cache.enabled {
        true => Need::Sensitive,
        false => Need::Session,
    };
    Current::require(state, req, need)
        .await
        .map_err(|_| ApiError::EmptyJson(StatusCode::UNAUTHORIZED))
}

async fn account_of(
    state: &AppState,
    current: &Current,
    id: Option<String>,
) -> Result<(Account, AccountTokens), ApiError> {
    let not_found = || ApiError::from(crate::error::ErrorCode::AccountNotFound);
    let id = id.ok_or_else(not_found)?;
    state
        .store
        .find_account_with_tokens(&current.user.id, &id)
        .await?
        .ok_or_else(not_found)
}

fn not_supported(a: &Account) -> ApiError {
    ApiError::Custom {
        status: StatusCode::BAD_REQUEST,
        code: "PROVIDER_NOT_SUPPORTED",
        message: format!("Provider {} is not supported.", a.provider_id).into(),
    }
}

fn scopes_of(scope: Option<&str>) -> Vec<String> {
    scope
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

#[tracing::instrument(name = "get_access_token", skip_all)]
pub async fn get_access_token(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = read_checked_body(&state, &req, payload, false).await?;
    let id = selected_account_id(body.as_ref().and_then(Value::as_object), "body")?;
    let current = caller(&state, &req).await?;
    let (account, stored) = account_of(&state, &current, id)
        .await
        .map_err(|e| current.fail(e))?;
    let provider = state
        .social
        .get(&account.provider_id)
        .ok_or_else(|| current.fail(not_supported(&account)))?;
    let (access, expires, id_token) =
        crate::flows::oauth::valid_access_token(&state, &provider, &account, &stored)
            .await
            .map_err(|e| current.fail(e))?;
    let mut out = Map::new();
    out.insert(
        "accessToken".into(),
        access.map(Value::String).unwrap_or(Value::Null),
    );
    if let Some(at) = expires {
        out.insert("accessTokenExpiresAt".into(), Value::String(iso(&at)));
    }
    out.insert("scopes".into(), json!(scopes_of(account.scope.as_deref())));
    if let Some(t) = id_token {
        out.insert("idToken".into(), Value::String(t));
    }
    Ok(current.respond(Vec::new(), &Value::Object(out)))
}

#[tracing::instrument(name = "refresh_token", skip_all)]
pub async fn refresh_token(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = read_checked_body(&state, &req, payload, false).await?;
    let id = selected_account_id(body.as_ref().and_then(Value::as_object), "body")?;
    let current = caller(&state, &req).await?;
    let (account, stored) = account_of(&state, &current, id)
        .await
        .map_err(|e| current.fail(e))?;
    let provider = state
        .social
        .get(&account.provider_id)
        .ok_or_else(|| current.fail(not_supported(&account)))?;
    if provider.token_endpoint.is_none() {
        return Err(current.fail(ApiError::Custom {
            status: StatusCode::BAD_REQUEST,
            code: "TOKEN_REFRESH_NOT_SUPPORTED",
            message: format!(
                "Provider {} does not support token refreshing.",
                account.provider_id
            )
            .into(),
        }));
    }
    let Some(refresh) = stored.refresh_token.as_deref() else {
        return Err(current.fail(oauth_error(
            400,
            "REFRESH_TOKEN_NOT_FOUND",
            "Refresh token not found",
        )));
    };
    let failed = || {
        oauth_error(
            400,
            "FAILED_TO_REFRESH_ACCESS_TOKEN",
            "Failed to refresh access token",
        )
    };
    let plain = open_token(&state, Some(refresh)).ok_or_else(|| current.fail(failed()))?;
    let now = state.clock.now();
    let new: Tokens = match provider.refresh(&state.provider_http, &plain, now).await {
        Ok(t) => t,
        Err(e) => {
            tracing::warn!(provider = %provider.id, error = %e, "token refresh failed");
            return Err(current.fail(failed()));
        }
    };
    let refresh_expires = new
        .refresh_token_expires_at
        .or(stored.refresh_token_expires_at);
    let update = AccountTokens {
        access_token: seal_token(&state, new.access_token.as_deref()),
        refresh_token: seal_token(&state, new.refresh_token.as_deref()),
        id_token: new.id_token.clone(),
        access_token_expires_at: new.access_token_expires_at,
        refresh_token_expires_at: refresh_expires,
        scope: None,
    };
    state
        .store
        .set_account_tokens(state.store.connection(), &account.id, &update, false, now)
        .await
        .map_err(|e| current.fail(e))?;
    let date = |d: Option<chrono::DateTime<chrono::Utc>>| d.map(|d| Value::String(iso(&d)));
    let mut out = Map::new();
    out.insert("accessToken".into(), json!(new.access_token));
    out.insert(
        "refreshToken".into(),
        json!(new.refresh_token.clone().unwrap_or(plain)),
    );
    if let Some(v) = date(new.access_token_expires_at) {
        out.insert("accessTokenExpiresAt".into(), v);
    }
    if let Some(v) = date(refresh_expires) {
        out.insert("refreshTokenExpiresAt".into(), v);
    }
    if let Some(s) = &account.scope {
        out.insert("scope".into(), json!(s));
    }
    if let Some(t) = new.id_token.or(stored.id_token) {
        out.insert("idToken".into(), json!(t));
    }
    out.insert("providerId".into(), json!(account.provider_id));
    out.insert("accountId".into(), json!(account.id));
    Ok(current.respond(Vec::new(), &Value::Object(out)))
}
