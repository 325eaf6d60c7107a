//! Social sign-in's steps shared by `/sign-in/social`, `/callback/:id`, `/link-social` and the
//! token routes: the OAuth state (Better Auth's `src/oauth2/state.ts`, `src/state.ts`), the
//! callback (`src/api/routes/callback.ts`, `src/oauth2/callback.ts`), the linking rules
//! (`src/oauth2/link-account.ts`) and the stored tokens (`src/oauth2/utils.ts`).

use std::sync::Arc;

use actix_web::cookie::Cookie;
use chrono::{DateTime, Utc};
use hkdf::Hkdf;
use rand::Rng;
use secrecy::ExposeSecret;
use serde_json::{Map, Value};
use sha2::Sha256;

use super::session::create_session;
use super::users::{new_user, NewUser};
use crate::auth::cookies::RequestCookies;
use crate::auth::crypto::{generate_id, Signed, VersionedSecret};
use crate::auth::keyseal::{decrypt_value, encrypt_value};
use crate::auth::session::ClientInfo;
use crate::config::StateStrategy;
use crate::error::ApiError;
use crate::social::{AuthorizationRequest, Profile, Provider, Tokens};
use crate::state::AppState;
use crate::store::accounts::AccountTokens;
use crate::store::{Account, Session, User};

/// The state's lifetime: 10 minutes in the row and `expiresAt`; the signed cookie lives 300 s.
const STATE_TTL_MS: i64 = 600_000;
const STATE_COOKIE: &str = "state";
const OAUTH_STATE_COOKIE: &str = "oauth_state";

/// Better Auth's `generateRandomString`: `a-z 0-9 A-Z - _`, uniform.
pub fn random_string(len: usize) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-_";
    let mut rng = crate::auth::crypto::rng();
    (0..len)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect()
}

/// An error the OAuth routes answer in JSON.
pub fn oauth_error(status: u16, code: &'static str, message: &'static str) -> ApiError {
    ApiError::Custom {
        status: actix_web::http::StatusCode::from_u16(status)
            .unwrap_or(actix_web::http::StatusCode::BAD_REQUEST),
        code,
        message: message.into(),
    }
}

/// What a flow carries from its start to the callback, beside the verifier and nonce.
#[derive(Debug, Default)]
pub struct FlowStart {
    pub callback_url: Option<String>,
    pub error_callback_url: Option<String>,
    pub new_user_callback_url: Option<String>,
    pub request_sign_up: Option<bool>,
    pub additional_data: Option<Map<String, Value>>,
    /// The user linking an account: `(userId, email)`.
    pub link: Option<(String, String)>,
    /// The linking session's token, kept encrypted in the state so that the callback links
    /// only while that session lives.
    pub link_session: Option<String>,
}

/// What the browser is sent to, and the state cookie.
pub struct Started {
    pub url: String,
    pub cookies: Vec<Cookie<'static>>,
}

fn purpose_key(secret: &str, purpose: &str) -> String {
    let mut key = [0u8; 32];
    let hk = Hkdf::<Sha256>::new(Some(b"better-auth:oauth-encryption:v1"), secret.as_bytes());
    // 32 bytes is always a valid HKDF-SHA256 output length.
    let _ = hk.expand(format!("better-auth:{purpose}:v1").as_bytes(), &mut key);
    hex::encode(key)
}

/// Better Auth's `derivePurposeKey(secretConfig, purpose)`: each configured secret (every
/// version, and the legacy secret) derived for one purpose, current first.
fn purpose_secrets(state: &AppState, purpose: &str) -> Vec<VersionedSecret> {
    state
        .settings
        .secrets
        .iter()
        .map(|s| VersionedSecret {
            version: s.version,
            value: purpose_key(s.value.expose_secret(), purpose).into(),
        })
        .collect()
}

/// `symmetricEncrypt` under a purpose key: the `$ba$<version>$` envelope with versioned
/// secrets, bare hex otherwise, as Better Auth writes it.
fn purpose_seal(state: &AppState, purpose: &str, plaintext: &str) -> Option<String> {
    let secrets = purpose_secrets(state, purpose);
    encrypt_value(&secrets, state.settings.versioned_secrets, plaintext)
        .map_err(|e| tracing::error!(error = %e, purpose, "sealing failed"))
        .ok()
}

