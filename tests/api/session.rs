use chrono::Duration;
use serde_json::{json, Value};

use crate::helpers::*;

#[apply(backends)]
#[tokio::test]
async fn get_session_returns_session_and_user_and_no_store_headers(#[case] backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let email = unique_email();
    let signed_up: Value = app.sign_up(&email).await.json().await.unwrap();
    let res = app.get("/get-session").await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store");
    assert_eq!(res.headers()["pragma"], "no-cache");
    assert!(set_cookies(&res).is_empty(), "nothing to refresh yet");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["session"]["token"], signed_up["token"]);
    assert_eq!(body["session"]["userId"], signed_up["user"]["id"]);
    assert_eq!(body["user"], signed_up["user"]);
    for key in [
        "id",
        "token",
        "userId",
        "expiresAt",
        "createdAt",
        "updatedAt",
        "ipAddress",
        "userAgent",
    ] {
        assert!(body["session"].get(key).is_some(), "session lacks {key}");
    }
}

#[apply(backends)]
#[tokio::test]
async fn without_a_cookie_get_session_is_200_null(#[case] backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let res = app.get("/get-session").await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.text().await.unwrap(), "null");
}

#[apply(backends)]
#[tokio::test]
async fn sign_out_deletes_the_session_and_expires_every_cookie(#[case] backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let email = unique_email();
    let body: Value = app.sign_up(&email).await.json().await.unwrap();
    let token = body["token"].as_str().unwrap().to_owned();
    let res = app.post("/sign-out", &json!({})).await;
    assert_eq!(res.status(), 200);
    let cookies = set_cookies(&res);
    for name in [
        "better-auth.session_token",
        "better-auth.session_data",
        "better-auth.dont_remember",
    ] {
        let c = cookie(&cookies, name).unwrap_or_else(|| panic!("{name} not expired"));
        assert!(c.contains("Max-Age=0"), "{c}");
    }
    assert_eq!(res.json::<Value>().await.unwrap(), json!({"success": true}));
    assert!(app
        .state
        .store
        .find_session(&token)
        .await
        .unwrap()
        .is_none());
    assert_eq!(app.get_session().await, Value::Null);
}

#[apply(backends)]
#[tokio::test]
async fn sessions_are_extended_after_update_age_and_expire_after_expires_in(
    #[case] backend: Backend,
) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.sign_up(&unique_email()).await;
    let first = app.get_session().await;
    // Two days later (update_age is one day) the session is extended and re-cookied.
    app.state.clock.advance(Duration::days(2));
    let res = app.get("/get-session").await;
    let cookies = set_cookies(&res);
    let c = cookie(&cookies, "better-auth.session_token").expect("refreshed cookie");
    assert!(c.contains("Max-Age=604800"));
    let refreshed: Value = res.json().await.unwrap();
    assert!(refreshed["session"]["expiresAt"].as_str() > first["session"]["expiresAt"].as_str());
    assert_eq!(
        refreshed["session"]["createdAt"],
        first["session"]["createdAt"]
    );
    let stored = app
        .state
        .store
        .find_session(refreshed["session"]["token"].as_str().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        better_auth_rs::auth::crypto::iso(&stored.expires_at),
        refreshed["session"]["expiresAt"].as_str().unwrap()
    );
    // Eight days without a call: gone, and the cookies are cleared.
    app.state.clock.advance(Duration::days(8));
    let res = app.get("/get-session").await;
    let cookies = set_cookies(&res);
    assert!(cookie(&cookies, "better-auth.session_token")
        .unwrap()
        .contains("Max-Age=0"));
    assert_eq!(res.json::<Value>().await.unwrap(), Value::Null);
    assert!(app
        .state
        .store
        .find_session(refreshed["session"]["token"].as_str().unwrap())
        .await
        .unwrap()
        .is_none());
}

#[apply(backends)]
#[tokio::test]
async fn disable_refresh_leaves_a_due_session_alone(#[case] backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.sign_up(&unique_email()).await;
    let first = app.get_session().await;
    app.state.clock.advance(Duration::days(2));
    let res = app.get("/get-session?disableRefresh=false").await;
    assert!(
        set_cookies(&res).is_empty(),
        "any non-empty value means true"
    );
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["session"]["expiresAt"], first["session"]["expiresAt"]);
}

