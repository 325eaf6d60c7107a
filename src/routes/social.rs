//! Social sign-in: `POST /sign-in/social`, `GET|POST /callback/{id}`, `POST /link-social`
//! (Better Auth's `api/routes/sign-in.ts` `signInSocial`, `api/routes/callback.ts`,
//! `api/routes/account.ts` `linkSocialAccount`).

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Map, Value};

use crate::auth::fields::received;
use crate::error::ApiError;
use crate::flows::oauth::{self, oauth_error, FlowStart, SignInOutcome};
use crate::flows::oauth_callback::{self, CallbackParams};
use crate::flows::session::session_cookies;
use crate::http::extract::{read_checked_body, Validator};
use crate::http::{request_cookies, ClientInfo, Current, Need};
use crate::social::{Profile, Provider, Tokens, RESERVED_PARAMS};
use crate::state::AppState;
use crate::store::json::user_json;

/// The body members shared by sign-in/social and link-social.
struct SocialBody {
    provider: String,
    start: FlowStart,
    disable_redirect: bool,
    login_hint: Option<String>,
    scopes: Vec<String>,
    additional_params: Vec<(String, String)>,
    id_token: Option<IdTokenBody>,
}

struct IdTokenBody {
    token: String,
    nonce: Option<String>,
    access_token: Option<String>,
    refresh_token: Option<String>,
    user: Option<Value>,
}

fn string_list(v: &mut Validator<'_>, key: &str, value: Option<&Value>) -> Vec<String> {
    match value {
        None => Vec::new(),
        Some(Value::Array(items)) => {
            let mut out = Vec::new();
            for (i, item) in items.iter().enumerate() {
                match item {
                    Value::String(s) => out.push(s.clone()),
                    other => v.invalid(
                        &format!("{key}.{i}"),
                        &format!(
                            "Invalid input: expected string, received {}",
                            received(other)
                        ),
                    ),
                }
            }
            out
        }
        Some(other) => {
            v.invalid(
                key,
                &format!(
                    "Invalid input: expected array, received {}",
                    received(other)
                ),
            );
            Vec::new()
        }
    }
}

fn record<'a>(
    v: &mut Validator<'_>,
    key: &str,
    value: Option<&'a Value>,
) -> Option<&'a Map<String, Value>> {
    match value {
        None => None,
        Some(Value::Object(m)) => Some(m),
        Some(other) => {
            v.invalid(
                key,
                &format!(
                    "Invalid input: expected record, received {}",
                    received(other)
                ),
            );
            None
        }
    }
}

fn id_token_body(v: &mut Validator<'_>, value: Option<&Value>) -> Option<IdTokenBody> {
    let m = match value {
        None => return None,
        Some(Value::Object(m)) => m,
        Some(other) => {
            v.invalid(
                "idToken",
                &format!(
                    "Invalid input: expected object, received {}",
                    received(other)
                ),
            );
            return None;
        }
    };
    let mut inner = Validator::body(Some(value?));
    let token = inner.string("token");
    let nonce = inner.opt_string("nonce");
    let access_token = inner.opt_string("accessToken");
    let refresh_token = inner.opt_string("refreshToken");
    inner.opt_number("expiresAt");
    if inner.finish().is_err() {
        v.invalid("idToken", "Invalid input");
        return None;
    }
    Some(IdTokenBody {
        token,
        nonce,
        access_token,
        refresh_token,
        user: m.get("user").cloned(),
    })
}

fn social_body(body: Option<&Value>) -> Result<SocialBody, ApiError> {
    let mut v = Validator::body(body);
    let provider = v.string("provider");
    let callback_url = v.opt_string("callbackURL");
    let new_user_callback_url = v.opt_string("newUserCallbackURL");
    let error_callback_url = v.opt_string("errorCallbackURL");
    let disable_redirect = v.opt_bool("disableRedirect").unwrap_or(false);
    let request_sign_up = v.opt_bool("requestSignUp");
    let login_hint = v.opt_string("loginHint");
    let raw_scopes = v.raw("scopes");
    let raw_params = v.raw("additionalParams");
    let raw_data = v.raw("additionalData");
    let raw_id_token = v.raw("idToken");
    let scopes = string_list(&mut v, "scopes", raw_scopes);
    let mut additional_params = Vec::new();
    if let Some(m) = record(&mut v, "additionalParams", raw_params) {
        for (k, val) in m {
            match val {
                Value::String(s) => additional_params.push((k.clone(), s.clone())),
                other => v.invalid(
                    &format!("additionalParams.{k}"),
                    &format!(
                        "Invalid input: expected string, received {}",
                        received(other)
                    ),
                ),
            }
        }
        if m.keys().any(|k| RESERVED_PARAMS.contains(&k.as_str())) {
            v.invalid(
                "additionalParams",
                &format!(
                    "additionalParams cannot include reserved OAuth parameters: {}",
                    RESERVED_PARAMS.join(", ")
                ),
            );
        }
    }
    let additional_data = record(&mut v, "additionalData", raw_data).cloned();
    let id_token = id_token_body(&mut v, raw_id_token);
    v.finish()?;
    Ok(SocialBody {
        provider,
        start: FlowStart {
            callback_url,
            error_callback_url,
            new_user_callback_url,
            request_sign_up,
            additional_data,
            link: None,
            link_session: None,
        },
        disable_redirect,
        login_hint,
        scopes,
        additional_params,
        id_token,
    })
}

