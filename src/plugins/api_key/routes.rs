//! `/api-key/*` (`@better-auth/api-key`'s `routes/`). Requests are client requests, as every
//! HTTP request to Better Auth is, unless they carry the server token (`x-server-token`): those
//! act as Better Auth's server-side `auth.api.*` calls, which may set the server-only fields
//! and reach `verify` and `delete-all-expired-api-keys` (not HTTP routes in Better Auth).

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::Duration;
use indexmap::IndexMap;
use serde_json::{json, Map, Value};
use utoipa::openapi::path::HttpMethod::{Get, Post};

use super::{verify, ApiKeyError, ApiKeyPlugin};
use crate::auth::api_key::{generate_key, hash_key};
use crate::auth::crypto::{generate_id, iso, truncate_ms};
use crate::error::ApiError;
use crate::flows::session::Lookup;
use crate::http::extract::{query_object, read_checked_body, Validator};
use crate::http::hooks::caller_session;
use crate::http::route::{get, not_found, post};
use crate::http::{Current, Need};
use crate::openapi::builder::{array_of, boolean, object, string, Op};
use crate::state::AppState;
use crate::store::api_keys::{ApiKeyRow, ApiKeyUpdate};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(post("/api-key/create", create))
        .service(get("/api-key/get", get_key))
        .service(post("/api-key/update", update))
        .service(post("/api-key/delete", delete))
        .service(get("/api-key/list", list))
        .service(post("/api-key/verify", verify_key))
        .service(post(
            "/api-key/delete-all-expired-api-keys",
            delete_all_expired,
        ));
}

pub fn openapi() -> Vec<Op> {
    let key = || object(Vec::<(String, _)>::new(), &[], true).into();
    vec![
        Op::new(
            Post,
            "/api-key/create",
            "API key",
            "Create an API key (shown once)",
        )
        .body(vec![("name", string()), ("prefix", string())], &[])
        .ok(key()),
        Op::new(
            Get,
            "/api-key/get",
            "API key",
            "One of the caller's API keys",
        )
        .query("id", true)
        .ok(key()),
        Op::new(
            Post,
            "/api-key/update",
            "API key",
            "Update one of the caller's API keys",
        )
        .body(
            vec![
                ("keyId", string()),
                ("name", string()),
                ("enabled", boolean()),
            ],
            &["keyId"],
        )
        .ok(key()),
        Op::new(
            Post,
            "/api-key/delete",
            "API key",
            "Delete one of the caller's API keys",
        )
        .body(vec![("keyId", string())], &["keyId"])
        .ok(object(vec![("success", boolean())], &["success"], true).into()),
        Op::new(Get, "/api-key/list", "API key", "The caller's API keys").ok(object(
            vec![("apiKeys", array_of(key()))],
            &["apiKeys", "total"],
            true,
        )
        .into()),
    ]
}

fn plugin(state: &AppState) -> Result<&ApiKeyPlugin, ApiError> {
    state
        .plugins
        .get::<ApiKeyPlugin>()
        .ok_or_else(|| anyhow::anyhow!("the API key plugin is not enabled").into())
}

fn bad(e: ApiKeyError) -> ApiError {
    e.status(StatusCode::BAD_REQUEST)
}

fn not_found_key() -> ApiError {
    ApiKeyError::KeyNotFound.status(StatusCode::NOT_FOUND)
}

fn unauthorized_session() -> ApiError {
    ApiKeyError::UnauthorizedSession.status(StatusCode::UNAUTHORIZED)
}

/// A JSON column as Better Auth returns it: parsed, twice if it was stored stringified twice.
fn parsed(text: &Option<String>) -> Value {
    let Some(t) = text else {
        return Value::Null;
    };
    match serde_json::from_str::<Value>(t) {
        Ok(Value::String(inner)) => serde_json::from_str(&inner).unwrap_or(Value::String(inner)),
        Ok(v) => v,
        Err(_) => Value::String(t.clone()),
    }
}

fn opt_date(d: Option<chrono::DateTime<chrono::Utc>>) -> Value {
    d.map(|d| Value::String(iso(&d))).unwrap_or(Value::Null)
}

