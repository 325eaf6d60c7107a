//! `POST /sign-out` (endpoints.md §1.3), with the provider's RP-initiated logout URL when the
//! user signed in through a provider that has an end-session endpoint (Better Auth's
//! `api/routes/sign-out.ts`).

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use secrecy::ExposeSecret;
use serde_json::json;

use crate::auth::cookies::SESSION_TOKEN;
use crate::auth::crypto::Signed;
use crate::error::ApiError;
use crate::http::extract::{read_checked_body, Validator};
use crate::http::request_cookies;
use crate::state::AppState;

#[tracing::instrument(name = "sign_out", skip_all)]
pub async fn sign_out(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = read_checked_body(&state, &req, payload, false).await?;
    let (callback_url, disable_redirect, logout_state) = match &body {
        Some(serde_json::Value::Object(_)) => {
            let mut v = Validator::body(body.as_ref());
            let c = v.opt_string("callbackURL");
            let d = v.opt_bool("disableRedirect").unwrap_or(false);
            let s = v.opt_string("state");
            v.finish()?;
            (c, d, s)
        }
        _ => (None, false, None),
    };
    let jar = request_cookies(&req);
    let secret = state.settings.secret.expose_secret().as_bytes();
    let mut user_id = None;
    if let Signed::Valid(token) = jar.signed(secret, &state.cookies.name(SESSION_TOKEN)) {
        if !state.social.is_empty() {
            user_id = match state.store.find_session(token).await {
                Ok(s) => s.map(|s| s.user_id),
                Err(e) => {
                    tracing::warn!(error = %e, "sign-out could not read the session");
                    None
                }
            };
        }
        if let Err(e) = state.store.delete_session(token).await {
            tracing::warn!(error = %e, "sign-out could not delete the session");
        }
    }
    let mut res = HttpResponse::Ok();
    for c in state.cookies.clear_session(&jar) {
        res.cookie(c);
    }
    // Better Auth's `deleteSessionCookie` also expires the OAuth state cookie of the `cookie`
    // strategy.
    if state.settings.account.store_state_strategy == crate::config::StateStrategy::Cookie {
        res.cookie(state.cookies.removal(&state.cookies.name("oauth_state")));
    }
    let logout = match user_id {
        Some(id) => {
            provider_logout(
                &state,
                &id,
                callback_url.as_deref(),
                logout_state.as_deref(),
            )
            .await
        }
        None => None,
    };
    let Some(url) = logout else {
        return Ok(res.json(json!({ "success": true })));
    };
    if !disable_redirect {
        if let Ok(v) = header::HeaderValue::from_str(&url) {
            res.insert_header((header::LOCATION, v));
        }
    }
    Ok(res.json(json!({ "success": true, "url": url, "redirect": !disable_redirect })))
}

/// The end-session URL of the most recently updated account whose provider has one.
async fn provider_logout(
    state: &AppState,
    user_id: &str,
    callback_url: Option<&str>,
    logout_state: Option<&str>,
) -> Option<String> {
    let accounts = match state.store.list_accounts_with_tokens(user_id).await {
        Ok(a) => a,
        Err(e) => {
            tracing::warn!(error = %e, "sign-out could not read the accounts");
            return None;
        }
    };
    let base = format!("{}{}", state.settings.base_origin, state.settings.base_path);
    let post_logout = callback_url.and_then(|c| {
        url::Url::parse(&base)
            .and_then(|b| b.join(c))
            .ok()
            .map(|u| u.to_string())
    });
    for (account, tokens) in accounts {
        let Some(provider) = state.social.get(&account.provider_id) else {
            continue;
        };
        if let Some(url) = provider.end_session_url(
            tokens.id_token.as_deref(),
            post_logout.as_deref(),
            logout_state,
        ) {
            return Some(url);
        }
    }
    None
}
