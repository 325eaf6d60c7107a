//! Password hashing (`spec/passwords.md`): argon2id for new hashes; Better Auth's scrypt and
//! imported bcrypt / PHC hashes verified and flagged for re-hashing. All of it runs on the
//! blocking pool behind a semaphore, with a bounded queue in front of it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use argon2::{Algorithm, Argon2, Params, Version};
use password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier, SaltString};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Semaphore;
use unicode_normalization::UnicodeNormalization;

use super::crypto::ct_eq;
use crate::config::PasswordHashing;

/// Hashing could not be done.
#[derive(Debug, thiserror::Error)]
pub enum HashError {
    /// The queue of waiting hash jobs is full: shed load (503) instead of queueing forever.
    #[error("password hashing queue is full")]
    Overloaded,
    #[error("password hashing failed: {0}")]
    Internal(String),
}

/// Result of checking a password against a stored hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verification {
    pub matches: bool,
    /// The stored hash is not argon2id with our parameters: store a new one.
    pub needs_rehash: bool,
}

#[derive(Clone)]
pub struct PasswordHasher {
    inner: Arc<Inner>,
}

struct Inner {
    permits: Semaphore,
    waiting: AtomicUsize,
    max_waiting: usize,
    params: Params,
    /// Verified in place of a missing hash (unknown user); made in the background at start.
    dummy: OnceLock<String>,
}

impl Inner {
    fn dummy(&self) -> &str {
        self.dummy.get_or_init(|| {
            let password = SecretString::from(super::crypto::random_alphanumeric(24));
            hash_blocking(&self.params, &password).unwrap_or_default()
        })
    }
}

impl std::fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordHasher")
            .field("params", &self.inner.params)
            .finish_non_exhaustive()
    }
}

/// argon2id, m=19456 KiB, t=2, p=1 (OWASP's first recommendation), or the test minimum.
fn params_for(cost: PasswordHashing) -> Params {
    let (m, t) = match cost {
        PasswordHashing::Standard => (19_456, 2),
        PasswordHashing::DangerTestMinimum => (Params::MIN_M_COST.max(8), 1),
    };
    Params::new(m, t, 1, None).unwrap_or_default()
}

fn argon2(params: &Params) -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
}

/// Better Auth hashes the NFKC form of the password (passwords.md §1).
fn normalized(password: &SecretString) -> SecretString {
    SecretString::from(password.expose_secret().nfkc().collect::<String>())
}

fn hash_blocking(params: &Params, password: &SecretString) -> Result<String, HashError> {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    argon2(params)
        .hash_password(normalized(password).expose_secret().as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| HashError::Internal(e.to_string()))
}

/// Better Auth's `<32 hex salt>:<128 hex key>`: scrypt N=16384 r=16 p=1, salt as ASCII text.
fn verify_better_auth_scrypt(password: &SecretString, salt: &str, key_hex: &str) -> bool {
    let Ok(expected) = hex::decode(key_hex) else {
        return false;
    };
    let Ok(params) = scrypt::Params::new(14, 16, 1, 64) else {
        return false;
    };
    let mut out = [0u8; 64];
    if scrypt::scrypt(
        normalized(password).expose_secret().as_bytes(),
        salt.as_bytes(),
        &params,
        &mut out,
    )
    .is_err()
    {
        return false;
    }
    ct_eq(&out, &expected)
}

/// Better Auth's scrypt format, for tests and for writing Node-readable hashes.
pub fn better_auth_scrypt(password: &SecretString, salt_hex: &str) -> Option<String> {
    let params = scrypt::Params::new(14, 16, 1, 64).ok()?;
    let mut out = [0u8; 64];
    scrypt::scrypt(
        normalized(password).expose_secret().as_bytes(),
        salt_hex.as_bytes(),
        &params,
        &mut out,
    )
    .ok()?;
    Some(format!("{salt_hex}:{}", hex::encode(out)))
}

fn is_better_auth_scrypt(stored: &str) -> Option<(&str, &str)> {
    let (salt, key) = stored.split_once(':')?;
    let hex = |s: &str| s.chars().all(|c| c.is_ascii_hexdigit());
    (salt.len() == 32 && key.len() == 128 && hex(salt) && hex(key)).then_some((salt, key))
}

