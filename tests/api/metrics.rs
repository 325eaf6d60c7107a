//! `GET /metrics` (docs/operations.md §2): off by default, never public, Prometheus text with
//! route patterns (never paths), and no email, token or IP address in it.

use rstest_reuse::apply;
use serde_json::json;

use crate::helpers::{
    backends, rstest, spawn_app, spawn_app_with, unique_email, Backend, TestApp, PASSWORD,
};
use crate::process::free_port;

const TOKEN: &str = "metrics-token-0123456789abcdef";

async fn scrape(app: &TestApp, token: Option<&str>) -> reqwest::Response {
    let mut req = app.client.get(format!("{}/metrics", app.address));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req.send().await.unwrap()
}

/// The value of the sample `name{labels}` (labels as written, in order), if present.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[tokio::test]
async fn metrics_are_off_by_default() {
    let Some(app) = spawn_app(Backend::Sqlite).await else {
        return;
    };
    assert_eq!(scrape(&app, Some(TOKEN)).await.status(), 404);
}

#[apply(backends)]
#[tokio::test]
async fn metrics_count_requests_by_route_pattern_and_leak_no_user_data(#[case] backend: Backend) {
    let toml = "[metrics]\nenabled = true\non_api_port = true\n[plugins.jwt]\nenabled = true\n";
    let Some(app) = spawn_app_with(backend, toml, &[("BETTER_AUTH_METRICS_TOKEN", TOKEN)]).await
    else {
        return;
    };
    // Without the token, or with another, nothing is shown.
    assert_eq!(scrape(&app, None).await.status(), 401);
    assert_eq!(
        scrape(&app, Some("metrics-token-0123456789abcdeX"))
            .await
            .status(),
        401
    );

    let email = unique_email();
    assert_eq!(app.sign_up(&email).await.status(), 200);
    assert_eq!(app.sign_in(&email, "wrong password").await.status(), 401);
    let res = app
        .client
        .post(app.url("/sign-in/email"))
        .header("origin", crate::helpers::ORIGIN)
        .header("x-forwarded-for", "203.0.113.77")
        .json(&json!({ "email": email, "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let token = res.json::<serde_json::Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    app.get_session().await;
    assert_eq!(app.get("/token").await.status(), 200);
    // A token in the path: the series must carry the pattern only.
    let reset = app.get(&format!("/reset-password/{token}")).await;
    assert!(reset.status().is_redirection() || reset.status().is_client_error());

    let res = scrape(&app, Some(TOKEN)).await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    let text = res.text().await.unwrap();
    let requests = |route: &str, method: &str, status: u16| {
        sample(
            &text,
            &format!(
                "better_auth_http_requests_total{{method=\"{method}\",route=\"/api/auth{route}\",status=\"{status}\"}}"
            ),
        )
    };
    assert_eq!(requests("/sign-up/email", "POST", 200), Some(1.0), "{text}");
    assert_eq!(requests("/sign-in/email", "POST", 401), Some(1.0));
    assert_eq!(requests("/sign-in/email", "POST", 200), Some(1.0));
    assert_eq!(requests("/get-session", "GET", 200), Some(1.0));
    assert_eq!(requests("/token", "GET", 200), Some(1.0));
    assert!(
        text.contains("route=\"/api/auth/reset-password/{token}\""),
        "{text}"
    );
    assert!(text.contains(
        "better_auth_http_request_duration_seconds_bucket{method=\"POST\",route=\"/api/auth/sign-up/email\",status=\"200\",le=\"+Inf\"} 1"
    ));
    assert_eq!(
        sample(
            &text,
            "better_auth_sign_ins_total{method=\"email\",outcome=\"success\"}"
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &text,
            "better_auth_sign_ins_total{method=\"email\",outcome=\"invalid_credentials\"}"
        ),
        Some(1.0)
    );
    for gauge in [
        "better_auth_password_hash_jobs_running",
        "better_auth_password_hash_queue_depth",
        "better_auth_password_hash_refused_total",
        "better_auth_db_pool_connections{state=\"in_use\"}",
        "better_auth_db_pool_connections{state=\"idle\"}",
        "better_auth_db_pool_max_connections",
        "better_auth_redis_errors_total",
        "better_auth_jwks_signing_key_age_seconds",
        "better_auth_shutting_down",
    ] {
        assert!(sample(&text, gauge).is_some(), "{gauge} in {text}");
    }
    assert_eq!(sample(&text, "better_auth_jwks_keys"), Some(1.0));
    assert!(sample(&text, "better_auth_db_pool_max_connections").unwrap() >= 1.0);
    // Nothing that identifies a user or a client.
    for private in [email.as_str(), token.as_str(), "203.0.113.77", PASSWORD] {
        assert!(!text.contains(private), "the metrics show {private}");
    }
}

#[tokio::test]
async fn metrics_on_their_own_port_are_not_on_the_api_port() {
    let port = free_port();
    let toml = format!("[metrics]\nenabled = true\nport = {port}\n");
    let Some(app) = spawn_app_with(Backend::Sqlite, &toml, &[]).await else {
        return;
    };
    assert_eq!(scrape(&app, None).await.status(), 404);
    let res = reqwest::get(format!("http://127.0.0.1:{port}/metrics"))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("better_auth_shutting_down 0"));
    let other = reqwest::get(format!("http://127.0.0.1:{port}/api/auth/ok"))
        .await
        .unwrap();
    assert_eq!(other.status(), 404, "only /metrics on the metrics port");
}

#[tokio::test]
async fn rate_limit_refusals_and_redis_errors_are_counted() {
    // Redis unreachable: the counters fail over to this process, and every failure counts.
    let toml = "[metrics]\nenabled = true\non_api_port = true\n[rate_limit]\nenabled = true\nstorage = \"redis\"\n\
                [[rate_limit.rules]]\npath = \"/ok\"\nwindow = 60\nmax = 2\n";
    let Some(app) = spawn_app_with(
        Backend::Sqlite,
        toml,
        &[
            ("REDIS_URL", "redis://127.0.0.1:1"),
            ("BETTER_AUTH_METRICS_TOKEN", TOKEN),
        ],
    )
    .await
    else {
        return;
    };
    let statuses = {
        let mut s = Vec::new();
        for _ in 0..3 {
            s.push(app.get("/ok").await.status().as_u16());
        }
        s
    };
    assert_eq!(statuses, [200, 200, 429]);
    let text = scrape(&app, Some(TOKEN)).await.text().await.unwrap();
    assert_eq!(
        sample(
            &text,
            "better_auth_rate_limit_refusals_total{route=\"/api/auth/ok\"}"
        ),
        Some(1.0),
        "{text}"
    );
    assert!(sample(&text, "better_auth_redis_errors_total").unwrap() >= 1.0);
}
