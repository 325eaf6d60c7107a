//! The signed-in user's own account: update-user, change-password, verify-password,
//! list-accounts, unlink-account (endpoints.md §1.7, §3.1, §5.1, §5.2).

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Map, Value};

use crate::auth::fields::{self, received, truthy};
use crate::error::{ApiError, ErrorCode};
use crate::flows::credentials::{check_password_length, check_user_password, hash_password};
use crate::flows::session::session_cookies;
use crate::flows::users::field_error;
use crate::http::extract::{no_fields_to_update, read_checked_body, record_body, Validator};
use crate::http::ClientInfo;
use crate::http::{Current, Need};
use crate::state::AppState;
use crate::store::json::{account_json, user_json};
use crate::store::users::UserUpdate;

/// The update from an update-user body: `name`, `image` (a string, or `null` to clear) and
/// declared custom fields; any other key is dropped, as Better Auth does.
fn user_update(state: &AppState, body: &Map<String, Value>) -> Result<UserUpdate, ApiError> {
    if body.get("email").is_some_and(truthy) {
        return Err(ErrorCode::EmailCanNotBeUpdated.into());
    }
    let rest: Map<String, Value> = body
        .iter()
        .filter(|(k, _)| k.as_str() != "name" && k.as_str() != "image")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let extra = fields::for_update(state.store.user_fields(), &rest).map_err(field_error)?;
    // Better Auth hands any JSON to the adapter; a wrong type here is a 400, never a 500.
    let wrong_type = |key: &str, v: &Value| {
        ApiError::validation(format!(
            "[body.{key}] Invalid input: expected string, received {}",
            received(v)
        ))
    };
    let name = match body.get("name") {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => return Err(wrong_type("name", other)),
    };
    let image = match body.get("image") {
        None => None,
        Some(Value::Null) => Some(None),
        Some(Value::String(s)) => Some(Some(s.clone())),
        Some(other) => return Err(wrong_type("image", other)),
    };
    Ok(UserUpdate { name, image, extra })
}

#[tracing::instrument(name = "update_user", skip_all)]
pub async fn update_user(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = read_checked_body(&state, &req, payload, false).await?;
    let body = record_body(body.as_ref())?;
    let current = Current::require(&state, &req, Need::Session).await?;
    let mut update = user_update(&state, body).map_err(|e| current.fail(e))?;
    for plugin in state.plugins.iter() {
        plugin
            .on_user_update(&state, &current.user, &mut update.extra)
            .await
            .map_err(|e| current.fail(e))?;
    }
    if update.is_empty() {
        return Err(current.fail(no_fields_to_update()));
    }
    let now = state.clock.now();
    let user = state
        .store
        .update_user(&current.user.id, &update, now)
        .await
        .map_err(|e| current.fail(e))?
        .ok_or_else(|| current.fail(ErrorCode::Unauthorized))?;
    // The cookie cache must hold the new user (endpoints.md §3.1).
    let cookies = session_cookies(&state, &current.session, &user, current.dont_remember);
    Ok(current.respond(cookies, &json!({ "status": true })))
}

/// Change-password's checks in Better Auth's order (endpoints.md §1.7): lengths, a credential
/// account with a password, then the current password, hashing the new one first so that a
/// wrong password costs the same. Returns the credential account's id and the new hash.
async fn new_password_hash(
    state: &AppState,
    user_id: &str,
    current_password: String,
    new_password: String,
) -> Result<(String, String), ApiError> {
    check_password_length(state, &new_password)?;
    if crate::auth::password::js_length(&current_password)
        > state.settings.email_and_password.max_password_length
    {
        return Err(ErrorCode::PasswordTooLong.into());
    }
    if state
        .store
        .find_credential_account(user_id)
        .await?
        .is_none_or(|a| a.password.is_none())
    {
        return Err(ErrorCode::CredentialAccountNotFound.into());
    }
    let hash = hash_password(state, new_password).await?;
    let account = check_user_password(state, user_id, current_password).await?;
    Ok((account.id, hash))
}

