//! The client IP: what sessions store (Better Auth's `getIP`) and what the rate limiter counts
//! under, with and without trusted proxies.

use reqwest::Response;
use serde_json::{json, Value};

use crate::helpers::*;

const SIGN_IN: &str = "/sign-in/email";

async fn sign_in_from(app: &TestApp, email: &str, forwarded: Option<&str>) -> Response {
    let mut req = app
        .anonymous()
        .post(app.url(SIGN_IN))
        .header("origin", ORIGIN)
        .json(&json!({ "email": email, "password": PASSWORD }));
    if let Some(f) = forwarded {
        req = req.header("x-forwarded-for", f);
    }
    req.send().await.unwrap()
}

/// The `ipAddress` of the session a sign-in from `forwarded` created, as get-session shows it.
async fn stored_ip(app: &TestApp, email: &str, forwarded: Option<&str>) -> Value {
    let res = sign_in_from(app, email, forwarded).await;
    assert_eq!(res.status(), 200, "{forwarded:?}");
    let token = res.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let session = app
        .state
        .store
        .find_session_with_user(&token)
        .await
        .unwrap()
        .expect("the session row");
    Value::from(session.0.ip_address)
}

#[apply(backends)]
#[tokio::test]
async fn sessions_store_the_forwarded_address_or_nothing(#[case] backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let email = unique_email();
    assert_eq!(app.sign_up(&email).await.status(), 200);
    // Better Auth (`getIP`) with NODE_ENV unset: "" without a forwarded address, never the
    // connection's.
    assert_eq!(stored_ip(&app, &email, None).await, "");
    assert_eq!(
        stored_ip(&app, &email, Some("203.0.113.7")).await,
        "203.0.113.7"
    );
    assert_eq!(
        stored_ip(&app, &email, Some("2001:db8::5")).await,
        "2001:0db8:0000:0000:0000:0000:0000:0000"
    );
    assert_eq!(
        stored_ip(&app, &email, Some("::ffff:198.51.100.2")).await,
        "198.51.100.2"
    );
    for spoofable in ["198.51.100.1, 203.0.113.9", "not-an-ip", ""] {
        assert_eq!(
            stored_ip(&app, &email, Some(spoofable)).await,
            "",
            "{spoofable}"
        );
    }
    // list-sessions shows what was stored.
    let res = app.sign_in(&email, PASSWORD).await;
    assert_eq!(res.status(), 200);
    let listed: Value = app.get("/list-sessions").await.json().await.unwrap();
    assert!(listed
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["ipAddress"] == "203.0.113.7"));
    assert!(listed
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["ipAddress"].is_string()));
}

