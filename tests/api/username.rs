//! The username plugin (`[plugins.username]`) on every backend: sign-up with a username (stored
//! normalised, `displayUsername` as given), sign-in by username, availability, update-user, and
//! Better Auth's validation errors and statuses.

use serde_json::{json, Value};

use crate::helpers::*;

const USERNAME: &str = "[plugins.username]\nenabled = true\n";

fn unique_username(prefix: &str) -> String {
    format!(
        "{prefix}_{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    )
}

#[apply(backends)]
#[tokio::test]
async fn usernames_sign_up_sign_in_and_update(#[case] backend: Backend) {
    let Some(app) = spawn_app_with(backend, USERNAME, &[]).await else {
        return;
    };
    let given = unique_username("Ada.Lovelace");
    let email = unique_email();
    let res = app
        .post(
            "/sign-up/email",
            &json!({"email": email, "password": PASSWORD, "name": "Ada", "username": given}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["user"]["username"], given.to_lowercase());
    assert_eq!(body["user"]["displayUsername"], given.as_str());
    let stored = app.user_by_email(&email).await.unwrap();
    assert_eq!(stored.extra["username"], given.to_lowercase());

    // Taken, in any case; too short, too long, bad characters: 400 on sign-up.
    for (username, code) in [
        (given.to_uppercase(), "USERNAME_IS_ALREADY_TAKEN"),
        ("ab".to_owned(), "USERNAME_TOO_SHORT"),
        ("a".repeat(31), "USERNAME_TOO_LONG"),
        ("no spaces".to_owned(), "INVALID_USERNAME"),
    ] {
        let res = app
            .post(
                "/sign-up/email",
                &json!({"email": unique_email(), "password": PASSWORD, "name": "X", "username": username}),
            )
            .await;
        let (status, got, _) = error_code(res).await;
        assert_eq!((status, got.as_str()), (400, code), "{username}");
    }
    let res = app
        .post(
            "/sign-up/email",
            &json!({"email": unique_email(), "password": PASSWORD, "name": "X", "username": given}),
        )
        .await;
    assert_eq!(
        error_code(res).await,
        (
            400,
            "USERNAME_IS_ALREADY_TAKEN".into(),
            "Username is already taken. Please try another.".into()
        )
    );

    // Sign-in by username, in any case; a wrong password and an unknown name look alike.
    let browser = app.browser();
    let res = app
        .post_as(
            &browser,
            "/sign-in/username",
            &json!({"username": given.to_uppercase(), "password": PASSWORD}),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert!(cookie(&set_cookies(&res), "better-auth.session_token").is_some());
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["redirect"], false);
    assert_eq!(body["user"]["email"], email.as_str());
    assert!(body["token"].is_string());
    let wrong = app
        .post(
            "/sign-in/username",
            &json!({"username": given, "password": "wrong-password"}),
        )
        .await;
    let unknown = app
        .post(
            "/sign-in/username",
            &json!({"username": unique_username("nobody"), "password": PASSWORD}),
        )
        .await;
    let expected = (
        401,
        "INVALID_USERNAME_OR_PASSWORD".to_owned(),
        "Invalid username or password".to_owned(),
    );
    assert_eq!(error_code(wrong).await, expected);
    assert_eq!(error_code(unknown).await, expected);
    let res = app
        .post(
            "/sign-in/username",
            &json!({"username": "x!", "password": PASSWORD}),
        )
        .await;
    assert_eq!(
        error_code(res).await,
        (
            422,
            "USERNAME_TOO_SHORT".into(),
            "Username is too short".into()
        )
    );
    let res = app
        .post("/sign-in/username", &json!({"username": given}))
        .await;
    assert_eq!(res.status(), 400, "password is required");

    // Availability.
    let res = app
        .post(
            "/is-username-available",
            &json!({"username": given.to_uppercase()}),
        )
        .await;
    assert_eq!(
        res.json::<Value>().await.unwrap(),
        json!({"available": false})
    );
    let res = app
        .post(
            "/is-username-available",
            &json!({"username": unique_username("free")}),
        )
        .await;
    assert_eq!(
        res.json::<Value>().await.unwrap(),
        json!({"available": true})
    );
    let res = app
        .post("/is-username-available", &json!({"username": "bad name"}))
        .await;
    assert_eq!(
        error_code(res).await,
        (422, "INVALID_USERNAME".into(), "Username is invalid".into())
    );

    // update-user: normalised, another user's name refused, one's own kept.
    let other_email = unique_email();
    let other_name = unique_username("Grace");
    app.post(
        "/sign-up/email",
        &json!({"email": other_email, "password": PASSWORD, "name": "G", "username": other_name}),
    )
    .await;
    let res = app
        .post_as(&browser, "/update-user", &json!({"username": other_name}))
        .await;
    assert_eq!(error_code(res).await.1, "USERNAME_IS_ALREADY_TAKEN");
    let res = app
        .post_as(&browser, "/update-user", &json!({"username": given}))
        .await;
    assert_eq!(res.status(), 200, "one's own username");
    let renamed = unique_username("Countess");
    let res = app
        .post_as(&browser, "/update-user", &json!({"username": renamed}))
        .await;
    assert_eq!(res.status(), 200);
    let session = app.get_session_as(&browser).await;
    assert_eq!(session["user"]["username"], renamed.to_lowercase());
    let res = app
        .post_as(&browser, "/update-user", &json!({"username": "a"}))
        .await;
    assert_eq!(error_code(res).await.1, "USERNAME_TOO_SHORT");
    let res = app
        .post(
            "/sign-in/username",
            &json!({"username": renamed, "password": PASSWORD}),
        )
        .await;
    assert_eq!(res.status(), 200, "the new username signs in");
}

#[apply(backends)]
#[tokio::test]
async fn display_username_stands_in_and_usernames_can_be_immutable(#[case] backend: Backend) {
    let toml = format!("{USERNAME}immutable_username = true\n");
    let Some(app) = spawn_app_with(backend, &toml, &[]).await else {
        return;
    };
    let display = unique_username("Shown");
    let res = app
        .post(
            "/sign-up/email",
            &json!({"email": unique_email(), "password": PASSWORD, "name": "S", "displayUsername": display}),
        )
        .await;
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["user"]["username"], display.to_lowercase());
    assert_eq!(body["user"]["displayUsername"], display.as_str());

    let res = app
        .post(
            "/sign-up/email",
            &json!({"email": unique_email(), "password": PASSWORD, "name": "N"}),
        )
        .await;
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["user"]["username"], Value::Null, "no username");

    let res = app
        .post(
            "/update-user",
            &json!({"username": unique_username("first")}),
        )
        .await;
    assert_eq!(res.status(), 200, "a first username may be set");
    let res = app
        .post(
            "/update-user",
            &json!({"username": unique_username("second")}),
        )
        .await;
    assert_eq!(
        error_code(res).await,
        (
            400,
            "USERNAME_IS_IMMUTABLE".into(),
            "Username cannot be updated".into()
        )
    );
}
