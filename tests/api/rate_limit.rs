//! Rate limiting (docs/compatibility.md §13): rules, keys, the 429, every storage, and one limit
//! shared by two processes.

use std::path::Path;
use std::time::Duration as StdDuration;

use chrono::Duration;
use reqwest::Response;
use serde_json::json;
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::helpers::*;

const LIMITED_BODY: &str = r#"{"message":"Too many requests. Please try again later."}"#;
const ON: &str = "[rate_limit]\nenabled = true\n";
const SIGN_IN: &str = "/sign-in/email";

/// Asserts Better Auth's 429 (no `code`, no `Retry-After`) and returns its `X-Retry-After`.
async fn assert_limited(res: Response) -> u64 {
    assert_eq!(res.status(), 429);
    assert!(res.headers().get("retry-after").is_none());
    assert_eq!(res.headers()["content-type"], "application/json");
    let retry = res.headers()["x-retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(res.text().await.unwrap(), LIMITED_BODY);
    retry
}

/// A GET of `path` under the base path, from `ip` when given (`x-forwarded-for`). Any request
/// counts, whatever it answers (unknown paths and other methods are 404).
async fn hit(app: &TestApp, path: &str, ip: Option<&str>) -> Response {
    let mut req = app.client.get(app.url(path));
    if let Some(ip) = ip {
        req = req.header("x-forwarded-for", ip);
    }
    req.send().await.unwrap()
}

async fn assert_allowed(app: &TestApp, path: &str, ip: Option<&str>) {
    let status = hit(app, path, ip).await.status();
    assert!(status != 429 && status.as_u16() < 500, "{path}: {status}");
}

/// `max` requests pass, the next is refused for the whole window, and once the window has
/// passed requests pass again.
async fn assert_rule(app: &TestApp, path: &str, window: u64, max: u64) {
    for _ in 0..max {
        assert_allowed(app, path, None).await;
    }
    assert_eq!(
        assert_limited(hit(app, path, None).await).await,
        window,
        "{path}"
    );
    app.state
        .clock
        .advance(Duration::seconds(window as i64 - 1));
    assert_eq!(
        hit(app, path, None).await.status(),
        429,
        "{path}: still in the window"
    );
    app.state.clock.advance(Duration::seconds(1));
    assert_allowed(app, path, None).await;
}

#[tokio::test]
async fn each_built_in_rule_and_the_default_refuse_past_their_max_until_the_window_passes() {
    let Some(app) = spawn_app_with(Backend::Sqlite, ON, &[]).await else {
        return;
    };
    for (path, window, max) in [
        ("/sign-in/email", 10, 3),
        ("/sign-up/email", 10, 3),
        ("/change-password", 10, 3),
        ("/change-email", 10, 3),
        ("/request-password-reset", 60, 3),
        ("/send-verification-email", 60, 3),
        ("/forget-password", 60, 3),
        ("/get-session", 10, 100),
        ("/ok", 10, 100),
        ("/no-such-path", 10, 100),
    ] {
        assert_rule(&app, path, window, max).await;
    }
}

#[tokio::test]
async fn refused_requests_do_not_extend_the_block_and_the_window_runs_from_the_last_allowed_one() {
    let Some(app) = spawn_app_with(Backend::Sqlite, ON, &[]).await else {
        return;
    };
    // docs/compatibility.md §13.5: allowed at 0, 1, 2 s; refused at 11 s with 1 s to wait; reset at
    // 12 s.
    for _ in 0..3 {
        assert_allowed(&app, SIGN_IN, None).await;
        app.state.clock.advance(Duration::seconds(1));
    }
    app.state.clock.advance(Duration::milliseconds(8_500));
    assert_eq!(assert_limited(hit(&app, SIGN_IN, None).await).await, 1);
    app.state.clock.advance(Duration::milliseconds(1_000));
    assert_allowed(&app, SIGN_IN, None).await;
}

#[tokio::test]
async fn the_limit_reaches_the_handler_before_anything_else() {
    let Some(app) = spawn_app_with(Backend::Sqlite, ON, &[]).await else {
        return;
    };
    let email = unique_email();
    for _ in 0..3 {
        assert_eq!(app.sign_in(&email, "wrong password").await.status(), 401);
    }
    // Even a valid sign-in, a bad body or an untrusted origin gets the 429 first.
    assert_limited(app.sign_in(&email, PASSWORD).await).await;
    let res = app
        .client
        .post(app.url(SIGN_IN))
        .header("origin", "https://evil.example")
        .body("{oops")
        .send()
        .await
        .unwrap();
    assert_limited(res).await;
}

#[tokio::test]
async fn clients_are_told_apart_by_their_forwarded_ip() {
    let Some(app) = spawn_app_with(Backend::Sqlite, ON, &[]).await else {
        return;
    };
    let a = Some("203.0.113.7");
    for _ in 0..3 {
        assert_allowed(&app, SIGN_IN, a).await;
    }
    assert_limited(hit(&app, SIGN_IN, a).await).await;
    assert_allowed(&app, SIGN_IN, Some("203.0.113.8")).await;

    // One IPv6 /64 is one client.
    for ip in ["2001:db8::1", "2001:db8::2", "2001:DB8:0:0:ffff::3"] {
        assert_allowed(&app, SIGN_IN, Some(ip)).await;
    }
    assert_limited(hit(&app, SIGN_IN, Some("2001:db8::4")).await).await;
    assert_allowed(&app, SIGN_IN, Some("2001:db8:0:1::1")).await;

    // A multi-hop list can be forged by its first hop: not trusted, so in development the
    // request counts as 127.0.0.1, like one without the header.
    for _ in 0..3 {
        assert_allowed(&app, SIGN_IN, Some("198.51.100.1, 203.0.113.9")).await;
    }
    assert_limited(hit(&app, SIGN_IN, None).await).await;
}

#[tokio::test]
async fn rate_limiting_is_off_by_default_in_development_and_on_in_production() {
    let Some(dev) = spawn_app(Backend::Sqlite).await else {
        return;
    };
    for _ in 0..10 {
        assert_allowed(&dev, SIGN_IN, None).await;
    }

    let Some(prod) =
        spawn_app_with(Backend::Sqlite, "", &[("BETTER_AUTH_ENV", "production")]).await
    else {
        return;
    };
    for _ in 0..3 {
        assert_allowed(&prod, SIGN_IN, None).await;
    }
    // Without a trusted IP, production clients share one bucket per path (fail closed).
    assert_eq!(assert_limited(hit(&prod, SIGN_IN, None).await).await, 10);
    assert_limited(hit(&prod, SIGN_IN, Some("198.51.100.1, 203.0.113.9")).await).await;
    assert_allowed(&prod, SIGN_IN, Some("203.0.113.9")).await;
}

#[tokio::test]
async fn custom_rules_override_the_built_in_ones_by_exact_path_or_pattern() {
    let toml = r#"
[rate_limit]
enabled = true
window = 10
max = 2

[[rate_limit.rules]]
path = "/sign-in/email"
window = 5
max = 1

[[rate_limit.rules]]
path = "/get-session"
enabled = false

[[rate_limit.rules]]
path = "/list-*"
max = 4

[[rate_limit.rules]]
path = "/custom/*"
max = 4
"#;
    let Some(app) = spawn_app_with(Backend::Sqlite, toml, &[]).await else {
        return;
    };
    assert_rule(&app, SIGN_IN, 5, 1).await;
    assert_rule(&app, "/sign-up/email", 10, 3).await;
    for _ in 0..10 {
        assert_allowed(&app, "/get-session", None).await;
    }
    // `*` is one path segment; each route is its own key; the window is the default's.
    assert_rule(&app, "/list-sessions", 10, 4).await;
    assert_allowed(&app, "/list-accounts", None).await;
    // Paths no route serves follow their rule but share one bucket.
    for i in 0..4 {
        assert_allowed(&app, &format!("/custom/{i}"), None).await;
    }
    assert_limited(hit(&app, "/custom/x", None).await).await;
    assert_limited(hit(&app, "/custom/a/b", None).await).await;
    app.state.clock.advance(Duration::seconds(10));
    // The query string does not make another key; a trailing slash is a path no route
    // serves (404), counted with the others.
    assert_allowed(&app, "/ok", None).await;
    assert_allowed(&app, "/ok?x=1", None).await;
    assert_eq!(assert_limited(hit(&app, "/ok", None).await).await, 10);
    assert_eq!(hit(&app, "/ok/", None).await.status(), 404);
}

#[tokio::test]
async fn paths_outside_the_base_path_are_not_limited() {
    let toml = "[rate_limit]\nenabled = true\nmax = 1\n";
    let Some(app) = spawn_app_with(Backend::Sqlite, toml, &[]).await else {
        return;
    };
    for _ in 0..3 {
        let res = app
            .client
            .get(format!("{}/health", app.address))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
    }
}

mod database {
    use super::*;

    /// The configuration of the scenarios below.
    const CONFIG: &str = "[rate_limit]\nenabled = true\nstorage = \"database\"\n";

    #[apply(backends)]
    #[tokio::test]
    async fn counters_live_in_the_rate_limit_table_and_old_ones_are_pruned(
        #[case] backend: Backend,
    ) {
        let Some(app) = spawn_app_with(backend, CONFIG, &[]).await else {
            return;
        };
        let ip = Some("203.0.113.7");
        let key = "203.0.113.7|/sign-in/email";
        let store = &app.state.store;
        for _ in 0..3 {
            assert_allowed(&app, SIGN_IN, ip).await;
        }
        let (count, last) = store.rate_limit_counter(key).await.unwrap().unwrap();
        assert_eq!(count, 3);
        assert!((app.state.clock.now().timestamp_millis() - last).abs() < 5_000);
        assert_eq!(assert_limited(hit(&app, SIGN_IN, ip).await).await, 10);
        assert_eq!(
            store.rate_limit_counter(key).await.unwrap(),
            Some((3, last)),
            "a refused request changes nothing"
        );
        app.state.clock.advance(Duration::seconds(10));
        assert_allowed(&app, SIGN_IN, ip).await;
        assert_eq!(store.rate_limit_counter(key).await.unwrap().unwrap().0, 1);

        // Rows older than the longest window (the built-in 60 s) go on a later request.
        app.state.clock.advance(Duration::seconds(61));
        assert_allowed(&app, "/ok", ip).await;
        assert_eq!(store.rate_limit_counter(key).await.unwrap(), None);
        assert_eq!(
            store
                .rate_limit_counter("203.0.113.7|/ok")
                .await
                .unwrap()
                .map(|c| c.0),
            Some(1)
        );
    }

    #[apply(backends)]
    #[tokio::test]
    async fn concurrent_requests_cannot_all_pass_a_stale_count(#[case] backend: Backend) {
        let Some(app) = spawn_app_with(backend, CONFIG, &[]).await else {
            return;
        };
        let mut tasks = Vec::new();
        for _ in 0..12 {
            let req = app.client.get(app.url(SIGN_IN));
            tasks.push(tokio::spawn(async move {
                req.send().await.unwrap().status().as_u16()
            }));
        }
        let mut passed = 0;
        for t in tasks {
            let status = t.await.unwrap();
            assert!(status == 404 || status == 429, "{status}");
            passed += usize::from(status == 404);
        }
        assert_eq!(passed, 3);
        assert_eq!(
            app.state
                .store
                .rate_limit_counter("127.0.0.1|/sign-in/email")
                .await
                .unwrap()
                .unwrap()
                .0,
            3
        );
    }

    #[apply(backends)]
    #[tokio::test]
    async fn every_built_in_rule_counts_in_the_database_too(#[case] backend: Backend) {
        let Some(app) = spawn_app_with(backend, CONFIG, &[]).await else {
            return;
        };
        assert_rule(&app, "/request-password-reset", 60, 3).await;
        assert_rule(&app, "/change-email", 10, 3).await;
    }
}

#[tokio::test]
async fn memory_counting_is_atomic_under_concurrent_requests() {
    let Some(app) = spawn_app_with(Backend::Sqlite, ON, &[]).await else {
        return;
    };
    let mut tasks = Vec::new();
    for _ in 0..12 {
        let req = app.client.get(app.url(SIGN_IN));
        tasks.push(tokio::spawn(async move {
            req.send().await.unwrap().status().as_u16()
        }));
    }
    let mut passed = 0;
    for t in tasks {
        passed += usize::from(t.await.unwrap() == 404);
    }
    assert_eq!(passed, 3);
}

fn redis_toml(prefix: &str) -> String {
    format!(
        "[redis]\nkey_prefix = \"{prefix}\"\n[rate_limit]\nenabled = true\nstorage = \"redis\"\n\
         [[rate_limit.rules]]\npath = \"/ok\"\nwindow = 1\nmax = 2\n"
    )
}

#[tokio::test]
async fn redis_counts_a_fixed_window_under_better_auths_keys() {
    let Some(url) = redis_url().await else {
        return;
    };
    let prefix = format!("test-{}:", uuid::Uuid::new_v4().simple());
    let Some(app) = spawn_app_with(
        Backend::Sqlite,
        &redis_toml(&prefix),
        &[("REDIS_URL", &url)],
    )
    .await
    else {
        return;
    };
    for _ in 0..3 {
        assert_allowed(&app, SIGN_IN, None).await;
    }
    // Better Auth's secondary storage says to wait the whole window.
    assert_eq!(assert_limited(hit(&app, SIGN_IN, None).await).await, 10);

    let client = redis::Client::open(url.as_str()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let key = format!("{prefix}127.0.0.1|/sign-in/email");
    let count: u64 = redis::cmd("GET")
        .arg(&key)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(count, 4);
    let ttl: i64 = redis::cmd("TTL")
        .arg(&key)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!((1..=10).contains(&ttl), "{ttl}");

    // A window of one second, waited for in real time (Redis expires the counter).
    for _ in 0..2 {
        assert_allowed(&app, "/ok", None).await;
    }
    assert_eq!(assert_limited(hit(&app, "/ok", None).await).await, 1);
    let mut passed = false;
    for _ in 0..40 {
        tokio::time::sleep(StdDuration::from_millis(100)).await;
        if hit(&app, "/ok", None).await.status() != 429 {
            passed = true;
            break;
        }
    }
    assert!(passed, "the counter expires with its window");
    let _: () = redis::cmd("DEL")
        .arg(&key)
        .query_async(&mut conn)
        .await
        .unwrap();
}

#[tokio::test]
async fn an_unreachable_redis_fails_over_to_counting_in_this_process() {
    let toml = "[rate_limit]\nenabled = true\nstorage = \"redis\"\n";
    let Some(app) = spawn_app_with(
        Backend::Sqlite,
        toml,
        &[("REDIS_URL", "redis://127.0.0.1:1")],
    )
    .await
    else {
        return;
    };
    for _ in 0..3 {
        assert_allowed(&app, SIGN_IN, None).await;
    }
    assert_limited(hit(&app, SIGN_IN, None).await).await;
    assert_eq!(hit(&app, "/ok", None).await.status(), 200);
}

#[tokio::test]
async fn a_failing_database_storage_fails_over_to_counting_in_this_process() {
    let toml = "[rate_limit]\nenabled = true\nstorage = \"database\"\nmax = 2\n";
    let Some(app) = spawn_app_with(Backend::Sqlite, toml, &[]).await else {
        return;
    };
    use sea_orm::ConnectionTrait;
    app.state
        .store
        .connection()
        .execute_unprepared(r#"DROP TABLE "rateLimit""#)
        .await
        .unwrap();
    for _ in 0..2 {
        assert_eq!(hit(&app, "/ok", None).await.status(), 200);
    }
    assert_limited(hit(&app, "/ok", None).await).await;
}

/// The real binary as a child process on a random port, killed when dropped.
struct Process {
    _child: tokio::process::Child,
    base: String,
}

async fn start_process(dir: &Path, env: &[(&str, &str)]) -> Process {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_better-auth-rs"));
    cmd.current_dir(dir)
        .env("BETTER_AUTH_SECRET", SECRET)
        .env("BETTER_AUTH_URL", "http://localhost:3001")
        .env("BETTER_AUTH_CONFIG", dir.join("better-auth.toml"))
        .env("HOST", "127.0.0.1")
        .env("PORT", "0")
        .env("LOG_FORMAT", "json")
        .env("RUST_LOG", "info")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .kill_on_drop(true);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("start the service binary");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let port = tokio::time::timeout(StdDuration::from_secs(60), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) else {
                continue;
            };
            if v["message"] == "listening" {
                return v["port"].as_u64().unwrap();
            }
        }
        panic!("the service exited before listening");
    })
    .await
    .expect("the service starts within a minute");
    // Keep reading its log so it never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Process {
        _child: child,
        base: format!("http://127.0.0.1:{port}/api/auth"),
    }
}

