//! The admin plugin (`[plugins.admin]`) on every backend: roles and the admin-email bootstrap,
//! permissions per route, listing with search and pages, creating users, bans (sessions
//! revoked, sign-in refused until the ban ends), passwords, impersonation and its end,
//! removal, and bad input.

use chrono::Duration;
use serde_json::{json, Value};

use crate::helpers::*;

const ADMIN: &str = "[plugins.admin]\nenabled = true\nadmin_emails = [\"*@admin.test\"]\n";

fn admin_email() -> String {
    format!("{}@admin.test", uuid::Uuid::new_v4().simple())
}

/// The app, a signed-in admin (browser) and a signed-up user (id, email).
async fn setup(backend: Backend) -> Option<(TestApp, reqwest::Client, String, String)> {
    let app = spawn_app_with(backend, ADMIN, &[]).await?;
    let admin = app.browser();
    let res = app
        .post_as(
            &admin,
            "/sign-up/email",
            &json!({"email": admin_email(), "password": PASSWORD, "name": "Ada"}),
        )
        .await;
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["user"]["role"], "admin", "admin_emails bootstrap");
    let email = unique_email();
    let res = app.sign_up(&email).await;
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["user"]["role"], "user", "the default role");
    assert_eq!(body["user"]["banned"], false);
    let id = body["user"]["id"].as_str().unwrap().to_owned();
    Some((app, admin, id, email))
}

#[apply(backends)]
#[tokio::test]
async fn only_admins_may_use_the_admin_routes(#[case] backend: Backend) {
    let Some((app, _admin, id, email)) = setup(backend).await else {
        return;
    };
    let user = app.browser();
    assert_eq!(app.sign_in_as(&user, &email, PASSWORD).await.status(), 200);
    let res = app.get_as(&user, "/admin/list-users").await;
    assert_eq!(
        error_code(res).await,
        (
            403,
            "YOU_ARE_NOT_ALLOWED_TO_LIST_USERS".into(),
            "You are not allowed to list users".into()
        )
    );
    let res = app
        .post_as(&user, "/admin/ban-user", &json!({ "userId": id }))
        .await;
    assert_eq!(error_code(res).await.1, "YOU_ARE_NOT_ALLOWED_TO_BAN_USERS");
    let res = app
        .post_as(
            &app.anonymous(),
            "/admin/ban-user",
            &json!({ "userId": id }),
        )
        .await;
    assert_eq!(res.status(), 401);
    assert_eq!(
        res.text().await.unwrap(),
        "",
        "an empty 401 as Better Auth's"
    );
    let res = app
        .post_as(
            &user,
            "/admin/has-permission",
            &json!({"permissions": {"user": ["list"]}}),
        )
        .await;
    assert_eq!(
        res.json::<Value>().await.unwrap(),
        json!({"error": null, "success": false})
    );
}

#[apply(backends)]
#[tokio::test]
async fn an_admin_lists_searches_and_pages_users(#[case] backend: Backend) {
    let Some((app, admin, _, email)) = setup(backend).await else {
        return;
    };
    let url = format!("/admin/list-users?searchValue={email}&limit=10");
    let body: Value = app.get_as(&admin, &url).await.json().await.unwrap();
    assert_eq!(body["total"], 1);
    assert_eq!(body["limit"], 10);
    assert!(body.get("offset").is_none());
    assert_eq!(body["users"][0]["email"], email);
    let body: Value = app
        .get_as(
            &admin,
            "/admin/list-users?sortBy=createdAt&sortDirection=desc&limit=1&offset=1",
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["users"].as_array().unwrap().len(), 1);
    assert_eq!(body["total"], 2);
    assert!(body["users"][0]["email"]
        .as_str()
        .unwrap()
        .ends_with("@admin.test"));
    let body: Value = app
        .get_as(
            &admin,
            "/admin/list-users?filterField=role&filterValue=admin&filterOperator=eq",
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["total"], 1);
    // An unknown column: an empty page, as Better Auth answers when its adapter refuses.
    let body: Value = app
        .get_as(&admin, "/admin/list-users?sortBy=nope")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body, json!({"users": [], "total": 0}));
    let res = app
        .get_as(&admin, "/admin/list-users?searchField=phone")
        .await;
    assert_eq!(
        error_code(res).await,
        (
            400,
            "VALIDATION_ERROR".into(),
            "[query.searchField] Invalid option: expected one of \"email\"|\"name\"".into()
        )
    );
}

