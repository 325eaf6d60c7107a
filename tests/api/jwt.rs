//! The JWT plugin over HTTP (docs/compatibility.md §11): HS256 mode, `/api/validate-session`, key
//! rotation (by interval and by `better-auth-rs jwks rotate`), replicas sharing one key, and
//! secret rotation.

use crate::process::free_port;
use std::process::{Child, Command};
use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use better_auth_rs::auth::cookie_cache::hs256_decode;
use better_auth_rs::auth::crypto::b64url_decode;
use better_auth_rs::auth::jwt::{verify, Alg, Expected, JwtError, VerifyingKey};
use better_auth_rs::startup::Application;
use better_auth_rs::store::{JwkRow, JwksChange, Store};
use chrono::Duration;
use sea_orm::{ConnectionTrait, Statement};
use secrecy::SecretString;
use serde_json::{json, Map, Value};

use crate::helpers::*;

const ISSUER: &str = "http://localhost:3001";

fn segment(token: &str, i: usize) -> Value {
    let part = token.split('.').nth(i).expect("token segment");
    serde_json::from_slice(&b64url_decode(part).expect("base64url")).expect("json")
}

/// Verifies a token as a third party would: with the keys a `/jwks` body lists.
fn verify_with_jwks(jwks: &Value, token: &str) -> Result<Map<String, Value>, JwtError> {
    let keys: Vec<VerifyingKey> = jwks["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .map(|k| {
            let alg = Alg::parse(k["alg"].as_str().unwrap()).unwrap();
            VerifyingKey::from_public_jwk(alg, k["kid"].as_str().unwrap(), k.as_object().unwrap())
                .unwrap()
        })
        .collect();
    verify(
        token,
        &keys,
        Expected {
            issuer: ISSUER,
            audience: ISSUER,
            now: chrono::Utc::now().timestamp(),
        },
    )
}

fn kids(jwks: &Value) -> Vec<String> {
    jwks["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect()
}

async fn json_of(res: reqwest::Response) -> Value {
    assert_eq!(res.status(), 200);
    res.json().await.expect("json")
}

async fn fetch_jwks(address: &str) -> Value {
    json_of(
        reqwest::get(format!("{address}/api/auth/jwks"))
            .await
            .expect("request"),
    )
    .await
}

async fn token(app: &TestApp) -> String {
    let body = json_of(app.get("/token").await).await;
    body["token"].as_str().expect("token").to_owned()
}

async fn jwks_rows(app: &TestApp) -> Vec<JwkRow> {
    app.state.store.list_jwks().await.unwrap()
}

const JWT_ON: &str = "[plugins.jwt]\nenabled = true\n";

// --- HS256 ---------------------------------------------------------------------------------

const JWT_SECRET: &str = "python-backend-shared-secret-0123456789";

#[apply(backends)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hs256_tokens_are_signed_with_the_shared_secret_and_no_key_is_published(
    #[case] backend: Backend,
) {
    let toml = "[plugins.jwt]\nenabled = true\nalg = \"HS256\"\nissuer = \"https://auth.example.com\"\naudience = \"notes-api\"\n";
    let Some(app) = spawn_app_with(backend, toml, &[("BETTER_AUTH_JWT_SECRET", JWT_SECRET)]).await
    else {
        return;
    };
    assert_eq!(app.sign_up(&unique_email()).await.status(), 200);
    let session = app.get_session().await;
    let user = &session["user"];

    let token = token(&app).await;
    assert_eq!(segment(&token, 0), json!({ "alg": "HS256" }));
    let claims = hs256_decode(JWT_SECRET.as_bytes(), &token).expect("verifies with jwt_secret");
    let mut names: Vec<&str> = claims.keys().map(String::as_str).collect();
    names.sort_unstable();
    assert_eq!(names, ["aud", "email", "exp", "iat", "iss", "name", "sub"]);
    assert_eq!(claims["sub"], user["id"]);
    assert_eq!(claims["email"], user["email"]);
    assert_eq!(claims["name"], "Test User");
    assert_eq!(claims["iss"], "https://auth.example.com");
    assert_eq!(claims["aud"], "notes-api");
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        900
    );
    assert!(
        hs256_decode(SECRET.as_bytes(), &token).is_none(),
        "not the app secret"
    );

    let res = app.get("/get-session").await;
    let header = res.headers()["set-auth-jwt"].to_str().unwrap().to_owned();
    assert!(hs256_decode(JWT_SECRET.as_bytes(), &header).is_some());

    assert_eq!(fetch_jwks(&app.address).await, json!({ "keys": [] }));
    assert!(jwks_rows(&app).await.is_empty(), "no key pair is stored");
}

