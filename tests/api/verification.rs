use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::helpers::*;

async fn user_row(app: &TestApp, email: &str) -> better_auth_rs::store::User {
    app.state
        .store
        .find_user_by_email(email)
        .await
        .unwrap()
        .unwrap()
}

mod required {
    use super::*;

    /// The configuration of the scenarios below.
    const CONFIG: &str = "[email_and_password]\nrequire_email_verification = true\n[email_verification]\nsend_on_sign_in = true";

    #[apply(backends)]
    #[tokio::test]
    async fn sign_up_mails_a_link_and_sign_in_waits_for_it(#[case] backend: Backend) {
        let Some(app) = spawn_mail_app(backend, CONFIG).await else {
            return;
        };
        let email = unique_email();
        let res = app.post("/sign-up/email", &json!({"email": email, "password": PASSWORD, "name": "Ada", "callbackURL": "/welcome"})).await;
        assert_eq!(res.status(), 200);
        assert!(
            set_cookies(&res).is_empty(),
            "no session before verification"
        );
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["token"], Value::Null);
        let mail = app.last_mail("verify-email", &email);
        let token = mail["token"].as_str().unwrap();
        assert_eq!(
            mail["url"],
            format!(
                "http://localhost:3001/api/auth/verify-email?token={token}&callbackURL=%2Fwelcome"
            )
        );
        assert_eq!(mail["userId"], body["user"]["id"]);

        // Refused, and (send_on_sign_in) mailed again.
        let res = app.sign_in(&email, PASSWORD).await;
        assert!(set_cookies(&res).is_empty());
        assert_eq!(
            error_code(res).await,
            (
                403,
                "EMAIL_NOT_VERIFIED".into(),
                "Email not verified".into()
            )
        );
        assert_eq!(
            app.mails()
                .iter()
                .filter(|m| m["type"] == "verify-email")
                .count(),
            2
        );

        let res = app.get(&format!("/verify-email?token={token}")).await;
        assert_eq!(res.status(), 200);
        assert!(
            set_cookies(&res).is_empty(),
            "no auto sign-in unless configured"
        );
        assert_eq!(
            res.json::<Value>().await.unwrap(),
            json!({"status": true, "user": null})
        );
        assert!(user_row(&app, &email).await.email_verified);
        assert_eq!(app.sign_in(&email, PASSWORD).await.status(), 200);
        // Verifying again is a quiet success; the token is stateless.
        let res = app
            .get(&format!("/verify-email?token={token}&callbackURL=%2Fdone"))
            .await;
        assert_eq!(res.status(), 302);
        assert_eq!(res.headers()["location"], "/done");
    }

    #[apply(backends)]
    #[tokio::test]
    async fn a_second_sign_up_with_the_same_email_looks_like_the_first(#[case] backend: Backend) {
        let Some(app) = spawn_mail_app(backend, CONFIG).await else {
            return;
        };
        let email = unique_email();
        let first: Value = app.sign_up(&email).await.json().await.unwrap();
        let second = app.sign_up(&email).await;
        assert_eq!(second.status(), 200);
        let second: Value = second.json().await.unwrap();
        assert_eq!(second["token"], Value::Null);
        assert_ne!(second["user"]["id"], first["user"]["id"]);
        assert_eq!(app.mails().len(), 1, "no mail for the duplicate");
    }
}

mod auto_sign_in {
    use super::*;

    #[apply(backends)]
    #[tokio::test]
    async fn verifying_in_another_browser_signs_it_in(#[case] backend: Backend) {
        let Some(app) = spawn_mail_app(
            backend,
            "[email_verification]\nauto_sign_in_after_verification = true\nsend_on_sign_up = true",
        )
        .await
        else {
            return;
        };
        let email = unique_email();
        app.sign_up(&email).await;
        let token = app.last_mail("verify-email", &email)["token"]
            .as_str()
            .unwrap()
            .to_owned();
        let other = app.anonymous();
        let res = other
            .get(app.url(&format!("/verify-email?token={token}")))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let cookies = set_cookies(&res);
        let session = cookie(&cookies, "better-auth.session_token").expect("a new session");
        let user = user_row(&app, &email).await;
        assert!(user.email_verified);
        let sessions = app.state.store.list_sessions(&user.id).await.unwrap();
        assert_eq!(sessions.len(), 2);
        assert!(sessions.iter().any(|s| session.contains(&s.token)));
    }
}