#[apply(backends)]
#[tokio::test]
async fn a_tampered_cookie_is_no_session_and_leaves_cookies_alone(#[case] backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let body: Value = app.sign_up(&unique_email()).await.json().await.unwrap();
    let token = body["token"].as_str().unwrap();
    let forged =
        format!("better-auth.session_token={token}.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA%3D");
    let res = app
        .anonymous()
        .get(app.url("/get-session"))
        .header("cookie", forged)
        .send()
        .await
        .unwrap();
    assert!(set_cookies(&res).is_empty());
    assert_eq!(res.json::<Value>().await.unwrap(), Value::Null);
    let unsigned = format!("better-auth.session_token={token}");
    let res = app
        .anonymous()
        .get(app.url("/get-session"))
        .header("cookie", unsigned)
        .send()
        .await
        .unwrap();
    assert_eq!(res.json::<Value>().await.unwrap(), Value::Null);
}

#[apply(backends)]
#[tokio::test]
async fn the_bearer_token_works_where_the_cookie_does(#[case] backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let res = app.sign_up(&unique_email()).await;
    let bearer = res.headers()["set-auth-token"].to_str().unwrap().to_owned();
    assert!(res.headers()["access-control-expose-headers"]
        .to_str()
        .unwrap()
        .contains("set-auth-token"));
    let body: Value = res.json().await.unwrap();
    let token = body["token"].as_str().unwrap();
    assert_eq!(bearer.split('.').next(), Some(token));
    for credential in [
        bearer.clone(),
        token.to_owned(),
        better_auth_rs::auth::crypto::encode_uri_component(&bearer),
    ] {
        let res = app
            .anonymous()
            .get(app.url("/get-session"))
            .bearer_auth(&credential)
            .send()
            .await
            .unwrap();
        let session: Value = res.json().await.unwrap();
        assert_eq!(session["session"]["token"], token, "bearer {credential}");
    }
    let res = app
        .anonymous()
        .get(app.url("/get-session"))
        .bearer_auth(format!("{token}.bad"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.json::<Value>().await.unwrap(), Value::Null);
    // A bearer-only POST needs no Origin: it carries no cookie.
    let res = app
        .anonymous()
        .post(app.url("/sign-out"))
        .bearer_auth(&bearer)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(app.state.store.find_session(token).await.unwrap().is_none());
}

async fn cookie_cache_serves_until_disabled(strategy: &str) {
    let extra = format!("[session.cookie_cache]\nenabled = true\nstrategy = \"{strategy}\"\n");
    let Some(app) = spawn_app_with(Backend::Sqlite, &extra, &[]).await else {
        return;
    };
    let res = app.sign_up(&unique_email()).await;
    let cookies = set_cookies(&res);
    let data = cookie(&cookies, "better-auth.session_data").expect("cache cookie");
    assert!(data.contains("Max-Age=300"));
    let body: Value = res.json().await.unwrap();
    let token = body["token"].as_str().unwrap();
    // Delete the row behind the service's back: the cache still answers until bypassed.
    app.state.store.delete_session(token).await.unwrap();
    let cached = app.get_session().await;
    assert_eq!(
        cached["session"]["token"], token,
        "{strategy} cache served the session"
    );
    assert_eq!(cached["user"], body["user"]);
    let res = app.get("/get-session?disableCookieCache=true").await;
    assert_eq!(res.json::<Value>().await.unwrap(), Value::Null);
}

#[tokio::test]
async fn the_compact_cookie_cache_answers_without_the_database() {
    cookie_cache_serves_until_disabled("compact").await;
}

#[tokio::test]
async fn the_jwt_cookie_cache_answers_without_the_database() {
    cookie_cache_serves_until_disabled("jwt").await;
}

#[tokio::test]
async fn an_expired_cookie_cache_falls_back_to_the_database() {
    let extra = "[session.cookie_cache]\nenabled = true\n";
    let Some(app) = spawn_app_with(Backend::Sqlite, extra, &[]).await else {
        return;
    };
    let body: Value = app.sign_up(&unique_email()).await.json().await.unwrap();
    app.state.clock.advance(Duration::seconds(301));
    let res = app.get("/get-session").await;
    let cookies = set_cookies(&res);
    let rewritten =
        cookie(&cookies, "better-auth.session_data").expect("cache rewritten from the store");
    assert!(rewritten.contains("Max-Age=300"), "{rewritten}");
    let session: Value = res.json().await.unwrap();
    assert_eq!(session["session"]["token"], body["token"]);
}

#[tokio::test]
async fn https_base_urls_get_secure_prefixed_cookies() {
    let Some(app) = spawn_app_with(
        Backend::Sqlite,
        "",
        &[("BETTER_AUTH_URL", "https://auth.example.com")],
    )
    .await
    else {
        return;
    };
    let res = app
        .post(
            "/sign-up/email",
            &json!({"email": unique_email(), "password": PASSWORD, "name": "x"}),
        )
        .await;
    let cookies = set_cookies(&res);
    let c = cookie(&cookies, "__Secure-better-auth.session_token").expect("secure cookie name");
    assert!(c.contains("Secure"));
}
