//! `GET /account-info` (Better Auth `accountInfo`, `api/routes/account.ts`): what the provider of
//! one of the caller's accounts says about the user, with a valid access token (refreshed first
//! when it expires within 5 s).

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Map, Value};

use crate::error::{ApiError, ErrorCode};
use crate::flows::oauth::{oauth_error, valid_access_token};
use crate::http::extract::query_object;
use crate::http::{Current, Need};
use crate::social::Tokens;
use crate::state::AppState;

/// 400 for an account whose provider is not a configured social provider (the credential
/// account among them).
fn provider_not_configured() -> ApiError {
    ApiError::Custom {
        status: StatusCode::BAD_REQUEST,
        code: "PROVIDER_NOT_CONFIGURED",
        message: "Account is not associated with a configured social provider.".into(),
    }
}

/// The query's `accountId`, validated as Better Auth's `accountSelectionSchema` (a union of
/// `{accountId, userId?}` and `{useAccountCookie: true, userId?}`, both strict) does it for a
/// query string, where `useAccountCookie` can never be the literal `true`.
fn selected_account(query: &Map<String, Value>) -> Result<String, ApiError> {
    let invalid = || ApiError::validation("[query] Invalid input");
    let Some(Value::String(account_id)) = query.get("accountId") else {
        return Err(invalid());
    };
    if query.get("userId").is_some_and(|u| !u.is_string()) {
        return Err(invalid());
    }
    let unknown: Vec<String> = query
        .keys()
        .filter(|k| *k != "accountId" && *k != "userId")
        .map(|k| format!("\"{k}\""))
        .collect();
    if !unknown.is_empty() {
        let plural = if unknown.len() > 1 { "s" } else { "" };
        return Err(ApiError::validation(format!(
            "[query] Unrecognized key{plural}: {}",
            unknown.join(", ")
        )));
    }
    Ok(account_id.clone())
}

#[tracing::instrument(name = "account_info", skip_all)]
pub async fn account_info(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let account_id = selected_account(&query_object(&req))?;
    // Better Auth's `resolveUserId` answers a missing session with a bare 401.
    let current = Current::require(&state, &req, Need::Sensitive)
        .await
        .map_err(ApiError::without_body)?;
    let found = state
        .store
        .find_account_with_tokens(&current.user.id, &account_id)
        .await
        .map_err(|e| current.fail(e))?;
    let Some((account, stored)) = found else {
        return Err(current.fail(ErrorCode::AccountNotFound));
    };
    let Some(provider) = state.social.get(&account.provider_id) else {
        return Err(current.fail(provider_not_configured()));
    };
    let (access, _, id_token) = valid_access_token(&state, &provider, &account, &stored)
        .await
        .map_err(|e| current.fail(e))?;
    let Some(access) = access.filter(|a| !a.is_empty()) else {
        return Err(current.fail(oauth_error(
            400,
            "ACCESS_TOKEN_NOT_FOUND",
            "Access token not found",
        )));
    };
    let tokens = Tokens {
        access_token: Some(access),
        id_token,
        ..Tokens::default()
    };
    let now = state.clock.now();
    let Some(profile) = provider
        .user_info(&state.provider_http, &tokens, None, None, now)
        .await
    else {
        return Err(current.fail(ErrorCode::FailedToGetUserInfo));
    };
    let body = json!({
        "user": {
            "name": profile.name,
            "email": profile.email,
            "image": profile.image,
            "emailVerified": profile.email_verified,
        },
        "data": profile.data,
        "account": {
            "id": account.id,
            "providerId": account.provider_id,
            "accountId": account.account_id,
        },
    });
    Ok(current.respond(Vec::new(), &body))
}
