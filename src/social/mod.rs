//! Social providers: the built-in ones (`[social_providers.<id>]`, Better Auth's
//! `packages/core/src/social-providers/*`) and those of the generic OAuth plugin, each able to
//! build its authorization URL, exchange a code, refresh a token, read the user's profile and
//! verify an ID token (`packages/core/src/oauth2/*`).

pub mod http;
mod providers;

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value};
use tokio::sync::Mutex;

pub use http::{FetchError, Http};
pub use providers::built_in;

use crate::auth::crypto::{b64url, sha256};
use crate::auth::id_token;

/// How a provider's profile becomes a user (each provider's `getUserInfo`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mapping {
    Github,
    Google,
    Discord,
    Microsoft,
    Gitlab,
    Apple,
    Linkedin,
    Slack,
    Spotify,
    /// The generic OAuth plugin; `oidc` when discovery lists ID-token signing algorithms.
    Generic {
        oidc: bool,
    },
}

/// One configured provider, endpoints resolved.
pub struct Provider {
    pub id: String,
    pub mapping: Mapping,
    pub client_id: String,
    pub client_secret: Option<SecretString>,
    /// Default scopes (already without them when `disable_default_scope`).
    pub default_scopes: Vec<String>,
    /// The configured extra scopes.
    pub config_scopes: Vec<String>,
    pub authorization_endpoint: String,
    pub token_endpoint: Option<String>,
    pub user_info_endpoint: Option<String>,
    pub jwks_uri: Option<String>,
    /// The issuer the callback's `iss` must equal (RFC 9207), when known.
    pub issuer: Option<String>,
    /// Accepted `iss` values of ID tokens; empty: ID tokens are not verified.
    pub id_token_issuers: Vec<String>,
    /// Accepted signing algorithms of ID tokens; empty: any asymmetric one.
    pub id_token_algorithms: Vec<String>,
    pub id_token_max_age: Option<i64>,
    pub end_session_endpoint: Option<String>,
    pub post_logout_redirect_uri: Option<String>,
    pub pkce: bool,
    /// A nonce is sent and the ID token must carry it (generic OIDC with a JWKS).
    pub requires_nonce: bool,
    pub disable_sign_up: bool,
    pub disable_implicit_sign_up: bool,
    pub override_user_info: bool,
    pub require_email_verification: bool,
    pub prompt: Option<String>,
    pub access_type: Option<String>,
    pub response_mode: Option<String>,
    pub response_type: Option<String>,
    pub hd: Option<String>,
    pub redirect_uri: Option<String>,
    /// Extra authorization-URL parameters before the request's own.
    pub extra_params: Vec<(String, String)>,
    /// Client credentials as HTTP Basic instead of in the form.
    pub basic_auth: bool,
    pub access_token_expires_in: Option<i64>,
    /// Microsoft: the Graph photo size to fetch as the image; `None`: no photo.
    pub profile_photo_size: Option<u32>,
    jwks_cache: Mutex<Option<(Instant, Value)>>,
}

impl std::fmt::Debug for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Provider")
            .field("id", &self.id)
            .field("mapping", &self.mapping)
            .finish_non_exhaustive()
    }
}

/// Tokens from a token endpoint. Never printed.
#[derive(Clone, Default)]
pub struct Tokens {
    pub access_token: Option<String>,
    pub refresh_token: Option<String>,
    pub id_token: Option<String>,
    pub access_token_expires_at: Option<DateTime<Utc>>,
    pub refresh_token_expires_at: Option<DateTime<Utc>>,
    pub scopes: Vec<String>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tokens(<redacted>)")
    }
}

/// The user as a provider describes them, and the raw profile.
#[derive(Debug, Clone)]
pub struct Profile {
    /// The provider's subject (`sub`, `id`, `oid`), as text.
    pub account_id: String,
    pub name: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub image: Option<String>,
    pub data: Value,
}

/// What the authorization URL is built from.
pub struct AuthorizationRequest<'a> {
    pub state: &'a str,
    pub code_verifier: &'a str,
    pub nonce: Option<&'a str>,
    pub redirect_uri: &'a str,
    pub scopes: &'a [String],
    pub login_hint: Option<&'a str>,
    pub additional_params: &'a [(String, String)],
}

/// The authorization parameters a request may not set through `additionalParams`.
pub const RESERVED_PARAMS: [&str; 8] = [
    "state",
    "client_id",
    "redirect_uri",
    "response_type",
    "code_challenge",
    "code_challenge_method",
    "nonce",
    "scope",
];

