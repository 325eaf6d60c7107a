//! `[storage] format`: a database whose tables Better Auth created is written so that a Node
//! Better Auth reads it (scrypt hashes, its sealed JWT keys); a new database stays native; a
//! foreign schema is refused untouched.

use rstest::rstest;
use rstest_reuse::apply;
use sea_orm::{ConnectionTrait, Database, Statement};
use secrecy::SecretString;

use better_auth_rs::auth::format::StorageFormat;
use better_auth_rs::auth::password::better_auth_scrypt;

use crate::helpers::*;

const JWT: &str = "[plugins.jwt]\nenabled = true\n";

fn is_scrypt(hash: &str) -> bool {
    let parts: Vec<&str> = hash.split(':').collect();
    parts.len() == 2
        && parts[0].len() == 32
        && parts[1].len() == 128
        && hash.chars().all(|c| c == ':' || c.is_ascii_hexdigit())
}

/// The tables as Better Auth's own migration leaves them: its DDL (the service's migrations
/// copy it), without the service's migration table.
async fn better_auth_tables(db: &TestDatabase) {
    use migration::MigratorTrait;
    let conn = Database::connect(&db.url).await.unwrap();
    migration::Migrator::up(&conn, None).await.unwrap();
    exec(&conn, "DROP TABLE seaql_migrations").await;
    conn.close().await.unwrap();
}

async fn exec(conn: &impl ConnectionTrait, sql: &str) {
    let backend = conn.get_database_backend();
    let sql = if backend == sea_orm::DatabaseBackend::MySql {
        sql.replace('"', "`")
    } else {
        sql.to_owned()
    };
    conn.execute(Statement::from_string(backend, sql))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
}

async fn password_of(app: &TestApp, email: &str) -> String {
    let user = app.user_by_email(email).await.expect("user");
    app.state
        .store
        .find_credential_account(&user.id)
        .await
        .unwrap()
        .unwrap()
        .password
        .unwrap()
}

async fn set_password(app: &TestApp, email: &str, hash: &str) {
    let user = app.user_by_email(email).await.expect("user");
    let account = app
        .state
        .store
        .find_credential_account(&user.id)
        .await
        .unwrap()
        .unwrap();
    app.state
        .store
        .set_account_password(
            app.state.store.connection(),
            &account.id,
            hash,
            app.state.clock.now(),
        )
        .await
        .unwrap();
}

/// The stored hash once it satisfies `done` (the re-hash after a sign-in runs in the
/// background).
async fn wait_for_password(app: &TestApp, email: &str, done: impl Fn(&str) -> bool) -> String {
    let mut stored = String::new();
    for _ in 0..150 {
        stored = password_of(app, email).await;
        if done(&stored) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    stored
}

async fn private_keys(app: &TestApp) -> Vec<String> {
    app.state
        .store
        .list_jwks()
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.private_key)
        .collect()
}

async fn origin_row(app: &TestApp) -> String {
    let db = app.state.store.connection();
    let q = if db.get_database_backend() == sea_orm::DatabaseBackend::MySql {
        "SELECT `createdBy` AS c FROM better_auth_rs_origin"
    } else {
        "SELECT \"createdBy\" AS c FROM better_auth_rs_origin"
    };
    let rows = db
        .query_all(Statement::from_string(db.get_database_backend(), q))
        .await
        .unwrap();
    assert_eq!(rows.len(), 1, "one origin row");
    rows[0].try_get::<String>("", "c").unwrap()
}

