//! Primitives shared by cookies, tokens and keys (docs/compatibility.md §15).

use base64::engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine;
use chrono::{DateTime, SecondsFormat, Utc};
use hmac::{Hmac, Mac};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use rand::distributions::{Alphanumeric, DistString};
use rand::Rng;
use secrecy::SecretString;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The shortest secret accepted where Better Auth asks for 32 characters.
pub const MIN_SECRET_LEN: usize = 32;

/// One secret with its version (`BETTER_AUTH_SECRETS="2:new,1:old"`, docs/compatibility.md §15.1).
#[derive(Debug, Clone)]
pub struct VersionedSecret {
    pub version: u32,
    pub value: SecretString,
}

type HmacSha256 = Hmac<Sha256>;

/// The generator of tokens, ids, codes and challenges: rand's thread-local ChaCha12, a CSPRNG
/// seeded from the operating system and reseeded from it every 64 KiB. Drawing each character
/// from `OsRng` instead made one `getrandom` system call per character (170 for an OAuth state
/// and its PKCE verifier), a sixth of the CPU of `/sign-in/social`.
pub fn rng() -> rand::rngs::ThreadRng {
    rand::thread_rng()
}

/// 32 characters from `A–Z a–z 0–9`, uniform: row ids and session tokens
/// (docs/compatibility.md §15.2).
pub fn generate_id() -> String {
    random_alphanumeric(32)
}

/// `len` characters from `A–Z a–z 0–9`, uniform (rand's `Alphanumeric` samples by rejection).
pub fn random_alphanumeric(len: usize) -> String {
    Alphanumeric.sample_string(&mut rng(), len)
}

/// `len` characters from `0–9 a–z` (delete-account tokens).
pub fn random_lower_alphanumeric(len: usize) -> String {
    const ALPHABET: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut rng = rng();
    (0..len)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect()
}

pub fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    // HMAC takes keys of any length (longer ones are hashed first), so `new_from_slice`
    // cannot fail for it; if it ever did, no signature may come out of it.
    let mut mac = match HmacSha256::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => unreachable!("HMAC-SHA-256 accepts keys of any length"),
    };
    mac.update(message);
    mac.finalize().into_bytes().into()
}

pub fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

/// Constant-time equality for secrets and signatures.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// `<raw>.<standard base64 HMAC-SHA256(secret, raw)>` (docs/compatibility.md §6.3), not yet
/// percent-encoded.
pub fn sign_value(secret: &[u8], raw: &str) -> String {
    format!(
        "{raw}.{}",
        STANDARD.encode(hmac_sha256(secret, raw.as_bytes()))
    )
}

/// Outcome of reading a signed cookie value (docs/compatibility.md §6.3).
#[derive(Debug, PartialEq, Eq)]
pub enum Signed<'a> {
    /// No `.`, or a signature that is not 44 characters ending in `=`: treated as no cookie.
    Absent,
    /// Well-formed but the HMAC does not match.
    Invalid,
    Valid(&'a str),
}

/// Verifies `<raw>.<sig>` (already percent-decoded) against the secret, in constant time.
pub fn verify_signed<'a>(secret: &[u8], value: &'a str) -> Signed<'a> {
    let Some((raw, sig)) = value.rsplit_once('.') else {
        return Signed::Absent;
    };
    if raw.is_empty() || sig.len() != 44 || !sig.ends_with('=') {
        return Signed::Absent;
    }
    let Ok(sig) = STANDARD.decode(sig) else {
        return Signed::Invalid;
    };
    if ct_eq(&sig, &hmac_sha256(secret, raw.as_bytes())) {
        Signed::Valid(raw)
    } else {
        Signed::Invalid
    }
}

/// The bearer plugin's looser check: split at the first `.`, signature in standard or URL-safe
/// base64 with optional padding (docs/compatibility.md §12.1).
pub fn verify_signed_lenient<'a>(secret: &[u8], value: &'a str) -> Option<&'a str> {
    let (raw, sig) = value.split_once('.')?;
    let sig = sig.trim_end_matches('=');
    let bytes = base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(sig)
        .or_else(|_| URL_SAFE_NO_PAD.decode(sig))
        .ok()?;
    (!raw.is_empty() && ct_eq(&bytes, &hmac_sha256(secret, raw.as_bytes()))).then_some(raw)
}

