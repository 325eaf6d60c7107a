//! The JWT plugin's stored keys seen from the operator's side: listing them, and sealing them
//! again with the current secret after a secret rotation (docs/operations.md §5,
//! docs/configuration.md on `BETTER_AUTH_SECRETS`).

use chrono::{DateTime, Utc};

use crate::auth::keyseal;
use crate::config::Settings;
use crate::store::{JwkRow, Store, StoreResult};

/// Where a stored private key stands with the configured secrets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seal {
    /// Sealed with the current secret.
    Current,
    /// Sealed with an older secret of `BETTER_AUTH_SECRETS`.
    Older,
    /// Plain JWK text (`key_encryption = "none"`).
    Plain,
    /// None of the configured secrets opens it.
    Unreadable,
}

impl Seal {
    pub fn as_str(self) -> &'static str {
        match self {
            Seal::Current => "current",
            Seal::Older => "older",
            Seal::Plain => "plain",
            Seal::Unreadable => "unreadable",
        }
    }
}

/// How a row's private key is sealed.
pub fn seal_of(settings: &Settings, row: &JwkRow) -> Seal {
    if row.private_key.trim_start().starts_with('{') {
        return Seal::Plain;
    }
    if keyseal::open(
        &row.private_key,
        &settings.secrets[..1.min(settings.secrets.len())],
    )
    .is_ok()
    {
        return Seal::Current;
    }
    if keyseal::open(&row.private_key, &settings.secrets).is_ok() {
        Seal::Older
    } else {
        Seal::Unreadable
    }
}

/// A key's state at `now`: `signing` until it expires, then `expired` (still published during
/// the grace period, Better Auth's `jwks` plugin).
pub fn key_state(row: &JwkRow, now: DateTime<Utc>) -> &'static str {
    match row.expires_at {
        Some(at) if at <= now => "expired",
        _ => "active",
    }
}

/// What a re-sealing did.
#[derive(Debug, Default)]
pub struct Resealed {
    /// Keys sealed again with the current secret.
    pub resealed: Vec<String>,
    /// Keys already sealed with it.
    pub current: Vec<String>,
    /// Keys stored as plain text (left alone).
    pub plain: Vec<String>,
    /// Keys no configured secret opens (left alone).
    pub unreadable: Vec<String>,
}

/// Seals again, with the current secret, every key that only an older secret of
/// `BETTER_AUTH_SECRETS` opens; each keeps its format. Once nothing is left sealed with an older
/// secret, that secret can leave `BETTER_AUTH_SECRETS`.
pub async fn reseal_jwks(settings: &Settings, store: &Store) -> StoreResult<Resealed> {
    let mut out = Resealed::default();
    for row in store.list_jwks().await? {
        match seal_of(settings, &row) {
            Seal::Current => out.current.push(row.id),
            Seal::Plain => out.plain.push(row.id),
            Seal::Unreadable => out.unreadable.push(row.id),
            Seal::Older => {
                match keyseal::reseal(
                    &row.private_key,
                    &settings.secrets,
                    settings.versioned_secrets,
                    false,
                ) {
                    Some(column) => {
                        store.update_jwk_private_key(&row.id, &column).await?;
                        out.resealed.push(row.id);
                    }
                    None => out.unreadable.push(row.id),
                }
            }
        }
    }
    Ok(out)
}
