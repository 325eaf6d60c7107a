//! The generic OAuth plugin: any OAuth 2.0 / OpenID Connect provider, configured by discovery
//! URL or explicit endpoints, becomes a social provider served by the core routes
//! (`/sign-in/social`, `/callback/:id`, `/link-social`), as Better Auth 1.7.25's
//! `genericOAuth` does (`packages/better-auth/src/plugins/generic-oauth/index.ts`): it has no
//! routes of its own.

pub mod config;

use serde_json::Value;

use crate::social::{Http, Mapping, Provider};
use config::GenericProvider;

/// The providers of `[[plugins.generic_oauth.config]]`, discovery documents fetched now. A
/// provider whose discovery fails is left out and logged, as Better Auth skips it.
pub async fn providers(configs: &[GenericProvider], http: &Http) -> Vec<Provider> {
    let mut out = Vec::new();
    for c in configs {
        let discovered = match &c.discovery_url {
            Some(url) => match http.get(url, None).await {
                Ok(doc @ Value::Object(_)) => Some(doc),
                Ok(_) => None,
                Err(e) => {
                    tracing::error!(provider = %c.provider_id, error = %e, "discovery failed; provider skipped");
                    continue;
                }
            },
            None => None,
        };
        match provider(c, discovered.as_ref()) {
            Some(p) => out.push(p),
            None => tracing::error!(
                provider = %c.provider_id,
                "no usable authorization and token endpoints; provider skipped"
            ),
        }
    }
    out
}

fn provider(c: &GenericProvider, doc: Option<&Value>) -> Option<Provider> {
    let d = |k: &str| {
        doc.and_then(|d| d.get(k))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let algorithms: Vec<String> = doc
        .and_then(|d| d.get("id_token_signing_alg_values_supported"))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let oidc = !algorithms.is_empty();
    let mut p = Provider::new(
        c.provider_id.clone(),
        Mapping::Generic { oidc },
        c.client_id.clone(),
    );
    p.client_secret = c.client_secret.clone();
    p.config_scopes = c.scopes.clone();
    p.authorization_endpoint = c
        .authorization_url
        .clone()
        .or_else(|| d("authorization_endpoint"))?;
    p.token_endpoint = Some(c.token_url.clone().or_else(|| d("token_endpoint"))?);
    p.user_info_endpoint = c.user_info_url.clone().or_else(|| d("userinfo_endpoint"));
    p.end_session_endpoint = match c.disable_provider_logout {
        true => None,
        false => c
            .end_session_endpoint
            .clone()
            .or_else(|| d("end_session_endpoint")),
    };
    p.post_logout_redirect_uri = c.post_logout_redirect_uri.clone();
    let issuer = d("issuer").filter(|i| url::Url::parse(i).is_ok());
    p.issuer = issuer.clone();
    if let (Some(jwks), Some(iss), Some(base)) = (d("jwks_uri"), issuer, c.discovery_url.as_ref()) {
        let jwks = url::Url::parse(base).and_then(|b| b.join(&jwks)).ok()?;
        p.jwks_uri = Some(jwks.to_string());
        p.id_token_issuers = vec![iss];
        p.id_token_algorithms = algorithms;
        p.requires_nonce = !c.disable_id_token_nonce_binding;
    }
    if c.require_id_token_verification && !p.supports_id_token() {
        return None;
    }
    p.pkce = c.pkce;
    p.redirect_uri = c.redirect_uri.clone();
    p.prompt = c.prompt.clone();
    p.access_type = c.access_type.clone();
    p.response_mode = c.response_mode.clone();
    p.extra_params = c
        .authorization_url_params
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    p.basic_auth = c.authentication.as_deref() == Some("basic");
    p.disable_sign_up = c.disable_sign_up;
    p.disable_implicit_sign_up = c.disable_implicit_sign_up;
    p.override_user_info = c.override_user_info;
    p.require_email_verification = c.require_email_verification;
    p.access_token_expires_in = c.access_token_expires_in;
    Some(p)
}
