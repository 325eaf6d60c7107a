//! The end every sign-in method shares once it knows the user: the plugins' after-sign-in
//! hooks (two-factor may stop here), then the session and its cookies, then Better Auth's
//! answer `{redirect, token, url?, user}` (`api/routes/sign-in.ts`).

use actix_web::http::header;
use actix_web::HttpResponse;
use serde_json::{Map, Value};

use super::session::{create_session, session_cookies};
use crate::auth::cookies::RequestCookies;
use crate::auth::session::ClientInfo;
use crate::error::ApiError;
use crate::plugin::{AfterSignIn, SignIn};
use crate::state::AppState;
use crate::store::json::user_json;
use crate::store::User;

/// Signs `user` in: 200 with the session cookies and `{redirect, token, url?, user}`, `url`
/// and `Location` when a callback URL was given; or whatever a plugin's hook answered instead.
/// The hooks see the request's cookies (two-factor's trusted device).
pub async fn complete(
    state: &AppState,
    cookies: &RequestCookies,
    user: &User,
    client: &ClientInfo,
    dont_remember: bool,
    callback_url: Option<String>,
) -> Result<HttpResponse, ApiError> {
    let sign_in = SignIn {
        user,
        dont_remember,
        cookies,
    };
    let mut extra = Vec::new();
    for plugin in state.plugins.iter() {
        match plugin.after_sign_in(state, &sign_in).await? {
            AfterSignIn::Respond(res) => return Ok(res),
            AfterSignIn::ContinueWith(cookies) => extra.extend(cookies),
            AfterSignIn::Continue => {}
        }
    }
    let session = create_session(state, &user.id, client, dont_remember).await?;
    let mut res = HttpResponse::Ok();
    for c in session_cookies(state, &session, user, dont_remember)
        .into_iter()
        .chain(extra)
    {
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
    body.insert("user".into(), user_json(user, state.store.user_fields()));
    Ok(res.json(Value::Object(body)))
}
