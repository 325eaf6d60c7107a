//! Request plumbing shared by the handlers: body parsing (README §1.3), zod-style validation
//! (§1.4), the origin and login-CSRF checks (§4), client info, and the current session.

use actix_web::body::MessageBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::header::{self, HeaderMap};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::HttpMessage as _;
use actix_web::{web, HttpRequest};
use futures_util::StreamExt;
use serde_json::{Map, Value};

use super::hooks::sent_cookies;
use crate::auth::fields::received;
use crate::auth::origin::{is_trusted_callback, is_trusted_origin, origin_of};
use crate::error::{unsupported_media_type, ApiError, ErrorCode};
use crate::state::AppState;

/// Largest request body accepted; auth payloads are small.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// How long a request's body may take to arrive, counted from its headers: 64 KiB in 10 s is
/// 6.4 KiB/s. A client trickling its body holds a connection no longer than this (actix cuts
/// slow headers itself, `client_request_timeout`).
pub const BODY_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Wraps the whole app: the body of a request that has one ends in an error once
/// [`BODY_READ_TIMEOUT`] has passed, which [`read_body`] answers with 408, and the connection,
/// its body unread, is closed. Requests without a body are passed as they are.
pub async fn body_deadline<B: MessageBody>(
    mut req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<B>, actix_web::Error> {
    let headers = req.headers();
    let has_body = headers.contains_key(header::TRANSFER_ENCODING)
        || headers
            .get(header::CONTENT_LENGTH)
            .is_some_and(|v| v.as_bytes() != b"0");
    if has_body {
        let deadline = tokio::time::Instant::now() + BODY_READ_TIMEOUT;
        let payload = req.take_payload();
        let timed = futures_util::stream::unfold(Some(payload), move |state| async move {
            let mut payload = state?;
            match tokio::time::timeout_at(deadline, payload.next()).await {
                Ok(Some(item)) => Some((item, Some(payload))),
                Ok(None) => None,
                Err(_) => Some((
                    Err(PayloadError::Io(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        "request body not received in time",
                    ))),
                    None,
                )),
            }
        });
        req.set_payload(Payload::Stream {
            payload: Box::pin(timed),
        });
    }
    next.call(req).await
}

const JSON: &str = "application/json";
const FORM: &str = "application/x-www-form-urlencoded";

/// Every state-changing route's start: the body read and parsed, then the router-level origin
/// check (README §4.2), which needs the body for its callback URLs.
pub async fn read_checked_body(
    state: &AppState,
    req: &HttpRequest,
    payload: web::Payload,
    form: bool,
) -> Result<Option<Value>, ApiError> {
    let body = read_body(req, payload, form).await?;
    check_origin(state, req, body.as_ref())?;
    if let Some(at) = body.as_ref().and_then(|b| nul_at(b, "body")) {
        return Err(nul_issue(&at));
    }
    Ok(body)
}

/// The message of a value holding a NUL character: PostgreSQL cannot store one in a text
/// column (it would fail the query, a 500), and no field of Better Auth's means one.
const NUL_MESSAGE: &str = "Invalid input: must not contain NUL characters";

/// The validation error (400 `VALIDATION_ERROR`) for a NUL character at `at`.
pub fn nul_issue(at: &str) -> ApiError {
    ApiError::validation(format!("[{at}] {NUL_MESSAGE}"))
}

/// Where the first string holding a NUL character is, in zod's notation (`body.a.b`, `body.a.0`).
fn nul_at(value: &Value, at: &str) -> Option<String> {
    match value {
        Value::String(s) if s.contains('\0') => Some(at.to_owned()),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| nul_at(v, &format!("{at}.{i}"))),
        Value::Object(map) => map.iter().find_map(|(k, v)| {
            let here = format!("{at}.{k}");
            if k.contains('\0') {
                Some(here)
            } else {
                nul_at(v, &here)
            }
        }),
        _ => None,
    }
}

