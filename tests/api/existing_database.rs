//! An existing Better Auth database keeps working: rows recorded from the real Better Auth
//! 1.7.25 (`shared/spec/vectors`) are loaded as stored, then used over HTTP.

use better_auth_rs::auth::cookie_cache;
use better_auth_rs::auth::crypto::{encode_uri_component, sign_value};
use better_auth_rs::config::CacheStrategy;
use better_auth_rs::store::{Account, Session, User};
use serde_json::{json, Value};

use crate::helpers::*;

fn vectors() -> Value {
    let path = std::env::var("BETTER_AUTH_VECTORS").unwrap_or_else(|_| {
        format!(
            "{}/../shared/spec/vectors/better-auth-1.7.25.json",
            env!("CARGO_MANIFEST_DIR")
        )
    });
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {path}: {e}"));
    serde_json::from_str(&text).unwrap()
}

fn date(v: &Value) -> chrono::DateTime<chrono::Utc> {
    better_auth_rs::auth::fields::parse_date(v.as_str().unwrap()).unwrap()
}

/// Inserts one case's user, credential account and session rows as Better Auth stored them.
async fn load_case(app: &TestApp, case: &Value) {
    let rows = &case["rows"];
    let u = &rows["user"][0];
    let user = User {
        id: u["id"].as_str().unwrap().into(),
        name: u["name"].as_str().unwrap().into(),
        email: u["email"].as_str().unwrap().into(),
        email_verified: u["emailVerified"].as_bool().unwrap(),
        image: u["image"].as_str().map(Into::into),
        created_at: date(&u["createdAt"]),
        updated_at: date(&u["updatedAt"]),
        extra: [("role".to_owned(), u["role"].clone())]
            .into_iter()
            .collect(),
    };
    let a = &rows["account"][0];
    let account = Account {
        id: a["id"].as_str().unwrap().into(),
        account_id: a["accountId"].as_str().unwrap().into(),
        provider_id: a["providerId"].as_str().unwrap().into(),
        user_id: a["userId"].as_str().unwrap().into(),
        password: a["password"].as_str().map(Into::into),
        scope: None,
        created_at: date(&a["createdAt"]),
        updated_at: date(&a["updatedAt"]),
    };
    app.state
        .store
        .create_user_with_account(&user, &account)
        .await
        .unwrap();
    let s = &rows["session"][0];
    let session = Session {
        id: s["id"].as_str().unwrap().into(),
        token: s["token"].as_str().unwrap().into(),
        user_id: s["userId"].as_str().unwrap().into(),
        expires_at: date(&s["expiresAt"]),
        created_at: date(&s["createdAt"]),
        updated_at: date(&s["updatedAt"]),
        ip_address: s["ipAddress"].as_str().map(Into::into),
        user_agent: s["userAgent"].as_str().map(Into::into),
        extra: Default::default(),
    };
    app.state
        .store
        .insert_session(app.state.store.connection(), &session)
        .await
        .unwrap();
}

async fn recorded_rows_work_over_http(backend: Backend) {
    let v = vectors();
    // The recorded cookies were signed with the recording's secret: serve with it.
    let secret = v["secret"].as_str().unwrap();
    let Some(app) = spawn_app_with(backend, "", &[("BETTER_AUTH_SECRET", secret)]).await else {
        return;
    };
    for (name, case) in v["cases"].as_object().unwrap() {
        load_case(&app, case).await;
        // The recorded session, served a minute after it was recorded.
        let recorded = &case["getSession"];
        app.state
            .clock
            .set(date(&case["rows"]["session"][0]["createdAt"]) + chrono::Duration::minutes(1));
        let session_cookie = recorded["requestCookie"]
            .as_str()
            .unwrap()
            .split("; ")
            .next()
            .unwrap()
            .to_owned();
        let res = app
            .anonymous()
            .get(app.url("/get-session"))
            .header("cookie", &session_cookie)
            .send()
            .await
            .unwrap();
        let body: Value = res.json().await.unwrap();
        assert_eq!(
            body["session"], recorded["body"]["session"],
            "{name}: session as Better Auth returned it"
        );
        for key in [
            "id",
            "email",
            "name",
            "emailVerified",
            "createdAt",
            "updatedAt",
            "role",
        ] {
            assert_eq!(
                body["user"][key], recorded["body"]["user"][key],
                "{name}: user.{key}"
            );
        }

        // The recorded scrypt password verifies; a wrong one does not.
        let email = case["signUp"]["request"]["email"].as_str().unwrap();
        let password = case["signUp"]["request"]["password"].as_str().unwrap();
        let sign_in = |p: &str| {
            app.anonymous()
                .post(app.url("/sign-in/email"))
                .json(&json!({"email": email, "password": p}))
                .send()
        };
        assert_eq!(
            sign_in(password).await.unwrap().status(),
            200,
            "{name}: sign-in with the recorded password"
        );
        assert_eq!(sign_in("not it").await.unwrap().status(), 401);
    }
}

