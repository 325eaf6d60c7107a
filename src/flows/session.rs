//! Sessions: creating one and its cookies, and resolving the caller's (docs/compatibility.md §8.4;
//! Better Auth's `api/routes/session.ts` `getSession`, `cookies/index.ts`).

use actix_web::cookie::Cookie;
use actix_web::http::StatusCode;
use secrecy::ExposeSecret;
use serde_json::{Map, Value};

use crate::auth::cookie_cache;
use crate::auth::cookies::{RequestCookies, DONT_REMEMBER, SESSION_DATA, SESSION_TOKEN};
use crate::auth::crypto::{generate_id, random_alphanumeric, Signed};
use crate::auth::session::ClientInfo;
use crate::auth::session::{new_expiry, refresh_due};
use crate::error::{ApiError, ErrorCode};
use crate::state::AppState;
use crate::store::json::{session_from_json, session_json, user_from_json, user_json};
use crate::store::{Session, User};

/// A new session for the user, not yet stored (docs/compatibility.md §8.2), as the plugins'
/// `before_session_create` hooks leave it (they may refuse it).
pub async fn new_session(
    state: &AppState,
    user_id: &str,
    client: &ClientInfo,
    dont_remember: bool,
) -> Result<Session, ApiError> {
    let now = state.clock.now();
    let mut session = Session {
        id: generate_id(),
        token: random_alphanumeric(32),
        user_id: user_id.to_owned(),
        expires_at: new_expiry(now, state.settings.session.expires_in, dont_remember),
        created_at: now,
        updated_at: now,
        ip_address: Some(client.ip.clone().unwrap_or_default()),
        user_agent: Some(client.user_agent.clone()),
        // The plugins' columns start at their defaults.
        extra: state
            .store
            .session_fields()
            .iter()
            .map(|(name, def)| (name.clone(), def.default.clone().unwrap_or(Value::Null)))
            .collect(),
    };
    for plugin in state.plugins.iter() {
        plugin.before_session_create(state, &mut session).await?;
    }
    Ok(session)
}

/// Creates and stores a session for the user (docs/compatibility.md §8.2).
pub async fn create_session(
    state: &AppState,
    user_id: &str,
    client: &ClientInfo,
    dont_remember: bool,
) -> Result<Session, ApiError> {
    let session = new_session(state, user_id, client, dont_remember).await?;
    state.store.store_session(&session).await?;
    Ok(session)
}

/// A new session in place of `old`, after a change the session must show (two-factor turned
/// on or off): stored with `old`'s client details and plugin columns, `old` deleted, and the
/// cookies that carry it (Better Auth's `createSession(userId, false, oldSession)`,
/// `setSessionCookie`, `deleteSession(old.token)`).
pub async fn replace_session(
    state: &AppState,
    old: &Session,
    user: &User,
    dont_remember: bool,
) -> Result<(Session, Vec<Cookie<'static>>), ApiError> {
    let client = ClientInfo {
        ip: old.ip_address.clone(),
        user_agent: old.user_agent.clone().unwrap_or_default(),
    };
    let mut session = new_session(state, &user.id, &client, false).await?;
    for (name, value) in &old.extra {
        session.extra.insert(name.clone(), value.clone());
    }
    state.store.store_session(&session).await?;
    state.store.delete_session(&old.token).await?;
    let cookies = session_cookies(state, &session, user, dont_remember);
    Ok((session, cookies))
}

#[derive(Debug, Clone, Copy, Default)]
pub struct Lookup {
    /// Skip the cookie cache (query `disableCookieCache`, or a sensitive route).
    pub disable_cache: bool,
    /// Never extend or rewrite (query `disableRefresh`).
    pub disable_refresh: bool,
}

/// What resolving the session found, and which cookies the response must carry.
pub struct Resolved {
    pub found: Option<(Session, User)>,
    pub cookies: Vec<Cookie<'static>>,
    /// The request carries a valid `dont_remember` cookie.
    pub dont_remember: bool,
}

