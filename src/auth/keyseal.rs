//! Private signing keys at rest (`spec/jwt-jwks.md` §5, `spec/crypto.md` §3).
//!
//! Three column formats, all readable whatever `plugins.jwt.key_encryption` says (it only decides
//! how new keys are written):
//!
//! * `better-auth`: Better Auth's `symmetricEncrypt` — XChaCha20-Poly1305, key = SHA-256(secret),
//!   lower-case hex of nonce‖ciphertext‖tag, `$ba$<version>$<hex>` with versioned secrets — stored
//!   JSON-encoded as a string literal (the column holds the quotes). A Node Better Auth sharing
//!   the database can read it.
//! * `aes-256-gcm` (our default): AES-256-GCM with a key derived from the secret by HKDF-SHA256,
//!   `$ba-rs$aes256gcm$<secret version>$<base64url nonce‖ciphertext‖tag>`, also as a JSON string
//!   literal so that the column keeps the same type and shape.
//! * `none`: the private JWK JSON text itself.

use aes_gcm::Aes256Gcm;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hkdf::Hkdf;
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

use super::crypto::{b64url, b64url_decode, sha256, VersionedSecret};

const XCHACHA_NONCE_LEN: usize = 24;
const GCM_NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
const GCM_PREFIX: &str = "$ba-rs$aes256gcm$";
const BA_PREFIX: &str = "$ba$";
const HKDF_SALT: &[u8] = b"better-auth-rs/jwks";
const HKDF_INFO: &[u8] = b"private-key";

/// How newly created private keys are written (`plugins.jwt.key_encryption`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyEncryption {
    /// AES-256-GCM under an HKDF-derived key (our default).
    Aes256Gcm,
    /// Better Auth's XChaCha20-Poly1305 `symmetricEncrypt`, readable by Node.
    BetterAuth,
    /// Plain private JWK JSON (Better Auth's `disablePrivateKeyEncryption`).
    None,
}

