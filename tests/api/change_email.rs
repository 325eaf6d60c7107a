use serde_json::{json, Value};

use crate::helpers::*;

async fn user_row(app: &TestApp, id: &str) -> better_auth_rs::store::User {
    app.state.store.find_user_by_id(id).await.unwrap().unwrap()
}

/// Signs up (the app's client keeps the session); returns the email and the user id.
async fn signed_up(app: &TestApp) -> (String, String) {
    let email = unique_email();
    let body: Value = app.sign_up(&email).await.json().await.unwrap();
    (email, body["user"]["id"].as_str().unwrap().to_owned())
}

/// Verifies the signed-in user's address through the mailed link.
async fn verified(app: &TestApp, email: &str) {
    app.post("/send-verification-email", &json!({"email": email}))
        .await;
    let mail = app.last_mail("verify-email", email);
    assert_eq!(
        app.get(&app.path_of(mail["url"].as_str().unwrap()))
            .await
            .status(),
        302
    );
}

mod confirmation {
    use super::*;

    /// The configuration of the scenarios below.
    const CONFIG: &str =
        "[user.change_email]\nenabled = true\nsend_change_email_confirmation = true";

    #[apply(backends)]
    #[tokio::test]
    async fn a_verified_user_confirms_from_the_old_address_then_verifies_the_new_one(
        #[case] backend: Backend,
    ) {
        let Some(app) = spawn_mail_app(backend, CONFIG).await else {
            return;
        };
        let (old, id) = signed_up(&app).await;
        verified(&app, &old).await;
        let new = unique_email();
        let res = app
            .post(
                "/change-email",
                &json!({"newEmail": new.to_uppercase(), "callbackURL": "/settings"}),
            )
            .await;
        assert_eq!(res.status(), 200);
        assert_eq!(res.json::<Value>().await.unwrap(), json!({"status": true}));
        assert_eq!(user_row(&app, &id).await.email, old, "nothing changes yet");

        let confirm = app.last_mail("change-email-verification", &old);
        assert_eq!(confirm["userId"], id);
        let res = app
            .get(&app.path_of(confirm["url"].as_str().unwrap()))
            .await;
        assert_eq!(res.status(), 302);
        assert_eq!(res.headers()["location"], "/settings");
        assert_eq!(user_row(&app, &id).await.email, old);

        let verify = app.last_mail("verify-email", &new);
        let path = app
            .path_of(verify["url"].as_str().unwrap())
            .replace("callbackURL=%2Fsettings", "callbackURL=");
        let res = app.get(&path).await;
        assert_eq!(res.status(), 200);
        let cookies = set_cookies(&res);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["status"], true);
        assert_eq!(body["user"]["email"], new);
        let user = user_row(&app, &id).await;
        assert_eq!(user.email, new);
        assert!(user.email_verified);
        assert!(
            cookie(&cookies, "better-auth.session_token").is_some(),
            "the session cookie is re-set"
        );
        assert_eq!(app.get_session().await["user"]["email"], new);
    }

    #[apply(backends)]
    #[tokio::test]
    async fn a_token_for_another_users_session_is_invalid_user(#[case] backend: Backend) {
        let Some(app) = spawn_mail_app(backend, CONFIG).await else {
            return;
        };
        let (old, _) = signed_up(&app).await;
        verified(&app, &old).await;
        app.post("/change-email", &json!({"newEmail": unique_email()}))
            .await;
        let confirm = app.last_mail("change-email-verification", &old);
        // Someone else, signed in, opens the link.
        let intruder = app.anonymous();
        let res = intruder
            .post(app.url("/sign-up/email"))
            .json(&json!({"email": unique_email(), "password": PASSWORD, "name": "Eve"}))
            .send()
            .await
            .unwrap();
        let token = res.json::<Value>().await.unwrap()["token"]
            .as_str()
            .unwrap()
            .to_owned();
        let res = intruder
            .get(app.url(&app.path_of(confirm["url"].as_str().unwrap())))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 302);
        assert_eq!(res.headers()["location"], "/?error=INVALID_USER");
    }
}

mod immediate {
    use super::*;