/// `base64url(SHA-256(verifier))` without padding (RFC 7636 S256).
pub fn code_challenge(verifier: &str) -> String {
    b64url(&sha256(verifier.as_bytes()))
}

/// Better Auth's `getOAuth2Tokens`.
fn tokens_from(data: &Value, now: DateTime<Utc>, default_expiry: Option<i64>) -> Tokens {
    let s = |k: &str| data.get(k).and_then(Value::as_str).map(str::to_owned);
    let secs = |k: &str| {
        data.get(k).and_then(|v| {
            v.as_i64()
                .or_else(|| v.as_f64().map(|f| f as i64))
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        })
    };
    let at = |n: i64| now + chrono::Duration::seconds(n);
    let scopes = match data.get("scope") {
        Some(Value::String(s)) => s.split_whitespace().map(str::to_owned).collect(),
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect(),
        _ => Vec::new(),
    };
    Tokens {
        access_token: s("access_token"),
        refresh_token: s("refresh_token"),
        id_token: s("id_token"),
        access_token_expires_at: secs("expires_in")
            .filter(|n| *n != 0)
            .or(default_expiry)
            .map(at),
        refresh_token_expires_at: secs("refresh_token_expires_in").filter(|n| *n != 0).map(at),
        scopes,
    }
}

impl Provider {
    pub(crate) fn new(id: String, mapping: Mapping, client_id: String) -> Self {
        Self {
            id,
            mapping,
            client_id,
            client_secret: None,
            default_scopes: Vec::new(),
            config_scopes: Vec::new(),
            authorization_endpoint: String::new(),
            token_endpoint: None,
            user_info_endpoint: None,
            jwks_uri: None,
            issuer: None,
            id_token_issuers: Vec::new(),
            id_token_algorithms: Vec::new(),
            id_token_max_age: None,
            end_session_endpoint: None,
            post_logout_redirect_uri: None,
            pkce: true,
            requires_nonce: false,
            disable_sign_up: false,
            disable_implicit_sign_up: false,
            override_user_info: false,
            require_email_verification: false,
            prompt: None,
            access_type: None,
            response_mode: None,
            response_type: None,
            hd: None,
            redirect_uri: None,
            extra_params: Vec::new(),
            profile_photo_size: None,
            basic_auth: false,
            access_token_expires_in: None,
            jwks_cache: Mutex::new(None),
        }
    }

    /// Whether sign-in with an ID token is possible (`supportsIdTokenSignIn`).
    pub fn supports_id_token(&self) -> bool {
        self.jwks_uri.is_some() && !self.id_token_issuers.is_empty()
    }

    /// The requested scopes in the provider's order.
    pub fn scopes(&self, requested: &[String]) -> Vec<String> {
        let mut out = self.default_scopes.clone();
        match self.mapping {
            Mapping::Discord | Mapping::Slack => {
                out.extend(requested.iter().cloned());
                out.extend(self.config_scopes.iter().cloned());
            }
            Mapping::Generic { oidc } => {
                out.extend(requested.iter().cloned());
                out.extend(self.config_scopes.iter().cloned());
                if oidc && !out.iter().any(|s| s == "openid") {
                    out.insert(0, "openid".into());
                }
            }
            _ => {
                out.extend(self.config_scopes.iter().cloned());
                out.extend(requested.iter().cloned());
            }
        }
        out
    }