/// A key as Better Auth's routes return it: every column but the hashed key, `metadata` and
/// `permissions` parsed.
fn key_json(k: &ApiKeyRow) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("id".into(), k.id.clone().into());
    m.insert("configId".into(), k.config_id.clone().into());
    m.insert("name".into(), k.name.clone().into());
    m.insert("start".into(), k.start.clone().into());
    m.insert("referenceId".into(), k.reference_id.clone().into());
    m.insert("prefix".into(), k.prefix.clone().into());
    m.insert("refillInterval".into(), k.refill_interval.into());
    m.insert("refillAmount".into(), k.refill_amount.into());
    m.insert("lastRefillAt".into(), opt_date(k.last_refill_at));
    m.insert("enabled".into(), k.enabled.into());
    m.insert("rateLimitEnabled".into(), k.rate_limit_enabled.into());
    m.insert(
        "rateLimitTimeWindow".into(),
        k.rate_limit_time_window.into(),
    );
    m.insert("rateLimitMax".into(), k.rate_limit_max.into());
    m.insert("requestCount".into(), k.request_count.into());
    m.insert("remaining".into(), k.remaining.into());
    m.insert("lastRequest".into(), opt_date(k.last_request));
    m.insert("expiresAt".into(), opt_date(k.expires_at));
    m.insert("createdAt".into(), iso(&k.created_at).into());
    m.insert("updatedAt".into(), iso(&k.updated_at).into());
    m.insert("permissions".into(), parsed(&k.permissions));
    m.insert("metadata".into(), parsed(&k.metadata));
    m
}

/// JavaScript truthiness of an optional JSON value.
fn truthy(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_f64().is_some_and(|f| f != 0.0),
        Some(Value::String(s)) => !s.is_empty(),
        Some(_) => true,
    }
}

/// String length as JavaScript counts it (UTF-16 units).
fn js_len(s: &str) -> usize {
    s.encode_utf16().count()
}

/// An optional whole number for an `integer` column: zod's `z.number()` (with `min`), then
/// whole and within 32 bits, or a validation issue. `nullable`: `null` is `Some(None)`.
fn int_field(
    v: &mut Validator,
    key: &str,
    min: Option<i64>,
    nullable: bool,
) -> Option<Option<i64>> {
    match v.raw(key) {
        None => None,
        Some(Value::Null) if nullable => Some(None),
        Some(Value::Number(n)) => {
            let f = n.as_f64().unwrap_or(f64::NAN);
            if let Some(m) = min.filter(|m| f < *m as f64) {
                v.invalid(key, &format!("Too small: expected number to be >={m}"));
                None
            } else if f.fract() != 0.0 {
                v.invalid(key, "Invalid input: expected int, received number");
                None
            } else if f.abs() > f64::from(i32::MAX) {
                v.invalid(
                    key,
                    &format!("Too big: expected number to be <={}", i32::MAX),
                );
                None
            } else {
                Some(Some(f as i64))
            }
        }
        Some(_) => {
            v.opt_number(key);
            None
        }
    }
}

/// `z.record(z.string(), z.array(z.string()))`, optional (and nullable when `nullable`).
fn permissions_field(
    v: &mut Validator,
    nullable: bool,
) -> Option<Option<IndexMap<String, Vec<String>>>> {
    match v.raw("permissions") {
        None => None,
        Some(Value::Null) if nullable => Some(None),
        Some(Value::Object(m)) => {
            let mut out = IndexMap::new();
            for (k, actions) in m {
                let list = actions.as_array().and_then(|a| {
                    a.iter()
                        .map(|s| s.as_str().map(str::to_owned))
                        .collect::<Option<Vec<_>>>()
                });
                match list {
                    Some(list) => {
                        out.insert(k.clone(), list);
                    }
                    None => {
                        v.invalid(
                            &format!("permissions.{k}"),
                            "Invalid input: expected array of strings",
                        );
                        return None;
                    }
                }
            }
            Some(Some(out))
        }
        Some(_) => {
            v.invalid("permissions", "Invalid input: expected record");
            None
        }
    }
}

/// `expiresIn` (seconds) against the configured bounds (days), as create and update check it.
fn check_expires_in(p: &ApiKeyPlugin, seconds: i64) -> Result<(), ApiError> {
    let e = &p.settings.key_expiration;
    if e.disable_custom_expires_time {
        return Err(bad(ApiKeyError::KeyDisabledExpiration));
    }
    let days = seconds as f64 / 86_400.0;
    if e.min_expires_in > days {
        return Err(bad(ApiKeyError::ExpiresInIsTooSmall));
    }
    if e.max_expires_in < days {
        return Err(bad(ApiKeyError::ExpiresInIsTooLarge));
    }
    Ok(())
}