    #[apply(backends)]
    #[tokio::test]
    async fn an_unverified_user_changes_at_once_and_the_new_address_is_mailed(
        #[case] backend: Backend,
    ) {
        let Some(app) = spawn_mail_app(
            backend,
            "[user.change_email]\nenabled = true\nupdate_email_without_verification = true",
        )
        .await
        else {
            return;
        };
        let (_, id) = signed_up(&app).await;
        let new = unique_email();
        let res = app.post("/change-email", &json!({"newEmail": new})).await;
        assert_eq!(res.status(), 200);
        assert!(cookie(&set_cookies(&res), "better-auth.session_token").is_some());
        let user = user_row(&app, &id).await;
        assert_eq!(user.email, new);
        assert!(!user.email_verified);
        let mail = app.last_mail("verify-email", &new);
        assert_eq!(
            app.get(&app.path_of(mail["url"].as_str().unwrap()))
                .await
                .status(),
            302
        );
        assert!(user_row(&app, &id).await.email_verified);
    }
}

mod disabled {
    use super::*;

    #[apply(backends)]
    #[tokio::test]
    async fn change_email_is_off_unless_enabled(#[case] backend: Backend) {
        let Some(app) = spawn_mail_app(backend, "").await else {
            return;
        };
        signed_up(&app).await;
        let res = app
            .post("/change-email", &json!({"newEmail": unique_email()}))
            .await;
        assert_eq!(
            error_code(res).await,
            (
                400,
                "CHANGE_EMAIL_DISABLED".into(),
                "Change email is disabled".into()
            )
        );
    }
}

/// The configuration of the scenarios below.
const CONFIG: &str = "[user.change_email]\nenabled = true";

#[apply(backends)]
#[tokio::test]
async fn without_confirmation_the_new_address_verifies_the_change(#[case] backend: Backend) {
    let Some(app) = spawn_mail_app(backend, CONFIG).await else {
        return;
    };
    let (old, id) = signed_up(&app).await;
    let new = unique_email();
    assert_eq!(
        app.post("/change-email", &json!({"newEmail": new}))
            .await
            .status(),
        200
    );
    let mail = app.last_mail("verify-email", &new);
    let res = app.get(&app.path_of(mail["url"].as_str().unwrap())).await;
    assert_eq!(res.status(), 302);
    assert_eq!(res.headers()["location"], "/");
    let user = user_row(&app, &id).await;
    assert_eq!(user.email, new);
    // Better Auth 1.7.25 keeps the verified flag as it was.
    assert!(!user.email_verified);
    assert!(app
        .state
        .store
        .find_user_by_email(&old)
        .await
        .unwrap()
        .is_none());
}

#[apply(backends)]
#[tokio::test]
async fn taken_same_and_missing_session_cases(#[case] backend: Backend) {
    let Some(app) = spawn_mail_app(backend, CONFIG).await else {
        return;
    };
    let (email, id) = signed_up(&app).await;
    let taken = unique_email();
    app.anonymous()
        .post(app.url("/sign-up/email"))
        .json(&json!({"email": taken, "password": PASSWORD, "name": "B"}))
        .send()
        .await
        .unwrap();
    let res = app.post("/change-email", &json!({"newEmail": taken})).await;
    assert_eq!(res.status(), 200, "a taken address looks like success");
    assert_eq!(res.json::<Value>().await.unwrap(), json!({"status": true}));
    assert!(app.mails().is_empty());
    assert_eq!(user_row(&app, &id).await.email, email);

    let res = app
        .post("/change-email", &json!({"newEmail": email.to_uppercase()}))
        .await;
    assert_eq!(res.status(), 400);
    assert_eq!(
        res.json::<Value>().await.unwrap(),
        json!({"message": "Email is the same"})
    );

    let res = app
        .post("/change-email", &json!({"newEmail": "nope"}))
        .await;
    assert_eq!(error_code(res).await.1, "VALIDATION_ERROR");
    let res = app
        .post(
            "/change-email",
            &json!({"newEmail": unique_email(), "callbackURL": "https://evil.example"}),
        )
        .await;
    assert_eq!(error_code(res).await.1, "INVALID_CALLBACK_URL");
    let res = app
        .anonymous()
        .post(app.url("/change-email"))
        .json(&json!({"newEmail": unique_email()}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(res).await,
        (401, "UNAUTHORIZED".into(), "Unauthorized".into())
    );
}
