use serde_json::{json, Value};

use crate::helpers::*;

#[apply(backends)]
#[tokio::test]
async fn sign_up_creates_user_account_and_session_and_sets_the_cookie(#[case] backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let email = unique_email();
    let res = app.sign_up(&email.to_uppercase()).await;
    assert_eq!(res.status(), 200);
    let cookies = set_cookies(&res);
    let body: Value = res.json().await.unwrap();
    let user = &body["user"];
    assert_eq!(user["email"], email, "emails are stored lower-cased");
    assert_eq!(user["emailVerified"], false);
    assert_eq!(user["image"], Value::Null);
    assert_eq!(user["role"], "user", "default of the custom field");
    assert_eq!(user["nickname"], Value::Null);
    assert!(user["createdAt"].as_str().unwrap().ends_with('Z'));
    let token = body["token"].as_str().unwrap();
    assert_eq!(token.len(), 32);

    let session_cookie = cookie(&cookies, "better-auth.session_token").expect("session cookie");
    assert!(session_cookie.starts_with(&format!("better-auth.session_token={token}.")));
    for attr in ["Max-Age=604800", "Path=/", "HttpOnly", "SameSite=Lax"] {
        assert!(
            session_cookie.contains(attr),
            "{session_cookie} lacks {attr}"
        );
    }
    assert!(!session_cookie.contains("Secure"));

    let stored = app
        .state
        .store
        .find_user_by_email(&email)
        .await
        .unwrap()
        .expect("user row");
    let account = app
        .state
        .store
        .find_credential_account(&stored.id)
        .await
        .unwrap()
        .expect("credential account");
    assert_eq!(account.account_id, stored.id);
    assert!(account
        .password
        .as_deref()
        .unwrap()
        .starts_with("$argon2id$"));
    let sessions = app.state.store.list_sessions(&stored.id).await.unwrap();
    assert_eq!(sessions.len(), 1);
    assert_eq!(sessions[0].token, token);
    // No forwarded address and BETTER_AUTH_ENV unset: Better Auth stores "" (`getIP`).
    assert_eq!(sessions[0].ip_address.as_deref(), Some(""));
}

#[apply(backends)]
#[tokio::test]
async fn sign_up_stores_a_client_settable_custom_field(#[case] backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let email = unique_email();
    let res = app.post("/sign-up/email", &json!({
            "email": email, "password": PASSWORD, "name": "N", "nickname": "ada", "role": "admin"
        })).await;
    let status = res.status();
    let body: Value = res.json().await.unwrap_or(Value::Null);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["user"]["nickname"], "ada");
    assert_eq!(
        body["user"]["role"], "user",
        "input=false with a default is silently replaced"
    );
    let stored = app
        .state
        .store
        .find_user_by_email(&email)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.extra["nickname"], "ada");
}

#[apply(backends)]
#[tokio::test]
async fn duplicate_email_is_422_and_writes_nothing(#[case] backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let email = unique_email();
    assert_eq!(app.sign_up(&email).await.status(), 200);
    let res = app
        .anonymous()
        .post(app.url("/sign-up/email"))
        .header("origin", ORIGIN)
        .json(&json!({"email": email, "password": "another password", "name": "x"}))
        .send()
        .await
        .unwrap();
    assert!(set_cookies(&res).is_empty());
    let (status, code, message) = error_code(res).await;
    assert_eq!(
        (status, code.as_str()),
        (422, "USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL")
    );
    assert_eq!(message, "User already exists. Use another email.");
}

#[apply(backends)]
#[tokio::test]
async fn password_length_rules_use_javascript_length(#[case] backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let short = app
        .post(
            "/sign-up/email",
            &json!({"email": unique_email(), "password": "1234567", "name": "x"}),
        )
        .await;
    assert_eq!(
        error_code(short).await,
        (
            400,
            "PASSWORD_TOO_SHORT".into(),
            "Password too short".into()
        )
    );
    let long = app
        .post(
            "/sign-up/email",
            &json!({"email": unique_email(), "password": "😀".repeat(65), "name": "x"}),
        )
        .await;
    assert_eq!(error_code(long).await.1, "PASSWORD_TOO_LONG");
    let exactly = app
        .post(
            "/sign-up/email",
            &json!({"email": unique_email(), "password": "😀".repeat(64), "name": "x"}),
        )
        .await;
    assert_eq!(exactly.status(), 200);
}

#[apply(backends)]
#[tokio::test]
async fn invalid_input_is_a_zod_style_validation_error(#[case] backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let res = app
        .post(
            "/sign-up/email",
            &json!({"email": "not-an-email", "password": PASSWORD}),
        )
        .await;
    let (status, code, message) = error_code(res).await;
    assert_eq!((status, code.as_str()), (400, "VALIDATION_ERROR"));
    assert_eq!(message, "[body.name] Invalid input: expected string, received undefined; [body.email] Invalid email address");
    let res = app
        .post(
            "/sign-up/email",
            &json!({"email": unique_email(), "password": PASSWORD, "name": "x", "nickname": 5}),
        )
        .await;
    let (status, code, message) = error_code(res).await;
    assert_eq!((status, code.as_str()), (400, "VALIDATION_ERROR"));
    assert_eq!(
        message,
        "[body.nickname] Invalid input: expected string, received number"
    );
}

