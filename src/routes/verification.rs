//! `POST /send-verification-email` and `GET /verify-email` (docs/compatibility.md §5.13, §10.2; Better
//! Auth's `api/routes/email-verification.ts`).

use actix_web::cookie::Cookie;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

use crate::auth::links::append_query;
use crate::error::{ApiError, ErrorCode};
use crate::flows::email_verification::{self, Verified};
use crate::flows::session::last_per_name;
use crate::http::extract::{check_query_callback, query_object, read_checked_body, Validator};
use crate::http::{json_with_cookies, redirect, request_cookies, ClientInfo};
use crate::state::AppState;

#[tracing::instrument(name = "send_verification_email", skip_all)]
pub async fn send_verification_email(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = read_checked_body(&state, &req, payload, false).await?;
    let mut v = Validator::body(body.as_ref());
    let email = v.email("email");
    let callback = v.opt_string("callbackURL");
    v.finish()?;
    let jar = request_cookies(&req);
    let (result, cookies) =
        email_verification::send(&state, &jar, &email, callback.as_deref()).await;
    match result {
        Ok(()) => Ok(json_with_cookies(cookies, &json!({ "status": true }))),
        Err(e) => Err(e.with_cookies(cookies)),
    }
}

#[tracing::instrument(name = "verify_email", skip_all, fields(user_id = tracing::field::Empty))]
pub async fn verify_email(
    state: web::Data<AppState>,
    req: HttpRequest,
    client: ClientInfo,
) -> Result<HttpResponse, ApiError> {
    let query = query_object(&req);
    let mut v = Validator::query(&query);
    let token = v.string("token");
    let callback = v.opt_string("callbackURL");
    v.finish()?;
    check_query_callback(&state, callback.as_deref())?;
    let callback = callback.as_deref().filter(|c| !c.is_empty());

    let jar = request_cookies(&req);
    match email_verification::verify(&state, &jar, &client, &token, callback).await? {
        // A step done: 302 to the callback, else 200 with the body.
        Verified::Done { body, cookies } => {
            let cookies = last_per_name(cookies);
            match callback {
                Some(cb) => redirect(cb, cookies),
                None => Ok(json_with_cookies(cookies, &body)),
            }
        }
        // Back to the callback with `error=<code>`, else 401.
        Verified::Failed { code, cookies } => failed(callback, code, cookies),
    }
}

fn failed(
    callback: Option<&str>,
    code: ErrorCode,
    cookies: Vec<Cookie<'static>>,
) -> Result<HttpResponse, ApiError> {
    match callback {
        Some(cb) => {
            let location = append_query(cb, "error", code.code())
                .ok_or(ApiError::from(ErrorCode::InvalidCallbackUrl))?;
            redirect(&location, cookies)
        }
        None => Err(ApiError::with_status(code, StatusCode::UNAUTHORIZED).with_cookies(cookies)),
    }
}
