//! `/admin/*` (Better Auth's `plugins/admin/routes.ts`). Each route checks the caller's
//! permission first, with its own error code, then does what Better Auth's does.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::Duration;
use indexmap::IndexMap;
use secrecy::ExposeSecret;
use serde_json::{json, Map, Value};
use utoipa::openapi::path::HttpMethod::{Get, Post};

use super::{AdminError, AdminPlugin};
use crate::auth::access::Actions;
use crate::auth::cookies::DONT_REMEMBER;
use crate::auth::crypto::Signed;
use crate::auth::fields::check_type;
use crate::config::Settings;
use crate::error::{ApiError, ErrorCode};
use crate::flows::credentials::{check_password_length, hash_password};
use crate::flows::operator;
use crate::flows::session::{last_per_name, new_session, session_cookies};
use crate::flows::users::{new_user, NewUser};
use crate::http::extract::{js_string, query_object, read_checked_body, Validator};
use crate::http::route::{get, post};
use crate::http::{json_with_cookies, request_cookies, ClientInfo, Current, Need};
use crate::openapi::builder::{array_of, boolean, object, session, string, user, Op};
use crate::state::AppState;
use crate::store::json::{session_json, user_json};
use crate::store::user_list::{Operator, UserQuery, Where};
use crate::store::users::UserUpdate;
use crate::store::{StoreError, User};

/// The cookie that keeps the admin's own session while they impersonate someone.
const ADMIN_SESSION: &str = "admin_session";

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(post("/admin/set-role", set_role))
        .service(get("/admin/get-user", get_user))
        .service(post("/admin/create-user", create_user))
        .service(post("/admin/update-user", update_user))
        .service(get("/admin/list-users", list_users))
        .service(post("/admin/list-user-sessions", list_user_sessions))
        .service(post("/admin/unban-user", unban_user))
        .service(post("/admin/ban-user", ban_user))
        .service(post("/admin/impersonate-user", impersonate_user))
        .service(post("/admin/stop-impersonating", stop_impersonating))
        .service(post("/admin/revoke-user-session", revoke_user_session))
        .service(post("/admin/revoke-user-sessions", revoke_user_sessions))
        .service(post("/admin/remove-user", remove_user))
        .service(post("/admin/set-user-password", set_user_password))
        .service(post("/admin/has-permission", has_permission));
}

fn plugin(state: &AppState) -> Result<&AdminPlugin, ApiError> {
    state
        .plugins
        .get::<AdminPlugin>()
        .ok_or_else(|| anyhow::anyhow!("the admin plugin is not enabled").into())
}

/// Better Auth's `adminMiddleware`: an authoritative session (never the cookie cache), else
/// 401 with an empty body (under a JSON content type, as Better Auth's bare `APIError`).
async fn admin_session(state: &AppState, req: &HttpRequest) -> Result<Current, ApiError> {
    match Current::require(state, req, Need::Sensitive).await {
        Err(ApiError::Code(ErrorCode::Unauthorized)) => {
            Err(ApiError::EmptyJson(StatusCode::UNAUTHORIZED))
        }
        Err(ApiError::WithCookies(inner, cookies))
            if matches!(*inner, ApiError::Code(ErrorCode::Unauthorized)) =>
        {
            Err(ApiError::EmptyJson(StatusCode::UNAUTHORIZED).with_cookies(cookies))
        }
        other => other,
    }
}

/// A permission a route needs, and the error it answers without it.
pub(super) struct Rule(&'static str, &'static str, AdminError);

const SET_ROLE: Rule = Rule("user", "set-role", AdminError::NotAllowedToChangeRole);
const GET: Rule = Rule("user", "get", AdminError::NotAllowedToGetUser);
const CREATE: Rule = Rule("user", "create", AdminError::NotAllowedToCreateUsers);
const UPDATE: Rule = Rule("user", "update", AdminError::NotAllowedToUpdateUsers);
const LIST: Rule = Rule("user", "list", AdminError::NotAllowedToListUsers);
const LIST_SESSIONS: Rule = Rule("session", "list", AdminError::NotAllowedToListUsersSessions);
const BAN: Rule = Rule("user", "ban", AdminError::NotAllowedToBanUsers);
const IMPERSONATE: Rule = Rule(
    "user",
    "impersonate",
    AdminError::NotAllowedToImpersonateUsers,
);
const REVOKE: Rule = Rule(
    "session",
    "revoke",
    AdminError::NotAllowedToRevokeUsersSessions,
);
const DELETE: Rule = Rule("user", "delete", AdminError::NotAllowedToDeleteUsers);
const SET_PASSWORD: Rule = Rule(
    "user",
    "set-password",
    AdminError::NotAllowedToSetUsersPassword,
);
const SET_EMAIL: Rule = Rule("user", "set-email", AdminError::NotAllowedToSetUsersEmail);
const SET_PHONE: Rule = Rule(
    "user",
    "set-phone",
    AdminError::NotAllowedToSetUsersPhoneNumber,
);