/// `symmetricDecrypt` under a purpose key, enveloped or bare.
fn purpose_open(state: &AppState, purpose: &str, sealed: &str) -> Option<String> {
    decrypt_value(&purpose_secrets(state, purpose), sealed)
}

const STATE_COOKIE_PURPOSE: &str = "oauth-state-cookie";
const LINK_SESSION_PURPOSE: &str = "oauth-link-session-token";

/// Creates the state (`generateState` + `generateGenericState`), stores it by the configured
/// strategy and builds the provider's authorization URL.
pub async fn start(
    state: &AppState,
    provider: &Provider,
    start: FlowStart,
    scopes: &[String],
    login_hint: Option<&str>,
    additional_params: &[(String, String)],
) -> Result<Started, ApiError> {
    let code_verifier = random_string(128);
    let nonce = provider.requires_nonce.then(|| random_string(32));
    let oauth_state = random_string(32);
    let now = state.clock.now();
    let mut data = start.additional_data.unwrap_or_default();
    let callback = start
        .callback_url
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| state.settings.base_origin.clone());
    data.insert("callbackURL".into(), Value::String(callback));
    data.insert("codeVerifier".into(), Value::String(code_verifier.clone()));
    let mut put = |k: &str, v: Option<Value>| match v {
        Some(v) => {
            data.insert(k.into(), v);
        }
        None => {
            data.shift_remove(k);
        }
    };
    put("errorURL", start.error_callback_url.map(Value::String));
    put("newUserURL", start.new_user_callback_url.map(Value::String));
    let sealed_session = start
        .link_session
        .and_then(|t| purpose_seal(state, LINK_SESSION_PURPOSE, &t));
    put(
        "link",
        start.link.map(|(user_id, email)| {
            let mut link = serde_json::json!({ "userId": user_id, "email": email });
            if let Some(sealed) = sealed_session {
                link["encryptedSessionToken"] = Value::String(sealed);
            }
            link
        }),
    );
    put("serverContext", None);
    put(
        "expiresAt",
        Some(Value::from(now.timestamp_millis() + STATE_TTL_MS)),
    );
    put("requestSignUp", start.request_sign_up.map(Value::Bool));
    put("idTokenNonce", nonce.clone().map(Value::String));
    put("oauthState", Some(Value::String(oauth_state.clone())));
    let json = Value::Object(data).to_string();
    let cookie = match state.settings.account.store_state_strategy {
        StateStrategy::Cookie => {
            let sealed = purpose_seal(state, STATE_COOKIE_PURPOSE, &json)
                .ok_or_else(|| anyhow::anyhow!("sealing the OAuth state failed"))?;
            state.cookies.plain(OAUTH_STATE_COOKIE, sealed, Some(600))
        }
        StateStrategy::Database => {
            let expires = now + chrono::Duration::milliseconds(STATE_TTL_MS);
            state
                .store
                .create_verification(&format!("auth-state:{oauth_state}"), &json, expires, now)
                .await?;
            let secret = state.settings.secret.expose_secret().as_bytes();
            state
                .cookies
                .signed(secret, STATE_COOKIE, &oauth_state, Some(300))
        }
    };
    let redirect_uri = callback_uri(state, &provider.id);
    let url = provider
        .authorization_url(&AuthorizationRequest {
            state: &oauth_state,
            code_verifier: &code_verifier,
            nonce: nonce.as_deref(),
            redirect_uri: &redirect_uri,
            scopes,
            login_hint,
            additional_params,
        })
        .ok_or_else(|| {
            anyhow::anyhow!("provider {} has no valid authorization URL", provider.id)
        })?;
    Ok(Started {
        url,
        cookies: vec![cookie],
    })
}

/// `<baseURL>/callback/<id>`.
pub fn callback_uri(state: &AppState, provider_id: &str) -> String {
    format!(
        "{}{}/callback/{provider_id}",
        state.settings.base_origin, state.settings.base_path
    )
}

