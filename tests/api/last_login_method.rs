//! The last-login-method plugin (`[plugins.last_login_method]`) on every backend: the readable
//! cookie after sign-up and sign-in by email and magic link, none after a failed sign-in, and
//! `user.lastLoginMethod` with `store_in_database`.

use serde_json::json;

use crate::helpers::*;

const COOKIE: &str = "better-auth.last_used_login_method";

#[apply(backends)]
#[tokio::test]
async fn sign_ins_leave_their_method(#[case] backend: Backend) {
    let toml = "[plugins.last_login_method]\nenabled = true\nstore_in_database = true\n\
                [plugins.magic_link]\nenabled = true\n";
    let Some(app) = spawn_mail_app(backend, toml).await else {
        return;
    };
    let email = unique_email();
    let res = app.sign_up(&email).await;
    let cookies = set_cookies(&res);
    let set = cookie(&cookies, COOKIE).expect("the method cookie");
    assert!(set.starts_with(&format!("{COOKIE}=email;")), "{set}");
    assert!(
        set.contains("Max-Age=2592000") && set.contains("Path=/"),
        "{set}"
    );
    assert!(
        set.contains("SameSite=Lax") && !set.contains("HttpOnly"),
        "{set}"
    );
    let user = app.user_by_email(&email).await.unwrap();
    assert_eq!(user.extra["lastLoginMethod"], "email");

    let res = app.sign_in(&email, "wrong-password").await;
    assert!(cookie(&set_cookies(&res), COOKIE).is_none());
    let res = app.sign_in(&email, PASSWORD).await;
    assert!(cookie(&set_cookies(&res), COOKIE)
        .is_some_and(|c| c.starts_with(&format!("{COOKIE}=email;"))));
    let session = app.get_session_as(&app.client).await;
    assert_eq!(session["user"]["lastLoginMethod"], "email");

    let res = app
        .post("/sign-in/magic-link", &json!({"email": email}))
        .await;
    assert_eq!(res.status(), 200);
    let link = app.last_mail("magic-link", &email)["url"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = app.get_as(&app.anonymous(), &app.path_of(&link)).await;
    let cookies = set_cookies(&res);
    assert!(
        cookie(&cookies, COOKIE).is_some_and(|c| c.starts_with(&format!("{COOKIE}=magic-link;")))
    );
    let user = app.user_by_email(&email).await.unwrap();
    assert_eq!(user.extra["lastLoginMethod"], "magic-link");
}
