//! A database outage: every route that needs the database answers the same 503 with the code
//! `SERVICE_UNAVAILABLE` and `Retry-After`, from the first moment of the outage and seconds
//! into it (pool and lookup timeouts included), never a 500 or an empty body.

use std::time::Duration;

use serde_json::json;

use crate::helpers::*;
use crate::lookups::end_server_sessions;
use crate::outage::{server_address, Proxy};

async fn assert_unavailable(res: reqwest::Response, what: &str) {
    let status = res.status().as_u16();
    let retry = res
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    let body = res.text().await.unwrap();
    assert_eq!(status, 503, "{what}: {status} {body:?}");
    assert_eq!(retry.as_deref(), Some("1"), "{what}");
    let body: serde_json::Value =
        serde_json::from_str(&body).unwrap_or_else(|_| panic!("{what}: {body:?}"));
    assert_eq!(body["code"], "SERVICE_UNAVAILABLE", "{what}");
}

/// Every kind of route, signed in: reads, writes, lookups by token, mails.
async fn every_route_answers_503(app: &TestApp, email: &str, round: &str) {
    let with_body: [(&str, serde_json::Value); 8] = [
        (
            "/sign-up/email",
            json!({"email": unique_email(), "password": PASSWORD, "name": "N"}),
        ),
        (
            "/sign-in/email",
            json!({"email": email, "password": PASSWORD}),
        ),
        ("/request-password-reset", json!({"email": email})),
        ("/send-verification-email", json!({"email": email})),
        ("/update-user", json!({"name": "New"})),
        (
            "/change-password",
            json!({"currentPassword": PASSWORD, "newPassword": "another password 1"}),
        ),
        ("/revoke-other-sessions", json!({})),
        (
            "/reset-password",
            json!({"token": "no-such-token", "newPassword": "another password 1"}),
        ),
    ];
    for path in [
        "/get-session",
        "/list-sessions",
        "/list-accounts",
        "/reset-password/x?callbackURL=/r",
    ] {
        assert_unavailable(app.get(path).await, &format!("{round} GET {path}")).await;
    }
    for (path, body) in with_body {
        assert_unavailable(app.post(path, &body).await, &format!("{round} POST {path}")).await;
    }
    // Sign-out is the exception, as in Better Auth (`better-auth/src/api/routes/sign-out.ts`):
    // the browser's cookies are cleared whatever the database says.
    let res = app.post_as(&app.browser(), "/sign-out", &json!({})).await;
    assert_eq!(res.status(), 200, "{round} sign-out");
}

async fn every_route_gives_503_during_an_outage(backend: Backend) {
    let Some(mut db) = create_database(backend).await else {
        return;
    };
    let upstream = server_address(&db.url);
    let direct_url = db.url.clone();
    let mut proxy = Proxy::start(&upstream).await;
    db.url = db.url.replacen(&upstream, &proxy.addr.to_string(), 1);
    let app = start(db, "", &[]).await;
    let email = unique_email();
    assert_eq!(app.sign_up(&email).await.status(), 200);
    assert_eq!(app.get("/list-sessions").await.status(), 200);

    // The server stops as `pg_ctl stop` / a MariaDB shutdown does: it ends every session
    // (PostgreSQL tells each one 57P01, "terminating connection due to administrator
    // command"), then accepts no new connection.
    end_server_sessions(backend, &direct_url).await;
    proxy.cut().await;
    every_route_answers_503(&app, &email, "at once").await;
    // Past the idle ping (2 s) and the connect timeouts, the same.
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    every_route_answers_503(&app, &email, "after 2.5 s").await;

    proxy.restore().await;
    let mut back = false;
    for _ in 0..40 {
        if app.get("/get-session").await.status() == 200 {
            back = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(back, "the service recovers");
}

#[tokio::test]
async fn postgres_outage_gives_the_same_503_on_every_route() {
    every_route_gives_503_during_an_outage(Backend::Postgres).await;
}

#[tokio::test]
async fn mariadb_outage_gives_the_same_503_on_every_route() {
    every_route_gives_503_during_an_outage(Backend::MySql).await;
}