/// Reads and parses the body. `None` when the request has none. `form` also accepts
/// `application/x-www-form-urlencoded` (sign-in and sign-up).
async fn read_body(
    req: &HttpRequest,
    mut payload: web::Payload,
    form: bool,
) -> Result<Option<Value>, ApiError> {
    let mut bytes = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| match e {
            PayloadError::Io(io) if io.kind() == std::io::ErrorKind::TimedOut => ApiError::Custom {
                status: StatusCode::REQUEST_TIMEOUT,
                code: "REQUEST_TIMEOUT",
                message: "Request body not received in time".into(),
            },
            _ => ApiError::Code(ErrorCode::BadRequest),
        })?;
        if bytes.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(ErrorCode::PayloadTooLarge.into());
        }
        bytes.extend_from_slice(&chunk);
    }
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap_or("<invalid>"));
    // better-call's node adapter reads no body from a request without a Content-Type or with
    // `Content-Length: 0`: the route then sees `undefined` (docs/compatibility.md §2.3).
    let Some(ct) = content_type.filter(|_| !bytes.is_empty()) else {
        return Ok(None);
    };
    let allowed: &[&str] = if form { &[FORM, JSON] } else { &[JSON] };
    let media = ct
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if media.contains(JSON) && !media.contains('+') {
        return serde_json::from_slice::<Value>(&bytes)
            .map(Some)
            .map_err(|_| ApiError::Code(ErrorCode::BadRequest));
    }
    if form && media == FORM {
        let map: Map<String, Value> = url::form_urlencoded::parse(&bytes)
            .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
            .collect();
        return Ok(Some(Value::Object(map)));
    }
    Err(unsupported_media_type(Some(ct), allowed))
}

/// JavaScript's `String(value)` of a JSON value (`undefined` when absent).
pub fn js_string(value: Option<&Value>) -> String {
    match value {
        None => "undefined".into(),
        Some(Value::Null) => "null".into(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Bool(b)) => b.to_string(),
        Some(Value::Number(n)) => match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() < 1e21 => format!("{f:.0}"),
            _ => n.to_string(),
        },
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| match i {
                Value::Null => String::new(),
                other => js_string(Some(other)),
            })
            .collect::<Vec<_>>()
            .join(","),
        Some(Value::Object(_)) => "[object Object]".into(),
    }
}

/// Collects schema issues like zod and renders them `[body.x] message; [body.y] message`.
pub struct Validator<'a> {
    obj: Option<&'a Map<String, Value>>,
    issues: Vec<String>,
    /// `body` or `query`, the prefix of every issue.
    scope: &'static str,
}

impl<'a> Validator<'a> {
    /// A validator for a body that must be an object.
    pub fn body(body: Option<&'a Value>) -> Self {
        let mut issues = Vec::new();
        let obj = match body {
            Some(Value::Object(m)) => Some(m),
            Some(other) => {
                issues.push(format!(
                    "[body] Invalid input: expected object, received {}",
                    received(other)
                ));
                None
            }
            None => {
                issues.push("[body] Invalid input: expected object, received undefined".to_owned());
                None
            }
        };
        Self {
            obj,
            issues,
            scope: "body",
        }
    }

    /// A body schema `z.object({...}).and(z.record(...))` (sign-up: its custom fields): a body
    /// that is not an object fails both sides of the intersection, each with its issue.
    pub fn and_record(mut self) -> Self {
        if self.obj.is_none() {
            let received = self.issues[0]
                .rsplit(' ')
                .next()
                .unwrap_or("undefined")
                .to_owned();
            self.issues.push(format!(
                "[body] Invalid input: expected record, received {received}"
            ));
        }
        self
    }

    /// A validator for the query string, as `query_object` gives it.
    /// A value holding a NUL character is an issue whatever the route reads.
    pub fn query(query: &'a Map<String, Value>) -> Self {
        let issues = query
            .iter()
            .filter_map(|(k, v)| nul_at(v, &format!("query.{k}")))
            .map(|at| format!("[{at}] {NUL_MESSAGE}"))
            .collect();
        Self {
            obj: Some(query),
            issues,
            scope: "query",
        }
    }

