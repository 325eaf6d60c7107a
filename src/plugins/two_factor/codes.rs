//! The plugin's pure parts: secrets, TOTP codes (RFC 6238 through `totp-rs`), the otpauth URI,
//! backup codes and OTPs, as Better Auth makes them (`two-factor/index.ts`, `totp/index.ts`,
//! `backup-codes/index.ts`, `otp/index.ts`, `@better-auth/utils/otp`).

use rand::Rng;
use totp_rs::{Algorithm, Secret, TOTP};

use crate::auth::crypto::{b64url, encode_uri_component, sha256};

/// Better Auth's `generateRandomString` default alphabet.
const DEFAULT_ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-_";
/// The alphabet of backup codes (`"a-z", "0-9", "A-Z"`).
const BACKUP_ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const DIGITS: &[u8] = b"0123456789";
/// Secrets imported from other providers are stored as `base32:<secret>`.
const BASE32_PREFIX: &str = "base32:";

/// `len` characters drawn uniformly from `alphabet`, from the OS's generator.
pub fn random_string(len: usize, alphabet: &[u8]) -> String {
    let mut rng = crate::auth::crypto::rng();
    (0..len)
        .map(|_| alphabet[rng.gen_range(0..alphabet.len())] as char)
        .collect()
}

/// Better Auth's `generateRandomString(len)`: `a-z 0-9 A-Z - _`.
pub fn random_token(len: usize) -> String {
    random_string(len, DEFAULT_ALPHABET)
}

/// A new TOTP secret: 32 characters, used as their UTF-8 bytes for the HMAC key.
pub fn new_secret() -> String {
    random_token(32)
}

/// The HMAC key of a decrypted stored secret: its bytes, or the decoded Base32 of a
/// `base32:` secret (Better Auth's `decryptTOTPSecret`). `None` for bad Base32.
pub fn totp_key(secret: &str) -> Option<Vec<u8>> {
    match secret.strip_prefix(BASE32_PREFIX) {
        None => Some(secret.as_bytes().to_vec()),
        Some(encoded) => Secret::Encoded(encoded.trim_end_matches('=').to_uppercase())
            .to_bytes()
            .ok(),
    }
}

fn totp(key: &[u8], digits: u32, period: u64) -> TOTP {
    // Better Auth verifies one step either side (`verifyTOTP`, window 1). `new_unchecked`:
    // imported secrets may be shorter than the 128 bits `TOTP::new` insists on.
    TOTP::new_unchecked(Algorithm::SHA1, digits as usize, 1, period, key.to_vec())
}

/// Whether `code` is the code of the step of `now` (Unix seconds) or of one step either side;
/// compared in constant time.
pub fn check_totp(key: &[u8], digits: u32, period: u64, code: &str, now: u64) -> bool {
    // totp-rs counts from `now / period - 1`: at the epoch's first step there is no earlier one.
    now >= period && totp(key, digits, period).check(code, now)
}

/// The code of the step of `now` (tests and tools).
pub fn totp_code(key: &[u8], digits: u32, period: u64, now: u64) -> String {
    totp(key, digits, period).generate(now)
}

/// Better Auth's `createOTP(secret).url(issuer, account)`:
/// `otpauth://totp/<issuer>:<account>?secret=<base32>&issuer=<issuer>&digits=<d>&period=<p>`,
/// the path parts as `encodeURIComponent` writes them, the query as `URLSearchParams` does.
pub fn otpauth_uri(key: &[u8], issuer: &str, account: &str, digits: u32, period: u64) -> String {
    let Secret::Encoded(secret) = Secret::Raw(key.to_vec()).to_encoded() else {
        unreachable!("to_encoded always encodes")
    };
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("secret", &secret)
        .append_pair("issuer", issuer)
        .append_pair("digits", &digits.to_string())
        .append_pair("period", &period.to_string())
        .finish();
    format!(
        "otpauth://totp/{}:{}?{query}",
        encode_uri_component(issuer),
        encode_uri_component(account)
    )
}

/// `amount` backup codes of `length` characters, split in two by a `-` after the fifth
/// (`generateBackupCodesFn`).
pub fn new_backup_codes(amount: usize, length: usize) -> Vec<String> {
    (0..amount)
        .map(|_| {
            let code = random_string(length, BACKUP_ALPHABET);
            let (a, b) = code.split_at(5.min(code.len()));
            format!("{a}-{b}")
        })
        .collect()
}

/// A new OTP of `digits` decimal digits.
pub fn new_otp(digits: usize) -> String {
    random_string(digits, DIGITS)
}

/// `storeOTP: "hashed"`: base64url (no padding) of SHA-256 (`defaultKeyHasher`).
pub fn hash_otp(otp: &str) -> String {
    b64url(&sha256(otp.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA-1, 8 digits.
    #[test]
    fn codes_match_the_rfc_6238_vectors() {
        let key = b"12345678901234567890";
        for (t, code) in [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
        ] {
            assert_eq!(totp_code(key, 8, 30, t), code);
            assert!(check_totp(key, 8, 30, code, t));
            // One step either side, not two.
            assert!(check_totp(key, 8, 30, code, t + 30));
            assert!(!check_totp(key, 8, 30, code, t + 60));
        }
        assert!(!check_totp(key, 8, 30, "94287083", 59));
        assert!(!check_totp(key, 8, 30, "9428708", 59));
    }

    #[test]
    fn uri_is_written_as_better_auth_writes_it() {
        // `createOTP("12345678901234567890").url("My App", "a+b@example.com")` in Node.
        assert_eq!(
            otpauth_uri(b"12345678901234567890", "My App", "a+b@example.com", 6, 30),
            "otpauth://totp/My%20App:a%2Bb%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=My+App&digits=6&period=30"
        );
    }

    #[test]
    fn base32_secrets_are_decoded_and_others_used_as_bytes() {
        assert_eq!(totp_key("abc").unwrap(), b"abc");
        assert_eq!(
            totp_key("base32:gezdgnbvgy3tqojq").unwrap(),
            b"1234567890".to_vec()
        );
        assert!(totp_key("base32:!!").is_none());
    }

    #[test]
    fn backup_codes_and_otps_have_better_auths_shape() {
        let codes = new_backup_codes(10, 10);
        assert_eq!(codes.len(), 10);
        for c in &codes {
            assert_eq!(c.len(), 11);
            assert_eq!(&c[5..6], "-");
            assert!(c
                .replace('-', "")
                .chars()
                .all(|c| c.is_ascii_alphanumeric()));
        }
        let otp = new_otp(6);
        assert!(otp.len() == 6 && otp.chars().all(|c| c.is_ascii_digit()));
        assert_eq!(new_secret().len(), 32);
        assert_eq!(
            hash_otp("123456"),
            "jZae727K08KaOmKSgOaGzww_XVqGr_PKEgIMkjrcbJI"
        );
    }
}
