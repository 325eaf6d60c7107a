//! `/passkey/*` (Better Auth's `packages/passkey/src/routes.ts`): each route validates its
//! input as zod would, then checks the session as the route's middleware does, then does what
//! Better Auth's handler does, with its error codes.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::Duration;
use rand::distributions::{Distribution, Uniform};
use secrecy::ExposeSecret;
use serde_json::{json, Map, Value};
use utoipa::openapi::path::HttpMethod::{Get, Post};

use super::ceremony::{self, StoredCredential};
use super::{PasskeyError, PasskeyPlugin, CHALLENGE_COOKIE, CHALLENGE_MAX_AGE};
use crate::auth::crypto::{iso, random_alphanumeric, Signed};
use crate::error::ApiError;
use crate::flows::session::{create_session, resolve, session_cookies, Lookup};
use crate::http::extract::{query_object, read_checked_body, Validator};
use crate::http::route::{get, post};
use crate::http::{json_with_cookies, request_cookies, ClientInfo, Current, Need};
use crate::openapi::builder::{
    array_of, boolean, date_time, nullable_string, object, string, typed, Op,
};
use crate::state::AppState;
use crate::store::json::{session_json, user_json};
use crate::store::passkeys::PasskeyRow;
use utoipa::openapi::schema::Type;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(get(
        "/passkey/generate-register-options",
        generate_register_options,
    ))
    .service(get(
        "/passkey/generate-authenticate-options",
        generate_authenticate_options,
    ))
    .service(post("/passkey/verify-registration", verify_registration))
    .service(post(
        "/passkey/verify-authentication",
        verify_authentication,
    ))
    .service(get("/passkey/list-user-passkeys", list_user_passkeys))
    .service(post("/passkey/delete-passkey", delete_passkey))
    .service(post("/passkey/update-passkey", update_passkey));
}

fn plugin(state: &AppState) -> Result<&PasskeyPlugin, ApiError> {
    state
        .plugins
        .get::<PasskeyPlugin>()
        .ok_or_else(|| anyhow::anyhow!("the passkey plugin is not enabled").into())
}

/// A passkey row as Better Auth's adapter returns it.
fn passkey_json(p: &PasskeyRow) -> Value {
    json!({
        "id": p.id,
        "name": p.name,
        "publicKey": p.public_key,
        "userId": p.user_id,
        "credentialID": p.credential_id,
        "counter": p.counter,
        "deviceType": p.device_type,
        "backedUp": p.backed_up,
        "transports": p.transports,
        "createdAt": p.created_at.as_ref().map(iso),
        "aaguid": p.aaguid,
    })
}

/// `{ id, transports?, type }` as simplewebauthn lists a known credential
/// (`transports?.split(",")`: an empty column gives `[""]`, as in Better Auth).
fn credential_descriptor(p: &PasskeyRow) -> Value {
    let mut m = Map::new();
    m.insert(
        "id".into(),
        p.credential_id.trim_end_matches('=').to_owned().into(),
    );
    if let Some(t) = &p.transports {
        m.insert(
            "transports".into(),
            t.split(',').map(|s| Value::String(s.to_owned())).collect(),
        );
    }
    m.insert("type".into(), "public-key".into());
    Value::Object(m)
}

/// Stores the ceremony's challenge under a fresh token and returns the signed cookie that
/// carries the token (`createVerificationValue`, `setSignedCookie`).
async fn remember_challenge(
    state: &AppState,
    value: &Value,
) -> Result<actix_web::cookie::Cookie<'static>, ApiError> {
    let token = random_alphanumeric(32);
    let now = state.clock.now();
    state
        .store
        .create_verification(
            &token,
            &value.to_string(),
            now + Duration::seconds(CHALLENGE_MAX_AGE),
            now,
        )
        .await?;
    let secret = state.settings.secret.expose_secret().as_bytes();
    Ok(state
        .cookies
        .signed(secret, CHALLENGE_COOKIE, &token, Some(CHALLENGE_MAX_AGE)))
}

