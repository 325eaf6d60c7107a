//! The plugin seam, proven with a plugin of the test's own (`probe`) that uses every part of
//! it: a table, a `user` column with a default and an `on_user_create` hook that sets it, a
//! `session` column that a route of its own sets and every session read returns (from the
//! table and from Redis), an after-sign-in hook that answers instead of creating a session, a
//! session hook that refuses some users, a get-session header, a session proven by a request
//! header (`authenticate`), and an OpenAPI operation.

use std::sync::Arc;

use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use async_trait::async_trait;
use better_auth_rs::auth::fields::{AdditionalField, FieldType};
use better_auth_rs::error::ApiError;
use better_auth_rs::http::{Current, Need};
use better_auth_rs::openapi::builder::{object, string, Op};
use better_auth_rs::plugin::{AfterSignIn, Kind, Plugin, Schema, SignIn, Table};
use better_auth_rs::state::AppState;
use better_auth_rs::store::{Session, User};
use indexmap::IndexMap;
use serde_json::{json, Map, Value};
use utoipa::openapi::path::HttpMethod;

use crate::helpers::*;

const PROBE_TABLE: Table = Table {
    name: "probe",
    sqlite: &[r#"create table "probe" ("id" text not null primary key, "userId" text not null references "user" ("id") on delete cascade)"#],
    postgres: &[r#"create table "probe" ("id" text not null primary key, "userId" text not null references "user" ("id") on delete cascade)"#],
    mysql: &["create table `probe` (`id` varchar(36) not null primary key, `userId` varchar(36) not null references `user` (`id`) on delete cascade)"],
};

fn field(field_type: FieldType, default: Option<Value>) -> AdditionalField {
    AdditionalField {
        field_type,
        required: Some(false),
        default,
        input: false,
        returned: true,
    }
}

const PROBE: Kind<AppState> = Kind {
    id: "probe",
    enabled: |_| true,
    schema: |_| Schema {
        tables: vec![PROBE_TABLE],
        user_fields: IndexMap::from([(
            "probeLevel".to_owned(),
            field(FieldType::Number, Some(json!(1))),
        )]),
        session_fields: IndexMap::from([("probeNote".to_owned(), field(FieldType::String, None))]),
    },
    build: |_| Box::pin(async { Ok(Arc::new(Probe) as Arc<dyn Plugin<AppState>>) }),
};

static KINDS: [Kind<AppState>; 3] = [
    better_auth_rs::plugins::jwt::KIND,
    better_auth_rs::plugins::bearer::KIND,
    PROBE,
];

struct Probe;

async fn note(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    let current = Current::require(&state, &req, Need::Session).await?;
    let values = Map::from_iter([("probeNote".to_owned(), body["note"].clone())]);
    state
        .store
        .update_session_extra(&current.session.token, &values, state.clock.now())
        .await
        .map_err(|e| current.fail(e))?;
    Ok(current.respond(Vec::new(), &json!({ "status": true })))
}

#[async_trait]
impl Plugin<AppState> for Probe {
    fn id(&self) -> &'static str {
        "probe"
    }

    fn has_session_hook(&self) -> bool {
        true
    }

    fn routes(&self, cfg: &mut web::ServiceConfig) {
        cfg.service(web::resource("/probe/note").route(web::post().to(note)));
    }

    fn openapi(&self, _: &better_auth_rs::config::Settings) -> Vec<Op> {
        vec![
            Op::new(HttpMethod::Post, "/probe/note", "Probe", "Sets the note")
                .body(vec![("note", string())], &["note"])
                .ok(object(vec![("status", string())], &[], true).into()),
        ]
    }

    async fn get_session_headers(
        &self,
        _: &AppState,
        user: &Value,
        headers: &mut HeaderMap,
    ) -> Result<(), ApiError> {
        let level = user["probeLevel"].to_string();
        headers.insert(
            HeaderName::from_static("x-probe-level"),
            HeaderValue::from_str(&level).unwrap(),
        );
        Ok(())
    }

    async fn after_sign_in(
        &self,
        _: &AppState,
        sign_in: &SignIn<'_>,
    ) -> Result<AfterSignIn, ApiError> {
        if sign_in.user.email.starts_with("stop-") {
            let res = HttpResponse::Ok().json(json!({ "twoFactorRedirect": true }));
            return Ok(AfterSignIn::Respond(res));
        }
        Ok(AfterSignIn::Continue)
    }

    async fn before_session_create(
        &self,
        state: &AppState,
        session: &mut Session,
    ) -> Result<(), ApiError> {
        let user = state.store.find_user_by_id(&session.user_id).await?;
        match user.map(|u| u.name).as_deref() {
            Some("no-session") => Err(ApiError::Custom {
                status: StatusCode::FORBIDDEN,
                code: "PROBE_REFUSED",
                message: "no session for you".into(),
            }),
            Some("noted") => {
                session
                    .extra
                    .insert("probeNote".into(), json!("from the hook"));
                Ok(())
            }
            _ => Ok(()),
        }
    }

    async fn on_session(&self, _: &AppState, _: &Session, user: &User) -> Result<(), ApiError> {
        if user.name == "refused" {
            return Err(ApiError::message_only(
                StatusCode::FORBIDDEN,
                "refused by probe",
            ));
        }
        Ok(())
    }

    fn authenticates(&self) -> bool {
        true
    }

    /// `x-probe-user: <user id>` is a session of that user; `x-probe-user: refuse` is refused.
    async fn authenticate(
        &self,
        state: &AppState,
        headers: &HeaderMap,
        ip: Option<&str>,
    ) -> Result<Option<(Session, User)>, ApiError> {
        let Some(id) = headers.get("x-probe-user").and_then(|v| v.to_str().ok()) else {
            return Ok(None);
        };
        let refused = || ApiError::Custom {
            status: StatusCode::FORBIDDEN,
            code: "PROBE_UNKNOWN",
            message: "unknown probe user".into(),
        };
        if id == "refuse" {
            return Err(refused());
        }
        let user = state.store.find_user_by_id(id).await?.ok_or_else(refused)?;
        let now = state.clock.now();
        let session = Session {
            id: "probe-session".into(),
            token: "probe-token".into(),
            user_id: user.id.clone(),
            expires_at: now + chrono::Duration::hours(1),
            created_at: now,
            updated_at: now,
            ip_address: ip.map(str::to_owned),
            user_agent: None,
            extra: Map::new(),
        };
        Ok(Some((session, user)))
    }

    async fn on_user_create(&self, _: &AppState, user: &mut User) -> Result<(), ApiError> {
        if user.name == "seven" {
            user.extra.insert("probeLevel".into(), json!(7));
        }
        Ok(())
    }
}

async fn spawn_probe(backend: Backend, env: &[(&str, &str)], toml: &str) -> Option<TestApp> {
    let db = create_database(backend).await?;
    Some(start_with_plugins(db, toml, env, &KINDS).await)
}

async fn sign_up_named(app: &TestApp, client: &reqwest::Client, email: &str, name: &str) -> Value {
    let res = app
        .post_as(
            client,
            "/sign-up/email",
            &json!({ "email": email, "password": PASSWORD, "name": name }),
        )
        .await;
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

#[apply(backends)]
#[tokio::test]
async fn a_plugin_adds_its_table_and_user_column_and_sets_it_on_create(#[case] backend: Backend) {
    let Some(app) = spawn_probe(backend, &[], "").await else {
        return;
    };
    let seven = sign_up_named(&app, &app.browser(), &unique_email(), "seven").await;
    assert_eq!(seven["user"]["probeLevel"], 7, "set by on_user_create");
    let plain = sign_up_named(&app, &app.browser(), &unique_email(), "plain").await;
    assert_eq!(plain["user"]["probeLevel"], 1, "the column's default");
    assert_eq!(
        count_rows(&app, "probe").await,
        0,
        "the plugin's table exists"
    );
    let stored = app
        .user_by_email(seven["user"]["email"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(stored.extra["probeLevel"], 7, "stored in the user row");

    let doc: Value = app
        .get("/open-api/generate-schema")
        .await
        .json()
        .await
        .unwrap();
    assert!(doc["paths"]["/probe/note"]["post"].is_object());
}

#[apply(backends)]
#[tokio::test]
async fn a_plugin_session_column_is_set_by_its_route_and_read_back(#[case] backend: Backend) {
    let Some(app) = spawn_probe(backend, &[], "").await else {
        return;
    };
    let browser = app.browser();
    sign_up_named(&app, &browser, &unique_email(), "seven").await;
    let res = app.get_as(&browser, "/get-session").await;
    assert_eq!(
        res.headers()["x-probe-level"],
        "7",
        "get-session header hook"
    );
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["session"]["probeNote"], Value::Null);

    let res = app
        .post_as(&browser, "/probe/note", &json!({ "note": "hello" }))
        .await;
    assert_eq!(res.status(), 200);
    let body: Value = app
        .get_as(&browser, "/get-session?disableCookieCache=true")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["session"]["probeNote"], "hello");
    let list: Value = app
        .get_as(&browser, "/list-sessions")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list[0]["probeNote"], "hello");
    let token = body["session"]["token"].as_str().unwrap();
    let row = app.state.store.find_session(token).await.unwrap().unwrap();
    assert_eq!(row.extra["probeNote"], "hello", "stored in the session row");
}

#[apply(backends)]
#[tokio::test]
async fn a_plugin_session_column_lives_in_redis_too(#[case] backend: Backend) {
    let Some(mut keys) = connect_redis().await else {
        return;
    };
    let url = test_redis_url();
    let toml = format!("[redis]\nkey_prefix = \"{}\"\n", keys.prefix);
    let Some(app) = spawn_probe(backend, &[("REDIS_URL", &url)], &toml).await else {
        return;
    };
    let browser = app.browser();
    let token = sign_up_named(&app, &browser, &unique_email(), "plain").await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = app
        .post_as(&browser, "/probe/note", &json!({ "note": "in redis" }))
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(keys.json(&token).await["session"]["probeNote"], "in redis");
    let body: Value = app
        .get_as(&browser, "/get-session")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["session"]["probeNote"], "in redis");
}