pub fn b64url(data: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(data)
}

pub fn b64url_decode(data: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD
        .decode(data.trim_end_matches('='))
        .or_else(|_| URL_SAFE.decode(data))
        .ok()
}

/// JavaScript `Date.prototype.toISOString`: UTC, three fractional digits, `Z`.
pub fn iso(dt: &DateTime<Utc>) -> String {
    dt.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Milliseconds precision, as every stored Better Auth date has.
pub fn truncate_ms(dt: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(dt.timestamp_millis()).unwrap_or(dt)
}

/// JavaScript `encodeURIComponent`: everything but `A–Z a–z 0–9 - _ . ! ~ * ' ( )` escaped.
const URI_COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'!')
    .remove(b'~')
    .remove(b'*')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')');

pub fn encode_uri_component(s: &str) -> String {
    utf8_percent_encode(s, URI_COMPONENT).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"spec-example-secret-0123456789abcdef";

    #[test]
    fn cookie_signature_matches_the_spec_vector() {
        let signed = sign_value(SECRET, "Xq7mK2pL9vR4tY6wZ1aB3cD5eF8gH0jN");
        assert_eq!(
            signed,
            "Xq7mK2pL9vR4tY6wZ1aB3cD5eF8gH0jN.eZs2OOPHhmpR5N1DNsjTpcgkgu+hqnVMGe/tqxwQxu0="
        );
        assert_eq!(
            encode_uri_component(&signed),
            "Xq7mK2pL9vR4tY6wZ1aB3cD5eF8gH0jN.eZs2OOPHhmpR5N1DNsjTpcgkgu%2BhqnVMGe%2FtqxwQxu0%3D"
        );
        assert_eq!(
            encode_uri_component(&sign_value(SECRET, "true")),
            "true.tVfWGb0MRBy8qkp%2F0M8VvCS%2FGW8o1nsVUYLCw444YEU%3D"
        );
    }

    #[test]
    fn signed_values_are_checked_like_better_call() {
        let good = sign_value(SECRET, "abc");
        assert_eq!(verify_signed(SECRET, &good), Signed::Valid("abc"));
        assert_eq!(verify_signed(SECRET, "abc"), Signed::Absent);
        assert_eq!(verify_signed(SECRET, "abc.short="), Signed::Absent);
        let mut tampered = good.clone();
        tampered.replace_range(0..1, "x");
        assert_eq!(verify_signed(SECRET, &tampered), Signed::Invalid);
        assert_eq!(
            verify_signed(b"another-secret-0123456789abcdef0123", &good),
            Signed::Invalid
        );
    }

    #[test]
    fn bearer_signatures_accept_url_safe_and_unpadded_base64() {
        let good = sign_value(SECRET, "tok");
        let url_safe = good
            .replace('+', "-")
            .replace('/', "_")
            .trim_end_matches('=')
            .to_owned();
        assert_eq!(verify_signed_lenient(SECRET, &good), Some("tok"));
        assert_eq!(verify_signed_lenient(SECRET, &url_safe), Some("tok"));
        assert_eq!(verify_signed_lenient(SECRET, "tok.AAAA"), None);
    }

    #[test]
    fn ids_are_32_alphanumeric_characters() {
        let id = generate_id();
        assert_eq!(id.len(), 32);
        assert!(id.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(id, generate_id());
        assert!(random_lower_alphanumeric(32)
            .chars()
            .all(|c| c.is_ascii_digit() || c.is_ascii_lowercase()));
    }

    #[test]
    fn dates_render_like_javascript() {
        let dt = DateTime::parse_from_rfc3339("2025-06-01T12:00:00.123456Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(iso(&truncate_ms(dt)), "2025-06-01T12:00:00.123Z");
        assert_eq!(
            iso(&DateTime::from_timestamp(0, 0).unwrap()),
            "1970-01-01T00:00:00.000Z"
        );
    }
}
