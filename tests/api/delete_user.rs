use serde_json::{json, Value};

use crate::helpers::*;

/// Signs up (the app's client keeps the session); returns the user id.
async fn signed_up(app: &TestApp) -> String {
    let body: Value = app.sign_up(&unique_email()).await.json().await.unwrap();
    body["user"]["id"].as_str().unwrap().to_owned()
}

/// The user, its sessions and its accounts are all gone.
async fn assert_gone(app: &TestApp, id: &str) {
    let store = &app.state.store;
    assert!(store.find_user_by_id(id).await.unwrap().is_none());
    assert!(store.list_sessions(id).await.unwrap().is_empty());
    assert!(store.list_accounts(id).await.unwrap().is_empty());
}

fn assert_clears_session_cookie(res: &reqwest::Response) {
    let cookies = set_cookies(res);
    let c = cookie(&cookies, "better-auth.session_token").expect("session cookie expired");
    assert!(c.contains("Max-Age=0"), "{c}");
}

mod with_verification {
    use super::*;

    /// The configuration of the scenarios below.
    const CONFIG: &str =
        "[user.delete_user]\nenabled = true\nsend_delete_account_verification = true";

    #[apply(backends)]
    #[tokio::test]
    async fn deletion_waits_for_the_mailed_link(#[case] backend: Backend) {
        let Some(app) = spawn_mail_app(backend, CONFIG).await else {
            return;
        };
        let id = signed_up(&app).await;
        let res = app
            .post("/delete-user", &json!({"callbackURL": "/goodbye"}))
            .await;
        assert_eq!(res.status(), 200);
        assert_eq!(
            res.json::<Value>().await.unwrap(),
            json!({"success": true, "message": "Verification email sent"})
        );
        assert!(app
            .state
            .store
            .find_user_by_id(&id)
            .await
            .unwrap()
            .is_some());
        let mail = app.mails().pop().unwrap();
        assert_eq!(mail["type"], "delete-account");
        let token = mail["token"].as_str().unwrap();
        assert_eq!(token.len(), 32);
        assert!(token
            .chars()
            .all(|c| c.is_ascii_digit() || c.is_ascii_lowercase()));
        assert_eq!(mail["url"], format!("http://localhost:3001/api/auth/delete-user/callback?token={token}&callbackURL=%2Fgoodbye"));

        // Without the user's session the link does nothing.
        let res = app
            .anonymous()
            .get(app.url(&app.path_of(mail["url"].as_str().unwrap())))
            .send()
            .await
            .unwrap();
        assert_eq!(
            error_code(res).await,
            (
                404,
                "FAILED_TO_GET_USER_INFO".into(),
                "Failed to get user info".into()
            )
        );

        let res = app.get(&app.path_of(mail["url"].as_str().unwrap())).await;
        assert_eq!(res.status(), 302);
        assert_eq!(res.headers()["location"], "/goodbye");
        assert_clears_session_cookie(&res);
        assert_gone(&app, &id).await;
        let left = app
            .state
            .store
            .find_verification(&format!("delete-account-{token}"), app.state.clock.now())
            .await
            .unwrap();
        assert!(left.is_none(), "the token is consumed");
    }

    #[apply(backends)]
    #[tokio::test]
    async fn a_token_of_another_user_or_an_expired_one_is_invalid(#[case] backend: Backend) {
        let Some(app) = spawn_mail_app(backend, CONFIG).await else {
            return;
        };
        let victim = app.anonymous();
        let res = victim
            .post(app.url("/sign-up/email"))
            .json(&json!({"email": unique_email(), "password": PASSWORD, "name": "V"}))
            .send()
            .await
            .unwrap();
        let victim_token = res.json::<Value>().await.unwrap()["token"]
            .as_str()
            .unwrap()
            .to_owned();
        victim
            .post(app.url("/delete-user"))
            .bearer_auth(&victim_token)
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        let victims_mail = app.mails().pop().unwrap();

        let id = signed_up(&app).await;
        let res = app
            .get(&format!(
                "/delete-user/callback?token={}",
                victims_mail["token"].as_str().unwrap()
            ))
            .await;
        assert_eq!(
            error_code(res).await,
            (404, "INVALID_TOKEN".into(), "Invalid token".into())
        );

        app.post("/delete-user", &json!({})).await;
        let mine = app.mails().pop().unwrap();
        app.advance(86_401);
        let res = app
            .post("/delete-user", &json!({"token": mine["token"]}))
            .await;
        // A day later the 7-day session is still valid, the token is not.
        assert_eq!(
            error_code(res).await,
            (404, "INVALID_TOKEN".into(), "Invalid token".into())
        );
        assert!(app
            .state
            .store
            .find_user_by_id(&id)
            .await
            .unwrap()
            .is_some());
        let res = app
            .get("/delete-user/callback?token=x&callbackURL=https%3A%2F%2Fevil.example")
            .await;
        assert_eq!(error_code(res).await.1, "INVALID_CALLBACK_URL");
    }