#[tokio::test]
async fn development_set_explicitly_stores_loopback_and_the_options_apply() {
    let Some(app) =
        spawn_app_with(Backend::Sqlite, "", &[("BETTER_AUTH_ENV", "development")]).await
    else {
        return;
    };
    let email = unique_email();
    assert_eq!(app.sign_up(&email).await.status(), 200);
    assert_eq!(stored_ip(&app, &email, None).await, "127.0.0.1");

    let toml = "[advanced]\nipv6_subnet = 128\nip_address_headers = [\"x-real-ip\"]\n";
    let Some(app) = spawn_app_with(Backend::Sqlite, toml, &[]).await else {
        return;
    };
    let email = unique_email();
    assert_eq!(app.sign_up(&email).await.status(), 200);
    let res = app
        .anonymous()
        .post(app.url(SIGN_IN))
        .header("origin", ORIGIN)
        .header("x-forwarded-for", "203.0.113.1")
        .header("x-real-ip", "2001:db8::5")
        .json(&json!({ "email": email, "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    let token = res.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let (session, _) = app
        .state
        .store
        .find_session_with_user(&token)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        session.ip_address.as_deref(),
        Some("2001:0db8:0000:0000:0000:0000:0000:0005")
    );

    let Some(app) = spawn_app_with(
        Backend::Sqlite,
        "[advanced]\ndisable_ip_tracking = true\n[rate_limit]\nenabled = true\n",
        &[("BETTER_AUTH_ENV", "development")],
    )
    .await
    else {
        return;
    };
    let email = unique_email();
    assert_eq!(app.sign_up(&email).await.status(), 200);
    assert_eq!(stored_ip(&app, &email, Some("203.0.113.7")).await, "");
    // Better Auth does not rate limit without a client IP to count under.
    for _ in 0..5 {
        assert_ne!(sign_in_from(&app, &email, None).await.status(), 429);
    }
}

#[tokio::test]
async fn a_bad_trusted_proxy_entry_is_a_configuration_error() {
    let Some(db) = create_database(Backend::Sqlite).await else {
        return;
    };
    for bad in ["\"10.0.0.0/33\"", "\"proxy.example.com\"", "\"10.0.0.1/x\""] {
        let out = binary(
            &db,
            &format!("[advanced]\ntrusted_proxies = [{bad}]\n"),
            &[],
        )
        .arg("serve")
        .output()
        .unwrap();
        assert!(!out.status.success(), "{bad}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("trusted_proxies"), "{bad}: {stderr}");
    }
}

/// Behind trusted proxies the address is the rightmost one that is not a proxy: a client that
/// prepends addresses of its own is still counted (and stored) as itself.
#[tokio::test]
async fn behind_trusted_proxies_a_client_cannot_rotate_its_address() {
    let toml = "[advanced]\ntrusted_proxies = [\"127.0.0.1\", \"10.0.0.0/8\"]\n\
                [rate_limit]\nenabled = true\n";
    let Some(app) = spawn_app_with(Backend::Sqlite, toml, &[]).await else {
        return;
    };
    let email = unique_email();
    assert_eq!(app.sign_up(&email).await.status(), 200);
    // The proxy chain: client 203.0.113.7, then a proxy at 10.1.2.3.
    let chains = [
        "203.0.113.7, 10.1.2.3",
        "198.51.100.1, 203.0.113.7, 10.1.2.3",
        "192.0.2.44, 203.0.113.7,10.9.9.9",
    ];
    for chain in chains {
        assert_eq!(sign_in_from(&app, &email, Some(chain)).await.status(), 200);
    }
    for chain in ["192.0.2.99, 203.0.113.7, 10.1.2.3", "203.0.113.7"] {
        assert_eq!(
            sign_in_from(&app, &email, Some(chain)).await.status(),
            429,
            "{chain}: the same client"
        );
    }
    assert_eq!(
        sign_in_from(&app, &email, Some("203.0.113.8, 10.1.2.3"))
            .await
            .status(),
        200,
        "another client"
    );
    let (session, _) = app
        .state
        .store
        .find_session_with_user(
            app.sign_in(&email, PASSWORD)
                .await
                .json::<Value>()
                .await
                .unwrap()["token"]
                .as_str()
                .unwrap(),
        )
        .await
        .unwrap()
        .unwrap();
    // The test's own sign-in came without a header: nothing to store.
    assert_eq!(session.ip_address.as_deref(), Some(""));
}

/// When the connection does not come from a trusted proxy, its forwarded headers are ignored:
/// a client that reaches the service directly is counted under its own address.
#[tokio::test]
async fn a_client_that_is_not_a_trusted_proxy_cannot_name_its_address() {
    let toml = "[advanced]\ntrusted_proxies = [\"10.0.0.0/8\"]\n[rate_limit]\nenabled = true\n";
    let Some(app) = spawn_app_with(Backend::Sqlite, toml, &[]).await else {
        return;
    };
    let email = unique_email();
    assert_eq!(app.sign_up(&email).await.status(), 200);
    for i in 0..3 {
        let forwarded = format!("203.0.113.{i}");
        assert_eq!(
            sign_in_from(&app, &email, Some(&forwarded)).await.status(),
            200
        );
    }
    for forwarded in ["203.0.113.50", "198.51.100.1, 10.0.0.1", "2001:db8::1"] {
        assert_eq!(
            sign_in_from(&app, &email, Some(forwarded)).await.status(),
            429,
            "{forwarded}: counted under the connection's address"
        );
    }
}

/// Without trusted proxies, the default: one forwarded address is believed (Better Auth), a
/// multi-hop list is not, and then the connection's address counts, not one shared bucket.
#[tokio::test]
async fn without_a_forwarded_address_the_limiter_counts_the_connection() {
    let Some(app) = spawn_app_with(
        Backend::Sqlite,
        "[rate_limit]\nenabled = true\n",
        &[("BETTER_AUTH_ENV", "production")],
    )
    .await
    else {
        return;
    };
    let email = unique_email();
    for _ in 0..3 {
        assert_ne!(sign_in_from(&app, &email, None).await.status(), 429);
    }
    assert_eq!(sign_in_from(&app, &email, None).await.status(), 429);
    assert_eq!(
        sign_in_from(&app, &email, Some("198.51.100.1, 203.0.113.9"))
            .await
            .status(),
        429
    );
    assert_ne!(
        sign_in_from(&app, &email, Some("203.0.113.9"))
            .await
            .status(),
        429
    );
}
