//! What a client compatibility suite found different from Better Auth 1.7.25, each pinned here:
//! the standard reason phrases, `GET /error`'s answers, `POST /verify-password` and
//! `GET /account-info` (docs/compatibility.md §4.1, §5.14, §5.15). The same answers are compared
//! with the real Better Auth by tests/node/differential.test.mjs.

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::*;

/// The status line of a raw HTTP/1.1 exchange (reqwest does not expose the reason phrase).
async fn status_line(app: &TestApp, method: &str, path: &str, body: Option<&Value>) -> String {
    let address = app.address.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let body = body.map(Value::to_string).unwrap_or_default();
    let request = format!(
        "{method} /api/auth{path} HTTP/1.1\r\nHost: {address}\r\nOrigin: {ORIGIN}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let text = String::from_utf8_lossy(&response);
    text.lines().next().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn errors_carry_the_standard_reason_phrases() {
    let Some(app) = spawn_app(Backend::Sqlite).await else {
        return;
    };
    let email = unique_email();
    app.sign_up(&email).await;
    let sign_up = json!({ "email": email, "password": PASSWORD, "name": "Ada" });
    let cases = [
        (
            "POST",
            "/sign-up/email",
            Some(sign_up),
            "HTTP/1.1 422 Unprocessable Entity",
        ),
        (
            "POST",
            "/sign-in/email",
            Some(json!({ "email": email, "password": "wrong-password" })),
            "HTTP/1.1 401 Unauthorized",
        ),
        (
            "POST",
            "/sign-in/email",
            Some(json!({ "email": "nope", "password": "x" })),
            "HTTP/1.1 400 Bad Request",
        ),
        ("GET", "/list-sessions", None, "HTTP/1.1 401 Unauthorized"),
        ("GET", "/no-such-route", None, "HTTP/1.1 404 Not Found"),
        ("GET", "/ok", None, "HTTP/1.1 200 OK"),
    ];
    for (method, path, body, expected) in cases {
        assert_eq!(
            status_line(&app, method, path, body.as_ref()).await,
            expected,
            "{method} {path}"
        );
    }
}

/// `GET /error` with `query`, not following redirects: (status, Location, Content-Type, body).
async fn error_page(app: &TestApp, query: &str) -> (u16, Option<String>, Option<String>, String) {
    let res = app
        .anonymous()
        .get(app.url(&format!("/error{query}")))
        .send()
        .await
        .unwrap();
    let header = |name: &str| {
        res.headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    let (location, content_type) = (header("location"), header("content-type"));
    (
        res.status().as_u16(),
        location,
        content_type,
        res.text().await.unwrap(),
    )
}

#[tokio::test]
async fn the_error_page_is_better_auths_outside_production() {
    let Some(app) = spawn_app(Backend::Sqlite).await else {
        return;
    };
    let (status, location, content_type, html) = error_page(
        &app,
        "?error=INVALID_TOKEN&error_description=a%20%26%20%3Cb%3E",
    )
    .await;
    assert_eq!((status, location), (200, None));
    assert_eq!(content_type.as_deref(), Some("text/html"));
    assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
    assert!(html.contains("INVALID_TOKEN"));
    assert!(html.contains("a &amp; &lt;b&gt;"), "description escaped");
    assert!(html.contains(
        "errors/INVALID_TOKEN?askai=What%20does%20the%20error%20code%20INVALID_TOKEN%20mean%3F"
    ));
    // A code that is not a plain identifier is shown as UNKNOWN.
    let (_, _, _, html) = error_page(&app, "?error=%3Cscript%3Ealert(1)%3C%2Fscript%3E").await;
    assert!(html.contains("UNKNOWN") && !html.contains("<script"));
}

#[tokio::test]
async fn the_error_page_redirects_to_the_site_root_in_production() {
    let Some(app) = spawn_app_with(Backend::Sqlite, "", &[("BETTER_AUTH_ENV", "production")]).await
    else {
        return;
    };
    let cases = [
        ("", "/?error=UNKNOWN"),
        ("?error=INVALID_TOKEN", "/?error=INVALID_TOKEN"),
        ("?error=%3Cscript%3E", "/?error=UNKNOWN"),
        // URLSearchParams encoding: a space is `+`.
        (
            "?error=it's&error_description=a%20b%26c",
            "/?error=it%27s&error_description=a+b%26c",
        ),
    ];
    for (query, expected) in cases {
        let (status, location, _, body) = error_page(&app, query).await;
        assert_eq!(
            (status, location.as_deref(), body.as_str()),
            (302, Some(expected), ""),
            "{query}"
        );
    }
}

#[tokio::test]
async fn the_error_page_redirects_to_the_configured_error_url() {
    let toml = "[on_api_error]\nerror_url = \"https://app.example/auth/error?from=api\"\n";
    let Some(app) = spawn_app_with(Backend::Sqlite, toml, &[]).await else {
        return;
    };
    let (status, location, _, _) =
        error_page(&app, "?error=INVALID_TOKEN&error_description=x y").await;
    assert_eq!(status, 302);
    assert_eq!(
        location.as_deref(),
        Some("https://app.example/auth/error?from=api&error=INVALID_TOKEN&error_description=x+y")
    );
    // A relative error URL stays relative.
    let app = app.restart("[on_api_error]\nerror_url = \"/oops\"\n").await;
    let (_, location, _, _) = error_page(&app, "?error=%3Cb%3E").await;
    assert_eq!(location.as_deref(), Some("/oops?error=UNKNOWN"));
}

#[test]
fn an_error_url_that_is_not_a_url_is_refused_at_start() {
    for bad in ["//evil.example/x", "not a url"] {
        let vars = vec![
            ("BETTER_AUTH_SECRET".to_owned(), "a".repeat(40)),
            (
                "BETTER_AUTH_CONFIG".to_owned(),
                write_config(&format!("[on_api_error]\nerror_url = \"{bad}\"\n")),
            ),
        ];
        let err = better_auth_rs::config::Settings::load(
            &better_auth_rs::config::Sources::from_map(vars),
        )
        .expect_err(bad)
        .to_string();
        assert!(err.contains("on_api_error.error_url"), "{err}");
    }
}

fn write_config(text: &str) -> String {
    let dir = tempfile::tempdir().unwrap().keep();
    let path = dir.join("config.toml");
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

#[apply(backends)]
#[tokio::test]
async fn verify_password_checks_the_callers_password(#[case] backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    // Body validation comes before the session check.
    let res = app
        .anonymous()
        .post(app.url("/verify-password"))
        .header("origin", ORIGIN)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(res).await,
        (
            400,
            "VALIDATION_ERROR".into(),
            "[body.password] Invalid input: expected string, received undefined".into()
        )
    );
    let res = app
        .post_as(
            &app.anonymous(),
            "/verify-password",
            &json!({ "password": PASSWORD }),
        )
        .await;
    assert_eq!(error_code(res).await.0, 401);

    let body: Value = app.sign_up(&unique_email()).await.json().await.unwrap();
    let res = app
        .post("/verify-password", &json!({ "password": PASSWORD }))
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.json::<Value>().await.unwrap(),
        json!({ "status": true })
    );
    let res = app
        .post("/verify-password", &json!({ "password": "wrong-password" }))
        .await;
    assert_eq!(
        error_code(res).await,
        (400, "INVALID_PASSWORD".into(), "Invalid password".into())
    );
    let res = app
        .post("/verify-password", &json!({ "password": "x".repeat(129) }))
        .await;
    assert_eq!(error_code(res).await.1, "PASSWORD_TOO_LONG");

    // A user without a credential account: INVALID_PASSWORD too.
    let user_id = body["user"]["id"].as_str().unwrap();
    let accounts = app.state.store.list_accounts(user_id).await.unwrap();
    app.state
        .store
        .delete_account(user_id, &accounts[0].id)
        .await
        .unwrap();
    let res = app
        .post("/verify-password", &json!({ "password": PASSWORD }))
        .await;
    assert_eq!(
        error_code(res).await,
        (400, "INVALID_PASSWORD".into(), "Invalid password".into())
    );
}

#[apply(backends)]
#[tokio::test]
async fn account_info_validates_the_selection_and_the_owner(#[case] backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let anonymous = app.anonymous();
    let get = |client: &reqwest::Client, query: &str| {
        client.get(app.url(&format!("/account-info{query}"))).send()
    };
    // The query is validated first, with or without a session.
    let res = get(&anonymous, "").await.unwrap();
    assert_eq!(
        error_code(res).await,
        (
            400,
            "VALIDATION_ERROR".into(),
            "[query] Invalid input".into()
        )
    );
    let res = get(&anonymous, "?accountId=a&foo=1").await.unwrap();
    assert_eq!(error_code(res).await.2, "[query] Unrecognized key: \"foo\"");
    // No session: a bare 401 under a JSON content type.
    let res = get(&anonymous, "?accountId=a").await.unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(res.headers()["content-type"], "application/json");
    assert_eq!(res.text().await.unwrap(), "");

    let other: Value = app.sign_up(&unique_email()).await.json().await.unwrap();
    let other_accounts = app
        .state
        .store
        .list_accounts(other["user"]["id"].as_str().unwrap())
        .await
        .unwrap();
    let me = app.browser();
    let res = app
        .post_as(
            &me,
            "/sign-up/email",
            &json!({ "email": unique_email(), "password": PASSWORD, "name": "Me" }),
        )
        .await;
    assert_eq!(res.status(), 200);
    let res = get(&me, "").await.unwrap();
    assert_eq!(error_code(res).await.1, "VALIDATION_ERROR");
    // Another user's account is not found.
    let res = get(&me, &format!("?accountId={}", other_accounts[0].id))
        .await
        .unwrap();
    assert_eq!(
        error_code(res).await,
        (400, "ACCOUNT_NOT_FOUND".into(), "Account not found".into())
    );
    // The caller's own credential account has no social provider to ask.
    let mine: Value = me
        .get(app.url("/list-accounts"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let res = get(
        &me,
        &format!("?accountId={}", mine[0]["id"].as_str().unwrap()),
    )
    .await
    .unwrap();
    assert_eq!(
        error_code(res).await,
        (
            400,
            "PROVIDER_NOT_CONFIGURED".into(),
            "Account is not associated with a configured social provider.".into()
        )
    );
}

#[tokio::test]
async fn sign_in_refuses_an_over_long_password_whoever_the_address_is() {
    let Some(app) = spawn_app(Backend::Sqlite).await else {
        return;
    };
    let email = unique_email();
    app.sign_up(&email).await;
    for address in [email, unique_email()] {
        let res = app.sign_in(&address, &"x".repeat(129)).await;
        assert_eq!(
            error_code(res).await,
            (400, "PASSWORD_TOO_LONG".into(), "Password too long".into())
        );
    }
    // At the limit it is an ordinary wrong password.
    let res = app.sign_in(&unique_email(), &"x".repeat(128)).await;
    assert_eq!(error_code(res).await.1, "INVALID_EMAIL_OR_PASSWORD");
}

#[tokio::test]
async fn admin_routes_answer_the_bare_401_under_a_json_content_type() {
    let Some(app) = spawn_app_with(Backend::Sqlite, "[plugins.admin]\nenabled = true\n", &[]).await
    else {
        return;
    };
    let res = app
        .anonymous()
        .get(app.url("/admin/list-users"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(res.headers()["content-type"], "application/json");
    assert_eq!(res.text().await.unwrap(), "");
}
