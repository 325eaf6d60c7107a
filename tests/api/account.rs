//! update-user, change-password, list-accounts, unlink-account
//! (docs/compatibility.md §5.7, §5.10, §5.14).

use chrono::Duration;
use serde_json::{json, Value};

use crate::helpers::*;

/// Signs up in the app's browser; returns the sign-up body.
async fn signed_up(app: &TestApp) -> Value {
    let res = app.sign_up(&unique_email()).await;
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

fn user_id(body: &Value) -> String {
    body["user"]["id"].as_str().unwrap().to_owned()
}

/// A GitHub account linked to the user, as the OAuth flow would store it.
async fn link_github(app: &TestApp, user_id: &str) -> String {
    let now = app.state.clock.now();
    let account = better_auth_rs::store::Account {
        id: uuid::Uuid::new_v4().simple().to_string(),
        account_id: "gh-12345".into(),
        provider_id: "github".into(),
        user_id: user_id.to_owned(),
        password: None,
        scope: Some("read:user, user:email,,".into()),
        created_at: now,
        updated_at: now,
    };
    app.state
        .store
        .insert_account(app.state.store.connection(), &account)
        .await
        .unwrap();
    account.id
}

#[apply(backends)]
#[tokio::test]
async fn update_user_changes_name_image_and_custom_fields(#[case] backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let body = signed_up(&app).await;
    let id = user_id(&body);
    app.state.clock.advance(Duration::seconds(5));
    let res = app.post("/update-user", &json!({ "name": "Grace", "image": "https://img.example/g.png", "nickname": "amazing" })).await;
    assert_eq!(res.status(), 200);
    let cookies = set_cookies(&res);
    let c = cookie(&cookies, "better-auth.session_token").expect("session cookie re-set");
    assert!(c.contains("Max-Age=604800"), "{c}");
    assert_eq!(
        res.json::<Value>().await.unwrap(),
        json!({ "status": true })
    );

    let user = app.state.store.find_user_by_id(&id).await.unwrap().unwrap();
    assert_eq!(user.name, "Grace");
    assert_eq!(user.image.as_deref(), Some("https://img.example/g.png"));
    assert_eq!(user.extra["nickname"], "amazing");
    assert_eq!(user.extra["role"], "user");
    assert_eq!(user.email, body["user"]["email"].as_str().unwrap());
    assert!(user.updated_at > user.created_at);
    let session = app.get_session().await;
    assert_eq!(session["user"]["name"], "Grace");
    assert_eq!(session["user"]["nickname"], "amazing");

    // `image: null` clears it; other fields stay.
    let res = app.post("/update-user", &json!({ "image": null })).await;
    assert_eq!(res.status(), 200);
    let user = app.state.store.find_user_by_id(&id).await.unwrap().unwrap();
    assert_eq!(user.image, None);
    assert_eq!(user.name, "Grace");
}

#[apply(backends)]
#[tokio::test]
async fn update_user_refuses_email_and_input_false_fields(#[case] backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let body = signed_up(&app).await;
    let res = app
        .post(
            "/update-user",
            &json!({ "email": "new@example.com", "name": "X" }),
        )
        .await;
    assert_eq!(
        error_code(res).await,
        (
            400,
            "EMAIL_CAN_NOT_BE_UPDATED".into(),
            "Email can not be updated".into()
        )
    );
    let res = app.post("/update-user", &json!({ "role": "admin" })).await;
    assert_eq!(
        error_code(res).await,
        (
            400,
            "FIELD_NOT_ALLOWED".into(),
            "role is not allowed to be set".into()
        )
    );
    let user = app
        .state
        .store
        .find_user_by_id(&user_id(&body))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user.extra["role"], "user");
    assert_eq!(user.name, "Test User");
}

#[apply(backends)]
#[tokio::test]
async fn update_user_with_nothing_to_update_is_400(#[case] backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let body = signed_up(&app).await;
    for sent in [
        json!({}),
        json!({ "emailVerified": true, "id": "other", "role": "" }),
    ] {
        let res = app.post("/update-user", &sent).await;
        assert_eq!(res.status(), 400);
        assert_eq!(
            res.json::<Value>().await.unwrap(),
            json!({ "message": "No fields to update" })
        );
    }
    let user = app
        .state
        .store
        .find_user_by_id(&user_id(&body))
        .await
        .unwrap()
        .unwrap();
    assert!(!user.email_verified);
    let res = app.post("/update-user", &json!({ "name": 5 })).await;
    assert_eq!(
        error_code(res).await,
        (
            400,
            "VALIDATION_ERROR".into(),
            "[body.name] Invalid input: expected string, received number".into()
        )
    );
    let res = app.post("/update-user", &json!("name")).await;
    assert_eq!(error_code(res).await.1, "VALIDATION_ERROR");
}