impl AdminPlugin {
    /// `rule`'s error unless `user` may do what it names.
    fn check(&self, user: &User, rule: &Rule) -> Result<(), AdminError> {
        if self.may(user, rule.0, rule.1) {
            Ok(())
        } else {
            Err(rule.2)
        }
    }
}

/// The caller's session when they may do what `rule` names, else its error.
async fn allowed<'s>(
    state: &'s AppState,
    req: &HttpRequest,
    rule: &Rule,
) -> Result<(Current, &'s AdminPlugin), ApiError> {
    let current = admin_session(state, req).await?;
    let admin = plugin(state).map_err(|e| current.fail(e))?;
    if let Err(e) = admin.check(&current.user, rule) {
        return Err(current.fail(e));
    }
    Ok((current, admin))
}

fn user_not_found() -> ApiError {
    ApiError::with_status(ErrorCode::UserNotFound, StatusCode::NOT_FOUND)
}

/// `z.union([z.string(), z.array(z.string())])` of a role; zod's message otherwise.
fn roles_of(v: &mut Validator<'_>, key: &str) -> Option<Vec<String>> {
    match v.raw(key) {
        Some(Value::String(s)) => Some(vec![s.clone()]),
        Some(Value::Array(items)) if items.iter().all(Value::is_string) => Some(
            items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
        ),
        _ => {
            v.invalid(key, "Invalid input");
            None
        }
    }
}

/// Roles given in a body's `data` (any JSON): each must be a string, and a defined role.
fn checked_roles(admin: &AdminPlugin, value: &Value) -> Result<String, ApiError> {
    let list: Vec<&Value> = match value {
        Value::Array(items) => items.iter().collect(),
        one => vec![one],
    };
    let mut roles = Vec::new();
    for role in list {
        let Some(role) = role.as_str() else {
            return Err(AdminError::InvalidRoleType.into());
        };
        if !admin.role_exists(role) {
            return Err(AdminError::NotAllowedToSetNonExistentValue.into());
        }
        roles.push(role);
    }
    Ok(roles.join(","))
}

fn user_body(state: &AppState, user: &User) -> Value {
    user_json(user, state.store.user_fields())
}

#[tracing::instrument(name = "admin.set_role", skip_all)]
async fn set_role(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = read_checked_body(&state, &req, payload, false).await?;
    let mut v = Validator::body(body.as_ref());
    let user_id = v.coerce_string("userId");
    let roles = roles_of(&mut v, "role");
    v.finish()?;
    let roles = roles.unwrap_or_default();
    let (current, admin) = allowed(&state, &req, &SET_ROLE).await?;
    if roles.iter().any(|r| !admin.role_exists(r)) {
        return Err(current.fail(AdminError::NotAllowedToSetNonExistentValue));
    }
    let update = UserUpdate {
        extra: Map::from_iter([("role".to_owned(), Value::String(roles.join(",")))]),
        ..UserUpdate::default()
    };
    let user = update_existing(&state, &user_id, &update)
        .await
        .map_err(|e| current.fail(e))?;
    let body = json!({ "user": user_body(&state, &user) });
    Ok(current.respond(Vec::new(), &body))
}

/// Updates the user, 404 `USER_NOT_FOUND` when there is none.
async fn update_existing(
    state: &AppState,
    user_id: &str,
    update: &UserUpdate,
) -> Result<User, ApiError> {
    if state.store.find_user_by_id(user_id).await?.is_none() {
        return Err(user_not_found());
    }
    state
        .store
        .update_user(user_id, update, state.clock.now())
        .await?
        .ok_or_else(user_not_found)
}