    #[apply(backends)]
    #[tokio::test]
    async fn the_mailed_token_also_works_in_the_post_body(#[case] backend: Backend) {
        let Some(app) = spawn_mail_app(backend, CONFIG).await else {
            return;
        };
        let id = signed_up(&app).await;
        app.post("/delete-user", &json!({})).await;
        let token = app.mails().pop().unwrap()["token"].clone();
        let res = app.post("/delete-user", &json!({"token": token})).await;
        assert_eq!(res.status(), 200);
        assert_clears_session_cookie(&res);
        assert_eq!(
            res.json::<Value>().await.unwrap(),
            json!({"success": true, "message": "User deleted"})
        );
        assert_gone(&app, &id).await;
    }
}

mod immediate {
    use super::*;

    /// The configuration of the scenarios below.
    const CONFIG: &str = "[user.delete_user]\nenabled = true";

    #[apply(backends)]
    #[tokio::test]
    async fn a_fresh_session_deletes_at_once_with_sessions_and_accounts(#[case] backend: Backend) {
        let Some(app) = spawn_mail_app(backend, CONFIG).await else {
            return;
        };
        let id = signed_up(&app).await;
        // A second session of the same user goes too.
        let email = app
            .state
            .store
            .find_user_by_id(&id)
            .await
            .unwrap()
            .unwrap()
            .email;
        app.anonymous()
            .post(app.url("/sign-in/email"))
            .json(&json!({"email": email, "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(app.state.store.list_sessions(&id).await.unwrap().len(), 2);
        let res = app.post("/delete-user", &json!({})).await;
        assert_eq!(res.status(), 200);
        assert_clears_session_cookie(&res);
        assert_eq!(
            res.json::<Value>().await.unwrap(),
            json!({"success": true, "message": "User deleted"})
        );
        assert_gone(&app, &id).await;
        assert!(app.mails().is_empty());
        assert_eq!(app.get_session().await, Value::Null);
    }

    #[apply(backends)]
    #[tokio::test]
    async fn an_old_session_needs_the_password(#[case] backend: Backend) {
        let Some(app) = spawn_mail_app(backend, CONFIG).await else {
            return;
        };
        let id = signed_up(&app).await;
        app.advance(86_400);
        let res = app.post("/delete-user", &json!({})).await;
        assert_eq!(
            error_code(res).await,
            (
                400,
                "SESSION_EXPIRED".into(),
                "Session expired. Re-authenticate to perform this action.".into()
            )
        );
        let res = app
            .post("/delete-user", &json!({"password": "wrong password"}))
            .await;
        assert_eq!(
            error_code(res).await,
            (400, "INVALID_PASSWORD".into(), "Invalid password".into())
        );
        assert!(app
            .state
            .store
            .find_user_by_id(&id)
            .await
            .unwrap()
            .is_some());
        let res = app
            .post("/delete-user", &json!({"password": PASSWORD}))
            .await;
        assert_eq!(res.status(), 200);
        assert_gone(&app, &id).await;
    }
}

#[apply(backends)]
#[tokio::test]
async fn delete_user_is_404_with_an_empty_body_unless_enabled(#[case] backend: Backend) {
    let Some(app) = spawn_mail_app(backend, "").await else {
        return;
    };
    let id = signed_up(&app).await;
    let res = app.post("/delete-user", &json!({})).await;
    assert_eq!(res.status(), 404);
    assert!(res.bytes().await.unwrap().is_empty());
    let res = app.get("/delete-user/callback?token=x").await;
    assert_eq!(
        error_code(res).await,
        (404, "NOT_FOUND".into(), "Not found".into())
    );
    assert!(app
        .state
        .store
        .find_user_by_id(&id)
        .await
        .unwrap()
        .is_some());
    let res = app
        .anonymous()
        .post(app.url("/delete-user"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(res).await,
        (401, "UNAUTHORIZED".into(), "Unauthorized".into())
    );
}
