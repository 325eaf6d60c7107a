//! The API key plugin (`[plugins.api_key]`) on every backend: keys created (shown once, stored
//! as Better Auth hashes them), read, listed, updated and deleted by their owner only;
//! server-only fields refused to clients; verification with uses, refills, expiry, disabled
//! keys, permissions and the per-key rate limit; and `x-api-key` standing for a session.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::helpers::*;

const SERVER_TOKEN: &str = "server-token-0123456789abcdefghijklmnop";

fn toml() -> String {
    format!(
        "[plugins.api_key]\nenabled = true\nenable_session_for_api_keys = true\n\
         enable_metadata = true\nserver_token = \"{SERVER_TOKEN}\"\n"
    )
}

/// The app and a signed-up user's id (the app's own client holds the session).
async fn setup(backend: Backend) -> Option<(TestApp, String)> {
    let app = spawn_app_with(backend, &toml(), &[]).await?;
    let res = app.sign_up(&unique_email()).await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    let id = body["user"]["id"].as_str().unwrap().to_owned();
    Some((app, id))
}

/// A request as a backend holding the server token makes it.
async fn server(app: &TestApp, path: &str, body: &Value) -> reqwest::Response {
    let res = app
        .anonymous()
        .post(app.url(path))
        .header("x-server-token", SERVER_TOKEN)
        .json(body)
        .send()
        .await
        .unwrap();
    remember_exchange(Some(body), res).await
}

async fn verify(app: &TestApp, key: &str) -> Value {
    let res = server(app, "/api-key/verify", &json!({ "key": key })).await;
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

async fn create_for(app: &TestApp, user_id: &str, extra: Value) -> (String, String) {
    let mut body = json!({ "userId": user_id });
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    let res = server(app, "/api-key/create", &body).await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    (
        body["id"].as_str().unwrap().to_owned(),
        body["key"].as_str().unwrap().to_owned(),
    )
}

/// The stored `key` column of a key, `None` once the row is gone.
async fn stored_hash(app: &TestApp, id: &str) -> Option<String> {
    let db = app.state.store.connection();
    let q = match db.get_database_backend() {
        sea_orm::DatabaseBackend::MySql => {
            format!("SELECT `key` AS k FROM apikey WHERE id = '{id}'")
        }
        _ => format!("SELECT \"key\" AS k FROM apikey WHERE id = '{id}'"),
    };
    let row = db
        .query_one(Statement::from_string(db.get_database_backend(), q))
        .await
        .unwrap()?;
    Some(row.try_get::<String>("", "k").unwrap())
}

/// Another key of the same length and prefix: the last letter changed.
fn guess(key: &str) -> String {
    let last = if key.ends_with('A') { 'B' } else { 'A' };
    format!("{}{last}", &key[..key.len() - 1])
}

fn sha256_b64url(key: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(key.as_bytes()))
}

