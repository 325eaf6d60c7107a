//! Liveness and readiness (outside the auth base path), and `/ok`, `/error` inside it.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

use crate::auth::crypto::{encode_uri_component, iso};
use crate::auth::links::append_query_pairs;
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

/// Better Auth's `sanitize` (`packages/better-auth/src/api/routes/error.ts`): `<>"'` escaped,
/// then each `&` that does not start an entity.
fn sanitize(s: &str) -> String {
    let s = s
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;");
    let entity = |rest: &str| {
        ["amp;", "lt;", "gt;", "quot;", "#39;"]
            .iter()
            .any(|e| rest.starts_with(e))
            || numeric_entity(rest)
    };
    let mut out = String::with_capacity(s.len());
    for (i, ch) in s.char_indices() {
        if ch == '&' && !entity(&s[i + 1..]) {
            out.push_str("&amp;");
        } else {
            out.push(ch);
        }
    }
    out
}

/// `#x[0-9a-fA-F]+;` or `#[0-9]+;` at the start of `rest`.
fn numeric_entity(rest: &str) -> bool {
    let Some(rest) = rest.strip_prefix('#') else {
        return false;
    };
    let (digits, hex) = match rest.strip_prefix('x') {
        Some(r) => (r, true),
        None => (rest, false),
    };
    let n = digits
        .chars()
        .take_while(|c| match hex {
            true => c.is_ascii_hexdigit(),
            false => c.is_ascii_digit(),
        })
        .count();
    n > 0 && digits[n..].starts_with(';')
}

/// Better Auth's default error page, rendered with its default options.
const ERROR_PAGE: &str = include_str!("error_page.html");

/// `GET /error` (docs/compatibility.md §5.15), as Better Auth 1.7.25 answers it: a 302 to
/// `[on_api_error] error_url` with `error` (and `error_description`) appended when it is set;
/// else in production a 302 to `/?error=<code>…` (the site root); else the HTML page.
pub async fn error_page(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let query = crate::http::extract::query_pairs(&req);
    let get = |k: &str| {
        query
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .filter(|v| !v.is_empty())
    };
    let code = get("error")
        .filter(|c| {
            c.chars()
                .all(|ch| ch.is_ascii_alphanumeric() || "'_-".contains(ch))
        })
        .unwrap_or_else(|| "UNKNOWN".into());
    let description = get("error_description");
    let mut params = vec![("error", code.as_str())];
    if let Some(d) = &description {
        params.push(("error_description", d.as_str()));
    }
    let location = match &state.settings.on_api_error.error_url {
        // Checked when the settings were loaded.
        Some(url) => append_query_pairs(url, &params),
        None if state.settings.is_production() => append_query_pairs("/", &params),
        None => None,
    };
    if let Some(location) = location {
        return HttpResponse::Found()
            .insert_header((header::LOCATION, location))
            .finish();
    }
    let code_uri = encode_uri_component(&code);
    let description = match &description {
        Some(d) => sanitize(d),
        None => format!(
            "We encountered an unexpected error. Please try again or return to the home page. \
             If you're a developer, you can find <a href='https://better-auth.com/docs/reference/errors/{code_uri}' \
             target='_blank' rel=\"noopener noreferrer\" style='color: var(--foreground); \
             text-decoration: underline;'>more information about the error</a>."
        ),
    };
    let askai = encode_uri_component(&format!("What does the error code {code} mean?"));
    let page = ERROR_PAGE
        .replace("{{code}}", &sanitize(&code))
        .replace("{{code_uri}}", &code_uri)
        .replace("{{askai}}", &askai)
        .replace("{{description}}", &description);
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/html"))
        .body(page)
}

#[cfg(test)]
mod tests {
    use super::sanitize;

    #[test]
    fn sanitize_escapes_markup_and_bare_ampersands_but_keeps_entities() {
        assert_eq!(
            sanitize("<b>\"x\" & 'y' &amp; &#39; &#x2F; &foo;"),
            "&lt;b&gt;&quot;x&quot; &amp; &#39;y&#39; &amp; &#39; &#x2F; &amp;foo;"
        );
    }
}