#[tokio::test]
async fn recorded_better_auth_rows_work_on_sqlite() {
    recorded_rows_work_over_http(Backend::Sqlite).await;
}

#[tokio::test]
async fn recorded_better_auth_rows_work_on_postgres() {
    recorded_rows_work_over_http(Backend::Postgres).await;
}

#[tokio::test]
async fn recorded_better_auth_rows_work_on_mysql() {
    recorded_rows_work_over_http(Backend::MySql).await;
}

/// Signed cookies: the recorded `Set-Cookie` values equal our signature, computed here with an
/// independent HMAC as well.
#[test]
fn recorded_session_cookies_carry_our_signature() {
    use hmac::{Hmac, Mac};
    let v = vectors();
    let secret = v["secret"].as_str().unwrap();
    for (name, case) in v["cases"].as_object().unwrap() {
        let token = case["signUp"]["body"]["token"].as_str().unwrap();
        let set_cookie = case["signUp"]["setCookie"][0].as_str().unwrap();
        let wire = set_cookie
            .split(';')
            .next()
            .unwrap()
            .strip_prefix("better-auth.session_token=")
            .unwrap();
        assert_eq!(
            wire,
            encode_uri_component(&sign_value(secret.as_bytes(), token)),
            "{name}"
        );
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(token.as_bytes());
        let independent = base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            mac.finalize().into_bytes(),
        );
        assert_eq!(
            wire,
            format!(
                "{token}.{}",
                independent
                    .replace('+', "%2B")
                    .replace('/', "%2F")
                    .replace('=', "%3D")
            )
        );
    }
}

/// The recorded `session_data` cookies decode with our readers, in every strategy.
#[test]
fn recorded_cookie_caches_decode() {
    let v = vectors();
    let secret = v["secret"].as_str().unwrap().as_bytes();
    for (name, strategy) in [
        ("compact", CacheStrategy::Compact),
        ("jwt", CacheStrategy::Jwt),
        ("jwe", CacheStrategy::Jwe),
    ] {
        let case = &v["cases"][name];
        let set_cookie = case["signUp"]["setCookie"][1].as_str().unwrap();
        let value = set_cookie
            .split(';')
            .next()
            .unwrap()
            .strip_prefix("better-auth.session_data=")
            .unwrap();
        let decoded = cookie_cache::decode(strategy, &[secret], value)
            .unwrap_or_else(|| panic!("{name} cache rejected"));
        assert_eq!(
            decoded.payload["session"]["token"], case["signUp"]["body"]["token"],
            "{name}"
        );
        assert_eq!(
            decoded.payload["user"]["email"], case["signUp"]["request"]["email"],
            "{name}"
        );
        assert_eq!(decoded.payload["version"], "1");
        assert_eq!(
            decoded.payload["session"],
            case["getSession"]["body"]["session"]
        );
        assert!(decoded.payload.get("exp").is_none() && decoded.payload.get("jti").is_none());
        let other: &[u8] = b"another-secret-0123456789abcdef0123";
        assert!(cookie_cache::decode(strategy, &[other], value).is_none());
    }
}