#[apply(backends)]
#[tokio::test]
async fn keys_are_shown_once_and_only_their_owner_reads_changes_or_deletes_them(
    #[case] backend: Backend,
) {
    let Some((app, user_id)) = setup(backend).await else {
        return;
    };
    let res = app
        .post(
            "/api-key/create",
            &json!({"name": "ci", "prefix": "pk_", "expiresIn": 172_800, "metadata": {"team": "a"}}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let created: Value = res.json().await.unwrap();
    let key = created["key"].as_str().unwrap();
    let id = created["id"].as_str().unwrap();
    assert!(key.starts_with("pk_") && key.len() == 67, "{key}");
    assert!(key[3..].bytes().all(|b| b.is_ascii_alphabetic()));
    assert_eq!(created["start"], &key[..6]);
    assert_eq!(created["prefix"], "pk_");
    assert_eq!(created["name"], "ci");
    assert_eq!(created["referenceId"], user_id);
    assert_eq!(created["configId"], "default");
    assert_eq!(created["enabled"], true);
    assert_eq!(created["rateLimitEnabled"], true);
    assert_eq!(created["rateLimitMax"], 10);
    assert_eq!(created["rateLimitTimeWindow"], 86_400_000);
    assert_eq!(created["requestCount"], 0);
    assert_eq!(created["remaining"], Value::Null);
    assert_eq!(created["permissions"], Value::Null);
    assert_eq!(created["metadata"], json!({"team": "a"}));
    let expires =
        chrono::DateTime::parse_from_rfc3339(created["expiresAt"].as_str().unwrap()).unwrap();
    let created_at =
        chrono::DateTime::parse_from_rfc3339(created["createdAt"].as_str().unwrap()).unwrap();
    assert_eq!((expires - created_at).num_seconds(), 172_800);
    // Stored as Better Auth stores it: SHA-256, base64url without padding; never the key.
    assert_eq!(stored_hash(&app, id).await.unwrap(), sha256_b64url(key));

    let res = app.get(&format!("/api-key/get?id={id}")).await;
    assert_eq!(res.status(), 200);
    let got: Value = res.json().await.unwrap();
    assert_eq!(got["id"], id);
    assert!(got.get("key").is_none(), "the key is shown once");
    assert_eq!(got["metadata"], json!({"team": "a"}));

    let res = app.get("/api-key/list").await;
    let list: Value = res.json().await.unwrap();
    assert_eq!(list["total"], 1);
    assert_eq!(list["apiKeys"][0]["id"], id);
    assert!(list["apiKeys"][0].get("key").is_none());
    assert!(list.get("limit").is_none());
    let list: Value = app
        .get("/api-key/list?limit=0&offset=0")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["apiKeys"], json!([]));
    assert_eq!(
        (list["total"].clone(), list["limit"].clone()),
        (json!(1), json!(0))
    );

    let res = app
        .post(
            "/api-key/update",
            &json!({"keyId": id, "name": "renamed", "enabled": false}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let updated: Value = res.json().await.unwrap();
    assert_eq!(
        (updated["name"].clone(), updated["enabled"].clone()),
        (json!("renamed"), json!(false))
    );
    let res = app.post("/api-key/update", &json!({"keyId": id})).await;
    assert_eq!(
        error_code(res).await,
        (
            400,
            "NO_VALUES_TO_UPDATE".into(),
            "No values to update.".into()
        )
    );

    // Another user: the key does not exist for them.
    let other = app.browser();
    app.post_as(
        &other,
        "/sign-up/email",
        &json!({"email": unique_email(), "password": PASSWORD, "name": "Eve"}),
    )
    .await;
    let not_found = (
        404,
        "KEY_NOT_FOUND".to_owned(),
        "API Key not found".to_owned(),
    );
    let res = app.get_as(&other, &format!("/api-key/get?id={id}")).await;
    assert_eq!(error_code(res).await, not_found);
    let res = app
        .post_as(
            &other,
            "/api-key/update",
            &json!({"keyId": id, "name": "x"}),
        )
        .await;
    assert_eq!(error_code(res).await, not_found);
    let res = app
        .post_as(&other, "/api-key/delete", &json!({"keyId": id}))
        .await;
    assert_eq!(error_code(res).await, not_found);
    let list: Value = app
        .get_as(&other, "/api-key/list")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["total"], 0);
    let res = app
        .get_as(&app.anonymous(), &format!("/api-key/get?id={id}"))
        .await;
    assert_eq!(res.status(), 401);
    assert!(stored_hash(&app, id).await.is_some());

    let res = app.post("/api-key/delete", &json!({"keyId": id})).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap(), json!({"success": true}));
    assert!(stored_hash(&app, id).await.is_none());
    let res = app.get(&format!("/api-key/get?id={id}")).await;
    assert_eq!(res.status(), 404);
}

#[apply(backends)]
#[tokio::test]
async fn clients_may_not_set_server_only_fields_and_bad_input_is_a_4xx(#[case] backend: Backend) {
    let Some((app, user_id)) = setup(backend).await else {
        return;
    };
    for body in [
        json!({"remaining": 5}),
        json!({"refillAmount": 5, "refillInterval": 1000}),
        json!({"rateLimitMax": 100}),
        json!({"rateLimitEnabled": false}),
        json!({"permissions": {"files": ["read"]}}),
    ] {
        let res = app.post("/api-key/create", &body).await;
        assert_eq!(
            error_code(res).await,
            (
                400,
                "SERVER_ONLY_PROPERTY".into(),
                "The property you're trying to set can only be set from the server auth instance only.".into()
            ),
            "{body}"
        );
    }
    let res = app
        .post("/api-key/create", &json!({"userId": user_id}))
        .await;
    assert_eq!(error_code(res).await.0, 401);
    let res = app
        .post_as(&app.anonymous(), "/api-key/create", &json!({}))
        .await;
    assert_eq!(
        error_code(res).await,
        (
            401,
            "UNAUTHORIZED_SESSION".into(),
            "Unauthorized or invalid session".into()
        )
    );
    for (body, code) in [
        (json!({"expiresIn": 60}), "EXPIRES_IN_IS_TOO_SMALL"),
        (
            json!({"expiresIn": 400 * 86_400}),
            "EXPIRES_IN_IS_TOO_LARGE",
        ),
        (json!({"name": "x".repeat(33)}), "INVALID_NAME_LENGTH"),
        (json!({"prefix": "p".repeat(33)}), "INVALID_PREFIX_LENGTH"),
        (json!({"metadata": "text"}), "INVALID_METADATA_TYPE"),
        (json!({"prefix": "bad prefix"}), "VALIDATION_ERROR"),
        (json!({"name": 12}), "VALIDATION_ERROR"),
        (json!({"expiresIn": "soon"}), "VALIDATION_ERROR"),
        (json!({"expiresIn": 1e12}), "VALIDATION_ERROR"),
        (json!([1, 2]), "VALIDATION_ERROR"),
    ] {
        let res = app.post("/api-key/create", &body).await;
        assert_eq!(error_code(res).await.1, code, "{body}");
    }
    let res = app
        .post("/api-key/update", &json!({"keyId": "x", "refillAmount": 1}))
        .await;
    assert_eq!(error_code(res).await.1, "SERVER_ONLY_PROPERTY");
    for body in [
        json!({}),
        json!({"keyId": 1}),
        json!({"keyId": "x", "expiresIn": -1}),
    ] {
        let res = app.post("/api-key/update", &body).await;
        assert_eq!(error_code(res).await.0, 400, "{body}");
    }
    for path in [
        "/api-key/get",
        "/api-key/list?limit=-1",
        "/api-key/list?offset=x",
        "/api-key/list?sortBy=nope",
        "/api-key/list?sortDirection=up",
    ] {
        let res = app.get(path).await;
        assert_eq!(error_code(res).await.1, "VALIDATION_ERROR", "{path}");
    }
    // Not HTTP routes in Better Auth: only a backend with the server token reaches them.
    for path in ["/api-key/verify", "/api-key/delete-all-expired-api-keys"] {
        let res = app.post(path, &json!({"key": "x"})).await;
        assert_eq!(res.status(), 404, "{path}");
        let res = app
            .anonymous()
            .post(app.url(path))
            .header("x-server-token", "server-token-0123456789abcdefghijklmnoX")
            .json(&json!({"key": "x"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 404, "{path} with a wrong token");
    }
    let res = server(&app, "/api-key/verify", &json!({})).await;
    assert_eq!(error_code(res).await.1, "VALIDATION_ERROR");
    let res = server(&app, "/api-key/create", &json!({})).await;
    assert_eq!(error_code(res).await.1, "UNAUTHORIZED_SESSION");
    assert_eq!(count_rows(&app, "apikey").await, 0);
}

#[apply(backends)]
#[tokio::test]
async fn verify_counts_uses_refills_and_refuses_guessed_exhausted_disabled_and_expired_keys(
    #[case] backend: Backend,
) {
    let Some((app, user_id)) = setup(backend).await else {
        return;
    };
    let (id, key) = create_for(
        &app,
        &user_id,
        json!({"remaining": 2, "refillAmount": 2, "refillInterval": 60_000}),
    )
    .await;
    let v = verify(&app, &key).await;
    assert_eq!(
        (v["valid"].clone(), v["error"].clone()),
        (json!(true), Value::Null)
    );
    assert_eq!(v["key"]["id"], id);
    assert_eq!(v["key"]["remaining"], 1);
    assert_eq!(v["key"]["requestCount"], 1);
    assert!(v["key"].get("key").is_none());
    assert_eq!(verify(&app, &key).await["key"]["remaining"], 0);
    let v = verify(&app, &key).await;
    assert_eq!(
        v,
        json!({"valid": false, "error": {"message": "API Key has reached its usage limit", "code": "USAGE_EXCEEDED"}, "key": null})
    );
    app.advance(61);
    let v = verify(&app, &key).await;
    assert_eq!(v["valid"], true, "{v}");
    assert_eq!(v["key"]["remaining"], 1, "refilled, one use taken");
    assert!(v["key"]["lastRefillAt"].is_string());

    let v = verify(&app, &guess(&key)).await;
    assert_eq!(v["error"]["code"], "INVALID_API_KEY");
    assert_eq!(v["error"]["message"], "Invalid API key.");

    // Exhausted without a refill: refused, and the key is deleted.
    let (once_id, once) = create_for(&app, &user_id, json!({"remaining": 1})).await;
    assert_eq!(verify(&app, &once).await["valid"], true);
    assert_eq!(verify(&app, &once).await["error"]["code"], "USAGE_EXCEEDED");
    assert!(stored_hash(&app, &once_id).await.is_none());

    // Disabled.
    let res = app
        .post("/api-key/update", &json!({"keyId": id, "enabled": false}))
        .await;
    assert_eq!(res.status(), 200);
    let v = verify(&app, &key).await;
    assert_eq!(
        v["error"],
        json!({"message": "API Key is disabled", "code": "KEY_DISABLED"})
    );

    // Permissions.
    let (_, scoped) = create_for(&app, &user_id, json!({"permissions": {"files": ["read"]}})).await;
    let res = server(
        &app,
        "/api-key/verify",
        &json!({"key": scoped, "permissions": {"files": ["read"]}}),
    )
    .await;
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["valid"], true);
    assert_eq!(v["key"]["permissions"], json!({"files": ["read"]}));
    let res = server(
        &app,
        "/api-key/verify",
        &json!({"key": scoped, "permissions": {"files": ["write"]}}),
    )
    .await;
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["error"]["code"], "KEY_NOT_FOUND");

    // Expired: refused and deleted; the sweep removes the others that expired.
    let (exp_id, expiring) = create_for(&app, &user_id, json!({"expiresIn": 86_400})).await;
    let (swept_id, _) = create_for(&app, &user_id, json!({"expiresIn": 86_400})).await;
    app.advance(86_401);
    let v = verify(&app, &expiring).await;
    assert_eq!(
        v["error"],
        json!({"message": "API Key has expired", "code": "KEY_EXPIRED"})
    );
    assert!(stored_hash(&app, &exp_id).await.is_none());
    assert!(stored_hash(&app, &swept_id).await.is_some());
    let res = server(&app, "/api-key/delete-all-expired-api-keys", &json!({})).await;
    assert_eq!(
        res.json::<Value>().await.unwrap(),
        json!({"success": true, "error": null})
    );
    assert!(stored_hash(&app, &swept_id).await.is_none());
}

#[apply(backends)]
#[tokio::test]
async fn the_per_key_rate_limit_refuses_with_rate_limited(#[case] backend: Backend) {
    let Some((app, user_id)) = setup(backend).await else {
        return;
    };
    let (_, key) = create_for(
        &app,
        &user_id,
        json!({"rateLimitMax": 2, "rateLimitTimeWindow": 60_000}),
    )
    .await;
    assert_eq!(verify(&app, &key).await["key"]["requestCount"], 1);
    assert_eq!(verify(&app, &key).await["key"]["requestCount"], 2);
    let v = verify(&app, &key).await;
    assert_eq!(v["valid"], false);
    assert_eq!(v["error"]["code"], "RATE_LIMITED");
    assert_eq!(v["error"]["message"], "Rate limit exceeded.");
    let wait = v["error"]["details"]["tryAgainIn"].as_i64().unwrap();
    assert!(wait > 0 && wait <= 60_000, "{wait}");
    // The session path answers the same refusal as an error.
    let res = app
        .anonymous()
        .get(app.url("/get-session"))
        .header("x-api-key", &key)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 429);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], "RATE_LIMITED");
    assert!(body["details"]["tryAgainIn"].as_i64().unwrap() > 0);
    app.advance(61);
    let v = verify(&app, &key).await;
    assert_eq!(
        (v["valid"].clone(), v["key"]["requestCount"].clone()),
        (json!(true), json!(1))
    );
}