#[apply(backends)]
#[tokio::test]
async fn send_verification_email_with_a_session_mails_the_signed_in_user(#[case] backend: Backend) {
    let Some(app) = spawn_mail_app(backend, "").await else {
        return;
    };
    let email = unique_email();
    app.sign_up(&email).await;
    assert!(app.mails().is_empty(), "sign-up sends nothing by default");
    let res = app
        .post(
            "/send-verification-email",
            &json!({"email": email.to_uppercase(), "callbackURL": "/ok"}),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap(), json!({"status": true}));
    let mail = app.last_mail("verify-email", &email);
    assert!(mail["url"]
        .as_str()
        .unwrap()
        .ends_with("&callbackURL=%2Fok"));

    let res = app
        .post(
            "/send-verification-email",
            &json!({"email": unique_email()}),
        )
        .await;
    assert_eq!(
        error_code(res).await,
        (400, "EMAIL_MISMATCH".into(), "Email mismatch".into())
    );

    let res = app.get(&app.path_of(mail["url"].as_str().unwrap())).await;
    assert_eq!(res.status(), 302);
    assert_eq!(res.headers()["location"], "/ok");
    assert!(user_row(&app, &email).await.email_verified);
    let res = app
        .post("/send-verification-email", &json!({"email": email}))
        .await;
    assert_eq!(
        error_code(res).await,
        (
            400,
            "EMAIL_ALREADY_VERIFIED".into(),
            "Email is already verified".into()
        )
    );
}

#[apply(backends)]
#[tokio::test]
async fn send_verification_email_without_a_session_never_tells_who_exists(
    #[case] backend: Backend,
) {
    let Some(app) = spawn_mail_app(backend, "").await else {
        return;
    };
    let email = unique_email();
    app.sign_up(&email).await;
    let anonymous = app.anonymous();
    let mut bodies = Vec::new();
    for address in [email.clone(), unique_email()] {
        let started = Instant::now();
        let res = anonymous
            .post(app.url("/send-verification-email"))
            .json(&json!({"email": address}))
            .send()
            .await
            .unwrap();
        assert!(
            started.elapsed() >= Duration::from_millis(500),
            "the answer takes at least 500 ms"
        );
        assert_eq!(res.status(), 200);
        bodies.push(res.json::<Value>().await.unwrap());
    }
    assert_eq!(bodies[0], bodies[1]);
    assert_eq!(
        app.mails().len(),
        1,
        "only the existing, unverified address is mailed"
    );
    assert_eq!(app.mails()[0]["email"], email);
}

#[apply(backends)]
#[tokio::test]
async fn bad_expired_and_foreign_tokens_fail_by_redirect_or_401(#[case] backend: Backend) {
    let Some(app) = spawn_mail_app(backend, "").await else {
        return;
    };
    let email = unique_email();
    app.sign_up(&email).await;
    app.post("/send-verification-email", &json!({"email": email}))
        .await;
    let token = app.last_mail("verify-email", &email)["token"]
        .as_str()
        .unwrap()
        .to_owned();

    let res = app.get("/verify-email?token=not.a.jwt").await;
    assert_eq!(
        error_code(res).await,
        (401, "INVALID_TOKEN".into(), "Invalid token".into())
    );
    let res = app
        .get("/verify-email?token=nope&callbackURL=%2Fverified%3Fa%3D1")
        .await;
    assert_eq!(res.status(), 302);
    assert_eq!(
        res.headers()["location"],
        "/verified?a=1&error=INVALID_TOKEN"
    );
    let res = app
        .get(&format!(
            "/verify-email?token={token}&callbackURL=https%3A%2F%2Fevil.example"
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
    let res = app.get("/verify-email").await;
    assert_eq!(
        error_code(res).await,
        (
            400,
            "VALIDATION_ERROR".into(),
            "[query.token] Invalid input: expected string, received undefined".into()
        )
    );

    app.advance(3600);
    let res = app.get(&format!("/verify-email?token={token}")).await;
    assert_eq!(
        error_code(res).await,
        (401, "TOKEN_EXPIRED".into(), "Token expired".into())
    );
    let res = app
        .get(&format!("/verify-email?token={token}&callbackURL=%2Fv"))
        .await;
    assert_eq!(res.headers()["location"], "/v?error=TOKEN_EXPIRED");
    assert!(!user_row(&app, &email).await.email_verified);
}

#[apply(backends)]
#[tokio::test]
async fn a_token_for_a_deleted_user_is_user_not_found(#[case] backend: Backend) {
    let Some(app) = spawn_mail_app(backend, "").await else {
        return;
    };
    let email = unique_email();
    app.sign_up(&email).await;
    app.post("/send-verification-email", &json!({"email": email}))
        .await;
    let token = app.last_mail("verify-email", &email)["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let user = user_row(&app, &email).await;
    app.state.store.delete_user(&user.id).await.unwrap();
    let res = app.get(&format!("/verify-email?token={token}")).await;
    assert_eq!(
        error_code(res).await,
        (401, "USER_NOT_FOUND".into(), "User not found".into())
    );
}
