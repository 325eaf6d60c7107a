//! Graceful shutdown (docs/operations.md §3): SIGTERM in the middle of a burst of sign-ups.
//! `/ready` turns 503, the listener closes, every request the service accepted gets its whole
//! answer (the password hashes queued behind the hashing threads included), the process exits
//! 0, and the database holds no user without its credential account and session.

use rstest_reuse::apply;
use sea_orm::{ConnectionTrait, Database, Statement};
use serde_json::{json, Value};

use crate::helpers::{backends, create_database, rstest, unique_email, Backend, PASSWORD};
use crate::process::{free_port, Service};

/// Clients signing up at once: many more than hashing threads, so hashes queue.
const CLIENTS: usize = 24;
/// Sign-ups answered before SIGTERM is sent.
const BEFORE_SIGTERM: usize = 16;

/// How one client's requests ended.
#[derive(Debug, Default)]
struct Tally {
    /// Emails whose sign-up answered 200 with the user.
    created: Vec<String>,
    /// Answers that came with `Connection: close` (the service was stopping).
    closing: usize,
    /// Connections refused (the listener was closed): never accepted.
    refused: usize,
    /// Anything else: a broken answer, a reset, an unexpected status.
    broken: Vec<String>,
}

/// One client: sign-ups one after the other on one kept-alive connection, until the service
/// says it is closing the connection or refuses a new one.
async fn client(base: String, answered: tokio::sync::mpsc::UnboundedSender<()>) -> Tally {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(1)
        .build()
        .unwrap();
    let mut tally = Tally::default();
    for _ in 0..200 {
        let email = unique_email();
        let sent = http
            .post(format!("{base}/api/auth/sign-up/email"))
            .header("origin", "http://localhost:3001")
            .json(&json!({ "email": email, "password": PASSWORD, "name": "Burst" }))
            .send()
            .await;
        let res = match sent {
            Ok(res) => res,
            Err(e) if e.is_connect() => {
                tally.refused += 1;
                break;
            }
            Err(e) => {
                tally.broken.push(format!("{email}: {e:?}"));
                break;
            }
        };
        let closing = res
            .headers()
            .get("connection")
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"close"));
        let status = res.status();
        match res.json::<Value>().await {
            Ok(body) if status == 200 && body["user"]["email"] == email.as_str() => {
                tally.created.push(email);
            }
            other => tally.broken.push(format!(
                "{email}: {status} {:?}",
                other.map(|b| b.to_string())
            )),
        }
        let _ = answered.send(());
        if closing {
            tally.closing += 1;
            break;
        }
    }
    tally
}