#[apply(backends)]
#[tokio::test]
async fn update_user_without_a_session_is_401(#[case] backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let res = app.post("/update-user", &json!({ "name": "X" })).await;
    assert_eq!(
        error_code(res).await,
        (401, "UNAUTHORIZED".into(), "Unauthorized".into())
    );
}

#[apply(backends)]
#[tokio::test]
async fn change_password_replaces_the_hash(#[case] backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let body = signed_up(&app).await;
    let email = body["user"]["email"].as_str().unwrap().to_owned();
    let before = app
        .state
        .store
        .find_credential_account(&user_id(&body))
        .await
        .unwrap()
        .unwrap();
    app.state.clock.advance(Duration::seconds(5));
    let res = app
        .post(
            "/change-password",
            &json!({ "currentPassword": PASSWORD, "newPassword": "a brand new password" }),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert!(set_cookies(&res).is_empty());
    let out: Value = res.json().await.unwrap();
    assert_eq!(out["token"], Value::Null);
    assert_eq!(out["user"], body["user"]);
    let after = app
        .state
        .store
        .find_credential_account(&user_id(&body))
        .await
        .unwrap()
        .unwrap();
    assert_ne!(after.password, before.password);
    assert!(after.updated_at > before.updated_at);
    // The current session lives on; the new password signs in, the old one does not.
    assert!(app.get_session().await.is_object());
    let other = app.browser();
    let res = app
        .post_as(
            &other,
            "/sign-in/email",
            &json!({ "email": email, "password": PASSWORD }),
        )
        .await;
    assert_eq!(res.status(), 401);
    let res = app
        .post_as(
            &other,
            "/sign-in/email",
            &json!({ "email": email, "password": "a brand new password" }),
        )
        .await;
    assert_eq!(res.status(), 200);
}

#[apply(backends)]
#[tokio::test]
async fn change_password_with_revoke_other_sessions_issues_a_new_session(#[case] backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let body = signed_up(&app).await;
    let old_token = body["token"].as_str().unwrap().to_owned();
    let email = body["user"]["email"].as_str().unwrap().to_owned();
    let other = app.browser();
    app.post_as(
        &other,
        "/sign-in/email",
        &json!({ "email": email, "password": PASSWORD }),
    )
    .await;
    let res = app.post("/change-password", &json!({ "currentPassword": PASSWORD, "newPassword": "a brand new password", "revokeOtherSessions": true })).await;
    assert_eq!(res.status(), 200);
    let cookies = set_cookies(&res);
    let out: Value = res.json().await.unwrap();
    let token = out["token"].as_str().expect("new token").to_owned();
    assert_ne!(token, old_token);
    let c = cookie(&cookies, "better-auth.session_token").expect("new session cookie");
    assert!(
        c.contains(&format!("better-auth.session_token={token}.")),
        "{c}"
    );
    let sessions = app
        .state
        .store
        .list_sessions(&user_id(&body))
        .await
        .unwrap();
    assert_eq!(
        sessions
            .iter()
            .map(|s| s.token.as_str())
            .collect::<Vec<_>>(),
        vec![token.as_str()]
    );
    assert_eq!(app.get_session().await["session"]["token"], token.as_str());
    assert_eq!(
        app.get_as(&other, "/get-session")
            .await
            .text()
            .await
            .unwrap(),
        "null"
    );
}

#[apply(backends)]
#[tokio::test]
async fn change_password_refuses_a_wrong_password_and_bad_lengths(#[case] backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let body = signed_up(&app).await;
    let before = app
        .state
        .store
        .find_credential_account(&user_id(&body))
        .await
        .unwrap()
        .unwrap();
    let cases = [
        (
            json!({ "currentPassword": "wrong password", "newPassword": "a brand new password" }),
            "INVALID_PASSWORD",
            "Invalid password",
        ),
        (
            json!({ "currentPassword": PASSWORD, "newPassword": "short" }),
            "PASSWORD_TOO_SHORT",
            "Password too short",
        ),
        (
            json!({ "currentPassword": PASSWORD, "newPassword": "x".repeat(129) }),
            "PASSWORD_TOO_LONG",
            "Password too long",
        ),
        (
            json!({ "currentPassword": "x".repeat(129), "newPassword": "a brand new password" }),
            "PASSWORD_TOO_LONG",
            "Password too long",
        ),
    ];
    for (sent, code, message) in cases {
        let res = app.post("/change-password", &sent).await;
        assert_eq!(
            error_code(res).await,
            (400, code.into(), message.into()),
            "{sent}"
        );
    }
    let after = app
        .state
        .store
        .find_credential_account(&user_id(&body))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(after.password, before.password);
    let res = app
        .post(
            "/change-password",
            &json!({ "newPassword": "a brand new password" }),
        )
        .await;
    assert_eq!(
        error_code(res).await,
        (
            400,
            "VALIDATION_ERROR".into(),
            "[body.currentPassword] Invalid input: expected string, received undefined".into()
        )
    );
}

#[apply(backends)]
#[tokio::test]
async fn change_password_without_a_credential_account_is_400(#[case] backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let body = signed_up(&app).await;
    let id = user_id(&body);
    let credential = app
        .state
        .store
        .find_credential_account(&id)
        .await
        .unwrap()
        .unwrap();
    link_github(&app, &id).await;
    assert_eq!(
        app.state
            .store
            .delete_account(&id, &credential.id)
            .await
            .unwrap(),
        1
    );
    let res = app
        .post(
            "/change-password",
            &json!({ "currentPassword": PASSWORD, "newPassword": "a brand new password" }),
        )
        .await;
    assert_eq!(
        error_code(res).await,
        (
            400,
            "CREDENTIAL_ACCOUNT_NOT_FOUND".into(),
            "Credential account not found".into()
        )
    );
}

#[apply(backends)]
#[tokio::test]
async fn change_password_without_a_session_is_401(#[case] backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let res = app
        .post(
            "/change-password",
            &json!({ "currentPassword": PASSWORD, "newPassword": "a brand new password" }),
        )
        .await;
    assert_eq!(error_code(res).await.0, 401);
}

#[apply(backends)]
#[tokio::test]
async fn list_accounts_lists_the_users_accounts_without_secrets(#[case] backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let body = signed_up(&app).await;
    let id = user_id(&body);
    let res = app.get("/list-accounts").await;
    assert_eq!(res.status(), 200);
    let list: Value = res.json().await.unwrap();
    let credential = app
        .state
        .store
        .find_credential_account(&id)
        .await
        .unwrap()
        .unwrap();
    let only = &list.as_array().unwrap()[..];
    assert_eq!(only.len(), 1);
    let mut keys: Vec<&str> = only[0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "accountId",
            "createdAt",
            "id",
            "providerId",
            "scopes",
            "updatedAt",
            "userId"
        ]
    );
    assert_eq!(only[0]["id"], credential.id.as_str());
    assert_eq!(only[0]["providerId"], "credential");
    assert_eq!(only[0]["accountId"], id.as_str());
    assert_eq!(only[0]["scopes"], json!([]));

    let github = link_github(&app, &id).await;
    let list: Value = app.get("/list-accounts").await.json().await.unwrap();
    let gh = list
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == github.as_str())
        .expect("github listed");
    assert_eq!(gh["scopes"], json!(["read:user", "user:email"]));
    assert_eq!(gh["providerId"], "github");
    let res = app.get_as(&app.browser(), "/list-accounts").await;
    assert_eq!(error_code(res).await.0, 401);
}

