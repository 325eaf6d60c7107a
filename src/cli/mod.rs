//! The command line: `serve` (the default), `migrate`, `healthcheck`, `check-config`, and the
//! operator commands (`user`, `sessions`, `jwks`, `secret`; docs/operations.md §5), which run the
//! same flows as the API on the configured database. Every command takes `--json`.
//!
//! A failure is one line on standard error, naming the setting when a setting is at fault, and
//! a non-zero exit: 2 for configuration errors, 1 for everything else.

mod keys;
mod users;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use serde_json::{json, Value};

use crate::config::{generate_secret, Settings};
use crate::error::ApiError;
use crate::plugins::KINDS;
use crate::startup::Application;
use crate::state::{check_redis, open_store, AppState};
use crate::telemetry;

#[derive(Parser)]
#[command(
    name = "better-auth-rs",
    version,
    about = "A wire-compatible Better Auth server"
)]
struct Cli {
    /// Print the answer as one JSON document on standard output.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API (the default).
    Serve,
    /// Run the database migrations and exit.
    Migrate,
    /// Print a new random secret for BETTER_AUTH_SECRET.
    GenerateSecret,
    /// Exit 0 when the local server answers /health (for container health checks).
    Healthcheck,
    /// Load and check the configuration (environment and TOML file) without connecting.
    CheckConfig,
    /// Manage users (the password is read from standard input, never from the command line).
    User {
        #[command(subcommand)]
        action: users::UserCommand,
    },
    /// List or end sessions.
    Sessions {
        #[command(subcommand)]
        action: users::SessionsCommand,
    },
    /// Manage the JWT plugin's signing keys.
    Jwks {
        #[command(subcommand)]
        action: keys::JwksCommand,
    },
    /// Secret rotation.
    Secret {
        #[command(subcommand)]
        action: keys::SecretCommand,
    },
}

/// A command's failure: a configuration problem (exit 2) or anything else (exit 1).
pub enum Failure {
    Config(String),
    Run(String),
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Self {
        Failure::Run(format!("{e:#}"))
    }
}

impl From<ApiError> for Failure {
    fn from(e: ApiError) -> Self {
        Failure::Run(describe(&e))
    }
}

impl From<crate::store::StoreError> for Failure {
    fn from(e: crate::store::StoreError) -> Self {
        Failure::Run(format!("{:#}", anyhow::Error::new(e)))
    }
}

/// An API error as an operator reads it: the message and the code.
fn describe(e: &ApiError) -> String {
    match e {
        ApiError::Code(c) => format!("{} ({})", c.message(), c.code()),
        ApiError::Custom { code, message, .. } => format!("{message} ({code})"),
        ApiError::WithCookies(inner, _) => describe(inner),
        ApiError::Unavailable(cause) => format!("a backing service is unavailable: {cause:#}"),
        ApiError::Internal(cause) => format!("{cause:#}"),
        other => other.to_string(),
    }
}

/// Where a command's answer goes: human lines, or one JSON document.
pub struct Out {
    pub json: bool,
}

impl Out {
    /// Prints `value` as JSON, or the human `text`.
    pub fn print(&self, value: Value, text: impl FnOnce() -> String) {
        if self.json {
            println!("{value}");
        } else {
            let text = text();
            if !text.is_empty() {
                println!("{text}");
            }
        }
    }
}

pub type Outcome = Result<(), Failure>;

fn load_settings() -> Result<Settings, Failure> {
    Settings::from_env().map_err(|e| Failure::Config(e.to_string()))
}

/// The state the operator commands run on: the service's own, after checking Redis.
pub(crate) async fn operator_state(settings: Settings) -> Result<AppState, Failure> {
    check_redis(&settings).await?;
    Ok(AppState::load(settings, KINDS).await?)
}

/// Parses the command line, runs the command, and says how it ended.
pub async fn run() -> ExitCode {
    let cli = Cli::parse();
    let out = Out { json: cli.json };
    let command = cli.command.unwrap_or(Command::Serve);
    match dispatch(command, &out).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Config(lines)) => {
            eprintln!("{}", lines.trim_end());
            ExitCode::from(2)
        }
        Err(Failure::Run(line)) => {
            // One line: a cause chain never spreads over several.
            eprintln!("error: {}", line.replace(['\n', '\r'], " "));
            ExitCode::FAILURE
        }
    }
}

