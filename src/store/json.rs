//! User and Session as JSON (docs/compatibility.md §5.1): the wire shapes, the shapes Better Auth
//! keeps in secondary storage (docs/compatibility.md §8.7), and back from a cookie cache or a Redis
//! entry. Shared by `routes/` and the Redis storage, so it lives beside the types it shapes.

use serde_json::{Map, Value};

use super::{Account, Session, User, UserFields};
use crate::auth::crypto::iso;
use crate::auth::fields::parse_date;

/// A user as clients see it: the custom fields declared `returned` only.
pub fn user_json(user: &User, fields: &UserFields) -> Value {
    user_value(user, fields, false)
}

/// The whole user row, custom fields not returned to clients included, as Better Auth keeps
/// it in secondary storage (docs/compatibility.md §8.7).
pub fn stored_user_json(user: &User, fields: &UserFields) -> Value {
    user_value(user, fields, true)
}

fn user_value(user: &User, fields: &UserFields, all: bool) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), user.id.clone().into());
    m.insert("name".into(), user.name.clone().into());
    m.insert("email".into(), user.email.clone().into());
    m.insert("emailVerified".into(), user.email_verified.into());
    m.insert(
        "image".into(),
        user.image.clone().map(Value::String).unwrap_or(Value::Null),
    );
    m.insert("createdAt".into(), iso(&user.created_at).into());
    m.insert("updatedAt".into(), iso(&user.updated_at).into());
    for (name, def) in fields.iter() {
        if all || def.returned {
            m.insert(
                name.clone(),
                user.extra.get(name).cloned().unwrap_or(Value::Null),
            );
        }
    }
    Value::Object(m)
}

/// A session row, dates as ISO text: on the wire and in Redis alike.
pub fn session_json(s: &Session) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), s.id.clone().into());
    m.insert("token".into(), s.token.clone().into());
    m.insert("userId".into(), s.user_id.clone().into());
    m.insert("expiresAt".into(), iso(&s.expires_at).into());
    m.insert("createdAt".into(), iso(&s.created_at).into());
    m.insert("updatedAt".into(), iso(&s.updated_at).into());
    // `None` becomes `null`.
    m.insert("ipAddress".into(), s.ip_address.clone().into());
    m.insert("userAgent".into(), s.user_agent.clone().into());
    for (k, v) in &s.extra {
        m.insert(k.clone(), v.clone());
    }
    Value::Object(m)
}

fn str_of(m: &Map<String, Value>, k: &str) -> Option<String> {
    m.get(k)?.as_str().map(str::to_owned)
}

fn date_of(m: &Map<String, Value>, k: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    parse_date(m.get(k)?.as_str()?)
}

/// A Session from a cache payload; `None` when a required member is missing.
pub fn session_from_json(v: &Value) -> Option<Session> {
    let m = v.as_object()?;
    Some(Session {
        id: str_of(m, "id")?,
        token: str_of(m, "token")?,
        user_id: str_of(m, "userId")?,
        expires_at: date_of(m, "expiresAt")?,
        created_at: date_of(m, "createdAt").unwrap_or_default(),
        updated_at: date_of(m, "updatedAt").unwrap_or_default(),
        ip_address: str_of(m, "ipAddress"),
        user_agent: str_of(m, "userAgent"),
        // Whatever else the payload carries: the plugins' session columns.
        extra: m
            .iter()
            .filter(|(k, _)| !super::sessions::NAMES.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    })
}

/// A User from a cache payload (Better Auth requires `id`, `email`, `name`).
pub fn user_from_json(v: &Value, fields: &UserFields) -> Option<User> {
    let m = v.as_object()?;
    let extra = fields
        .keys()
        .map(|k| (k.clone(), m.get(k).cloned().unwrap_or(Value::Null)))
        .collect();
    Some(User {
        id: str_of(m, "id")?,
        name: str_of(m, "name")?,
        email: str_of(m, "email")?,
        email_verified: m
            .get("emailVerified")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        image: str_of(m, "image"),
        created_at: date_of(m, "createdAt").unwrap_or_default(),
        updated_at: date_of(m, "updatedAt").unwrap_or_default(),
        extra,
    })
}

/// An account as listed to its owner (docs/compatibility.md §5.1): no secrets, `scope` as `scopes`.
pub fn account_json(a: &Account) -> Value {
    let scopes: Vec<Value> = a
        .scope
        .as_deref()
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| Value::String(s.to_owned()))
        .collect();
    serde_json::json!({
        "id": a.id,
        "providerId": a.provider_id,
        "accountId": a.account_id,
        "userId": a.user_id,
        "createdAt": iso(&a.created_at),
        "updatedAt": iso(&a.updated_at),
        "scopes": scopes,
    })
}
