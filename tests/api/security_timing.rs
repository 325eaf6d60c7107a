//! User enumeration by timing: the routes that must not tell whether an email is known answer
//! in the same time for a known and an unknown one, on every backend. Medians of interleaved
//! requests are compared (the only timed assertion of the suite, which the routes' answers
//! being alike in everything else makes necessary).

use std::time::{Duration, Instant};

use serde_json::json;

use crate::helpers::*;

/// The largest median difference accepted between the two answers of a round. The difference
/// this guards against was 22 ms (PostgreSQL JIT-compiling the unknown email's query); the
/// noise of a loaded 2-core machine, centred on zero in a round's signed difference, leaves
/// its median well under it.
const BOUND_MS: f64 = 15.0;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// The medians of `rounds` POSTs of `path` for `known` and for unknown emails, and the median
/// of the signed differences (ms) within each round. Each round asks once for each, back to back, the
/// order alternating, so that both meet the same load; each answer is 200.
async fn timings(
    app: &TestApp,
    path: &str,
    known: &str,
    rounds: usize,
) -> (Duration, Duration, f64) {
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
    let (mut k, mut u, mut diffs) = (Vec::new(), Vec::new(), Vec::<f64>::new());
    for round in 0..rounds {
        let (known_took, unknown_took) = if round % 2 == 0 {
            let kt = time(known.to_owned()).await;
            (kt, time(unique_email()).await)
        } else {
            let ut = time(unique_email()).await;
            (time(known.to_owned()).await, ut)
        };
        k.push(known_took);
        u.push(unknown_took);
        diffs.push(known_took.as_secs_f64() * 1e3 - unknown_took.as_secs_f64() * 1e3);
    }
    diffs.sort_by(f64::total_cmp);
    (median(k), median(u), diffs[diffs.len() / 2])
}

fn assert_alike(path: &str, (known, unknown, paired): (Duration, Duration, f64)) {
    assert!(
        paired.abs() < BOUND_MS,
        "{path}: known {known:?}, unknown {unknown:?} (a round's known answer took \
         {paired:.1} ms longer in the median)"
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
    timings(&app, "/request-password-reset", &email, 2).await;

    for (path, rounds) in [
        ("/request-password-reset", 11),
        ("/forget-password", 7),
        ("/send-verification-email", 7),
    ] {
        assert_alike(path, timings(&app, path, &email, rounds).await);
    }
}