    fn get(&self, key: &str) -> Option<&'a Value> {
        self.obj.and_then(|m| m.get(key))
    }

    fn issue(&mut self, key: &str, message: impl std::fmt::Display) {
        if self.obj.is_some() {
            self.issues
                .push(format!("[{}.{key}] {message}", self.scope));
        }
    }

    pub fn string(&mut self, key: &str) -> String {
        match self.get(key) {
            Some(Value::String(s)) => s.clone(),
            other => {
                let got = other.map(received).unwrap_or("undefined");
                self.issue(
                    key,
                    format!("Invalid input: expected string, received {got}"),
                );
                String::new()
            }
        }
    }

    pub fn non_empty_string(&mut self, key: &str) -> String {
        let before = self.issues.len();
        let s = self.string(key);
        if s.is_empty() && self.issues.len() == before {
            self.issue(key, "Too small: expected string to have >=1 characters");
        }
        s
    }

    pub fn opt_string(&mut self, key: &str) -> Option<String> {
        match self.get(key) {
            None => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(other) => {
                self.issue(
                    key,
                    format!(
                        "Invalid input: expected string, received {}",
                        received(other)
                    ),
                );
                None
            }
        }
    }

    pub fn opt_bool(&mut self, key: &str) -> Option<bool> {
        match self.get(key) {
            None => None,
            Some(Value::Bool(b)) => Some(*b),
            Some(other) => {
                self.issue(
                    key,
                    format!(
                        "Invalid input: expected boolean, received {}",
                        received(other)
                    ),
                );
                None
            }
        }
    }

    /// A string that must pass zod's email check.
    pub fn email(&mut self, key: &str) -> String {
        let before = self.issues.len();
        let s = self.string(key);
        if self.issues.len() == before && !crate::auth::email::is_valid(&s) {
            self.issue(key, "Invalid email address");
        }
        s
    }

    /// zod's `z.coerce.string()`: any value as JavaScript's `String()` writes it (a missing
    /// key is `"undefined"`).
    pub fn coerce_string(&mut self, key: &str) -> String {
        js_string(self.get(key))
    }

    /// zod's `z.coerce.string().nonempty(message)`.
    pub fn coerce_non_empty(&mut self, key: &str, message: &str) -> String {
        let s = self.coerce_string(key);
        if s.is_empty() {
            self.issue(key, message);
        }
        s
    }

    /// zod's `z.string().nonempty(message)`.
    pub fn string_non_empty(&mut self, key: &str, message: &str) -> String {
        let before = self.issues.len();
        let s = self.string(key);
        if s.is_empty() && self.issues.len() == before {
            self.issue(key, message);
        }
        s
    }

    /// An optional `z.number()`.
    pub fn opt_number(&mut self, key: &str) -> Option<f64> {
        match self.get(key) {
            None => None,
            Some(Value::Number(n)) => n.as_f64(),
            Some(other) => {
                let got = received(other);
                self.issue(
                    key,
                    format!("Invalid input: expected number, received {got}"),
                );
                None
            }
        }
    }

    /// The raw value of `key`, unchecked (for unions the caller checks itself).
    pub fn raw(&self, key: &str) -> Option<&'a Value> {
        self.get(key)
    }

    /// Records an issue found by the caller, in zod's form.
    pub fn invalid(&mut self, key: &str, message: &str) {
        self.issue(key, message);
    }

    pub fn object(&self) -> Option<&'a Map<String, Value>> {
        self.obj
    }

    pub fn finish(self) -> Result<(), ApiError> {
        if self.issues.is_empty() {
            Ok(())
        } else {
            Err(ApiError::validation(self.issues.join("; ")))
        }
    }
}

/// The query string as Better Auth sees it: every `key=value` pair, repeated keys kept, in
/// order (README §1.3). A malformed query is treated as empty.
pub fn query_pairs(req: &HttpRequest) -> Vec<(String, String)> {
    web::Query::<Vec<(String, String)>>::from_query(req.query_string())
        .map(|q| q.0)
        .unwrap_or_default()
}

/// The query string as the object Better Auth validates: a repeated key becomes an array.
pub fn query_object(req: &HttpRequest) -> Map<String, Value> {
    let mut m = Map::new();
    for (k, v) in query_pairs(req) {
        match m.get_mut(&k) {
            None => {
                m.insert(k, Value::String(v));
            }
            Some(Value::Array(a)) => a.push(Value::String(v)),
            Some(first) => *first = Value::Array(vec![first.take(), Value::String(v)]),
        }
    }
    m
}

