//! list-sessions, revoke-session(s), revoke-other-sessions, update-session
//! (docs/compatibility.md §5.9).

use chrono::Duration;
use serde_json::{json, Value};

use crate::helpers::*;

/// Signs up in the app's browser and signs in again from a second one: two sessions of one
/// user. Returns the second browser and both tokens (first = the app browser's).
async fn two_sessions(app: &TestApp) -> (reqwest::Client, String, String, String) {
    let email = unique_email();
    let first: Value = app.sign_up(&email).await.json().await.unwrap();
    let other = app.browser();
    let res = app
        .post_as(
            &other,
            "/sign-in/email",
            &json!({ "email": email, "password": PASSWORD }),
        )
        .await;
    assert_eq!(res.status(), 200);
    let second: Value = res.json().await.unwrap();
    (
        other,
        email,
        first["token"].as_str().unwrap().to_owned(),
        second["token"].as_str().unwrap().to_owned(),
    )
}

fn tokens(list: &Value) -> Vec<&str> {
    let mut t: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["token"].as_str().unwrap())
        .collect();
    t.sort();
    t
}

fn assert_session_cookies_expired(cookies: &[String]) {
    for name in [
        "better-auth.session_token",
        "better-auth.session_data",
        "better-auth.dont_remember",
    ] {
        let c = cookie(cookies, name).unwrap_or_else(|| panic!("{name} not expired: {cookies:?}"));
        assert!(c.contains("Max-Age=0"), "{c}");
    }
}

#[apply(backends)]
#[tokio::test]
async fn list_sessions_returns_only_the_users_active_sessions(#[case] backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (_other, _email, first, second) = two_sessions(&app).await;
    // Another user's session, and an expired one of ours, are not listed.
    let stranger = app.browser();
    app.post_as(
        &stranger,
        "/sign-up/email",
        &json!({ "email": unique_email(), "password": PASSWORD, "name": "S" }),
    )
    .await;
    let mine = app.state.store.find_session(&first).await.unwrap().unwrap();
    let now = app.state.clock.now();
    let expired = better_auth_rs::store::Session {
        id: "expired-session-row-id-000000000".into(),
        token: "expiredtoken00000000000000000000".into(),
        expires_at: now - Duration::seconds(1),
        ..mine.clone()
    };
    app.state
        .store
        .insert_session(app.state.store.connection(), &expired)
        .await
        .unwrap();

    let res = app.get("/list-sessions").await;
    assert_eq!(res.status(), 200);
    let list: Value = res.json().await.unwrap();
    let mut want = vec![first.as_str(), second.as_str()];
    want.sort();
    assert_eq!(tokens(&list), want);
    for s in list.as_array().unwrap() {
        assert_eq!(s["userId"], mine.user_id.as_str());
        for key in [
            "id",
            "expiresAt",
            "createdAt",
            "updatedAt",
            "ipAddress",
            "userAgent",
        ] {
            assert!(s.get(key).is_some(), "session lacks {key}");
        }
    }
}

#[apply(backends)]
#[tokio::test]
async fn list_sessions_without_a_session_is_401(#[case] backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let res = app.get("/list-sessions").await;
    assert_eq!(
        error_code(res).await,
        (401, "UNAUTHORIZED".into(), "Unauthorized".into())
    );
}

#[apply(backends)]
#[tokio::test]
async fn list_sessions_needs_a_fresh_session(#[case] backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.sign_up(&unique_email()).await;
    // A day later the session is still valid (and refreshed) but no longer fresh.
    app.state.clock.advance(Duration::days(1));
    let res = app.get("/list-sessions").await;
    assert!(
        cookie(&set_cookies(&res), "better-auth.session_token").is_some(),
        "refresh cookies are kept on the error"
    );
    assert_eq!(
        error_code(res).await,
        (
            403,
            "SESSION_NOT_FRESH".into(),
            "Session is not fresh".into()
        )
    );
    assert!(app.get_session().await.is_object());
}

