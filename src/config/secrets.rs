//! The secrets: `BETTER_AUTH_SECRET`, the versioned `BETTER_AUTH_SECRETS`, and the
//! development secret kept beside the SQLite file.

use std::path::{Path, PathBuf};

use secrecy::{ExposeSecret, SecretString};

use super::{Environment, Sources};
use crate::auth::crypto::VersionedSecret;
pub use crate::auth::crypto::MIN_SECRET_LEN;

/// Better Auth's development default secret; refused everywhere (docs/compatibility.md §2.7).
const BETTER_AUTH_DEFAULT_SECRET: &str = "better-auth-secret-12345678901234567890";

/// The version the legacy `BETTER_AUTH_SECRET` is listed under after the versioned secrets; no
/// envelope names it (versions come from BETTER_AUTH_SECRETS, which refuses none).
pub const LEGACY_SECRET_VERSION: u32 = u32::MAX;

pub(super) fn load_secrets(
    src: &Sources,
    environment: Environment,
    database_url: &str,
    errors: &mut Vec<String>,
    warnings: &mut Vec<String>,
) -> (SecretString, Vec<VersionedSecret>, bool) {
    let mut secrets = Vec::new();
    let mut versioned = false;
    if let Some(list) = src.get("BETTER_AUTH_SECRETS") {
        versioned = true;
        for (i, entry) in list
            .split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .enumerate()
        {
            match entry
                .split_once(':')
                .map(|(v, s)| (v.trim().parse::<u32>(), s.trim()))
            {
                Some((Ok(version), value)) if !value.is_empty() => {
                    if secrets
                        .iter()
                        .any(|s: &VersionedSecret| s.version == version)
                    {
                        errors.push(format!(
                            "BETTER_AUTH_SECRETS: version {version} is listed twice"
                        ));
                    }
                    secrets.push(VersionedSecret {
                        version,
                        value: SecretString::from(value.to_owned()),
                    });
                }
                _ => errors.push(format!(
                    "BETTER_AUTH_SECRETS: entry {} is not `<version>:<secret>`",
                    i + 1
                )),
            }
        }
        if secrets.is_empty() {
            errors.push("BETTER_AUTH_SECRETS: no secret given".into());
        }
    }
    let current = match (secrets.first(), src.get("BETTER_AUTH_SECRET")) {
        (Some(first), _) => Some(first.value.clone()),
        (None, Some(s)) => Some(SecretString::from(s.to_owned())),
        (None, None) => None,
    };
    let current = match current {
        Some(s) => s,
        None if environment == Environment::Production => {
            errors.push("BETTER_AUTH_SECRET: required when BETTER_AUTH_ENV=production".into());
            SecretString::from(String::new())
        }
        None => match development_secret(database_url) {
            Ok((s, path)) => {
                warnings.push(format!(
                    "BETTER_AUTH_SECRET is not set: using the development secret kept in {}",
                    path.display()
                ));
                s
            }
            Err(e) => {
                errors.push(format!(
                    "BETTER_AUTH_SECRET: not set, and no development secret could be kept: {e}"
                ));
                SecretString::from(String::new())
            }
        },
    };
    let all = std::iter::once(&current).chain(secrets.iter().map(|s| &s.value));
    for s in all {
        let s = s.expose_secret();
        if s.is_empty() {
            continue;
        }
        if s == BETTER_AUTH_DEFAULT_SECRET {
            errors.push(
                "BETTER_AUTH_SECRET: the Better Auth example default secret must not be used"
                    .into(),
            );
        } else if s.chars().count() < MIN_SECRET_LEN {
            let msg = format!("BETTER_AUTH_SECRET: must be at least {MIN_SECRET_LEN} characters");
            if environment == Environment::Production {
                errors.push(msg)
            } else {
                warnings.push(msg)
            }
        }
    }
    if secrets.is_empty() {
        secrets.push(VersionedSecret {
            version: 0,
            value: current.clone(),
        });
    } else if let Some(legacy) = src.get("BETTER_AUTH_SECRET").filter(|legacy| {
        !legacy.is_empty()
            && *legacy != BETTER_AUTH_DEFAULT_SECRET
            && !secrets.iter().any(|s| s.value.expose_secret() == *legacy)
    }) {
        // Better Auth's `legacySecret`: beside BETTER_AUTH_SECRETS, BETTER_AUTH_SECRET still opens
        // what was encrypted under it before the secrets were versioned (bare hex: provider
        // tokens, two-factor secrets, private keys). It is tried last and never encrypts.
        secrets.push(VersionedSecret {
            version: LEGACY_SECRET_VERSION,
            value: SecretString::from(legacy.to_owned()),
        });
    }
    (current, secrets, versioned)
}

/// The generated development secret lives beside the SQLite file (else in the working
/// directory), readable by its owner only, and is reused on the next start.
fn development_secret(database_url: &str) -> std::io::Result<(SecretString, PathBuf)> {
    let dir = sqlite_path(database_url)
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(|| PathBuf::from("."));
    let path = dir.join(".better-auth-secret");
    if let Ok(existing) = std::fs::read_to_string(&path) {
        let existing = existing.trim().to_owned();
        if existing.len() >= MIN_SECRET_LEN {
            return Ok((SecretString::from(existing), path));
        }
    }
    let secret = generate_secret();
    write_private(&path, &secret)?;
    Ok((SecretString::from(secret), path))
}

fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(contents.as_bytes())
}

/// A new random secret: 48 bytes, base64url (64 characters).
pub fn generate_secret() -> String {
    use base64::Engine;
    use rand::RngCore;
    let mut bytes = [0u8; 48];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The file path of a `sqlite:` URL, if it names a file.
pub fn sqlite_path(database_url: &str) -> Option<PathBuf> {
    let rest = database_url
        .strip_prefix("sqlite://")
        .or_else(|| database_url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    if path.is_empty() || path == ":memory:" {
        return None;
    }
    Some(PathBuf::from(path))
}