#[tracing::instrument(name = "change_password", skip_all)]
pub async fn change_password(
    state: web::Data<AppState>,
    req: HttpRequest,
    client: ClientInfo,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = read_checked_body(&state, &req, payload, false).await?;
    let mut v = Validator::body(body.as_ref());
    let new_password = v.string("newPassword");
    let current_password = v.string("currentPassword");
    let revoke = v.opt_bool("revokeOtherSessions").unwrap_or(false);
    v.finish()?;
    let current = Current::require(&state, &req, Need::Sensitive).await?;
    let (account_id, hash) =
        new_password_hash(&state, &current.user.id, current_password, new_password)
            .await
            .map_err(|e| current.fail(e))?;
    let now = state.clock.now();
    // Revoking replaces every session, the caller's included, by a new one (endpoints.md §1.7).
    let new_session = match revoke {
        true => Some(
            crate::flows::session::new_session(&state, &current.user.id, &client, false)
                .await
                .map_err(|e| current.fail(e))?,
        ),
        false => None,
    };
    state
        .store
        .change_password(&account_id, &hash, now, new_session.as_ref())
        .await
        .map_err(|e| current.fail(e))?;
    let user = user_json(&current.user, state.store.user_fields());
    let Some(session) = new_session else {
        return Ok(current.respond(Vec::new(), &json!({ "token": null, "user": user })));
    };
    let cookies = session_cookies(&state, &session, &current.user, current.dont_remember);
    Ok(current.respond(cookies, &json!({ "token": session.token, "user": user })))
}

/// `POST /verify-password` (Better Auth `verifyPassword`, `api/routes/password.ts`): whether
/// `password` is the caller's, on a session read from the database. A user without a
/// credential account gets `INVALID_PASSWORD` too.
#[tracing::instrument(name = "verify_password", skip_all)]
pub async fn verify_password(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = read_checked_body(&state, &req, payload, false).await?;
    let mut v = Validator::body(body.as_ref());
    let password = v.string("password");
    v.finish()?;
    let current = Current::require(&state, &req, Need::Sensitive).await?;
    match check_user_password(&state, &current.user.id, password).await {
        Ok(_) => Ok(current.respond(Vec::new(), &json!({ "status": true }))),
        Err(ApiError::Code(ErrorCode::CredentialAccountNotFound)) => {
            Err(current.fail(ErrorCode::InvalidPassword))
        }
        Err(e) => Err(current.fail(e)),
    }
}

#[tracing::instrument(name = "list_accounts", skip_all)]
pub async fn list_accounts(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let current = Current::require(&state, &req, Need::Session).await?;
    let accounts = state
        .store
        .list_accounts(&current.user.id)
        .await
        .map_err(|e| current.fail(e))?;
    let body = Value::Array(accounts.iter().map(account_json).collect());
    Ok(current.respond(Vec::new(), &body))
}

#[tracing::instrument(name = "unlink_account", skip_all)]
pub async fn unlink_account(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = read_checked_body(&state, &req, payload, false).await?;
    let mut v = Validator::body(body.as_ref());
    // Since 1.7 `accountId` is the account's row id (`id` in list-accounts).
    let id = v.string("accountId");
    v.finish()?;
    let current = Current::require(&state, &req, Need::Fresh).await?;
    let accounts = state
        .store
        .list_accounts(&current.user.id)
        .await
        .map_err(|e| current.fail(e))?;
    // Checked before the id is looked up, as Better Auth does.
    if accounts.len() == 1 && !state.settings.account.account_linking.allow_unlinking_all {
        return Err(current.fail(ErrorCode::FailedToUnlinkLastAccount));
    }
    if !accounts.iter().any(|a| a.id == id) {
        return Err(current.fail(ErrorCode::AccountNotFound));
    }
    state
        .store
        .delete_account(&current.user.id, &id)
        .await
        .map_err(|e| current.fail(e))?;
    Ok(current.respond(Vec::new(), &json!({ "status": true })))
}
