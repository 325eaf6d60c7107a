//! The operator commands of the binary (docs/operations.md §5) on every database, checked
//! against the running service: a user made by `user create` signs in over HTTP, a password
//! set by `user set-password` is the one that works, `sessions revoke` ends what get-session
//! sees, `secret rotate` re-seals the JWT keys so the old secret can go.

use std::io::Write;
use std::process::{Output, Stdio};

use rstest_reuse::apply;
use serde_json::Value;

use crate::helpers::{
    backends, binary, count_rows, rstest, spawn_app_with, unique_email, Backend, TestApp,
    BASE_TOML, SECRET,
};

const NEW_SECRET: &str = "rotated-secret-0123456789abcdef0123456789ab";

/// Runs `better-auth-rs <args>` on the app's database with the app's configuration plus
/// `toml`, `stdin` as standard input.
fn run(app: &TestApp, toml: &str, env: &[(&str, &str)], args: &[&str], stdin: &str) -> Output {
    let mut child = binary(&app._db, &format!("{BASE_TOML}\n{toml}"), env)
        .args(args)
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// The JSON answer of a command that must succeed.
fn ok_json(out: Output) -> Value {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}{stderr}");
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout:?}"))
}

/// A command that must fail: its exit code and its one line of standard error.
fn failure(out: Output) -> (i32, String) {
    let stderr = String::from_utf8_lossy(&out.stderr).trim().to_owned();
    assert!(!out.status.success(), "succeeded: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr:?}");
    (out.status.code().unwrap_or(-1), stderr)
}

async fn session_user(app: &TestApp, client: &reqwest::Client) -> Value {
    let res = app.get_as(client, "/get-session").await;
    assert_eq!(res.status(), 200);
    res.json::<Value>().await.unwrap()
}

#[apply(backends)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_and_session_commands_run_the_api_flows(#[case] backend: Backend) {
    let Some(app) = spawn_app_with(backend, "", &[]).await else {
        return;
    };
    let email = unique_email();
    let password = "operator-made password";

    // user create: the password from stdin; the user signs in over HTTP with it.
    let created = ok_json(run(
        &app,
        "",
        &[],
        &[
            "user", "create", "--email", &email, "--name", "Op Made", "--json",
        ],
        &format!("{password}\n"),
    ));
    let id = created["user"]["id"].as_str().unwrap().to_owned();
    assert_eq!(created["user"]["email"], email.as_str());
    assert_eq!(created["user"]["name"], "Op Made");
    assert_eq!(
        created["user"]["role"], "user",
        "custom field defaults apply"
    );
    assert_eq!(count_rows(&app, "account").await, 1);
    assert_eq!(app.sign_in(&email, password).await.status(), 200);
    let other = app.browser();
    let res = app
        .post_as(
            &other,
            "/sign-in/email",
            &serde_json::json!({ "email": email, "password": password }),
        )
        .await;
    assert_eq!(res.status(), 200);

    // The same rules as sign-up: a taken email, a short password, a bad email.
    let (code, line) = failure(run(
        &app,
        "",
        &[],
        &["user", "create", "--email", &email],
        "x-long-password",
    ));
    assert_eq!(code, 1);
    assert!(line.contains("USER_ALREADY_EXISTS"), "{line}");
    let (_, line) = failure(run(
        &app,
        "",
        &[],
        &["user", "create", "--email", &unique_email()],
        "short",
    ));
    assert!(line.contains("PASSWORD_TOO_SHORT"), "{line}");
    let (_, line) = failure(run(
        &app,
        "",
        &[],
        &["user", "create", "--email", "not-an-email"],
        "long-enough-1",
    ));
    assert!(line.contains("INVALID_EMAIL"), "{line}");
    let (_, line) = failure(run(
        &app,
        "",
        &[],
        &["user", "create", "--email", &unique_email()],
        "",
    ));
    assert!(line.contains("standard input"), "{line}");

    // list and show.
    let list = ok_json(run(&app, "", &[], &["user", "list", "--json"], ""));
    assert_eq!(list["total"], 1);
    assert_eq!(list["users"][0]["id"], id.as_str());
    let shown = ok_json(run(&app, "", &[], &["user", "show", &email, "--json"], ""));
    assert_eq!(shown["user"]["id"], id.as_str());
    assert_eq!(shown["accounts"], serde_json::json!(["credential"]));
    assert_eq!(shown["activeSessions"], 2);
    let human = run(&app, "", &[], &["user", "show", &id], "");
    assert!(String::from_utf8_lossy(&human.stdout).contains(&email));

    // sessions list: both sessions, no token anywhere.
    let sessions = ok_json(run(
        &app,
        "",
        &[],
        &["sessions", "list", "--user", &email, "--json"],
        "",
    ));
    let listed = sessions["sessions"].as_array().unwrap();
    assert_eq!(listed.len(), 2);
    assert!(listed
        .iter()
        .all(|s| s["userId"] == id.as_str() && s.get("token").is_none()));

    // set-password: the new password works, the old does not, sessions end.
    ok_json(run(
        &app,
        "",
        &[],
        &["user", "set-password", &id, "--revoke-sessions", "--json"],
        "the new operator password",
    ));
    assert!(
        session_user(&app, &app.client).await.is_null(),
        "sessions ended"
    );
    assert_eq!(app.sign_in(&email, password).await.status(), 401);
    assert_eq!(
        app.sign_in(&email, "the new operator password")
            .await
            .status(),
        200
    );
    assert!(!session_user(&app, &app.client).await.is_null());

    // sessions revoke --all ends what get-session sees.
    let revoked = ok_json(run(
        &app,
        "",
        &[],
        &["sessions", "revoke", "--all", "--json"],
        "",
    ));
    assert_eq!(revoked["revoked"], 1);
    assert!(session_user(&app, &app.client).await.is_null());
    let (_, line) = failure(run(
        &app,
        "",
        &[],
        &["sessions", "list", "--user", "nobody@example.com"],
        "",
    ));
    assert!(line.contains("user not found"), "{line}");

    // delete: user, accounts and sessions gone.
    assert_eq!(
        app.sign_in(&email, "the new operator password")
            .await
            .status(),
        200
    );
    ok_json(run(
        &app,
        "",
        &[],
        &["user", "delete", &email, "--json"],
        "",
    ));
    let user_table = if backend == Backend::MySql {
        "`user`"
    } else {
        "\"user\""
    };
    assert_eq!(count_rows(&app, user_table).await, 0);
    assert_eq!(count_rows(&app, "account").await, 0);
    assert!(session_user(&app, &app.client).await.is_null());
    let (code, line) = failure(run(&app, "", &[], &["user", "show", &email], ""));
    assert_eq!(code, 1);
    assert!(line.contains("user not found"), "{line}");
}