fn check_name(p: &ApiKeyPlugin, name: &str) -> Result<(), ApiError> {
    let n = js_len(name);
    if n < p.settings.minimum_name_length || n > p.settings.maximum_name_length {
        return Err(bad(ApiKeyError::InvalidNameLength));
    }
    Ok(())
}

/// Better Auth's `getSessionFromCtx`: the caller's session or none.
async fn optional_session(state: &AppState, req: &HttpRequest) -> Result<Option<String>, ApiError> {
    let lookup = Lookup {
        disable_cache: true,
        ..Lookup::default()
    };
    match caller_session(state, req, lookup).await {
        Ok(r) => Ok(r.found.map(|(_, u)| u.id)),
        Err(e @ (ApiError::Internal(_) | ApiError::Unavailable(_))) => Err(e),
        Err(_) => Ok(None),
    }
}

#[tracing::instrument(name = "api_key.create", skip_all)]
async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let p = plugin(&state)?;
    let body = read_checked_body(&state, &req, payload, false).await?;
    let mut v = Validator::body(body.as_ref());
    v.opt_string("configId");
    let name = v.opt_string("name");
    let expires_in = int_field(&mut v, "expiresIn", Some(1), true).flatten();
    let prefix = v.opt_string("prefix");
    if prefix.as_deref().is_some_and(|p| {
        p.is_empty()
            || !p
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    }) {
        v.invalid(
            "prefix",
            "Invalid prefix format, must be alphanumeric and contain only underscores and \
             hyphens.",
        );
    }
    let remaining = int_field(&mut v, "remaining", Some(0), true).flatten();
    let metadata = v.raw("metadata").cloned();
    let refill_amount = int_field(&mut v, "refillAmount", Some(1), false).flatten();
    let refill_interval = int_field(&mut v, "refillInterval", None, false).flatten();
    let rate_limit_time_window = int_field(&mut v, "rateLimitTimeWindow", None, false).flatten();
    let rate_limit_max = int_field(&mut v, "rateLimitMax", None, false).flatten();
    let rate_limit_enabled = v.opt_bool("rateLimitEnabled");
    let permissions = permissions_field(&mut v, false).flatten();
    let body_user_id = v.raw("userId").map(|_| v.coerce_string("userId"));
    v.finish()?;

    let server = p.server_call(&req);
    let reference_id = if server {
        body_user_id.ok_or_else(unauthorized_session)?
    } else {
        let raw = |k: &str| body.as_ref().and_then(|b| b.get(k)).is_some();
        if [
            "refillAmount",
            "refillInterval",
            "rateLimitMax",
            "rateLimitTimeWindow",
        ]
        .iter()
        .any(|k| raw(k))
            || rate_limit_enabled.is_some()
            || permissions.is_some()
            || remaining.is_some()
        {
            return Err(bad(ApiKeyError::ServerOnlyProperty));
        }
        if body_user_id.is_some() {
            return Err(unauthorized_session());
        }
        optional_session(&state, &req)
            .await?
            .ok_or_else(unauthorized_session)?
    };
    let metadata = metadata.filter(|m| truthy(Some(m)));
    if let Some(m) = &metadata {
        if !p.settings.enable_metadata {
            return Err(bad(ApiKeyError::MetadataDisabled));
        }
        if !matches!(m, Value::Object(_) | Value::Array(_)) {
            return Err(bad(ApiKeyError::InvalidMetadataType));
        }
    }
    let (amount, interval) = (
        refill_amount.filter(|a| *a != 0),
        refill_interval.filter(|i| *i != 0),
    );
    if amount.is_some() && interval.is_none() {
        return Err(bad(ApiKeyError::RefillAmountAndIntervalRequired));
    }
    if interval.is_some() && amount.is_none() {
        return Err(bad(ApiKeyError::RefillIntervalAndAmountRequired));
    }
    if let Some(s) = expires_in {
        check_expires_in(p, s)?;
    }
    let prefix = prefix.filter(|p| !p.is_empty());
    if let Some(pre) = &prefix {
        let n = js_len(pre);
        if n < p.settings.minimum_prefix_length || n > p.settings.maximum_prefix_length {
            return Err(bad(ApiKeyError::InvalidPrefixLength));
        }
    }
    match name.as_deref().filter(|n| !n.is_empty()) {
        Some(n) => check_name(p, n)?,
        None if p.settings.require_name => return Err(bad(ApiKeyError::NameRequired)),
        None => {}
    }
    if let Err(e) = p.sweep_expired(&state, false).await {
        tracing::warn!(error = %e, "could not delete expired API keys");
    }

    let s = &p.settings;
    let prefix = prefix.or_else(|| s.default_prefix.clone());
    let key = generate_key(s.default_key_length, prefix.as_deref().unwrap_or(""));
    let start = s.starting_characters_config.should_store.then(|| {
        key.chars()
            .take(s.starting_characters_config.characters_length)
            .collect()
    });
    let now = truncate_ms(state.clock.now());
    let expires_at = expires_in
        .or(s.key_expiration.default_expires_in)
        .map(|secs| now + Duration::seconds(secs));
    let row = ApiKeyRow {
        id: generate_id(),
        config_id: "default".into(),
        name,
        start,
        reference_id,
        prefix,
        key: hash_key(&key),
        refill_interval,
        refill_amount,
        last_refill_at: None,
        enabled: Some(true),
        rate_limit_enabled: Some(rate_limit_enabled.unwrap_or(s.rate_limit.enabled)),
        rate_limit_time_window: Some(rate_limit_time_window.unwrap_or(s.rate_limit.time_window)),
        rate_limit_max: Some(rate_limit_max.unwrap_or(s.rate_limit.max_requests)),
        request_count: Some(0),
        remaining,
        last_request: None,
        expires_at,
        created_at: now,
        updated_at: now,
        permissions: permissions.map(|p| json!(p).to_string()),
        metadata: metadata.as_ref().map(Value::to_string),
    };
    state.store.insert_api_key(&row).await?;
    let mut out = key_json(&row);
    out.insert("key".into(), key.into());
    out.insert("metadata".into(), metadata.unwrap_or(Value::Null));
    Ok(HttpResponse::Ok().json(out))
}

