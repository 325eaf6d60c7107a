//! The image's runtime contract, without an image (no container engine here): the binary run
//! as the Dockerfile runs it — a non-root user (uid 65532, distroless `nonroot`), `HOST=0.0.0.0`,
//! production, JSON logs, its data in a `/data`-like directory that user owns, health checked by
//! its own `healthcheck` subcommand, stopped with SIGTERM — and the startup errors an operator
//! meets: each one line naming the setting, with a non-zero exit (docs/operations.md §1, §6).

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use crate::helpers::{skip_or_fail, unique_email, PASSWORD, SECRET};
use crate::process::free_port;

/// The image's user: distroless `nonroot`.
const NONROOT: u32 = 65532;

/// The binary with the image's environment (Dockerfile `ENV`), run as the image's user when
/// this process may change user (as root, through `setpriv`), else as the current user.
fn image_command(data: &Path, port: u16, args: &[&str]) -> Command {
    let bin = env!("CARGO_BIN_EXE_better-auth-rs");
    let mut cmd = if rustix::process::geteuid().is_root() {
        let mut c = Command::new("setpriv");
        c.args([
            &format!("--reuid={NONROOT}"),
            &format!("--regid={NONROOT}"),
            "--clear-groups",
            "--",
            bin,
        ]);
        c
    } else {
        Command::new(bin)
    };
    cmd.args(args)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOST", "0.0.0.0")
        .env("PORT", port.to_string())
        .env("LOG_FORMAT", "json")
        .env("BETTER_AUTH_ENV", "production")
        .env("BETTER_AUTH_SECRET", SECRET)
        .env("BETTER_AUTH_URL", "http://localhost:3001")
        .env(
            "DATABASE_URL",
            format!("sqlite://{}/better-auth.db?mode=rwc", data.display()),
        )
        .current_dir(data)
        .stdin(Stdio::null());
    cmd
}

/// A `/data`-like directory owned by the image's user.
fn data_dir() -> Option<tempfile::TempDir> {
    let dir = tempfile::tempdir().unwrap();
    if rustix::process::geteuid().is_root() {
        if Command::new("setpriv").arg("--version").output().is_err() {
            skip_or_fail("container contract", "setpriv (util-linux) is missing");
            return None;
        }
        std::os::unix::fs::chown(dir.path(), Some(NONROOT), Some(NONROOT)).unwrap();
    }
    Some(dir)
}

