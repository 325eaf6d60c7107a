//! `POST /sign-in/magic-link` and `GET /magic-link/verify` (Better Auth's
//! `plugins/magic-link/index.ts`).

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::Duration;
use rand::Rng;
use serde_json::{json, Map, Value};
use utoipa::openapi::path::HttpMethod::{Get, Post};

use super::MagicLinkPlugin;
use crate::auth::links::resolve_with_param;
use crate::config::Settings;
use crate::error::{ApiError, ErrorCode};
use crate::flows::passwordless::{user_for_proven_email, NewUserInput, Proven};
use crate::flows::session::{create_session, session_cookies};
use crate::http::extract::{
    check_query_callback, login_csrf, query_object, read_checked_body, Validator,
};
use crate::http::route::{get, post};
use crate::http::{json_with_cookies, redirect, ClientInfo};
use crate::mail::{Mail, MailKind};
use crate::openapi::builder::{boolean, object, session, string, user, Op};
use crate::state::AppState;
use crate::store::json::{session_json, user_json};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(post("/sign-in/magic-link", sign_in_magic_link))
        .service(get("/magic-link/verify", verify));
}

fn plugin(state: &AppState) -> Result<&MagicLinkPlugin, ApiError> {
    state
        .plugins
        .get::<MagicLinkPlugin>()
        .ok_or_else(|| anyhow::anyhow!("the magic-link plugin is not enabled").into())
}

/// `generateRandomString(32, "a-z", "A-Z")`.
fn new_token() -> String {
    const LETTERS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut rng = crate::auth::crypto::rng();
    (0..32)
        .map(|_| char::from(LETTERS[rng.gen_range(0..LETTERS.len())]))
        .collect()
}

/// `<baseURL>/magic-link/verify?token=…&callbackURL=…[&newUserCallbackURL=…][&errorCallbackURL=…]`,
/// encoded as `URLSearchParams` encodes.
fn verify_url(base_url: &str, token: &str, callbacks: [(&str, Option<&str>); 3]) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    query.append_pair("token", token);
    for (key, value) in callbacks {
        match (key, value) {
            ("callbackURL", v) => {
                query.append_pair(key, v.filter(|v| !v.is_empty()).unwrap_or("/"));
            }
            (_, Some(v)) if !v.is_empty() => {
                query.append_pair(key, v);
            }
            _ => {}
        }
    }
    format!("{base_url}/magic-link/verify?{}", query.finish())
}

#[tracing::instrument(name = "sign_in.magic_link", skip_all)]
pub async fn sign_in_magic_link(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = read_checked_body(&state, &req, payload, true).await?;
    let mut v = Validator::body(body.as_ref());
    let email = v.email("email");
    let name = v.opt_string("name");
    let callback = v.opt_string("callbackURL");
    let new_user_callback = v.opt_string("newUserCallbackURL");
    let error_callback = v.opt_string("errorCallbackURL");
    if v.raw("metadata").is_some_and(|m| !m.is_object()) {
        v.invalid("metadata", "Invalid input: expected record");
    }
    v.finish()?;
    login_csrf(&state, &req)?;
    let plugin = plugin(&state)?;

    let token = new_token();
    let mut record = Map::new();
    record.insert("type".into(), "magic-link".into());
    record.insert("email".into(), email.clone().into());
    if let Some(name) = name {
        record.insert("name".into(), name.into());
    }
    let now = state.clock.now();
    let expires_at = now + Duration::seconds(plugin.settings.expires_in);
    state
        .store
        .create_verification(
            &plugin.identifier(&token),
            &Value::Object(record).to_string(),
            expires_at,
            now,
        )
        .await?;
    let url = verify_url(
        &state.settings.base_url(),
        &token,
        [
            ("callbackURL", callback.as_deref()),
            ("newUserCallbackURL", new_user_callback.as_deref()),
            ("errorCallbackURL", error_callback.as_deref()),
        ],
    );
    let mail = Mail {
        kind: MailKind::MagicLink,
        email,
        user_id: String::new(),
        url,
        token,
        at: now,
        extra: Default::default(),
    };
    state.mailer.send(mail).await;
    Ok(HttpResponse::Ok().json(json!({ "status": true })))
}

/// The stored `{type: "magic-link", email, name?}`, nothing else (Better Auth's strict
/// `magicLinkRecordSchema`).
fn parse_record(value: &str) -> Option<(String, Option<String>)> {
    let Value::Object(record) = serde_json::from_str::<Value>(value).ok()? else {
        return None;
    };
    if record
        .keys()
        .any(|k| !["type", "email", "name"].contains(&k.as_str()))
        || record.get("type")? != "magic-link"
    {
        return None;
    }
    let email = record.get("email")?.as_str()?;
    if !crate::auth::email::is_valid(email) {
        return None;
    }
    let name = match record.get("name") {
        None => None,
        Some(Value::String(n)) => Some(n.clone()),
        Some(_) => return None,
    };
    Some((email.to_owned(), name))
}