/// `[on_api_error] error_url`, else `<baseURL>/error`: where failures go before the state is
/// read.
pub fn default_error_url(state: &AppState) -> String {
    if let Some(url) = &state.settings.on_api_error.error_url {
        return url.clone();
    }
    format!(
        "{}{}/error",
        state.settings.base_origin, state.settings.base_path
    )
}

/// Better Auth's `appendQueryParams`: `?` or `&`, then `error=...[&error_description=...]`.
pub fn error_redirect(base: &str, error: &str, description: Option<&str>) -> String {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    q.append_pair("error", error);
    if let Some(d) = description {
        q.append_pair("error_description", d);
    }
    let (path, fragment) = match base.split_once('#') {
        Some((p, f)) => (p, Some(f)),
        None => (base, None),
    };
    let sep = if path.contains('?') {
        if path.ends_with('?') || path.ends_with('&') {
            ""
        } else {
            "&"
        }
    } else {
        "?"
    };
    let mut out = format!("{path}{sep}{}", q.finish());
    if let Some(f) = fragment {
        out.push('#');
        out.push_str(f);
    }
    out
}

/// The state as parsed at the callback.
#[derive(Debug)]
pub struct StateData {
    pub callback_url: Option<String>,
    pub code_verifier: String,
    pub error_url: Option<String>,
    pub new_user_url: Option<String>,
    pub link: Option<(String, String)>,
    /// The linking session's token, encrypted.
    pub link_session: Option<String>,
    pub request_sign_up: bool,
    pub id_token_nonce: Option<String>,
}

/// Why the state was refused: the `error=` code, and the flow's own error URL when the state
/// could be read.
#[derive(Debug)]
pub struct StateFailure {
    pub code: &'static str,
    pub error_url: Option<String>,
}

fn parse_data(value: &str) -> Option<(Map<String, Value>, StateData)> {
    let Value::Object(m) = serde_json::from_str::<Value>(value).ok()? else {
        return None;
    };
    let s = |k: &str| m.get(k).and_then(Value::as_str).map(str::to_owned);
    m.get("expiresAt")?.as_f64()?;
    let link = match m.get("link") {
        Some(Value::Object(l)) => Some((
            match l.get("userId")? {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            },
            l.get("email")?.as_str()?.to_owned(),
        )),
        _ => None,
    };
    let data = StateData {
        callback_url: s("callbackURL"),
        code_verifier: s("codeVerifier")?,
        error_url: s("errorURL"),
        new_user_url: s("newUserURL"),
        link,
        link_session: m
            .get("link")
            .and_then(|l| l.get("encryptedSessionToken"))
            .and_then(Value::as_str)
            .map(str::to_owned),
        request_sign_up: m.get("requestSignUp") == Some(&Value::Bool(true)),
        id_token_nonce: s("idTokenNonce"),
    };
    Some((m, data))
}

