//! `POST /change-email` (docs/compatibility.md §5.11; Better Auth's `api/routes/update-user.ts`).

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

use crate::error::ApiError;
use crate::flows::email_change::{self, Caller};
use crate::http::extract::{read_checked_body, Validator};
use crate::http::{Current, Need};
use crate::state::AppState;

#[tracing::instrument(name = "change_email", skip_all, fields(user_id = tracing::field::Empty))]
pub async fn change_email(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = read_checked_body(&state, &req, payload, false).await?;
    let mut v = Validator::body(body.as_ref());
    let new_email = v.email("newEmail");
    let callback = v.opt_string("callbackURL");
    v.finish()?;
    let current = Current::require(&state, &req, Need::Sensitive).await?;
    tracing::Span::current().record("user_id", tracing::field::display(&current.user.id));
    let caller = Caller {
        session: &current.session,
        user: &current.user,
        dont_remember: current.dont_remember,
    };
    let new_email = crate::auth::email::normalize(&new_email);
    let cookies = email_change::request(&state, caller, &new_email, callback.as_deref())
        .await
        .map_err(|e| current.fail(e))?;
    Ok(current.respond(cookies, &json!({ "status": true })))
}
