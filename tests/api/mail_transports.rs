//! The `webhook` and `smtp` transports against real receivers on loopback.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use crate::helpers::*;
use crate::process::free_port;

/// How long a background delivery may take to arrive.
const ARRIVAL: Duration = Duration::from_secs(10);

/// A tiny HTTP receiver: answers every request with `status` and forwards its JSON body.
async fn webhook_receiver(status: u16) -> (String, mpsc::UnboundedReceiver<Value>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hooks/mail", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                let body = loop {
                    let n = stream.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
                        continue;
                    };
                    let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
                    let len: usize = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse().ok())
                        .unwrap_or(0);
                    if buf.len() >= end + 4 + len {
                        break buf[end + 4..end + 4 + len].to_vec();
                    }
                };
                let reply = format!(
                    "HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                );
                let _ = stream.write_all(reply.as_bytes()).await;
                if let Ok(v) = serde_json::from_slice(&body) {
                    let _ = tx.send(v);
                }
            });
        }
    });
    (url, rx)
}

#[tokio::test]
async fn the_webhook_transport_posts_the_mail_as_json() {
    let (url, mut received) = webhook_receiver(200).await;
    let toml = format!("[email]\ntransport = \"webhook\"\nwebhook_url = \"{url}\"");
    let Some(app) = spawn_app_with(Backend::Sqlite, &toml, &[]).await else {
        return;
    };
    let email = unique_email();
    app.sign_up(&email).await;
    let res = app
        .post("/request-password-reset", &json!({"email": email}))
        .await;
    assert_eq!(res.status(), 200);
    let mail = tokio::time::timeout(ARRIVAL, received.recv())
        .await
        .expect("webhook called")
        .unwrap();
    assert_eq!(mail["type"], "reset-password");
    assert_eq!(mail["email"], email);
    let token = mail["token"].as_str().unwrap();
    assert_eq!(
        mail["url"],
        format!("http://localhost:3001/api/auth/reset-password/{token}?callbackURL=")
    );
    let user = app
        .state
        .store
        .find_user_by_email(&email)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(mail["userId"], user.id);
    assert!(app
        .state
        .store
        .find_verification(&format!("reset-password:{token}"), app.state.clock.now())
        .await
        .unwrap()
        .is_some());
}

#[tokio::test]
async fn a_failing_transport_is_swallowed_for_resets_and_reported_for_send_verification_email() {
    let (url, mut received) = webhook_receiver(500).await;
    let toml = format!("[email]\ntransport = \"webhook\"\nwebhook_url = \"{url}\"");
    let Some(app) = spawn_app_with(Backend::Sqlite, &toml, &[]).await else {
        return;
    };
    let email = unique_email();
    app.sign_up(&email).await;
    let res = app
        .post("/request-password-reset", &json!({"email": email}))
        .await;
    assert_eq!(
        res.status(),
        200,
        "Better Auth logs a failed sendResetPassword and answers 200"
    );
    tokio::time::timeout(ARRIVAL, received.recv())
        .await
        .expect("webhook called");
    // Errors of the send hook of this endpoint propagate: an empty 500.
    let res = app
        .post("/send-verification-email", &json!({"email": email}))
        .await;
    assert_eq!(res.status(), 500);
    assert!(res.bytes().await.unwrap().is_empty());
}

/// The Python of the test venv `target/python-venv` (made by scripts/test.sh from
/// tests/requirements.txt) or `$MAIL_TEST_PYTHON`.
fn mail_python() -> Option<PathBuf> {
    let path = std::env::var_os("MAIL_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("target/python-venv/bin/python")
        });
    path.exists().then_some(path)
}

#[tokio::test]
async fn the_smtp_transport_delivers_a_reset_mail_to_a_real_smtp_server() {
    let Some(python) = mail_python() else {
        skip_or_fail(
            "smtp transport test",
            "no Python with aiosmtpd (run scripts/test.sh, or set MAIL_TEST_PYTHON)",
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // A maildir that does not exist yet: the Mailbox handler creates it with new/, cur/, tmp/.
    let maildir = dir.path().join("maildir");
    let port = free_port();
    let _server = tokio::process::Command::new(python)
        .args([
            "-m",
            "aiosmtpd",
            "-n",
            "-l",
            &format!("127.0.0.1:{port}"),
            "-c",
            "aiosmtpd.handlers.Mailbox",
        ])
        .arg(&maildir)
        .kill_on_drop(true)
        .spawn()
        .expect("start aiosmtpd");
    let deadline = tokio::time::Instant::now() + ARRIVAL;
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "aiosmtpd did not start"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let toml = format!("[email]\ntransport = \"smtp\"\nsmtp_url = \"smtp://127.0.0.1:{port}\"\nfrom = \"Auth <auth@example.com>\"");
    let Some(app) = spawn_app_with(Backend::Sqlite, &toml, &[]).await else {
        return;
    };
    let email = sign_up_and_ask_reset(&app).await;

    let inbox = maildir.join("new");
    let message = loop {
        let found = std::fs::read_dir(&inbox)
            .ok()
            .and_then(|mut d| d.next())
            .and_then(Result::ok);
        if let Some(entry) = found {
            // Long lines come quoted-printable: undo soft breaks and `=3D`.
            let raw = std::fs::read_to_string(entry.path()).unwrap();
            break raw
                .replace("=\r\n", "")
                .replace("=\n", "")
                .replace("=3D", "=");
        }
        assert!(
            tokio::time::Instant::now() < deadline + ARRIVAL,
            "no mail arrived"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(message.contains(&format!("To: {email}")), "{message}");
    assert!(
        message.contains("From: Auth <auth@example.com>"),
        "{message}"
    );
    assert!(
        message.contains("Subject: Reset your password"),
        "{message}"
    );
    let prefix = "http://localhost:3001/api/auth/reset-password/";
    let at = message
        .find(prefix)
        .unwrap_or_else(|| panic!("no link in {message}"));
    let token = &message[at + prefix.len()..at + prefix.len() + 24];
    assert!(
        message.contains(&format!("{prefix}{token}?callbackURL=%2Freset")),
        "{message}"
    );
    let row = app
        .state
        .store
        .find_verification(&format!("reset-password:{token}"), app.state.clock.now())
        .await
        .unwrap();
    assert!(row.is_some(), "the mailed token is the stored one");
}