#[tracing::instrument(name = "admin.get_user", skip_all)]
async fn get_user(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let query = query_object(&req);
    let mut v = Validator::query(&query);
    let id = v.string("id");
    v.finish()?;
    let (current, _) = allowed(&state, &req, &GET).await?;
    let result = async {
        let user = state.store.find_user_by_id(&id).await?;
        Ok(user_body(&state, &user.ok_or_else(user_not_found)?))
    };
    let result = result.await;
    current.answer(result)
}

#[tracing::instrument(name = "admin.create_user", skip_all)]
async fn create_user(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = read_checked_body(&state, &req, payload, false).await?;
    let mut v = Validator::body(body.as_ref());
    let email = v.string("email");
    let password = v.opt_string("password");
    let name = v.string("name");
    let role = v.raw("role").cloned();
    if role.is_some() {
        roles_of(&mut v, "role");
    }
    let data = match v.raw("data") {
        None => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(other) => {
            let got = crate::auth::fields::received(other);
            v.invalid(
                "data",
                &format!("Invalid input: expected record, received {got}"),
            );
            Map::new()
        }
    };
    v.finish()?;
    let (current, admin) = allowed(&state, &req, &CREATE).await?;
    let created = create(&state, admin, &current, email, password, name, role, data)
        .await
        .map_err(|e| current.fail(e))?;
    let body = json!({ "user": user_body(&state, &created) });
    Ok(current.respond(Vec::new(), &body))
}

#[allow(clippy::too_many_arguments)]
async fn create(
    state: &AppState,
    admin: &AdminPlugin,
    current: &Current,
    email: String,
    password: Option<String>,
    name: String,
    role: Option<Value>,
    mut data: Map<String, Value>,
) -> Result<User, ApiError> {
    let data_role = data.shift_remove("role");
    let requested = role.or(data_role);
    let role = match &requested {
        Some(r) => {
            admin.check(&current.user, &SET_ROLE)?;
            Some(checked_roles(admin, r)?)
        }
        None => None,
    };
    if ["banned", "banReason", "banExpires"]
        .iter()
        .any(|k| data.contains_key(*k))
    {
        admin.check(&current.user, &BAN)?;
    }
    let email = email.to_lowercase();
    if !crate::auth::email::is_valid(&email) {
        return Err(ErrorCode::InvalidEmail.into());
    }
    if let Some(p) = &password {
        if crate::auth::password::js_length(p)
            > state.settings.email_and_password.max_password_length
        {
            return Err(ErrorCode::PasswordTooLong.into());
        }
    }
    if state.store.find_user_by_email(&email).await?.is_some() {
        return Err(AdminError::UserAlreadyExistsUseAnotherEmail.into());
    }
    let hash = match password.filter(|p| !p.is_empty()) {
        Some(p) => Some(hash_password(state, p).await?),
        None => None,
    };
    let extra = checked_extra(state, &data)?;
    let mut user = new_user(
        state,
        NewUser {
            name,
            email,
            email_verified: data.get("emailVerified") == Some(&Value::Bool(true)),
            image: data.get("image").and_then(Value::as_str).map(str::to_owned),
            input: Map::new(),
        },
    )
    .await?;
    user.extra.extend(extra);
    user.extra.insert(
        "role".into(),
        Value::String(role.unwrap_or_else(|| admin.settings.default_role.clone())),
    );
    let stored = match hash {
        Some(hash) => crate::flows::users::store_with_password(state, &user, hash).await,
        None => {
            state
                .store
                .insert_user(state.store.connection(), &user)
                .await
        }
    };
    match stored {
        Ok(()) => Ok(user),
        Err(StoreError::Conflict) => Err(AdminError::UserAlreadyExistsUseAnotherEmail.into()),
        Err(e) => Err(e.into()),
    }
}

/// The declared user columns among `data`, each checked against its type.
fn checked_extra(
    state: &AppState,
    data: &Map<String, Value>,
) -> Result<Map<String, Value>, ApiError> {
    let mut out = Map::new();
    for (key, value) in data {
        let Some(def) = state.store.user_fields().get(key) else {
            continue;
        };
        let value = if value.is_null() {
            Value::Null
        } else {
            check_type(def.field_type, value)
                .map_err(|m| ApiError::validation(format!("[body.data.{key}] {m}")))?
        };
        out.insert(key.clone(), value);
    }
    Ok(out)
}

