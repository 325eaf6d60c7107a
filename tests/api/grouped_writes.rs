//! Writes that arrive together go in shared statements (`src/store/group.rs`,
//! docs/storage-and-scaling.md "Grouped writes and lookups"): more of them than one statement
//! carries are all stored, each caller answered, on the three databases.

use chrono::{Duration, Utc};
use futures_util::future::join_all;
use serde_json::Value;

use crate::helpers::*;
use better_auth_rs::store::Session;

/// More than `MAX_ROWS` (64) at once: the writer's second statement gets the rest of them.
const AT_ONCE: usize = 150;

#[apply(backends)]
#[tokio::test]
async fn sessions_and_verifications_created_at_once_are_all_stored(#[case] backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let res = app.sign_up(&unique_email()).await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    let user_id = body["user"]["id"].as_str().unwrap().to_owned();
    let store = &app.state.store;
    let now = Utc::now();

    let sessions: Vec<Session> = (0..AT_ONCE)
        .map(|i| Session {
            id: format!("grouped-session-{i}"),
            token: format!("grouped-token-{i}"),
            user_id: user_id.clone(),
            expires_at: now + Duration::days(1),
            created_at: now,
            updated_at: now,
            ip_address: Some("127.0.0.1".into()),
            user_agent: Some(format!("agent {i}")),
            extra: Default::default(),
        })
        .collect();
    let stored = join_all(sessions.iter().map(|s| store.store_session(s))).await;
    assert!(stored.iter().all(Result::is_ok), "{stored:?}");
    assert_eq!(count_rows(&app, "session").await, AT_ONCE as i64 + 1);
    for s in [&sessions[0], &sessions[AT_ONCE / 2], &sessions[AT_ONCE - 1]] {
        let (found, user) = store
            .find_session_with_user(&s.token)
            .await
            .unwrap()
            .expect("a grouped session is stored");
        assert_eq!(found.user_agent, s.user_agent);
        assert_eq!(user.id, user_id);
    }

    let values: Vec<(String, String)> = (0..AT_ONCE)
        .map(|i| (format!("grouped-{i}"), format!("value {i}")))
        .collect();
    let created = join_all(values.iter().map(|(identifier, value)| {
        store.create_verification(identifier, value, now + Duration::minutes(10), now)
    }))
    .await;
    assert!(created.iter().all(Result::is_ok));
    assert_eq!(count_rows(&app, "verification").await, AT_ONCE as i64);
    // Each value is under its own identifier, and taken once.
    let taken = store
        .consume_verification("grouped-77", Utc::now())
        .await
        .unwrap()
        .expect("the value is stored");
    assert_eq!(taken.value, "value 77");
    assert!(store
        .consume_verification("grouped-77", Utc::now())
        .await
        .unwrap()
        .is_none());
    assert_eq!(count_rows(&app, "verification").await, AT_ONCE as i64 - 1);
}