fn provider_not_found() -> ApiError {
    oauth_error(404, "PROVIDER_NOT_FOUND", "Provider not found")
}

/// `{url, redirect}` with `Location` unless `disableRedirect`, and the state cookie.
fn redirect_answer(
    started: oauth::Started,
    disable_redirect: bool,
    more: Vec<actix_web::cookie::Cookie<'static>>,
) -> HttpResponse {
    let mut res = HttpResponse::Ok();
    for c in more.into_iter().chain(started.cookies) {
        res.cookie(c);
    }
    if !disable_redirect {
        if let Ok(v) = header::HeaderValue::from_str(&started.url) {
            res.insert_header((header::LOCATION, v));
        }
    }
    res.json(json!({ "url": started.url, "redirect": !disable_redirect }))
}

/// An ID token checked against the provider (signature, issuer, audience, lifetime, nonce),
/// then the profile it describes.
async fn id_token_profile(
    state: &AppState,
    provider: &Provider,
    t: &IdTokenBody,
) -> Result<(Profile, Tokens), ApiError> {
    if !provider.supports_id_token() {
        return Err(oauth_error(
            404,
            "ID_TOKEN_NOT_SUPPORTED",
            "id_token not supported",
        ));
    }
    let now = state.clock.now();
    let Some(claims) = provider
        .verify_id_token(&state.provider_http, &t.token, t.nonce.as_deref(), now)
        .await
    else {
        tracing::warn!(provider = %provider.id, "invalid id token");
        return Err(oauth_error(401, "INVALID_TOKEN", "Invalid token"));
    };
    let mut claims = claims;
    if let (Some(user), crate::social::Mapping::Apple) = (&t.user, provider.mapping) {
        if let Some(email) = user.get("email").filter(|_| !claims.contains_key("email")) {
            claims.insert("email".into(), email.clone());
        }
    }
    let profile = match provider.mapping {
        crate::social::Mapping::Apple => {
            crate::social::Provider::profile_from_claims(provider, &claims).map(|mut p| {
                if let Some(name) = t.user.as_ref().and_then(|u| u.get("name")) {
                    let part = |k: &str| name.get(k).and_then(Value::as_str).unwrap_or("");
                    p.name = format!("{} {}", part("firstName"), part("lastName"))
                        .trim()
                        .to_owned();
                }
                p
            })
        }
        _ => provider.profile_from_claims(&claims),
    };
    let Some(profile) = profile else {
        return Err(oauth_error(
            401,
            "FAILED_TO_GET_USER_INFO",
            "Failed to get user info",
        ));
    };
    if profile.email.as_deref().is_none_or(str::is_empty) {
        return Err(oauth_error(
            401,
            "USER_EMAIL_NOT_FOUND",
            "User email not found",
        ));
    }
    let tokens = Tokens {
        access_token: t.access_token.clone(),
        refresh_token: t.refresh_token.clone(),
        id_token: Some(t.token.clone()),
        ..Tokens::default()
    };
    Ok((profile, tokens))
}

#[tracing::instrument(name = "sign_in.social", skip_all, fields(provider = tracing::field::Empty))]
pub async fn sign_in_social(
    state: web::Data<AppState>,
    req: HttpRequest,
    client: ClientInfo,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = read_checked_body(&state, &req, payload, false).await?;
    let b = social_body(body.as_ref())?;
    let provider = state
        .social
        .get(&b.provider)
        .ok_or_else(provider_not_found)?;
    tracing::Span::current().record("provider", tracing::field::display(&provider.id));
    let Some(t) = &b.id_token else {
        let started = oauth::start(
            &state,
            &provider,
            b.start,
            &b.scopes,
            b.login_hint.as_deref(),
            &b.additional_params,
        )
        .await?;
        return Ok(redirect_answer(started, b.disable_redirect, Vec::new()));
    };
    let (profile, tokens) = id_token_profile(&state, &provider, t).await?;
    let email = profile.email.clone().unwrap_or_default();
    let disable_sign_up = (provider.disable_implicit_sign_up
        && b.start.request_sign_up != Some(true))
        || provider.disable_sign_up;
    let outcome = oauth::sign_in_user(
        &state,
        &provider,
        &profile,
        &email,
        &tokens,
        disable_sign_up,
        &client,
    )
    .await?;
    match outcome {
        SignInOutcome::SignedIn { user, session, .. } => {
            let mut res = HttpResponse::Ok();
            for c in session_cookies(&state, &session, &user, false) {
                res.cookie(c);
            }
            Ok(res.json(json!({
                "redirect": false,
                "token": session.token,
                "user": user_json(&user, state.store.user_fields()),
            })))
        }
        SignInOutcome::Refused("email_not_verified") => {
            Err(crate::error::ErrorCode::EmailNotVerified.into())
        }
        SignInOutcome::Refused(text) => Err(ApiError::Custom {
            status: actix_web::http::StatusCode::UNAUTHORIZED,
            code: "OAUTH_LINK_ERROR",
            message: text.into(),
        }),
    }
}