/// The cookies written whenever a session is (re)issued: token, `dont_remember`, cache.
pub fn session_cookies(
    state: &AppState,
    session: &Session,
    user: &User,
    dont_remember: bool,
) -> Vec<Cookie<'static>> {
    let secret = state.settings.secret.expose_secret().as_bytes();
    let mut out = vec![state
        .cookies
        .session_token(secret, &session.token, dont_remember)];
    if dont_remember {
        out.push(state.cookies.dont_remember(secret));
    }
    out.extend(cache_cookie(state, session, user, dont_remember));
    out
}

fn cache_cookie(
    state: &AppState,
    session: &Session,
    user: &User,
    dont_remember: bool,
) -> Option<Cookie<'static>> {
    let cache = &state.settings.session.cookie_cache;
    if !cache.enabled {
        return None;
    }
    let now_ms = state.clock.now().timestamp_millis();
    let mut payload = Map::new();
    payload.insert("session".into(), session_json(session));
    payload.insert("user".into(), user_json(user, state.store.user_fields()));
    payload.insert("updatedAt".into(), Value::from(now_ms));
    payload.insert("version".into(), Value::String(cache.version.clone()));
    // Better Auth's quirk: without Max-Age the embedded lifetime is 60 s for compact, 300 s else.
    let lifetime = match (dont_remember, cache.strategy) {
        (false, _) => cache.max_age,
        (true, cookie_cache::CacheStrategy::Compact) => 60,
        (true, _) => 300,
    };
    let secret = state.settings.secret.expose_secret().as_bytes();
    let Some(value) = cookie_cache::encode(cache.strategy, secret, payload, now_ms, lifetime)
    else {
        tracing::error!("could not encode the session cookie cache");
        return None;
    };
    Some(state.cookies.session_data(value, dont_remember))
}

/// The cached `{session, user}` if the cache cookie passes every rule of
/// docs/compatibility.md §7.6.
fn read_cache(
    state: &AppState,
    jar: &RequestCookies,
    token: &str,
) -> Result<Option<(Session, User)>, ()> {
    let cache = &state.settings.session.cookie_cache;
    let Some(raw) = jar.chunked(&state.cookies.name(SESSION_DATA)) else {
        return Ok(None);
    };
    let secrets: Vec<&[u8]> = std::iter::once(&state.settings.secret)
        .chain(state.settings.secrets.iter().map(|s| &s.value))
        .map(|s| s.expose_secret().as_bytes())
        .collect();
    let decoded = cookie_cache::decode(cache.strategy, &secrets, &raw).ok_or(())?;
    let now = state.clock.now();
    let p = &decoded.payload;
    let version = p.get("version").and_then(Value::as_str).unwrap_or("1");
    let session = p.get("session").and_then(session_from_json).ok_or(())?;
    let user = p
        .get("user")
        .and_then(|u| user_from_json(u, state.store.user_fields()))
        .ok_or(())?;
    let valid = session.token == token
        && version == cache.version
        && p.get("updatedAt").is_some_and(Value::is_number)
        && decoded.expires_at_ms > now.timestamp_millis()
        && session.expires_at > now;
    if valid {
        Ok(Some((session, user)))
    } else {
        Err(())
    }
}

/// Better Auth's `setSessionCookie` with `dontRememberMe` false: a valid `dont_remember` cookie
/// the browser still holds from an earlier session is expired (`cookies/index.ts`). For the
/// sign-ins that decide "remember me" from their body (sign-in, sign-up).
pub fn forget_dont_remember(
    state: &AppState,
    jar: &RequestCookies,
    dont_remember: bool,
) -> Option<Cookie<'static>> {
    (!dont_remember && self::dont_remember(state, jar))
        .then(|| state.cookies.removal(&state.cookies.name(DONT_REMEMBER)))
}