/// The callback check of the GET routes that redirect (README §4.4): 403
/// `INVALID_CALLBACK_URL` unless relative-safe or trusted.
pub fn check_query_callback(state: &AppState, callback: Option<&str>) -> Result<(), ApiError> {
    if state.settings.advanced.disable_origin_check {
        return Ok(());
    }
    match callback {
        Some(url)
            if !url.is_empty() && !is_trusted_callback(url, &state.settings.trusted_origins) =>
        {
            tracing::warn!("untrusted callbackURL refused");
            Err(ErrorCode::InvalidCallbackUrl.into())
        }
        _ => Ok(()),
    }
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// The Origin check (README §4.2 step A): `Origin`, else `Referer`, must be trusted.
fn require_trusted_origin(state: &AppState, req: &HttpRequest) -> Result<(), ApiError> {
    let headers = req.headers();
    let origin = header_str(headers, "origin").or_else(|| header_str(headers, "referer"));
    let Some(origin) = origin.filter(|o| *o != "null") else {
        return Err(ErrorCode::MissingOrNullOrigin.into());
    };
    let origin = if header_str(headers, "origin").is_some() {
        origin.to_owned()
    } else {
        origin_of(origin).unwrap_or_default()
    };
    if is_trusted_origin(&origin, &state.settings.trusted_origins) {
        Ok(())
    } else {
        tracing::warn!("request from an untrusted origin refused");
        Err(ErrorCode::InvalidOrigin.into())
    }
}

fn csrf_checks_off(state: &AppState) -> bool {
    let adv = &state.settings.advanced;
    adv.disable_csrf_check || adv.disable_origin_check
}

/// The router-level check every non-GET route runs after body parsing (README §4.2).
fn check_origin(state: &AppState, req: &HttpRequest, body: Option<&Value>) -> Result<(), ApiError> {
    if matches!(*req.method(), Method::GET | Method::OPTIONS | Method::HEAD) {
        return Ok(());
    }
    if !csrf_checks_off(state) && sent_cookies(req) {
        require_trusted_origin(state, req)?;
    }
    if state.settings.advanced.disable_origin_check {
        return Ok(());
    }
    let body = body.and_then(Value::as_object);
    let query_callback: Vec<String> = query_pairs(req)
        .into_iter()
        .filter(|(k, _)| k == "callbackURL")
        .map(|(_, v)| v)
        .collect();
    let callback = match body.and_then(|b| b.get("callbackURL")) {
        Some(v) => Some(v.clone()),
        None => match query_callback.len() {
            0 => None,
            1 => Some(Value::String(query_callback[0].clone())),
            _ => Some(Value::Array(
                query_callback.into_iter().map(Value::String).collect(),
            )),
        },
    };
    let checks = [
        ("callbackURL", callback, ErrorCode::InvalidCallbackUrl),
        (
            "redirectTo",
            body.and_then(|b| b.get("redirectTo")).cloned(),
            ErrorCode::InvalidRedirectUrl,
        ),
        (
            "errorCallbackURL",
            body.and_then(|b| b.get("errorCallbackURL")).cloned(),
            ErrorCode::InvalidErrorCallbackUrl,
        ),
        (
            "newUserCallbackURL",
            body.and_then(|b| b.get("newUserCallbackURL")).cloned(),
            ErrorCode::InvalidNewUserCallbackUrl,
        ),
    ];
    for (label, value, code) in checks {
        let Some(value) = value.filter(crate::auth::fields::truthy) else {
            continue;
        };
        let Value::String(url) = value else {
            return Err(ApiError::message_only(
                StatusCode::BAD_REQUEST,
                format!("Invalid {label}: expected a string"),
            ));
        };
        if !is_trusted_callback(&url, &state.settings.trusted_origins) {
            return Err(code.into());
        }
    }
    Ok(())
}

/// The stricter check of email sign-in and sign-up, with Fetch Metadata (README §4.3).
pub fn login_csrf(state: &AppState, req: &HttpRequest) -> Result<(), ApiError> {
    if csrf_checks_off(state) {
        return Ok(());
    }
    let h = req.headers();
    if sent_cookies(req) {
        return require_trusted_origin(state, req);
    }
    let site = header_str(h, "sec-fetch-site");
    let mode = header_str(h, "sec-fetch-mode");
    if site.is_some() || mode.is_some() || header_str(h, "sec-fetch-dest").is_some() {
        if site == Some("cross-site") && mode == Some("navigate") {
            return Err(ErrorCode::CrossSiteNavigationLoginBlocked.into());
        }
        return require_trusted_origin(state, req);
    }
    if header_str(h, "origin").is_some() || header_str(h, "referer").is_some() {
        return require_trusted_origin(state, req);
    }
    Ok(())
}

/// A body that zod's `z.record(z.string(), z.any())` accepts: a JSON object.
pub fn record_body(body: Option<&Value>) -> Result<&Map<String, Value>, ApiError> {
    match body {
        Some(Value::Object(m)) => Ok(m),
        other => Err(ApiError::validation(format!(
            "[body] Invalid input: expected record, received {}",
            other.map(received).unwrap_or("undefined")
        ))),
    }
}

/// 400 `{"message":"No fields to update"}` (errors.md §5).
pub fn no_fields_to_update() -> ApiError {
    ApiError::message_only(StatusCode::BAD_REQUEST, "No fields to update")
}

/// A JSON or form body as an object, `None` when there is none or it does not parse: the
/// OAuth callback's `form_post`, which always answers with a redirect.
pub async fn read_body_lenient(
    req: &HttpRequest,
    payload: web::Payload,
) -> Option<Map<String, Value>> {
    match read_body(req, payload, true).await {
        Ok(Some(Value::Object(m))) => Some(m),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validator_reports_every_issue_in_zod_form() {
        let body = serde_json::json!({"email": "nope", "rememberMe": "yes"});
        let mut v = Validator::body(Some(&body));
        v.string("name");
        v.email("email");
        v.opt_bool("rememberMe");
        let err = v.finish().unwrap_err();
        assert_eq!(
            err.to_string(),
            "[body.name] Invalid input: expected string, received undefined; [body.email] Invalid email address; [body.rememberMe] Invalid input: expected boolean, received string"
        );
        let v = Validator::body(None);
        assert_eq!(
            v.finish().unwrap_err().to_string(),
            "[body] Invalid input: expected object, received undefined"
        );
    }
}