/// The stored ceremony for the request's challenge cookie, taken so it cannot serve twice;
/// `CHALLENGE_NOT_FOUND` without a valid cookie, a live row, or the right ceremony type.
async fn take_challenge(
    state: &AppState,
    req: &HttpRequest,
    ceremony: &str,
) -> Result<Value, ApiError> {
    let secret = state.settings.secret.expose_secret().as_bytes();
    let jar = request_cookies(req);
    let name = state.cookies.name(CHALLENGE_COOKIE);
    let Signed::Valid(token) = jar.signed(secret, &name) else {
        return Err(PasskeyError::ChallengeNotFound.into());
    };
    let Some(row) = state
        .store
        .consume_verification(token, state.clock.now())
        .await?
    else {
        return Err(PasskeyError::ChallengeNotFound.into());
    };
    let value: Value = serde_json::from_str(&row.value).unwrap_or(Value::Null);
    if value.get("type").and_then(Value::as_str) != Some(ceremony) {
        return Err(PasskeyError::ChallengeNotFound.into());
    }
    Ok(value)
}

fn request_origin(req: &HttpRequest) -> Option<&str> {
    req.headers().get("origin").and_then(|v| v.to_str().ok())
}

/// simplewebauthn's `generateRegistrationOptions` user id: 32 random `[a-z0-9]`, as bytes.
fn random_user_id() -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let pick = Uniform::from(0..ALPHABET.len());
    let mut rng = crate::auth::crypto::rng();
    let bytes: Vec<u8> = (0..32).map(|_| ALPHABET[pick.sample(&mut rng)]).collect();
    URL_SAFE_NO_PAD.encode(bytes)
}

#[tracing::instrument(name = "passkey.generate_register_options", skip_all)]
async fn generate_register_options(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let query = query_object(&req);
    let mut v = Validator::query(&query);
    let attachment = v.opt_string("authenticatorAttachment");
    if attachment
        .as_deref()
        .is_some_and(|a| a != "platform" && a != "cross-platform")
    {
        v.invalid(
            "authenticatorAttachment",
            r#"Invalid option: expected one of "platform"|"cross-platform""#,
        );
    }
    let name = v.opt_string("name");
    let context = v.opt_string("context");
    v.finish()?;
    let current = Current::require(&state, &req, Need::Fresh).await?;
    let result = async {
        let passkey = plugin(&state)?;
        let user = &current.user;
        let label = if user.email.is_empty() {
            user.id.clone()
        } else {
            user.email.clone()
        };
        let existing = state.store.list_passkeys(&user.id).await?;
        let mut selection = Map::new();
        selection.insert("residentKey".into(), "preferred".into());
        selection.insert("userVerification".into(), "preferred".into());
        if let Some(a) = &attachment {
            selection.insert("authenticatorAttachment".into(), a.clone().into());
        }
        selection.insert("requireResidentKey".into(), false.into());
        let rp = &passkey.rp;
        let challenge = ceremony::new_challenge();
        let options = json!({
            "challenge": challenge,
            "rp": { "name": rp.name, "id": rp.id },
            "user": {
                "id": random_user_id(),
                "name": name.filter(|n| !n.is_empty()).unwrap_or_else(|| label.clone()),
                "displayName": label,
            },
            "pubKeyCredParams": ceremony::ALGORITHMS
                .iter()
                .map(|alg| json!({ "alg": alg, "type": "public-key" }))
                .collect::<Vec<_>>(),
            "timeout": 60000,
            "attestation": "none",
            "excludeCredentials": existing.iter().map(credential_descriptor).collect::<Vec<_>>(),
            "authenticatorSelection": selection,
            "extensions": { "credProps": true },
            "hints": [],
        });
        let stored = json!({
            "type": "registration",
            "expectedChallenge": challenge,
            "userData": { "id": user.id, "name": label, "displayName": label },
            "context": context,
        });
        let cookie = remember_challenge(&state, &stored).await?;
        Ok::<_, ApiError>((options, cookie))
    };
    match result.await {
        Ok((options, cookie)) => Ok(current.respond(vec![cookie], &options)),
        Err(e) => Err(current.fail(e)),
    }
}

