//! The magic-link plugin (`[plugins.magic_link]`) on every backend: links that create the
//! user or sign an existing one in, redirects to the callbacks with the session cookies, single
//! use, expiry, hashed tokens, and sign-up turned off.

use serde_json::{json, Value};

use crate::helpers::*;

const LINK: &str = "[plugins.magic_link]\nenabled = true\n";

/// Asks for a link and returns the mailed link's path under the base path, and its token.
async fn ask(app: &TestApp, body: Value) -> (String, String) {
    let email = body["email"].as_str().unwrap().to_owned();
    let res = app.post("/sign-in/magic-link", &body).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap(), json!({"status": true}));
    let mail = app.last_mail("magic-link", &email);
    assert_eq!(
        mail.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["type", "email", "url", "token", "at"]
    );
    let token = mail["token"].as_str().unwrap().to_owned();
    assert_eq!(token.len(), 32);
    assert!(token.bytes().all(|b| b.is_ascii_alphabetic()));
    (app.path_of(mail["url"].as_str().unwrap()), token)
}

fn location(res: &reqwest::Response) -> String {
    res.headers()["location"].to_str().unwrap().to_owned()
}

#[apply(backends)]
#[tokio::test]
async fn magic_links_sign_in_once(#[case] backend: Backend) {
    let Some(app) = spawn_mail_app(backend, LINK).await else {
        return;
    };
    let origin = app.state.settings.base_origin.clone();
    // A new address: the user is created; the new-user callback gets the redirect.
    let email = unique_email();
    let (path, token) = ask(
        &app,
        json!({"email": email, "name": "Newcomer", "callbackURL": "/home", "newUserCallbackURL": "/welcome"}),
    )
    .await;
    assert_eq!(
        path,
        format!(
            "/magic-link/verify?token={token}&callbackURL=%2Fhome&newUserCallbackURL=%2Fwelcome"
        )
    );
    let row = app
        .state
        .store
        .find_verification(&format!("magic-link:{token}"), app.state.clock.now())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        row.value,
        format!(r#"{{"type":"magic-link","email":"{email}","name":"Newcomer"}}"#)
    );
    let browser = app.browser();
    let res = app.get_as(&browser, &path).await;
    assert_eq!(res.status(), 302);
    assert_eq!(location(&res), format!("{origin}/welcome"));
    assert!(cookie(&set_cookies(&res), "better-auth.session_token").is_some());
    let session = app.get_session_as(&browser).await;
    assert_eq!(session["user"]["email"], email.as_str());
    assert_eq!(session["user"]["name"], "Newcomer");
    assert_eq!(session["user"]["emailVerified"], true);

    // Used once only: the error goes to the callback.
    let res = app.get_as(&app.anonymous(), &path).await;
    assert_eq!(location(&res), format!("{origin}/home?error=INVALID_TOKEN"));
    assert!(set_cookies(&res).is_empty());

    // An existing user, no callback: JSON with the session.
    let (path, _) = ask(&app, json!({"email": email})).await;
    let path = path.replace("&callbackURL=%2F", "");
    let res = app.get_as(&app.anonymous(), &path).await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["user"]["email"], email.as_str());
    assert_eq!(body["session"]["token"], body["token"]);

    // An unverified password user is proven by the link: its old sessions go.
    let other = unique_email();
    let res = app.sign_up(&other).await;
    assert_eq!(res.status(), 200);
    let (path, _) = ask(&app, json!({"email": other, "callbackURL": "/in"})).await;
    let res = app.get_as(&app.anonymous(), &path).await;
    assert_eq!(
        location(&res),
        format!("{origin}/in"),
        "existing users go to callbackURL"
    );
    let user = app.user_by_email(&other).await.unwrap();
    assert!(user.email_verified);
    assert_eq!(
        app.sign_in(&other, PASSWORD).await.status(),
        401,
        "the unproven password is gone"
    );

    // Expired links, unknown tokens, the error callback.
    let (path, _) = ask(
        &app,
        json!({"email": email, "callbackURL": "/home", "errorCallbackURL": "/oops"}),
    )
    .await;
    app.advance(301);
    let res = app.get_as(&app.anonymous(), &path).await;
    assert_eq!(location(&res), format!("{origin}/oops?error=INVALID_TOKEN"));
    let res = app
        .get_as(&app.anonymous(), "/magic-link/verify?token=nope")
        .await;
    assert_eq!(location(&res), format!("{origin}/?error=INVALID_TOKEN"));

    // Bad input.
    let res = app
        .post("/sign-in/magic-link", &json!({"email": "not-an-email"}))
        .await;
    assert_eq!(error_code(res).await.1, "VALIDATION_ERROR");
    let res = app
        .get_as(
            &app.anonymous(),
            "/magic-link/verify?token=x&callbackURL=https://evil.example",
        )
        .await;
    assert_eq!(
        error_code(res).await,
        (
            403,
            "INVALID_CALLBACK_URL".into(),
            "Invalid callbackURL".into()
        )
    );
    let res = app.get_as(&app.anonymous(), "/magic-link/verify").await;
    assert_eq!(error_code(res).await.1, "VALIDATION_ERROR");
}

#[apply(backends)]
#[tokio::test]
async fn hashed_tokens_and_no_sign_up(#[case] backend: Backend) {
    let toml = format!("{LINK}store_token = \"hashed\"\ndisable_sign_up = true\n");
    let Some(app) = spawn_mail_app(backend, &toml).await else {
        return;
    };
    let origin = app.state.settings.base_origin.clone();
    let nobody = unique_email();
    let (path, token) = ask(&app, json!({"email": nobody, "callbackURL": "/home"})).await;
    let hashed = better_auth_rs::auth::crypto::b64url(&better_auth_rs::auth::crypto::sha256(
        token.as_bytes(),
    ));
    let now = app.state.clock.now();
    let store = &app.state.store;
    assert!(store
        .find_verification(&format!("magic-link:{hashed}"), now)
        .await
        .unwrap()
        .is_some());
    assert!(store
        .find_verification(&format!("magic-link:{token}"), now)
        .await
        .unwrap()
        .is_none());
    let res = app.get_as(&app.anonymous(), &path).await;
    assert_eq!(
        location(&res),
        format!("{origin}/home?error=new_user_signup_disabled")
    );
    assert!(app.user_by_email(&nobody).await.is_none());

    let email = unique_email();
    app.sign_up(&email).await;
    let (path, _) = ask(&app, json!({"email": email, "callbackURL": "/home"})).await;
    let res = app.get_as(&app.anonymous(), &path).await;
    assert_eq!(location(&res), format!("{origin}/home"));
    assert!(cookie(&set_cookies(&res), "better-auth.session_token").is_some());
}
