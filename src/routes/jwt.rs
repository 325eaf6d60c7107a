//! The JWT plugin (`spec/jwt-jwks.md` §1): `GET /token` (alias `/jwt`), `GET /jwks`, and the
//! token minted for the `set-auth-jwt` header of `/get-session`. Mounted only when enabled.

use actix_web::http::header::ContentType;
use actix_web::{web, HttpRequest, HttpResponse};
use anyhow::anyhow;
use serde_json::Value;

use super::session::{resolve, Lookup};
use crate::error::{ApiError, ErrorCode};
use crate::startup::AppState;
use crate::store::json::user_json;
use crate::store::User;

/// A signed JWT for the user, with the current key.
pub async fn mint(state: &AppState, user: &User) -> Result<String, ApiError> {
    mint_for(state, user_json(user, state.store.user_fields())).await
}

/// A signed JWT for a user already shaped as its JSON object (`store::json::user_json`).
pub async fn mint_for(state: &AppState, user: Value) -> Result<String, ApiError> {
    let issuer = state
        .jwt
        .as_ref()
        .ok_or_else(|| anyhow!("the JWT plugin is not enabled"))?;
    let Value::Object(user) = user else {
        return Err(anyhow!("user JSON is not an object").into());
    };
    Ok(issuer.mint(&state.store, user, state.clock.now()).await?)
}

#[tracing::instrument(name = "jwt.token", skip_all)]
pub async fn token(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let resolved = resolve(&state, &req, Lookup::default()).await?;
    let Some((_, user)) = &resolved.found else {
        return Err(ApiError::Code(ErrorCode::Unauthorized).with_cookies(resolved.cookies));
    };
    let token = mint(&state, user).await?;
    let mut res = HttpResponse::Ok();
    for c in resolved.cookies {
        res.cookie(c);
    }
    Ok(res.json(serde_json::json!({ "token": token })))
}

#[tracing::instrument(name = "jwt.jwks", skip_all)]
pub async fn jwks(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let issuer = state
        .jwt
        .as_ref()
        .ok_or_else(|| anyhow!("the JWT plugin is not enabled"))?;
    Ok(HttpResponse::Ok()
        .content_type(ContentType::json())
        .body(issuer.jwks(&state.store, state.clock.now()).await))
}
