//! Three instances on one PostgreSQL database and one Redis behind HAProxy, restarted one by one
//! (a rolling restart) under a load of sign-ups, sign-ins, get-session and `/token`
//! (docs/operations.md §4): no request fails, the instances share one JWT key, their rate
//! limits and their sessions (a revocation on one is seen by all).
//!
//! Ignored by `cargo test`: `scripts/test.sh` runs it as a step of its own, alone on the
//! machine (`cargo test --test api -- --ignored replicas`). `REPLICAS_LOAD_SECS` sets the
//! length of the load (default 30 s).

use std::collections::{BTreeMap, BTreeSet};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::helpers::{create_database, redis_url, skip_or_fail, unique_email, Backend, PASSWORD};
use crate::process::{free_ports, service_errors, Service};

const ORIGIN: &str = "http://localhost:3001";
/// Load clients, each with its own session and client address.
const CLIENTS: usize = 8;

fn config(prefix: &str) -> String {
    format!(
        r#"
[redis]
key_prefix = "{prefix}"

[plugins.jwt]
enabled = true

[rate_limit]
enabled = true
storage = "redis"
window = 10
max = 1000000
[[rate_limit.rules]]
path = "/sign-in/email"
max = 1000000
[[rate_limit.rules]]
path = "/sign-up/email"
max = 1000000
[[rate_limit.rules]]
path = "/ok"
window = 60
max = 6

[shutdown]
drain_delay = 2
grace_period = 20
"#
    )
}

/// HAProxy in front of the instances: health checks on `/ready` every 200 ms, a server out
/// after one failed check, back after two good ones; a request whose connection fails is
/// sent to another server.
fn haproxy_config(front: u16, backends: &[u16]) -> String {
    let servers: String = backends
        .iter()
        .enumerate()
        .map(|(i, p)| format!("  server s{i} 127.0.0.1:{p} check\n"))
        .collect();
    format!(
        "global\n  maxconn 512\n\
         defaults\n  mode http\n  timeout connect 2s\n  timeout client 30s\n  timeout server 30s\n\
         \x20 retries 3\n  option redispatch\n  retry-on conn-failure empty-response response-timeout\n\
         frontend fe\n  bind 127.0.0.1:{front}\n  default_backend be\n\
         backend be\n  balance roundrobin\n  option httpchk GET /ready\n  http-check expect status 200\n\
         \x20 default-server inter 200ms fall 1 rise 2\n{servers}"
    )
}

/// What the load saw.
#[derive(Default)]
struct Figures {
    by_kind: BTreeMap<&'static str, u64>,
    failures: Vec<String>,
    kids: BTreeSet<String>,
}

fn session_cookie(res: &reqwest::Response) -> Option<String> {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("better-auth.session_token="))
        .and_then(|c| c.split(';').next())
        .map(str::to_owned)
}

