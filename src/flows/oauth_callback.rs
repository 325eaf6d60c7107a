//! The provider's answer at `/callback/:id` (Better Auth's `src/api/routes/callback.ts` and
//! `src/oauth2/callback.ts`): every outcome is a redirect, never an error page of ours.

use actix_web::cookie::Cookie;
use serde_json::Value;

use super::oauth::{
    callback_uri, default_error_url, error_redirect, link_account, parse_state, sign_in_user,
    SignInOutcome,
};
use super::session::session_cookies;
use crate::auth::cookies::RequestCookies;
use crate::auth::session::ClientInfo;
use crate::error::ApiError;
use crate::state::AppState;

/// The callback's parameters (query, or form body for `form_post`).
#[derive(Debug, Default, Clone)]
pub struct CallbackParams {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
    pub device_id: Option<String>,
    pub user: Option<String>,
    pub iss: Option<String>,
}

/// Where the browser goes next, and the cookies that go with it.
pub struct Redirect {
    pub location: String,
    pub cookies: Vec<Cookie<'static>>,
}

impl Redirect {
    fn to(location: String, cookies: Vec<Cookie<'static>>) -> Self {
        Self { location, cookies }
    }
}

/// Runs the callback to its redirect.
pub async fn callback(
    state: &AppState,
    jar: &RequestCookies,
    client: &ClientInfo,
    provider_id: &str,
    p: CallbackParams,
) -> Redirect {
    let default_error = default_error_url(state);
    let Some(oauth_state) = p.state.as_deref().filter(|s| !s.is_empty()) else {
        tracing::warn!("OAuth callback without state");
        return Redirect::to(
            error_redirect(&default_error, "state_not_found", None),
            Vec::new(),
        );
    };
    let (mut cookies, parsed) = parse_state(state, jar, oauth_state).await;
    let data = match parsed {
        Ok(data) => data,
        Err(f) => {
            tracing::warn!(code = f.code, "OAuth state refused");
            let base = f.error_url.unwrap_or(default_error);
            return Redirect::to(error_redirect(&base, f.code, None), cookies);
        }
    };
    let error_url = data.error_url.clone().unwrap_or(default_error);
    let fail = |cookies: Vec<Cookie<'static>>, code: &str, description: Option<&str>| {
        Redirect::to(error_redirect(&error_url, code, description), cookies)
    };
    if let Some(error) = p.error.as_deref().filter(|e| !e.is_empty()) {
        tracing::warn!("provider answered with an error");
        return fail(cookies, error, p.error_description.as_deref());
    }
    let Some(code) = p.code.as_deref().filter(|c| !c.is_empty()) else {
        return fail(cookies, "no_code", None);
    };
    let Some(provider) = state.social.get(provider_id) else {
        return fail(cookies, "oauth_provider_not_found", None);
    };
    if let (Some(iss), Some(expected)) = (p.iss.as_deref(), provider.issuer.as_deref()) {
        if iss != expected {
            tracing::warn!(provider = %provider.id, "callback issuer mismatch");
            return fail(cookies, "issuer_mismatch", None);
        }
    }
    if provider.requires_nonce && data.id_token_nonce.is_none() {
        return fail(cookies, "nonce_binding_missing", None);
    }
    let now = state.clock.now();
    let http = &state.provider_http;
    let redirect_uri = callback_uri(state, &provider.id);
    let Some(tokens) = provider
        .exchange_code(http, code, &data.code_verifier, &redirect_uri, now)
        .await
    else {
        return fail(cookies, "invalid_code", None);
    };
    let apple_user = p
        .user
        .as_deref()
        .and_then(|u| serde_json::from_str::<Value>(u).ok());
    let Some(profile) = provider
        .user_info(
            http,
            &tokens,
            data.id_token_nonce.as_deref(),
            apple_user.as_ref(),
            now,
        )
        .await
    else {
        tracing::warn!(provider = %provider.id, "unable to get user info");
        return fail(cookies, "unable_to_get_user_info", None);
    };
    let Some(callback_url) = data.callback_url.clone() else {
        return fail(cookies, "no_callback_url", None);
    };
    if let Some((user_id, email)) = &data.link {
        if !super::oauth::link_session_live(state, data.link_session.as_deref(), user_id).await {
            return fail(cookies, "unable_to_link_account", None);
        }
        return match link_account(state, &provider, &profile, &tokens, user_id, email).await {
            Ok(Ok(())) => Redirect::to(callback_url, cookies),
            Ok(Err(code)) => fail(cookies, code, None),
            Err(e) => {
                tracing::error!(error = %e, "linking failed");
                fail(cookies, "unable_to_link_account", None)
            }
        };
    }
    let Some(email) = profile.email.clone().filter(|e| !e.is_empty()) else {
        tracing::warn!(provider = %provider.id, "provider did not return an email");
        return fail(cookies, "email_not_found", None);
    };
    let disable_sign_up =
        (provider.disable_implicit_sign_up && !data.request_sign_up) || provider.disable_sign_up;
    match sign_in_user(
        state,
        &provider,
        &profile,
        &email,
        &tokens,
        disable_sign_up,
        client,
    )
    .await
    {
        Ok(SignInOutcome::SignedIn {
            user,
            session,
            is_register,
        }) => {
            cookies.extend(session_cookies(state, &session, &user, false));
            let to = match (is_register, data.new_user_url) {
                (true, Some(new_user)) if !new_user.is_empty() => new_user,
                _ => callback_url,
            };
            Redirect::to(to, cookies)
        }
        Ok(SignInOutcome::Refused(outcome)) => {
            tracing::warn!(outcome, "OAuth sign-in refused");
            fail(cookies, &outcome.replace(' ', "_"), None)
        }
        Err(ApiError::Custom { code, message, .. }) => fail(cookies, code, Some(&message)),
        Err(ApiError::Code(c)) => fail(cookies, c.code(), Some(c.message())),
        Err(e) => {
            tracing::error!(error = %e, "OAuth sign-in failed");
            fail(cookies, "internal_server_error", None)
        }
    }
}