#[apply(backends)]
#[tokio::test]
async fn an_after_sign_in_hook_answers_instead_of_creating_a_session(#[case] backend: Backend) {
    let Some(app) = spawn_probe(backend, &[], "").await else {
        return;
    };
    let email = format!("stop-{}", unique_email());
    sign_up_named(&app, &app.browser(), &email, "stopped").await;
    let sessions = count_rows(&app, "session").await;
    let res = app.sign_in(&email, PASSWORD).await;
    assert_eq!(res.status(), 200);
    assert!(set_cookies(&res).is_empty(), "no session cookie");
    assert_eq!(
        res.json::<Value>().await.unwrap(),
        json!({ "twoFactorRedirect": true })
    );
    assert_eq!(
        count_rows(&app, "session").await,
        sessions,
        "no session row"
    );
    let wrong = app.sign_in(&email, "wrong password").await;
    assert_eq!(wrong.status(), 401, "the hook runs only after the password");
}

#[apply(backends)]
#[tokio::test]
async fn a_session_hook_refuses_a_session(#[case] backend: Backend) {
    let Some(app) = spawn_probe(backend, &[], "").await else {
        return;
    };
    let browser = app.browser();
    sign_up_named(&app, &browser, &unique_email(), "refused").await;
    let res = app.get_as(&browser, "/get-session").await;
    assert_eq!(res.status(), 403);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["message"], "refused by probe");
    let res = app.get_as(&browser, "/list-sessions").await;
    assert_eq!(res.status(), 401, "protected routes see no session");
}