#[tracing::instrument(name = "admin.update_user", skip_all)]
async fn update_user(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = read_checked_body(&state, &req, payload, false).await?;
    let mut v = Validator::body(body.as_ref());
    let user_id = v.coerce_string("userId");
    let data = match v.raw("data") {
        Some(Value::Object(m)) => m.clone(),
        other => {
            let got = other
                .map(crate::auth::fields::received)
                .unwrap_or("undefined");
            v.invalid(
                "data",
                &format!("Invalid input: expected record, received {got}"),
            );
            Map::new()
        }
    };
    v.finish()?;
    let (current, admin) = allowed(&state, &req, &UPDATE).await?;
    let user = apply_update(&state, admin, &current, &user_id, data)
        .await
        .map_err(|e| current.fail(e))?;
    let body = user_body(&state, &user);
    Ok(current.respond(Vec::new(), &body))
}

async fn apply_update(
    state: &AppState,
    admin: &AdminPlugin,
    current: &Current,
    user_id: &str,
    mut data: Map<String, Value>,
) -> Result<User, ApiError> {
    if data.is_empty() {
        return Err(AdminError::NoDataToUpdate.into());
    }
    if data.contains_key("password") {
        return Err(AdminError::PasswordCannotBeUpdatedViaUpdateUser.into());
    }
    if data.contains_key("id") {
        return Err(AdminError::UserIdCannotBeUpdated.into());
    }
    if let Some(role) = data.get("role").cloned() {
        admin.check(&current.user, &SET_ROLE)?;
        data.insert("role".into(), Value::String(checked_roles(admin, &role)?));
    }
    let banning = data.get("banned") == Some(&Value::Bool(true));
    if ["banned", "banReason", "banExpires"]
        .iter()
        .any(|k| data.contains_key(*k))
    {
        admin.check(&current.user, &BAN)?;
        if banning && user_id == current.user.id {
            return Err(AdminError::YouCannotBanYourself.into());
        }
    }
    let mut email = None;
    if data.contains_key("email") || data.contains_key("emailVerified") {
        admin.check(&current.user, &SET_EMAIL)?;
        if let Some(value) = data.get("email") {
            let new = js_string(Some(value)).to_lowercase();
            if !crate::auth::email::is_valid(&new) {
                return Err(ErrorCode::InvalidEmail.into());
            }
            if let Some(other) = state.store.find_user_by_email(&new).await? {
                if other.id != user_id {
                    return Err(AdminError::UserAlreadyExistsUseAnotherEmail.into());
                }
            }
            email = Some(new);
        }
    }
    if data.contains_key("phoneNumber") || data.contains_key("phoneNumberVerified") {
        admin.check(&current.user, &SET_PHONE)?;
    }
    let Some(before) = state.store.find_user_by_id(user_id).await? else {
        return Err(user_not_found());
    };
    let update = UserUpdate {
        name: data.get("name").and_then(Value::as_str).map(str::to_owned),
        image: match data.get("image") {
            Some(Value::Null) => Some(None),
            Some(Value::String(s)) => Some(Some(s.clone())),
            _ => None,
        },
        extra: checked_extra(state, &data)?,
    };
    let now = state.clock.now();
    let mut user = state
        .store
        .update_user(user_id, &update, now)
        .await?
        .ok_or_else(user_not_found)?;
    let verified = match data.get("emailVerified") {
        Some(Value::Bool(b)) => Some(*b),
        _ => None,
    };
    if email.is_some() || verified.is_some() {
        let verified = verified.unwrap_or(before.email_verified);
        user = match state
            .store
            .update_user_email(user_id, email.as_deref(), verified, now)
            .await
        {
            Ok(Some(u)) => u,
            Ok(None) => return Err(user_not_found()),
            Err(StoreError::Conflict) => {
                return Err(AdminError::UserAlreadyExistsUseAnotherEmail.into())
            }
            Err(e) => return Err(e.into()),
        };
    }
    if banning {
        state
            .store
            .delete_user_sessions(state.store.connection(), user_id)
            .await?;
    }
    Ok(user)
}