// --- /api/validate-session -----------------------------------------------------------------

#[apply(backends)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validate_session_answers_for_a_cookie_or_a_bearer_token_and_401_otherwise(
    #[case] backend: Backend,
) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let res = app.sign_up(&unique_email()).await;
    let signed = res.headers()["set-auth-token"].to_str().unwrap().to_owned();
    let bare = json_of(res).await["token"].as_str().unwrap().to_owned();
    let url = format!("{}/api/validate-session", app.address);

    // The browser's cookie, forwarded.
    let res = app.client.get(&url).send().await.unwrap();
    assert!(set_cookies(&res).is_empty(), "no cookie side effects");
    let validated = json_of(res).await;
    assert_eq!(validated, app.get_session().await, "get-session's shapes");

    // Authorization: Bearer, signed or bare, with no cookie at all.
    for bearer in [&signed, &bare] {
        let res = app
            .anonymous()
            .get(&url)
            .bearer_auth(bearer)
            .send()
            .await
            .unwrap();
        assert_eq!(json_of(res).await["user"], validated["user"]);
    }

    let none = app.anonymous().get(&url).send().await.unwrap();
    let forged = app
        .anonymous()
        .get(&url)
        .bearer_auth(format!("{bare}x"))
        .send()
        .await
        .unwrap();
    for res in [none, forged] {
        let (status, code, message) = error_code(res).await;
        assert_eq!((status, code.as_str()), (401, "UNAUTHORIZED"));
        assert!(!message.is_empty());
    }

    assert_eq!(app.post("/sign-out", &json!({})).await.status(), 200);
    let res = app
        .anonymous()
        .get(&url)
        .bearer_auth(&signed)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401, "a signed-out session is gone");
}

// --- rotation ------------------------------------------------------------------------------

#[apply(backends)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_old_token_verifies_against_jwks_during_the_grace_period_and_not_after(
    #[case] backend: Backend,
) {
    // Tokens outlive the rotation interval here, so only the key decides.
    let toml = "[plugins.jwt]\nenabled = true\nrotation_interval = 3600\ngrace_period = 600\nexpiration_time = 86400\n";
    let Some(app) = spawn_app_with(backend, toml, &[]).await else {
        return;
    };
    assert_eq!(app.sign_up(&unique_email()).await.status(), 200);
    let old = token(&app).await;
    let old_kid = segment(&old, 0)["kid"].as_str().unwrap().to_owned();
    assert_eq!(kids(&fetch_jwks(&app.address).await), [old_kid.as_str()]);

    app.state.clock.advance(Duration::seconds(3600));
    let new = token(&app).await;
    let new_kid = segment(&new, 0)["kid"].as_str().unwrap().to_owned();
    assert_ne!(new_kid, old_kid, "the expired key was replaced");
    let jwks = fetch_jwks(&app.address).await;
    assert_eq!(kids(&jwks), [old_kid.clone(), new_kid.clone()]);
    verify_with_jwks(&jwks, &old).expect("old token verifies during the grace period");
    verify_with_jwks(&jwks, &new).expect("new token verifies");
    assert_eq!(jwks_rows(&app).await.len(), 2);

    app.state.clock.advance(Duration::seconds(600));
    let jwks = fetch_jwks(&app.address).await;
    assert_eq!(
        kids(&jwks),
        [new_kid],
        "the old key is gone after the grace period"
    );
    assert_eq!(verify_with_jwks(&jwks, &old), Err(JwtError::UnknownKey));
    verify_with_jwks(&jwks, &new).unwrap();
}