#[tracing::instrument(name = "passkey.generate_authenticate_options", skip_all)]
async fn generate_authenticate_options(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let passkey = plugin(&state)?;
    // `getSessionFromCtx`: the caller's session if any; its passkeys become allowCredentials.
    let resolved = resolve(&state, &request_cookies(&req), Lookup::default()).await;
    let (user_id, mut cookies) = match resolved {
        Ok(r) => (r.found.map(|(_, user)| user.id), r.cookies),
        Err(e @ (ApiError::Internal(_) | ApiError::Unavailable(_))) => return Err(e),
        Err(_) => (None, Vec::new()),
    };
    let existing = match &user_id {
        Some(id) => state.store.list_passkeys(id).await?,
        None => Vec::new(),
    };
    let challenge = ceremony::new_challenge();
    let mut options = Map::new();
    options.insert("rpId".into(), passkey.rp.id.clone().into());
    options.insert("challenge".into(), challenge.clone().into());
    if !existing.is_empty() {
        options.insert(
            "allowCredentials".into(),
            existing.iter().map(credential_descriptor).collect(),
        );
    }
    options.insert("timeout".into(), 60000.into());
    options.insert("userVerification".into(), "preferred".into());
    let stored = json!({
        "type": "authentication",
        "expectedChallenge": challenge,
        "userData": { "id": user_id.unwrap_or_default() },
    });
    cookies.push(remember_challenge(&state, &stored).await?);
    Ok(json_with_cookies(cookies, &Value::Object(options)))
}

