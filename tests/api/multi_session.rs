//! The multi-session plugin (`[plugins.multi_session]`) on every backend: the signed
//! `better-auth.session_token_multi-<token>` cookie each sign-in adds, the maximum, listing,
//! switching and revoking accounts, another browser's token refused, sign-out clearing them
//! all, and bad input answered with 4xx.

use serde_json::{json, Value};

use crate::helpers::*;

const MULTI: &str = "[plugins.multi_session]\nenabled = true\nmaximum_sessions = 3\n";
const SESSION: &str = "better-auth.session_token";

fn multi_name(token: &str) -> String {
    format!("{SESSION}_multi-{}", token.to_lowercase())
}

fn value_of(set_cookie: &str) -> &str {
    set_cookie
        .split(';')
        .next()
        .and_then(|p| p.split_once('='))
        .map(|(_, v)| v)
        .unwrap_or_default()
}

/// Signs a new user up in `browser`; returns (email, session token, Set-Cookie headers).
async fn sign_up(app: &TestApp, browser: &reqwest::Client) -> (String, String, Vec<String>) {
    let email = unique_email();
    let res = app
        .post_as(
            browser,
            "/sign-up/email",
            &json!({"email": email, "password": PASSWORD, "name": "Multi"}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let cookies = set_cookies(&res);
    let body: Value = res.json().await.unwrap();
    (email, body["token"].as_str().unwrap().to_owned(), cookies)
}

async fn list(app: &TestApp, browser: &reqwest::Client) -> Vec<String> {
    let res = app
        .get_as(browser, "/multi-session/list-device-sessions")
        .await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    let mut emails: Vec<String> = body
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            assert_eq!(e["session"]["userId"], e["user"]["id"]);
            e["user"]["email"].as_str().unwrap().to_owned()
        })
        .collect();
    emails.sort();
    emails
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

#[apply(backends)]
#[tokio::test]
async fn several_accounts_in_one_browser(#[case] backend: Backend) {
    let Some(app) = spawn_app_with(backend, MULTI, &[]).await else {
        return;
    };
    let b = app.browser();

    // Each sign-in adds its signed twin with the session cookie's attributes and lifetime.
    let (a_email, a, cookies) = sign_up(&app, &b).await;
    let twin = cookie(&cookies, &multi_name(&a)).expect("multi-session cookie");
    let session = cookie(&cookies, SESSION).unwrap();
    assert_eq!(value_of(twin), value_of(session));
    for attr in ["Max-Age=604800", "Path=/", "HttpOnly", "SameSite=Lax"] {
        assert!(twin.contains(attr), "{twin}");
    }
    let (b_email, b_token, _) = sign_up(&app, &b).await;
    let (c_email, c, _) = sign_up(&app, &b).await;
    assert_eq!(
        list(&app, &b).await,
        sorted(vec![a_email.clone(), b_email.clone(), c_email.clone()])
    );

    // A fourth account signs in but gets no twin: the browser holds the maximum (3).
    let (_, d, cookies) = sign_up(&app, &b).await;
    assert!(cookie(&cookies, SESSION).is_some());
    assert!(cookie(&cookies, &multi_name(&d)).is_none(), "{cookies:?}");
    assert_eq!(list(&app, &b).await.len(), 3);

    // Switch to A.
    let res = app
        .post_as(&b, "/multi-session/set-active", &json!({"sessionToken": a}))
        .await;
    assert_eq!(res.status(), 200);
    assert!(cookie(&set_cookies(&res), SESSION).is_some());
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["session"]["token"], a.as_str());
    assert_eq!(body["user"]["email"], a_email.as_str());
    assert_eq!(
        app.get_session_as(&b).await["user"]["email"],
        a_email.as_str()
    );

    // A token the browser holds no twin for is refused: D's, and another browser's.
    let other = app.browser();
    let (_, e, _) = sign_up(&app, &other).await;
    for token in [&d, &e] {
        for path in ["/multi-session/set-active", "/multi-session/revoke"] {
            let res = app.post_as(&b, path, &json!({"sessionToken": token})).await;
            assert_eq!(
                error_code(res).await,
                (
                    401,
                    "INVALID_SESSION_TOKEN".into(),
                    "Invalid session token".into()
                ),
                "{path}"
            );
        }
    }
    assert!(app.state.store.find_session(&e).await.unwrap().is_some());
    assert!(app.get_session_as(&other).await["user"].is_object());

    // Revoking another account: its session and twin go, the active one stays.
    let res = app
        .post_as(
            &b,
            "/multi-session/revoke",
            &json!({"sessionToken": b_token}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let cookies = set_cookies(&res);
    let gone = cookie(&cookies, &multi_name(&b_token)).expect("twin expired");
    assert!(gone.contains("Max-Age=0"), "{gone}");
    assert_eq!(res.json::<Value>().await.unwrap(), json!({"status": true}));
    assert!(app
        .state
        .store
        .find_session(&b_token)
        .await
        .unwrap()
        .is_none());
    assert_eq!(
        app.get_session_as(&b).await["user"]["email"],
        a_email.as_str()
    );

    // Revoking the active account switches the browser to the next live one (C).
    let res = app
        .post_as(&b, "/multi-session/revoke", &json!({"sessionToken": a}))
        .await;
    assert_eq!(res.status(), 200);
    let next = cookie(&set_cookies(&res), SESSION)
        .cloned()
        .expect("session cookie");
    assert!(!value_of(&next).is_empty(), "{next}");
    assert!(app.state.store.find_session(&a).await.unwrap().is_none());
    assert_eq!(
        app.get_session_as(&b).await["user"]["email"],
        c_email.as_str()
    );
    assert_eq!(list(&app, &b).await, vec![c_email.clone()]);

    // Signing in again as C replaces C's older session and twin.
    let res = app.sign_in_as(&b, &c_email, PASSWORD).await;
    assert_eq!(res.status(), 200);
    let cookies = set_cookies(&res);
    assert!(cookie(&cookies, &multi_name(&c))
        .unwrap()
        .contains("Max-Age=0"));
    let c2 = res.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(cookie(&cookies, &multi_name(&c2)).is_some());
    assert!(app.state.store.find_session(&c).await.unwrap().is_none());

    // Sign-out expires every twin and deletes their sessions.
    let (_, f, _) = sign_up(&app, &b).await;
    let res = app.post_as(&b, "/sign-out", &json!({})).await;
    assert_eq!(res.status(), 200);
    let cookies = set_cookies(&res);
    for token in [&c2, &f] {
        let gone = cookie(&cookies, &multi_name(token)).expect("twin expired");
        assert!(gone.contains("Max-Age=0"), "{gone}");
        assert!(app.state.store.find_session(token).await.unwrap().is_none());
    }
    assert!(list(&app, &b).await.is_empty());
}

#[apply(backends)]
#[tokio::test]
async fn bad_input_is_a_4xx(#[case] backend: Backend) {
    let Some(app) = spawn_app_with(backend, MULTI, &[]).await else {
        return;
    };
    let nobody = app.anonymous();
    let res = app
        .get_as(&nobody, "/multi-session/list-device-sessions")
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap(), json!([]));
    let b = app.browser();
    sign_up(&app, &b).await;
    for path in ["/multi-session/set-active", "/multi-session/revoke"] {
        for body in [
            json!({}),
            json!({"sessionToken": 5}),
            json!({"sessionToken": null}),
            json!([1]),
        ] {
            let res = app.post_as(&b, path, &body).await;
            assert_eq!(res.status(), 400, "{path} {body}");
        }
        let res = app
            .post_as(&b, path, &json!({"sessionToken": "x%zz\u{e9}_multi-"}))
            .await;
        assert_eq!(res.status(), 401, "{path}");
        // Signed out: set-active still finds no twin; revoke needs a session.
        let res = app
            .post_as(&nobody, path, &json!({"sessionToken": "abc"}))
            .await;
        assert_eq!(res.status(), 401, "{path}");
    }
}