#[apply(backends)]
#[tokio::test]
async fn an_admin_creates_users_and_sets_passwords_and_roles(#[case] backend: Backend) {
    let Some((app, admin, id, email)) = setup(backend).await else {
        return;
    };
    let new = unique_email();
    let res = app
        .post_as(
            &admin,
            "/admin/create-user",
            &json!({"email": new.to_uppercase(), "password": PASSWORD, "name": "New", "data": {"nickname": "nn"}}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["user"]["email"], new);
    assert_eq!(body["user"]["role"], "user");
    assert_eq!(body["user"]["nickname"], "nn");
    assert_eq!(app.sign_in(&new, PASSWORD).await.status(), 200);
    let res = app
        .post_as(
            &admin,
            "/admin/create-user",
            &json!({"email": new, "password": PASSWORD, "name": "Again"}),
        )
        .await;
    assert_eq!(
        error_code(res).await.1,
        "USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL"
    );

    let res = app
        .post_as(
            &admin,
            "/admin/set-user-password",
            &json!({"userId": id, "newPassword": "another secret password"}),
        )
        .await;
    assert_eq!(res.json::<Value>().await.unwrap(), json!({"status": true}));
    assert_eq!(app.sign_in(&email, PASSWORD).await.status(), 401);
    assert_eq!(
        app.sign_in(&email, "another secret password")
            .await
            .status(),
        200
    );
    let res = app
        .post_as(
            &admin,
            "/admin/set-user-password",
            &json!({"userId": id, "newPassword": ""}),
        )
        .await;
    assert_eq!(
        error_code(res).await.2,
        "[body.newPassword] newPassword cannot be empty"
    );

    let res = app
        .post_as(
            &admin,
            "/admin/set-role",
            &json!({"userId": id, "role": ["user", "editor"]}),
        )
        .await;
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["user"]["role"], "user,editor");
    let res = app
        .post_as(
            &admin,
            "/admin/set-role",
            &json!({"userId": "nobody", "role": "user"}),
        )
        .await;
    assert_eq!(error_code(res).await.0, 404);
    let body: Value = app
        .get_as(&admin, &format!("/admin/get-user?id={id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["email"], email);
}

#[apply(backends)]
#[tokio::test]
async fn a_ban_revokes_sessions_and_refuses_sign_in_until_it_ends(#[case] backend: Backend) {
    let Some((app, admin, id, email)) = setup(backend).await else {
        return;
    };
    let user = app.browser();
    assert_eq!(app.sign_in_as(&user, &email, PASSWORD).await.status(), 200);
    let res = app
        .post_as(
            &admin,
            "/admin/ban-user",
            &json!({"userId": id, "banReason": "spam", "banExpiresIn": 3600}),
        )
        .await;
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["user"]["banned"], true);
    assert_eq!(body["user"]["banReason"], "spam");
    assert!(body["user"]["banExpires"].is_string());
    let session: Value = app
        .get_as(&user, "/get-session?disableCookieCache=true")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(session, Value::Null, "the user's sessions are gone");
    let res = app.sign_in(&email, PASSWORD).await;
    assert!(set_cookies(&res).is_empty());
    assert_eq!(
        error_code(res).await,
        (
            403,
            "BANNED_USER".into(),
            "You have been banned from this application. Please contact support if you believe this is an error.".into()
        )
    );
    let me = app.get_session_as(&admin).await;
    let res = app
        .post_as(
            &admin,
            "/admin/ban-user",
            &json!({"userId": me["user"]["id"]}),
        )
        .await;
    assert_eq!(error_code(res).await.1, "YOU_CANNOT_BAN_YOURSELF");

    // The ban ends by itself.
    app.advance(3601);
    assert_eq!(app.sign_in(&email, PASSWORD).await.status(), 200);
    let user_row = app.user_by_email(&email).await.unwrap();
    assert_eq!(user_row.extra["banned"], false, "an expired ban is lifted");

    let res = app
        .post_as(&admin, "/admin/ban-user", &json!({"userId": id}))
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(app.sign_in(&email, PASSWORD).await.status(), 403);
    let res = app
        .post_as(&admin, "/admin/unban-user", &json!({"userId": id}))
        .await;
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["user"]["banned"], false);
    assert_eq!(body["user"]["banReason"], Value::Null);
    assert_eq!(app.sign_in(&email, PASSWORD).await.status(), 200);
}

