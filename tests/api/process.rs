//! The real binary as a long-running child process: a service on a port of its own, stopped
//! with SIGTERM as an orchestrator stops it.

use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use crate::helpers::{binary, TestDatabase};

/// A loopback port free right now.
pub fn free_port() -> u16 {
    free_ports(1)[0]
}

/// `n` different loopback ports free right now: all are held until each is picked, so none is
/// handed out twice (ports picked one after another may repeat).
pub fn free_ports(n: usize) -> Vec<u16> {
    let held: Vec<std::net::TcpListener> = (0..n)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").expect("a free port"))
        .collect();
    held.iter()
        .map(|l| l.local_addr().expect("a bound port").port())
        .collect()
}

/// The warnings and errors the services of this database logged (`service-*.log` in its
/// directory), to explain a failure.
pub fn service_errors(db: &TestDatabase) -> Vec<String> {
    let mut lines = Vec::new();
    for entry in std::fs::read_dir(db.dir()).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with("service-") {
            let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
            lines.extend(
                text.lines()
                    .filter(|l| l.contains("ERROR") || l.contains("WARN") || l.starts_with("error"))
                    .map(|l| format!("{name}: {l}")),
            );
        }
    }
    lines
}

/// The binary serving on `port`, killed if dropped before it is stopped.
pub struct Service {
    pub child: tokio::process::Child,
    pub port: u16,
    /// Where its standard output and error go.
    pub log: std::path::PathBuf,
}

impl Service {
    /// `better-auth-rs serve` on this database with `toml` and `env` (see `helpers::binary`),
    /// on `port`, its output discarded; returns once `/ready` answers 200.
    pub async fn start(db: &TestDatabase, toml: &str, env: &[(&str, &str)], port: u16) -> Self {
        let mut cmd = binary(db, toml, env);
        let path = db.dir().join(format!(
            "service-{port}-{}.log",
            uuid::Uuid::new_v4().simple()
        ));
        let log = std::fs::File::create(&path).expect("service log");
        cmd.env("PORT", port.to_string())
            .env("LOG_FORMAT", "json")
            .stdout(Stdio::from(log.try_clone().expect("log")))
            .stderr(Stdio::from(log));
        let mut cmd = tokio::process::Command::from(cmd);
        cmd.kill_on_drop(true);
        let child = cmd.spawn().expect("start the service");
        let mut service = Self {
            child,
            port,
            log: path,
        };
        service.wait_ready().await;
        service
    }

    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Polls `/ready` until it answers 200 (at most 30 s); fails with the log if the process
    /// ended first (a 200 from another process on the port must not count).
    pub async fn wait_ready(&mut self) {
        let client = reqwest::Client::new();
        for _ in 0..300 {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "the service on port {} ended before it was ready ({status}); it logged last:\n{}",
                    self.port,
                    self.log_tail(40)
                );
            }
            if let Ok(res) = client.get(format!("{}/ready", self.base())).send().await {
                if res.status() == 200 {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the service on port {} never became ready", self.port);
    }

    /// Sends SIGTERM.
    pub fn terminate(&self) {
        let pid = self.child.id().expect("running");
        let pid = rustix::process::Pid::from_raw(i32::try_from(pid).unwrap()).unwrap();
        rustix::process::kill_process(pid, rustix::process::Signal::TERM).expect("SIGTERM");
    }

    /// The last `n` lines it logged, to explain a failure.
    pub fn log_tail(&self, n: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }

    /// Waits for the process to end (at most 60 s).
    pub async fn wait(&mut self) -> ExitStatus {
        tokio::time::timeout(Duration::from_secs(60), self.child.wait())
            .await
            .expect("the service stops within 60 s")
            .expect("wait")
    }
}