impl KeyEncryption {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "aes-256-gcm" => Some(Self::Aes256Gcm),
            "better-auth" => Some(Self::BetterAuth),
            "none" => Some(Self::None),
            _ => None,
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SealError {
    /// Well-formed ciphertext that none of the configured secrets opens.
    #[error("none of the configured secrets decrypts this private key")]
    WrongSecret,
    #[error("the stored private key is in no known format")]
    Malformed,
    #[error("no secret is configured")]
    NoSecret,
    #[error("encryption failed")]
    Encrypt,
}

/// Better Auth's `symmetricEncrypt` with a given nonce: lower-case hex of nonce‖ciphertext‖tag.
fn xchacha_seal(
    secret: &[u8],
    nonce: &[u8; XCHACHA_NONCE_LEN],
    plaintext: &[u8],
) -> Result<String, SealError> {
    let cipher =
        XChaCha20Poly1305::new_from_slice(&sha256(secret)).map_err(|_| SealError::Encrypt)?;
    let sealed = cipher
        .encrypt(XNonce::from_slice(nonce), plaintext)
        .map_err(|_| SealError::Encrypt)?;
    let mut out = Vec::with_capacity(nonce.len() + sealed.len());
    out.extend_from_slice(nonce);
    out.extend_from_slice(&sealed);
    Ok(hex::encode(out))
}

/// Better Auth's `symmetricEncrypt` (crypto.md §3), fresh random nonce, bare hex.
pub fn symmetric_encrypt(secret: &[u8], plaintext: &[u8]) -> Result<String, SealError> {
    let mut nonce = [0u8; XCHACHA_NONCE_LEN];
    rand::rngs::OsRng.fill_bytes(&mut nonce);
    xchacha_seal(secret, &nonce, plaintext)
}

/// Better Auth's `symmetricDecrypt` of bare hex; `None` if the secret does not open it.
pub fn symmetric_decrypt(secret: &[u8], hex_text: &str) -> Option<Vec<u8>> {
    let raw = hex::decode(hex_text).ok()?;
    if raw.len() < XCHACHA_NONCE_LEN + TAG_LEN {
        return None;
    }
    let (nonce, sealed) = raw.split_at(XCHACHA_NONCE_LEN);
    let cipher = XChaCha20Poly1305::new_from_slice(&sha256(secret)).ok()?;
    cipher.decrypt(XNonce::from_slice(nonce), sealed).ok()
}

/// Better Auth's `symmetricEncrypt({key: secretConfig, data})` of a value (two-factor secrets
/// and backup codes): with versioned secrets `$ba$<current version>$<hex>`, else bare hex under
/// the one secret. `secrets` is current first.
pub fn encrypt_value(
    secrets: &[VersionedSecret],
    versioned: bool,
    plaintext: &str,
) -> Result<String, SealError> {
    let current = secrets.first().ok_or(SealError::NoSecret)?;
    let hex_text = symmetric_encrypt(
        current.value.expose_secret().as_bytes(),
        plaintext.as_bytes(),
    )?;
    Ok(if versioned {
        format!("{BA_PREFIX}{}${hex_text}", current.version)
    } else {
        hex_text
    })
}

/// Better Auth's `symmetricDecrypt` of a value written by [`encrypt_value`] (or by Node): the
/// envelope's secret version first, then every configured secret. `None` when none opens it.
pub fn decrypt_value(secrets: &[VersionedSecret], text: &str) -> Option<String> {
    let (version, hex_text) = match text.strip_prefix(BA_PREFIX).and_then(|r| r.split_once('$')) {
        Some((v, h)) => (Some(v.parse::<u32>().ok()?), h),
        None => (None, text),
    };
    candidates(secrets, version)
        .find_map(|s| symmetric_decrypt(s.value.expose_secret().as_bytes(), hex_text))
        .and_then(|bytes| String::from_utf8(bytes).ok())
}

/// The AES-256-GCM key for private keys: HKDF-SHA256(secret), fixed salt and info.
fn gcm_cipher(secret: &[u8]) -> Option<Aes256Gcm> {
    let mut key = [0u8; 32];
    Hkdf::<Sha256>::new(Some(HKDF_SALT), secret)
        .expand(HKDF_INFO, &mut key)
        .ok()?;
    Aes256Gcm::new_from_slice(&key).ok()
}

fn gcm_seal(secret: &[u8], plaintext: &[u8]) -> Result<String, SealError> {
    let cipher = gcm_cipher(secret).ok_or(SealError::Encrypt)?;
    let mut nonce = [0u8; GCM_NONCE_LEN];
    rand::rngs::OsRng.fill_bytes(&mut nonce);
    let sealed = cipher
        .encrypt(aes_gcm::Nonce::from_slice(&nonce), plaintext)
        .map_err(|_| SealError::Encrypt)?;
    let mut out = Vec::with_capacity(nonce.len() + sealed.len());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&sealed);
    Ok(b64url(&out))
}

fn gcm_open(secret: &[u8], raw: &[u8]) -> Option<Vec<u8>> {
    if raw.len() < GCM_NONCE_LEN + TAG_LEN {
        return None;
    }
    let (nonce, sealed) = raw.split_at(GCM_NONCE_LEN);
    gcm_cipher(secret)?
        .decrypt(aes_gcm::Nonce::from_slice(nonce), sealed)
        .ok()
}

/// The secrets to try for a value recorded under `version`: that one first, then the others.
fn candidates(
    secrets: &[VersionedSecret],
    version: Option<u32>,
) -> impl Iterator<Item = &VersionedSecret> {
    let first = secrets.iter().filter(move |s| Some(s.version) == version);
    let rest = secrets.iter().filter(move |s| Some(s.version) != version);
    first.chain(rest)
}

fn plaintext(bytes: Vec<u8>) -> Result<SecretString, SealError> {
    String::from_utf8(bytes)
        .map(SecretString::from)
        .map_err(|_| SealError::Malformed)
}

