//! `POST /sign-up/email` (endpoints.md §1.1).

use actix_web::{web, HttpRequest, HttpResponse};
use secrecy::SecretString;
use serde_json::{json, Map, Value};

use crate::auth::crypto::generate_id;
use crate::auth::fields::{self, FieldError, SIGN_UP_KEYS};
use crate::auth::password::js_length;
use crate::error::{ApiError, ErrorCode};
use crate::flows::session::session_cookies;
use crate::http::extract::{login_csrf, read_checked_body, Validator};
use crate::http::ClientInfo;
use crate::state::AppState;
use crate::store::accounts::CREDENTIAL_PROVIDER;
use crate::store::json::user_json;
use crate::store::{Account, StoreError, User};

pub fn field_error(e: FieldError) -> ApiError {
    match e {
        FieldError::NotAllowed(f) => ApiError::with_message(
            ErrorCode::FieldNotAllowed,
            format!("{f} is not allowed to be set"),
        ),
        FieldError::Missing(f) => {
            ApiError::with_message(ErrorCode::MissingField, format!("{f} is required"))
        }
        FieldError::Invalid(m) => ApiError::validation(m),
    }
}

/// The password length rules shared by sign-up, reset and change (passwords.md §3).
pub fn check_password_length(state: &AppState, password: &str) -> Result<(), ApiError> {
    let len = js_length(password);
    let rules = &state.settings.email_and_password;
    if len < rules.min_password_length {
        return Err(ErrorCode::PasswordTooShort.into());
    }
    if len > rules.max_password_length {
        return Err(ErrorCode::PasswordTooLong.into());
    }
    Ok(())
}

#[tracing::instrument(name = "sign_up.email", skip_all, fields(user_id = tracing::field::Empty))]
pub async fn sign_up_email(
    state: web::Data<AppState>,
    req: HttpRequest,
    client: ClientInfo,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = read_checked_body(&state, &req, payload, true).await?;
    let mut v = Validator::body(body.as_ref());
    let name = v.string("name");
    let email = v.email("email");
    let password = v.non_empty_string("password");
    let image = v.opt_string("image");
    let callback_url = v.opt_string("callbackURL");
    let remember_me = v.opt_bool("rememberMe");
    let input: Map<String, Value> = v
        .object()
        .map(|m| {
            m.iter()
                .filter(|(k, _)| !SIGN_UP_KEYS.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        })
        .unwrap_or_default();
    v.finish()?;
    login_csrf(&state, &req)?;

    let settings = &state.settings.email_and_password;
    if !settings.enabled {
        return Err(ErrorCode::EmailPasswordSignUpDisabled.into());
    }
    check_password_length(&state, &password)?;
    let extra = fields::for_create(state.store.user_fields(), &input).map_err(field_error)?;
    let email = crate::auth::email::normalize(&email);
    // Better Auth hides existing accounts when sign-up does not sign in (endpoints.md §1.1).
    let enumeration_protected = settings.require_email_verification || !settings.auto_sign_in;

    let now = state.clock.now();
    let mut user = User {
        id: generate_id(),
        name,
        email,
        email_verified: false,
        image,
        created_at: now,
        updated_at: now,
        extra,
    };
    for name in state.store.user_fields().keys() {
        user.extra.entry(name.clone()).or_insert(Value::Null);
    }
    let synthetic = || {
        Ok(HttpResponse::Ok()
            .json(json!({ "token": null, "user": user_json(&user, state.store.user_fields()) })))
    };

    if state.store.find_user_by_email(&user.email).await?.is_some() {
        if enumeration_protected {
            // Same work as a real sign-up, so timing does not tell either.
            state.hasher.hash(SecretString::from(password)).await?;
            return synthetic();
        }
        return Err(ErrorCode::UserAlreadyExistsUseAnotherEmail.into());
    }

    let hash = state.hasher.hash(SecretString::from(password)).await?;
    let account = Account {
        id: generate_id(),
        account_id: user.id.clone(),
        provider_id: CREDENTIAL_PROVIDER.to_owned(),
        user_id: user.id.clone(),
        password: Some(hash),
        scope: None,
        created_at: now,
        updated_at: now,
    };
    match state.store.create_user_with_account(&user, &account).await {
        Ok(()) => {}
        Err(StoreError::Conflict) if enumeration_protected => return synthetic(),
        Err(StoreError::Conflict) => return Err(ErrorCode::UserAlreadyExistsUseAnotherEmail.into()),
        Err(e) => return Err(e.into()),
    }
    tracing::Span::current().record("user_id", tracing::field::display(&user.id));

    let send_verification = state
        .settings
        .email_verification
        .send_on_sign_up
        .unwrap_or(settings.require_email_verification);
    if send_verification {
        let mail = super::verification::verify_email_mail(&state, &user, callback_url.as_deref());
        state.mailer.send(mail).await;
    }
    if enumeration_protected {
        return synthetic();
    }
    let dont_remember = remember_me == Some(false);
    let session =
        crate::flows::session::create_session(&state, &user.id, &client, dont_remember).await?;
    let mut res = HttpResponse::Ok();
    for c in session_cookies(&state, &session, &user, dont_remember) {
        res.cookie(c);
    }
    Ok(res.json(
        json!({ "token": session.token, "user": user_json(&user, state.store.user_fields()) }),
    ))
}
