//! The caller's session on a protected route (Better Auth's `sessionMiddleware`,
//! `freshSessionMiddleware`, `sensitiveSessionMiddleware` in `api/routes/session.ts`).

use actix_web::cookie::Cookie;
use actix_web::{HttpRequest, HttpResponse};
use serde_json::Value;

use super::request_cookies;
use crate::auth::cookies::RequestCookies;
use crate::auth::session::is_fresh;
use crate::error::{ApiError, ErrorCode};
use crate::flows::session::{last_per_name, Lookup};
use crate::state::AppState;
use crate::store::{Session, User};

/// What a protected route asks of the caller's session (docs/compatibility.md §5.2).
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
        let jar = request_cookies(req);
        let resolved = match super::hooks::caller_session(state, req, lookup).await {
            Ok(r) => r,
            // Better Auth's middleware turns a failed lookup into "no session".
            Err(e @ (ApiError::Internal(_) | ApiError::Unavailable(_))) => return Err(e),
            Err(_) => return Err(ErrorCode::Unauthorized.into()),
        };
        let Some((session, user)) = resolved.found else {
            return Err(ApiError::from(ErrorCode::Unauthorized).with_cookies(resolved.cookies));
        };
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

    /// An error response that still carries the queued cookies (docs/compatibility.md §4.1).
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

    /// `result`'s body with the queued cookies, or its error with them.
    pub fn answer(self, result: Result<Value, ApiError>) -> Result<HttpResponse, ApiError> {
        self.answer_with(result.map(|body| (body, Vec::new())))
    }

    /// `result`'s body with the queued cookies and then its own, or its error with the queued
    /// cookies.
    pub fn answer_with(
        self,
        result: Result<(Value, Vec<Cookie<'static>>), ApiError>,
    ) -> Result<HttpResponse, ApiError> {
        match result {
            Ok((body, more)) => Ok(self.respond(more, &body)),
            Err(e) => Err(self.fail(e)),
        }
    }
}

/// `disableCookieCache=<anything non-empty>` is true, as JavaScript coerces it
/// (docs/compatibility.md §5.8).
pub fn flag(req: &HttpRequest, name: &str) -> bool {
    super::extract::query_pairs(req)
        .iter()
        .any(|(k, v)| k == name && !v.is_empty())
}