/// One load client: sign up, sign in, read its session and get a JWT, over and over.
async fn load_client(lb: String, n: usize, until: Instant) -> Figures {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let ip = format!("198.18.0.{}", n + 1);
    let mut f = Figures::default();
    let ok = |f: &mut Figures, kind: &'static str| *f.by_kind.entry(kind).or_default() += 1;
    while Instant::now() < until {
        let email = unique_email();
        let body = json!({ "email": email, "password": PASSWORD, "name": "Load" });
        let res = http
            .post(format!("{lb}/api/auth/sign-up/email"))
            .header("origin", ORIGIN)
            .header("x-forwarded-for", &ip)
            .json(&body)
            .send()
            .await;
        match res {
            Ok(r) if r.status() == 200 => ok(&mut f, "sign-up"),
            other => {
                f.failures.push(format!("sign-up: {other:?}"));
                continue;
            }
        }
        let res = http
            .post(format!("{lb}/api/auth/sign-in/email"))
            .header("origin", ORIGIN)
            .header("x-forwarded-for", &ip)
            .json(&json!({ "email": email, "password": PASSWORD }))
            .send()
            .await;
        let cookie = match res {
            Ok(r) if r.status() == 200 => match session_cookie(&r) {
                Some(c) => {
                    ok(&mut f, "sign-in");
                    c
                }
                None => {
                    f.failures.push("sign-in: no session cookie".into());
                    continue;
                }
            },
            other => {
                f.failures.push(format!("sign-in: {other:?}"));
                continue;
            }
        };
        for _ in 0..3 {
            let res = http
                .get(format!("{lb}/api/auth/get-session"))
                .header("cookie", &cookie)
                .header("x-forwarded-for", &ip)
                .send()
                .await;
            match res {
                Ok(r) if r.status() == 200 => match r.json::<Value>().await {
                    Ok(v) if v["user"]["email"] == email.as_str() => ok(&mut f, "get-session"),
                    other => f.failures.push(format!("get-session body: {other:?}")),
                },
                other => f.failures.push(format!("get-session: {other:?}")),
            }
            let res = http
                .get(format!("{lb}/api/auth/token"))
                .header("cookie", &cookie)
                .header("x-forwarded-for", &ip)
                .send()
                .await;
            match res {
                Ok(r) if r.status() == 200 => match r.json::<Value>().await {
                    Ok(v) => match v["token"].as_str().and_then(kid_of) {
                        Some(kid) => {
                            f.kids.insert(kid);
                            ok(&mut f, "token");
                        }
                        None => f.failures.push(format!("token body: {v}")),
                    },
                    Err(e) => f.failures.push(format!("token body: {e}")),
                },
                other => f.failures.push(format!("token: {other:?}")),
            }
        }
    }
    f
}

/// The `kid` of a JWT's header.
fn kid_of(jwt: &str) -> Option<String> {
    use base64::Engine;
    let header = jwt.split('.').next()?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header)
        .ok()?;
    let v: Value = serde_json::from_slice(&bytes).ok()?;
    v["kid"].as_str().map(str::to_owned)
}

