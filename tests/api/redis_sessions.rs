//! Sessions in Redis (docs/compatibility.md §8.7): the keys Better Auth's Redis storage writes,
//! read back directly; the `session` table left alone unless `store_session_in_database`; a Redis
//! outage is a 503 that heals by itself; two processes on one database and one Redis.

use std::time::Duration as StdDuration;

use chrono::Duration;
use serde_json::{json, Value};

use crate::helpers::*;

fn redis_toml(keys: &RedisKeys, session: &str) -> String {
    format!(
        "[redis]\nkey_prefix = \"{}\"\n[session]\n{session}\n",
        keys.prefix
    )
}

/// An app whose sessions live in Redis under the test's prefix.
async fn spawn_redis_app(backend: Backend, session: &str) -> Option<(TestApp, RedisKeys)> {
    spawn_redis_app_at(backend, session, &test_redis_url()).await
}

async fn spawn_redis_app_at(
    backend: Backend,
    session: &str,
    url: &str,
) -> Option<(TestApp, RedisKeys)> {
    let keys = connect_redis().await?;
    let app = spawn_app_with(backend, &redis_toml(&keys, session), &[("REDIS_URL", url)]).await?;
    Some((app, keys))
}

async fn session_rows(app: &TestApp) -> i64 {
    count_rows(app, "session").await
}

async fn sign_up_token(app: &TestApp, client: &reqwest::Client, email: &str) -> (String, String) {
    let res = app
        .post_as(
            client,
            "/sign-up/email",
            &json!({ "email": email, "password": PASSWORD, "name": "Redis User" }),
        )
        .await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    (
        body["token"].as_str().unwrap().to_owned(),
        body["user"]["id"].as_str().unwrap().to_owned(),
    )
}

async fn sign_in_token(app: &TestApp, client: &reqwest::Client, email: &str) -> String {
    let res = app
        .post_as(
            client,
            "/sign-in/email",
            &json!({ "email": email, "password": PASSWORD }),
        )
        .await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    body["token"].as_str().unwrap().to_owned()
}

fn listed_tokens(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|r| r["token"].as_str().unwrap().to_owned())
        .collect()
}

const WEEK: i64 = 604_800;

#[apply(backends)]
#[tokio::test]
async fn sign_up_and_sign_in_write_the_session_keys_with_their_ttls(#[case] backend: Backend) {
    let Some((app, mut keys)) = spawn_redis_app(backend, "").await else {
        return;
    };
    let email = unique_email();
    let (first, user_id) = sign_up_token(&app, &app.client, &email).await;
    let entry = keys.json(&first).await;
    assert_eq!(entry["session"]["token"], first.as_str());
    assert_eq!(entry["session"]["userId"], user_id.as_str());
    for key in [
        "id",
        "expiresAt",
        "createdAt",
        "updatedAt",
        "ipAddress",
        "userAgent",
    ] {
        assert!(entry["session"].get(key).is_some(), "session lacks {key}");
    }
    assert_eq!(entry["user"]["email"], email.as_str());
    assert_eq!(
        entry["user"]["role"], "user",
        "the whole user row is stored"
    );
    let ttl = keys.ttl(&first).await;
    assert!((WEEK - 10..=WEEK).contains(&ttl), "token TTL {ttl}");

    let other = app.browser();
    let second = sign_in_token(&app, &other, &email).await;
    let list_key = format!("active-sessions-{user_id}");
    let list = keys.json(&list_key).await;
    assert_eq!(listed_tokens(&list), vec![first.clone(), second.clone()]);
    let expiries: Vec<i64> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["expiresAt"].as_i64().unwrap())
        .collect();
    assert!(
        expiries[0] <= expiries[1],
        "sorted by expiresAt: {expiries:?}"
    );
    let list_ttl = keys.ttl(&list_key).await;
    assert!(
        (WEEK - 10..=WEEK).contains(&list_ttl),
        "list TTL {list_ttl}"
    );
    assert_eq!(
        session_rows(&app).await,
        0,
        "the session table is not written"
    );
}

#[apply(backends)]
#[tokio::test]
async fn get_session_reads_redis_and_never_the_table(#[case] backend: Backend) {
    let Some((app, mut keys)) = spawn_redis_app(backend, "").await else {
        return;
    };
    let (token, _) = sign_up_token(&app, &app.client, &unique_email()).await;
    let body = app.get_session().await;
    assert_eq!(body["session"]["token"], token.as_str());
    assert_eq!(session_rows(&app).await, 0);
    // Gone from Redis: no fallback to the database.
    keys.del(&token).await;
    assert_eq!(app.get_session().await, Value::Null);
}

