//! Verification values in Redis (docs/compatibility.md §8.7, §10.3): with `REDIS_URL`
//! the reset-password and delete-account tokens live under `verification:<identifier>` only,
//! written as Better Auth 1.7.25 writes them, taken with GETDEL; with
//! `[verification] store_in_database = true` the `verification` table gets the row too.

use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Map, Value};

use crate::helpers::*;

const NEW_PASSWORD: &str = "a brand new passphrase";
const HOUR: i64 = 3600;
const DAY: i64 = 86_400;
const IN_DATABASE: &str = "[verification]\nstore_in_database = true\n";

/// An app with its mails in the outbox and its secondary storage in Redis under the test's
/// prefix; delete-account links on.
async fn spawn_redis_mail_app(backend: Backend, extra: &str) -> Option<(TestApp, RedisKeys)> {
    let keys = connect_redis().await?;
    let toml = format!(
        "[redis]\nkey_prefix = \"{}\"\n\
         [user.delete_user]\nenabled = true\nsend_delete_account_verification = true\n{extra}",
        keys.prefix
    );
    let app = spawn_mail_app_with(backend, &toml, &[("REDIS_URL", &test_redis_url())]).await?;
    Some((app, keys))
}

/// Signs up with the app's client; returns the email and the user id.
async fn signed_up(app: &TestApp) -> (String, String) {
    let email = unique_email();
    let body: Value = app.sign_up(&email).await.json().await.unwrap();
    (email, body["user"]["id"].as_str().unwrap().to_owned())
}

/// A reset link asked for on a fresh app: the user, the mailed token and its Redis key.
struct Reset {
    app: TestApp,
    keys: RedisKeys,
    email: String,
    user_id: String,
    token: String,
    key: String,
}

async fn reset_requested(backend: Backend, extra: &str) -> Option<Reset> {
    let (app, keys) = spawn_redis_mail_app(backend, extra).await?;
    let (email, mail) = requested_reset(&app).await;
    let text = |k: &str| mail[k].as_str().unwrap().to_owned();
    let token = text("token");
    Some(Reset {
        key: format!("verification:reset-password:{token}"),
        user_id: text("userId"),
        app,
        keys,
        email,
        token,
    })
}