#[tracing::instrument(name = "admin.list_users", skip_all)]
async fn list_users(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let query = query_object(&req);
    let mut v = Validator::query(&query);
    let search_value = v.opt_string("searchValue");
    let search_field = one_of(&mut v, "searchField", &["email", "name"]);
    let search_operator = one_of(
        &mut v,
        "searchOperator",
        &["contains", "starts_with", "ends_with"],
    );
    let limit = v.opt_string("limit");
    let offset = v.opt_string("offset");
    let sort_by = v.opt_string("sortBy");
    let sort_direction = one_of(&mut v, "sortDirection", &["asc", "desc"]);
    let filter_field = v.opt_string("filterField");
    let filter_value = v.raw("filterValue").cloned();
    let filter_operator = one_of(
        &mut v,
        "filterOperator",
        &[
            "eq",
            "ne",
            "lt",
            "lte",
            "gt",
            "gte",
            "in",
            "not_in",
            "contains",
            "starts_with",
            "ends_with",
        ],
    );
    v.finish()?;
    let (current, _) = allowed(&state, &req, &LIST).await?;
    // JavaScript's `Number(x) || undefined`.
    let number = |s: &Option<String>| {
        s.as_deref()
            .and_then(|s| s.trim().parse::<f64>().ok())
            .filter(|n| *n != 0.0 && n.is_finite() && *n > 0.0)
            .map(|n| n as u64)
    };
    let mut q = UserQuery {
        limit: number(&limit),
        offset: number(&offset),
        sort: sort_by.map(|f| (f, sort_direction.as_deref() == Some("desc"))),
        ..UserQuery::default()
    };
    if let Some(value) = search_value.filter(|s| !s.is_empty()) {
        q.conditions.push(Where {
            field: search_field.unwrap_or_else(|| "email".into()),
            operator: Operator::parse(search_operator.as_deref().unwrap_or("contains"))
                .unwrap_or(Operator::Contains),
            value: Value::String(value),
        });
    }
    if let Some(value) = filter_value {
        q.conditions.push(Where {
            field: filter_field.unwrap_or_else(|| "email".into()),
            operator: Operator::parse(filter_operator.as_deref().unwrap_or("eq"))
                .unwrap_or(Operator::Eq),
            value,
        });
    }
    let body = match state
        .store
        .list_users(&q)
        .await
        .map_err(|e| current.fail(e))?
    {
        Ok((users, total)) => {
            let mut body = Map::new();
            let users: Vec<Value> = users.iter().map(|u| user_body(&state, u)).collect();
            body.insert("users".into(), Value::Array(users));
            body.insert("total".into(), total.into());
            if let Some(limit) = q.limit {
                body.insert("limit".into(), limit.into());
            }
            if let Some(offset) = q.offset {
                body.insert("offset".into(), offset.into());
            }
            Value::Object(body)
        }
        // Better Auth answers an empty page when the adapter refuses the query.
        Err(_) => json!({ "users": [], "total": 0 }),
    };
    Ok(current.respond(Vec::new(), &body))
}

/// An optional `z.enum([...])` value, with zod's message for any other.
fn one_of(v: &mut Validator<'_>, key: &str, options: &[&str]) -> Option<String> {
    let value = v.opt_string(key)?;
    if options.contains(&value.as_str()) {
        return Some(value);
    }
    let list: Vec<String> = options.iter().map(|o| format!("\"{o}\"")).collect();
    v.invalid(
        key,
        &format!("Invalid option: expected one of {}", list.join("|")),
    );
    None
}

/// The `{userId}` body of several routes (`z.coerce.string()`).
async fn user_id_body(
    state: &AppState,
    req: &HttpRequest,
    payload: web::Payload,
) -> Result<String, ApiError> {
    let body = read_checked_body(state, req, payload, false).await?;
    let mut v = Validator::body(body.as_ref());
    let user_id = v.coerce_string("userId");
    v.finish()?;
    Ok(user_id)
}

#[tracing::instrument(name = "admin.list_user_sessions", skip_all)]
async fn list_user_sessions(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let user_id = user_id_body(&state, &req, payload).await?;
    let (current, _) = allowed(&state, &req, &LIST_SESSIONS).await?;
    let result = async {
        let sessions = state.store.list_sessions(&user_id).await?;
        let list: Vec<Value> = sessions.iter().map(session_json).collect();
        Ok(json!({ "sessions": list }))
    };
    let result = result.await;
    current.answer(result)
}

#[tracing::instrument(name = "admin.unban_user", skip_all)]
async fn unban_user(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let user_id = user_id_body(&state, &req, payload).await?;
    let (current, _) = allowed(&state, &req, &BAN).await?;
    let result = async {
        let user = update_existing(&state, &user_id, &operator::unbanned()).await?;
        Ok(json!({ "user": user_body(&state, &user) }))
    };
    let result = result.await;
    current.answer(result)
}

