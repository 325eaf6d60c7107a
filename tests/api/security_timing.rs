//! User enumeration by timing: the routes that must not tell whether an email is known answer
//! in the same time for a known and an unknown one, on every backend. Medians of interleaved
//! requests are compared (the only timed assertion of the suite, which the routes' answers
//! being alike in everything else makes necessary).

use std::time::{Duration, Instant};

use serde_json::json;

use crate::helpers::*;

/// The largest difference of the medians accepted. The difference this guards against was
/// 22 ms (PostgreSQL JIT-compiling the unknown email's query); the noise of a loaded 2-core
/// machine on medians of interleaved requests stays well under it.
const BOUND: Duration = Duration::from_millis(15);

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// Medians of `rounds` POSTs of `path` for `known` and for unknown emails, interleaved (the
/// order alternates every round), each answered 200.
async fn medians(app: &TestApp, path: &str, known: &str, rounds: usize) -> (Duration, Duration) {
    let (mut k, mut u) = (Vec::new(), Vec::new());
    // Without a session, as an attacker asks.
    let client = app.anonymous();
    let time = |email: String| {
        let client = client.clone();
        async move {
            let started = Instant::now();
            let res = app.post_as(&client, path, &json!({ "email": email })).await;
            let took = started.elapsed();
            assert_eq!(res.status(), 200, "{path}");
            took
        }
    };
    for round in 0..rounds {
        if round % 2 == 0 {
            k.push(time(known.to_owned()).await);
            u.push(time(unique_email()).await);
        } else {
            u.push(time(unique_email()).await);
            k.push(time(known.to_owned()).await);
        }
    }
    (median(k), median(u))
}

fn assert_alike(path: &str, (known, unknown): (Duration, Duration)) {
    let diff = known.abs_diff(unknown);
    assert!(
        diff < BOUND,
        "{path}: known {known:?}, unknown {unknown:?} (medians differ by {diff:?})"
    );
}

#[apply(backends)]
#[tokio::test]
async fn known_and_unknown_emails_take_the_same_time(#[case] backend: Backend) {
    let Some(app) = spawn_mail_app(backend, "").await else {
        return;
    };
    let email = unique_email();
    assert_eq!(app.sign_up(&email).await.status(), 200);
    // Warm up the connections and the statements of both branches.
    medians(&app, "/request-password-reset", &email, 2).await;

    for (path, rounds) in [
        ("/request-password-reset", 11),
        ("/forget-password", 5),
        ("/send-verification-email", 5),
    ] {
        assert_alike(path, medians(&app, path, &email, rounds).await);
    }
}
