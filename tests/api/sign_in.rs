use sea_orm::ConnectionTrait;
use serde_json::{json, Value};

use crate::helpers::*;

#[apply(backends)]
#[tokio::test]
async fn sign_in_with_the_right_password_starts_a_new_session(#[case] backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let email = unique_email();
    app.sign_up(&email).await;
    let res = app
        .anonymous()
        .post(app.url("/sign-in/email"))
        .header("origin", ORIGIN)
        .header("user-agent", "tests/1.0")
        .json(&json!({"email": email.to_uppercase(), "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let cookies = set_cookies(&res);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["redirect"], false);
    assert!(
        body.get("url").is_none(),
        "url is absent without callbackURL"
    );
    assert_eq!(body["user"]["email"], email);
    let token = body["token"].as_str().unwrap();
    assert!(cookie(&cookies, "better-auth.session_token")
        .unwrap()
        .contains(token));
    let user = app
        .state
        .store
        .find_user_by_email(&email)
        .await
        .unwrap()
        .unwrap();
    let sessions = app.state.store.list_sessions(&user.id).await.unwrap();
    assert_eq!(sessions.len(), 2);
    assert!(sessions
        .iter()
        .any(|s| s.token == token && s.user_agent.as_deref() == Some("tests/1.0")));
}

#[apply(backends)]
#[tokio::test]
async fn wrong_password_and_unknown_email_get_the_same_401(#[case] backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let email = unique_email();
    app.sign_up(&email).await;
    let client = app.anonymous();
    for (e, p) in [
        (email.as_str(), "wrong password"),
        ("nobody@example.com", PASSWORD),
    ] {
        let res = client
            .post(app.url("/sign-in/email"))
            .json(&json!({"email": e, "password": p}))
            .send()
            .await
            .unwrap();
        assert!(set_cookies(&res).is_empty());
        assert_eq!(
            error_code(res).await,
            (
                401,
                "INVALID_EMAIL_OR_PASSWORD".into(),
                "Invalid email or password".into()
            )
        );
    }
}

#[apply(backends)]
#[tokio::test]
async fn a_malformed_email_is_invalid_email_not_a_validation_error(#[case] backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let res = app.sign_in("not-an-email", PASSWORD).await;
    assert_eq!(
        error_code(res).await,
        (400, "INVALID_EMAIL".into(), "Invalid email".into())
    );
}

#[apply(backends)]
#[tokio::test]
async fn callback_url_answers_200_with_location_and_redirect(#[case] backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let email = unique_email();
    app.sign_up(&email).await;
    let res = app
        .post(
            "/sign-in/email",
            &json!({"email": email, "password": PASSWORD, "callbackURL": "/dashboard"}),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["location"], "/dashboard");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["redirect"], true);
    assert_eq!(body["url"], "/dashboard");
    let res = app
        .post(
            "/sign-in/email",
            &json!({"email": email, "password": PASSWORD, "callbackURL": "https://evil.example/"}),
        )
        .await;
    assert_eq!(error_code(res).await.1, "INVALID_CALLBACK_URL");
}

#[apply(backends)]
#[tokio::test]
async fn only_the_credential_account_holds_the_password(#[case] backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    // Newer Better Auth schemas add `account.issuer`: credential accounts carry
    // `local:credential`, rows written before the column have none.
    let (before, elsewhere, missing) = (unique_email(), unique_email(), unique_email());
    for email in [&before, &elsewhere, &missing] {
        app.sign_up(email).await;
    }
    let mut account_ids = Vec::new();
    for email in [&elsewhere, &missing] {
        let user = app.user_by_email(email).await.unwrap();
        account_ids.push(
            app.state
                .store
                .find_credential_account(&user.id)
                .await
                .unwrap()
                .unwrap()
                .id,
        );
    }
    let db = app.state.store.connection();
    for sql in [
        "ALTER TABLE account ADD COLUMN issuer VARCHAR(255)".to_owned(),
        format!(
            "UPDATE account SET issuer = 'local:oauth:elsewhere' WHERE id = '{}'",
            account_ids[0]
        ),
        format!("DELETE FROM account WHERE id = '{}'", account_ids[1]),
    ] {
        db.execute_unprepared(&sql).await.unwrap();
    }
    let app = app.restart("").await;

    assert_eq!(
        app.sign_in(&before, PASSWORD).await.status(),
        200,
        "a row from before the column"
    );
    for email in [&elsewhere, &missing] {
        let res = app.sign_in(email, PASSWORD).await;
        assert!(set_cookies(&res).is_empty());
        assert_eq!(
            error_code(res).await,
            (
                401,
                "INVALID_EMAIL_OR_PASSWORD".into(),
                "Invalid email or password".into()
            )
        );
    }
    let new = unique_email();
    assert_eq!(app.sign_up(&new).await.status(), 200);
    assert_eq!(app.sign_in(&new, PASSWORD).await.status(), 200);
    let user = app.user_by_email(&new).await.unwrap();
    let row = app
        .state
        .store
        .connection()
        .query_one(sea_orm::Statement::from_string(
            app.state.store.backend(),
            format!(
                "SELECT issuer FROM account WHERE id = '{}'",
                app.state
                    .store
                    .find_credential_account(&user.id)
                    .await
                    .unwrap()
                    .unwrap()
                    .id
            ),
        ))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        row.try_get::<Option<String>>("", "issuer")
            .unwrap()
            .as_deref(),
        Some("local:credential")
    );
}

#[tokio::test]
async fn login_csrf_follows_fetch_metadata() {
    let Some(app) = spawn_app(Backend::Sqlite).await else {
        return;
    };
    let email = unique_email();
    app.sign_up(&email).await;
    let client = app.anonymous();
    let body = json!({"email": email, "password": PASSWORD});
    let send = |h: reqwest::header::HeaderMap| {
        client
            .post(app.url("/sign-in/email"))
            .headers(h)
            .json(&body)
            .send()
    };

    let res = send(headers(&[
        ("sec-fetch-site", "cross-site"),
        ("sec-fetch-mode", "navigate"),
    ]))
    .await
    .unwrap();
    assert_eq!(
        error_code(res).await.1,
        "CROSS_SITE_NAVIGATION_LOGIN_BLOCKED"
    );
    let res = send(headers(&[("sec-fetch-mode", "cors")])).await.unwrap();
    assert_eq!(
        error_code(res).await,
        (
            403,
            "MISSING_OR_NULL_ORIGIN".into(),
            "Missing or null Origin".into()
        )
    );
    let res = send(headers(&[
        ("sec-fetch-mode", "cors"),
        ("origin", "https://evil.example"),
    ]))
    .await
    .unwrap();
    assert_eq!(
        error_code(res).await,
        (403, "INVALID_ORIGIN".into(), "Invalid origin".into())
    );
    let res = send(headers(&[("sec-fetch-mode", "cors"), ("origin", ORIGIN)]))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = send(headers(&[("referer", "http://localhost:3000/login?x=1")]))
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "a trusted Referer stands in for Origin");
    let res = send(headers(&[])).await.unwrap();
    assert_eq!(
        res.status(),
        200,
        "server-to-server calls without cookies or metadata pass"
    );
}