#[tracing::instrument(name = "admin.ban_user", skip_all)]
async fn ban_user(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = read_checked_body(&state, &req, payload, false).await?;
    let mut v = Validator::body(body.as_ref());
    let user_id = v.coerce_string("userId");
    let reason = v.opt_string("banReason");
    let expires_in = v.opt_number("banExpiresIn");
    v.finish()?;
    let (current, _) = allowed(&state, &req, &BAN).await?;
    let banned = ban(&state, &current, &user_id, reason, expires_in)
        .await
        .map_err(|e| current.fail(e))?;
    let body = json!({ "user": user_body(&state, &banned) });
    Ok(current.respond(Vec::new(), &body))
}

async fn ban(
    state: &AppState,
    current: &Current,
    user_id: &str,
    reason: Option<String>,
    expires_in: Option<f64>,
) -> Result<User, ApiError> {
    let Some(user) = state.store.find_user_by_id(user_id).await? else {
        return Err(user_not_found());
    };
    if user_id == current.user.id {
        return Err(AdminError::YouCannotBanYourself.into());
    }
    operator::ban(state, &user, reason, expires_in).await
}

#[tracing::instrument(name = "admin.impersonate_user", skip_all)]
async fn impersonate_user(
    state: web::Data<AppState>,
    req: HttpRequest,
    client: ClientInfo,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let user_id = user_id_body(&state, &req, payload).await?;
    let (current, admin) = allowed(&state, &req, &IMPERSONATE).await?;
    let (target, session) = impersonate(&state, admin, &current, &user_id, &client)
        .await
        .map_err(|e| current.fail(e))?;
    let secret = state.settings.secret.expose_secret().as_bytes();
    let jar = request_cookies(&req);
    let remembered = match jar.signed(secret, &state.cookies.name(DONT_REMEMBER)) {
        Signed::Valid(v) => v.to_owned(),
        _ => String::new(),
    };
    let mut cookies = current.cookies.clone();
    cookies.extend(state.cookies.clear_session(&jar));
    cookies.push(state.cookies.signed(
        secret,
        ADMIN_SESSION,
        &format!("{}:{remembered}", current.session.token),
        Some(state.cookies.session_max_age()),
    ));
    cookies.extend(session_cookies(&state, &session, &target, true));
    let body = json!({ "session": session_json(&session), "user": user_body(&state, &target) });
    Ok(json_with_cookies(last_per_name(cookies), &body))
}

async fn impersonate(
    state: &AppState,
    admin: &AdminPlugin,
    current: &Current,
    user_id: &str,
    client: &ClientInfo,
) -> Result<(User, crate::store::Session), ApiError> {
    let Some(target) = state.store.find_user_by_id(user_id).await? else {
        return Err(user_not_found());
    };
    if admin.is_admin(&target)
        && !(admin.settings.allow_impersonating_admins
            || admin.may(&current.user, "user", "impersonate-admins"))
    {
        return Err(AdminError::YouCannotImpersonateAdmins.into());
    }
    let mut session = new_session(state, &target.id, client, true).await?;
    session.expires_at =
        state.clock.now() + Duration::seconds(admin.settings.impersonation_session_duration);
    session.extra.insert(
        "impersonatedBy".into(),
        Value::String(current.user.id.clone()),
    );
    state
        .store
        .insert_session(state.store.connection(), &session)
        .await?;
    tracing::info!("impersonation started");
    Ok((target, session))
}

#[tracing::instrument(name = "admin.stop_impersonating", skip_all)]
async fn stop_impersonating(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    read_checked_body(&state, &req, payload, false).await?;
    let current = Current::require(&state, &req, Need::Session)
        .await
        .map_err(|e| match e {
            ApiError::Code(ErrorCode::Unauthorized) => {
                ApiError::EmptyJson(StatusCode::UNAUTHORIZED)
            }
            other => other,
        })?;
    let internal = |m: &'static str| ApiError::message_only(StatusCode::INTERNAL_SERVER_ERROR, m);
    let Some(admin_id) = current
        .session
        .extra
        .get("impersonatedBy")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
    else {
        let e = ApiError::message_only(StatusCode::BAD_REQUEST, "You are not impersonating anyone");
        return Err(current.fail(e));
    };
    let admin_user = state
        .store
        .find_user_by_id(&admin_id)
        .await
        .map_err(|e| current.fail(e))?
        .ok_or_else(|| current.fail(internal("Failed to find user")))?;
    let secret = state.settings.secret.expose_secret().as_bytes();
    let cookie_name = state.cookies.name(ADMIN_SESSION);
    let Signed::Valid(value) = current.jar.signed(secret, &cookie_name) else {
        return Err(current.fail(internal("Failed to find admin session")));
    };
    let (token, remembered) = value.split_once(':').unwrap_or((value, ""));
    let found = state
        .store
        .find_session_with_user(token)
        .await
        .map_err(|e| current.fail(e))?
        .filter(|(s, _)| s.user_id == admin_user.id && s.expires_at > state.clock.now());
    let Some((admin_session, admin)) = found else {
        return Err(current.fail(internal("Failed to find admin session")));
    };
    state
        .store
        .delete_session(&current.session.token)
        .await
        .map_err(|e| current.fail(e))?;
    let mut cookies = session_cookies(&state, &admin_session, &admin, !remembered.is_empty());
    cookies.push(state.cookies.removal(&cookie_name));
    let body =
        json!({ "session": session_json(&admin_session), "user": user_body(&state, &admin) });
    Ok(current.respond(cookies, &body))
}

