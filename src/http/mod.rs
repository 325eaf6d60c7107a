//! The HTTP layer around the handlers: request parsing and validation, the origin checks, who is
//! calling, the caller's session, rate limiting, and the plugins' request hooks. Handlers in `routes/` and in each plugin use these; flows never do.

pub mod client;
pub mod current;
pub mod extract;
pub mod hooks;
pub mod rate_limit;
pub mod route;

use actix_web::cookie::Cookie;
use actix_web::http::header::{self, HeaderMap, HeaderValue};
use actix_web::{HttpRequest, HttpResponse};

use crate::auth::cookies::RequestCookies;
use crate::auth::origin::is_safe_location;
use crate::error::{ApiError, ErrorCode};

pub use client::ClientInfo;
pub use current::{Current, Need};

/// The request's cookies, every `Cookie` header read.
pub fn request_cookies(req: &HttpRequest) -> RequestCookies {
    RequestCookies::parse(
        req.headers()
            .get_all(header::COOKIE)
            .filter_map(|v| v.to_str().ok()),
    )
}

/// Adds `name` to `Access-Control-Expose-Headers`, keeping what is there.
pub fn expose_header(headers: &mut HeaderMap, name: &str) {
    let current = headers
        .get(header::ACCESS_CONTROL_EXPOSE_HEADERS)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .unwrap_or_default();
    if current
        .split(',')
        .any(|h| h.trim().eq_ignore_ascii_case(name))
    {
        return;
    }
    let joined = if current.is_empty() {
        name.to_owned()
    } else {
        format!("{current}, {name}")
    };
    if let Ok(v) = HeaderValue::from_str(&joined) {
        headers.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, v);
    }
}

/// 302 to `location` with the queued cookies (`docs/compatibility.md` §2.5). Every redirect of
/// the service goes through here, and a location a browser would read as another host
/// (`//evil.com`, `/\evil.com`), whatever it was built from, is refused with
/// `INVALID_CALLBACK_URL`: callback URLs are checked as they arrive, but building the location
/// can normalise a checked path into such a one (`/..//evil.com` → `//evil.com`).
pub fn redirect(location: &str, cookies: Vec<Cookie<'static>>) -> Result<HttpResponse, ApiError> {
    if !is_safe_location(location) {
        tracing::warn!("redirect to another host refused");
        return Err(ErrorCode::InvalidCallbackUrl.into());
    }
    let value = HeaderValue::from_str(location)
        .map_err(|_| ApiError::from(ErrorCode::InvalidCallbackUrl))?;
    let mut res = HttpResponse::Found();
    res.insert_header((header::LOCATION, value))
        .content_type("application/json");
    for c in cookies {
        res.cookie(c);
    }
    Ok(res.finish())
}

/// A 200 JSON answer carrying `cookies`.
pub fn json_with_cookies(cookies: Vec<Cookie<'static>>, body: &serde_json::Value) -> HttpResponse {
    let mut res = HttpResponse::Ok();
    for c in cookies {
        res.cookie(c);
    }
    res.json(body)
}