fn verify_blocking(params: &Params, password: &SecretString, stored: &str) -> Verification {
    let no = Verification {
        matches: false,
        needs_rehash: false,
    };
    if let Some((salt, key)) = is_better_auth_scrypt(stored) {
        return Verification {
            matches: verify_better_auth_scrypt(password, salt, key),
            needs_rehash: true,
        };
    }
    if stored.starts_with("$2a$") || stored.starts_with("$2b$") || stored.starts_with("$2y$") {
        let matches = bcrypt::verify(password.expose_secret(), stored).unwrap_or(false);
        return Verification {
            matches,
            needs_rehash: true,
        };
    }
    let Ok(parsed) = PasswordHash::new(stored) else {
        return no;
    };
    let pw = normalized(password);
    let pw = pw.expose_secret().as_bytes();
    let matches = match parsed.algorithm.as_str() {
        "argon2id" | "argon2i" | "argon2d" => {
            let raw = password.expose_secret().as_bytes();
            Argon2::default().verify_password(pw, &parsed).is_ok()
            // Hashes imported from elsewhere may not have normalised the password.
            || (raw != pw && Argon2::default().verify_password(raw, &parsed).is_ok())
        }
        "scrypt" => scrypt::Scrypt
            .verify_password(password.expose_secret().as_bytes(), &parsed)
            .is_ok(),
        a if a.starts_with("pbkdf2") => pbkdf2::Pbkdf2
            .verify_password(password.expose_secret().as_bytes(), &parsed)
            .is_ok(),
        _ => return no,
    };
    let current = parsed.algorithm.as_str() == "argon2id"
        && Params::try_from(&parsed).is_ok_and(|p| {
            p.m_cost() == params.m_cost()
                && p.t_cost() == params.t_cost()
                && p.p_cost() == params.p_cost()
        });
    Verification {
        matches,
        needs_rehash: matches && !current,
    }
}

impl PasswordHasher {
    /// `concurrency` hashes run at once; at most `max_waiting` more wait for a slot.
    pub fn new(
        cost: PasswordHashing,
        concurrency: usize,
        max_waiting: usize,
    ) -> Result<Self, HashError> {
        let inner = Arc::new(Inner {
            permits: Semaphore::new(concurrency.max(1)),
            waiting: AtomicUsize::new(0),
            max_waiting,
            params: params_for(cost),
            dummy: OnceLock::new(),
        });
        // The dummy costs a full hash: keep it off the start-up path.
        let warm = inner.clone();
        std::thread::Builder::new()
            .name("password-dummy".into())
            .spawn(move || {
                warm.dummy();
            })
            .map_err(|e| HashError::Internal(e.to_string()))?;
        Ok(Self { inner })
    }

    async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce(&Params) -> T + Send + 'static,
    ) -> Result<T, HashError> {
        let inner = &self.inner;
        if inner.waiting.fetch_add(1, Ordering::AcqRel) >= inner.max_waiting {
            inner.waiting.fetch_sub(1, Ordering::AcqRel);
            return Err(HashError::Overloaded);
        }
        let permit = inner.permits.acquire().await;
        inner.waiting.fetch_sub(1, Ordering::AcqRel);
        let _permit = permit.map_err(|e| HashError::Internal(e.to_string()))?;
        let params = inner.params.clone();
        let span = tracing::Span::current();
        tokio::task::spawn_blocking(move || span.in_scope(|| job(&params)))
            .await
            .map_err(|e| HashError::Internal(e.to_string()))
    }

    /// A new argon2id PHC string.
    pub async fn hash(&self, password: SecretString) -> Result<String, HashError> {
        self.run(move |params| hash_blocking(params, &password))
            .await?
    }

    /// Checks `password` against `stored`; with no stored hash (unknown user) it checks a dummy
    /// hash instead, so both cost the same, and never matches.
    pub async fn verify(
        &self,
        password: SecretString,
        stored: Option<String>,
    ) -> Result<Verification, HashError> {
        let known = stored.is_some();
        let inner = self.inner.clone();
        let v = self
            .run(move |params| {
                let stored = stored.as_deref().unwrap_or_else(|| inner.dummy());
                verify_blocking(params, &password, stored)
            })
            .await?;
        Ok(if known {
            v
        } else {
            Verification {
                matches: false,
                needs_rehash: false,
            }
        })
    }
}

