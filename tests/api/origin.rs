//! The origin and login-CSRF checks (docs/compatibility.md §3) and the `[advanced]` settings that
//! turn them off: `disable_csrf_check` (the Origin check, §3.2 step 1, and the login check) and
//! `disable_origin_check` (callback validation, §3.2 step 2, and, as in Better Auth, step 1 too).

use reqwest::Response;
use serde_json::json;

use crate::helpers::*;

const EVIL: &str = "https://evil.example";

/// A signed-in app: its client holds a session cookie.
async fn signed_in(toml: &str) -> Option<TestApp> {
    let app = spawn_app_with(Backend::Sqlite, toml, &[]).await?;
    assert_eq!(app.sign_up(&unique_email()).await.status(), 200);
    Some(app)
}

/// POST /sign-out with the session cookie and the given Origin (none when `None`).
async fn sign_out(app: &TestApp, origin: Option<&str>) -> Response {
    let mut req = app.client.post(app.url("/sign-out")).json(&json!({}));
    if let Some(o) = origin {
        req = req.header("origin", o);
    }
    req.send().await.unwrap()
}

/// An email sign-in from a cross-site top-level navigation, without cookies.
async fn cross_site_sign_in(app: &TestApp, email: &str) -> Response {
    app.anonymous()
        .post(app.url("/sign-in/email"))
        .header("sec-fetch-site", "cross-site")
        .header("sec-fetch-mode", "navigate")
        .json(&json!({"email": email, "password": PASSWORD}))
        .send()
        .await
        .unwrap()
}

/// An email sign-in from a trusted origin asking to be sent to an untrusted callback.
async fn sign_in_to_evil_callback(app: &TestApp, email: &str) -> Response {
    app.anonymous()
        .post(app.url("/sign-in/email"))
        .header("origin", ORIGIN)
        .json(&json!({"email": email, "password": PASSWORD, "callbackURL": format!("{EVIL}/next")}))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn without_the_settings_every_check_answers_its_403() {
    let Some(app) = signed_in("").await else {
        return;
    };
    let email = unique_email();
    app.anonymous()
        .post(app.url("/sign-up/email"))
        .json(&json!({"email": email, "password": PASSWORD, "name": "N"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(sign_out(&app, None).await).await,
        (
            403,
            "MISSING_OR_NULL_ORIGIN".into(),
            "Missing or null Origin".into()
        )
    );
    assert_eq!(
        error_code(sign_out(&app, Some(EVIL)).await).await,
        (403, "INVALID_ORIGIN".into(), "Invalid origin".into())
    );
    assert_eq!(
        error_code(cross_site_sign_in(&app, &email).await).await,
        (
            403,
            "CROSS_SITE_NAVIGATION_LOGIN_BLOCKED".into(),
            "Cross-site navigation login blocked. This request appears to be a CSRF attack.".into()
        )
    );
    assert_eq!(
        error_code(sign_in_to_evil_callback(&app, &email).await).await,
        (
            403,
            "INVALID_CALLBACK_URL".into(),
            "Invalid callbackURL".into()
        )
    );
    assert_eq!(sign_out(&app, Some(ORIGIN)).await.status(), 200);
}

#[tokio::test]
async fn disable_csrf_check_turns_off_the_origin_and_login_checks_but_not_callback_validation() {
    let Some(app) = signed_in("[advanced]\ndisable_csrf_check = true\n").await else {
        return;
    };
    let email = unique_email();
    app.anonymous()
        .post(app.url("/sign-up/email"))
        .json(&json!({"email": email, "password": PASSWORD, "name": "N"}))
        .send()
        .await
        .unwrap();
    assert_eq!(cross_site_sign_in(&app, &email).await.status(), 200);
    assert_eq!(
        error_code(sign_in_to_evil_callback(&app, &email).await)
            .await
            .1,
        "INVALID_CALLBACK_URL"
    );
    assert_eq!(sign_out(&app, Some(EVIL)).await.status(), 200);
    assert_eq!(app.get_session().await, serde_json::Value::Null);
}

#[tokio::test]
async fn disable_csrf_check_lets_a_cookie_post_without_origin_through() {
    let Some(app) = signed_in("[advanced]\ndisable_csrf_check = true\n").await else {
        return;
    };
    assert_eq!(sign_out(&app, None).await.status(), 200);
}

#[tokio::test]
async fn disable_origin_check_turns_off_callback_validation_and_the_origin_check() {
    let Some(app) = signed_in("[advanced]\ndisable_origin_check = true\n").await else {
        return;
    };
    let email = unique_email();
    app.anonymous()
        .post(app.url("/sign-up/email"))
        .json(&json!({"email": email, "password": PASSWORD, "name": "N"}))
        .send()
        .await
        .unwrap();
    let res = sign_in_to_evil_callback(&app, &email).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["location"], format!("{EVIL}/next"));
    assert_eq!(cross_site_sign_in(&app, &email).await.status(), 200);
    assert_eq!(sign_out(&app, Some(EVIL)).await.status(), 200);
    assert_eq!(app.get_session().await, serde_json::Value::Null);
}