#[apply(backends)]
#[tokio::test]
async fn revoke_session_deletes_another_session_of_the_user(#[case] backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (other, _email, first, second) = two_sessions(&app).await;
    let res = app
        .post("/revoke-session", &json!({ "token": second }))
        .await;
    assert_eq!(res.status(), 200);
    assert!(set_cookies(&res).is_empty(), "the caller's cookies stay");
    assert_eq!(
        res.json::<Value>().await.unwrap(),
        json!({ "status": true })
    );
    assert!(app
        .state
        .store
        .find_session(&second)
        .await
        .unwrap()
        .is_none());
    assert!(app
        .state
        .store
        .find_session(&first)
        .await
        .unwrap()
        .is_some());
    let res = app.get_as(&other, "/get-session").await;
    assert_eq!(res.text().await.unwrap(), "null");
}

#[apply(backends)]
#[tokio::test]
async fn revoking_the_current_session_expires_its_cookies(#[case] backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (_other, _email, first, second) = two_sessions(&app).await;
    let res = app
        .post("/revoke-session", &json!({ "token": first }))
        .await;
    assert_eq!(res.status(), 200);
    assert_session_cookies_expired(&set_cookies(&res));
    assert!(app
        .state
        .store
        .find_session(&first)
        .await
        .unwrap()
        .is_none());
    assert!(app
        .state
        .store
        .find_session(&second)
        .await
        .unwrap()
        .is_some());
    assert_eq!(app.get_session().await, Value::Null);
}

#[apply(backends)]
#[tokio::test]
async fn revoke_session_ignores_another_users_token_and_unknown_tokens(#[case] backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.sign_up(&unique_email()).await;
    let stranger = app.browser();
    let theirs: Value = app
        .post_as(
            &stranger,
            "/sign-up/email",
            &json!({ "email": unique_email(), "password": PASSWORD, "name": "S" }),
        )
        .await
        .json()
        .await
        .unwrap();
    let theirs = theirs["token"].as_str().unwrap();
    for token in [theirs, "no-such-token"] {
        let res = app
            .post("/revoke-session", &json!({ "token": token }))
            .await;
        assert_eq!(res.status(), 200);
        assert_eq!(
            res.json::<Value>().await.unwrap(),
            json!({ "status": true })
        );
    }
    assert!(app
        .state
        .store
        .find_session(theirs)
        .await
        .unwrap()
        .is_some());
    assert!(app
        .get_as(&stranger, "/get-session")
        .await
        .json::<Value>()
        .await
        .unwrap()
        .is_object());
}

#[apply(backends)]
#[tokio::test]
async fn revoke_session_validates_its_body_and_needs_a_session(#[case] backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.sign_up(&unique_email()).await;
    let res = app.post("/revoke-session", &json!({})).await;
    assert_eq!(
        error_code(res).await,
        (
            400,
            "VALIDATION_ERROR".into(),
            "[body.token] Invalid input: expected string, received undefined".into()
        )
    );
    let res = app
        .post_as(&app.browser(), "/revoke-session", &json!({ "token": "x" }))
        .await;
    assert_eq!(error_code(res).await.0, 401);
}

#[apply(backends)]
#[tokio::test]
async fn revoke_sessions_deletes_every_session_and_expires_the_cookies(#[case] backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (other, _email, first, second) = two_sessions(&app).await;
    let user_id = app
        .state
        .store
        .find_session(&first)
        .await
        .unwrap()
        .unwrap()
        .user_id;
    let res = app.post("/revoke-sessions", &json!({})).await;
    assert_eq!(res.status(), 200);
    assert_session_cookies_expired(&set_cookies(&res));
    assert_eq!(
        res.json::<Value>().await.unwrap(),
        json!({ "status": true })
    );
    assert!(app
        .state
        .store
        .list_sessions(&user_id)
        .await
        .unwrap()
        .is_empty());
    for t in [&first, &second] {
        assert!(app.state.store.find_session(t).await.unwrap().is_none());
    }
    assert_eq!(
        app.get_as(&other, "/get-session")
            .await
            .text()
            .await
            .unwrap(),
        "null"
    );
}

#[apply(backends)]
#[tokio::test]
async fn revoke_other_sessions_keeps_only_the_current_one(#[case] backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (other, _email, first, second) = two_sessions(&app).await;
    let res = app.post("/revoke-other-sessions", &json!({})).await;
    assert_eq!(res.status(), 200);
    assert!(set_cookies(&res).is_empty());
    assert_eq!(
        res.json::<Value>().await.unwrap(),
        json!({ "status": true })
    );
    assert!(app
        .state
        .store
        .find_session(&first)
        .await
        .unwrap()
        .is_some());
    assert!(app
        .state
        .store
        .find_session(&second)
        .await
        .unwrap()
        .is_none());
    assert_eq!(
        app.get_as(&other, "/get-session")
            .await
            .text()
            .await
            .unwrap(),
        "null"
    );
    assert!(app.get_session().await.is_object());
}