#[apply(backends)]
#[tokio::test]
async fn a_key_in_x_api_key_is_a_session_of_its_owner(#[case] backend: Backend) {
    let Some((app, user_id)) = setup(backend).await else {
        return;
    };
    let created: Value = app
        .post("/api-key/create", &json!({"name": "machine"}))
        .await
        .json()
        .await
        .unwrap();
    let key = created["key"].as_str().unwrap().to_owned();
    let id = created["id"].as_str().unwrap().to_owned();
    let machine = app.anonymous();
    let get = |path: &str| {
        machine
            .get(if path.starts_with("/api/") {
                format!("{}{path}", app.address)
            } else {
                app.url(path)
            })
            .header("x-api-key", &key)
            .send()
    };

    let res = get("/get-session").await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        set_cookies(&res).is_empty(),
        "no cookie for a key's session"
    );
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["user"]["id"], user_id);
    assert_eq!(body["session"]["id"], id);
    assert_eq!(body["session"]["userId"], user_id);
    assert_eq!(body["session"]["token"], key);

    let res = get("/api/validate-session").await.unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["user"]["id"], user_id);

    // Protected routes take it too.
    let res = get("/api-key/list").await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap()["total"], 1);

    // Each request was a counted use.
    let got: Value = app
        .get(&format!("/api-key/get?id={id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(got["requestCount"], 3);
    assert!(got["lastRequest"].is_string());

    // A guessed key of the right length, a short one, a disabled one.
    let guessed = guess(&key);
    let res = machine
        .get(app.url("/get-session"))
        .header("x-api-key", guessed)
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(res).await,
        (401, "INVALID_API_KEY".into(), "Invalid API key.".into())
    );
    let res = machine
        .get(format!("{}/api/validate-session", app.address))
        .header("x-api-key", "short")
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(res).await.0, 403);
    app.post("/api-key/update", &json!({"keyId": id, "enabled": false}))
        .await;
    let res = get("/get-session").await.unwrap();
    assert_eq!(error_code(res).await.1, "KEY_DISABLED");
}