/// The caller's key `id` (404 `KEY_NOT_FOUND` for another user's, as for a missing one).
async fn own_key(state: &AppState, id: &str, user_id: &str) -> Result<ApiKeyRow, ApiError> {
    match state.store.find_api_key(id).await? {
        Some(k) if k.reference_id == user_id => Ok(k),
        _ => Err(not_found_key()),
    }
}

#[tracing::instrument(name = "api_key.get", skip_all)]
async fn get_key(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let p = plugin(&state)?;
    let query = query_object(&req);
    let mut v = Validator::query(&query);
    v.opt_string("configId");
    let id = v.string("id");
    v.finish()?;
    let current = Current::require(&state, &req, Need::Session).await?;
    let result = async {
        let k = own_key(&state, &id, &current.user.id).await?;
        if let Err(e) = p.sweep_expired(&state, false).await {
            tracing::warn!(error = %e, "could not delete expired API keys");
        }
        Ok::<_, ApiError>(Value::Object(key_json(&k)))
    }
    .await;
    current.answer(result)
}

#[tracing::instrument(name = "api_key.update", skip_all)]
async fn update(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let p = plugin(&state)?;
    let body = read_checked_body(&state, &req, payload, false).await?;
    let mut v = Validator::body(body.as_ref());
    v.opt_string("configId");
    let key_id = v.string("keyId");
    let body_user_id = v.raw("userId").map(|_| v.coerce_string("userId"));
    let name = v.opt_string("name");
    let enabled = v.opt_bool("enabled");
    let remaining = int_field(&mut v, "remaining", Some(1), false).flatten();
    let refill_amount = int_field(&mut v, "refillAmount", None, false).flatten();
    let refill_interval = int_field(&mut v, "refillInterval", None, false).flatten();
    let metadata = v.raw("metadata").cloned();
    let expires_in = int_field(&mut v, "expiresIn", Some(1), true);
    let rate_limit_enabled = v.opt_bool("rateLimitEnabled");
    let rate_limit_time_window = int_field(&mut v, "rateLimitTimeWindow", None, false).flatten();
    let rate_limit_max = int_field(&mut v, "rateLimitMax", None, false).flatten();
    let permissions = permissions_field(&mut v, true);
    v.finish()?;

    let server = p.server_call(&req);
    let session_user = if server {
        None
    } else {
        optional_session(&state, &req).await?
    };
    let user_id = match (&session_user, server) {
        (Some(id), _) => id.clone(),
        (None, true) => body_user_id.clone().ok_or_else(unauthorized_session)?,
        (None, false) => return Err(unauthorized_session()),
    };
    if session_user.is_some() && body_user_id.as_ref().is_some_and(|u| *u != user_id) {
        return Err(unauthorized_session());
    }
    if !server
        && (refill_amount.is_some()
            || refill_interval.is_some()
            || rate_limit_max.is_some()
            || rate_limit_time_window.is_some()
            || rate_limit_enabled.is_some()
            || remaining.is_some()
            || permissions.is_some())
    {
        return Err(bad(ApiKeyError::ServerOnlyProperty));
    }
    let key = own_key(&state, &key_id, &user_id).await?;

    let mut u = ApiKeyUpdate::default();
    if let Some(n) = name {
        check_name(p, &n)?;
        u.name = Some(n);
    }
    u.enabled = enabled;
    let now = state.clock.now();
    if let Some(e) = expires_in {
        if let Some(secs) = e {
            check_expires_in(p, secs)?;
        } else if p.settings.key_expiration.disable_custom_expires_time {
            return Err(bad(ApiKeyError::KeyDisabledExpiration));
        }
        u.expires_at = Some(e.map(|secs| truncate_ms(now) + Duration::seconds(secs)));
    }
    if let (Some(m), true) = (metadata, p.settings.enable_metadata) {
        match m {
            Value::Null => u.metadata = Some(None),
            Value::Object(_) | Value::Array(_) => u.metadata = Some(Some(m.to_string())),
            _ => return Err(bad(ApiKeyError::InvalidMetadataType)),
        }
    }
    u.remaining = remaining;
    match (refill_amount, refill_interval) {
        (Some(_), None) => return Err(bad(ApiKeyError::RefillAmountAndIntervalRequired)),
        (None, Some(_)) => return Err(bad(ApiKeyError::RefillIntervalAndAmountRequired)),
        (a, i) => {
            u.refill_amount = a;
            u.refill_interval = i;
        }
    }
    u.rate_limit_enabled = rate_limit_enabled;
    u.rate_limit_time_window = rate_limit_time_window;
    u.rate_limit_max = rate_limit_max;
    u.permissions = permissions.map(|p| p.map(|p| json!(p).to_string()));
    if u.is_empty() {
        return Err(bad(ApiKeyError::NoValuesToUpdate));
    }
    let updated = state
        .store
        .update_api_key(&key.id, &u, truncate_ms(now))
        .await?
        .ok_or_else(not_found_key)?;
    if let Err(e) = p.sweep_expired(&state, false).await {
        tracing::warn!(error = %e, "could not delete expired API keys");
    }
    Ok(HttpResponse::Ok().json(key_json(&updated)))
}