#[apply(backends)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jwks_rotate_creates_a_key_that_the_running_service_picks_up(#[case] backend: Backend) {
    let toml = "[plugins.jwt]\nenabled = true\ngrace_period = 600\nkey_refresh_interval = 30\n";
    let Some(app) = spawn_app_with(backend, toml, &[]).await else {
        return;
    };
    assert_eq!(app.sign_up(&unique_email()).await.status(), 200);
    let old = token(&app).await;
    let old_kid = segment(&old, 0)["kid"].as_str().unwrap().to_owned();

    let out = binary(&app._db, toml, &[])
        .args(["jwks", "rotate"])
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let new_kid = stdout.trim().to_owned();
    assert!(
        new_kid.len() == 32 && new_kid.chars().all(|c| c.is_ascii_alphanumeric()),
        "prints the kid alone, no key material: {stdout:?}"
    );
    let rows = jwks_rows(&app).await;
    assert_eq!(rows.len(), 2);
    let old_row = rows.iter().find(|r| r.id == old_kid).unwrap();
    assert!(old_row.expires_at.is_some(), "the previous key expires now");

    // Within the refresh interval the service still answers from memory...
    assert_eq!(kids(&fetch_jwks(&app.address).await), [old_kid.as_str()]);
    // ...then reads the table again: signing switches in the background (never waiting for the
    // database), so the first tokens may still carry the old kid.
    app.state.clock.advance(Duration::seconds(30));
    let mut new = token(&app).await;
    for _ in 0..100 {
        if segment(&new, 0)["kid"] == new_kid.as_str() {
            break;
        }
        tokio::time::sleep(StdDuration::from_millis(20)).await;
        new = token(&app).await;
    }
    assert_eq!(
        segment(&new, 0)["kid"],
        new_kid.as_str(),
        "signs with the new key"
    );
    let jwks = fetch_jwks(&app.address).await;
    assert_eq!(kids(&jwks), [old_kid.clone(), new_kid.clone()]);
    verify_with_jwks(&jwks, &old).expect("old token verifies during the grace period");
    verify_with_jwks(&jwks, &new).unwrap();

    app.state.clock.advance(Duration::seconds(600));
    assert_eq!(kids(&fetch_jwks(&app.address).await), [new_kid]);
}

// --- replicas ------------------------------------------------------------------------------

/// A child process killed when dropped.
struct Replica {
    child: Child,
    address: String,
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_replica(cmd: &mut Command) -> Replica {
    let port = free_port();
    let child = cmd
        .arg("serve")
        .env("PORT", port.to_string())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    Replica {
        child,
        address: format!("http://127.0.0.1:{port}"),
    }
}

async fn wait_until_ready(replica: &mut Replica) {
    let deadline = Instant::now() + StdDuration::from_secs(30);
    while Instant::now() < deadline {
        assert!(
            replica.child.try_wait().unwrap().is_none(),
            "replica exited early"
        );
        if let Ok(res) = reqwest::get(format!("{}/api/auth/ok", replica.address)).await {
            if res.status() == 200 {
                return;
            }
        }
        tokio::time::sleep(StdDuration::from_millis(100)).await;
    }
    panic!("replica not ready after 30 s");
}

#[apply(backends)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_starting_together_on_an_empty_database_sign_with_one_key(
    #[case] backend: Backend,
) {
    let Some(db) = create_database(backend).await else {
        return;
    };
    // PostgreSQL and MariaDB: an empty database, so the migrations are raced too (one instance
    // migrates under a database lock). SQLite replicas are unusual: the schema exists there.
    let mut store = Store::connect(&SecretString::from(db.url.clone()), Arc::default())
        .await
        .unwrap();
    if backend == Backend::Sqlite {
        store
            .migrate(&[better_auth_rs::plugins::jwt::JWKS])
            .await
            .unwrap();
    }
    // RSA keys take a while to generate: without the lock both would store their own.
    let toml = "danger_password_hashing = \"danger_test_minimum\"\n[plugins.jwt]\nenabled = true\nalg = \"RS256\"\n";
    let mut replicas: Vec<Replica> = (0..2)
        .map(|_| binary(&db, toml, &[]))
        .collect::<Vec<_>>()
        .iter_mut()
        .map(start_replica)
        .collect();
    for r in &mut replicas {
        wait_until_ready(r).await;
    }
    let rows = store.list_jwks().await.unwrap();
    assert_eq!(rows.len(), 1, "exactly one key for both replicas");
    let migrations = store
        .connection()
        .query_one(Statement::from_string(
            store.connection().get_database_backend(),
            "SELECT COUNT(*) AS n FROM seaql_migrations",
        ))
        .await
        .unwrap()
        .unwrap();
    let applied = migrations
        .try_get::<i64>("", "n")
        .unwrap_or_else(|_| i64::from(migrations.try_get::<i32>("", "n").unwrap()));
    assert!(applied > 0, "each migration recorded once");
    let first = fetch_jwks(&replicas[0].address).await;
    assert_eq!(kids(&first), [rows[0].id.clone()]);
    assert_eq!(fetch_jwks(&replicas[1].address).await, first);
    store.close().await.unwrap();
}