#[apply(backends)]
#[tokio::test]
async fn a_before_session_create_hook_sets_columns_or_refuses_the_session(
    #[case] backend: Backend,
) {
    let Some(app) = spawn_probe(backend, &[], "").await else {
        return;
    };
    let browser = app.browser();
    sign_up_named(&app, &browser, &unique_email(), "noted").await;
    let body: Value = app
        .get_as(&browser, "/get-session")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["session"]["probeNote"], "from the hook");

    let sessions = count_rows(&app, "session").await;
    let email = unique_email();
    let res = app
        .post_as(
            &app.anonymous(),
            "/sign-up/email",
            &json!({ "email": email, "password": PASSWORD, "name": "no-session" }),
        )
        .await;
    assert_eq!(
        error_code(res).await,
        (403, "PROBE_REFUSED".into(), "no session for you".into())
    );
    assert_eq!(
        count_rows(&app, "session").await,
        sessions,
        "no session row"
    );
    let res = app.sign_in(&email, PASSWORD).await;
    assert_eq!(res.status(), 403, "sign-in is refused the same way");
    assert!(set_cookies(&res).is_empty());
}

#[tokio::test]
async fn a_session_proven_by_the_request_serves_every_session_route() {
    let Some(app) = spawn_probe(Backend::Sqlite, &[], "").await else {
        return;
    };
    let user = sign_up_named(&app, &app.browser(), &unique_email(), "machine").await;
    let id = user["user"]["id"].as_str().unwrap();
    let machine = app.anonymous();
    let res = machine
        .get(app.url("/get-session"))
        .header("x-probe-user", id)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(set_cookies(&res).is_empty());
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["session"]["id"], "probe-session");
    assert_eq!(body["user"]["id"], id);
    let res = machine
        .get(format!("{}/api/validate-session", app.address))
        .header("x-probe-user", id)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = machine
        .get(app.url("/list-sessions"))
        .header("x-probe-user", id)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "a protected route takes it");
    let res = machine
        .get(app.url("/get-session"))
        .header("x-probe-user", "refuse")
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(res).await,
        (403, "PROBE_UNKNOWN".into(), "unknown probe user".into())
    );
    let res = machine.get(app.url("/get-session")).send().await.unwrap();
    assert_eq!(res.json::<Value>().await.unwrap(), Value::Null);
}