#[tracing::instrument(name = "admin.revoke_user_session", skip_all)]
async fn revoke_user_session(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = read_checked_body(&state, &req, payload, false).await?;
    let mut v = Validator::body(body.as_ref());
    let token = v.string("sessionToken");
    v.finish()?;
    let (current, _) = allowed(&state, &req, &REVOKE).await?;
    state
        .store
        .delete_session(&token)
        .await
        .map_err(|e| current.fail(e))?;
    Ok(current.respond(Vec::new(), &json!({ "success": true })))
}

#[tracing::instrument(name = "admin.revoke_user_sessions", skip_all)]
async fn revoke_user_sessions(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let user_id = user_id_body(&state, &req, payload).await?;
    let (current, _) = allowed(&state, &req, &REVOKE).await?;
    state
        .store
        .delete_user_sessions(state.store.connection(), &user_id)
        .await
        .map_err(|e| current.fail(e))?;
    Ok(current.respond(Vec::new(), &json!({ "success": true })))
}

#[tracing::instrument(name = "admin.remove_user", skip_all)]
async fn remove_user(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let user_id = user_id_body(&state, &req, payload).await?;
    let (current, _) = allowed(&state, &req, &DELETE).await?;
    let me = current.user.id.clone();
    let result = async {
        if user_id == me {
            return Err(AdminError::YouCannotRemoveYourself.into());
        }
        if state.store.find_user_by_id(&user_id).await?.is_none() {
            return Err(user_not_found());
        }
        state.store.delete_user(&user_id).await?;
        tracing::info!("user removed by an admin");
        Ok(json!({ "success": true }))
    };
    let result = result.await;
    current.answer(result)
}

#[tracing::instrument(name = "admin.set_user_password", skip_all)]
async fn set_user_password(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = read_checked_body(&state, &req, payload, false).await?;
    let mut v = Validator::body(body.as_ref());
    let password = v.string_non_empty("newPassword", "newPassword cannot be empty");
    let user_id = v.coerce_non_empty("userId", "userId cannot be empty");
    v.finish()?;
    let (current, _) = allowed(&state, &req, &SET_PASSWORD).await?;
    let result = set_password(&state, &user_id, password).await;
    current.answer(result.map(|()| json!({ "status": true })))
}

async fn set_password(state: &AppState, user_id: &str, password: String) -> Result<(), ApiError> {
    check_password_length(state, &password)?;
    let Some(user) = state.store.find_user_by_id(user_id).await? else {
        return Err(user_not_found());
    };
    operator::set_password(state, &user, password, false).await?;
    tracing::info!("password set by an admin");
    Ok(())
}

