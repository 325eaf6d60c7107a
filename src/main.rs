use std::process::ExitCode;

use anyhow::bail;
use better_auth_rs::clock::Clock;
use better_auth_rs::config::{generate_secret, Settings};
use better_auth_rs::plugins::jwt::JwtIssuer;
use better_auth_rs::plugins::KINDS;
use better_auth_rs::startup::Application;
use better_auth_rs::state::open_store;
use better_auth_rs::telemetry;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "better-auth-rs",
    version,
    about = "A wire-compatible Better Auth server"
)]
struct Cli {
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
    /// Manage the JWT plugin's signing keys.
    Jwks {
        #[command(subcommand)]
        action: JwksCommand,
    },
}

#[derive(Subcommand)]
enum JwksCommand {
    /// Create a new signing key now and print its kid; the previous keys stay published for
    /// `grace_period`. Running services switch to it within `key_refresh_interval`.
    Rotate,
}

fn load() -> Result<Settings, ExitCode> {
    Settings::from_env().map_err(|e| {
        eprintln!("{e}");
        ExitCode::from(2)
    })
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let command = cli.command.unwrap_or(Command::Serve);
    if let Command::GenerateSecret = command {
        println!("{}", generate_secret());
        return ExitCode::SUCCESS;
    }
    let settings = match load() {
        Ok(s) => s,
        Err(code) => return code,
    };
    if let Command::Healthcheck = command {
        return healthcheck(&settings).await;
    }
    // The rotate command prints the new kid alone on stdout: keep routine logs out of it.
    let quiet = matches!(command, Command::Jwks { .. });
    let _logs = telemetry::init(settings.log_format, if quiet { "warn" } else { "info" });
    for w in &settings.warnings {
        tracing::warn!("{w}");
    }
    let result = match command {
        Command::Migrate => migrate(settings).await,
        Command::Jwks {
            action: JwksCommand::Rotate,
        } => rotate_jwks(settings).await,
        _ => serve(settings).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    let app = Application::build(settings).await?;
    tracing::info!(port = app.port(), "listening");
    app.run_until_stopped().await?;
    tracing::info!("stopped");
    Ok(())
}

/// Applies the migrations (the enabled plugins' tables and columns included) whatever
/// `BETTER_AUTH_AUTO_MIGRATE` says, and nothing else: no hasher, mailer or key ring is built.
async fn migrate(settings: Settings) -> anyhow::Result<()> {
    let store = open_store(&settings, KINDS, true).await?;
    store.close().await?;
    tracing::info!("migrations applied");
    Ok(())
}

async fn rotate_jwks(settings: Settings) -> anyhow::Result<()> {
    if !settings.plugins.jwt.enabled {
        bail!("the JWT plugin is not enabled ([plugins.jwt] enabled = true)");
    }
    let store = open_store(&settings, KINDS, settings.auto_migrate).await?;
    let now = Clock::default().now();
    let kid = match JwtIssuer::load(&settings, &store, now).await? {
        JwtIssuer::Keys(ring) => ring.rotate(&store, now).await?,
        JwtIssuer::SharedSecret(_) => {
            bail!("plugins.jwt.alg is HS256: there is no key pair to rotate (change jwt_secret)")
        }
    };
    println!("{kid}");
    store.close().await?;
    Ok(())
}

/// A plain HTTP/1.1 GET of /health on the configured port.
async fn healthcheck(settings: &Settings) -> ExitCode {
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
        Ok(Ok(true)) => ExitCode::SUCCESS,
        _ => ExitCode::FAILURE,
    }
}