/// The database lock itself: two pools (two processes, in effect) each read the table, take
/// their time deciding, and insert only into an empty table. Without the lock both would read
/// it empty.
#[apply(backends)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writers_of_the_jwks_table_take_turns_across_connection_pools(#[case] backend: Backend) {
    let Some(db) = create_database(backend).await else {
        return;
    };
    let url = SecretString::from(db.url.clone());
    let mut first = Store::connect(&url, Arc::default()).await.unwrap();
    first
        .migrate(&[better_auth_rs::plugins::jwt::JWKS])
        .await
        .unwrap();
    let second = Store::connect(&url, Arc::default()).await.unwrap();
    let attempt = |store: Store, id: &'static str| {
        tokio::spawn(async move {
            let row = JwkRow {
                id: id.into(),
                public_key: "{}".into(),
                private_key: "{}".into(),
                created_at: chrono::Utc::now(),
                expires_at: None,
                alg: Some("EdDSA".into()),
                crv: Some("Ed25519".into()),
            };
            store
                .change_jwks_exclusively(|rows| {
                    std::thread::sleep(StdDuration::from_millis(300));
                    rows.is_empty().then(|| JwksChange {
                        insert: Some(row),
                        ..JwksChange::default()
                    })
                })
                .await
                .unwrap()
        })
    };
    let (a, b) = tokio::join!(attempt(first.clone(), "a"), attempt(second, "b"));
    let written = [a.unwrap(), b.unwrap()];
    assert_eq!(written.iter().filter(|w| **w).count(), 1, "{written:?}");
    assert_eq!(first.list_jwks().await.unwrap().len(), 1);
}

// --- secret rotation -----------------------------------------------------------------------

const SECRET_B: &str = "second-secret-abcdefghijklmnopqrstuvwxyz0123";

#[apply(backends)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secret_rotation_keeps_tokens_and_keys_and_a_foreign_secret_refuses_to_start(
    #[case] backend: Backend,
) {
    let Some(app) = spawn_app_with(backend, JWT_ON, &[]).await else {
        return;
    };
    let res = app.sign_up(&unique_email()).await;
    let bare = json_of(res).await["token"].as_str().unwrap().to_owned();
    let old_token = token(&app).await;
    let rows = jwks_rows(&app).await;
    assert_eq!(rows.len(), 1);
    assert!(rows[0].private_key.starts_with("\"$ba-rs$aes256gcm$0$"));
    let cookie_client = app.client.clone();

    // Secret B is current, A is still listed.
    let rotated = format!("2:{SECRET_B},1:{SECRET}");
    let app = start(
        app._db,
        JWT_ON,
        &[("BETTER_AUTH_SECRETS", rotated.as_str())],
    )
    .await;
    let rows = jwks_rows(&app).await;
    assert_eq!(rows.len(), 1, "no new key");
    assert!(
        rows[0].private_key.starts_with("\"$ba-rs$aes256gcm$2$"),
        "re-sealed with version 2"
    );
    verify_with_jwks(&fetch_jwks(&app.address).await, &old_token)
        .expect("the old JWT still verifies");
    // Cookie signatures use the current secret only (docs/compatibility.md §6.3, §15.1): the
    // cookie signed with A no longer counts, the session itself does (bearer, signed with B).
    let res = cookie_client
        .get(app.url("/get-session"))
        .send()
        .await
        .unwrap();
    assert_eq!(json_of(res).await, Value::Null);
    let res = app
        .anonymous()
        .get(app.url("/get-session"))
        .bearer_auth(&bare)
        .send()
        .await
        .unwrap();
    assert!(json_of(res).await["user"]["id"].is_string());

    // B alone, after the re-sealing.
    let app = start(app._db, JWT_ON, &[("BETTER_AUTH_SECRET", SECRET_B)]).await;
    let jwks = fetch_jwks(&app.address).await;
    verify_with_jwks(&jwks, &old_token).unwrap();
    let res = app
        .anonymous()
        .get(app.url("/token"))
        .bearer_auth(&bare)
        .send()
        .await
        .unwrap();
    let fresh = json_of(res).await["token"].as_str().unwrap().to_owned();
    verify_with_jwks(&jwks, &fresh).expect("signs with the re-sealed key");
    assert_eq!(jwks_rows(&app).await.len(), 1);

    // Another database whose keys only A opens, started with B alone: refused, untouched.
    let Some(other) = spawn_app_with(backend, JWT_ON, &[]).await else {
        return;
    };
    let before = jwks_rows(&other).await;
    let err = Application::build(settings(
        &other._db,
        JWT_ON,
        &[("BETTER_AUTH_SECRET", SECRET_B)],
    ))
    .await
    .err()
    .map(|e| format!("{e:#}"))
    .expect("refuses to start");
    assert!(
        err.contains("cannot be decrypted with the configured secret"),
        "{err}"
    );
    assert!(
        err.contains("BETTER_AUTH_SECRETS") && err.contains("Nothing was changed"),
        "{err}"
    );
    assert!(!err.contains(SECRET) && !err.contains(SECRET_B));
    assert_eq!(
        jwks_rows(&other).await,
        before,
        "the jwks table is unchanged"
    );
}