#[apply(backends)]
#[tokio::test]
async fn revoke_session_and_revoke_sessions_remove_the_keys(#[case] backend: Backend) {
    let Some((app, mut keys)) = spawn_redis_app(backend, "").await else {
        return;
    };
    let email = unique_email();
    let (first, user_id) = sign_up_token(&app, &app.client, &email).await;
    let other = app.browser();
    let second = sign_in_token(&app, &other, &email).await;
    let third = sign_in_token(&app, &app.browser(), &email).await;

    let res = app
        .post("/revoke-session", &json!({ "token": second }))
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(keys.get(&second).await, None);
    let list_key = format!("active-sessions-{user_id}");
    let list = keys.json(&list_key).await;
    assert_eq!(listed_tokens(&list), vec![first.clone(), third.clone()]);
    let res = app.get_as(&other, "/get-session").await;
    assert_eq!(res.json::<Value>().await.unwrap(), Value::Null);

    let res = app.post("/revoke-sessions", &json!({})).await;
    assert_eq!(res.status(), 200);
    for token in [&first, &third] {
        assert_eq!(keys.get(token).await, None);
    }
    assert_eq!(keys.get(&list_key).await, None);
    let marker = keys
        .get(&format!("revoked-sessions-before-{user_id}"))
        .await
        .expect("revoked-before marker");
    assert!(marker.parse::<f64>().unwrap() > 0.0);
}

#[apply(backends)]
#[tokio::test]
async fn revoke_other_sessions_and_change_password_keep_only_the_callers(#[case] backend: Backend) {
    let Some((app, mut keys)) = spawn_redis_app(backend, "").await else {
        return;
    };
    let email = unique_email();
    let (first, user_id) = sign_up_token(&app, &app.client, &email).await;
    let other = app.browser();
    let second = sign_in_token(&app, &other, &email).await;
    let res = app.post("/revoke-other-sessions", &json!({})).await;
    assert_eq!(res.status(), 200);
    assert_eq!(keys.get(&second).await, None);
    assert!(keys.get(&first).await.is_some());

    let _ = sign_in_token(&app, &other, &email).await;
    let res = app
        .post(
            "/change-password",
            &json!({ "currentPassword": PASSWORD, "newPassword": "another long password", "revokeOtherSessions": true }),
        )
        .await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    let new_token = body["token"].as_str().unwrap().to_owned();
    let list = keys.json(&format!("active-sessions-{user_id}")).await;
    assert_eq!(listed_tokens(&list), vec![new_token.clone()]);
    assert_eq!(keys.get(&first).await, None);
    // The new session was created after the revocation instant: it works.
    assert_eq!(
        app.get_session().await["session"]["token"],
        new_token.as_str()
    );
    let res = app.get_as(&other, "/get-session").await;
    assert_eq!(res.json::<Value>().await.unwrap(), Value::Null);
}

#[apply(backends)]
#[tokio::test]
async fn update_user_rewrites_every_session_entry_keeping_its_ttl(#[case] backend: Backend) {
    let Some((app, mut keys)) = spawn_redis_app(backend, "").await else {
        return;
    };
    let email = unique_email();
    let (first, _) = sign_up_token(&app, &app.client, &email).await;
    let other = app.browser();
    let second = sign_in_token(&app, &other, &email).await;
    let res = app
        .post("/update-user", &json!({ "name": "Renamed" }))
        .await;
    assert_eq!(res.status(), 200);
    for token in [&first, &second] {
        assert_eq!(keys.json(token).await["user"]["name"], "Renamed");
        let ttl = keys.ttl(token).await;
        assert!((WEEK - 10..=WEEK).contains(&ttl), "TTL {ttl}");
    }
    let res = app.get_as(&other, "/get-session").await;
    assert_eq!(
        res.json::<Value>().await.unwrap()["user"]["name"],
        "Renamed"
    );
}

#[apply(backends)]
#[tokio::test]
async fn delete_user_removes_every_session_from_redis(#[case] backend: Backend) {
    let Some((app, mut keys)) =
        spawn_redis_app(backend, "\n[user.delete_user]\nenabled = true").await
    else {
        return;
    };
    let email = unique_email();
    let (first, user_id) = sign_up_token(&app, &app.client, &email).await;
    let other = app.browser();
    let second = sign_in_token(&app, &other, &email).await;
    let list_key = format!("active-sessions-{user_id}");
    assert!(keys.get(&second).await.is_some());

    let res = app
        .post("/delete-user", &json!({ "password": PASSWORD }))
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.json::<Value>().await.unwrap()["message"],
        "User deleted"
    );
    for key in [&first, &second, &list_key] {
        assert_eq!(keys.get(key).await, None, "{key} is gone from Redis");
    }
    let res = app.get_as(&other, "/get-session").await;
    assert_eq!(res.json::<Value>().await.unwrap(), Value::Null);
}

