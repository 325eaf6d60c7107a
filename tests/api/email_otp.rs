//! The email-OTP plugin (`[plugins.email_otp]`) on every backend: codes for sign-in (creating
//! the user), email verification and password reset, stored in `verification` as Better Auth
//! stores them (plain and hashed), attempts, expiry, single use, answers that do not tell who
//! has an account, and the plugin's rate-limit rule.

use serde_json::{json, Value};

use crate::helpers::*;

const OTP: &str = "[plugins.email_otp]\nenabled = true\n";

/// The newest code mailed to `email` for `otp_type`.
fn code(app: &TestApp, email: &str, otp_type: &str) -> String {
    let mail = app
        .mails()
        .into_iter()
        .rev()
        .find(|m| m["type"] == "email-otp" && m["email"] == email && m["otpType"] == otp_type)
        .unwrap_or_else(|| panic!("no {otp_type} code for {email}"));
    assert_eq!(
        mail.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["type", "email", "otp", "otpType", "at"],
        "the reference's mail line"
    );
    mail["otp"].as_str().unwrap().to_owned()
}

async fn stored(app: &TestApp, identifier: &str) -> Option<String> {
    let now = app.state.clock.now();
    app.state
        .store
        .find_verification(identifier, now)
        .await
        .unwrap()
        .map(|v| v.value)
}

async fn send(app: &TestApp, email: &str, otp_type: &str) {
    let res = app
        .post(
            "/email-otp/send-verification-otp",
            &json!({"email": email, "type": otp_type}),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap(), json!({"success": true}));
}

async fn sign_in(app: &TestApp, email: &str, otp: &str) -> reqwest::Response {
    app.post_as(
        &app.anonymous(),
        "/sign-in/email-otp",
        &json!({"email": email, "otp": otp}),
    )
    .await
}