/// Verifications of one key sent at once: how many were valid.
async fn valid_of_concurrent(app: &TestApp, key: &str, n: usize) -> usize {
    let answers = futures_util::future::join_all((0..n).map(|_| verify(app, key))).await;
    answers.iter().filter(|v| v["valid"] == true).count()
}

#[apply(backends)]
#[tokio::test]
async fn concurrent_verifications_never_pass_the_uses_or_the_rate_limit(#[case] backend: Backend) {
    let Some((app, user_id)) = setup(backend).await else {
        return;
    };
    let (_, uses) = create_for(
        &app,
        &user_id,
        json!({"remaining": 3, "rateLimitEnabled": false}),
    )
    .await;
    assert_eq!(valid_of_concurrent(&app, &uses, 8).await, 3);
    let (id, limited) = create_for(
        &app,
        &user_id,
        json!({"rateLimitMax": 3, "rateLimitTimeWindow": 60_000}),
    )
    .await;
    assert_eq!(valid_of_concurrent(&app, &limited, 8).await, 3);
    let got: Value = app
        .get(&format!("/api-key/get?id={id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(got["requestCount"], 3);
}

#[tokio::test]
async fn without_sessions_for_api_keys_the_header_is_ignored() {
    let toml = "[plugins.api_key]\nenabled = true\n";
    let Some(app) = spawn_app_with(Backend::Sqlite, toml, &[]).await else {
        return;
    };
    app.sign_up(&unique_email()).await;
    let created: Value = app
        .post("/api-key/create", &json!({}))
        .await
        .json()
        .await
        .unwrap();
    let key = created["key"].as_str().unwrap();
    let res = app
        .anonymous()
        .get(app.url("/get-session"))
        .header("x-api-key", key)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap(), Value::Null);
    // And without a server token, verify is no route at all.
    let res = app
        .anonymous()
        .post(app.url("/api-key/verify"))
        .header("x-server-token", "")
        .json(&json!({ "key": key }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let got: Value = app
        .get(&format!(
            "/api-key/get?id={}",
            created["id"].as_str().unwrap()
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(got["requestCount"], 0, "no use was counted");
}

/// Requests with keys that arrive together share their reads and their writes
/// (docs/storage-and-scaling.md, "Grouped writes and lookups"): each is still answered as its
/// own key's owner, a guessed key among them is refused, and the last use is stored.
#[apply(backends)]
#[tokio::test]
async fn requests_with_keys_at_once_each_get_their_own_owner(#[case] backend: Backend) {
    let Some((app, first)) = setup(backend).await else {
        return;
    };
    let res = app
        .anonymous()
        .post(app.url("/sign-up/email"))
        .json(&json!({"email": unique_email(), "password": "a-long-password-1", "name": "Second"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let second: Value = res.json().await.unwrap();
    let second = second["user"]["id"].as_str().unwrap().to_owned();
    let unlimited = json!({"rateLimitEnabled": false});
    let (first_id, first_key) = create_for(&app, &first, unlimited.clone()).await;
    let (_, second_key) = create_for(&app, &second, unlimited).await;
    let guessed = guess(&first_key);
    let before = chrono::Utc::now() - chrono::Duration::milliseconds(5);
    let machine = app.anonymous();
    let sent: Vec<(&str, Option<&str>)> = (0..30)
        .map(|i| match i % 3 {
            0 => (first_key.as_str(), Some(first.as_str())),
            1 => (second_key.as_str(), Some(second.as_str())),
            _ => (guessed.as_str(), None),
        })
        .collect();
    let answers = futures_util::future::join_all(sent.iter().map(|(key, _)| {
        machine
            .get(app.url("/get-session"))
            .header("x-api-key", *key)
            .send()
    }))
    .await;
    for ((_, owner), res) in sent.iter().zip(answers) {
        let res = res.unwrap();
        match owner {
            Some(owner) => {
                assert_eq!(res.status(), 200);
                let body: Value = res.json().await.unwrap();
                assert_eq!(body["user"]["id"], *owner);
            }
            None => assert_eq!(
                error_code(res).await,
                (401, "INVALID_API_KEY".into(), "Invalid API key.".into())
            ),
        }
    }
    let got: Value = app
        .get(&format!("/api-key/get?id={first_id}"))
        .await
        .json()
        .await
        .unwrap();
    let at = |field: &str| {
        chrono::DateTime::parse_from_rfc3339(got[field].as_str().unwrap())
            .unwrap()
            .with_timezone(&chrono::Utc)
    };
    assert!(at("lastRequest") >= before, "{got}");
    assert!(at("updatedAt") >= before, "{got}");
}
