//! `POST /sign-in/email` (endpoints.md §1.2).

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use secrecy::SecretString;
use serde_json::{Map, Value};

use crate::error::{ApiError, ErrorCode};
use crate::flows::session::{create_session, session_cookies};
use crate::http::extract::{login_csrf, read_checked_body, Validator};
use crate::http::ClientInfo;
use crate::state::AppState;
use crate::store::json::user_json;

#[tracing::instrument(name = "sign_in.email", skip_all, fields(user_id = tracing::field::Empty))]
pub async fn sign_in_email(
    state: web::Data<AppState>,
    req: HttpRequest,
    client: ClientInfo,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = read_checked_body(&state, &req, payload, true).await?;
    let mut v = Validator::body(body.as_ref());
    let email = v.string("email");
    let password = v.string("password");
    let callback_url = v.opt_string("callbackURL");
    let remember_me = v.opt_bool("rememberMe");
    v.finish()?;
    login_csrf(&state, &req)?;

    if !state.settings.email_and_password.enabled {
        return Err(ErrorCode::EmailPasswordDisabled.into());
    }
    if !crate::auth::email::is_valid(&email) {
        return Err(ErrorCode::InvalidEmail.into());
    }
    let email = crate::auth::email::normalize(&email);
    let password = SecretString::from(password);
    let (user, account) = match state.store.find_user_with_credential(&email).await? {
        Some((user, account)) => (Some(user), account),
        None => (None, None),
    };
    let stored = account.as_ref().and_then(|a| a.password.clone());
    // Unknown email, no credential account, or no password: a dummy check of equal cost.
    let verdict = state.hasher.verify(password.clone(), stored).await?;
    let (Some(user), Some(account), true) = (user, account, verdict.matches) else {
        tracing::info!("sign-in refused: invalid email or password");
        return Err(ErrorCode::InvalidEmailOrPassword.into());
    };
    tracing::Span::current().record("user_id", tracing::field::display(&user.id));
    if verdict.needs_rehash {
        rehash_in_background(&state, account.id.clone(), password);
    }
    if state.settings.email_and_password.require_email_verification && !user.email_verified {
        if state.settings.email_verification.send_on_sign_in {
            let mail =
                super::verification::verify_email_mail(&state, &user, callback_url.as_deref());
            state.mailer.send(mail).await;
        }
        tracing::info!("sign-in refused: email not verified");
        return Err(ErrorCode::EmailNotVerified.into());
    }

    let dont_remember = remember_me == Some(false);
    let session = create_session(&state, &user.id, &client, dont_remember).await?;
    let mut res = HttpResponse::Ok();
    for c in session_cookies(&state, &session, &user, dont_remember) {
        res.cookie(c);
    }
    let mut body = Map::new();
    body.insert("redirect".into(), Value::Bool(callback_url.is_some()));
    body.insert("token".into(), Value::String(session.token.clone()));
    if let Some(url) = callback_url {
        if let Ok(v) = header::HeaderValue::from_str(&url) {
            res.insert_header((header::LOCATION, v));
        }
        body.insert("url".into(), Value::String(url));
    }
    body.insert("user".into(), user_json(&user, state.store.user_fields()));
    Ok(res.json(Value::Object(body)))
}

/// Replaces a scrypt / bcrypt / weaker hash by argon2id after a successful sign-in, without
/// making the caller wait for the second hash.
fn rehash_in_background(state: &AppState, account_id: String, password: SecretString) {
    let state = state.clone();
    let span = tracing::Span::current();
    tokio::spawn(tracing::Instrument::instrument(
        async move {
            let result = async {
                let hash = state.hasher.hash(password).await?;
                state
                    .store
                    .set_account_password(
                        state.store.connection(),
                        &account_id,
                        &hash,
                        state.clock.now(),
                    )
                    .await?;
                Ok::<_, ApiError>(())
            }
            .await;
            match result {
                Ok(()) => tracing::info!("password re-hashed with argon2id"),
                Err(e) => tracing::warn!(error = %e, "password re-hash failed; the old hash stays"),
            }
        },
        span,
    ));
}
