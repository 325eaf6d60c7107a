use serde_json::{json, Value};

use crate::helpers::*;

const NEW_PASSWORD: &str = "a brand new passphrase";
const RESET_MESSAGE: &str =
    "If this email exists in our system, check your email for the reset link";

async fn password_hash(app: &TestApp, email: &str) -> String {
    let user = app
        .state
        .store
        .find_user_by_email(email)
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
    account.password.unwrap()
}

mod revoking {
    use super::*;

    #[apply(backends)]
    #[tokio::test]
    async fn reset_with_revocation_deletes_every_session_of_the_user(#[case] backend: Backend) {
        let Some(app) = spawn_mail_app(
            backend,
            "[email_and_password]\nrevoke_sessions_on_password_reset = true",
        )
        .await
        else {
            return;
        };
        let (email, mail) = requested_reset(&app).await;
        let user = app
            .state
            .store
            .find_user_by_email(&email)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            app.state.store.list_sessions(&user.id).await.unwrap().len(),
            1
        );
        let res = app
            .post(
                "/reset-password",
                &json!({"newPassword": NEW_PASSWORD, "token": mail["token"]}),
            )
            .await;
        assert_eq!(res.status(), 200);
        assert!(app
            .state
            .store
            .list_sessions(&user.id)
            .await
            .unwrap()
            .is_empty());
        assert_eq!(app.get_session().await, Value::Null);
    }
}

#[apply(backends)]
#[tokio::test]
async fn known_and_unknown_emails_get_the_same_answer_and_only_the_known_one_a_mail(
    #[case] backend: Backend,
) {
    let Some(app) = spawn_mail_app(backend, "").await else {
        return;
    };
    let (email, mail) = requested_reset(&app).await;
    let token = mail["token"].as_str().unwrap();
    assert_eq!(token.len(), 24);
    assert!(token.chars().all(|c| c.is_ascii_alphanumeric()));
    let user = app
        .state
        .store
        .find_user_by_email(&email)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(mail["userId"], user.id);
    assert_eq!(
        mail["url"],
        format!("http://localhost:3001/api/auth/reset-password/{token}?callbackURL=%2Freset")
    );
    assert!(mail["at"].as_str().unwrap().ends_with('Z'));
    let row = app
        .state
        .store
        .find_verification(&format!("reset-password:{token}"), app.state.clock.now())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.value, user.id);
    assert_eq!((row.expires_at - row.created_at).num_seconds(), 3600);

    let known = app
        .post(
            "/request-password-reset",
            &json!({"email": email.to_uppercase()}),
        )
        .await;
    let unknown = app
        .post("/request-password-reset", &json!({"email": unique_email()}))
        .await;
    assert_eq!(known.status(), unknown.status());
    let known: Value = known.json().await.unwrap();
    let unknown: Value = unknown.json().await.unwrap();
    assert_eq!(known, json!({"status": true, "message": RESET_MESSAGE}));
    assert_eq!(known, unknown);
    assert_eq!(app.mails().len(), 2, "the unknown address got no mail");
}