#[apply(backends)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jwks_list_rotate_and_secret_rotate(#[case] backend: Backend) {
    let toml = "[plugins.jwt]\nenabled = true\n";
    let Some(app) = spawn_app_with(backend, toml, &[]).await else {
        return;
    };
    let keys = ok_json(run(&app, toml, &[], &["jwks", "list", "--json"], ""));
    let keys = keys["keys"].as_array().unwrap().clone();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["seal"], "current");
    assert_eq!(keys[0]["state"], "active");
    assert_eq!(keys[0]["alg"], "EdDSA");

    let rotated = ok_json(run(&app, toml, &[], &["jwks", "rotate", "--json"], ""));
    let kid = rotated["kid"].as_str().unwrap();
    let keys = ok_json(run(&app, toml, &[], &["jwks", "list", "--json"], ""));
    let keys = keys["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2);
    assert!(keys
        .iter()
        .any(|k| k["kid"] == kid && k["state"] == "active"));

    // A new secret with the old one listed as version 1: both keys are sealed again.
    let versions = format!("2:{NEW_SECRET},1:{SECRET}");
    let with_both = [("BETTER_AUTH_SECRETS", versions.as_str())];
    let report = ok_json(run(
        &app,
        toml,
        &with_both,
        &["secret", "rotate", "--json"],
        "",
    ));
    assert_eq!(report["secretVersion"], 2);
    assert_eq!(report["resealed"].as_array().unwrap().len(), 2, "{report}");
    assert_eq!(report["unreadable"].as_array().unwrap().len(), 0);
    let again = ok_json(run(
        &app,
        toml,
        &with_both,
        &["secret", "rotate", "--json"],
        "",
    ));
    assert_eq!(again["resealed"].as_array().unwrap().len(), 0);
    assert_eq!(again["current"].as_array().unwrap().len(), 2);

    // The new secret alone now opens every key; the old one alone opens none.
    let new_only = [("BETTER_AUTH_SECRET", NEW_SECRET)];
    let keys = ok_json(run(&app, toml, &new_only, &["jwks", "list", "--json"], ""));
    assert!(keys["keys"]
        .as_array()
        .unwrap()
        .iter()
        .all(|k| k["seal"] == "current"));
    let (code, line) = failure(run(&app, toml, &[], &["secret", "rotate"], ""));
    assert_eq!(code, 1);
    assert!(line.contains("BETTER_AUTH_SECRETS"), "{line}");
    let keys = ok_json(run(&app, toml, &[], &["jwks", "list", "--json"], ""));
    assert!(keys["keys"]
        .as_array()
        .unwrap()
        .iter()
        .all(|k| k["seal"] == "unreadable"));

    // Without the plugin there is nothing to list.
    let (_, line) = failure(run(&app, "", &[], &["jwks", "list"], ""));
    assert!(line.contains("plugins.jwt.enabled"), "{line}");
}

#[apply(backends)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ban_and_unban_use_the_admin_plugins_columns(#[case] backend: Backend) {
    let toml = "[plugins.admin]\nenabled = true\n";
    let Some(app) = spawn_app_with(backend, toml, &[]).await else {
        return;
    };
    let email = unique_email();
    let password = "operator-made password";
    ok_json(run(
        &app,
        toml,
        &[],
        &["user", "create", "--email", &email, "--json"],
        password,
    ));
    assert_eq!(app.sign_in(&email, password).await.status(), 200);

    let banned = ok_json(run(
        &app,
        toml,
        &[],
        &[
            "user",
            "ban",
            &email,
            "--reason",
            "spam",
            "--expires-in",
            "3600",
            "--json",
        ],
        "",
    ));
    assert_eq!(banned["user"]["banned"], true);
    assert_eq!(banned["user"]["banReason"], "spam");
    assert!(banned["user"]["banExpires"].is_string());
    assert!(
        session_user(&app, &app.client).await.is_null(),
        "sessions ended"
    );
    let res = app.sign_in(&email, password).await;
    assert_eq!(crate::helpers::error_code(res).await.1, "BANNED_USER");

    let unbanned = ok_json(run(
        &app,
        toml,
        &[],
        &["user", "unban", &email, "--json"],
        "",
    ));
    assert_eq!(unbanned["user"]["banned"], false);
    assert!(unbanned["user"]["banReason"].is_null());
    assert_eq!(app.sign_in(&email, password).await.status(), 200);

    // Without the plugin there are no ban columns.
    let (code, line) = failure(run(&app, "", &[], &["user", "ban", &email], ""));
    assert_eq!(code, 1);
    assert!(line.contains("plugins.admin.enabled"), "{line}");
}