/// Reads and consumes the state (`parseGenericState`): the cookies to send either way (the
/// state cookie expired), the data or the failure.
pub async fn parse_state(
    state: &AppState,
    jar: &RequestCookies,
    oauth_state: &str,
) -> (Vec<Cookie<'static>>, Result<StateData, StateFailure>) {
    let now_ms = state.clock.now().timestamp_millis();
    let fail = |code, error_url| Err(StateFailure { code, error_url });
    let (raw, data, cookies) = match state.settings.account.store_state_strategy {
        StateStrategy::Cookie => {
            let name = state.cookies.name(OAUTH_STATE_COOKIE);
            let Some(sealed) = jar.get(&name) else {
                return (Vec::new(), fail("state_mismatch", None));
            };
            let opened =
                purpose_open(state, STATE_COOKIE_PURPOSE, sealed).and_then(|s| parse_data(&s));
            let Some((raw, data)) = opened else {
                return (Vec::new(), fail("state_invalid", None));
            };
            if raw.get("oauthState").and_then(Value::as_str) != Some(oauth_state) {
                return (Vec::new(), fail("state_mismatch", data.error_url));
            }
            (raw, data, vec![state.cookies.removal(&name)])
        }
        StateStrategy::Database => {
            let identifier = format!("auth-state:{oauth_state}");
            let found = match state
                .store
                .find_verification(&identifier, state.clock.now())
                .await
            {
                Ok(found) => found,
                Err(e) => {
                    tracing::error!(error = %e, "reading the OAuth state failed");
                    return (Vec::new(), fail("internal_server_error", None));
                }
            };
            let Some(row) = found else {
                return (Vec::new(), fail("state_mismatch", None));
            };
            let Some((raw, data)) = parse_data(&row.value) else {
                return (Vec::new(), fail("internal_server_error", None));
            };
            if raw
                .get("oauthState")
                .is_some_and(|s| s.as_str() != Some(oauth_state))
            {
                return (Vec::new(), fail("state_mismatch", data.error_url));
            }
            let name = state.cookies.name(STATE_COOKIE);
            let secret = state.settings.secret.expose_secret().as_bytes();
            let cookie_ok =
                matches!(jar.signed(secret, &name), Signed::Valid(v) if v == oauth_state);
            if !cookie_ok && !state.settings.account.skip_state_cookie_check {
                return (Vec::new(), fail("state_mismatch", data.error_url));
            }
            if let Err(e) = state
                .store
                .consume_verification(&identifier, state.clock.now())
                .await
            {
                tracing::warn!(error = %e, "deleting the OAuth state failed");
            }
            (raw, data, vec![state.cookies.removal(&name)])
        }
    };
    let expires = raw.get("expiresAt").and_then(Value::as_f64).unwrap_or(0.0);
    if (expires as i64) < now_ms {
        return (cookies, fail("state_mismatch", data.error_url));
    }
    (cookies, Ok(data))
}

/// Better Auth's `setTokenUtil`: encrypted when `account.encrypt_oauth_tokens`, under the
/// current secret, in the `$ba$<version>$` envelope when secrets are versioned.
pub fn seal_token(state: &AppState, token: Option<&str>) -> Option<String> {
    let token = token?;
    let s = &state.settings;
    if !s.account.encrypt_oauth_tokens || token.is_empty() {
        return Some(token.to_owned());
    }
    match encrypt_value(&s.secrets, s.versioned_secrets, token) {
        Ok(sealed) => Some(sealed),
        Err(e) => {
            tracing::error!(error = %e, "encrypting a provider token failed");
            None
        }
    }
}

/// Better Auth's `decryptOAuthToken`: a token that looks neither enveloped (`$ba$`) nor hex is
/// returned as is; otherwise every configured secret is tried, the envelope's version first.
pub fn open_token(state: &AppState, token: Option<&str>) -> Option<String> {
    let token = token?;
    if !state.settings.account.encrypt_oauth_tokens {
        return Some(token.to_owned());
    }
    let looks_sealed = token.starts_with("$ba$")
        || (token.len() % 2 == 0 && token.bytes().all(|b| b.is_ascii_hexdigit()));
    if !looks_sealed {
        return Some(token.to_owned());
    }
    decrypt_value(&state.settings.secrets, token)
}

/// The tokens as the account row keeps them.
pub fn stored_tokens(state: &AppState, t: &Tokens, with_scope: bool) -> AccountTokens {
    AccountTokens {
        access_token: seal_token(state, t.access_token.as_deref()),
        refresh_token: seal_token(state, t.refresh_token.as_deref()),
        id_token: t.id_token.clone(),
        access_token_expires_at: t.access_token_expires_at,
        refresh_token_expires_at: t.refresh_token_expires_at,
        scope: (with_scope && !t.scopes.is_empty()).then(|| t.scopes.join(",")),
    }
}

