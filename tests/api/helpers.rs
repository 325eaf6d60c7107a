//! `spawn_app`: the real service on a random loopback port, a fresh database per test, and a
//! client that keeps cookies like a browser.

use std::sync::LazyLock;

use better_auth_rs::config::{Settings, Sources};
use better_auth_rs::startup::{AppState, Application};
use redis::AsyncCommands;
use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::Response;
pub use rstest::rstest;
pub use rstest_reuse::apply;
use rstest_reuse::template;
use sea_orm::{ConnectionTrait, Database, Statement};
use serde_json::{json, Value};

pub const SECRET: &str = "test-secret-0123456789abcdef0123456789abcdef";
pub const ORIGIN: &str = "http://localhost:3000";
pub const PASSWORD: &str = "correct horse battery staple";

/// The configuration every test app starts from; tests append TOML to it.
pub const BASE_TOML: &str = r#"
danger_password_hashing = "danger_test_minimum"

[user.additional_fields.role]
type = "string"
required = false
default = "user"
input = false

[user.additional_fields.nickname]
type = "string"
required = false
"#;

/// `TEST_LOG=1`: the services' logs on stdout. `TEST_LOG_FILE=<path>`: every service log line
/// of the run, at debug level, in that file, for the log scan of `scripts/test.sh`.
static TELEMETRY: LazyLock<()> = LazyLock::new(|| {
    if let Ok(path) = std::env::var("TEST_LOG_FILE") {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .expect("open TEST_LOG_FILE");
        let _ = tracing_subscriber::fmt()
            // The test's own HTTP client (reqwest, hyper, cookie_store) logs the cookies it
            // receives; only the service's lines are scanned.
            .with_env_filter("debug,cookie_store=off,reqwest=off,hyper=off,hyper_util=off")
            .with_ansi(false)
            .with_writer(std::sync::Mutex::new(file))
            .try_init();
        remember_secrets([SECRET, PASSWORD]);
    } else if std::env::var("TEST_LOG").is_ok() {
        // Lines are written as soon as the writer thread is idle; the guard, which would
        // also write out what is queued when dropped, lives as long as the test binary.
        std::mem::forget(better_auth_rs::telemetry::init(
            better_auth_rs::config::LogFormat::Pretty,
            "debug",
        ));
    }
});

/// Appends secrets this run used to `$TEST_SECRETS_LOG`, one per line: the log scan of
/// `scripts/test.sh` fails when any of them appears in `$TEST_LOG_FILE`.
pub fn remember_secrets<S: AsRef<str>>(secrets: impl IntoIterator<Item = S>) {
    use std::io::Write;
    let Ok(path) = std::env::var("TEST_SECRETS_LOG") else {
        return;
    };
    let mut lines = String::new();
    for secret in secrets {
        let secret = secret.as_ref();
        if secret.len() < 8 || secret.contains('\n') {
            continue;
        }
        lines.push_str(secret);
        lines.push('\n');
        // A signed cookie value is `<token>.<signature>`, percent-encoded: the token alone too.
        if let Some((token, _)) = secret.split_once('.').filter(|(t, _)| t.len() >= 16) {
            if !secret.starts_with("ey") {
                lines.push_str(token);
                lines.push('\n');
            }
        }
    }
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    {
        let _ = f.write_all(lines.as_bytes());
    }
}

const SECRET_FIELDS: [&str; 5] = ["token", "password", "newPassword", "currentPassword", "key"];

fn secret_fields(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                match inner {
                    Value::String(s) if SECRET_FIELDS.contains(&key.as_str()) => {
                        out.push(s.clone())
                    }
                    _ => secret_fields(inner, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| secret_fields(v, out)),
        _ => {}
    }
}

