//! `[[plugins.generic_oauth.config]]`: Better Auth's `genericOAuth({ config: [...] })` options
//! (`packages/better-auth/src/plugins/generic-oauth/index.ts`), one table per provider.

use secrecy::SecretString;
use serde::Deserialize;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GenericOAuthSettings {
    pub config: Vec<GenericProvider>,
}

/// One OAuth 2.0 / OpenID Connect provider.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GenericProvider {
    pub provider_id: String,
    /// OpenID discovery document; explicit endpoints below win over what it names.
    pub discovery_url: Option<String>,
    pub authorization_url: Option<String>,
    pub token_url: Option<String>,
    pub user_info_url: Option<String>,
    pub client_id: String,
    pub client_secret: Option<SecretString>,
    pub scopes: Vec<String>,
    pub pkce: bool,
    pub redirect_uri: Option<String>,
    pub prompt: Option<String>,
    pub access_type: Option<String>,
    pub response_mode: Option<String>,
    /// Extra authorization-URL parameters (`authorizationUrlParams`).
    pub authorization_url_params: indexmap::IndexMap<String, String>,
    /// `"basic"`: client credentials in an `Authorization: Basic` header (`authentication`).
    pub authentication: Option<String>,
    pub disable_sign_up: bool,
    pub disable_implicit_sign_up: bool,
    /// `overrideUserInfo`.
    pub override_user_info: bool,
    pub require_email_verification: bool,
    pub disable_id_token_nonce_binding: bool,
    pub require_id_token_verification: bool,
    /// RP-initiated logout endpoint (`endSessionEndpoint`); default: discovery's.
    pub end_session_endpoint: Option<String>,
    pub post_logout_redirect_uri: Option<String>,
    pub disable_provider_logout: bool,
    /// Seconds an access token lives when the token answer has no `expires_in`.
    pub access_token_expires_in: Option<i64>,
}

impl Default for GenericProvider {
    fn default() -> Self {
        Self {
            provider_id: String::new(),
            discovery_url: None,
            authorization_url: None,
            token_url: None,
            user_info_url: None,
            client_id: String::new(),
            client_secret: None,
            scopes: Vec::new(),
            pkce: true,
            redirect_uri: None,
            prompt: None,
            access_type: None,
            response_mode: None,
            authorization_url_params: indexmap::IndexMap::new(),
            authentication: None,
            disable_sign_up: false,
            disable_implicit_sign_up: false,
            override_user_info: false,
            require_email_verification: false,
            disable_id_token_nonce_binding: false,
            require_id_token_verification: false,
            end_session_endpoint: None,
            post_logout_redirect_uri: None,
            disable_provider_logout: false,
            access_token_expires_in: None,
        }
    }
}

impl GenericOAuthSettings {
    pub fn validate(&self, errors: &mut Vec<String>) {
        let mut seen = std::collections::HashSet::new();
        for (i, c) in self.config.iter().enumerate() {
            let at = format!("plugins.generic_oauth.config[{i}]");
            if c.provider_id.is_empty() {
                errors.push(format!("{at}.provider_id: required"));
            } else if !seen.insert(c.provider_id.clone()) {
                errors.push(format!("{at}.provider_id: `{}` given twice", c.provider_id));
            }
            if c.client_id.is_empty() {
                errors.push(format!("{at}.client_id: required"));
            }
            if c.discovery_url.is_none() && c.authorization_url.is_none() {
                errors.push(format!(
                    "{at}: needs discovery_url, or authorization_url and token_url"
                ));
            }
            if c.discovery_url.is_none() && c.token_url.is_none() {
                errors.push(format!("{at}.token_url: required without discovery_url"));
            }
            if c.authentication
                .as_deref()
                .is_some_and(|a| a != "basic" && a != "post")
            {
                errors.push(format!("{at}.authentication: `basic` or `post`"));
            }
        }
    }
}