/// Sign-in attempts alternate between two processes: the fourth is refused whichever gets it.
async fn assert_sign_in_limit_is_shared(a: &Process, b: &Process) {
    let client = reqwest::Client::new();
    let body = json!({"email": "nobody@example.com", "password": "wrong password"});
    for (i, p) in [a, b, a].into_iter().enumerate() {
        let res = client
            .post(format!("{}{SIGN_IN}", p.base))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401, "attempt {}", i + 1);
    }
    for p in [b, a] {
        let res = client
            .post(format!("{}{SIGN_IN}", p.base))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_limited(res).await;
    }
}

fn process_toml(dir: &Path, rate_limit: &str) {
    std::fs::write(
        dir.join("better-auth.toml"),
        format!("{BASE_TOML}\n[rate_limit]\nenabled = true\n{rate_limit}"),
    )
    .unwrap();
}

#[tokio::test]
async fn two_processes_on_one_postgres_database_share_the_sign_in_limit() {
    let Some(db) = create_database(Backend::Postgres).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    process_toml(dir.path(), "storage = \"database\"\n");
    let env = [("DATABASE_URL", db.url.as_str())];
    let a = start_process(dir.path(), &env).await;
    let b = start_process(dir.path(), &env).await;
    assert_sign_in_limit_is_shared(&a, &b).await;
}

#[tokio::test]
async fn two_processes_on_one_redis_share_the_sign_in_limit() {
    let Some(url) = redis_url().await else {
        return;
    };
    let prefix = format!("test-{}:", uuid::Uuid::new_v4().simple());
    let dir = tempfile::tempdir().unwrap();
    process_toml(
        dir.path(),
        &format!("storage = \"redis\"\n[redis]\nkey_prefix = \"{prefix}\"\n"),
    );
    let db_a = format!("sqlite://{}/a.db?mode=rwc", dir.path().display());
    let db_b = format!("sqlite://{}/b.db?mode=rwc", dir.path().display());
    let a = start_process(dir.path(), &[("DATABASE_URL", &db_a), ("REDIS_URL", &url)]).await;
    let b = start_process(dir.path(), &[("DATABASE_URL", &db_b), ("REDIS_URL", &url)]).await;
    assert_sign_in_limit_is_shared(&a, &b).await;
}
