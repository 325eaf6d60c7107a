//! The anonymous plugin (`[plugins.anonymous]`) on every backend: anonymous sign-in, no second
//! one from an anonymous session, the anonymous user removed once the browser signs up or in
//! as someone else, and `/delete-anonymous-user`.

use serde_json::{json, Value};

use crate::helpers::*;

const ANON: &str = "[plugins.anonymous]\nenabled = true\n";

async fn sign_in_anonymous(app: &TestApp, browser: &reqwest::Client) -> Value {
    let res = app.post_as(browser, "/sign-in/anonymous", &json!({})).await;
    assert_eq!(res.status(), 200);
    assert!(cookie(&set_cookies(&res), "better-auth.session_token").is_some());
    let body: Value = res.json().await.unwrap();
    assert!(body["token"].is_string());
    body["user"].clone()
}

#[apply(backends)]
#[tokio::test]
async fn anonymous_users_sign_in_link_and_leave(#[case] backend: Backend) {
    let Some(app) = spawn_app_with(backend, ANON, &[]).await else {
        return;
    };
    let browser = app.browser();
    let anon = sign_in_anonymous(&app, &browser).await;
    assert_eq!(anon["isAnonymous"], true);
    assert_eq!(anon["name"], "Anonymous");
    assert_eq!(anon["emailVerified"], false);
    let email = anon["email"].as_str().unwrap();
    assert!(email.ends_with("@anonymous.placeholder.invalid"), "{email}");
    let id = anon["id"].as_str().unwrap().to_owned();
    let session = app.get_session_as(&browser).await;
    assert_eq!(session["user"]["isAnonymous"], true);

    let res = app
        .post_as(&browser, "/sign-in/anonymous", &json!({}))
        .await;
    assert_eq!(
        error_code(res).await,
        (
            400,
            "ANONYMOUS_USERS_CANNOT_SIGN_IN_AGAIN_ANONYMOUSLY".into(),
            "Anonymous users cannot sign in again anonymously".into()
        )
    );
    let res = app
        .post_as(&browser, "/update-user", &json!({"isAnonymous": false}))
        .await;
    assert_eq!(res.status(), 400, "isAnonymous is not input");

    // Signing up from the anonymous session: the anonymous user is gone.
    let real = unique_email();
    let res = app
        .post_as(
            &browser,
            "/sign-up/email",
            &json!({"email": real, "password": PASSWORD, "name": "Real"}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["user"]["isAnonymous"], false);
    assert!(
        app.user_by_id(&id).await.is_none(),
        "the anonymous user was removed"
    );
    let session = app.get_session_as(&browser).await;
    assert_eq!(session["user"]["email"], real.as_str());

    // Signing in (not up) links too; a failed sign-in keeps the anonymous user.
    let other = app.browser();
    let anon = sign_in_anonymous(&app, &other).await;
    let id = anon["id"].as_str().unwrap().to_owned();
    let res = app.sign_in_as(&other, &real, "wrong-password").await;
    assert_eq!(res.status(), 401);
    assert!(app.user_by_id(&id).await.is_some());
    let res = app.sign_in_as(&other, &real, PASSWORD).await;
    assert_eq!(res.status(), 200);
    assert!(app.user_by_id(&id).await.is_none());

    // Deleting oneself: only anonymous users.
    let res = app
        .post_as(&browser, "/delete-anonymous-user", &json!({}))
        .await;
    assert_eq!(
        error_code(res).await,
        (
            403,
            "USER_IS_NOT_ANONYMOUS".into(),
            "User is not anonymous".into()
        )
    );
    let third = app.browser();
    let anon = sign_in_anonymous(&app, &third).await;
    let id = anon["id"].as_str().unwrap().to_owned();
    let res = app
        .post_as(&third, "/delete-anonymous-user", &json!({}))
        .await;
    assert_eq!(res.status(), 200);
    let cleared = set_cookies(&res);
    assert!(cookie(&cleared, "better-auth.session_token").is_some_and(|c| c.contains("Max-Age=0")));
    assert_eq!(res.json::<Value>().await.unwrap(), json!({"success": true}));
    assert!(app.user_by_id(&id).await.is_none());
    assert_eq!(app.get_session_as(&third).await, Value::Null);
    let res = app
        .post_as(&app.anonymous(), "/delete-anonymous-user", &json!({}))
        .await;
    assert_eq!(res.status(), 401);
}

#[apply(backends)]
#[tokio::test]
async fn anonymous_users_can_be_kept(#[case] backend: Backend) {
    let toml = format!(
        "{ANON}email_domain_name = \"guests.example\"\ndisable_delete_anonymous_user = true\n"
    );
    let Some(app) = spawn_app_with(backend, &toml, &[]).await else {
        return;
    };
    let browser = app.browser();
    let anon = sign_in_anonymous(&app, &browser).await;
    let email = anon["email"].as_str().unwrap();
    assert!(
        email.starts_with("temp-") && email.ends_with("@guests.example"),
        "{email}"
    );
    let id = anon["id"].as_str().unwrap().to_owned();
    let res = app.sign_up(&unique_email()).await;
    assert_eq!(res.status(), 200);
    let res = app
        .post_as(
            &browser,
            "/sign-up/email",
            &json!({"email": unique_email(), "password": PASSWORD, "name": "Real"}),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert!(app.user_by_id(&id).await.is_some(), "kept");
    let browser = app.browser();
    sign_in_anonymous(&app, &browser).await;
    let res = app
        .post_as(&browser, "/delete-anonymous-user", &json!({}))
        .await;
    assert_eq!(
        error_code(res).await,
        (
            400,
            "DELETE_ANONYMOUS_USER_DISABLED".into(),
            "Deleting anonymous users is disabled".into()
        )
    );
}