async fn get_session(base: &str, cookie: &str) -> Value {
    reqwest::Client::new()
        .get(format!("{base}/api/auth/get-session"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a 30 s load with three instances and HAProxy: scripts/test.sh runs it on its own"]
async fn replicas_behind_haproxy_survive_a_rolling_restart_under_load() {
    if std::process::Command::new("haproxy")
        .arg("-v")
        .output()
        .is_err()
    {
        skip_or_fail("replicas", "haproxy is not installed");
        return;
    }
    let Some(redis) = redis_url().await else {
        return;
    };
    let Some(db) = create_database(Backend::Postgres).await else {
        return;
    };
    let prefix = format!("replicas-{}:", uuid::Uuid::new_v4().simple());
    let toml = config(&prefix);
    let env = [("REDIS_URL", redis.as_str())];
    let mut ports = free_ports(4);
    let front = ports.pop().expect("four ports");

    // Three instances start together on the empty database.
    let starts = ports
        .iter()
        .map(|p| Service::start(&db, &toml, &env, *p))
        .collect::<Vec<_>>();
    let mut instances = futures_util::future::join_all(starts).await;

    let cfg = db.dir().join("haproxy.cfg");
    std::fs::write(&cfg, haproxy_config(front, &ports)).unwrap();
    let mut haproxy = tokio::process::Command::new("haproxy")
        .args(["-db", "-f"])
        .arg(&cfg)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let lb = format!("http://127.0.0.1:{front}");
    let mut up = false;
    for _ in 0..100 {
        if let Ok(r) = reqwest::get(format!("{lb}/ready")).await {
            up = r.status() == 200;
            if up {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(up, "HAProxy answers");
    tokio::time::sleep(Duration::from_millis(600)).await; // every server's checks passed

    // The load, while each instance in turn is stopped with SIGTERM and started again.
    let secs: u64 = std::env::var("REPLICAS_LOAD_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(30);
    let started = Instant::now();
    let until = started + Duration::from_secs(secs);
    let clients: Vec<_> = (0..CLIENTS)
        .map(|n| tokio::spawn(load_client(lb.clone(), n, until)))
        .collect();
    // A restart takes the drain delay (2 s) and a start (about 1 s): five steps fit the load.
    let step = Duration::from_secs(secs) / 5;
    for i in 0..instances.len() {
        tokio::time::sleep(step).await;
        instances[i].terminate();
        let code = instances[i].wait().await.code();
        assert_eq!(
            code,
            Some(0),
            "instance {i} stopped cleanly; it logged last:\n{}",
            instances[i].log_tail(40)
        );
        instances[i] = Service::start(&db, &toml, &env, ports[i]).await;
        eprintln!("instance {i} restarted at {:?}", started.elapsed());
    }
    let mut total = Figures::default();
    for c in clients {
        let f = c.await.unwrap();
        for (k, v) in f.by_kind {
            *total.by_kind.entry(k).or_default() += v;
        }
        total.failures.extend(f.failures);
        total.kids.extend(f.kids);
    }
    let elapsed = started.elapsed().as_secs_f64();
    let answered: u64 = total.by_kind.values().sum();
    eprintln!(
        "REPLICAS: {CLIENTS} clients for {elapsed:.1} s, 3 rolling restarts: {answered} requests answered ({:.0}/s) {:?}, {} failed",
        answered as f64 / elapsed,
        total.by_kind,
        total.failures.len()
    );
    assert!(
        total.failures.is_empty(),
        "failed requests: {:?}\nthe services logged: {:#?}",
        &total.failures[..total.failures.len().min(10)],
        service_errors(&db)
    );
    assert!(total.by_kind.get("token").copied().unwrap_or(0) > 0);

    // One JWT key: made once by the three instances started together, kept over restarts.
    use sea_orm::{ConnectionTrait, Database, Statement};
    let conn = Database::connect(&db.url).await.unwrap();
    let row = conn
        .query_one(Statement::from_string(
            conn.get_database_backend(),
            "SELECT COUNT(*) AS n FROM jwks".to_owned(),
        ))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.try_get::<i64>("", "n").unwrap(), 1, "one row in jwks");
    conn.close().await.unwrap();
    assert_eq!(
        total.kids.len(),
        1,
        "every JWT has the one kid: {:?}",
        total.kids
    );

    // Rate limits are shared: 6 requests per minute for /ok, whichever instance answers.
    let http = reqwest::Client::new();
    let mut statuses = Vec::new();
    for _ in 0..9 {
        let r = http
            .get(format!("{lb}/api/auth/ok"))
            .header("x-forwarded-for", "198.18.1.1")
            .send()
            .await
            .unwrap();
        statuses.push(r.status().as_u16());
    }
    assert_eq!(statuses, [200, 200, 200, 200, 200, 200, 429, 429, 429]);

    // A revocation on one instance is seen by all.
    let email = unique_email();
    let res = http
        .post(format!("{lb}/api/auth/sign-up/email"))
        .header("origin", ORIGIN)
        .json(&json!({ "email": email, "password": PASSWORD, "name": "Revoked" }))
        .send()
        .await
        .unwrap();
    let cookie = session_cookie(&res).unwrap();
    for s in &instances {
        assert_eq!(
            get_session(&s.base(), &cookie).await["user"]["email"],
            email.as_str()
        );
    }
    let res = http
        .post(format!("{}/api/auth/sign-out", instances[0].base()))
        .header("origin", ORIGIN)
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    for s in &instances {
        assert!(
            get_session(&s.base(), &cookie).await.is_null(),
            "revoked on {}",
            s.port
        );
    }

    let _ = haproxy.kill().await;
    for s in &mut instances {
        s.terminate();
        assert_eq!(s.wait().await.code(), Some(0));
    }
    // The test's Redis keys go with it.
    if let Ok(client) = redis::Client::open(redis.as_str()) {
        if let Ok(mut c) = client.get_multiplexed_async_connection().await {
            let keys: Vec<String> = redis::cmd("KEYS")
                .arg(format!("{prefix}*"))
                .query_async(&mut c)
                .await
                .unwrap_or_default();
            if !keys.is_empty() {
                let _: Result<(), _> = redis::cmd("DEL").arg(keys).query_async(&mut c).await;
            }
        }
    }
}