/// Records the secrets a request sent and its response carried (cookie values, `set-auth-*`
/// headers, token fields of a JSON body) and hands the response back unchanged.
pub async fn remember_exchange(sent: Option<&Value>, res: Response) -> Response {
    if std::env::var_os("TEST_SECRETS_LOG").is_none() {
        return res;
    }
    let mut found = Vec::new();
    if let Some(body) = sent {
        secret_fields(body, &mut found);
    }
    for value in res.headers().get_all("set-cookie") {
        let value = value.to_str().unwrap_or_default();
        let value = value.split(';').next().unwrap_or_default();
        // The last-login-method cookie names a sign-in method ("email", "magic-link") for
        // scripts to read: not a secret.
        let Some((name, v)) = value.split_once('=') else {
            continue;
        };
        if !name.ends_with("last_used_login_method") && !v.is_empty() {
            found.push(v.to_owned());
            found.push(
                v.replace("%2B", "+")
                    .replace("%2F", "/")
                    .replace("%3D", "="),
            );
        }
    }
    for name in ["set-auth-token", "set-auth-jwt"] {
        if let Some(v) = res.headers().get(name).and_then(|v| v.to_str().ok()) {
            found.push(v.to_owned());
        }
    }
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = res.bytes().await.expect("response body");
    if let Ok(json) = serde_json::from_slice::<Value>(&bytes) {
        secret_fields(&json, &mut found);
    }
    remember_secrets(found);
    let mut rebuilt = http::Response::new(bytes);
    *rebuilt.status_mut() = status;
    *rebuilt.headers_mut() = headers;
    Response::from(rebuilt)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
    MySql,
}

impl Backend {
    fn admin_url(self) -> Option<String> {
        match self {
            Backend::Sqlite => None,
            Backend::Postgres => Some(
                std::env::var("TEST_POSTGRES_URL")
                    .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into()),
            ),
            Backend::MySql => Some(
                std::env::var("TEST_MYSQL_URL")
                    .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/test".into()),
            ),
        }
    }
}

/// A database created for one test and dropped with it.
pub struct TestDatabase {
    pub url: String,
    admin: Option<(String, String)>,
    _dir: tempfile::TempDir,
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Some((admin_url, name)) = self.admin.take() else {
            return;
        };
        // Drop needs its own runtime: the test's may be shutting down.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            rt.block_on(async {
                let db = Database::connect(&admin_url).await.ok()?;
                let sql = if admin_url.starts_with("postgres") {
                    format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")
                } else {
                    format!("DROP DATABASE IF EXISTS `{name}`")
                };
                db.execute(Statement::from_string(db.get_database_backend(), sql))
                    .await
                    .ok()?;
                db.close().await.ok()
            })
        })
        .join();
    }
}

/// Says that `what` was skipped and why (also into `$TEST_SKIP_LOG`), or fails the test when
/// `CI=true`: CI must run everything.
pub fn skip_or_fail(what: &str, why: &str) {
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{what}: {why}, and CI=true: failing");
    }
    let line = format!("SKIPPED {what}: {why}");
    eprintln!("{line}");
    if let Ok(path) = std::env::var("TEST_SKIP_LOG") {
        use std::io::Write;
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            let _ = writeln!(f, "{line}");
        }
    }
}