    /// Better Auth's `createAuthorizationURL`: the endpoint's own query parameters that we set
    /// are dropped, ours are appended in Better Auth's order.
    pub fn authorization_url(&self, r: &AuthorizationRequest<'_>) -> Option<String> {
        let mut url = url::Url::parse(&self.authorization_endpoint).ok()?;
        let scopes = self.scopes(r.scopes);
        let mut params: Vec<(String, String)> = Vec::new();
        let mut set = |k: &str, v: &str| {
            params.retain(|(name, _)| name != k);
            params.push((k.to_owned(), v.to_owned()));
        };
        set(
            "response_type",
            self.response_type.as_deref().unwrap_or("code"),
        );
        set("client_id", &self.client_id);
        set("state", r.state);
        if !scopes.is_empty() {
            set("scope", &scopes.join(" "));
        }
        set(
            "redirect_uri",
            self.redirect_uri.as_deref().unwrap_or(r.redirect_uri),
        );
        if let Some(h) = r.login_hint {
            set("login_hint", h);
        }
        if let Some(n) = r.nonce {
            set("nonce", n);
        }
        if let Some(p) = &self.prompt {
            set("prompt", p);
        }
        if let Some(hd) = &self.hd {
            set("hd", hd);
        }
        if let Some(a) = &self.access_type {
            set("access_type", a);
        }
        if let Some(m) = &self.response_mode {
            set("response_mode", m);
        }
        if self.pkce {
            set("code_challenge_method", "S256");
            set("code_challenge", &code_challenge(r.code_verifier));
        }
        for (k, v) in self.extra_params.iter().chain(r.additional_params) {
            if !RESERVED_PARAMS.contains(&k.as_str()) {
                set(k, v);
            }
        }
        let kept: Vec<(String, String)> = url
            .query_pairs()
            .filter(|(k, _)| !params.iter().any(|(p, _)| p == k))
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        url.set_query(None);
        {
            let mut q = url.query_pairs_mut();
            q.extend_pairs(kept);
            q.extend_pairs(params);
        }
        Some(url.to_string())
    }

