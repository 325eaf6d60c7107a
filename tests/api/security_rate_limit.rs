//! Rate limiting against a client that spells paths its own way or invents them: every spelling
//! of a route shares the route's rule and bucket, paths no route serves share one bucket, and
//! the limiter's memory stays bounded whatever paths arrive.

use std::time::Duration;

use reqwest::Response;
use serde_json::json;

use crate::helpers::*;

/// Spellings of `/sign-in/email` the router sends to sign-in.
const SIGN_IN_SPELLINGS: [&str; 6] = [
    "/sign-in/email",
    "/%73ign-in/email",
    "/sign-in/%65mail",
    "/sign-%69n/email",
    "/%73%69%67%6E-%69%6e/email",
    "/sign%2Din/emai%6C",
];

/// Spellings of `/request-password-reset`.
const RESET_SPELLINGS: [&str; 4] = [
    "/request-password-reset",
    "/request-password-rese%74",
    "/%72equest-password-reset",
    "/request%2Dpassword%2Dreset",
];

async fn post_raw(app: &TestApp, path: &str, body: &serde_json::Value) -> Response {
    app.anonymous()
        .post(format!("{}/api/auth{path}", app.address))
        .header("origin", ORIGIN)
        .json(body)
        .send()
        .await
        .unwrap()
}

/// The `rateLimit` table's name in SQL on `backend`.
fn rate_limit_table(backend: Backend) -> &'static str {
    match backend {
        Backend::Postgres => "\"rateLimit\"",
        _ => "rateLimit",
    }
}

fn storage_toml(storage: &str) -> String {
    format!("[rate_limit]\nenabled = true\nstorage = \"{storage}\"\n")
}

/// Three sign-ins with a wrong password, each spelled differently, use up sign-in's 3 per 10 s:
/// the next one is refused whatever its spelling. The same for request-password-reset.
async fn spellings_share_the_route_bucket(app: &TestApp) {
    let email = unique_email();
    let wrong = json!({ "email": email, "password": "wrong password" });
    for path in &SIGN_IN_SPELLINGS[..3] {
        let res = post_raw(app, path, &wrong).await;
        assert_eq!(res.status(), 401, "{path} is routed to sign-in");
    }
    for path in SIGN_IN_SPELLINGS {
        let res = post_raw(app, path, &wrong).await;
        assert_eq!(res.status(), 429, "{path} counts in sign-in's bucket");
    }
    let reset = json!({ "email": email });
    for path in &RESET_SPELLINGS[..3] {
        assert_eq!(post_raw(app, path, &reset).await.status(), 200, "{path}");
    }
    for path in RESET_SPELLINGS {
        let res = post_raw(app, path, &reset).await;
        assert_eq!(res.status(), 429, "{path} counts in the reset bucket");
    }
}

#[apply(backends)]
#[tokio::test]
async fn every_spelling_of_a_route_shares_its_rule_and_bucket_in_the_database(
    #[case] backend: Backend,
) {
    let Some(app) = spawn_app_with(backend, &storage_toml("database"), &[]).await else {
        return;
    };
    spellings_share_the_route_bucket(&app).await;
    // One row per route, under its plain name.
    assert_eq!(count_rows(&app, rate_limit_table(backend)).await, 2);
    let store = &app.state.store;
    for key in [
        "127.0.0.1|/sign-in/email",
        "127.0.0.1|/request-password-reset",
    ] {
        assert_eq!(store.rate_limit_counter(key).await.unwrap().unwrap().0, 3);
    }
}

#[tokio::test]
async fn every_spelling_of_a_route_shares_its_rule_and_bucket_in_memory() {
    let Some(app) = spawn_app_with(Backend::Sqlite, &storage_toml("memory"), &[]).await else {
        return;
    };
    spellings_share_the_route_bucket(&app).await;
}