async fn dispatch(command: Command, out: &Out) -> Outcome {
    if let Command::GenerateSecret = command {
        let secret = generate_secret();
        out.print(json!({ "secret": secret }), || secret.clone());
        return Ok(());
    }
    let settings = load_settings()?;
    if let Command::Healthcheck = command {
        return healthcheck(&settings).await;
    }
    if let Command::CheckConfig = command {
        return check_config(&settings, out);
    }
    let _logs = if let Command::Serve = command {
        telemetry::init(settings.log_format, "info")
    } else {
        // The answer is on stdout; routine logs stay out of it.
        telemetry::init_stderr(settings.log_format, "warn")
    };
    for w in &settings.warnings {
        tracing::warn!("{w}");
    }
    match command {
        Command::Migrate => migrate(settings, out).await,
        Command::User { action } => users::user(settings, action, out).await,
        Command::Sessions { action } => users::sessions(settings, action, out).await,
        Command::Jwks { action } => keys::jwks(settings, action, out).await,
        Command::Secret { action } => keys::secret(settings, action, out).await,
        _ => serve(settings).await,
    }
}

async fn serve(settings: Settings) -> Outcome {
    check_redis(&settings).await?;
    let app = Application::build(settings).await?;
    tracing::info!(
        port = app.port(),
        metrics_port = app.metrics_port(),
        "listening"
    );
    let shutdown = app.shutdown();
    tokio::spawn(async move {
        wait_for_stop_signal().await;
        shutdown.begin().await;
    });
    app.run_until_stopped()
        .await
        .map_err(|e| Failure::Run(format!("serving: {e}")))?;
    tracing::info!("stopped");
    Ok(())
}

/// SIGTERM (orchestrators) or SIGINT (Ctrl-C).
async fn wait_for_stop_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let term = signal(SignalKind::terminate());
    let int = signal(SignalKind::interrupt());
    match (term, int) {
        (Ok(mut term), Ok(mut int)) => {
            tokio::select! {
                _ = term.recv() => tracing::info!("SIGTERM received"),
                _ = int.recv() => tracing::info!("SIGINT received"),
            }
        }
        _ => {
            tracing::warn!("cannot listen for SIGTERM; stopping on Ctrl-C only");
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// Applies the migrations (the enabled plugins' tables and columns included) whatever
/// `BETTER_AUTH_AUTO_MIGRATE` says, and nothing else: no hasher, mailer or key ring is built.
async fn migrate(settings: Settings, out: &Out) -> Outcome {
    let store = open_store(&settings, KINDS, true).await?;
    store.close().await.map_err(anyhow::Error::from)?;
    tracing::info!("migrations applied");
    out.print(json!({ "migrated": true }), String::new);
    Ok(())
}

/// The configuration as loaded: where it came from and what is on, no secret shown.
fn check_config(settings: &Settings, out: &Out) -> Outcome {
    let database = settings_database(settings);
    let plugins: Vec<&str> = KINDS
        .iter()
        .filter(|k| (k.enabled)(settings))
        .map(|k| k.id)
        .collect();
    out.print(
        json!({
            "ok": true,
            "environment": if settings.is_production() { "production" } else { "development" },
            "baseURL": settings.base_url(),
            "database": database,
            "redis": settings.redis_url.is_some(),
            "plugins": plugins,
            "rateLimit": settings.rate_limit_enabled(),
            "metrics": settings.metrics.enabled,
            "warnings": settings.warnings,
        }),
        || {
            let mut lines = vec![format!(
                "configuration ok: {} database, base URL {}, plugins [{}]",
                database,
                settings.base_url(),
                plugins.join(", ")
            )];
            lines.extend(settings.warnings.iter().map(|w| format!("warning: {w}")));
            lines.join("\n")
        },
    );
    Ok(())
}

fn settings_database(settings: &Settings) -> &'static str {
    use secrecy::ExposeSecret;
    let url = settings.database_url.expose_secret();
    if url.starts_with("sqlite:") {
        "sqlite"
    } else if url.starts_with("postgres") {
        "postgres"
    } else {
        "mysql"
    }
}

/// A plain HTTP/1.1 GET of /health on the configured port.
async fn healthcheck(settings: &Settings) -> Outcome {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let host = if settings.host == "0.0.0.0" {
        "127.0.0.1"
    } else {
        settings.host.as_str()
    };
    let attempt = async {
        let mut s = tokio::net::TcpStream::connect((host, settings.port)).await?;
        s.write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            .await?;
        let mut buf = Vec::new();
        s.read_to_end(&mut buf).await?;
        Ok::<_, std::io::Error>(buf.starts_with(b"HTTP/1.1 200"))
    };
    match tokio::time::timeout(std::time::Duration::from_secs(3), attempt).await {
        Ok(Ok(true)) => Ok(()),
        Ok(Ok(false)) => Err(Failure::Run(format!(
            "healthcheck: {host}:{} answered /health without 200",
            settings.port
        ))),
        Ok(Err(e)) => Err(Failure::Run(format!(
            "healthcheck: nothing answers on {host}:{} (HOST, PORT): {e}",
            settings.port
        ))),
        Err(_) => Err(Failure::Run(format!(
            "healthcheck: {host}:{} did not answer within 3 s",
            settings.port
        ))),
    }
}
