//! `POST /sign-in/anonymous` and `POST /delete-anonymous-user` (Better Auth's
//! `plugins/anonymous/index.ts`).

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Map, Value};
use utoipa::openapi::path::HttpMethod::Post;

use super::{is_anonymous, AnonymousError, AnonymousPlugin, IS_ANONYMOUS};
use crate::config::Settings;
use crate::error::ApiError;
use crate::flows::session::{create_session, resolve, session_cookies, Lookup};
use crate::flows::users::{new_user, NewUser};
use crate::http::extract::read_checked_body;
use crate::http::route::post;
use crate::http::{request_cookies, ClientInfo, Current, Need};
use crate::openapi::builder::{boolean, object, string, user, Op};
use crate::state::AppState;
use crate::store::json::user_json;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(post("/sign-in/anonymous", sign_in_anonymous))
        .service(post("/delete-anonymous-user", delete_anonymous_user));
}

fn plugin(state: &AppState) -> Result<&AnonymousPlugin, ApiError> {
    state
        .plugins
        .get::<AnonymousPlugin>()
        .ok_or_else(|| anyhow::anyhow!("the anonymous plugin is not enabled").into())
}

#[tracing::instrument(name = "sign_in.anonymous", skip_all, fields(user_id = tracing::field::Empty))]
pub async fn sign_in_anonymous(
    state: web::Data<AppState>,
    req: HttpRequest,
    client: ClientInfo,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    read_checked_body(&state, &req, payload, false).await?;
    let plugin = plugin(&state)?;
    let lookup = Lookup {
        disable_refresh: true,
        ..Lookup::default()
    };
    let current = resolve(&state, &request_cookies(&req), lookup).await?;
    if current.found.is_some_and(|(_, user)| is_anonymous(&user)) {
        return Err(AnonymousError::CannotSignInAgain.into());
    }
    let mut user = new_user(
        &state,
        NewUser {
            name: "Anonymous".into(),
            email: plugin.email(),
            email_verified: false,
            image: None,
            input: Map::new(),
        },
    )
    .await?;
    user.extra.insert(IS_ANONYMOUS.into(), Value::Bool(true));
    state
        .store
        .insert_user(state.store.connection(), &user)
        .await?;
    tracing::Span::current().record("user_id", tracing::field::display(&user.id));
    let session = create_session(&state, &user.id, &client, false).await?;
    let mut res = HttpResponse::Ok();
    for c in session_cookies(&state, &session, &user, false) {
        res.cookie(c);
    }
    Ok(res.json(json!({
        "token": session.token,
        "user": user_json(&user, state.store.user_fields()),
    })))
}

#[tracing::instrument(name = "delete_anonymous_user", skip_all)]
pub async fn delete_anonymous_user(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    read_checked_body(&state, &req, payload, false).await?;
    let current = Current::require(&state, &req, Need::Sensitive).await?;
    let plugin = plugin(&state)?;
    if plugin.settings.disable_delete_anonymous_user {
        return Err(current.fail(AnonymousError::DeleteDisabled));
    }
    if !is_anonymous(&current.user) {
        return Err(current.fail(AnonymousError::NotAnonymous));
    }
    state
        .store
        .delete_user(&current.user.id)
        .await
        .map_err(|e| current.fail(e))?;
    tracing::info!("anonymous user deleted");
    let mut res = HttpResponse::Ok();
    for c in state.cookies.clear_session(&current.jar) {
        res.cookie(c);
    }
    Ok(res.json(json!({ "success": true })))
}

pub fn openapi(settings: &Settings) -> Vec<Op> {
    vec![
        Op::new(
            Post,
            "/sign-in/anonymous",
            "Anonymous",
            "Sign in as a new anonymous user",
        )
        .ok(object(
            vec![("token", string()), ("user", user(settings))],
            &["token", "user"],
            true,
        )
        .into()),
        Op::new(
            Post,
            "/delete-anonymous-user",
            "Anonymous",
            "Delete the signed-in anonymous user",
        )
        .ok(object(vec![("success", boolean())], &["success"], true).into()),
    ]
}