/// The outcome of a sign-in through a provider (`handleOAuthUserInfo`).
pub enum SignInOutcome {
    SignedIn {
        user: Box<User>,
        session: Box<Session>,
        is_register: bool,
    },
    /// Better Auth's outcome text: `account not linked`, `signup disabled`, ...
    Refused(&'static str),
}

/// Finds or creates the user for this provider identity, links or updates the account, and
/// creates the session. An `Err` is a refusal of the session (a banned user) or a failure.
pub async fn sign_in_user(
    state: &AppState,
    provider: &Provider,
    profile: &Profile,
    email: &str,
    tokens: &Tokens,
    disable_sign_up: bool,
    client: &ClientInfo,
) -> Result<SignInOutcome, ApiError> {
    let now = state.clock.now();
    let email = email.to_lowercase();
    let linking = &state.settings.account.account_linking;
    let owned = state
        .store
        .find_account_with_user_by_key(&provider.id, &profile.account_id)
        .await?;
    let (mut user, is_register) = match owned {
        Some((account, user)) => {
            let Some(user) = user else {
                tracing::error!("OAuth account references a missing user");
                return Ok(SignInOutcome::Refused("unable to link account"));
            };
            if state.settings.account.update_account_on_sign_in {
                let t = stored_tokens(state, tokens, false);
                state
                    .store
                    .update_account_tokens(&account.id, &t, false, now)
                    .await?;
            }
            (user, false)
        }
        None => match state.store.find_user_by_email(&email).await? {
            Some(user) => {
                let trusted = linking.trusted_providers.iter().any(|p| p == &provider.id);
                if (!trusted && !profile.email_verified)
                    || (linking.require_local_email_verified && !user.email_verified)
                    || !linking.enabled
                    || linking.disable_implicit_linking
                {
                    return Ok(SignInOutcome::Refused("account not linked"));
                }
                let account = provider_account(&provider.id, &profile.account_id, &user.id, now);
                let t = stored_tokens(state, tokens, true);
                if let Err(e) = state
                    .store
                    .insert_account_with_tokens(state.store.connection(), &account, &t)
                    .await
                {
                    tracing::error!(error = %e, "linking the account failed");
                    return Ok(SignInOutcome::Refused("unable to link account"));
                }
                let mut user = user;
                if profile.email_verified && !user.email_verified && email == user.email {
                    if let Some(u) = state
                        .store
                        .update_user_email(&user.id, None, true, now)
                        .await?
                    {
                        user = u;
                    }
                }
                if linking.update_user_info_on_link {
                    user = update_profile(state, &user, profile, None).await?;
                }
                (user, false)
            }
            None => {
                if disable_sign_up {
                    return Ok(SignInOutcome::Refused("signup disabled"));
                }
                let new = new_user(
                    state,
                    NewUser {
                        name: profile.name.clone(),
                        email: email.clone(),
                        email_verified: profile.email_verified,
                        image: profile.image.clone(),
                        input: Map::new(),
                    },
                )
                .await?;
                let account = provider_account(&provider.id, &profile.account_id, &new.id, now);
                let t = stored_tokens(state, tokens, true);
                if let Err(e) = state
                    .store
                    .create_user_with_provider_account(&new, &account, &t)
                    .await
                {
                    tracing::error!(error = %e, "creating the OAuth user failed");
                    return Ok(SignInOutcome::Refused("unable to create user"));
                }
                (new, true)
            }
        },
    };
    if !is_register && provider.override_user_info {
        let verified = if email == user.email {
            user.email_verified || profile.email_verified
        } else {
            profile.email_verified
        };
        user = update_profile(state, &user, profile, Some((&email, verified))).await?;
    }
    if is_register
        && !user.email_verified
        && state
            .settings
            .email_verification
            .send_on_sign_up
            .unwrap_or(provider.require_email_verification)
    {
        let mail = super::mail::verify_email_mail(state, &user, None);
        state.mailer.send(mail).await;
    }
    if provider.require_email_verification && !user.email_verified {
        return Ok(SignInOutcome::Refused("email_not_verified"));
    }
    let session = create_session(state, &user.id, client, false).await?;
    Ok(SignInOutcome::SignedIn {
        user: Box::new(user),
        session: Box::new(session),
        is_register,
    })
}

fn provider_account(
    provider_id: &str,
    account_id: &str,
    user_id: &str,
    now: DateTime<Utc>,
) -> Account {
    Account {
        id: generate_id(),
        account_id: account_id.to_owned(),
        provider_id: provider_id.to_owned(),
        user_id: user_id.to_owned(),
        password: None,
        scope: None,
        created_at: now,
        updated_at: now,
    }
}

/// Name and image from the provider; with `email`, also the email and its verification.
async fn update_profile(
    state: &AppState,
    user: &User,
    profile: &Profile,
    email: Option<(&str, bool)>,
) -> Result<User, ApiError> {
    let update = crate::store::users::UserUpdate {
        name: Some(profile.name.clone()),
        image: profile.image.clone().map(Some),
        extra: Map::new(),
    };
    let now = state.clock.now();
    let mut updated = state
        .store
        .update_user(&user.id, &update, now)
        .await?
        .unwrap_or_else(|| user.clone());
    if let Some((email, verified)) = email {
        if let Ok(Some(u)) = state
            .store
            .update_user_email(&user.id, Some(email), verified, now)
            .await
        {
            updated = u;
        }
    }
    Ok(updated)
}

/// Why a link through a provider failed: the callback's `error=` code.
pub type LinkFailure = &'static str;

/// Links the provider identity to the user of the flow (`linkOAuthAccount`).
pub async fn link_account(
    state: &AppState,
    provider: &Provider,
    profile: &Profile,
    tokens: &Tokens,
    user_id: &str,
    user_email: &str,
) -> Result<Result<(), LinkFailure>, ApiError> {
    let linking = &state.settings.account.account_linking;
    let trusted = linking.trusted_providers.iter().any(|p| p == &provider.id);
    if (!trusted && !profile.email_verified) || !linking.enabled {
        return Ok(Err("unable_to_link_account"));
    }
    let same_email = profile
        .email
        .as_deref()
        .is_some_and(|e| e.to_lowercase() == user_email.to_lowercase());
    if !same_email && !linking.allow_different_emails {
        return Ok(Err("email_does_not_match"));
    }
    let now = state.clock.now();
    match state
        .store
        .find_account_by_key(&provider.id, &profile.account_id)
        .await?
    {
        Some(existing) if existing.user_id != user_id => {
            return Ok(Err("account_already_linked_to_different_user"))
        }
        Some(existing) => {
            let mut t = stored_tokens(state, tokens, false);
            t.scope = Some(merge_scopes(existing.scope.as_deref(), &tokens.scopes))
                .filter(|s| !s.is_empty());
            state
                .store
                .set_account_tokens(state.store.connection(), &existing.id, &t, true, now)
                .await?;
        }
        None => {
            let account = provider_account(&provider.id, &profile.account_id, user_id, now);
            let t = stored_tokens(state, tokens, true);
            if state
                .store
                .insert_account_with_tokens(state.store.connection(), &account, &t)
                .await
                .is_err()
            {
                return Ok(Err("unable_to_link_account"));
            }
        }
    }
    if linking.update_user_info_on_link {
        if let Some(user) = state.store.find_user_by_id(user_id).await? {
            update_profile(state, &user, profile, None).await?;
        }
    }
    Ok(Ok(()))
}

/// Better Auth's `mergeScopes`: stored then new, each once, comma-joined.
pub fn merge_scopes(stored: Option<&str>, incoming: &[String]) -> String {
    let mut out: Vec<String> = Vec::new();
    let stored = stored.unwrap_or_default().split(',').map(str::trim);
    for s in stored.chain(incoming.iter().map(|s| s.trim())) {
        if !s.is_empty() && !out.iter().any(|o| o == s) {
            out.push(s.to_owned());
        }
    }
    out.join(",")
}

/// The provider of an id, as the routes need it.
pub fn provider(state: &AppState, id: &str) -> Option<Arc<Provider>> {
    state.social.get(id)
}

/// Link-social with an ID token (`linkSocialAccount`'s `idToken` branch).
pub async fn link_id_token(
    state: &AppState,
    provider: &Provider,
    profile: &Profile,
    tokens: &Tokens,
    user: &User,
) -> Result<(), ApiError> {
    let now = state.clock.now();
    let linking = &state.settings.account.account_linking;
    let t = stored_tokens(state, tokens, false);
    match state
        .store
        .find_account_by_key(&provider.id, &profile.account_id)
        .await?
    {
        Some(existing) if existing.user_id == user.id => {
            state
                .store
                .set_account_tokens(state.store.connection(), &existing.id, &t, false, now)
                .await?;
        }
        Some(_) => {
            return Err(oauth_error(
                409,
                "SOCIAL_ACCOUNT_ALREADY_LINKED",
                "Social account already linked",
            ))
        }
        None => {
            let trusted = linking.trusted_providers.iter().any(|p| p == &provider.id);
            if (!trusted && !profile.email_verified) || !linking.enabled {
                return Err(oauth_error(
                    401,
                    "LINKING_NOT_ALLOWED",
                    "Account not linked - linking not allowed",
                ));
            }
            let same = profile
                .email
                .as_deref()
                .is_some_and(|e| e.to_lowercase() == user.email.to_lowercase());
            if !same && !linking.allow_different_emails {
                return Err(oauth_error(
                    401,
                    "LINKING_DIFFERENT_EMAILS_NOT_ALLOWED",
                    "Account not linked - different emails not allowed",
                ));
            }
            let account = provider_account(&provider.id, &profile.account_id, &user.id, now);
            if state
                .store
                .insert_account_with_tokens(state.store.connection(), &account, &t)
                .await
                .is_err()
            {
                return Err(oauth_error(
                    417,
                    "LINKING_FAILED",
                    "Account not linked - unable to create account",
                ));
            }
        }
    }
    if linking.update_user_info_on_link {
        update_profile(state, user, profile, None).await?;
    }
    Ok(())
}

/// Whether the session that started a link still lives (`isLinkSessionLive`); a state
/// without the session's token is not checked.
pub async fn link_session_live(state: &AppState, sealed: Option<&str>, user_id: &str) -> bool {
    let Some(sealed) = sealed else {
        return true;
    };
    let Some(token) = purpose_open(state, LINK_SESSION_PURPOSE, sealed) else {
        return false;
    };
    match state.store.find_session_with_user(&token).await {
        Ok(Some((s, _))) => s.user_id == user_id && s.expires_at > state.clock.now(),
        _ => false,
    }
}

/// Better Auth's `getValidAccessToken`: refreshed first when it expires within 5 s.
pub async fn valid_access_token(
    state: &AppState,
    provider: &Provider,
    account: &Account,
    stored: &AccountTokens,
) -> Result<
    (
        Option<String>,
        Option<chrono::DateTime<chrono::Utc>>,
        Option<String>,
    ),
    ApiError,
> {
    let failed = || {
        oauth_error(
            400,
            "FAILED_TO_GET_ACCESS_TOKEN",
            "Failed to get a valid access token",
        )
    };
    let now = state.clock.now();
    let expired = stored
        .access_token_expires_at
        .is_some_and(|at| (at - now).num_milliseconds() < 5_000);
    if let (Some(refresh), true) = (stored.refresh_token.as_deref(), expired) {
        let refresh = open_token(state, Some(refresh)).ok_or_else(failed)?;
        let new = provider
            .refresh(&state.provider_http, &refresh, now)
            .await
            .map_err(|e| {
                tracing::warn!(provider = %provider.id, error = %e, "token refresh failed");
                failed()
            })?;
        let update = AccountTokens {
            access_token: seal_token(state, new.access_token.as_deref()),
            refresh_token: seal_token(state, new.refresh_token.as_deref()),
            id_token: new.id_token.clone(),
            access_token_expires_at: new.access_token_expires_at,
            refresh_token_expires_at: new.refresh_token_expires_at,
            scope: None,
        };
        state
            .store
            .set_account_tokens(state.store.connection(), &account.id, &update, false, now)
            .await?;
        return Ok((
            new.access_token,
            new.access_token_expires_at
                .or(stored.access_token_expires_at),
            new.id_token.or(stored.id_token.clone()),
        ));
    }
    let access =
        open_token(state, Some(stored.access_token.as_deref().unwrap_or(""))).ok_or_else(failed)?;
    Ok((
        Some(access),
        stored.access_token_expires_at,
        stored.id_token.clone(),
    ))
}