#[apply(backends)]
#[tokio::test]
async fn the_link_redirects_with_the_token_and_the_token_resets_the_password_once(
    #[case] backend: Backend,
) {
    let Some(app) = spawn_mail_app(backend, "").await else {
        return;
    };
    let (email, mail) = requested_reset(&app).await;
    let token = mail["token"].as_str().unwrap();
    let before = password_hash(&app, &email).await;

    let res = app.get(&app.path_of(mail["url"].as_str().unwrap())).await;
    assert_eq!(res.status(), 302);
    assert_eq!(
        res.headers()["location"],
        format!("http://localhost:3001/reset?token={token}")
    );

    let res = app
        .post(
            "/reset-password",
            &json!({"newPassword": NEW_PASSWORD, "token": token}),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert!(set_cookies(&res).is_empty(), "a reset signs nobody in");
    assert_eq!(res.json::<Value>().await.unwrap(), json!({"status": true}));
    assert_ne!(password_hash(&app, &email).await, before);
    assert!(
        app.state
            .store
            .find_verification(&format!("reset-password:{token}"), app.state.clock.now())
            .await
            .unwrap()
            .is_none(),
        "the token is consumed"
    );
    // Sessions stay unless revocation is configured.
    assert_ne!(app.get_session().await, Value::Null);

    let old = app
        .anonymous()
        .post(app.url("/sign-in/email"))
        .json(&json!({"email": email, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(old.status(), 401);
    let new = app
        .anonymous()
        .post(app.url("/sign-in/email"))
        .json(&json!({"email": email, "password": NEW_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(new.status(), 200);

    let again = app
        .post(
            "/reset-password",
            &json!({"newPassword": "yet another passphrase", "token": token}),
        )
        .await;
    assert_eq!(
        error_code(again).await,
        (400, "INVALID_TOKEN".into(), "Invalid token".into())
    );
    let res = app.get(&app.path_of(mail["url"].as_str().unwrap())).await;
    assert_eq!(
        res.headers()["location"],
        "http://localhost:3001/reset?error=INVALID_TOKEN"
    );
}

#[apply(backends)]
#[tokio::test]
async fn an_expired_token_is_refused(#[case] backend: Backend) {
    let Some(app) = spawn_mail_app(backend, "").await else {
        return;
    };
    let (_, mail) = requested_reset(&app).await;
    app.advance(3601);
    let res = app.get(&app.path_of(mail["url"].as_str().unwrap())).await;
    assert_eq!(res.status(), 302);
    assert_eq!(
        res.headers()["location"],
        "http://localhost:3001/reset?error=INVALID_TOKEN"
    );
    let res = app
        .post(
            "/reset-password",
            &json!({"newPassword": NEW_PASSWORD, "token": mail["token"]}),
        )
        .await;
    assert_eq!(
        error_code(res).await,
        (400, "INVALID_TOKEN".into(), "Invalid token".into())
    );
}

#[apply(backends)]
#[tokio::test]
async fn bad_input_and_untrusted_urls_are_refused_with_the_spec_errors(#[case] backend: Backend) {
    let Some(app) = spawn_mail_app(backend, "").await else {
        return;
    };
    let (_, mail) = requested_reset(&app).await;
    let token = mail["token"].as_str().unwrap();
    let res = app
        .post(
            "/request-password-reset",
            &json!({"email": unique_email(), "redirectTo": "https://evil.example/steal"}),
        )
        .await;
    assert_eq!(
        error_code(res).await,
        (
            403,
            "INVALID_REDIRECT_URL".into(),
            "Invalid redirectURL".into()
        )
    );
    let res = app
        .post("/request-password-reset", &json!({"email": "not-an-email"}))
        .await;
    assert_eq!(
        error_code(res).await,
        (
            400,
            "VALIDATION_ERROR".into(),
            "[body.email] Invalid email address".into()
        )
    );
    let res = app
        .get(&format!(
            "/reset-password/{token}?callbackURL=https%3A%2F%2Fevil.example%2F"
        ))
        .await;
    assert_eq!(
        error_code(res).await,
        (
            403,
            "INVALID_CALLBACK_URL".into(),
            "Invalid callbackURL".into()
        )
    );
    let res = app.get(&format!("/reset-password/{token}")).await;
    assert_eq!(error_code(res).await.1, "VALIDATION_ERROR");
    // An empty callbackURL (no redirectTo at request time) lands on the error page.
    let res = app
        .get(&format!("/reset-password/{token}?callbackURL="))
        .await;
    assert_eq!(
        res.headers()["location"],
        "http://localhost:3001/api/auth/error?error=INVALID_TOKEN"
    );
    let res = app
        .post("/reset-password", &json!({"newPassword": NEW_PASSWORD}))
        .await;
    assert_eq!(
        error_code(res).await,
        (400, "INVALID_TOKEN".into(), "Invalid token".into())
    );
    let res = app
        .post(
            "/reset-password",
            &json!({"newPassword": "short", "token": token}),
        )
        .await;
    assert_eq!(
        error_code(res).await,
        (
            400,
            "PASSWORD_TOO_SHORT".into(),
            "Password too short".into()
        )
    );
    // The token in the query works too, and the failed attempts did not spend it.
    let res = app
        .post(
            &format!("/reset-password?token={token}"),
            &json!({"newPassword": NEW_PASSWORD}),
        )
        .await;
    assert_eq!(res.status(), 200);
}

#[apply(backends)]
#[tokio::test]
async fn of_two_concurrent_resets_with_one_token_exactly_one_succeeds(#[case] backend: Backend) {
    let Some(app) = spawn_mail_app(backend, "").await else {
        return;
    };
    let (_, mail) = requested_reset(&app).await;
    let body = json!({"newPassword": NEW_PASSWORD, "token": mail["token"]});
    let (a, b) = tokio::join!(
        app.post("/reset-password", &body),
        app.post("/reset-password", &body)
    );
    let mut statuses = [a.status().as_u16(), b.status().as_u16()];
    statuses.sort();
    assert_eq!(statuses, [200, 400]);
}