#[apply(backends)]
#[tokio::test]
async fn unlink_account_refuses_the_last_account(#[case] backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let body = signed_up(&app).await;
    let credential = app
        .state
        .store
        .find_credential_account(&user_id(&body))
        .await
        .unwrap()
        .unwrap();
    let res = app
        .post("/unlink-account", &json!({ "accountId": credential.id }))
        .await;
    assert_eq!(
        error_code(res).await,
        (
            400,
            "FAILED_TO_UNLINK_LAST_ACCOUNT".into(),
            "You can't unlink your last account".into()
        )
    );
    assert!(app
        .state
        .store
        .find_credential_account(&user_id(&body))
        .await
        .unwrap()
        .is_some());
}

#[apply(backends)]
#[tokio::test]
async fn unlink_account_deletes_one_of_the_users_accounts(#[case] backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let body = signed_up(&app).await;
    let id = user_id(&body);
    let github = link_github(&app, &id).await;
    // A stranger's account id is not found for us.
    let stranger = app.browser();
    let theirs: Value = app
        .post_as(
            &stranger,
            "/sign-up/email",
            &json!({ "email": unique_email(), "password": PASSWORD, "name": "S" }),
        )
        .await
        .json()
        .await
        .unwrap();
    let theirs = app
        .state
        .store
        .find_credential_account(&user_id(&theirs))
        .await
        .unwrap()
        .unwrap();
    for unknown in [theirs.id.as_str(), "nope"] {
        let res = app
            .post("/unlink-account", &json!({ "accountId": unknown }))
            .await;
        assert_eq!(
            error_code(res).await,
            (400, "ACCOUNT_NOT_FOUND".into(), "Account not found".into())
        );
    }
    let res = app
        .post(
            "/unlink-account",
            &json!({ "providerId": "github", "accountId": github }),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.json::<Value>().await.unwrap(),
        json!({ "status": true })
    );
    let left = app.state.store.list_accounts(&id).await.unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].provider_id, "credential");
    assert_eq!(
        app.state
            .store
            .list_accounts(&theirs.user_id)
            .await
            .unwrap()
            .len(),
        1
    );
}

