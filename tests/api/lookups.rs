//! The session lookup's own connections (`store/direct.rs`): lookups made together are answered
//! in batches, each with its own row; a lookup given up on while its query waits leaves the
//! connection answering the next ones correctly; connections the database server ended are
//! replaced without failing the request that finds them dead.

use std::time::Duration;

use sea_orm::{ConnectionTrait, Database, DbBackend, Statement, TransactionTrait};
use serde_json::Value;

use crate::helpers::*;

/// A new user, signed up: its session token, email and signed session cookie.
struct SignedUp {
    token: String,
    email: String,
    cookie: String,
}

async fn sign_up(app: &TestApp) -> SignedUp {
    let email = unique_email();
    let body = serde_json::json!({ "email": email, "password": PASSWORD, "name": "Lookup User" });
    let res = app.post_as(&app.anonymous(), "/sign-up/email", &body).await;
    assert_eq!(res.status(), 200);
    let cookie = set_cookies(&res)
        .into_iter()
        .find(|c| c.starts_with("better-auth.session_token="))
        .expect("session cookie");
    let cookie = cookie.split(';').next().unwrap().to_owned();
    let body: Value = res.json().await.unwrap();
    SignedUp {
        token: body["token"].as_str().unwrap().to_owned(),
        email,
        cookie,
    }
}

/// Lookups of many sessions at once, each several times, more than one batch holds: each gets
/// its own session and user, and an unknown token gets none.
async fn lookups_made_together_each_get_their_own_row(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let mut users = Vec::new();
    for _ in 0..12 {
        users.push(sign_up(&app).await);
    }
    let worker = app.state.store.for_worker(1).unwrap();
    let mut asked: Vec<Option<&SignedUp>> = Vec::new();
    for _ in 0..4 {
        asked.extend(users.iter().map(Some));
        asked.push(None);
    }
    let answers = futures_util::future::join_all(asked.iter().map(|user| {
        let token = user.map_or("no-such-session-token-0123456789", |u| u.token.as_str());
        worker.find_session_with_user(token)
    }))
    .await;
    assert!(asked.len() > 32, "more lookups than one batch answers");
    for (user, answer) in asked.iter().zip(answers) {
        let found = answer.unwrap();
        match user {
            Some(u) => {
                let (session, found_user) = found.expect("a session for a known token");
                assert_eq!(session.token, u.token);
                assert_eq!(found_user.email, u.email);
                assert_eq!(session.user_id, found_user.id);
            }
            None => assert!(found.is_none(), "no session for an unknown token"),
        }
    }
}

#[tokio::test]
async fn sqlite_lookups_made_together_each_get_their_own_row() {
    lookups_made_together_each_get_their_own_row(Backend::Sqlite).await;
}

#[tokio::test]
async fn postgres_lookups_made_together_each_get_their_own_row() {
    lookups_made_together_each_get_their_own_row(Backend::Postgres).await;
}

#[tokio::test]
async fn mariadb_lookups_made_together_each_get_their_own_row() {
    lookups_made_together_each_get_their_own_row(Backend::MySql).await;
}