#[apply(backends)]
#[tokio::test]
async fn codes_sign_in_verify_and_reset(#[case] backend: Backend) {
    let Some(app) = spawn_mail_app(backend, OTP).await else {
        return;
    };
    // Sign-in code for a new address: the user is created, verified.
    let email = unique_email();
    send(&app, &email.to_uppercase(), "sign-in").await;
    let otp = code(&app, &email, "sign-in");
    assert_eq!(otp.len(), 6);
    assert!(otp.bytes().all(|b| b.is_ascii_digit()));
    let id = format!("sign-in-otp-{email}");
    assert_eq!(stored(&app, &id).await.unwrap(), format!("{otp}:0"));
    let wrong = if otp == "000000" { "111111" } else { "000000" };
    let res = sign_in(&app, &email, wrong).await;
    assert_eq!(
        error_code(res).await,
        (400, "INVALID_OTP".into(), "Invalid OTP".into())
    );
    assert_eq!(stored(&app, &id).await.unwrap(), format!("{otp}:1"));
    let res = sign_in(&app, &email, &otp).await;
    assert_eq!(res.status(), 200);
    assert!(cookie(&set_cookies(&res), "better-auth.session_token").is_some());
    let body: Value = res.json().await.unwrap();
    assert!(body["token"].is_string());
    assert_eq!(body["user"]["email"], email.as_str());
    assert_eq!(body["user"]["emailVerified"], true);
    assert_eq!(stored(&app, &id).await, None, "spent");
    let res = sign_in(&app, &email, &otp).await;
    assert_eq!(error_code(res).await.1, "INVALID_OTP", "single use");

    // Email verification of a password user.
    let other = unique_email();
    app.sign_up(&other).await;
    send(&app, &other, "email-verification").await;
    let otp = code(&app, &other, "email-verification");
    let res = app
        .post(
            "/email-otp/verify-email",
            &json!({"email": other, "otp": otp}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["status"], true);
    assert_eq!(body["token"], Value::Null);
    assert_eq!(body["user"]["emailVerified"], true);
    assert!(app.user_by_email(&other).await.unwrap().email_verified);

    // Password reset: check (not spent), reset (spent), new password signs in.
    let res = app
        .post("/forget-password/email-otp", &json!({"email": other}))
        .await;
    assert_eq!(res.json::<Value>().await.unwrap(), json!({"success": true}));
    let otp = code(&app, &other, "forget-password");
    let check = json!({"email": other, "type": "forget-password", "otp": otp});
    for _ in 0..2 {
        let res = app.post("/email-otp/check-verification-otp", &check).await;
        assert_eq!(res.json::<Value>().await.unwrap(), json!({"success": true}));
    }
    let res = app
        .post(
            "/email-otp/reset-password",
            &json!({"email": other, "otp": otp, "password": "short"}),
        )
        .await;
    assert_eq!(error_code(res).await.1, "PASSWORD_TOO_SHORT");
    let res = app
        .post(
            "/email-otp/reset-password",
            &json!({"email": other, "otp": otp, "password": "a-new-password-1"}),
        )
        .await;
    assert_eq!(res.json::<Value>().await.unwrap(), json!({"success": true}));
    assert_eq!(app.sign_in(&other, "a-new-password-1").await.status(), 200);
    let res = app.post("/email-otp/check-verification-otp", &check).await;
    assert_eq!(error_code(res).await.1, "INVALID_OTP", "spent by the reset");

    // Unknown addresses: the same answer, no mail, no code kept.
    let before = app.mails().len();
    let nobody = unique_email();
    send(&app, &nobody, "email-verification").await;
    let res = app
        .post(
            "/email-otp/request-password-reset",
            &json!({"email": nobody}),
        )
        .await;
    assert_eq!(res.json::<Value>().await.unwrap(), json!({"success": true}));
    assert_eq!(app.mails().len(), before);
    assert_eq!(
        stored(&app, &format!("forget-password-otp-{nobody}")).await,
        None
    );

    // Bad input.
    let res = app
        .post(
            "/email-otp/send-verification-otp",
            &json!({"email": "not-an-email", "type": "sign-in"}),
        )
        .await;
    assert_eq!(
        error_code(res).await,
        (400, "INVALID_EMAIL".into(), "Invalid email".into())
    );
    let res = app
        .post(
            "/email-otp/send-verification-otp",
            &json!({"email": email, "type": "other"}),
        )
        .await;
    assert_eq!(error_code(res).await.1, "VALIDATION_ERROR");
}

#[apply(backends)]
#[tokio::test]
async fn wrong_guesses_void_the_code_and_codes_expire(#[case] backend: Backend) {
    let toml = format!("{OTP}store_otp = \"hashed\"\nallowed_attempts = 2\n");
    let Some(app) = spawn_mail_app(backend, &toml).await else {
        return;
    };
    let email = unique_email();
    app.sign_up(&email).await;
    send(&app, &email, "sign-in").await;
    let otp = code(&app, &email, "sign-in");
    let id = format!("sign-in-otp-{email}");
    let hashed = better_auth_rs::plugins::email_otp::hash_code(&otp);
    assert_eq!(stored(&app, &id).await.unwrap(), format!("{hashed}:0"));
    let wrong = if otp == "000000" { "111111" } else { "000000" };
    for _ in 0..2 {
        assert_eq!(
            error_code(sign_in(&app, &email, wrong).await).await.1,
            "INVALID_OTP"
        );
    }
    assert_eq!(
        error_code(sign_in(&app, &email, &otp).await).await,
        (403, "TOO_MANY_ATTEMPTS".into(), "Too many attempts".into())
    );
    assert_eq!(
        error_code(sign_in(&app, &email, &otp).await).await.1,
        "INVALID_OTP"
    );

    // A new code works, until it expires.
    send(&app, &email, "sign-in").await;
    let otp = code(&app, &email, "sign-in");
    app.advance(301);
    assert_eq!(
        error_code(sign_in(&app, &email, &otp).await).await,
        (400, "OTP_EXPIRED".into(), "OTP expired".into())
    );
    send(&app, &email, "sign-in").await;
    let otp = code(&app, &email, "sign-in");
    let res = sign_in(&app, &email, &otp).await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["user"]["emailVerified"], true, "proven by the code");
}