#[apply(backends)]
#[tokio::test]
async fn list_sessions_reads_the_list_then_each_token(#[case] backend: Backend) {
    let Some((app, mut keys)) = spawn_redis_app(backend, "").await else {
        return;
    };
    let email = unique_email();
    let (first, _) = sign_up_token(&app, &app.client, &email).await;
    let second = sign_in_token(&app, &app.browser(), &email).await;
    let third = sign_in_token(&app, &app.browser(), &email).await;
    // A listed token whose entry is gone is not listed.
    keys.del(&third).await;
    let res = app.get("/list-sessions").await;
    assert_eq!(res.status(), 200);
    let mut got = listed_tokens(&res.json().await.unwrap());
    got.sort();
    let mut want = vec![first, second];
    want.sort();
    assert_eq!(got, want);
}

#[apply(backends)]
#[tokio::test]
async fn an_expired_session_is_refused_and_its_keys_removed(#[case] backend: Backend) {
    let Some((app, mut keys)) = spawn_redis_app(backend, "").await else {
        return;
    };
    let (token, user_id) = sign_up_token(&app, &app.client, &unique_email()).await;
    app.state.clock.advance(Duration::days(8));
    assert_eq!(app.get_session().await, Value::Null);
    assert_eq!(keys.get(&token).await, None);
    assert_eq!(keys.get(&format!("active-sessions-{user_id}")).await, None);
}

#[apply(backends)]
#[tokio::test]
async fn a_refresh_rewrites_the_entry_with_the_new_expiry(#[case] backend: Backend) {
    let Some((app, mut keys)) = spawn_redis_app(backend, "").await else {
        return;
    };
    let (token, user_id) = sign_up_token(&app, &app.client, &unique_email()).await;
    let before = keys.json(&token).await["session"]["expiresAt"].clone();
    app.state.clock.advance(Duration::days(2));
    let body = app.get_session().await;
    let after = keys.json(&token).await;
    assert_ne!(after["session"]["expiresAt"], before);
    assert_eq!(after["session"]["expiresAt"], body["session"]["expiresAt"]);
    // The TTL counts from the service's clock, two days ahead of Redis's.
    let ttl = keys.ttl(&token).await;
    assert!((WEEK - 10..=WEEK).contains(&ttl), "TTL {ttl}");
    let list = keys.json(&format!("active-sessions-{user_id}")).await;
    let listed = list[0]["expiresAt"].as_i64().unwrap();
    let expires =
        chrono::DateTime::parse_from_rfc3339(after["session"]["expiresAt"].as_str().unwrap())
            .unwrap()
            .timestamp_millis();
    assert_eq!(listed, expires);
}

#[apply(backends)]
#[tokio::test]
async fn store_session_in_database_writes_rows_and_falls_back_to_them(#[case] backend: Backend) {
    let Some((app, mut keys)) = spawn_redis_app(backend, "store_session_in_database = true").await
    else {
        return;
    };
    let (token, _) = sign_up_token(&app, &app.client, &unique_email()).await;
    assert_eq!(session_rows(&app).await, 1);
    keys.del(&token).await;
    assert_eq!(app.get_session().await["session"]["token"], token.as_str());
    let res = app.post("/sign-out", &json!({})).await;
    assert_eq!(res.status(), 200);
    assert_eq!(session_rows(&app).await, 0);
}

#[apply(backends)]
#[tokio::test]
async fn preserve_session_in_database_ends_rows_instead_of_deleting(#[case] backend: Backend) {
    let Some((app, mut keys)) = spawn_redis_app(
        backend,
        "store_session_in_database = true\npreserve_session_in_database = true",
    )
    .await
    else {
        return;
    };
    let (token, _) = sign_up_token(&app, &app.client, &unique_email()).await;
    let res = app.post("/sign-out", &json!({})).await;
    assert_eq!(res.status(), 200);
    assert_eq!(keys.get(&token).await, None);
    assert_eq!(session_rows(&app).await, 1, "the row is kept");
    let row = app.state.store.find_session(&token).await.unwrap().unwrap();
    assert!(row.expires_at <= app.state.clock.now());
}

/// A loopback TCP proxy to Redis that can be cut (listener closed, live connections dropped)
/// and restored on the same port.
struct CutProxy {
    port: u16,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl CutProxy {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut proxy = Self { port, task: None };
        proxy.serve(listener);
        proxy
    }

    fn serve(&mut self, listener: tokio::net::TcpListener) {
        let upstream = test_redis_url()
            .trim_start_matches("redis://")
            .trim_end_matches('/')
            .to_owned();
        self.task = Some(tokio::spawn(async move {
            let mut conns = tokio::task::JoinSet::new();
            while let Ok((mut inbound, _)) = listener.accept().await {
                let upstream = upstream.clone();
                conns.spawn(async move {
                    if let Ok(mut out) = tokio::net::TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut out).await;
                    }
                });
            }
        }));
    }

    /// Dropping the task drops the listener and, with the JoinSet, every live connection.
    async fn cut(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
    }

    async fn restore(&mut self) {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", self.port))
            .await
            .unwrap();
        self.serve(listener);
    }
}

