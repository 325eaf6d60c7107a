//! The plugins' request and response hooks ([`crate::plugins::Plugin::on_request`],
//! [`crate::plugins::Plugin::on_response`]), run around every route under the base path and
//! around `/api/validate-session`.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage, HttpRequest};

use crate::state::AppState;

/// Whether the request *as sent* carried a `Cookie` header (a plugin may add one).
#[derive(Clone, Copy, Debug)]
pub struct SentCookies(pub bool);

pub fn sent_cookies(req: &HttpRequest) -> bool {
    req.extensions()
        .get::<SentCookies>()
        .map(|s| s.0)
        .unwrap_or_else(|| req.headers().contains_key(header::COOKIE))
}

pub async fn middleware(
    mut req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return next.call(req).await;
    };
    let had_cookies = req.headers().contains_key(header::COOKIE);
    req.extensions_mut().insert(SentCookies(had_cookies));
    for plugin in state.plugins.iter() {
        plugin.on_request(&state, req.headers_mut());
    }
    let mut res = next.call(req).await?;
    for plugin in state.plugins.iter() {
        plugin.on_response(&state, res.headers_mut());
    }
    Ok(res)
}
