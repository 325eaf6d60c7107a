//! `jwks list|rotate` and `secret rotate`: the JWT plugin's keys (Better Auth's `jwks` table)
//! and sealing them again after a change of secret (`crate::flows::keys`).

use clap::Subcommand;
use serde_json::{json, Value};

use super::{Failure, Out, Outcome};
use crate::auth::crypto::iso;
use crate::clock::Clock;
use crate::config::Settings;
use crate::flows::keys::{key_state, reseal_jwks, seal_of};
use crate::plugins::jwt::JwtIssuer;
use crate::plugins::KINDS;
use crate::state::{check_redis, open_store};

#[derive(Subcommand)]
pub enum JwksCommand {
    /// List the stored keys: id, algorithm, dates, and whether the configured secrets open them.
    List,
    /// Create a new signing key now and print its kid; the previous keys stay published for
    /// `grace_period`. Running services switch to it within `key_refresh_interval`.
    Rotate,
}

#[derive(Subcommand)]
pub enum SecretCommand {
    /// Seal every stored JWT key again with the current secret (the first of
    /// BETTER_AUTH_SECRETS), so that older secrets can then be removed from the list.
    Rotate,
}

fn require_jwt(settings: &Settings) -> Result<(), Failure> {
    if settings.plugins.jwt.enabled {
        Ok(())
    } else {
        Err(Failure::Run(
            "plugins.jwt.enabled: the JWT plugin is not enabled, there are no keys".into(),
        ))
    }
}

pub async fn jwks(settings: Settings, action: JwksCommand, out: &Out) -> Outcome {
    require_jwt(&settings)?;
    check_redis(&settings).await?;
    let store = open_store(&settings, KINDS, settings.auto_migrate).await?;
    let now = Clock::default().now();
    match action {
        JwksCommand::List => {
            let rows = store.list_jwks().await?;
            let keys: Vec<Value> = rows
                .iter()
                .map(|r| {
                    json!({
                        "kid": r.id,
                        "alg": r.alg,
                        "crv": r.crv,
                        "createdAt": iso(&r.created_at),
                        "expiresAt": r.expires_at.as_ref().map(iso),
                        "state": key_state(r, now),
                        "seal": seal_of(&settings, r).as_str(),
                    })
                })
                .collect();
            out.print(json!({ "keys": keys }), || {
                let mut lines: Vec<String> = rows
                    .iter()
                    .map(|r| {
                        format!(
                            "{}  {}  created {}  expires {}  {}  sealed: {}",
                            r.id,
                            r.alg.as_deref().unwrap_or(&settings.plugins.jwt.alg),
                            iso(&r.created_at),
                            r.expires_at.as_ref().map_or_else(|| "never".into(), iso),
                            key_state(r, now),
                            seal_of(&settings, r).as_str(),
                        )
                    })
                    .collect();
                lines.push(format!("{} key(s)", rows.len()));
                lines.join("\n")
            });
        }
        JwksCommand::Rotate => {
            let kid = match JwtIssuer::load(&settings, &store, now).await? {
                JwtIssuer::Keys(ring) => ring.rotate(&store, now).await?,
                JwtIssuer::SharedSecret(_) => {
                    return Err(Failure::Run(
                        "plugins.jwt.alg: HS256 has no key pair to rotate (change jwt_secret)"
                            .into(),
                    ))
                }
            };
            // The kid alone on stdout: scripts read it.
            out.print(json!({ "kid": kid }), || kid.clone());
        }
    }
    store.close().await.map_err(anyhow::Error::from)?;
    Ok(())
}

pub async fn secret(settings: Settings, action: SecretCommand, out: &Out) -> Outcome {
    let SecretCommand::Rotate = action;
    require_jwt(&settings)?;
    check_redis(&settings).await?;
    // The store alone: loading the key ring would re-seal by itself and leave nothing to report.
    let store = open_store(&settings, KINDS, settings.auto_migrate).await?;
    let report = reseal_jwks(&settings, &store).await?;
    store.close().await.map_err(anyhow::Error::from)?;
    let version = settings.secrets.first().map_or(0, |s| s.version);
    out.print(
        json!({
            "secretVersion": version,
            "resealed": report.resealed,
            "current": report.current,
            "plain": report.plain,
            "unreadable": report.unreadable,
        }),
        || {
            format!(
                "re-sealed {} key(s) with the current secret (version {version}); {} already sealed with it, {} plain, {} unreadable",
                report.resealed.len(),
                report.current.len(),
                report.plain.len(),
                report.unreadable.len()
            )
        },
    );
    if report.unreadable.is_empty() {
        Ok(())
    } else {
        Err(Failure::Run(format!(
            "BETTER_AUTH_SECRETS: {} key(s) open with none of the configured secrets ({}); list the secret they were sealed with as an older version",
            report.unreadable.len(),
            report.unreadable.join(", ")
        )))
    }
}