/// `TEST_REDIS_URL`, default `redis://127.0.0.1:6379`.
pub fn test_redis_url() -> String {
    std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// The test Redis (`TEST_REDIS_URL`, default `redis://127.0.0.1:6379`), or `None` (skipped,
/// named) when it does not answer.
pub async fn redis_url() -> Option<String> {
    let keys = connect_redis().await?;
    drop(keys);
    Some(test_redis_url())
}

/// The test's own view of Redis, under a key prefix no other test uses.
pub struct RedisKeys {
    pub conn: redis::aio::MultiplexedConnection,
    pub prefix: String,
}

impl RedisKeys {
    pub async fn get(&mut self, key: &str) -> Option<String> {
        self.conn
            .get(format!("{}{key}", self.prefix))
            .await
            .unwrap()
    }

    pub async fn json(&mut self, key: &str) -> Value {
        let raw = self.get(key).await.unwrap_or_else(|| panic!("no {key}"));
        serde_json::from_str(&raw).unwrap()
    }

    pub async fn ttl(&mut self, key: &str) -> i64 {
        self.conn
            .ttl(format!("{}{key}", self.prefix))
            .await
            .unwrap()
    }

    pub async fn set(&mut self, key: &str, value: &str, ttl: u64) {
        let _: () = self
            .conn
            .set_ex(format!("{}{key}", self.prefix), value, ttl)
            .await
            .unwrap();
    }

    pub async fn del(&mut self, key: &str) {
        let _: () = self
            .conn
            .del(format!("{}{key}", self.prefix))
            .await
            .unwrap();
    }

    /// Every key under the prefix matching `pattern`, prefix removed, sorted.
    pub async fn scan(&mut self, pattern: &str) -> Vec<String> {
        let found: Vec<String> = redis::cmd("KEYS")
            .arg(format!("{}{pattern}", self.prefix))
            .query_async(&mut self.conn)
            .await
            .unwrap();
        let mut found: Vec<String> = found
            .into_iter()
            .map(|k| k[self.prefix.len()..].to_owned())
            .collect();
        found.sort();
        found
    }
}

/// Redis, or `None` after a SKIPPED line (a failure with `CI=true`).
pub async fn connect_redis() -> Option<RedisKeys> {
    let url = test_redis_url();
    let conn = async {
        let client = redis::Client::open(url.as_str())?;
        let mut conn = client.get_multiplexed_async_connection().await?;
        redis::cmd("PING").query_async::<String>(&mut conn).await?;
        Ok::<_, redis::RedisError>(conn)
    };
    match tokio::time::timeout(std::time::Duration::from_secs(5), conn).await {
        Ok(Ok(conn)) => Some(RedisKeys {
            conn,
            prefix: format!("test-{}:", uuid::Uuid::new_v4().simple()),
        }),
        Ok(Err(e)) => {
            skip_or_fail("Redis", &format!("server unreachable at {url} ({e})"));
            None
        }
        Err(_) => {
            skip_or_fail("Redis", &format!("server unreachable at {url} (timed out)"));
            None
        }
    }
}

/// Rows in `table` of the app's database.
pub async fn count_rows(app: &TestApp, table: &str) -> i64 {
    let db = app.state.store.connection();
    let row = db
        .query_one(Statement::from_string(
            db.get_database_backend(),
            format!("SELECT COUNT(*) AS n FROM {table}"),
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get::<i64>("", "n")
        .or_else(|_| row.try_get::<i32>("", "n").map(i64::from))
        .unwrap()
}

/// Creates a fresh database, or `None` (with a line saying what was skipped) when the server is
/// unreachable. With `CI=true` an unreachable server fails the test instead.
pub async fn create_database(backend: Backend) -> Option<TestDatabase> {
    let dir = tempfile::tempdir().expect("temp dir");
    let Some(admin_url) = backend.admin_url() else {
        let url = format!("sqlite://{}/auth.db?mode=rwc", dir.path().display());
        return Some(TestDatabase {
            url,
            admin: None,
            _dir: dir,
        });
    };
    let name = format!("test_{}", uuid::Uuid::new_v4().simple());
    let admin = match tokio::time::timeout(
        std::time::Duration::from_secs(5),
        Database::connect(&admin_url),
    )
    .await
    {
        Ok(Ok(db)) => db,
        other => {
            let why = match other {
                Ok(Err(e)) => e.to_string(),
                Err(_) => "timed out".into(),
                Ok(Ok(_)) => unreachable!(),
            };
            skip_or_fail(
                &format!("{backend:?}"),
                &format!("server unreachable at {admin_url} ({why})"),
            );
            return None;
        }
    };
    let create = match backend {
        Backend::Postgres => format!("CREATE DATABASE \"{name}\""),
        _ => format!("CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"),
    };
    admin
        .execute(Statement::from_string(admin.get_database_backend(), create))
        .await
        .expect("create test database");
    let _ = admin.close().await;
    let (base, _) = admin_url
        .rsplit_once('/')
        .expect("admin url has a database");
    Some(TestDatabase {
        url: format!("{base}/{name}"),
        admin: Some((admin_url, name)),
        _dir: dir,
    })
}

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub state: AppState,
    pub _db: TestDatabase,
}

impl TestDatabase {
    /// A scratch directory that lives as long as the database.
    pub fn dir(&self) -> &std::path::Path {
        self._dir.path()
    }
}

/// The service binary (`target/debug/better-auth-rs`) on this database, with the test secret,
/// `toml` as its configuration file and `env` on top, its output captured.
pub fn binary(db: &TestDatabase, toml: &str, env: &[(&str, &str)]) -> std::process::Command {
    let config = db
        .dir()
        .join(format!("{}.toml", uuid::Uuid::new_v4().simple()));
    std::fs::write(&config, toml).expect("write config");
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_better-auth-rs"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("BETTER_AUTH_SECRET", SECRET)
        .env("DATABASE_URL", &db.url)
        .env("BETTER_AUTH_URL", "http://localhost:3001")
        .env("BETTER_AUTH_CONFIG", &config)
        .env("HOST", "127.0.0.1")
        .env("RUST_LOG", "warn")
        .current_dir(db.dir())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

/// Settings for a test app: the base TOML plus `extra_toml`, and `env` on top.
pub fn settings(db: &TestDatabase, extra_toml: &str, env: &[(&str, &str)]) -> Settings {
    let config = db._dir.path().join("better-auth.toml");
    std::fs::write(&config, format!("{BASE_TOML}\n{extra_toml}")).expect("write config");
    let mut vars = vec![
        ("BETTER_AUTH_SECRET".to_owned(), SECRET.to_owned()),
        ("DATABASE_URL".to_owned(), db.url.clone()),
        (
            "BETTER_AUTH_URL".to_owned(),
            "http://localhost:3001".to_owned(),
        ),
        ("BETTER_AUTH_TRUSTED_ORIGINS".to_owned(), ORIGIN.to_owned()),
        (
            "BETTER_AUTH_CONFIG".to_owned(),
            config.display().to_string(),
        ),
        ("HOST".to_owned(), "127.0.0.1".to_owned()),
        ("PORT".to_owned(), "0".to_owned()),
    ];
    for (k, v) in env {
        vars.retain(|(name, _)| name != k);
        vars.push(((*k).to_owned(), (*v).to_owned()));
    }
    Settings::load(&Sources::from_map(vars)).unwrap_or_else(|e| panic!("{e}"))
}

pub async fn spawn_app(backend: Backend) -> Option<TestApp> {
    spawn_app_with(backend, "", &[]).await
}

pub async fn spawn_app_with(
    backend: Backend,
    extra_toml: &str,
    env: &[(&str, &str)],
) -> Option<TestApp> {
    LazyLock::force(&TELEMETRY);
    let db = create_database(backend).await?;
    Some(start(db, extra_toml, env).await)
}

/// Starts the service on an existing test database.
pub async fn start(db: TestDatabase, extra_toml: &str, env: &[(&str, &str)]) -> TestApp {
    start_app(db, extra_toml, env, better_auth_rs::plugins::KINDS).await
}

/// Starts the service on an existing test database with the plugins of `kinds` (every plugin
/// of the build, or test plugins).
pub async fn start_with_plugins(
    db: TestDatabase,
    extra_toml: &str,
    env: &[(&str, &str)],
    kinds: &'static [better_auth_rs::plugin::Kind<AppState>],
) -> TestApp {
    start_app(db, extra_toml, env, kinds).await
}

async fn start_app(
    db: TestDatabase,
    extra_toml: &str,
    env: &[(&str, &str)],
    kinds: &'static [better_auth_rs::plugin::Kind<AppState>],
) -> TestApp {
    let settings = settings(&db, extra_toml, env);
    let app = Application::build_with(settings, kinds)
        .await
        .expect("build application");
    let address = format!("http://127.0.0.1:{}", app.port());
    let state = app.state().clone();
    tokio::spawn(app.run_until_stopped());
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .build()
        .expect("http client");
    TestApp {
        address,
        client,
        state,
        _db: db,
    }
}

impl TestApp {
    /// Another instance of the service on this app's database, with other settings.
    pub async fn restart(self, extra_toml: &str) -> TestApp {
        start(self._db, extra_toml, &[]).await
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}/api/auth{path}", self.address)
    }

    /// A browser-like POST: JSON body and a trusted Origin.
    pub async fn post(&self, path: &str, body: &Value) -> Response {
        self.post_as(&self.client, path, body).await
    }

    /// The same POST from another browser (see `browser`).
    pub async fn post_as(&self, client: &reqwest::Client, path: &str, body: &Value) -> Response {
        let res = client
            .post(self.url(path))
            .header("origin", ORIGIN)
            .json(body)
            .send()
            .await
            .expect("request");
        remember_exchange(Some(body), res).await
    }

    pub async fn get(&self, path: &str) -> Response {
        self.get_as(&self.client, path).await
    }

    pub async fn get_as(&self, client: &reqwest::Client, path: &str) -> Response {
        let res = client.get(self.url(path)).send().await.expect("request");
        remember_exchange(None, res).await
    }

    pub async fn sign_up(&self, email: &str) -> Response {
        self.post(
            "/sign-up/email",
            &json!({ "email": email, "password": PASSWORD, "name": "Test User" }),
        )
        .await
    }

    pub async fn sign_in(&self, email: &str, password: &str) -> Response {
        self.post(
            "/sign-in/email",
            &json!({ "email": email, "password": password }),
        )
        .await
    }

    /// Signs in with `client` (a browser of its own).
    pub async fn sign_in_as(
        &self,
        client: &reqwest::Client,
        email: &str,
        password: &str,
    ) -> Response {
        self.post_as(
            client,
            "/sign-in/email",
            &json!({ "email": email, "password": password }),
        )
        .await
    }

    /// `client`'s get-session, read from the database.
    pub async fn get_session_as(&self, client: &reqwest::Client) -> Value {
        let res = self
            .get_as(client, "/get-session?disableCookieCache=true")
            .await;
        assert_eq!(res.status(), 200);
        res.json().await.expect("json")
    }

    pub async fn get_session(&self) -> Value {
        let res = self.get("/get-session").await;
        assert_eq!(res.status(), 200);
        res.json().await.expect("json")
    }

    /// Another browser: a cookie-keeping client of its own, to hold a second session.
    pub fn browser(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .cookie_store(true)
            .build()
            .expect("client")
    }

    /// A fresh client with no cookies, for the "another browser" view.
    pub fn anonymous(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client")
    }
}

pub fn unique_email() -> String {
    format!("user-{}@example.com", uuid::Uuid::new_v4().simple())
}

/// The `Set-Cookie` headers of a response.
pub fn set_cookies(res: &Response) -> Vec<String> {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_owned))
        .collect()
}