/// Whether the request carries a valid signed `dont_remember` cookie (docs/compatibility.md §6.4).
fn dont_remember(state: &AppState, jar: &RequestCookies) -> bool {
    let secret = state.settings.secret.expose_secret().as_bytes();
    matches!(
        jar.signed(secret, &state.cookies.name(DONT_REMEMBER)),
        Signed::Valid(_)
    )
}

/// Resolves the caller's session (docs/compatibility.md §8.4), deciding refreshes and cookie
/// changes; the plugins' session hooks may then refuse it.
pub async fn resolve(
    state: &AppState,
    jar: &RequestCookies,
    lookup: Lookup,
) -> Result<Resolved, ApiError> {
    let resolved = find(state, jar, lookup).await?;
    if let (true, Some((session, user))) = (state.plugins.has_session_hooks(), &resolved.found) {
        for plugin in state.plugins.iter() {
            if let Err(e) = plugin.on_session(state, session, user).await {
                return Err(e.with_cookies(resolved.cookies));
            }
        }
    }
    Ok(resolved)
}

async fn find(
    state: &AppState,
    jar: &RequestCookies,
    lookup: Lookup,
) -> Result<Resolved, ApiError> {
    let secret = state.settings.secret.expose_secret().as_bytes();
    let Signed::Valid(token) = jar.signed(secret, &state.cookies.name(SESSION_TOKEN)) else {
        return Ok(Resolved {
            found: None,
            cookies: Vec::new(),
            dont_remember: false,
        });
    };
    let mut cookies = Vec::new();
    let dont_remember = dont_remember(state, jar);

    if state.settings.session.cookie_cache.enabled {
        match read_cache(state, jar, token) {
            Ok(Some(found)) if !lookup.disable_cache => {
                return Ok(Resolved {
                    found: Some(found),
                    cookies,
                    dont_remember,
                })
            }
            Ok(_) => {}
            Err(()) => cookies.push(state.cookies.removal(&state.cookies.name(SESSION_DATA))),
        }
    }

    let now = state.clock.now();
    let found = state.store.find_session_with_user(token).await?;
    let Some((mut session, user)) = found.filter(|(s, _)| s.expires_at > now) else {
        if let Err(e) = state.store.delete_session(token).await {
            tracing::warn!(error = %e, "could not delete an expired session");
        }
        cookies.extend(state.cookies.clear_session(jar));
        return Ok(Resolved {
            found: None,
            cookies,
            dont_remember,
        });
    };
    if dont_remember || lookup.disable_refresh {
        return Ok(Resolved {
            found: Some((session, user)),
            cookies,
            dont_remember,
        });
    }
    let s = &state.settings.session;
    if !s.disable_session_refresh
        && refresh_due(session.expires_at, now, s.expires_in, s.update_age)
    {
        let expires_at = new_expiry(now, s.expires_in, false);
        if state.store.refresh_session(token, expires_at, now).await? == 0 {
            cookies.extend(state.cookies.clear_session(jar));
            let e = ApiError::with_status(ErrorCode::FailedToGetSession, StatusCode::UNAUTHORIZED);
            return Err(e.with_cookies(cookies));
        }
        session.expires_at = expires_at;
        session.updated_at = now;
        cookies.extend(session_cookies(state, &session, &user, false));
    } else {
        cookies.extend(cache_cookie(state, &session, &user, false));
    }
    Ok(Resolved {
        found: Some((session, user)),
        cookies: last_per_name(cookies),
        dont_remember,
    })
}

/// One `Set-Cookie` per name: a cookie rewritten after being expired is sent once, rewritten.
pub fn last_per_name(cookies: Vec<Cookie<'static>>) -> Vec<Cookie<'static>> {
    let mut out: Vec<Cookie<'static>> = Vec::with_capacity(cookies.len());
    for c in cookies {
        out.retain(|o| o.name() != c.name());
        out.push(c);
    }
    out
}