/// Writes a private JWK for the `privateKey` column. `secrets` is current first; with
/// `versioned` the current version is recorded in Better Auth's envelope.
pub fn seal(
    format: KeyEncryption,
    secrets: &[VersionedSecret],
    versioned: bool,
    private_jwk: &SecretString,
) -> Result<String, SealError> {
    let text = private_jwk.expose_secret().as_bytes();
    if format == KeyEncryption::None {
        return Ok(private_jwk.expose_secret().to_owned());
    }
    let current = secrets.first().ok_or(SealError::NoSecret)?;
    let secret = current.value.expose_secret().as_bytes();
    let envelope = match format {
        KeyEncryption::BetterAuth if versioned => {
            format!(
                "{BA_PREFIX}{}${}",
                current.version,
                symmetric_encrypt(secret, text)?
            )
        }
        KeyEncryption::BetterAuth => symmetric_encrypt(secret, text)?,
        _ => format!(
            "{GCM_PREFIX}{}${}",
            current.version,
            gcm_seal(secret, text)?
        ),
    };
    serde_json::to_string(&envelope).map_err(|_| SealError::Encrypt)
}

/// Reads a `privateKey` column in any of the three formats, trying the recorded secret version
/// first and then every configured secret.
pub fn open(column: &str, secrets: &[VersionedSecret]) -> Result<SecretString, SealError> {
    let trimmed = column.trim();
    if trimmed.starts_with('{') {
        return Ok(SecretString::from(trimmed.to_owned()));
    }
    let envelope: String = serde_json::from_str(trimmed).map_err(|_| SealError::Malformed)?;
    if let Some(rest) = envelope.strip_prefix(GCM_PREFIX) {
        let (version, body) = rest.split_once('$').ok_or(SealError::Malformed)?;
        let version = version.parse::<u32>().ok();
        let raw = b64url_decode(body).ok_or(SealError::Malformed)?;
        return candidates(secrets, version)
            .find_map(|s| gcm_open(s.value.expose_secret().as_bytes(), &raw))
            .map_or(Err(SealError::WrongSecret), plaintext);
    }
    let (version, hex_text) = match envelope
        .strip_prefix(BA_PREFIX)
        .and_then(|r| r.split_once('$'))
    {
        Some((v, h)) => (Some(v.parse::<u32>().map_err(|_| SealError::Malformed)?), h),
        None => (None, envelope.as_str()),
    };
    if hex_text.is_empty() || !hex_text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(SealError::Malformed);
    }
    candidates(secrets, version)
        .find_map(|s| symmetric_decrypt(s.value.expose_secret().as_bytes(), hex_text))
        .map_or(Err(SealError::WrongSecret), plaintext)
}

/// The format a `privateKey` column was written in; `None` for plain JWK text.
fn format_of(column: &str) -> Option<KeyEncryption> {
    let trimmed = column.trim();
    if trimmed.starts_with('{') {
        return None;
    }
    let envelope: String = serde_json::from_str(trimmed).ok()?;
    Some(if envelope.starts_with(GCM_PREFIX) {
        KeyEncryption::Aes256Gcm
    } else {
        KeyEncryption::BetterAuth
    })
}

