//! Liveness and readiness (outside the auth base path), and `/ok`, `/error` inside it.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

use crate::auth::crypto::iso;
use crate::state::AppState;

pub async fn health(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "healthy", "timestamp": iso(&state.clock.now()) }))
}

/// 503 while the database cannot be reached, or once the process has been asked to stop
/// (docs/operations.md §3), so an orchestrator or load balancer stops routing to us.
pub async fn ready(state: web::Data<AppState>) -> HttpResponse {
    if state.is_stopping() {
        return HttpResponse::ServiceUnavailable().json(
            json!({ "status": "stopping", "code": "SHUTTING_DOWN", "message": "Shutting down" }),
        );
    }
    match state.store.ping().await {
        Ok(()) => HttpResponse::Ok().json(json!({ "status": "ready" })),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check: database unreachable");
            HttpResponse::ServiceUnavailable()
                .json(json!({ "status": "unavailable", "code": "DATABASE_UNAVAILABLE", "message": "Database unreachable" }))
        }
    }
}

pub async fn ok() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "ok": true }))
}

fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// `GET /error` (endpoints.md §6.2): an HTML page, or in production a redirect to the site root.
pub async fn error_page(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let query = crate::http::extract::query_pairs(&req);
    let get = |k: &str| query.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let code = get("error")
        .filter(|c| {
            !c.is_empty()
                && c.chars()
                    .all(|ch| ch.is_ascii_alphanumeric() || "'_-".contains(ch))
        })
        .unwrap_or_else(|| "UNKNOWN".into());
    let description = get("error_description");
    if state.settings.is_production() {
        let mut location = format!(
            "/?error={}",
            crate::auth::crypto::encode_uri_component(&code)
        );
        if let Some(d) = &description {
            location.push_str(&format!(
                "&error_description={}",
                crate::auth::crypto::encode_uri_component(d)
            ));
        }
        return HttpResponse::Found()
            .insert_header((header::LOCATION, location))
            .finish();
    }
    let description = description
        .map(|d| format!("<p>{}</p>", escape_html(&d)))
        .unwrap_or_default();
    HttpResponse::Ok().content_type("text/html; charset=utf-8").body(format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Error</title></head>\
         <body><h1>Something went wrong</h1><p>Error code: <code>{}</code></p>{description}</body></html>",
        escape_html(&code)
    ))
}