#[tracing::instrument(name = "magic_link.verify", skip_all, fields(user_id = tracing::field::Empty))]
pub async fn verify(
    state: web::Data<AppState>,
    req: HttpRequest,
    client: ClientInfo,
) -> Result<HttpResponse, ApiError> {
    let query = query_object(&req);
    let mut v = Validator::query(&query);
    let token = v.string("token");
    let callback = v.opt_string("callbackURL").filter(|c| !c.is_empty());
    let error_callback = v.opt_string("errorCallbackURL").filter(|c| !c.is_empty());
    let new_user_callback = v.opt_string("newUserCallbackURL").filter(|c| !c.is_empty());
    v.finish()?;
    for url in [&callback, &new_user_callback, &error_callback] {
        check_query_callback(&state, url.as_deref())?;
    }
    let plugin = plugin(&state)?;
    let base = state.settings.base_url();
    let absolute = |url: &str| {
        url::Url::parse(&base)
            .and_then(|b| b.join(url))
            .map(String::from)
            .map_err(|_| ApiError::from(ErrorCode::InvalidCallbackUrl))
    };
    let callback_abs = absolute(callback.as_deref().unwrap_or("/"))?;
    let fail = |error: &str| {
        let target = error_callback.as_deref().unwrap_or(&callback_abs);
        let location = resolve_with_param(&base, target, "error", error)
            .ok_or(ApiError::from(ErrorCode::InvalidCallbackUrl))?;
        tracing::info!(error, "magic link refused");
        redirect(&location, Vec::new())
    };

    let id = plugin.identifier(&token);
    let now = state.clock.now();
    let pending = state.store.find_verification(&id, now).await?;
    if pending.and_then(|p| parse_record(&p.value)).is_none() {
        return fail("INVALID_TOKEN");
    }
    let Some(taken) = state.store.consume_verification(&id, now).await? else {
        return fail("INVALID_TOKEN");
    };
    let Some((email, name)) = parse_record(&taken.value) else {
        return fail("INVALID_TOKEN");
    };
    let sign_up = (!plugin.settings.disable_sign_up).then(|| NewUserInput {
        name: name.unwrap_or_default(),
        image: None,
        input: Map::new(),
    });
    let email = email.to_lowercase();
    let (user, is_new) = match user_for_proven_email(&state, &email, sign_up).await {
        Ok(Proven::Existing(user)) => (user, false),
        Ok(Proven::New(user)) => (user, true),
        Ok(Proven::NoUser) => return fail("new_user_signup_disabled"),
        Err(ApiError::Custom { code, .. }) => return fail(code),
        Err(e) => return Err(e),
    };
    tracing::Span::current().record("user_id", tracing::field::display(&user.id));
    let session = create_session(&state, &user.id, &client, false).await?;
    let cookies = session_cookies(&state, &session, &user, false);
    let Some(_) = callback else {
        let body = json!({
            "token": session.token,
            "user": user_json(&user, state.store.user_fields()),
            "session": session_json(&session),
        });
        return Ok(json_with_cookies(cookies, &body));
    };
    let target = match (is_new, new_user_callback) {
        (true, Some(url)) => absolute(&url)?,
        _ => callback_abs,
    };
    redirect(&target, cookies)
}

pub fn openapi(settings: &Settings) -> Vec<Op> {
    vec![
        Op::new(
            Post,
            "/sign-in/magic-link",
            "Magic link",
            "Mail a sign-in link",
        )
        .body(
            vec![
                ("email", string()),
                ("name", string()),
                ("callbackURL", string()),
                ("newUserCallbackURL", string()),
                ("errorCallbackURL", string()),
            ],
            &["email"],
        )
        .ok(object(vec![("status", boolean())], &[], true).into()),
        Op::new(
            Get,
            "/magic-link/verify",
            "Magic link",
            "Sign in with a mailed link",
        )
        .query("token", true)
        .query("callbackURL", false)
        .query("errorCallbackURL", false)
        .query("newUserCallbackURL", false)
        .redirect_or(
            object(
                vec![
                    ("token", string()),
                    ("user", user(settings)),
                    ("session", session()),
                ],
                &["token", "user", "session"],
                true,
            )
            .into(),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_built_as_url_search_params_builds_them() {
        assert_eq!(
            verify_url(
                "http://localhost:3000/api/auth",
                "tok",
                [
                    ("callbackURL", None),
                    ("newUserCallbackURL", Some("/welcome?a=1 b")),
                    ("errorCallbackURL", None)
                ]
            ),
            "http://localhost:3000/api/auth/magic-link/verify?token=tok&callbackURL=%2F\
             &newUserCallbackURL=%2Fwelcome%3Fa%3D1+b"
        );
    }

    #[test]
    fn records_are_read_strictly() {
        assert_eq!(
            parse_record(r#"{"type":"magic-link","email":"a@b.co","name":"A"}"#),
            Some(("a@b.co".into(), Some("A".into())))
        );
        assert_eq!(
            parse_record(r#"{"type":"magic-link","email":"a@b.co"}"#),
            Some(("a@b.co".into(), None))
        );
        for bad in [
            r#"{"type":"magic-link","email":"a@b.co","extra":1}"#,
            r#"{"type":"other","email":"a@b.co"}"#,
            r#"{"type":"magic-link","email":"nope"}"#,
            "user-id",
        ] {
            assert_eq!(parse_record(bad), None, "{bad}");
        }
    }
}