pub fn cookie<'a>(cookies: &'a [String], name: &str) -> Option<&'a String> {
    cookies.iter().find(|c| c.starts_with(&format!("{name}=")))
}

pub async fn error_code(res: Response) -> (u16, String, String) {
    let status = res.status().as_u16();
    let body: Value = res.json().await.expect("json error body");
    (
        status,
        body["code"].as_str().unwrap_or_default().to_owned(),
        body["message"].as_str().unwrap_or_default().to_owned(),
    )
}

pub fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.insert(*k, HeaderValue::from_str(v).expect("header"));
    }
    h
}

/// Every scenario runs once per backend, each run in its own database:
///
/// ```ignore
/// #[apply(backends)]
/// #[tokio::test]
/// async fn a_scenario(#[case] backend: Backend) {
///     let Some(app) = spawn_app(backend).await else { return };
///     // ...
/// }
/// ```
///
/// gives the tests `a_scenario::case_1_sqlite`, `a_scenario::case_2_postgres` and
/// `a_scenario::case_3_mysql`. `spawn_*` answer `None` (the skip is recorded, see
/// `skip_or_fail`) when the backend's server is unreachable outside `CI=true`.
#[template]
#[rstest]
#[case::sqlite(crate::helpers::Backend::Sqlite)]
#[case::postgres(crate::helpers::Backend::Postgres)]
#[case::mysql(crate::helpers::Backend::MySql)]
pub fn backends(#[case] backend: Backend) {}

/// An app whose mails go to `outbox.jsonl` in its temp dir (the `file` transport), with
/// `extra_toml` appended to the base configuration.
pub async fn spawn_mail_app(backend: Backend, extra_toml: &str) -> Option<TestApp> {
    spawn_mail_app_with(backend, extra_toml, &[]).await
}

/// `spawn_mail_app` with `env` on top of the test variables.
pub async fn spawn_mail_app_with(
    backend: Backend,
    extra_toml: &str,
    env: &[(&str, &str)],
) -> Option<TestApp> {
    LazyLock::force(&TELEMETRY);
    let db = create_database(backend).await?;
    let outbox = db._dir.path().join("outbox.jsonl");
    let toml = format!(
        "[email]\ntransport = \"file\"\nfile = \"{}\"\n\n{extra_toml}",
        outbox.display()
    );
    Some(start(db, &toml, env).await)
}

/// Signs up a user and asks for a reset link to `/reset`; returns the email.
pub async fn sign_up_and_ask_reset(app: &TestApp) -> String {
    let email = unique_email();
    app.sign_up(&email).await;
    let res = app
        .post(
            "/request-password-reset",
            &json!({"email": email, "redirectTo": "/reset"}),
        )
        .await;
    assert_eq!(res.status(), 200);
    email
}

/// `sign_up_and_ask_reset`, and the mail from the `file` outbox.
pub async fn requested_reset(app: &TestApp) -> (String, Value) {
    let email = sign_up_and_ask_reset(app).await;
    let mail = app.last_mail("reset-password", &email);
    (email, mail)
}

impl TestApp {
    /// The user row with this email, if any.
    pub async fn user_by_email(&self, email: &str) -> Option<better_auth_rs::store::User> {
        self.state.store.find_user_by_email(email).await.unwrap()
    }

    /// The user row with this id, if any.
    pub async fn user_by_id(&self, id: &str) -> Option<better_auth_rs::store::User> {
        self.state.store.find_user_by_id(id).await.unwrap()
    }

    /// Every mail written to the `file` outbox so far, oldest first.
    pub fn mails(&self) -> Vec<Value> {
        let path = self._db._dir.path().join("outbox.jsonl");
        std::fs::read_to_string(path)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).expect("outbox lines are JSON"))
            .collect()
    }

    /// The newest mail of `kind` to `email`; fails the test when there is none.
    pub fn last_mail(&self, kind: &str, email: &str) -> Value {
        self.mails()
            .into_iter()
            .rev()
            .find(|m| m["type"] == kind && m["email"] == email)
            .unwrap_or_else(|| panic!("no {kind} mail to {email} in {:?}", self.mails()))
    }

    /// Moves the service's clock forward.
    pub fn advance(&self, seconds: i64) {
        self.state.clock.advance(chrono::Duration::seconds(seconds));
    }

    /// The path and query of one of our absolute links, for the test client.
    pub fn path_of(&self, link: &str) -> String {
        let prefix = format!("{}/api/auth", self.state.settings.base_origin);
        link.strip_prefix(&prefix)
            .unwrap_or_else(|| panic!("{link} is not under {prefix}"))
            .to_owned()
    }
}
