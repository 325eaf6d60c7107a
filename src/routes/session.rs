//! `GET /get-session` and the session resolution every protected route shares
//! (`spec/sessions.md` §4).

use actix_web::cookie::Cookie;
use actix_web::http::header::{self, ContentType, HeaderName, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use secrecy::ExposeSecret;
use serde_json::{Map, Value};

use super::bearer::expose_header;
use crate::auth::cookie_cache;
use crate::auth::cookies::{RequestCookies, DONT_REMEMBER, SESSION_DATA, SESSION_TOKEN};
use crate::auth::crypto::Signed;
use crate::auth::session::{is_fresh, new_expiry, refresh_due};
use crate::error::{ApiError, ErrorCode};
use crate::startup::AppState;
use crate::store::json::{session_from_json, session_json, user_from_json, user_json};
use crate::store::{Session, User};

pub const SET_AUTH_JWT: HeaderName = HeaderName::from_static("set-auth-jwt");

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

pub fn request_cookies(req: &HttpRequest) -> RequestCookies {
    RequestCookies::parse(
        req.headers()
            .get_all(header::COOKIE)
            .filter_map(|v| v.to_str().ok()),
    )
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
        (true, crate::config::CacheStrategy::Compact) => 60,
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

/// The cached `{session, user}` if the cache cookie passes every rule of cookies.md §5.4.
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

/// Whether the request carries a valid signed `dont_remember` cookie (cookies.md §4).
fn dont_remember(state: &AppState, jar: &RequestCookies) -> bool {
    let secret = state.settings.secret.expose_secret().as_bytes();
    matches!(
        jar.signed(secret, &state.cookies.name(DONT_REMEMBER)),
        Signed::Valid(_)
    )
}

/// Resolves the caller's session (sessions.md §4), deciding refreshes and cookie changes.
pub async fn resolve(
    state: &AppState,
    req: &HttpRequest,
    lookup: Lookup,
) -> Result<Resolved, ApiError> {
    let jar = request_cookies(req);
    let secret = state.settings.secret.expose_secret().as_bytes();
    let Signed::Valid(token) = jar.signed(secret, &state.cookies.name(SESSION_TOKEN)) else {
        return Ok(Resolved {
            found: None,
            cookies: Vec::new(),
            dont_remember: false,
        });
    };
    let mut cookies = Vec::new();
    let dont_remember = dont_remember(state, &jar);

    if state.settings.session.cookie_cache.enabled {
        match read_cache(state, &jar, token) {
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
        let _ = state.store.delete_session(token).await;
        cookies.extend(state.cookies.clear_session(&jar));
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
            cookies.extend(state.cookies.clear_session(&jar));
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

/// What a protected route asks of the caller's session (endpoints.md §0.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Any valid session; the cookie cache may answer.
    Session,
    /// Re-read from the database, never the cookie cache, so a revoked session cannot act.
    Sensitive,
    /// A session created less than `session.fresh_age` seconds ago.
    Fresh,
}

/// The caller's session on a protected route, with the cookies that resolving it queued (a
/// refresh may re-issue them): every response, errors included, carries them.
pub struct Current {
    pub session: Session,
    pub user: User,
    /// The request's `dont_remember` flag: re-issued cookies keep the browser-session lifetime.
    pub dont_remember: bool,
    pub jar: RequestCookies,
    /// Cookies queued while resolving the session; every response must carry them.
    pub cookies: Vec<Cookie<'static>>,
}

impl Current {
    /// Resolves the session the way Better Auth's session middlewares do: the full get-session
    /// procedure (query flags included), 401 `UNAUTHORIZED` without one, 403
    /// `SESSION_NOT_FRESH` when a fresh one is needed and it is older than `fresh_age`.
    pub async fn require(
        state: &AppState,
        req: &HttpRequest,
        need: Need,
    ) -> Result<Self, ApiError> {
        let lookup = Lookup {
            disable_cache: need == Need::Sensitive || flag(req, "disableCookieCache"),
            disable_refresh: flag(req, "disableRefresh"),
        };
        let resolved = match resolve(state, req, lookup).await {
            Ok(r) => r,
            // Better Auth's middleware turns a failed lookup into "no session".
            Err(e @ (ApiError::Internal(_) | ApiError::Unavailable(_))) => return Err(e),
            Err(_) => return Err(ErrorCode::Unauthorized.into()),
        };
        let Some((session, user)) = resolved.found else {
            return Err(ApiError::from(ErrorCode::Unauthorized).with_cookies(resolved.cookies));
        };
        let jar = request_cookies(req);
        let current = Self {
            session,
            user,
            dont_remember: resolved.dont_remember,
            jar,
            cookies: resolved.cookies,
        };
        let s = &state.settings.session;
        if need == Need::Fresh
            && !is_fresh(current.session.created_at, state.clock.now(), s.fresh_age)
        {
            return Err(current.fail(ErrorCode::SessionNotFresh));
        }
        Ok(current)
    }

    /// An error response that still carries the queued cookies (errors.md §1).
    pub fn fail(&self, e: impl Into<ApiError>) -> ApiError {
        e.into().with_cookies(self.cookies.clone())
    }

    /// A 200 JSON response with the queued cookies, then `more` (a later cookie of the same
    /// name wins).
    pub fn respond(self, more: Vec<Cookie<'static>>, body: &Value) -> HttpResponse {
        let mut res = HttpResponse::Ok();
        let mut cookies = self.cookies;
        cookies.extend(more);
        for c in last_per_name(cookies) {
            res.cookie(c);
        }
        res.json(body)
    }
}

/// `disableCookieCache=<anything non-empty>` is true, as JavaScript coerces it (§2.1).
fn flag(req: &HttpRequest, name: &str) -> bool {
    super::extract::query_pairs(req)
        .iter()
        .any(|(k, v)| k == name && !v.is_empty())
}

#[tracing::instrument(name = "get_session", skip_all)]
pub async fn get_session(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let lookup = Lookup {
        disable_cache: flag(&req, "disableCookieCache"),
        disable_refresh: flag(&req, "disableRefresh"),
    };
    let resolved = resolve(&state, &req, lookup).await?;
    let mut res = HttpResponse::Ok();
    res.insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .insert_header((header::PRAGMA, HeaderValue::from_static("no-cache")));
    for c in resolved.cookies {
        res.cookie(c);
    }
    let Some((session, user)) = &resolved.found else {
        return Ok(res.json(Value::Null));
    };
    // The user's JSON serves the body, then the claims of the JWT plugin's after-hook
    // (jwt-jwks.md §1.3).
    let mut body = Map::new();
    body.insert("session".into(), session_json(session));
    body.insert("user".into(), user_json(user, state.store.user_fields()));
    let bytes = serde_json::to_vec(&body).map_err(|e| ApiError::Internal(e.into()))?;
    let jwt = match (&state.jwt, body.remove("user")) {
        (Some(_), Some(user)) => Some(super::jwt::mint_for(&state, user).await?),
        _ => None,
    };
    let mut res = res.content_type(ContentType::json()).body(bytes);
    if let Some(jwt) = jwt {
        let value = HeaderValue::from_str(&jwt).map_err(|e| ApiError::Internal(e.into()))?;
        res.headers_mut().insert(SET_AUTH_JWT, value);
        expose_header(res.headers_mut(), SET_AUTH_JWT.as_str());
    }
    Ok(res)
}

/// `GET /api/validate-session`, outside the base path: for backends that forward their caller's
/// `Cookie` or `Authorization: Bearer` header. The session is read as get-session reads it but
/// never refreshed (the answer goes to a backend, not to the browser): 200 `{session, user}`,
/// else 401.
#[tracing::instrument(name = "validate_session", skip_all)]
pub async fn validate_session(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let lookup = Lookup {
        disable_refresh: true,
        ..Lookup::default()
    };
    let Some((session, user)) = resolve(&state, &req, lookup).await?.found else {
        return Err(ErrorCode::Unauthorized.into());
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .json(serde_json::json!({ "session": session_json(&session), "user": user_json(&user, state.store.user_fields()) })))
}

/// `POST /get-session` exists only with `deferSessionRefresh`, which we do not offer.
pub async fn post_get_session() -> Result<HttpResponse, ApiError> {
    Err(ErrorCode::MethodNotAllowedDeferSessionRequired.into())
}
