//! `better-auth-rs migrate`: it applies the migrations (the enabled plugins' tables included)
//! whatever `BETTER_AUTH_AUTO_MIGRATE` says, and builds nothing else (no key ring: the JWT
//! plugin's first key is made by the service, not by the migration); then a service started
//! with auto-migrate off serves the database.

use sea_orm::{ConnectionTrait, Database, DatabaseBackend, Statement};
use serde_json::Value;

use crate::helpers::*;

const JWT: &str = "[plugins.jwt]\nenabled = true\n";

async fn rows(url: &str, table: &str) -> Result<i64, sea_orm::DbErr> {
    let db = Database::connect(url).await?;
    let backend = db.get_database_backend();
    let quoted = match backend {
        DatabaseBackend::MySql => format!("`{table}`"),
        _ => format!("\"{table}\""),
    };
    let row = db
        .query_one(Statement::from_string(
            backend,
            format!("SELECT COUNT(*) AS n FROM {quoted}"),
        ))
        .await?
        .unwrap();
    let n = row
        .try_get::<i64>("", "n")
        .or_else(|_| row.try_get::<i32>("", "n").map(i64::from))?;
    db.close().await?;
    Ok(n)
}

#[apply(backends)]
#[tokio::test]
async fn migrate_creates_the_schema_with_auto_migrate_off_and_the_service_then_serves_it(
    #[case] backend: Backend,
) {
    let Some(db) = create_database(backend).await else {
        return;
    };
    assert!(rows(&db.url, "user").await.is_err(), "an empty database");

    let out = binary(
        &db,
        &format!("{BASE_TOML}\n{JWT}"),
        &[("BETTER_AUTH_AUTO_MIGRATE", "false")],
    )
    .arg("migrate")
    .output()
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{stderr}");
    for table in [
        "user",
        "session",
        "account",
        "verification",
        "rateLimit",
        "jwks",
    ] {
        assert_eq!(
            rows(&db.url, table).await.unwrap(),
            0,
            "{table} exists, empty"
        );
    }

    let app = start(db, JWT, &[("BETTER_AUTH_AUTO_MIGRATE", "false")]).await;
    let email = unique_email();
    assert_eq!(app.sign_up(&email).await.status(), 200);
    assert_eq!(app.sign_in(&email, PASSWORD).await.status(), 200);
    let user = app.user_by_email(&email).await.unwrap();
    assert_eq!(user.extra["role"], "user", "the custom column was added");
    let res = app.get("/token").await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert!(body["token"].is_string());
    assert_eq!(
        count_rows(&app, "jwks").await,
        1,
        "the service made the first key"
    );
}

#[apply(backends)]
#[tokio::test]
async fn without_the_jwt_plugin_no_jwks_table_is_created(#[case] backend: Backend) {
    let Some(db) = create_database(backend).await else {
        return;
    };
    let out = binary(&db, BASE_TOML, &[]).arg("migrate").output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(rows(&db.url, "user").await.unwrap(), 0);
    assert!(
        rows(&db.url, "jwks").await.is_err(),
        "the table belongs to the plugin"
    );
}
