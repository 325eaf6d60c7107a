//! The plugins' request and response hooks ([`crate::plugins::Plugin::on_request`],
//! [`crate::plugins::Plugin::on_response`]), run around every route under the base path and
//! around `/api/validate-session`.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage, HttpRequest};

use crate::error::ApiError;
use crate::flows::session::{resolve, Lookup, Resolved};
use crate::state::AppState;
use crate::store::{Session, User};

/// The session a plugin found in the request itself ([`crate::plugin::Plugin::authenticate`]).
#[derive(Clone)]
struct PluginSession(Session, User);

/// The caller's session: the one a plugin found in the request, else the session cookie's
/// (`flows::session::resolve`). A plugin's session is neither refreshed nor cached: it sets
/// no cookie.
pub async fn caller_session(
    state: &AppState,
    req: &HttpRequest,
    lookup: Lookup,
) -> Result<Resolved, ApiError> {
    let found = req
        .extensions()
        .get::<PluginSession>()
        .map(|p| (p.0.clone(), p.1.clone()));
    if let Some(found) = found {
        return Ok(Resolved {
            found: Some(found),
            cookies: Vec::new(),
            dont_remember: false,
        });
    }
    resolve(state, &super::request_cookies(req), lookup).await
}

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
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return Ok(next.call(req).await?.map_into_left_body());
    };
    let had_cookies = req.headers().contains_key(header::COOKIE);
    req.extensions_mut().insert(SentCookies(had_cookies));
    for plugin in state.plugins.iter() {
        plugin.on_request(&state, req.headers_mut());
    }
    let mut client = None;
    for plugin in state.plugins.iter().filter(|p| p.authenticates()) {
        let ip = client
            .get_or_insert_with(|| super::ClientInfo::from_request(&state, req.request()).ip)
            .clone();
        match plugin
            .authenticate(&state, req.headers(), ip.as_deref())
            .await
        {
            Ok(None) => {}
            Ok(Some((session, user))) => {
                req.extensions_mut().insert(PluginSession(session, user));
                break;
            }
            Err(e) => {
                let res = actix_web::ResponseError::error_response(&e);
                return Ok(req.into_response(res).map_into_right_body());
            }
        }
    }
    let watched = state.plugins.iter().any(|p| p.watches_responses());
    let sent = watched.then(|| {
        let path = crate::rate_limit::normalize_path(req.path(), &state.settings.base_path);
        (path, super::request_cookies(req.request()))
    });
    let mut res = next.call(req).await?.map_into_left_body();
    for plugin in state.plugins.iter() {
        plugin.on_response(&state, res.headers_mut());
    }
    if let Some((path, jar)) = sent {
        for plugin in state.plugins.iter().filter(|p| p.watches_responses()) {
            plugin
                .after_response(&state, &path, &jar, res.headers_mut())
                .await;
        }
    }
    Ok(res)
}