#[apply(backends)]
#[tokio::test]
async fn unlink_account_needs_a_fresh_session(#[case] backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let body = signed_up(&app).await;
    let github = link_github(&app, &user_id(&body)).await;
    app.state.clock.advance(Duration::days(2));
    let res = app
        .post("/unlink-account", &json!({ "accountId": github }))
        .await;
    assert_eq!(
        error_code(res).await,
        (
            403,
            "SESSION_NOT_FRESH".into(),
            "Session is not fresh".into()
        )
    );
    assert_eq!(
        app.state
            .store
            .list_accounts(&user_id(&body))
            .await
            .unwrap()
            .len(),
        2
    );
    let res = app.post("/unlink-account", &json!({})).await;
    assert_eq!(error_code(res).await.1, "VALIDATION_ERROR");
}

async fn session_user_id(app: &TestApp) -> String {
    app.get_session().await["user"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// With the cookie cache on, update-user re-issues `session_data` holding the new user, so
/// get-session answered from the cache shows the change at once.
#[tokio::test]
async fn update_user_rewrites_the_cookie_cache() {
    for strategy in ["compact", "jwt", "jwe"] {
        let extra = format!("[session.cookie_cache]\nenabled = true\nstrategy = \"{strategy}\"\n");
        let Some(app) = spawn_app_with(Backend::Sqlite, &extra, &[]).await else {
            return;
        };
        signed_up(&app).await;
        let res = app.post("/update-user", &json!({ "name": "Cached" })).await;
        assert_eq!(res.status(), 200);
        assert!(
            cookie(&set_cookies(&res), "better-auth.session_data").is_some(),
            "{strategy}"
        );
        // Served from the cache, which holds the new name: a later database change is unseen.
        let id = session_user_id(&app).await;
        let update = better_auth_rs::store::users::UserUpdate {
            name: Some("Changed behind the cache".into()),
            ..Default::default()
        };
        let now = app.state.clock.now();
        app.state
            .store
            .update_user(&id, &update, now)
            .await
            .unwrap();
        let session = app.get_session().await;
        assert_eq!(session["user"]["name"], "Cached", "{strategy}");
    }
}

#[tokio::test]
async fn allow_unlinking_all_lets_the_last_account_go() {
    let extra = "[account.account_linking]\nallow_unlinking_all = true\n";
    let Some(app) = spawn_app_with(Backend::Sqlite, extra, &[]).await else {
        return;
    };
    let body = signed_up(&app).await;
    let id = user_id(&body);
    let credential = app
        .state
        .store
        .find_credential_account(&id)
        .await
        .unwrap()
        .unwrap();
    let res = app
        .post("/unlink-account", &json!({ "accountId": credential.id }))
        .await;
    assert_eq!(res.status(), 200);
    assert!(app.state.store.list_accounts(&id).await.unwrap().is_empty());
}
