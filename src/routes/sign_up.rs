//! `POST /sign-up/email` (docs/compatibility.md §5.3; Better Auth's `api/routes/sign-up.ts`).

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Map, Value};

use crate::auth::fields::SIGN_UP_KEYS;
use crate::error::ApiError;
use crate::flows::session::forget_dont_remember;
use crate::flows::sign_up::{self, SignUp};
use crate::flows::users::NewUser;
use crate::http::extract::{login_csrf, read_checked_body, Validator};
use crate::http::{request_cookies, ClientInfo};
use crate::state::AppState;
use crate::store::json::user_json;

#[tracing::instrument(name = "sign_up.email", skip_all, fields(user_id = tracing::field::Empty))]
pub async fn sign_up_email(
    state: web::Data<AppState>,
    req: HttpRequest,
    client: ClientInfo,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = read_checked_body(&state, &req, payload, true).await?;
    let mut v = Validator::body(body.as_ref()).and_record();
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

    let sign_up = SignUp {
        user: NewUser {
            name,
            email: crate::auth::email::normalize(&email),
            email_verified: false,
            image,
            input,
        },
        password,
        callback_url,
        dont_remember: remember_me == Some(false),
    };
    let dont_remember = sign_up.dont_remember;
    let done = sign_up::with_password(&state, &client, sign_up).await?;
    let user = user_json(&done.user, state.store.user_fields());
    let Some((token, cookies)) = done.session else {
        return Ok(HttpResponse::Ok().json(json!({ "token": null, "user": user })));
    };
    let mut res = HttpResponse::Ok();
    for c in cookies {
        res.cookie(c);
    }
    if let Some(c) = forget_dont_remember(&state, &request_cookies(&req), dont_remember) {
        res.cookie(c);
    }
    Ok(res.json(json!({ "token": token, "user": user })))
}