#[tokio::test]
async fn a_redis_outage_is_a_503_with_a_code_and_heals_by_itself() {
    if connect_redis().await.is_none() {
        return;
    }
    let mut proxy = CutProxy::start().await;
    let url = format!("redis://127.0.0.1:{}", proxy.port);
    let Some((app, _keys)) = spawn_redis_app_at(Backend::Sqlite, "", &url).await else {
        return;
    };
    let email = unique_email();
    sign_up_token(&app, &app.client, &email).await;

    proxy.cut().await;
    for _ in 0..2 {
        let res = app.get("/get-session").await;
        assert_eq!(error_code(res).await.0, 503);
        let res = app.sign_in(&email, PASSWORD).await;
        let (status, code, _) = error_code(res).await;
        assert_eq!((status, code.as_str()), (503, "SERVICE_UNAVAILABLE"));
    }

    proxy.restore().await;
    let mut healed = false;
    for _ in 0..50 {
        if app.sign_in(&email, PASSWORD).await.status() == 200 {
            healed = true;
            break;
        }
        tokio::time::sleep(StdDuration::from_millis(100)).await;
    }
    assert!(healed, "sign-in works again once Redis is back");
    assert_eq!(app.get_session().await["user"]["email"], email.as_str());
}

/// The real binary as a child process on a free port, killed on drop.
struct Process {
    child: tokio::process::Child,
    base: String,
}

impl Process {
    async fn spawn(db_url: &str, config: &std::path::Path) -> Process {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_better-auth-rs"))
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("BETTER_AUTH_SECRET", SECRET)
            .env("BETTER_AUTH_URL", "http://localhost:3001")
            .env("BETTER_AUTH_TRUSTED_ORIGINS", ORIGIN)
            .env("BETTER_AUTH_CONFIG", config)
            .env("DATABASE_URL", db_url)
            .env("REDIS_URL", test_redis_url())
            .env("HOST", "127.0.0.1")
            .env("PORT", port.to_string())
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start the service binary");
        let base = format!("http://127.0.0.1:{port}");
        let probe = reqwest::Client::new();
        for _ in 0..300 {
            if probe
                .get(format!("{base}/health"))
                .send()
                .await
                .is_ok_and(|r| r.status() == 200)
            {
                return Process { child, base };
            }
            tokio::time::sleep(StdDuration::from_millis(100)).await;
        }
        panic!("the service did not start on port {port}");
    }

    fn url(&self, path: &str) -> String {
        format!("{}/api/auth{path}", self.base)
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

#[tokio::test]
async fn a_session_revoked_on_one_process_is_gone_on_the_other() {
    let Some(mut keys) = connect_redis().await else {
        return;
    };
    let Some(db) = create_database(Backend::Postgres).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("better-auth.toml");
    std::fs::write(&config, format!("{BASE_TOML}\n{}", redis_toml(&keys, ""))).unwrap();
    let one = Process::spawn(&db.url, &config).await;
    let two = Process::spawn(&db.url, &config).await;

    // Cookies carried by hand, so that each request says which session it speaks for.
    let client = reqwest::Client::new();
    let session_cookie = |res: &reqwest::Response| {
        let all = set_cookies(res);
        let c = cookie(&all, "better-auth.session_token").expect("session cookie");
        c.split(';').next().unwrap().to_owned()
    };
    let email = unique_email();
    let res = client
        .post(one.url("/sign-up/email"))
        .header("origin", ORIGIN)
        .json(&json!({ "email": email, "password": PASSWORD, "name": "Two" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let first_cookie = session_cookie(&res);
    let first = res.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = client
        .post(two.url("/sign-in/email"))
        .header("origin", ORIGIN)
        .json(&json!({ "email": email, "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let second_cookie = session_cookie(&res);

    // Created on one, read on two.
    let get_on_two = || {
        client
            .get(two.url("/get-session"))
            .header("cookie", first_cookie.clone())
            .send()
    };
    let body: Value = get_on_two().await.unwrap().json().await.unwrap();
    assert_eq!(body["session"]["token"], first.as_str());

    // Revoked on one (from the second session), gone on two at the next request.
    let res = client
        .post(one.url("/revoke-session"))
        .header("origin", ORIGIN)
        .header("cookie", second_cookie)
        .json(&json!({ "token": first }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = get_on_two().await.unwrap().json().await.unwrap();
    assert_eq!(body, Value::Null);
    assert_eq!(keys.get(&first).await, None);
}