#[tokio::test]
async fn every_spelling_of_a_route_shares_its_rule_and_bucket_in_redis() {
    let Some(url) = redis_url().await else {
        return;
    };
    let prefix = format!("test-{}:", uuid::Uuid::new_v4().simple());
    let toml = format!(
        "{}\n[redis]\nkey_prefix = \"{prefix}\"\n",
        storage_toml("redis")
    );
    let Some(app) = spawn_app_with(Backend::Sqlite, &toml, &[("REDIS_URL", &url)]).await else {
        return;
    };
    spellings_share_the_route_bucket(&app).await;
    let Some(mut redis) = connect_redis().await else {
        return;
    };
    redis.prefix = prefix;
    let mut keys = redis.scan("*").await;
    keys.retain(|k| k.contains('|'));
    assert_eq!(
        keys,
        [
            "127.0.0.1|/request-password-reset",
            "127.0.0.1|/sign-in/email"
        ]
    );
    for key in keys {
        redis.del(&key).await;
    }
}

/// Unknown paths, however many and however long, and a route's parameter (the reset token of
/// the path) never add a counter: one row for all unknown paths, one for the route.
#[apply(backends)]
#[tokio::test]
async fn unknown_paths_and_path_parameters_share_one_counter(#[case] backend: Backend) {
    let Some(app) = spawn_app_with(backend, &storage_toml("database"), &[]).await else {
        return;
    };
    let long = "x".repeat(2_000);
    for i in 0..30 {
        let res = app
            .anonymous()
            .get(app.url(&format!("/no-such-{i}/{long}")))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 404);
        let res = app
            .anonymous()
            .get(app.url(&format!(
                "/reset-password/{}?callbackURL=/reset",
                uuid::Uuid::new_v4().simple()
            )))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 302);
    }
    assert_eq!(count_rows(&app, rate_limit_table(backend)).await, 2);
    let store = &app.state.store;
    for key in ["127.0.0.1|<unknown>", "127.0.0.1|/reset-password/{token}"] {
        assert_eq!(store.rate_limit_counter(key).await.unwrap().unwrap().0, 30);
    }
    // 100 per 10 s for all of them together.
    for i in 0..70 {
        let path = format!("/other-{i}");
        let res = app.anonymous().get(app.url(&path)).send().await.unwrap();
        assert_eq!(res.status(), 404, "{path}");
    }
    let res = app
        .anonymous()
        .get(app.url("/other-x"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 429);
}

/// The resident memory of a process, in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

/// Thousands of distinct, long, unknown paths from one client leave the service's memory where
/// it was (each used to keep a counter under its path: 12,000 paths of 30 KB took 290 MB).
#[tokio::test]
async fn thousands_of_long_unknown_paths_leave_the_memory_as_it_was() {
    let Some(db) = create_database(Backend::Sqlite).await else {
        return;
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let port = port.to_string();
    let mut cmd = binary(
        &db,
        "[rate_limit]\nenabled = true\nstorage = \"memory\"\n",
        &[("PORT", &port)],
    );
    // Its logs are read by no one here.
    cmd.stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut child = tokio::process::Command::from(cmd)
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let pid = child.id().unwrap();
    let base = format!("http://127.0.0.1:{port}/api/auth");
    let client = reqwest::Client::new();
    let mut up = false;
    for _ in 0..100 {
        if client.get(format!("{base}/ok")).send().await.is_ok() {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(up, "the service started");

    let long = "p".repeat(20_000);
    let send = |from: usize, to: usize| {
        let client = client.clone();
        let base = base.clone();
        let long = long.clone();
        async move {
            let mut tasks = tokio::task::JoinSet::new();
            for lane in 0..4 {
                let (client, base, long) = (client.clone(), base.clone(), long.clone());
                tasks.spawn(async move {
                    for i in (from + lane..to).step_by(4) {
                        let res = client
                            .get(format!("{base}/unknown-{i}/{long}"))
                            .send()
                            .await
                            .unwrap();
                        let status = res.status().as_u16();
                        assert!(status == 404 || status == 429, "{status}");
                    }
                });
            }
            while let Some(done) = tasks.join_next().await {
                done.unwrap();
            }
        }
    };
    // Warm up: the allocator settles with the first few hundred requests.
    send(0, 500).await;
    let before = rss_kib(pid);
    send(500, 4_500).await;
    let after = rss_kib(pid);
    let grown = after.saturating_sub(before);
    assert!(
        grown < 8 * 1024,
        "4,000 unknown paths of 20 KB grew the memory by {grown} KiB ({before} → {after})"
    );
    let _ = child.kill().await;
}