#[tokio::test]
async fn a_post_with_cookies_needs_a_trusted_origin() {
    let Some(app) = spawn_app(Backend::Sqlite).await else {
        return;
    };
    app.sign_up(&unique_email()).await;
    let res = app
        .client
        .post(app.url("/sign-out"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(res).await.1, "MISSING_OR_NULL_ORIGIN");
    let res = app
        .client
        .post(app.url("/sign-out"))
        .header("origin", "null")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(res).await.1, "MISSING_OR_NULL_ORIGIN");
    assert_ne!(
        app.get_session().await,
        Value::Null,
        "the refused sign-out changed nothing"
    );
}

#[tokio::test]
async fn a_successful_sign_in_replaces_a_better_auth_scrypt_hash_with_argon2id() {
    let Some(app) = spawn_app(Backend::Sqlite).await else {
        return;
    };
    let email = unique_email();
    app.sign_up(&email).await;
    let user = app
        .state
        .store
        .find_user_by_email(&email)
        .await
        .unwrap()
        .unwrap();
    let account = app
        .state
        .store
        .find_credential_account(&user.id)
        .await
        .unwrap()
        .unwrap();
    let scrypt = better_auth_rs::auth::password::better_auth_scrypt(
        &secrecy::SecretString::from(PASSWORD.to_owned()),
        "00112233445566778899aabbccddeeff",
    )
    .unwrap();
    app.state
        .store
        .set_account_password(
            app.state.store.connection(),
            &account.id,
            &scrypt,
            app.state.clock.now(),
        )
        .await
        .unwrap();

    assert_eq!(app.sign_in(&email, "wrong password").await.status(), 401);
    let stored = app
        .state
        .store
        .find_credential_account(&user.id)
        .await
        .unwrap()
        .unwrap()
        .password
        .unwrap();
    assert_eq!(stored, scrypt, "a failed sign-in does not touch the hash");
    assert_eq!(app.sign_in(&email, PASSWORD).await.status(), 200);
    let mut rehashed = String::new();
    for _ in 0..100 {
        rehashed = app
            .state
            .store
            .find_credential_account(&user.id)
            .await
            .unwrap()
            .unwrap()
            .password
            .unwrap();
        if rehashed.starts_with("$argon2id$") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(rehashed.starts_with("$argon2id$"), "still {rehashed}");
    assert_eq!(
        app.sign_in(&email, PASSWORD).await.status(),
        200,
        "the new hash verifies"
    );
}