/// After a secret rotation: the column sealed again, in its own format, with the current
/// secret, when only an older secret opens it. `None` when there is nothing to change (plain
/// text, already sealed with the current secret, or not openable at all).
///
/// With `readable_by_node`, a column sealed in our AES-256-GCM format is also sealed again, in
/// Better Auth's format, so that a Node Better Auth on the same database can sign with it.
pub fn reseal(
    column: &str,
    secrets: &[VersionedSecret],
    versioned: bool,
    readable_by_node: bool,
) -> Option<String> {
    let mut format = format_of(column)?;
    if readable_by_node && format == KeyEncryption::Aes256Gcm {
        format = KeyEncryption::BetterAuth;
    } else if open(column, secrets.get(..1)?).is_ok() {
        return None;
    }
    let jwk = open(column, secrets).ok()?;
    seal(format, secrets, versioned, &jwk).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(version: u32, value: &str) -> VersionedSecret {
        VersionedSecret {
            version,
            value: SecretString::from(value.to_owned()),
        }
    }

    fn jwk() -> SecretString {
        SecretString::from(r#"{"crv":"Ed25519","d":"AAAA","x":"BBBB","kty":"OKP"}"#.to_owned())
    }

    #[test]
    fn values_round_trip_bare_and_in_the_versioned_envelope() {
        let one = [secret(0, "first-secret-0123456789abcdefghijkl")];
        let bare = encrypt_value(&one, false, "JBSWY3DPEHPK3PXP").unwrap();
        assert!(bare.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(
            decrypt_value(&one, &bare).as_deref(),
            Some("JBSWY3DPEHPK3PXP")
        );
        let two = [
            secret(2, "second-secret-0123456789abcdefghijk"),
            secret(1, "first-secret-0123456789abcdefghijkl"),
        ];
        let enveloped = encrypt_value(&two, true, "codes").unwrap();
        assert!(enveloped.starts_with("$ba$2$"));
        assert_eq!(decrypt_value(&two, &enveloped).as_deref(), Some("codes"));
        // Written under the old secret alone, read after the rotation.
        assert_eq!(
            decrypt_value(&two, &bare).as_deref(),
            Some("JBSWY3DPEHPK3PXP")
        );
        assert_eq!(decrypt_value(&one, &enveloped), None);
        assert_eq!(decrypt_value(&one, "zz"), None);
    }

    #[test]
    fn symmetric_encrypt_matches_the_crypto_spec_vector() {
        let secret = b"spec-example-secret-0123456789abcdef";
        assert_eq!(
            hex::encode(sha256(secret)),
            "e288f635d196e814510ce8e864298d792e4adc2fccfef0b36a2cc9d58ea63c4c"
        );
        let mut nonce = [0u8; 24];
        nonce.iter_mut().enumerate().for_each(|(i, b)| *b = i as u8);
        let out = xchacha_seal(secret, &nonce, br#"{"alg":"EdDSA"}"#).unwrap();
        assert_eq!(
            out,
            "000102030405060708090a0b0c0d0e0f1011121314151617acc65e6792b84047b93c7b7207346128d8da4a997702c11eca5ff0550b855f"
        );
        assert_eq!(
            symmetric_decrypt(secret, &out).unwrap(),
            br#"{"alg":"EdDSA"}"#
        );
    }

    #[test]
    fn better_auth_rows_of_the_vector_file_open_with_the_vector_secret() {
        let v = crate::auth::test_vectors::load();
        for (name, case) in v["cases"].as_object().unwrap() {
            let row = &case["jwksRow"];
            let column = row["privateKey"].as_str().unwrap();
            assert!(
                column.starts_with('"') && column.ends_with('"'),
                "{name}: stored as a JSON string literal"
            );
            let opened = open(column, &[secret(0, v["secret"].as_str().unwrap())]).unwrap();
            let jwk: serde_json::Value = serde_json::from_str(opened.expose_secret()).unwrap();
            let public: serde_json::Value =
                serde_json::from_str(row["publicKey"].as_str().unwrap()).unwrap();
            assert_eq!(jwk["x"], public["x"], "{name}");
            assert_eq!(jwk["kty"], "OKP");
            assert!(jwk["d"].is_string());
            assert_eq!(
                open(
                    column,
                    &[secret(0, "another-secret-0123456789abcdef0123456")]
                )
                .unwrap_err(),
                SealError::WrongSecret
            );
        }
    }

    #[test]
    fn every_format_round_trips_and_opens_whatever_the_configured_format() {
        let secrets = [secret(0, "first-secret-0123456789abcdef0123456789")];
        for format in [
            KeyEncryption::Aes256Gcm,
            KeyEncryption::BetterAuth,
            KeyEncryption::None,
        ] {
            let column = seal(format, &secrets, false, &jwk()).unwrap();
            assert_eq!(
                open(&column, &secrets).unwrap().expose_secret(),
                jwk().expose_secret(),
                "{format:?}"
            );
        }
        let gcm = seal(KeyEncryption::Aes256Gcm, &secrets, false, &jwk()).unwrap();
        assert!(gcm.starts_with("\"$ba-rs$aes256gcm$0$"), "{gcm}");
        assert!(!gcm.contains("Ed25519"));
        let ba = seal(KeyEncryption::BetterAuth, &secrets, false, &jwk()).unwrap();
        let inner: String = serde_json::from_str(&ba).unwrap();
        assert!(inner
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        assert_eq!(
            seal(KeyEncryption::None, &secrets, false, &jwk()).unwrap(),
            jwk().expose_secret()
        );
    }

    #[test]
    fn versioned_secrets_record_the_version_and_old_secrets_still_open() {
        let old = [secret(1, "old-secret-0123456789abcdef0123456789ab")];
        let rotated = [
            secret(2, "new-secret-0123456789abcdef0123456789ab"),
            secret(1, "old-secret-0123456789abcdef0123456789ab"),
        ];
        let ba = seal(KeyEncryption::BetterAuth, &old, true, &jwk()).unwrap();
        assert!(ba.starts_with("\"$ba$1$"), "{ba}");
        let gcm = seal(KeyEncryption::Aes256Gcm, &old, true, &jwk()).unwrap();
        assert!(gcm.starts_with("\"$ba-rs$aes256gcm$1$"), "{gcm}");
        for column in [&ba, &gcm] {
            assert_eq!(
                open(column, &rotated).unwrap().expose_secret(),
                jwk().expose_secret()
            );
            assert_eq!(
                open(column, &rotated[..1]).unwrap_err(),
                SealError::WrongSecret
            );
        }
        // A key sealed before versions were introduced (version 0, bare hex) still opens.
        let legacy = seal(
            KeyEncryption::BetterAuth,
            &[secret(0, "old-secret-0123456789abcdef0123456789ab")],
            false,
            &jwk(),
        )
        .unwrap();
        assert_eq!(
            open(&legacy, &rotated).unwrap().expose_secret(),
            jwk().expose_secret()
        );
    }

    #[test]
    fn a_key_sealed_with_an_older_secret_is_resealed_with_the_current_one_in_its_format() {
        let old = [secret(1, "old-secret-0123456789abcdef0123456789ab")];
        let rotated = [
            secret(2, "new-secret-0123456789abcdef0123456789ab"),
            secret(1, "old-secret-0123456789abcdef0123456789ab"),
        ];
        for (format, prefix) in [
            (KeyEncryption::BetterAuth, "\"$ba$2$"),
            (KeyEncryption::Aes256Gcm, "\"$ba-rs$aes256gcm$2$"),
        ] {
            let column = seal(format, &old, true, &jwk()).unwrap();
            let resealed = reseal(&column, &rotated, true, false).unwrap();
            assert!(resealed.starts_with(prefix), "{resealed}");
            assert_eq!(
                open(&resealed, &rotated[..1]).unwrap().expose_secret(),
                jwk().expose_secret()
            );
            assert_eq!(
                reseal(&resealed, &rotated, true, false),
                None,
                "already current"
            );
            assert_eq!(
                reseal(&column, &rotated[..1], true, false),
                None,
                "cannot open"
            );
        }
        let plain = seal(KeyEncryption::None, &old, true, &jwk()).unwrap();
        assert_eq!(reseal(&plain, &rotated, true, false), None);
    }

    #[test]
    fn tampered_or_unknown_columns_are_refused() {
        let secrets = [secret(0, "first-secret-0123456789abcdef0123456789")];
        let gcm = seal(KeyEncryption::Aes256Gcm, &secrets, false, &jwk()).unwrap();
        let mut chars: Vec<char> = gcm.chars().collect();
        let i = chars.len() - 5;
        chars[i] = if chars[i] == 'A' { 'B' } else { 'A' };
        let tampered: String = chars.into_iter().collect();
        assert_eq!(
            open(&tampered, &secrets).unwrap_err(),
            SealError::WrongSecret
        );
        assert_eq!(
            open("\"not hex\"", &secrets).unwrap_err(),
            SealError::Malformed
        );
        assert_eq!(open("garbage", &secrets).unwrap_err(), SealError::Malformed);
        assert_eq!(
            open("\"$ba$x$00\"", &secrets).unwrap_err(),
            SealError::Malformed
        );
    }

    #[test]
    fn sealing_needs_a_secret() {
        assert_eq!(
            seal(KeyEncryption::Aes256Gcm, &[], false, &jwk()).unwrap_err(),
            SealError::NoSecret
        );
    }
}