async fn run<C: ConnectionTrait>(db: &C, sql: &str) {
    db.execute(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap();
}

async fn abandoned_lookup_leaves_its_connection_usable(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (a, b) = (sign_up(&app).await, sign_up(&app).await);
    let (token_a, token_b) = (a.token, b.token);
    // A worker's store: its lookups go through the lookup connections (one, on this machine).
    let worker = app.state.store.for_worker(1).unwrap();
    assert!(worker
        .find_session_with_user(&token_a)
        .await
        .unwrap()
        .is_some());

    // Another connection locks the session table: the next lookup is sent and waits for its
    // answer, and the caller gives up on it (a client that went away).
    let locker = Database::connect(&app._db.url).await.unwrap();
    let lock = locker.begin().await.unwrap();
    match backend {
        Backend::Postgres => run(&lock, r#"LOCK TABLE "session" IN ACCESS EXCLUSIVE MODE"#).await,
        _ => run(&lock, "LOCK TABLES `session` WRITE").await,
    }
    let cut_off = tokio::time::timeout(
        Duration::from_millis(500),
        worker.find_session_with_user(&token_a),
    )
    .await;
    assert!(
        cut_off.is_err(),
        "the lookup was expected to wait for the lock"
    );
    if backend == Backend::MySql {
        run(&lock, "UNLOCK TABLES").await;
    }
    lock.commit().await.unwrap();

    // The same connection (the only one) answers the next lookups, each with its own row, not
    // with what the abandoned one asked for.
    let (session, user) = worker
        .find_session_with_user(&token_b)
        .await
        .unwrap()
        .expect("session b");
    assert_eq!(session.token, token_b);
    assert_eq!(user.email, b.email);
    let (session, _) = worker
        .find_session_with_user(&token_a)
        .await
        .unwrap()
        .expect("session a");
    assert_eq!(session.token, token_a);
    let _ = locker.close().await;
}

#[tokio::test]
async fn postgres_abandoned_lookup_leaves_its_connection_usable() {
    abandoned_lookup_leaves_its_connection_usable(Backend::Postgres).await;
}

#[tokio::test]
async fn mariadb_abandoned_lookup_leaves_its_connection_usable() {
    abandoned_lookup_leaves_its_connection_usable(Backend::MySql).await;
}

/// Ends every server session on the test database but the caller's own, and waits until they
/// are gone.
pub async fn end_server_sessions(backend: Backend, url: &str) {
    let name = url.rsplit('/').next().unwrap().split('?').next().unwrap();
    let admin = Database::connect(url).await.unwrap();
    let (list, kill): (String, fn(&str) -> String) = match backend {
        Backend::Postgres => (
            format!("SELECT pid::text AS id FROM pg_stat_activity WHERE datname = '{name}' AND pid <> pg_backend_pid()"),
            |id| format!("SELECT pg_terminate_backend({id})"),
        ),
        _ => (
            format!("SELECT CAST(id AS CHAR) AS id FROM information_schema.processlist WHERE db = '{name}' AND id <> CONNECTION_ID()"),
            |id| format!("KILL {id}"),
        ),
    };
    let ids = || async {
        let rows = admin
            .query_all(Statement::from_string(
                admin.get_database_backend(),
                list.clone(),
            ))
            .await
            .unwrap();
        rows.iter()
            .map(|r| r.try_get::<String>("", "id").unwrap())
            .collect::<Vec<_>>()
    };
    let before = ids().await;
    assert!(!before.is_empty(), "the service holds connections");
    for id in &before {
        run(&admin, &kill(id)).await;
    }
    for _ in 0..50 {
        if ids().await.iter().all(|id| !before.contains(id)) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = admin.close().await;
}

async fn session_check_survives_ended_connections(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let user = sign_up(&app).await;
    // New connections land on every HTTP worker in turn, so each opens its lookup connection.
    let check = || async {
        let res = app
            .anonymous()
            .get(app.url("/get-session"))
            .header("cookie", &user.cookie)
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        let body: Value = res.json().await.unwrap_or(Value::Null);
        (status, body["user"]["email"].as_str().map(str::to_owned))
    };
    for _ in 0..4 {
        assert_eq!(check().await, (200, Some(user.email.clone())));
    }

    end_server_sessions(backend, &app._db.url).await;

    // Every worker finds its connection dead and answers from a new one.
    for i in 0..4 {
        assert_eq!(check().await, (200, Some(user.email.clone())), "check {i}");
    }
}

#[tokio::test]
async fn postgres_session_check_survives_the_server_ending_its_connections() {
    session_check_survives_ended_connections(Backend::Postgres).await;
}

#[tokio::test]
async fn mariadb_session_check_survives_the_server_ending_its_connections() {
    session_check_survives_ended_connections(Backend::MySql).await;
}

/// PostgreSQL: lookups first run while the session table was nearly empty still find sessions
/// through the token index once it has grown, with no ANALYZE in between. A plan cached on the
/// small table scans the whole table on every lookup.
#[tokio::test]
async fn postgres_lookups_use_the_token_index_once_the_table_has_grown() {
    let Some(app) = spawn_app(Backend::Postgres).await else {
        return;
    };
    let (a, b) = (sign_up(&app).await, sign_up(&app).await);
    let worker = app.state.store.for_worker(1).unwrap();
    // Alone, and together (a batch): each statement runs well over five times.
    let lookups = || async {
        for _ in 0..10 {
            let found = worker.find_session_with_user(&a.token).await.unwrap();
            assert!(found.is_some());
            let together = [
                "no-such-token-1",
                b.token.as_str(),
                "no-such-token-2",
                &a.token,
            ];
            let found = futures_util::future::join_all(
                together.map(|token| worker.find_session_with_user(token)),
            )
            .await;
            let found: Vec<bool> = found.into_iter().map(|f| f.unwrap().is_some()).collect();
            assert_eq!(found, [false, true, false, true]);
        }
    };
    lookups().await;

    grow_sessions(&app._db.url, &a.email).await;
    lookups().await;

    let read = session_rows_read_by_sequential_scans(&app._db.url).await;
    assert!(
        read < GROWN,
        "the lookups scanned the grown session table ({read} rows read by sequential scans)"
    );
}

/// PostgreSQL: statements on the store's sqlx pool keep a plan that reads the index, so one
/// first planned on a nearly empty table does not go on scanning it whole once it has grown.
/// The statement is the batched lookup's shape, whose plan kept from a 2-row table is otherwise
/// a sequential scan (a single-token lookup's is not, here).
#[tokio::test]
async fn postgres_pool_queries_are_planned_for_the_grown_table() {
    let Some(app) = spawn_app(Backend::Postgres).await else {
        return;
    };
    let (a, b) = (sign_up(&app).await, sign_up(&app).await);
    // One connection of the pool (a transaction holds it) runs the statement before and after
    // the table grows.
    let tx = app.state.store.connection().begin().await.unwrap();
    let lookups = || async {
        for _ in 0..10 {
            let rows = tx
                .query_all(Statement::from_sql_and_values(
                    DbBackend::Postgres,
                    r#"SELECT "user".email, "session".id FROM "user"
                       INNER JOIN "session" ON "session"."userId" = "user".id
                       WHERE "session".token IN ($1, $2, $3)"#,
                    [
                        "no-such-token-1".into(),
                        b.token.as_str().into(),
                        "no-such-token-2".into(),
                    ],
                ))
                .await
                .unwrap();
            assert_eq!(rows.len(), 1);
        }
    };
    lookups().await;
    grow_sessions(&app._db.url, &a.email).await;
    lookups().await;
    tx.commit().await.unwrap();

    let read = session_rows_read_by_sequential_scans(&app._db.url).await;
    assert!(
        read < GROWN,
        "the pool's query scanned the grown session table ({read} rows read by sequential scans)"
    );
}

/// How many sessions `grow_sessions` adds.
const GROWN: i64 = 20_000;

/// Adds `GROWN` sessions of the user with `email`, from a connection of its own.
async fn grow_sessions(url: &str, email: &str) {
    let admin = Database::connect(url).await.unwrap();
    run(
        &admin,
        &format!(
            r#"INSERT INTO "session" (id, "expiresAt", token, "createdAt", "updatedAt", "userId")
               SELECT 'grown-' || i, now() + interval '1 day', 'grown-token-' || i, now(), now(), u.id
               FROM generate_series(1, {GROWN}) AS i, (SELECT id FROM "user" WHERE email = '{email}') AS u"#
        ),
    )
    .await;
    let _ = admin.close().await;
}

/// How many rows of `session` sequential scans have read, once every server process but the
/// asking one has ended: a server process reports what it read when it ends, at the latest.
async fn session_rows_read_by_sequential_scans(url: &str) -> i64 {
    end_server_sessions(Backend::Postgres, url).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let admin = Database::connect(url).await.unwrap();
    let read = admin
        .query_one(Statement::from_string(
            admin.get_database_backend(),
            "SELECT seq_tup_read FROM pg_stat_user_tables WHERE relname = 'session'",
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get::<i64>("", "seq_tup_read")
        .unwrap();
    let _ = admin.close().await;
    read
}