#[tracing::instrument(name = "api_key.delete", skip_all)]
async fn delete(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let p = plugin(&state)?;
    let body = read_checked_body(&state, &req, payload, false).await?;
    let mut v = Validator::body(body.as_ref());
    v.opt_string("configId");
    let key_id = v.string("keyId");
    v.finish()?;
    let current = Current::require(&state, &req, Need::Session).await?;
    let result = async {
        if current.user.extra.get("banned") == Some(&Value::Bool(true)) {
            return Err(ApiKeyError::UserBanned.status(StatusCode::UNAUTHORIZED));
        }
        let k = own_key(&state, &key_id, &current.user.id).await?;
        state.store.delete_api_key(&k.id).await?;
        if let Err(e) = p.sweep_expired(&state, false).await {
            tracing::warn!(error = %e, "could not delete expired API keys");
        }
        Ok::<_, ApiError>(json!({ "success": true }))
    }
    .await;
    current.answer(result)
}

/// zod's `z.coerce.number().int().nonnegative()` on a query value.
fn count_param(v: &mut Validator, key: &str) -> Option<usize> {
    let raw = v.raw(key)?.clone();
    let text = match &raw {
        Value::String(s) => s.trim().to_owned(),
        _ => String::new(),
    };
    let n: f64 = if text.is_empty() {
        0.0
    } else {
        text.parse().unwrap_or(f64::NAN)
    };
    if n.is_nan() {
        v.invalid(key, "Invalid input: expected number, received NaN");
        None
    } else if n.fract() != 0.0 || !n.is_finite() {
        v.invalid(key, "Invalid input: expected int, received number");
        None
    } else if n < 0.0 {
        v.invalid(key, "Too small: expected number to be >=0");
        None
    } else {
        Some(n as usize)
    }
}

/// The columns `sortBy` may name.
const SORTABLE: [&str; 21] = [
    "id",
    "configId",
    "name",
    "start",
    "referenceId",
    "prefix",
    "refillInterval",
    "refillAmount",
    "lastRefillAt",
    "enabled",
    "rateLimitEnabled",
    "rateLimitTimeWindow",
    "rateLimitMax",
    "requestCount",
    "remaining",
    "lastRequest",
    "expiresAt",
    "createdAt",
    "updatedAt",
    "permissions",
    "metadata",
];