fn params_from(m: &Map<String, Value>) -> CallbackParams {
    let s = |k: &str| match m.get(k) {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Array(a)) => a.last().and_then(Value::as_str).map(str::to_owned),
        _ => None,
    };
    CallbackParams {
        code: s("code"),
        state: s("state"),
        error: s("error"),
        error_description: s("error_description"),
        device_id: s("device_id"),
        user: s("user"),
        iss: s("iss"),
    }
}

/// A 302 as every redirect of the service (`crate::http::redirect`): JSON content type, and a
/// location a browser would read as another host refused.
fn found(location: &str, cookies: Vec<actix_web::cookie::Cookie<'static>>) -> HttpResponse {
    match crate::http::redirect(location, cookies) {
        Ok(res) => res,
        Err(e) => actix_web::ResponseError::error_response(&e),
    }
}

#[tracing::instrument(name = "callback", skip_all, fields(provider = %path))]
pub async fn callback_get(
    state: web::Data<AppState>,
    req: HttpRequest,
    client: ClientInfo,
    path: web::Path<String>,
) -> HttpResponse {
    let query = crate::http::extract::query_object(&req);
    let params = params_from(&query);
    let jar = request_cookies(&req);
    let r = oauth_callback::callback(&state, &jar, &client, &path, params).await;
    found(&r.location, r.cookies)
}

/// `form_post`: body and query merged (query wins) and sent on to the GET, so that the
/// follow-up request carries the SameSite=Lax cookies.
#[tracing::instrument(name = "callback.post", skip_all, fields(provider = %path))]
pub async fn callback_post(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
) -> HttpResponse {
    let body = crate::http::extract::read_body_lenient(&req, payload).await;
    let mut merged = body.unwrap_or_default();
    for (k, v) in crate::http::extract::query_object(&req) {
        merged.insert(k, v);
    }
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    for key in [
        "code",
        "error",
        "device_id",
        "error_description",
        "state",
        "user",
        "iss",
    ] {
        match merged.get(key) {
            Some(Value::String(s)) => {
                q.append_pair(key, s);
            }
            Some(Value::Number(n)) => {
                q.append_pair(key, &n.to_string());
            }
            Some(Value::Bool(b)) => {
                q.append_pair(key, &b.to_string());
            }
            _ => {}
        }
    }
    let location = format!(
        "{}/callback/{}?{}",
        format_args!("{}{}", state.settings.base_origin, state.settings.base_path),
        path.as_str(),
        q.finish()
    );
    found(&location, Vec::new())
}

#[tracing::instrument(name = "link_social", skip_all)]
pub async fn link_social(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = read_checked_body(&state, &req, payload, false).await?;
    let b = social_body(body.as_ref())?;
    let current = Current::require(&state, &req, Need::Session).await?;
    let provider = state
        .social
        .get(&b.provider)
        .ok_or_else(|| current.fail(provider_not_found()))?;
    let Some(t) = &b.id_token else {
        let mut start = b.start;
        start.link = Some((current.user.id.clone(), current.user.email.clone()));
        start.link_session = Some(current.session.token.clone());
        let started = oauth::start(
            &state,
            &provider,
            start,
            &b.scopes,
            b.login_hint.as_deref(),
            &b.additional_params,
        )
        .await
        .map_err(|e| current.fail(e))?;
        let queued = current.cookies.clone();
        return Ok(redirect_answer(started, b.disable_redirect, queued));
    };
    let (profile, tokens) = id_token_profile(&state, &provider, t)
        .await
        .map_err(|e| current.fail(e))?;
    oauth::link_id_token(&state, &provider, &profile, &tokens, &current.user)
        .await
        .map_err(|e| current.fail(e))?;
    Ok(current.respond(
        Vec::new(),
        &json!({ "url": "", "status": true, "redirect": false }),
    ))
}