fn healthcheck(data: &Path, port: u16) -> bool {
    image_command(data, port, &["healthcheck"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap()
        .success()
}

#[tokio::test]
async fn the_binary_runs_as_the_image_runs_it() {
    let Some(data) = data_dir() else { return };
    let port = free_port();
    assert!(!healthcheck(data.path(), port), "nothing serves yet");
    let child = image_command(data.path(), port, &["serve"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut healthy = false;
    for _ in 0..150 {
        if healthcheck(data.path(), port) {
            healthy = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        healthy,
        "the healthcheck subcommand passes once the service is up"
    );

    // It runs as the image's user, listening on every interface.
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap();
    let uid_line = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
    let expected = if rustix::process::geteuid().is_root() {
        NONROOT
    } else {
        rustix::process::geteuid().as_raw()
    };
    assert!(
        uid_line
            .split_whitespace()
            .skip(1)
            .all(|u| u == expected.to_string()),
        "{uid_line}"
    );
    assert_ne!(expected, 0, "never root");
    let listening = std::fs::read_to_string("/proc/net/tcp").unwrap();
    let wildcard = format!("00000000:{port:04X}");
    assert!(listening.contains(&wildcard), "listens on 0.0.0.0:{port}");

    // It serves, and writes its database (and nothing else) in the data directory.
    let client = reqwest::Client::new();
    let res = client
        .post(format!("http://127.0.0.1:{port}/api/auth/sign-up/email"))
        .header("origin", "http://localhost:3001")
        .header("x-forwarded-for", "203.0.113.9")
        .json(&serde_json::json!({ "email": unique_email(), "password": PASSWORD, "name": "Img" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let db = data.path().join("better-auth.db");
    let meta = std::fs::metadata(&db).unwrap();
    use std::os::unix::fs::MetadataExt;
    assert_eq!(
        meta.uid(),
        expected,
        "the database belongs to the image's user"
    );
    for entry in std::fs::read_dir(data.path()).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        assert!(name.starts_with("better-auth.db"), "unexpected file {name}");
    }

    // SIGTERM: a clean stop, exit 0; the healthcheck then fails.
    let pid = rustix::process::Pid::from_raw(i32::try_from(child.id()).unwrap()).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!healthcheck(data.path(), port));

    // Every log line is JSON, with a level and a message.
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.lines().count() >= 3, "{stdout}");
    for line in stdout.lines() {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(v["level"].is_string() && v["message"].is_string(), "{line}");
    }
    assert!(stdout.contains("\"message\":\"stopped\""));
    assert!(!stdout.contains(SECRET));
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Variables changed (`None`: removed), the exit code expected, and the setting the line names.
type Case<'a> = (Vec<(&'a str, Option<&'a str>)>, i32, &'a str);

/// Runs the image's command with `env` changed, expecting a quick failure.
fn fails(data: &Path, args: &[&str], env: &[(&str, Option<&str>)]) -> (i32, String) {
    let mut cmd = image_command(data, free_port(), args);
    for (k, v) in env {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    let out: Output = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).trim().to_owned();
    assert!(
        !out.status.success(),
        "{args:?} {env:?} succeeded: {stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr:?}");
    (out.status.code().unwrap_or(-1), stderr)
}

#[tokio::test]
async fn bad_settings_stop_the_service_and_the_commands_with_one_line_naming_the_setting() {
    let Some(data) = data_dir() else { return };
    let config = data.path().join("bad.toml");
    std::fs::write(&config, "[session]\nexpires_in = \"a week\"\n").unwrap();
    std::fs::write(
        data.path().join("unknown.toml"),
        "[sesion]\nexpires_in = 60\n",
    )
    .unwrap();
    let unknown = data.path().join("unknown.toml");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for f in [&config, &unknown] {
            std::fs::set_permissions(f, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
    }
    let config = config.display().to_string();
    let unknown = unknown.display().to_string();
    let cases: Vec<Case> = vec![
        (
            vec![("DATABASE_URL", Some("mongodb://127.0.0.1/x"))],
            2,
            "DATABASE_URL",
        ),
        (
            vec![("DATABASE_URL", Some("postgres://postgres@127.0.0.1:1/test"))],
            1,
            "DATABASE_URL",
        ),
        (
            vec![("REDIS_URL", Some("redis://127.0.0.1:1"))],
            1,
            "REDIS_URL",
        ),
        (vec![("BETTER_AUTH_SECRET", None)], 2, "BETTER_AUTH_SECRET"),
        (
            vec![("BETTER_AUTH_CONFIG", Some(&config))],
            2,
            "session.expires_in",
        ),
        (vec![("BETTER_AUTH_CONFIG", Some(&unknown))], 2, "sesion"),
        (vec![("PORT", Some("http"))], 2, "PORT"),
    ];
    for args in [&["serve"][..], &["user", "list"][..], &["migrate"][..]] {
        for (env, code, setting) in &cases {
            if args[0] == "migrate" && setting == &"REDIS_URL" {
                continue; // migrate touches only the database
            }
            let (got, line) = fails(data.path(), args, env);
            assert_eq!(got, *code, "{args:?} {env:?}: {line}");
            assert!(line.contains(setting), "{args:?} {env:?}: {line}");
            assert!(!line.contains(SECRET), "{line}");
        }
    }
    // Metrics on the API port without a token are refused too.
    let metrics = data.path().join("metrics.toml");
    std::fs::write(&metrics, "[metrics]\nenabled = true\non_api_port = true\n").unwrap();
    let metrics = metrics.display().to_string();
    let (code, line) = fails(
        data.path(),
        &["serve"],
        &[("BETTER_AUTH_CONFIG", Some(&metrics))],
    );
    assert_eq!(code, 2);
    assert!(line.contains("BETTER_AUTH_METRICS_TOKEN"), "{line}");
    let (code, line) = fails(
        data.path(),
        &["serve"],
        &[
            ("BETTER_AUTH_CONFIG", Some(&metrics)),
            ("BETTER_AUTH_METRICS_TOKEN", Some("short")),
        ],
    );
    assert_eq!(code, 2);
    assert!(
        line.contains("BETTER_AUTH_METRICS_TOKEN: must be at least"),
        "{line}"
    );
}