    fn credentials<'a>(
        &'a self,
        form: &mut Vec<(&'static str, &'a str)>,
    ) -> Option<(&'a str, &'a str)> {
        let secret = self.client_secret.as_ref().map(|s| s.expose_secret());
        match secret {
            Some(secret) if self.basic_auth => Some((self.client_id.as_str(), secret)),
            Some(secret) => {
                form.push(("client_id", &self.client_id));
                form.push(("client_secret", secret));
                None
            }
            None => {
                form.push(("client_id", &self.client_id));
                None
            }
        }
    }

    /// Exchanges the authorization code (`validateAuthorizationCode`); `None` when the
    /// provider refused it or could not be reached.
    pub async fn exchange_code(
        &self,
        http: &Http,
        code: &str,
        code_verifier: &str,
        redirect_uri: &str,
        now: DateTime<Utc>,
    ) -> Option<Tokens> {
        let endpoint = self.token_endpoint.as_deref()?;
        let redirect = self.redirect_uri.as_deref().unwrap_or(redirect_uri);
        let mut form = vec![("grant_type", "authorization_code"), ("code", code)];
        if self.pkce {
            form.push(("code_verifier", code_verifier));
        }
        form.push(("redirect_uri", redirect));
        let basic = self.credentials(&mut form);
        match http.post_form(endpoint, &form, basic).await {
            // GitHub answers a refused code with 200 and an `error` member.
            Ok(data) if data.get("error").is_some() => {
                tracing::warn!(provider = %self.id, "token endpoint refused the code");
                None
            }
            Ok(data) => Some(tokens_from(&data, now, self.access_token_expires_in)),
            Err(e) => {
                tracing::warn!(provider = %self.id, error = %e, "code exchange failed");
                None
            }
        }
    }

    /// A new access token from the refresh token (`refreshAccessToken`).
    pub async fn refresh(
        &self,
        http: &Http,
        refresh_token: &str,
        now: DateTime<Utc>,
    ) -> Result<Tokens, FetchError> {
        let endpoint = self
            .token_endpoint
            .as_deref()
            .ok_or(FetchError::Status(0))?;
        let mut form = vec![
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ];
        let basic = self.credentials(&mut form);
        let data = http.post_form(endpoint, &form, basic).await?;
        if data.get("error").is_some() {
            return Err(FetchError::Status(400));
        }
        Ok(tokens_from(&data, now, self.access_token_expires_in))
    }

    /// The provider's JWKS, cached ten minutes; refetched once when no key verifies.
    async fn jwks(&self, http: &Http, fresh: bool) -> Option<Value> {
        let uri = self.jwks_uri.as_deref()?;
        let mut cache = self.jwks_cache.lock().await;
        if !fresh {
            if let Some((at, keys)) = cache.as_ref() {
                if at.elapsed() < Duration::from_secs(600) {
                    return Some(keys.clone());
                }
            }
        }
        match http.get(uri, None).await {
            Ok(keys) => {
                *cache = Some((Instant::now(), keys.clone()));
                Some(keys)
            }
            Err(e) => {
                tracing::warn!(provider = %self.id, error = %e, "JWKS fetch failed");
                None
            }
        }
    }

    /// The claims of an ID token that verifies against the provider's keys, issuer and client
    /// id (`verifyProviderIdToken`); `None` otherwise.
    pub async fn verify_id_token(
        &self,
        http: &Http,
        token: &str,
        nonce: Option<&str>,
        now: DateTime<Utc>,
    ) -> Option<Map<String, Value>> {
        if !self.supports_id_token() {
            return None;
        }
        let expected = id_token::Expected {
            issuers: &self.id_token_issuers,
            audience: &self.client_id,
            nonce,
            max_age: self.id_token_max_age,
            algorithms: &self.id_token_algorithms,
            now: now.timestamp(),
        };
        let token = token.to_owned();
        for fresh in [false, true] {
            let keys = self.jwks(http, fresh).await?;
            let t = token.clone();
            let issuers = expected.issuers.to_vec();
            let algorithms = expected.algorithms.to_vec();
            let (audience, nonce) = (expected.audience.to_owned(), nonce.map(str::to_owned));
            let now = expected.now;
            let max_age = expected.max_age;
            // RSA verification is CPU work: off the async workers.
            let claims = tokio::task::spawn_blocking(move || {
                id_token::verify(
                    &t,
                    &keys,
                    &id_token::Expected {
                        issuers: &issuers,
                        audience: &audience,
                        nonce: nonce.as_deref(),
                        max_age,
                        algorithms: &algorithms,
                        now,
                    },
                )
            })
            .await
            .ok()
            .flatten();
            if claims.is_some() {
                return claims;
            }
            // A rotated key shows as an unknown `kid`: fetch the set again once.
            let kid_known = id_token::decode(&token)
                .and_then(|(h, _)| h.get("kid").and_then(Value::as_str).map(str::to_owned))
                .is_none_or(|kid| {
                    self.jwks_cache.try_lock().ok().is_some_and(|c| {
                        c.as_ref().is_some_and(|(_, keys)| {
                            keys.get("keys")
                                .and_then(Value::as_array)
                                .is_some_and(|ks| ks.iter().any(|k| k["kid"] == kid.as_str()))
                        })
                    })
                });
            if kid_known {
                return None;
            }
        }
        None
    }

    /// The user's profile after a code exchange (`getUserInfo`); `None` when it cannot be had.
    /// `expected_nonce`: the ID token of an OIDC provider that needs one must be verified with it.
    pub async fn user_info(
        &self,
        http: &Http,
        tokens: &Tokens,
        expected_nonce: Option<&str>,
        apple_user: Option<&Value>,
        now: DateTime<Utc>,
    ) -> Option<Profile> {
        providers::user_info(self, http, tokens, expected_nonce, apple_user, now).await
    }

    /// The profile from a verified ID token alone (`getUserInfoFromIdToken`, or `getUserInfo`
    /// with only the ID token).
    pub fn profile_from_claims(&self, claims: &Map<String, Value>) -> Option<Profile> {
        providers::profile_from_claims(self, claims, None)
    }

    /// RP-initiated logout URL (`createEndSessionURL`), generic OIDC providers only.
    pub fn end_session_url(
        &self,
        id_token: Option<&str>,
        post_logout_redirect_uri: Option<&str>,
        state: Option<&str>,
    ) -> Option<String> {
        let mut url = url::Url::parse(self.end_session_endpoint.as_deref()?).ok()?;
        let redirect = post_logout_redirect_uri.or(self.post_logout_redirect_uri.as_deref());
        {
            let mut q = url.query_pairs_mut();
            if let Some(t) = id_token {
                q.append_pair("id_token_hint", t);
            }
            if let Some(r) = redirect {
                q.append_pair("post_logout_redirect_uri", r);
                q.append_pair("client_id", &self.client_id);
                if let Some(s) = state {
                    q.append_pair("state", s);
                }
            } else if id_token.is_none() {
                q.append_pair("client_id", &self.client_id);
            }
        }
        Some(url.to_string())
    }
}

/// Every provider of this service, built-in and generic, looked up by id.
#[derive(Debug, Default)]
pub struct Providers {
    list: Vec<Arc<Provider>>,
}

impl Providers {
    pub fn new(list: Vec<Provider>) -> Self {
        Self {
            list: list.into_iter().map(Arc::new).collect(),
        }
    }

    pub fn get(&self, id: &str) -> Option<Arc<Provider>> {
        self.list.iter().find(|p| p.id == id).cloned()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
}