#[apply(backends)]
#[tokio::test]
async fn a_better_auth_database_is_written_for_node_and_a_mix_of_hashes_verifies(backend: Backend) {
    let Some(db) = create_database(backend).await else {
        return;
    };
    better_auth_tables(&db).await;
    let app = start(db, JWT, &[]).await;
    assert_eq!(app.state.store.format(), StorageFormat::BetterAuth);
    assert_eq!(app.state.hasher.format(), StorageFormat::BetterAuth);
    assert_eq!(origin_row(&app).await, "better-auth");

    // A new user's hash is Better Auth's scrypt, and signing in keeps it as it is.
    let email = unique_email();
    assert_eq!(app.sign_up(&email).await.status(), 200);
    let hash = password_of(&app, &email).await;
    assert!(is_scrypt(&hash), "scrypt salt:key, got {hash}");
    assert_eq!(app.sign_in(&email, PASSWORD).await.status(), 200);
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(password_of(&app, &email).await, hash, "no re-hash");

    // Users whose hashes came from elsewhere: each verifies by its own format, and moves to
    // scrypt once it matched. A wrong password changes nothing.
    let node = unique_email();
    app.sign_up(&node).await;
    let node_hash = better_auth_scrypt(
        &SecretString::from(PASSWORD.to_owned()),
        "00112233445566778899aabbccddeeff",
    )
    .unwrap();
    set_password(&app, &node, &node_hash).await;
    let bcrypt_user = unique_email();
    app.sign_up(&bcrypt_user).await;
    let bcrypt_hash = bcrypt::hash(PASSWORD, 4).unwrap();
    set_password(&app, &bcrypt_user, &bcrypt_hash).await;
    let argon_user = unique_email();
    app.sign_up(&argon_user).await;
    let argon_hash = better_auth_rs::auth::password::PasswordHasher::new(
        better_auth_rs::config::PasswordHashing::DangerTestMinimum,
        1,
        4,
    )
    .unwrap()
    .hash(SecretString::from(PASSWORD.to_owned()))
    .await
    .unwrap();
    set_password(&app, &argon_user, &argon_hash).await;

    assert_eq!(
        app.sign_in(&bcrypt_user, "wrong password").await.status(),
        401
    );
    assert_eq!(password_of(&app, &bcrypt_user).await, bcrypt_hash);
    assert_eq!(app.sign_in(&node, PASSWORD).await.status(), 200);
    assert_eq!(app.sign_in(&bcrypt_user, PASSWORD).await.status(), 200);
    assert_eq!(app.sign_in(&argon_user, PASSWORD).await.status(), 200);
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(
        password_of(&app, &node).await,
        node_hash,
        "Node's hash is kept"
    );
    for user in [&bcrypt_user, &argon_user] {
        let now = wait_for_password(&app, user, is_scrypt).await;
        assert!(is_scrypt(&now), "moved to scrypt: {now}");
        assert_eq!(app.sign_in(user, PASSWORD).await.status(), 200);
    }

    // The JWT key is sealed as Better Auth seals it: a JSON string of bare hex.
    let keys = private_keys(&app).await;
    assert_eq!(keys.len(), 1);
    let sealed: String = serde_json::from_str(&keys[0]).unwrap();
    assert!(
        sealed.chars().all(|c| c.is_ascii_hexdigit()),
        "symmetricEncrypt hex, got {}",
        &sealed[..20]
    );

    // Started again, the decision stands (it is recorded), and a key left sealed with our
    // AES-256-GCM (written by a native instance) is sealed again for Node.
    let app = app.restart("").await;
    let app = app
        .restart("[storage]\nformat = \"native\"\n[plugins.jwt]\nenabled = true\nalg = \"ES256\"\n")
        .await;
    assert_eq!(app.state.store.format(), StorageFormat::Native);
    let native = unique_email();
    app.sign_up(&native).await;
    assert!(password_of(&app, &native).await.starts_with("$argon2id$"));
    let client = app.browser();
    app.sign_in_as(&client, &native, PASSWORD).await;
    let res = app.get_as(&client, "/token").await;
    assert_eq!(res.status(), 200);
    let keys = private_keys(&app).await;
    assert!(
        keys.iter().any(|k| k.contains("$ba-rs$aes256gcm$")),
        "the native instance made an AES-GCM key: {}",
        keys.len()
    );
    let app = app.restart(JWT).await;
    assert_eq!(app.state.store.format(), StorageFormat::BetterAuth);
    assert_eq!(origin_row(&app).await, "better-auth");
    let keys = private_keys(&app).await;
    assert!(
        keys.iter().all(|k| !k.contains("$ba-rs$")),
        "every key readable by Node"
    );
    assert_eq!(app.sign_in(&native, PASSWORD).await.status(), 200);
    let now = wait_for_password(&app, &native, is_scrypt).await;
    assert!(is_scrypt(&now), "the argon2id hash moved to scrypt: {now}");
}