#[apply(backends)]
#[tokio::test]
async fn a_custom_field_declared_later_becomes_a_column_at_the_next_start(
    #[case] backend: Backend,
) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let before = app
        .sign_up(&unique_email())
        .await
        .json::<Value>()
        .await
        .unwrap();
    let app = app.restart("[user.additional_fields.age]\ntype = \"number\"\nrequired = false\n[user.additional_fields.beta]\ntype = \"boolean\"\nrequired = false\n").await;
    let email = unique_email();
    let res = app
        .post(
            "/sign-up/email",
            &json!({"email": email, "password": PASSWORD, "name": "x", "age": 42, "beta": true}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        (body["user"]["age"].clone(), body["user"]["beta"].clone()),
        (json!(42), json!(true))
    );
    let stored = app
        .state
        .store
        .find_user_by_email(&email)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.extra["age"], 42);
    let old = app
        .state
        .store
        .find_user_by_id(before["user"]["id"].as_str().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(old.extra["age"], Value::Null, "existing rows have no value");
}

#[apply(backends)]
#[tokio::test]
async fn a_form_post_signs_up_too(#[case] backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let email = unique_email();
    let res = app
        .client
        .post(app.url("/sign-up/email"))
        .header("origin", ORIGIN)
        .form(&[
            ("email", email.as_str()),
            ("password", PASSWORD),
            ("name", "Form"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(app
        .state
        .store
        .find_user_by_email(&email)
        .await
        .unwrap()
        .is_some());
}

#[apply(backends)]
#[tokio::test]
async fn remember_me_false_gives_a_one_day_browser_session(#[case] backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let res = app.post("/sign-up/email", &json!({"email": unique_email(), "password": PASSWORD, "name": "x", "rememberMe": false})).await;
    assert_eq!(res.status(), 200);
    let cookies = set_cookies(&res);
    let session_cookie = cookie(&cookies, "better-auth.session_token").unwrap();
    assert!(!session_cookie.contains("Max-Age"));
    let dont_remember =
        cookie(&cookies, "better-auth.dont_remember").expect("dont_remember cookie");
    assert!(dont_remember.starts_with("better-auth.dont_remember=true."));
    let body: Value = res.json().await.unwrap();
    let session = app.get_session().await;
    let expires =
        chrono::DateTime::parse_from_rfc3339(session["session"]["expiresAt"].as_str().unwrap())
            .unwrap();
    let created =
        chrono::DateTime::parse_from_rfc3339(session["session"]["createdAt"].as_str().unwrap())
            .unwrap();
    assert_eq!((expires - created).num_seconds(), 86_400);
    assert_eq!(session["user"]["id"], body["user"]["id"]);
}

async fn concurrent_sign_ups_with_one_email_create_exactly_one_user(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let email = unique_email();
    let attempts = (0..200).map(|_| {
        let client = app.anonymous();
        let url = app.url("/sign-up/email");
        let body = json!({"email": email, "password": PASSWORD, "name": "racer"});
        async move {
            client
                .post(url)
                .header("origin", ORIGIN)
                .json(&body)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    });
    let statuses = futures_util::future::join_all(attempts).await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 422),
        "{statuses:?}"
    );
    let user = app
        .state
        .store
        .find_user_by_email(&email)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        app.state.store.list_accounts(&user.id).await.unwrap().len(),
        1
    );
}

#[tokio::test]
async fn concurrent_sign_ups_on_sqlite() {
    concurrent_sign_ups_with_one_email_create_exactly_one_user(Backend::Sqlite).await;
}

#[tokio::test]
async fn concurrent_sign_ups_on_postgres() {
    concurrent_sign_ups_with_one_email_create_exactly_one_user(Backend::Postgres).await;
}

#[tokio::test]
async fn concurrent_sign_ups_on_mariadb() {
    concurrent_sign_ups_with_one_email_create_exactly_one_user(Backend::MySql).await;
}

#[tokio::test]
async fn sign_up_without_auto_sign_in_hides_existing_accounts() {
    let Some(app) = spawn_app_with(
        Backend::Sqlite,
        "[email_and_password]\nauto_sign_in = false\n",
        &[],
    )
    .await
    else {
        return;
    };
    let email = unique_email();
    let first = app.sign_up(&email).await;
    assert_eq!(first.status(), 200);
    assert!(
        set_cookies(&first).is_empty(),
        "no session without auto sign-in"
    );
    let first: Value = first.json().await.unwrap();
    assert_eq!(first["token"], Value::Null);
    let again = app.sign_up(&email).await;
    assert_eq!(
        again.status(),
        200,
        "an existing email answers like a new one"
    );
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["token"], Value::Null);
    assert_eq!(again["user"]["email"], email);
    assert_ne!(
        again["user"]["id"], first["user"]["id"],
        "the duplicate gets a synthetic user"
    );
}
