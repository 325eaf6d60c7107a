//! Writes that arrive together go in shared statements (`src/store/group.rs`,
//! docs/storage-and-scaling.md "Grouped writes and lookups"): more of them than one statement
//! carries are all stored, each caller answered, on the three databases.

use chrono::{Duration, SubsecRound, Utc};
use futures_util::future::join_all;
use serde_json::Value;

use crate::helpers::*;
use better_auth_rs::store::Session;

/// More than `MAX_ROWS` (64) at once: the writer's second statement gets the rest of them.
const AT_ONCE: usize = 150;

/// The service on `backend` with one user signed up; the user's id.
async fn app_with_user(backend: Backend) -> Option<(TestApp, String)> {
    let app = spawn_app(backend).await?;
    let res = app.sign_up(&unique_email()).await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    let user_id = body["user"]["id"].as_str().unwrap().to_owned();
    Some((app, user_id))
}

#[apply(backends)]
#[tokio::test]
async fn sessions_and_verifications_created_at_once_are_all_stored(#[case] backend: Backend) {
    let Some((app, user_id)) = app_with_user(backend).await else {
        return;
    };
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

#[apply(backends)]
#[tokio::test]
async fn verification_values_taken_at_once_go_each_to_one_caller(#[case] backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let store = &app.state.store;
    let now = Utc::now();
    let later = now + Duration::minutes(10);
    for i in 0..AT_ONCE {
        let identifier = format!("take-{i}");
        store
            .create_verification(&identifier, &format!("older {i}"), later, now)
            .await
            .unwrap();
        // A second row for the identifier: the newest is the one taken, both go.
        let newer = now + Duration::seconds(1);
        store
            .create_verification(&identifier, &format!("value {i}"), later, newer)
            .await
            .unwrap();
    }
    assert_eq!(count_rows(&app, "verification").await, 2 * AT_ONCE as i64);

    // Every identifier asked for twice at once: one caller gets the value, the other nothing.
    let asked: Vec<String> = (0..2 * AT_ONCE)
        .map(|n| format!("take-{}", n % AT_ONCE))
        .collect();
    let taken = join_all(
        asked
            .iter()
            .map(|identifier| store.consume_verification(identifier, Utc::now())),
    )
    .await;
    let mut values: Vec<String> = taken
        .into_iter()
        .filter_map(|t| t.expect("a take is answered"))
        .map(|v| v.value)
        .collect();
    values.sort();
    let mut expected: Vec<String> = (0..AT_ONCE).map(|i| format!("value {i}")).collect();
    expected.sort();
    assert_eq!(values, expected);
    assert_eq!(count_rows(&app, "verification").await, 0);
}

#[apply(backends)]
#[tokio::test]
async fn provider_accounts_read_and_updated_at_once_each_get_their_own(#[case] backend: Backend) {
    use better_auth_rs::store::accounts::AccountTokens;
    use better_auth_rs::store::Account;

    let Some((app, user_id)) = app_with_user(backend).await else {
        return;
    };
    let store = &app.state.store;
    let now = Utc::now().trunc_subsecs(3);
    let accounts: Vec<Account> = (0..AT_ONCE)
        .map(|i| Account {
            id: format!("grouped-account-{i}"),
            account_id: format!("person-{i}"),
            provider_id: "acme".into(),
            user_id: user_id.clone(),
            password: None,
            scope: Some("openid".into()),
            created_at: now,
            updated_at: now,
        })
        .collect();
    let first = AccountTokens {
        access_token: Some("first".into()),
        refresh_token: Some("first refresh".into()),
        ..Default::default()
    };
    for a in &accounts {
        store
            .insert_account_with_tokens(store.connection(), a, &first)
            .await
            .unwrap();
    }

    // Read at once, each lookup gets its own account (and the user); an unknown one none.
    let ids: Vec<String> = (0..AT_ONCE)
        .map(|i| format!("person-{i}"))
        .chain(["nobody".to_owned()])
        .collect();
    let found = join_all(
        ids.iter()
            .map(|id| store.find_account_with_user_by_key("acme", id)),
    )
    .await;
    for (i, f) in found.into_iter().enumerate() {
        let f = f.unwrap();
        if i == AT_ONCE {
            assert!(f.is_none(), "an unknown account id is not found");
            continue;
        }
        let (account, user) = f.expect("the account is found");
        assert_eq!(account.id, accounts[i].id);
        assert_eq!(user.expect("with its user").id, user_id);
    }

    // Two kinds of update (different columns), and the first ten accounts updated twice: the
    // later update wins, as it would alone.
    let at = now + Duration::seconds(5);
    let tokens = |i: usize, round: usize| {
        let mut t = AccountTokens {
            access_token: Some(format!("access {i} {round}")),
            access_token_expires_at: Some(at + Duration::hours(1)),
            scope: Some("ignored".into()),
            ..Default::default()
        };
        if i % 2 == 1 {
            t.id_token = Some(format!("id {i} {round}"));
        }
        t
    };
    let updates: Vec<(usize, AccountTokens)> = (0..AT_ONCE)
        .map(|i| (i, tokens(i, 0)))
        .chain((0..10).map(|i| (i, tokens(i, 1))))
        .collect();
    let done = join_all(
        updates
            .iter()
            .map(|(i, t)| store.update_account_tokens(&accounts[*i].id, t, false, at)),
    )
    .await;
    assert!(done.iter().all(Result::is_ok), "{done:?}");

    for (i, a) in accounts.iter().enumerate() {
        let (found, stored) = store
            .find_account_with_tokens(&user_id, &a.id)
            .await
            .unwrap()
            .expect("the account is there");
        let round = if i < 10 { 1 } else { 0 };
        let want = tokens(i, round);
        assert_eq!(stored.access_token, want.access_token, "account {i}");
        assert_eq!(stored.id_token, want.id_token, "account {i}");
        assert_eq!(
            stored.access_token_expires_at.map(|t| t.timestamp_millis()),
            want.access_token_expires_at.map(|t| t.timestamp_millis()),
            "account {i}"
        );
        // What the update did not carry is left as it was.
        assert_eq!(stored.refresh_token.as_deref(), Some("first refresh"));
        assert_eq!(found.scope.as_deref(), Some("openid"));
        assert_eq!(found.updated_at.timestamp_millis(), at.timestamp_millis());
    }
}