#[tracing::instrument(name = "passkey.verify_registration", skip_all, fields(user_id = tracing::field::Empty))]
async fn verify_registration(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = read_checked_body(&state, &req, payload, false).await?;
    let mut v = Validator::body(body.as_ref());
    let name = v.opt_string("name").map(|n| n.trim().to_owned());
    let create_session_after = v.opt_bool("createSession").unwrap_or(false);
    let response = v.raw("response").cloned().unwrap_or(Value::Null);
    v.finish()?;
    let current = Current::require(&state, &req, Need::Fresh).await?;
    tracing::Span::current().record("user_id", tracing::field::display(&current.user.id));
    let result = async {
        let passkey = plugin(&state)?;
        let Some(rp) = passkey.relying_party(request_origin(&req)) else {
            return Err(ApiError::from(PasskeyError::FailedToVerifyRegistration));
        };
        let stored = take_challenge(&state, &req, "registration").await?;
        let owner = stored
            .pointer("/userData/id")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if owner != current.user.id {
            return Err(PasskeyError::NotAllowedToRegister.into());
        }
        let challenge = stored
            .get("expectedChallenge")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let credential = ceremony::verify_registration(&rp, challenge, &response).map_err(|e| {
            tracing::info!(error = %e, "passkey registration refused");
            ApiError::from(PasskeyError::FailedToVerifyRegistration)
        })?;
        let transports = response
            .pointer("/response/transports")
            .and_then(Value::as_array)
            .map(|t| {
                t.iter()
                    .map(|s| s.as_str().unwrap_or_default())
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .unwrap_or_default();
        let row = PasskeyRow {
            id: crate::auth::crypto::generate_id(),
            name: name.filter(|n| !n.is_empty()),
            public_key: credential.public_key,
            user_id: current.user.id.clone(),
            credential_id: credential.credential_id,
            counter: i64::from(credential.counter),
            device_type: credential.device_type.to_owned(),
            backed_up: credential.backed_up,
            transports: Some(transports),
            created_at: Some(state.clock.now()),
            aaguid: Some(credential.aaguid),
        };
        let mut body = passkey_json(&row);
        let mut cookies = Vec::new();
        if create_session_after {
            // Better Auth writes the passkey and the session in one transaction; here the
            // session (which a plugin may refuse) is made first, so a refusal leaves nothing.
            let client = ClientInfo::from_request(&state, &req);
            let session = create_session(&state, &row.user_id, &client, false).await?;
            state
                .store
                .insert_passkey(state.store.connection(), &row)
                .await?;
            cookies = session_cookies(&state, &session, &current.user, false);
            body["session"] = session_json(&session);
            body["user"] = user_json(&current.user, state.store.user_fields());
        } else {
            state
                .store
                .insert_passkey(state.store.connection(), &row)
                .await?;
        }
        Ok((body, cookies))
    };
    let result = result.await;
    current.answer_with(result)
}

#[tracing::instrument(name = "passkey.verify_authentication", skip_all, fields(user_id = tracing::field::Empty))]
async fn verify_authentication(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = read_checked_body(&state, &req, payload, false).await?;
    let mut v = Validator::body(body.as_ref());
    let response = match v.raw("response") {
        Some(Value::Object(_)) => v.raw("response").cloned(),
        other => {
            // zod's `z.record` message for this member.
            let got = match other {
                None => "undefined",
                Some(Value::Array(_)) => "array",
                Some(Value::Null) => "null",
                Some(Value::String(_)) => "string",
                Some(Value::Number(_)) => "number",
                Some(Value::Bool(_)) => "boolean",
                Some(Value::Object(_)) => "object",
            };
            v.invalid(
                "response",
                &format!("Invalid input: expected record, received {got}"),
            );
            None
        }
    };
    v.finish()?;
    let response = response.unwrap_or(Value::Null);
    let passkey = plugin(&state)?;
    let Some(rp) = passkey.relying_party(request_origin(&req)) else {
        return Err(ApiError::message_only(
            StatusCode::BAD_REQUEST,
            "origin missing",
        ));
    };
    let stored = take_challenge(&state, &req, "authentication").await?;
    let credential_id = response
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let found = match credential_id {
        "" => None,
        id => state.store.find_passkey_with_user_by_credential(id).await?,
    };
    let Some((row, owner)) = found else {
        return Err(PasskeyError::PasskeyNotFound(StatusCode::UNAUTHORIZED).into());
    };
    tracing::Span::current().record("user_id", tracing::field::display(&row.user_id));
    let challenge = stored
        .get("expectedChallenge")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let known = StoredCredential {
        credential_id: &row.credential_id,
        public_key: &row.public_key,
        counter: row.counter,
        device_type: &row.device_type,
        backed_up: row.backed_up,
    };
    let counter =
        ceremony::verify_authentication(&rp, challenge, &response, &known).map_err(|e| {
            tracing::info!(error = %e, "passkey assertion refused");
            ApiError::from(PasskeyError::AuthenticationFailed)
        })?;
    // Better Auth writes the new counter every time; an unchanged one (authenticators that
    // keep no counter send 0) leaves the row as it was, so it is not written.
    if i64::from(counter) != row.counter {
        state
            .store
            .set_passkey_counter(&row.id, i64::from(counter))
            .await?;
    }
    let client = ClientInfo::from_request(&state, &req);
    let session = create_session(&state, &row.user_id, &client, false).await?;
    let user = owner.ok_or_else(|| anyhow::anyhow!("the passkey's user is gone"))?;
    let cookies = session_cookies(&state, &session, &user, false);
    let body = json!({
        "session": session_json(&session),
        "user": user_json(&user, state.store.user_fields()),
    });
    Ok(json_with_cookies(cookies, &body))
}

#[tracing::instrument(name = "passkey.list_user_passkeys", skip_all)]
async fn list_user_passkeys(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let current = Current::require(&state, &req, Need::Session).await?;
    match state.store.list_passkeys(&current.user.id).await {
        Ok(rows) => {
            let list: Vec<Value> = rows.iter().map(passkey_json).collect();
            Ok(current.respond(Vec::new(), &Value::Array(list)))
        }
        Err(e) => Err(current.fail(ApiError::from(e))),
    }
}

/// Better Auth's `requireResourceOwnership` on the body's `id`: 400 without one, 404
/// `PASSKEY_NOT_FOUND` when no such passkey, 401 (with `forbidden`, else an empty body) when
/// it is someone else's.
async fn owned_passkey(
    state: &AppState,
    current: &Current,
    id: &str,
    forbidden: Option<PasskeyError>,
) -> Result<PasskeyRow, ApiError> {
    if id.is_empty() {
        return Err(ApiError::message_only(
            StatusCode::BAD_REQUEST,
            "Missing required parameter: id",
        ));
    }
    let Some(row) = state.store.find_passkey(id).await? else {
        return Err(PasskeyError::PasskeyNotFound(StatusCode::NOT_FOUND).into());
    };
    if row.user_id != current.user.id {
        return Err(match forbidden {
            Some(e) => e.into(),
            None => ApiError::Empty(StatusCode::UNAUTHORIZED),
        });
    }
    Ok(row)
}

#[tracing::instrument(name = "passkey.delete_passkey", skip_all)]
async fn delete_passkey(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = read_checked_body(&state, &req, payload, false).await?;
    let mut v = Validator::body(body.as_ref());
    let id = v.string("id");
    v.finish()?;
    let current = Current::require(&state, &req, Need::Session).await?;
    let result = async {
        let row = owned_passkey(&state, &current, &id, None).await?;
        state.store.delete_passkey(&row.id).await?;
        Ok::<_, ApiError>(json!({ "status": true }))
    };
    let result = result.await;
    current.answer(result)
}

#[tracing::instrument(name = "passkey.update_passkey", skip_all)]
async fn update_passkey(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = read_checked_body(&state, &req, payload, false).await?;
    let mut v = Validator::body(body.as_ref());
    let id = v.string("id");
    let name = v.raw("name").and_then(Value::as_str).map(str::trim);
    match (name, v.raw("name")) {
        (Some(""), _) => v.invalid("name", "Too small: expected string to have >=1 characters"),
        (None, _) => {
            v.string("name");
        }
        _ => {}
    }
    let name = name.unwrap_or_default().to_owned();
    v.finish()?;
    let current = Current::require(&state, &req, Need::Session).await?;
    let result = async {
        let row = owned_passkey(
            &state,
            &current,
            &id,
            Some(PasskeyError::NotAllowedToRegister),
        )
        .await?;
        if !state.store.rename_passkey(&row.id, &name).await? {
            return Err(PasskeyError::PasskeyNotFound(StatusCode::NOT_FOUND).into());
        }
        let updated = PasskeyRow {
            name: Some(name),
            ..row
        };
        Ok::<_, ApiError>(json!({ "passkey": passkey_json(&updated) }))
    };
    let result = result.await;
    current.answer(result)
}

pub fn openapi() -> Vec<Op> {
    let passkey = || {
        object(
            vec![
                ("id", string()),
                ("name", nullable_string()),
                ("publicKey", string()),
                ("userId", string()),
                ("credentialID", string()),
                ("counter", typed(Type::Number, false).into()),
                ("deviceType", string()),
                ("backedUp", boolean()),
                ("transports", nullable_string()),
                ("createdAt", date_time(true)),
                ("aaguid", nullable_string()),
            ],
            &[
                "id",
                "publicKey",
                "userId",
                "credentialID",
                "counter",
                "deviceType",
                "backedUp",
            ],
            true,
        )
        .into()
    };
    let any_object = || object(Vec::<(String, _)>::new(), &[], true).into();
    vec![
        Op::new(
            Get,
            "/passkey/generate-register-options",
            "Passkey",
            "Generate registration options for a new passkey",
        )
        .query("authenticatorAttachment", false)
        .query("name", false)
        .query("context", false)
        .ok(any_object()),
        Op::new(
            Get,
            "/passkey/generate-authenticate-options",
            "Passkey",
            "Generate authentication options for a passkey",
        )
        .ok(any_object()),
        Op::new(
            Post,
            "/passkey/verify-registration",
            "Passkey",
            "Verify registration of a new passkey",
        )
        .body(
            vec![
                ("response", any_object()),
                ("name", string()),
                ("createSession", boolean()),
            ],
            &["response"],
        )
        .ok(passkey()),
        Op::new(
            Post,
            "/passkey/verify-authentication",
            "Passkey",
            "Verify authentication of a passkey",
        )
        .body(vec![("response", any_object())], &["response"])
        .ok(any_object()),
        Op::new(
            Get,
            "/passkey/list-user-passkeys",
            "Passkey",
            "List all passkeys for the authenticated user",
        )
        .ok(array_of(passkey())),
        Op::new(
            Post,
            "/passkey/delete-passkey",
            "Passkey",
            "Delete a specific passkey",
        )
        .body(vec![("id", string())], &["id"])
        .ok(object(vec![("status", boolean())], &["status"], true).into()),
        Op::new(
            Post,
            "/passkey/update-passkey",
            "Passkey",
            "Update a specific passkey's name",
        )
        .body(vec![("id", string()), ("name", string())], &["id", "name"])
        .ok(object(vec![("passkey", passkey())], &["passkey"], true).into()),
    ]
}