/// `permissions` (or the older `permission`): resource → actions.
fn permissions_of(body: &Map<String, Value>) -> Option<IndexMap<String, Actions>> {
    let value = body.get("permissions").or_else(|| body.get("permission"))?;
    let map = value.as_object()?;
    map.iter()
        .map(|(resource, actions)| {
            let list = actions
                .as_array()?
                .iter()
                .map(|a| a.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()?;
            Some((resource.clone(), Actions::from(list)))
        })
        .collect()
}

#[tracing::instrument(name = "admin.has_permission", skip_all)]
async fn has_permission(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = read_checked_body(&state, &req, payload, false).await?;
    let object = body.as_ref().and_then(Value::as_object);
    let given =
        object.is_some_and(|m| m.contains_key("permissions") || m.contains_key("permission"));
    let permissions = object.and_then(permissions_of);
    let Some(permissions) = permissions.filter(|_| given) else {
        return Err(ApiError::message_only(
            StatusCode::BAD_REQUEST,
            "invalid permission check. no permission(s) were passed.",
        ));
    };
    let current = admin_session(&state, &req).await?;
    let admin = plugin(&state).map_err(|e| current.fail(e))?;
    let allowed = admin.has_permission(
        &current.user.id,
        super::role_of(&current.user),
        &permissions,
    );
    Ok(current.respond(Vec::new(), &json!({ "error": null, "success": allowed })))
}

pub fn openapi(settings: &Settings) -> Vec<Op> {
    let user = || user(settings);
    let user_wrapped = || object(vec![("user", user())], &["user"], true).into();
    let success = || object(vec![("success", boolean())], &["success"], true).into();
    let user_id = || vec![("userId", string())];
    vec![
        Op::new(Post, "/admin/set-role", "Admin", "Set the role of a user")
            .body(
                vec![("userId", string()), ("role", string())],
                &["userId", "role"],
            )
            .ok(user_wrapped()),
        Op::new(Get, "/admin/get-user", "Admin", "Get an existing user")
            .query("id", true)
            .ok(user()),
        Op::new(Post, "/admin/create-user", "Admin", "Create a new user")
            .body(
                vec![
                    ("email", string()),
                    ("password", string()),
                    ("name", string()),
                ],
                &["email", "name"],
            )
            .ok(user_wrapped()),
        Op::new(Post, "/admin/update-user", "Admin", "Update a user")
            .body(
                vec![
                    ("userId", string()),
                    ("data", object(Vec::<(String, _)>::new(), &[], true).into()),
                ],
                &["userId", "data"],
            )
            .ok(user()),
        Op::new(Get, "/admin/list-users", "Admin", "List users")
            .query("searchValue", false)
            .query("limit", false)
            .query("offset", false)
            .ok(object(vec![("users", array_of(user()))], &["users"], true).into()),
        Op::new(
            Post,
            "/admin/list-user-sessions",
            "Admin",
            "List user sessions",
        )
        .body(user_id(), &["userId"])
        .ok(object(vec![("sessions", array_of(session()))], &["sessions"], true).into()),
        Op::new(Post, "/admin/unban-user", "Admin", "Unban a user")
            .body(user_id(), &["userId"])
            .ok(user_wrapped()),
        Op::new(Post, "/admin/ban-user", "Admin", "Ban a user")
            .body(
                vec![("userId", string()), ("banReason", string())],
                &["userId"],
            )
            .ok(user_wrapped()),
        Op::new(
            Post,
            "/admin/impersonate-user",
            "Admin",
            "Impersonate a user",
        )
        .body(user_id(), &["userId"])
        .ok(object(vec![("session", session()), ("user", user())], &[], true).into()),
        Op::new(
            Post,
            "/admin/stop-impersonating",
            "Admin",
            "Stop impersonating",
        )
        .ok(object(vec![("session", session()), ("user", user())], &[], true).into()),
        Op::new(
            Post,
            "/admin/revoke-user-session",
            "Admin",
            "Revoke a user session",
        )
        .body(vec![("sessionToken", string())], &["sessionToken"])
        .ok(success()),
        Op::new(
            Post,
            "/admin/revoke-user-sessions",
            "Admin",
            "Revoke all user sessions",
        )
        .body(user_id(), &["userId"])
        .ok(success()),
        Op::new(Post, "/admin/remove-user", "Admin", "Remove a user")
            .body(user_id(), &["userId"])
            .ok(success()),
        Op::new(
            Post,
            "/admin/set-user-password",
            "Admin",
            "Set a user's password",
        )
        .body(
            vec![("newPassword", string()), ("userId", string())],
            &["newPassword", "userId"],
        )
        .ok(object(vec![("status", boolean())], &["status"], true).into()),
        Op::new(
            Post,
            "/admin/has-permission",
            "Admin",
            "Check if the user has permission",
        )
        .body(
            vec![(
                "permissions",
                object(Vec::<(String, _)>::new(), &[], true).into(),
            )],
            &["permissions"],
        )
        .ok(object(vec![("success", boolean())], &["success"], true).into()),
    ]
    .into_iter()
    // Without a session the admin routes answer Better Auth's bare 401.
    .map(Op::bare_unauthorized)
    .collect()
}
