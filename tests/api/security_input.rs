//! Hostile input: NUL characters are a validation error on every backend (PostgreSQL cannot
//! store them), and a body trickled in byte by byte does not hold a connection for long.

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::*;

async fn assert_nul_refused(res: reqwest::Response, what: &str) {
    let (status, code, message) = error_code(res).await;
    assert_eq!(
        (status, code.as_str()),
        (400, "VALIDATION_ERROR"),
        "{what}: {message}"
    );
    assert!(message.contains("NUL"), "{what}: {message}");
}

#[apply(backends)]
#[tokio::test]
async fn nul_characters_are_a_validation_error_before_the_database(#[case] backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let email = unique_email();
    let nul_email = format!("a\u{0}{email}");
    for (what, body) in [
        (
            "name",
            json!({"email": unique_email(), "password": PASSWORD, "name": "a\u{0}b"}),
        ),
        (
            "image",
            json!({"email": unique_email(), "password": PASSWORD, "name": "n", "image": "\u{0}"}),
        ),
        (
            "custom field",
            json!({"email": unique_email(), "password": PASSWORD, "name": "n", "nickname": "x\u{0}"}),
        ),
        (
            "email",
            json!({"email": nul_email, "password": PASSWORD, "name": "n"}),
        ),
        (
            "password",
            json!({"email": unique_email(), "password": "pass\u{0}word-long", "name": "n"}),
        ),
    ] {
        let res = app.post("/sign-up/email", &body).await;
        assert_nul_refused(res, &format!("sign-up {what}")).await;
    }

    assert_eq!(app.sign_up(&email).await.status(), 200);
    for body in [
        json!({"name": "x\u{0}"}),
        json!({"image": "https://e.com/\u{0}.png"}),
        json!({"nickname": "\u{0}"}),
    ] {
        assert_nul_refused(app.post("/update-user", &body).await, &body.to_string()).await;
    }
    let me = app.get_session().await;
    assert_eq!(me["user"]["name"], "Test User", "nothing was changed");

    assert_nul_refused(
        app.post("/revoke-session", &json!({"token": "t\u{0}"}))
            .await,
        "revoke-session",
    )
    .await;
    assert_nul_refused(
        app.post(
            "/reset-password",
            &json!({"token": "t\u{0}k", "newPassword": "a new password 123"}),
        )
        .await,
        "reset-password body",
    )
    .await;
    assert_nul_refused(
        app.get("/reset-password/t%00k?callbackURL=/reset").await,
        "reset-password path",
    )
    .await;
    assert_nul_refused(
        app.get("/delete-user/callback?token=t%00k").await,
        "delete-user token",
    )
    .await;
    assert_nul_refused(
        app.get("/verify-email?token=t%00k").await,
        "verify-email token",
    )
    .await;
    assert_nul_refused(
        app.post(
            "/sign-in/email",
            &json!({"email": email, "password": "x\u{0}"}),
        )
        .await,
        "sign-in password",
    )
    .await;
    // Still signed in, the database still answering.
    let me: Value = app.get_session().await;
    assert_eq!(me["user"]["email"], email.as_str());
}

/// Sends `head` then one body byte every two seconds; returns how long the server kept the
/// connection and what it answered.
async fn trickle(address: &str, head: &str) -> (Duration, String) {
    let addr = address.trim_start_matches("http://");
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    let started = Instant::now();
    let mut answer = Vec::new();
    for _ in 0..40 {
        let mut buf = [0u8; 4096];
        match tokio::time::timeout(Duration::from_secs(2), stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => answer.extend_from_slice(&buf[..n]),
            Err(_) => {
                if stream.write_all(b"{").await.is_err() {
                    break;
                }
            }
        }
    }
    (
        started.elapsed(),
        String::from_utf8_lossy(&answer).into_owned(),
    )
}

#[tokio::test]
async fn a_trickled_body_does_not_hold_a_connection_for_long() {
    let Some(app) = spawn_app(Backend::Sqlite).await else {
        return;
    };
    let head = |method: &str, path: &str| {
        format!(
            "{method} /api/auth{path} HTTP/1.1\r\nHost: localhost\r\nOrigin: {ORIGIN}\r\n\
             Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
        )
    };
    // A route that reads its body answers 408 once the body is late; one that does not read
    // it answers at once. Either way the connection ends well before the trickle would.
    let reading = async {
        let (held, answer) = trickle(&app.address, &head("POST", "/sign-in/email")).await;
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
        assert!(answer.contains("REQUEST_TIMEOUT"), "{answer}");
        held
    };
    let chunked = async {
        let h = format!(
            "POST /api/auth/sign-up/email HTTP/1.1\r\nHost: localhost\r\nOrigin: {ORIGIN}\r\n\
             Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n1\r\n{{\r\n"
        );
        let (held, answer) = trickle(&app.address, &h).await;
        assert!(answer.starts_with("HTTP/1.1 4"), "{answer}");
        held
    };
    let ignoring = async { trickle(&app.address, &head("POST", "/ok")).await.0 };
    let (reading, chunked, ignoring) = tokio::join!(reading, chunked, ignoring);
    for (what, held) in [
        ("reading", reading),
        ("chunked", chunked),
        ("ignoring", ignoring),
    ] {
        assert!(
            held < Duration::from_secs(25),
            "{what}: the connection was held {held:?}"
        );
    }
    // The service still answers.
    assert_eq!(app.get("/ok").await.status(), 200);
}
