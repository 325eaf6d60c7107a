//! `GET /token` (alias `/jwt`) and `GET /jwks` (Better Auth's `plugins/jwt/index.ts`).

use actix_web::http::header::ContentType;
use actix_web::{web, HttpRequest, HttpResponse};
use anyhow::anyhow;
use utoipa::openapi::path::HttpMethod::Get;

use super::JwtPlugin;
use crate::error::{ApiError, ErrorCode};
use crate::flows::session::Lookup;
use crate::http::hooks::caller_session;
use crate::http::route::get;
use crate::openapi::builder::{array_of, object, string, Op};
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(get("/token", token))
        .service(get("/jwt", token))
        .service(get("/jwks", jwks));
}

pub fn openapi() -> Vec<Op> {
    vec![
        Op::new(Get, "/token", "JWT", "A JWT for the current session").ok(object(
            vec![("token", string())],
            &["token"],
            true,
        )
        .into()),
        Op::new(
            Get,
            "/jwks",
            "JWT",
            "The public keys that verify this service's JWTs",
        )
        .ok(object(
            vec![(
                "keys",
                array_of(object(Vec::<(String, _)>::new(), &[], true).into()),
            )],
            &["keys"],
            true,
        )
        .into()),
    ]
}

fn plugin(state: &AppState) -> Result<&JwtPlugin, ApiError> {
    state
        .plugins
        .get::<JwtPlugin>()
        .ok_or_else(|| anyhow!("the JWT plugin is not enabled").into())
}

#[tracing::instrument(name = "jwt.token", skip_all)]
async fn token(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let plugin = plugin(&state)?;
    let resolved = caller_session(&state, &req, Lookup::default()).await?;
    let Some((_, user)) = &resolved.found else {
        return Err(ApiError::Code(ErrorCode::Unauthorized).with_cookies(resolved.cookies));
    };
    let token = plugin.mint(&state, user).await?;
    let mut res = HttpResponse::Ok();
    for c in resolved.cookies {
        res.cookie(c);
    }
    Ok(res.json(serde_json::json!({ "token": token })))
}

#[tracing::instrument(name = "jwt.jwks", skip_all)]
async fn jwks(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let plugin = plugin(&state)?;
    Ok(HttpResponse::Ok()
        .content_type(ContentType::json())
        .body(plugin.issuer.jwks(&state.store, state.clock.now()).await))
}