async fn count(db: &sea_orm::DatabaseConnection, sql: &str) -> i64 {
    let row = db
        .query_one(Statement::from_string(
            db.get_database_backend(),
            sql.to_owned(),
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get::<i64>("", "n")
        .or_else(|_| row.try_get::<i32>("", "n").map(i64::from))
        .unwrap()
}

#[apply(backends)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_during_a_burst_of_sign_ups_answers_every_accepted_request(
    #[case] backend: Backend,
) {
    let Some(db) = create_database(backend).await else {
        return;
    };
    // Full-cost hashes: two hashing threads, so most sign-ups wait in the hashing queue. A
    // drain delay of one second: a kept-alive connection that was idle when the listener
    // closes would be closed under a request the client may be sending at that instant (the
    // server never read it); answers during the drain tell clients to close instead.
    let toml = "[shutdown]\ngrace_period = 20\ndrain_delay = 1\n";
    let mut service = Service::start(&db, toml, &[], free_port()).await;
    let base = service.base();

    let (answered, mut answers) = tokio::sync::mpsc::unbounded_channel();
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| tokio::spawn(client(base.clone(), answered.clone())))
        .collect();
    drop(answered);
    for _ in 0..BEFORE_SIGTERM {
        answers.recv().await.expect("sign-ups are answered");
    }
    service.terminate();

    let mut tallies = Vec::new();
    for c in clients {
        tallies.push(c.await.unwrap());
    }
    let status = service.wait().await;
    assert_eq!(status.code(), Some(0), "exit status after SIGTERM");

    let broken: Vec<&String> = tallies.iter().flat_map(|t| &t.broken).collect();
    assert!(
        broken.is_empty(),
        "requests without a whole answer: {broken:?}"
    );
    let created: Vec<&String> = tallies.iter().flat_map(|t| &t.created).collect();
    assert!(created.len() >= BEFORE_SIGTERM, "{} created", created.len());
    let ended: usize = tallies.iter().map(|t| t.closing + t.refused).sum();
    assert_eq!(
        ended, CLIENTS,
        "every client saw the shutdown (Connection: close or a refused connection)"
    );
    assert!(
        tallies.iter().map(|t| t.closing).sum::<usize>() > 0,
        "requests in flight at SIGTERM were answered"
    );

    // No half-written sign-up: every user has its credential account and its session, and
    // every answered sign-up is stored.
    let conn = Database::connect(&db.url).await.unwrap();
    let users = count(
        &conn,
        r#"SELECT COUNT(*) AS n FROM "user""#.replace('"', quote(backend)).as_str(),
    )
    .await;
    assert_eq!(
        users,
        created.len() as i64,
        "users stored = sign-ups answered"
    );
    let without_account = count(
        &conn,
        &r#"SELECT COUNT(*) AS n FROM "user" u WHERE NOT EXISTS (SELECT 1 FROM "account" a WHERE a."userId" = u."id" AND a."providerId" = 'credential')"#
            .replace('"', quote(backend)),
    )
    .await;
    assert_eq!(without_account, 0, "users without a credential account");
    let without_session = count(
        &conn,
        &r#"SELECT COUNT(*) AS n FROM "user" u WHERE NOT EXISTS (SELECT 1 FROM "session" s WHERE s."userId" = u."id")"#
            .replace('"', quote(backend)),
    )
    .await;
    assert_eq!(without_session, 0, "users without their session");
    for email in &created {
        let n = count(
            &conn,
            &format!(r#"SELECT COUNT(*) AS n FROM "user" WHERE "email" = '{email}'"#)
                .replace('"', quote(backend)),
        )
        .await;
        assert_eq!(n, 1, "{email} stored");
    }
    conn.close().await.unwrap();
}

/// Identifier quotes of the backend's SQL.
fn quote(backend: Backend) -> &'static str {
    match backend {
        Backend::MySql => "`",
        _ => "\"",
    }
}

/// In process: `Shutdown::begin` (what SIGTERM calls) turns `/ready` to 503 at once, keeps
/// answering during the drain delay with `Connection: close`, then closes the listener.
#[tokio::test]
async fn ready_answers_503_during_the_drain_and_answers_close_their_connection() {
    let Some(db) = create_database(Backend::Sqlite).await else {
        return;
    };
    let settings = crate::helpers::settings(&db, "[shutdown]\ndrain_delay = 2\n", &[]);
    let app = better_auth_rs::startup::Application::build(settings)
        .await
        .unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    let shutdown = app.shutdown();
    let server = tokio::spawn(app.run_until_stopped());
    let http = reqwest::Client::new();
    let res = http.get(format!("{base}/ready")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers().get("connection").is_none_or(|v| v != "close"));

    let stopping = tokio::spawn(async move { shutdown.begin().await });
    let mut seen = false;
    for _ in 0..100 {
        let res = http.get(format!("{base}/ready")).send().await.unwrap();
        if res.status() == 503 {
            assert_eq!(res.headers()["connection"], "close");
            let body: Value = res.json().await.unwrap();
            assert_eq!(body["code"], "SHUTTING_DOWN");
            seen = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(seen, "/ready turned 503");
    // Still serving during the drain delay, every answer closing its connection.
    let res = http.get(format!("{base}/health")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["connection"], "close");

    stopping.await.unwrap();
    server.await.unwrap().unwrap();
    let after = http.get(format!("{base}/health")).send().await;
    assert!(
        after.is_err_and(|e| e.is_connect()),
        "the listener is closed"
    );
}