#[apply(backends)]
#[tokio::test]
async fn an_admin_impersonates_a_user_and_comes_back(#[case] backend: Backend) {
    let Some((app, admin, id, email)) = setup(backend).await else {
        return;
    };
    let me = app.get_session_as(&admin).await;
    let res = app
        .post_as(&admin, "/admin/impersonate-user", &json!({"userId": id}))
        .await;
    assert_eq!(res.status(), 200);
    let cookies = set_cookies(&res);
    assert!(cookie(&cookies, "better-auth.admin_session").is_some());
    let token = cookie(&cookies, "better-auth.session_token").unwrap();
    assert!(
        !token.contains("Max-Age"),
        "a browser-session cookie: {token}"
    );
    assert!(cookie(&cookies, "better-auth.dont_remember").is_some());
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["session"]["impersonatedBy"], me["user"]["id"]);
    assert_eq!(body["user"]["email"], email);

    let now = app.get_session_as(&admin).await;
    assert_eq!(now["user"]["email"], email);
    let expires =
        chrono::DateTime::parse_from_rfc3339(now["session"]["expiresAt"].as_str().unwrap())
            .unwrap();
    assert!(expires.to_utc() <= app.state.clock.now() + Duration::seconds(3600));

    // The user's own list does not show the impersonation session.
    let user = app.browser();
    assert_eq!(app.sign_in_as(&user, &email, PASSWORD).await.status(), 200);
    let list: Value = app
        .get_as(&user, "/list-sessions")
        .await
        .json()
        .await
        .unwrap();
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2, "sign-up and sign-in, not the impersonation");
    assert!(list.iter().all(|s| s["impersonatedBy"].is_null()));
    let res = app
        .post_as(&admin, "/admin/list-user-sessions", &json!({"userId": id}))
        .await;
    assert_eq!(
        error_code(res).await.1,
        "YOU_ARE_NOT_ALLOWED_TO_LIST_USERS_SESSIONS",
        "while impersonating, the admin is the user"
    );

    let res = app
        .post_as(&admin, "/admin/stop-impersonating", &json!({}))
        .await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["user"]["id"], me["user"]["id"]);
    let back = app.get_session_as(&admin).await;
    assert_eq!(back["user"]["id"], me["user"]["id"]);
    let res = app
        .post_as(&admin, "/admin/stop-impersonating", &json!({}))
        .await;
    assert_eq!(
        error_code(res).await,
        (
            400,
            String::new(),
            "You are not impersonating anyone".into()
        )
    );
    let listed: Value = app
        .post_as(&admin, "/admin/list-user-sessions", &json!({"userId": id}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        listed["sessions"].as_array().unwrap().len(),
        2,
        "the impersonation session ended with it"
    );
}

#[apply(backends)]
#[tokio::test]
async fn an_admin_updates_revokes_and_removes(#[case] backend: Backend) {
    let Some((app, admin, id, email)) = setup(backend).await else {
        return;
    };
    let res = app
        .post_as(
            &admin,
            "/admin/update-user",
            &json!({"userId": id, "data": {"name": "Renamed", "role": "admin", "emailVerified": true}}),
        )
        .await;
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["name"], "Renamed");
    assert_eq!(body["role"], "admin");
    assert_eq!(body["emailVerified"], true);
    for (data, code) in [
        (json!({}), "NO_DATA_TO_UPDATE"),
        (
            json!({"password": "x"}),
            "PASSWORD_CANNOT_BE_UPDATED_VIA_UPDATE_USER",
        ),
        (json!({"id": "x"}), "USER_ID_CANNOT_BE_UPDATED"),
        (json!({"role": 5}), "INVALID_ROLE_TYPE"),
        (json!({"email": "not an email"}), "INVALID_EMAIL"),
    ] {
        let res = app
            .post_as(
                &admin,
                "/admin/update-user",
                &json!({"userId": id, "data": data}),
            )
            .await;
        assert_eq!(error_code(res).await.1, code, "{data}");
    }
    let res = app
        .post_as(
            &admin,
            "/admin/update-user",
            &json!({"userId": id, "data": "x"}),
        )
        .await;
    assert_eq!(error_code(res).await.0, 400);

    let user = app.browser();
    assert_eq!(app.sign_in_as(&user, &email, PASSWORD).await.status(), 200);
    let res = app
        .post_as(
            &admin,
            "/admin/revoke-user-sessions",
            &json!({"userId": id}),
        )
        .await;
    assert_eq!(res.json::<Value>().await.unwrap(), json!({"success": true}));
    let session: Value = app
        .get_as(&user, "/get-session?disableCookieCache=true")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(session, Value::Null);

    let me = app.get_session_as(&admin).await;
    let res = app
        .post_as(
            &admin,
            "/admin/remove-user",
            &json!({"userId": me["user"]["id"]}),
        )
        .await;
    assert_eq!(error_code(res).await.1, "YOU_CANNOT_REMOVE_YOURSELF");
    let res = app
        .post_as(&admin, "/admin/remove-user", &json!({"userId": id}))
        .await;
    assert_eq!(res.json::<Value>().await.unwrap(), json!({"success": true}));
    assert!(app.user_by_email(&email).await.is_none());
    assert_eq!(app.sign_in(&email, PASSWORD).await.status(), 401);
    let res = app
        .post_as(&admin, "/admin/remove-user", &json!({"userId": id}))
        .await;
    assert_eq!(error_code(res).await.0, 404);
    for body in [json!({}), json!([1]), json!({"userId": {"a": 1}})] {
        let res = app.post_as(&admin, "/admin/ban-user", &body).await;
        assert!(
            (400..500).contains(&res.status().as_u16()),
            "{body}: {}",
            res.status()
        );
    }
}