/// Password length as JavaScript counts it: UTF-16 code units (passwords.md §3).
pub fn js_length(s: &str) -> usize {
    s.encode_utf16().count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(s: &str) -> SecretString {
        SecretString::from(s.to_owned())
    }

    fn hasher() -> PasswordHasher {
        PasswordHasher::new(PasswordHashing::DangerTestMinimum, 2, 16).unwrap()
    }

    #[test]
    fn better_auth_scrypt_matches_the_spec_vector() {
        let h =
            better_auth_scrypt(&secret("password123"), "00112233445566778899aabbccddeeff").unwrap();
        assert_eq!(h, "00112233445566778899aabbccddeeff:73122e887cfc14f91396cdef78dfe4b9dec28d459037601c4904cedba5a637ab97b39b40c236df5d42881d0109ca8cf0f85e39dbaba2911c190915bd8f30fe85");
        let p = params_for(PasswordHashing::Standard);
        let v = verify_blocking(&p, &secret("password123"), &h);
        assert_eq!(
            v,
            Verification {
                matches: true,
                needs_rehash: true
            }
        );
        assert!(!verify_blocking(&p, &secret("password124"), &h).matches);
    }

    #[tokio::test]
    async fn new_hashes_are_argon2id_and_verify() {
        let h = hasher();
        let stored = h.hash(secret("correct horse")).await.unwrap();
        assert!(stored.starts_with("$argon2id$v=19$"));
        let v = h
            .verify(secret("correct horse"), Some(stored.clone()))
            .await
            .unwrap();
        assert_eq!(
            v,
            Verification {
                matches: true,
                needs_rehash: false
            }
        );
        assert!(
            !h.verify(secret("wrong horse"), Some(stored))
                .await
                .unwrap()
                .matches
        );
    }

    #[test]
    fn standard_parameters_are_the_documented_ones() {
        let p = params_for(PasswordHashing::Standard);
        assert_eq!((p.m_cost(), p.t_cost(), p.p_cost()), (19_456, 2, 1));
    }

    #[tokio::test]
    async fn unknown_users_never_match() {
        let v = hasher().verify(secret("anything"), None).await.unwrap();
        assert!(!v.matches);
    }

    #[test]
    fn imported_hashes_verify_and_ask_for_rehash() {
        let p = params_for(PasswordHashing::Standard);
        let bcrypt_hash = bcrypt::hash("hunter22", 4).unwrap();
        assert_eq!(
            verify_blocking(&p, &secret("hunter22"), &bcrypt_hash),
            Verification {
                matches: true,
                needs_rehash: true
            }
        );
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        let pbkdf = pbkdf2::Pbkdf2
            .hash_password_customized(
                b"hunter22",
                None,
                None,
                pbkdf2::Params {
                    rounds: 1000,
                    output_length: 32,
                },
                &salt,
            )
            .unwrap()
            .to_string();
        assert_eq!(
            verify_blocking(&p, &secret("hunter22"), &pbkdf),
            Verification {
                matches: true,
                needs_rehash: true
            }
        );
        let scrypt_phc = scrypt::Scrypt
            .hash_password_customized(
                b"hunter22",
                None,
                None,
                scrypt::Params::new(10, 8, 1, 32).unwrap(),
                &salt,
            )
            .unwrap()
            .to_string();
        assert_eq!(
            verify_blocking(&p, &secret("hunter22"), &scrypt_phc),
            Verification {
                matches: true,
                needs_rehash: true
            }
        );
        let weak_argon = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(8, 1, 1, None).unwrap(),
        )
        .hash_password(b"hunter22", &salt)
        .unwrap()
        .to_string();
        assert_eq!(
            verify_blocking(&p, &secret("hunter22"), &weak_argon),
            Verification {
                matches: true,
                needs_rehash: true
            }
        );
        assert!(!verify_blocking(&p, &secret("hunter22"), "garbage").matches);
    }

    #[tokio::test]
    async fn a_full_queue_sheds_load() {
        let h = PasswordHasher::new(PasswordHashing::DangerTestMinimum, 1, 0).unwrap();
        assert!(matches!(
            h.hash(secret("x")).await,
            Err(HashError::Overloaded)
        ));
    }

    #[test]
    fn length_counts_utf16_units() {
        assert_eq!(js_length("abc"), 3);
        assert_eq!(js_length("😀"), 2);
    }
}