#[apply(backends)]
#[tokio::test]
async fn revoke_routes_need_a_session_and_a_trusted_origin(#[case] backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    for path in ["/revoke-sessions", "/revoke-other-sessions"] {
        let res = app.post_as(&app.browser(), path, &json!({})).await;
        assert_eq!(
            error_code(res).await,
            (401, "UNAUTHORIZED".into(), "Unauthorized".into()),
            "{path}"
        );
    }
    app.sign_up(&unique_email()).await;
    let res = app
        .client
        .post(app.url("/revoke-sessions"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(res).await.1, "MISSING_OR_NULL_ORIGIN");
}

#[apply(backends)]
#[tokio::test]
async fn update_session_without_session_fields_has_nothing_to_update(#[case] backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let res = app
        .post(
            "/update-session",
            &json!({ "expiresAt": "2099-01-01T00:00:00.000Z" }),
        )
        .await;
    assert_eq!(error_code(res).await.0, 401);
    let signed_up: Value = app.sign_up(&unique_email()).await.json().await.unwrap();
    let token = signed_up["token"].as_str().unwrap();
    let before = app.state.store.find_session(token).await.unwrap().unwrap();
    let res = app
        .post(
            "/update-session",
            &json!({ "expiresAt": "2099-01-01T00:00:00.000Z", "token": "x" }),
        )
        .await;
    assert_eq!(res.status(), 400);
    assert_eq!(
        res.json::<Value>().await.unwrap(),
        json!({ "message": "No fields to update" })
    );
    assert_eq!(
        app.state.store.find_session(token).await.unwrap().unwrap(),
        before
    );
    let res = app.post("/update-session", &json!([1])).await;
    assert_eq!(
        error_code(res).await,
        (
            400,
            "VALIDATION_ERROR".into(),
            "[body] Invalid input: expected record, received array".into()
        )
    );
}

/// Better Auth's cookie cache answers get-session without the database, so another browser's
/// revoked session still reads as signed in until its cache expires; the sensitive routes re-read
/// the database and refuse it at once.
async fn revoked_sessions_cannot_act_with_a_cached_cookie(strategy: &str) {
    let extra = format!("[session.cookie_cache]\nenabled = true\nstrategy = \"{strategy}\"\n");
    let Some(app) = spawn_app_with(Backend::Sqlite, &extra, &[]).await else {
        return;
    };
    let (other, _email, _first, second) = two_sessions(&app).await;
    let res = app.get_as(&other, "/get-session").await;
    assert!(res.json::<Value>().await.unwrap().is_object());
    let res = app.post("/revoke-other-sessions", &json!({})).await;
    assert_eq!(res.status(), 200);
    assert!(app
        .state
        .store
        .find_session(&second)
        .await
        .unwrap()
        .is_none());

    let cached: Value = app
        .get_as(&other, "/get-session")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        cached["session"]["token"], second,
        "served from the cache, as Better Auth"
    );
    let res = app.post_as(&other, "/revoke-sessions", &json!({})).await;
    assert_session_cookies_expired(&set_cookies(&res));
    assert_eq!(error_code(res).await.0, 401);
    let res = app.get_as(&other, "/get-session").await;
    assert_eq!(res.text().await.unwrap(), "null");
}

#[tokio::test]
async fn revoked_sessions_cannot_act_with_a_cached_compact_cookie() {
    revoked_sessions_cannot_act_with_a_cached_cookie("compact").await;
}

#[tokio::test]
async fn revoked_sessions_cannot_act_with_a_cached_jwe_cookie() {
    revoked_sessions_cannot_act_with_a_cached_cookie("jwe").await;
}

#[tokio::test]
async fn fresh_age_zero_never_asks_for_a_fresh_session() {
    let Some(app) = spawn_app_with(Backend::Sqlite, "[session]\nfresh_age = 0\n", &[]).await else {
        return;
    };
    app.sign_up(&unique_email()).await;
    app.state.clock.advance(Duration::days(3));
    assert_eq!(app.get("/list-sessions").await.status(), 200);
}