#[tracing::instrument(name = "api_key.list", skip_all)]
async fn list(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let p = plugin(&state)?;
    let query = query_object(&req);
    let mut v = Validator::query(&query);
    let config_id = v.opt_string("configId");
    let organization_id = v.opt_string("organizationId");
    let limit = count_param(&mut v, "limit");
    let offset = count_param(&mut v, "offset");
    let sort_by = v.opt_string("sortBy");
    if sort_by.as_deref().is_some_and(|s| !SORTABLE.contains(&s)) {
        v.invalid("sortBy", "Invalid input: not a field of the API key");
    }
    let desc = match v.opt_string("sortDirection").as_deref() {
        None | Some("asc") => false,
        Some("desc") => true,
        Some(_) => {
            v.invalid(
                "sortDirection",
                "Invalid option: expected one of \"asc\"|\"desc\"",
            );
            false
        }
    };
    v.finish()?;
    let current = Current::require(&state, &req, Need::Session).await?;
    let result = async {
        if organization_id.is_some() {
            // Organization-owned keys need the organization plugin, which this service does not
            // pair with API keys: Better Auth answers 500 there; a clear 400 here.
            return Err(ApiError::Custom {
                status: StatusCode::BAD_REQUEST,
                code: "ORGANIZATION_PLUGIN_REQUIRED",
                message: "Organization plugin is required for organization-owned API keys. \
                          Please install and configure the organization plugin."
                    .into(),
            });
        }
        let mut keys = state
            .store
            .list_api_keys(&current.user.id, sort_by.as_deref().map(|s| (s, desc)))
            .await?;
        if let Some(c) = config_id.as_deref() {
            let default = |x: &str| x.is_empty() || x == "default";
            keys.retain(|k| k.config_id == c || (default(c) && default(&k.config_id)));
        }
        let total = keys.len();
        let page: Vec<Value> = keys
            .iter()
            .skip(offset.unwrap_or(0))
            .take(limit.unwrap_or(usize::MAX))
            .map(|k| Value::Object(key_json(k)))
            .collect();
        if let Err(e) = p.sweep_expired(&state, false).await {
            tracing::warn!(error = %e, "could not delete expired API keys");
        }
        let mut out = Map::new();
        out.insert("apiKeys".into(), Value::Array(page));
        out.insert("total".into(), total.into());
        if let Some(l) = limit {
            out.insert("limit".into(), l.into());
        }
        if let Some(o) = offset {
            out.insert("offset".into(), o.into());
        }
        Ok::<_, ApiError>(Value::Object(out))
    }
    .await;
    current.answer(result)
}

/// `{message, code[, details]}` of a refusal, as verify reports it.
fn error_body(e: &ApiError) -> Option<Value> {
    match e {
        ApiError::Custom { code, message, .. } => Some(json!({ "message": message, "code": code })),
        ApiError::Detailed {
            code,
            message,
            details,
            ..
        } => Some(json!({ "message": message, "code": code, "details": details })),
        ApiError::Code(c) => Some(json!({ "message": c.message(), "code": c.code() })),
        _ => None,
    }
}

#[tracing::instrument(name = "api_key.verify", skip_all)]
async fn verify_key(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let p = plugin(&state)?;
    if !p.server_call(&req) {
        return Ok(not_found().await);
    }
    let body = read_checked_body(&state, &req, payload, false).await?;
    let mut v = Validator::body(body.as_ref());
    v.opt_string("configId");
    let key = v.string("key");
    let permissions = permissions_field(&mut v, false).flatten();
    v.finish()?;
    match verify::validate(p, &state, &key, permissions.as_ref()).await {
        Ok(row) => Ok(HttpResponse::Ok()
            .json(json!({ "valid": true, "error": null, "key": Value::Object(key_json(&row)) }))),
        Err(e) => match error_body(&e) {
            Some(error) => {
                Ok(HttpResponse::Ok().json(json!({ "valid": false, "error": error, "key": null })))
            }
            None => Err(e),
        },
    }
}

#[tracing::instrument(name = "api_key.delete_all_expired", skip_all)]
async fn delete_all_expired(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let p = plugin(&state)?;
    if !p.server_call(&req) {
        return Ok(not_found().await);
    }
    p.sweep_expired(&state, true).await?;
    Ok(HttpResponse::Ok().json(json!({ "success": true, "error": null })))
}