#[apply(backends)]
#[tokio::test]
async fn a_new_database_stays_native(backend: Backend) {
    let Some(app) = spawn_app_with(backend, JWT, &[]).await else {
        return;
    };
    assert_eq!(app.state.store.format(), StorageFormat::Native);
    assert_eq!(origin_row(&app).await, "better-auth-rs");
    let email = unique_email();
    app.sign_up(&email).await;
    assert!(password_of(&app, &email).await.starts_with("$argon2id$"));
    assert!(private_keys(&app).await[0].contains("$ba-rs$aes256gcm$"));
    let app = app.restart("").await;
    assert_eq!(app.state.store.format(), StorageFormat::Native);
    assert_eq!(origin_row(&app).await, "better-auth-rs");
    // Explicitly better-auth on the service's own database (a fleet that adds Node later).
    let app = app.restart("[storage]\nformat = \"better-auth\"\n").await;
    assert_eq!(app.state.store.format(), StorageFormat::BetterAuth);
    let other = unique_email();
    app.sign_up(&other).await;
    assert!(is_scrypt(&password_of(&app, &other).await));
}

#[apply(backends)]
#[tokio::test]
async fn a_foreign_schema_is_refused_naming_the_table_and_column_and_left_untouched(
    backend: Backend,
) {
    let Some(db) = create_database(backend).await else {
        return;
    };
    let conn = Database::connect(&db.url).await.unwrap();
    exec(
        &conn,
        "CREATE TABLE \"user\" (\"id\" varchar(36) primary key, \"name\" text, \"mail\" text)",
    )
    .await;
    exec(
        &conn,
        "INSERT INTO \"user\" (\"id\", \"name\", \"mail\") VALUES ('u1', 'A', 'a@example.com')",
    )
    .await;
    let settings = settings(&db, "", &[]);
    let err = better_auth_rs::startup::Application::build(settings)
        .await
        .err()
        .expect("refused");
    let message = format!("{err:#}");
    assert!(
        message.contains("`user` has no column `email`"),
        "names the table and column: {message}"
    );
    for table in ["seaql_migrations", "session", "better_auth_rs_origin"] {
        let cols = better_auth_rs::store::schema::columns(&conn, table)
            .await
            .unwrap();
        assert!(cols.is_empty(), "{table} was not created");
    }
    let cols = better_auth_rs::store::schema::columns(&conn, "user")
        .await
        .unwrap();
    assert_eq!(cols.len(), 3, "user unchanged: {cols:?}");
    conn.close().await.unwrap();
}

#[apply(backends)]
#[tokio::test]
async fn without_migrations_and_without_a_record_the_tables_and_hashes_decide(backend: Backend) {
    // Better Auth's tables, migrations off: better-auth, and nothing is written.
    let Some(db) = create_database(backend).await else {
        return;
    };
    better_auth_tables(&db).await;
    let app = start(db, "", &[("BETTER_AUTH_AUTO_MIGRATE", "false")]).await;
    assert_eq!(app.state.store.format(), StorageFormat::BetterAuth);
    let db = app.state.store.connection();
    assert!(
        better_auth_rs::store::schema::columns(db, "better_auth_rs_origin")
            .await
            .unwrap()
            .is_empty()
    );

    // A database an earlier version of the service adopted (its migration table, no record):
    // a Better Auth scrypt hash says Node wrote to it; without one it is the service's.
    let email = unique_email();
    app.sign_up(&email).await;
    let app = app.restart("[storage]\nformat = \"native\"\n").await;
    let conn = app.state.store.connection();
    exec(conn, "DROP TABLE better_auth_rs_origin").await;
    set_password(
        &app,
        &email,
        &better_auth_scrypt(
            &SecretString::from(PASSWORD.to_owned()),
            "00112233445566778899aabbccddeeff",
        )
        .unwrap(),
    )
    .await;
    let app = app.restart("").await;
    assert_eq!(app.state.store.format(), StorageFormat::BetterAuth);
    assert_eq!(origin_row(&app).await, "better-auth");
    exec(
        app.state.store.connection(),
        "DROP TABLE better_auth_rs_origin",
    )
    .await;
    let argon = better_auth_rs::auth::password::PasswordHasher::new(
        better_auth_rs::config::PasswordHashing::DangerTestMinimum,
        1,
        4,
    )
    .unwrap()
    .hash(SecretString::from(PASSWORD.to_owned()))
    .await
    .unwrap();
    set_password(&app, &email, &argon).await;
    let app = app.restart("").await;
    assert_eq!(app.state.store.format(), StorageFormat::Native);
    assert_eq!(origin_row(&app).await, "better-auth-rs");
}