async fn assert_signs_in_with_the_new_password(app: &TestApp, email: &str) {
    let res = app
        .anonymous()
        .post(app.url("/sign-in/email"))
        .json(&json!({"email": email, "password": NEW_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

async fn reset(app: &TestApp, token: &str) -> reqwest::Response {
    app.post(
        "/reset-password",
        &json!({"newPassword": NEW_PASSWORD, "token": token}),
    )
    .await
}

/// The stored JSON object, its members in the order they were written.
async fn stored(keys: &mut RedisKeys, key: &str) -> Map<String, Value> {
    let raw = keys.get(key).await.unwrap_or_else(|| panic!("no {key}"));
    serde_json::from_str(&raw).unwrap()
}

fn date(v: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(v.as_str().unwrap())
        .unwrap()
        .with_timezone(&Utc)
}

fn member_names(m: &Map<String, Value>) -> Vec<&str> {
    m.keys().map(String::as_str).collect()
}

async fn verification_ids(app: &TestApp) -> Vec<String> {
    use sea_orm::{ConnectionTrait, Statement};
    let db = app.state.store.connection();
    db.query_all(Statement::from_string(
        db.get_database_backend(),
        "SELECT id FROM verification",
    ))
    .await
    .unwrap()
    .iter()
    .map(|r| r.try_get::<String>("", "id").unwrap())
    .collect()
}

#[apply(backends)]
#[tokio::test]
async fn a_password_reset_keeps_its_token_in_redis_only(#[case] backend: Backend) {
    let Some(Reset {
        app,
        mut keys,
        email,
        user_id,
        token,
        key,
    }) = reset_requested(backend, "").await
    else {
        return;
    };
    // Better Auth's `{createdAt, updatedAt, ...data}`: no id when kept in Redis only.
    let v = stored(&mut keys, &key).await;
    assert_eq!(
        member_names(&v),
        ["createdAt", "updatedAt", "value", "identifier", "expiresAt"]
    );
    assert_eq!(v["value"], user_id.as_str());
    assert_eq!(v["identifier"], format!("reset-password:{token}"));
    assert_eq!(v["createdAt"], v["updatedAt"]);
    let lifetime = date(&v["expiresAt"]) - date(&v["createdAt"]);
    assert_eq!(lifetime, Duration::seconds(HOUR));
    let ttl = keys.ttl(&key).await;
    assert!(
        (HOUR - 10..=HOUR).contains(&ttl),
        "whole seconds left: {ttl}"
    );
    assert_eq!(
        keys.scan("verification:*").await,
        std::slice::from_ref(&key)
    );
    assert_eq!(count_rows(&app, "verification").await, 0);

    let res = app
        .get(&format!("/reset-password/{token}?callbackURL=%2Freset"))
        .await;
    assert_eq!(
        res.headers()["location"],
        format!("http://localhost:3001/reset?token={token}")
    );
    assert_eq!(reset(&app, &token).await.status(), 200);
    assert_eq!(keys.get(&key).await, None, "spent");
    assert_signs_in_with_the_new_password(&app, &email).await;
    assert_eq!(
        error_code(reset(&app, &token).await).await,
        (400, "INVALID_TOKEN".into(), "Invalid token".into())
    );
    assert_eq!(count_rows(&app, "verification").await, 0);
}

#[apply(backends)]
#[tokio::test]
async fn with_store_in_database_the_table_gets_the_row_too(#[case] backend: Backend) {
    let Some(r) = reset_requested(backend, IN_DATABASE).await else {
        return;
    };
    let (app, mut keys) = (r.app, r.keys);
    let (user_id, token, key) = (r.user_id, r.token, r.key);
    // The row as Better Auth's adapter returns it: schema order, id last.
    let v = stored(&mut keys, &key).await;
    assert_eq!(
        member_names(&v),
        [
            "identifier",
            "value",
            "expiresAt",
            "createdAt",
            "updatedAt",
            "id"
        ]
    );
    assert_eq!(v["value"], user_id.as_str());
    assert_eq!(verification_ids(&app).await, [v["id"].as_str().unwrap()]);

    assert_eq!(reset(&app, &token).await.status(), 200);
    assert_eq!(keys.get(&key).await, None);
    assert_eq!(count_rows(&app, "verification").await, 0);

    // A Redis miss falls back to the table.
    let (_, mail) = requested_reset(&app).await;
    let token = mail["token"].as_str().unwrap();
    keys.del(&format!("verification:reset-password:{token}"))
        .await;
    assert_eq!(reset(&app, token).await.status(), 200);
    assert_eq!(count_rows(&app, "verification").await, 0);
    assert_eq!(
        error_code(reset(&app, token).await).await.1,
        "INVALID_TOKEN"
    );
}

#[apply(backends)]
#[tokio::test]
async fn an_email_verification_works_and_needs_no_verification_value(#[case] backend: Backend) {
    let Some((app, mut keys)) = spawn_redis_mail_app(backend, "").await else {
        return;
    };
    let (email, _) = signed_up(&app).await;
    let res = app
        .post("/send-verification-email", &json!({"email": email}))
        .await;
    assert_eq!(res.status(), 200);
    // Better Auth's verification tokens are signed JWTs: nothing is stored for them.
    let token = app.last_mail("verify-email", &email)["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = app.get(&format!("/verify-email?token={token}")).await;
    assert_eq!(res.status(), 200);
    let user = app.user_by_email(&email).await.unwrap();
    assert!(user.email_verified);
    assert_eq!(app.get_session().await["user"]["emailVerified"], true);
    assert!(keys.scan("verification:*").await.is_empty());
    assert_eq!(count_rows(&app, "verification").await, 0);
}

#[apply(backends)]
#[tokio::test]
async fn a_delete_account_token_lives_in_redis_and_the_callback_spends_it(
    #[case] backend: Backend,
) {
    let Some((app, mut keys)) = spawn_redis_mail_app(backend, "").await else {
        return;
    };
    let (_, user_id) = signed_up(&app).await;
    let res = app
        .post("/delete-user", &json!({"callbackURL": "/bye"}))
        .await;
    assert_eq!(res.status(), 200);
    let token = app.mails().pop().unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let key = format!("verification:delete-account-{token}");
    assert_eq!(stored(&mut keys, &key).await["value"], user_id.as_str());
    let ttl = keys.ttl(&key).await;
    assert!((DAY - 10..=DAY).contains(&ttl), "{ttl}");
    assert_eq!(count_rows(&app, "verification").await, 0);

    let res = app
        .get(&format!(
            "/delete-user/callback?token={token}&callbackURL=%2Fbye"
        ))
        .await;
    assert_eq!(res.status(), 302);
    assert!(app.user_by_id(&user_id).await.is_none());
    assert_eq!(keys.get(&key).await, None);
}

/// Eight resets with one token at once: one changes the password, seven get INVALID_TOKEN;
/// then eight store-level consumes of one value: one gets it.
async fn concurrent_consumers_of_one_token(backend: Backend, extra: &str) {
    let Some(r) = reset_requested(backend, extra).await else {
        return;
    };
    let (app, mut keys, token) = (r.app, r.keys, r.token);
    let statuses = resets_at_once(&app, &token).await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 400).count(),
        7,
        "{statuses:?}"
    );

    let store = &app.state.store;
    let now = app.state.clock.now();
    store
        .create_verification("race:one", "v", now + Duration::seconds(60), now)
        .await
        .unwrap();
    let takes = (0..8).map(|_| store.consume_verification("race:one", now));
    let won = futures_util::future::join_all(takes)
        .await
        .into_iter()
        .map(Result::unwrap)
        .filter(Option::is_some)
        .count();
    assert_eq!(won, 1);
    assert_eq!(keys.get("verification:race:one").await, None);
    assert_eq!(count_rows(&app, "verification").await, 0);
}

async fn resets_at_once(app: &TestApp, token: &str) -> Vec<u16> {
    let resets = (0..8).map(|_| async {
        app.anonymous()
            .post(app.url("/reset-password"))
            .header("origin", ORIGIN)
            .json(&json!({"newPassword": NEW_PASSWORD, "token": token}))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    });
    futures_util::future::join_all(resets).await
}

#[apply(backends)]
#[tokio::test]
async fn of_concurrent_consumers_exactly_one_wins(#[case] backend: Backend) {
    concurrent_consumers_of_one_token(backend, "").await;
}

#[apply(backends)]
#[tokio::test]
async fn of_concurrent_consumers_exactly_one_wins_with_the_table(#[case] backend: Backend) {
    concurrent_consumers_of_one_token(backend, IN_DATABASE).await;
}

#[apply(backends)]
#[tokio::test]
async fn an_expired_token_is_refused_though_redis_still_holds_it(#[case] backend: Backend) {
    let Some(r) = reset_requested(backend, "").await else {
        return;
    };
    let (app, mut keys) = (r.app, r.keys);
    let (user_id, token, key) = (r.user_id, r.token, r.key);
    app.advance(HOUR + 1);
    assert!(
        keys.get(&key).await.is_some(),
        "Redis expires it in real time"
    );
    let res = app
        .get(&format!("/reset-password/{token}?callbackURL=%2Freset"))
        .await;
    assert_eq!(
        res.headers()["location"],
        "http://localhost:3001/reset?error=INVALID_TOKEN"
    );
    assert_eq!(
        error_code(reset(&app, &token).await).await,
        (400, "INVALID_TOKEN".into(), "Invalid token".into())
    );

    // Consumed when expired: refused, and burnt all the same.
    app.post("/delete-user", &json!({})).await;
    let token = app.mails().pop().unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    app.advance(DAY + 1);
    let res = app.post("/delete-user", &json!({"token": token})).await;
    assert_eq!(error_code(res).await.1, "INVALID_TOKEN");
    assert_eq!(
        keys.get(&format!("verification:delete-account-{token}"))
            .await,
        None
    );
    assert!(app.user_by_id(&user_id).await.is_some());
}

#[apply(backends)]
#[tokio::test]
async fn a_token_better_auth_wrote_resets_and_an_unreadable_one_is_refused(
    #[case] backend: Backend,
) {
    let Some((app, mut keys)) = spawn_redis_mail_app(backend, "").await else {
        return;
    };
    let (email, user_id) = signed_up(&app).await;
    let now = Utc::now();
    let iso = |d: DateTime<Utc>| d.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    // What Better Auth 1.7.25 writes for a reset (no id), byte for byte.
    let token = "Zq3mRw7TnB2kLp9XcV4hYs8d";
    let written = format!(
        r#"{{"createdAt":"{now}","updatedAt":"{now}","value":"{user_id}","identifier":"reset-password:{token}","expiresAt":"{exp}"}}"#,
        now = iso(now),
        exp = iso(now + Duration::seconds(HOUR)),
    );
    let key = format!("verification:reset-password:{token}");
    keys.set(&key, &written, 3599).await;
    assert_eq!(reset(&app, token).await.status(), 200);
    assert_eq!(keys.get(&key).await, None);
    assert_signs_in_with_the_new_password(&app, &email).await;

    for garbage in [
        "not json",
        "{\"value\":1}",
        "{\"value\":\"x\",\"expiresAt\":\"soon\"}",
    ] {
        keys.set(&key, garbage, 60).await;
        let (status, code, _) = error_code(reset(&app, token).await).await;
        assert_eq!((status, code.as_str()), (400, "INVALID_TOKEN"), "{garbage}");
    }
}