#[tokio::test]
async fn code_routes_have_better_auths_plugin_rate_limit() {
    let toml = format!("{OTP}[rate_limit]\nenabled = true\n");
    let Some(app) = spawn_mail_app(Backend::Sqlite, &toml).await else {
        return;
    };
    let email = unique_email();
    for _ in 0..3 {
        send(&app, &email, "sign-in").await;
    }
    let res = app
        .post(
            "/email-otp/send-verification-otp",
            &json!({"email": email, "type": "sign-in"}),
        )
        .await;
    assert_eq!(res.status(), 429);
    assert_eq!(res.headers()["x-retry-after"], "60");
    // /sign-in/email-otp: the plugin's 60 s rule, not the 10 s rule of /sign-in/*.
    for _ in 0..3 {
        assert_eq!(sign_in(&app, &email, "000000").await.status(), 400);
    }
    let res = sign_in(&app, &email, "000000").await;
    assert_eq!(res.status(), 429);
    assert_eq!(res.headers()["x-retry-after"], "60");
}

/// `changeEmail` on every backend: the code stored under `change-email-otp-<user>:<new>`,
/// attempts counted, the switch written and verified; a taken address stores and sends nothing;
/// bad input answers as Better Auth does; off, both routes refuse.
#[apply(backends)]
#[tokio::test]
async fn changing_the_address_with_a_code(#[case] backend: Backend) {
    let change = "[plugins.email_otp.change_email]\nenabled = true\n";
    let Some(app) = spawn_mail_app(backend, &format!("{OTP}{change}")).await else {
        return;
    };
    let email = unique_email();
    let new_email = unique_email();
    assert_eq!(app.sign_up(&email).await.status(), 200);
    let user = app.user_by_email(&email).await.unwrap();

    let res = app
        .post("/email-otp/request-email-change", &json!({}))
        .await;
    assert_eq!(error_code(res).await.0, 400);
    let res = app
        .post(
            "/email-otp/request-email-change",
            &json!({"newEmail": "nope"}),
        )
        .await;
    assert_eq!(error_code(res).await.1, "INVALID_EMAIL");
    let res = app
        .post_as(
            &app.anonymous(),
            "/email-otp/request-email-change",
            &json!({"newEmail": new_email}),
        )
        .await;
    assert_eq!(res.status(), 401);

    let res = app
        .post(
            "/email-otp/request-email-change",
            &json!({"newEmail": new_email.to_uppercase()}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let id = format!("change-email-otp-{}:{new_email}", user.id);
    let otp = code(&app, &new_email, "change-email");
    assert_eq!(stored(&app, &id).await.unwrap(), format!("{otp}:0"));
    let wrong = if otp == "000000" { "111111" } else { "000000" };
    let res = app
        .post(
            "/email-otp/change-email",
            &json!({"newEmail": new_email, "otp": wrong}),
        )
        .await;
    assert_eq!(error_code(res).await.1, "INVALID_OTP");
    assert_eq!(stored(&app, &id).await.unwrap(), format!("{otp}:1"));
    let res = app
        .post(
            "/email-otp/change-email",
            &json!({"newEmail": new_email, "otp": otp}),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap(), json!({"success": true}));
    assert!(stored(&app, &id).await.is_none(), "the code is spent");
    let changed = app.user_by_email(&new_email).await.unwrap();
    assert_eq!(
        (changed.id.as_str(), changed.email_verified),
        (user.id.as_str(), true)
    );
    assert!(app.user_by_email(&email).await.is_none());

    // An address another user has: the same answer, no code kept, no mail.
    let taken = unique_email();
    assert_eq!(
        app.post_as(
            &app.anonymous(),
            "/sign-up/email",
            &json!({"email": taken, "password": PASSWORD, "name": "T"})
        )
        .await
        .status(),
        200
    );
    let mails = app.mails().len();
    let res = app
        .post(
            "/email-otp/request-email-change",
            &json!({"newEmail": taken}),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(app.mails().len(), mails);
    assert!(
        stored(&app, &format!("change-email-otp-{}:{taken}", user.id))
            .await
            .is_none()
    );

    // Off (the default), both routes refuse.
    let Some(off) = spawn_mail_app(backend, OTP).await else {
        return;
    };
    off.sign_up(&unique_email()).await;
    for path in ["/email-otp/request-email-change", "/email-otp/change-email"] {
        let res = off
            .post(path, &json!({"newEmail": unique_email(), "otp": "123456"}))
            .await;
        assert_eq!(res.status(), 400);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["message"], "Change email with OTP is disabled");
    }
}
