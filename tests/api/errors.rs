use serde_json::{json, Value};

use crate::helpers::*;

#[tokio::test]
async fn body_media_types_and_json_errors_match_better_call() {
    let Some(app) = spawn_app(Backend::Sqlite).await else {
        return;
    };
    let c = app.anonymous();
    let url = app.url("/sign-in/email");
    // Without a Content-Type, Better Auth's node adapter reads no body at all.
    let res = c.post(&url).body("{}").send().await.unwrap();
    assert_eq!(
        error_code(res).await,
        (
            400,
            "VALIDATION_ERROR".into(),
            "[body] Invalid input: expected object, received undefined".into()
        )
    );
    // Nor from an empty one, whatever its type.
    let res = c
        .post(&url)
        .header("content-type", "text/plain")
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(res).await.2,
        "[body] Invalid input: expected object, received undefined"
    );
    let res = c
        .post(&url)
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(res).await.2,
        "Content-Type \"text/plain\" is not allowed. Allowed types: application/x-www-form-urlencoded, application/json"
    );
    let res = c
        .post(app.url("/sign-out"))
        .header("content-type", "application/ld+json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(res).await.0, 415);
    let res = c
        .post(&url)
        .header("content-type", "application/json; charset=utf-8")
        .body("{oops")
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(res).await,
        (
            400,
            "BAD_REQUEST".into(),
            "Invalid JSON in request body".into()
        )
    );
    let res = c
        .post(&url)
        .json(&json!(["an", "array"]))
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(res).await.2,
        "[body] Invalid input: expected object, received array"
    );
}

#[tokio::test]
async fn hostile_bodies_get_4xx_never_5xx() {
    let Some(app) = spawn_app(Backend::Sqlite).await else {
        return;
    };
    let c = app.anonymous();
    let url = app.url("/sign-up/email");
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let huge = json!({"email": format!("{}@example.com", "a".repeat(70_000)), "password": PASSWORD, "name": "x"});
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("deep nesting", deep.into_bytes()),
        ("over the size limit", huge.to_string().into_bytes()),
        ("invalid utf-8", b"{\"email\": \"\xff\xfe\"}".to_vec()),
        ("numbers for strings", br#"{"email": 1, "password": 2, "name": 3}"#.to_vec()),
        ("nul bytes", "{\"email\":\"a\\u0000@example.com\",\"password\":\"x\",\"name\":\"x\"}".as_bytes().to_vec()),
        ("long email", json!({"email": format!("{}@example.com", "a".repeat(300)), "password": PASSWORD, "name": "x"}).to_string().into_bytes()),
    ];
    for (what, body) in cases {
        let res = c
            .post(&url)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        assert!((400..500).contains(&status), "{what}: {status}");
        let body: Value = res.json().await.unwrap_or(Value::Null);
        assert!(body["code"].is_string(), "{what}: {body}");
    }
}

#[tokio::test]
async fn unknown_routes_and_wrong_methods_are_404_with_an_empty_body() {
    let Some(app) = spawn_app(Backend::Sqlite).await else {
        return;
    };
    let c = app.anonymous();
    for res in [
        c.get(app.url("/nope")).send().await.unwrap(),
        c.get(app.url("/sign-in/email")).send().await.unwrap(),
        c.post(app.url("/ok")).send().await.unwrap(),
        c.get(app.url("/ok/")).send().await.unwrap(),
        c.get(format!("{}/elsewhere", app.address))
            .send()
            .await
            .unwrap(),
    ] {
        assert_eq!(res.status(), 404);
        assert!(res.text().await.unwrap().is_empty());
    }
    let res = c.post(app.url("/get-session")).send().await.unwrap();
    assert_eq!(
        error_code(res).await,
        (
            405,
            "METHOD_NOT_ALLOWED_DEFER_SESSION_REQUIRED".into(),
            "POST method requires deferSessionRefresh to be enabled in session config".into()
        )
    );
}

#[tokio::test]
async fn utility_and_health_endpoints_answer() {
    let Some(app) = spawn_app(Backend::Sqlite).await else {
        return;
    };
    let c = app.anonymous();
    let ok = c.get(app.url("/ok")).send().await.unwrap();
    assert!(ok
        .headers()
        .get("x-request-id")
        .is_some_and(|v| v.len() == 36));
    assert_eq!(ok.json::<Value>().await.unwrap(), json!({"ok": true}));
    let health: Value = c
        .get(format!("{}/health", app.address))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["status"], "healthy");
    assert!(health["timestamp"].as_str().unwrap().ends_with('Z'));
    let ready = c
        .get(format!("{}/ready", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
    let page = c
        .get(app.url("/error?error=<script>&error_description=%3Cb%3E"))
        .send()
        .await
        .unwrap();
    assert!(page.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let html = page.text().await.unwrap();
    assert!(html.contains("UNKNOWN") && html.contains("&lt;b&gt;") && !html.contains("<script>"));
}

#[tokio::test]
async fn ready_is_503_when_the_database_is_gone() {
    let Some(app) = spawn_app(Backend::Sqlite).await else {
        return;
    };
    app.state.store.clone().close().await.unwrap();
    let res = app
        .anonymous()
        .get(format!("{}/ready", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 503);
    let res = app.sign_in(&unique_email(), PASSWORD).await;
    assert_eq!(
        res.status(),
        503,
        "a database outage is 503 with a code, not 500"
    );
    assert_eq!(res.headers()["retry-after"], "1");
    assert_eq!(error_code(res).await.1, "SERVICE_UNAVAILABLE");
}

#[tokio::test]
async fn browsers_on_trusted_origins_get_cors_with_credentials() {
    let Some(app) = spawn_app(Backend::Sqlite).await else {
        return;
    };
    let c = app.anonymous();
    let res = c
        .request(reqwest::Method::OPTIONS, app.url("/sign-in/email"))
        .header("origin", ORIGIN)
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type")
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success());
    assert_eq!(res.headers()["access-control-allow-origin"], ORIGIN);
    assert_eq!(res.headers()["access-control-allow-credentials"], "true");
    let res = c
        .get(app.url("/get-session"))
        .header("origin", ORIGIN)
        .send()
        .await
        .unwrap();
    let exposed = res.headers()["access-control-expose-headers"]
        .to_str()
        .unwrap()
        .to_lowercase();
    assert!(
        exposed.contains("set-auth-token") && exposed.contains("set-auth-jwt"),
        "{exposed}"
    );
    let res = c
        .get(app.url("/get-session"))
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert!(res.headers().get("access-control-allow-origin").is_none());
}
