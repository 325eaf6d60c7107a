//! Better Auth's `symmetricEncodeJWT` / `symmetricDecodeJWT` (docs/compatibility.md §7.5): a
//! compact JWE, `alg: dir`, `enc: A256CBC-HS512`, with a key derived from the secret by HKDF and
//! the key's RFC 7638 thumbprint as `kid`. Used by the `jwe` cookie-cache strategy (salt
//! `better-auth-session`) and by the `account_data` cookie (salt `better-auth-account`).

use hkdf::Hkdf;
use josekit::jwe::{Dir, JweHeader};
use serde_json::{Map, Value};
use sha2::Sha256;

use super::crypto::{b64url, b64url_decode, sha256};

/// HKDF salt of the session cookie cache.
pub const SESSION_SALT: &str = "better-auth-session";

const HKDF_INFO: &[u8] = b"BetterAuth.js Generated Encryption Key";
const ENC: &str = "A256CBC-HS512";
/// Better Auth's decoder accepts both (docs/compatibility.md §7.5).
const ACCEPTED_ENC: [&str; 2] = [ENC, "A256GCM"];

/// The 64-byte content-encryption key: HKDF-SHA256(IKM = secret, salt = label, info).
pub fn derive_key(secret: &[u8], salt: &str) -> Option<[u8; 64]> {
    let mut key = [0u8; 64];
    Hkdf::<Sha256>::new(Some(salt.as_bytes()), secret)
        .expand(HKDF_INFO, &mut key)
        .ok()?;
    Some(key)
}

/// RFC 7638 thumbprint of `{"kty":"oct","k":…}`: base64url(SHA-256(`{"k":"…","kty":"oct"}`)).
pub fn thumbprint(key: &[u8]) -> String {
    let canonical = format!(r#"{{"k":"{}","kty":"oct"}}"#, b64url(key));
    b64url(&sha256(canonical.as_bytes()))
}

/// Encrypts `claims` (already holding `iat`, `exp`, `jti`) under the key derived from `secret`.
pub fn encrypt(secret: &[u8], salt: &str, claims: &Map<String, Value>) -> Option<String> {
    let key = derive_key(secret, salt)?;
    let mut header = JweHeader::new();
    // Set in Better Auth's order; josekit keeps the position of a key it later overwrites.
    header.set_algorithm("dir");
    header.set_content_encryption(ENC);
    header.set_key_id(thumbprint(&key));
    let encrypter = Dir.encrypter_from_bytes(key).ok()?;
    let payload = Value::Object(claims.clone()).to_string();
    josekit::jwe::serialize_compact(payload.as_bytes(), &header, &encrypter).ok()
}

/// Decrypts a token written with any of `secrets` (current first). A `kid` picks the secret whose
/// derived key has that thumbprint; without one every secret is tried. Returns the claims;
/// expiry is the caller's to check.
pub fn decrypt(secrets: &[&[u8]], salt: &str, token: &str) -> Option<Map<String, Value>> {
    let header_part = token.split('.').next()?;
    let header: Value = serde_json::from_slice(&b64url_decode(header_part)?).ok()?;
    if header.get("alg")?.as_str()? != "dir"
        || !ACCEPTED_ENC.contains(&header.get("enc")?.as_str()?)
    {
        return None;
    }
    let kid = header.get("kid").and_then(Value::as_str);
    let keys = secrets.iter().filter_map(|s| derive_key(s, salt));
    for key in keys {
        if kid.is_some_and(|kid| kid != thumbprint(&key)) {
            continue;
        }
        let Ok(decrypter) = Dir.decrypter_from_bytes(key) else {
            continue;
        };
        if let Ok((payload, _)) = josekit::jwe::deserialize_compact(token, &decrypter) {
            return match serde_json::from_slice(&payload).ok()? {
                Value::Object(m) => Some(m),
                _ => None,
            };
        }
        if kid.is_some() {
            return None;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC_SECRET: &[u8] = b"spec-example-secret-0123456789abcdef";

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    /// The keys and thumbprints Better Auth derives from the example secret
    /// (docs/compatibility.md §7.5).
    #[test]
    fn key_and_kid_match_the_spec_vectors() {
        let session = derive_key(SPEC_SECRET, SESSION_SALT).unwrap();
        assert_eq!(hex(&session), "465601ee50102ad72d0b4affc3a43d638681e07ce6d39e895d49101d9611aeecbcfd55675c1cf355fce18c115dbbba07df8d08255150e8b749f27428d68056a6");
        assert_eq!(
            thumbprint(&session),
            "VDEvfUn7qkJCcppJYSyhmDglYfONP9UQ2uH2P19Dq9M"
        );
        let account = derive_key(SPEC_SECRET, "better-auth-account").unwrap();
        assert_eq!(hex(&account), "d0d87afb1aa547c975333c8215b19d3d9710f5c7b4267cf827bac390429afeeb750e184b2ab3ee2c47c2471be620e132410f3c3d6ede5177084d04402efd4eb4");
        assert_eq!(
            thumbprint(&account),
            "bc8QrTS23RKNe30ZzD0e-IZkr6cSlf_aUGnqDVIuSbk"
        );
    }

    #[test]
    fn round_trips_with_the_header_better_auth_writes() {
        let mut claims = Map::new();
        claims.insert("a".into(), 1.into());
        let token = encrypt(SPEC_SECRET, SESSION_SALT, &claims).unwrap();
        let header =
            String::from_utf8(b64url_decode(token.split('.').next().unwrap()).unwrap()).unwrap();
        assert_eq!(
            header,
            r#"{"alg":"dir","enc":"A256CBC-HS512","kid":"VDEvfUn7qkJCcppJYSyhmDglYfONP9UQ2uH2P19Dq9M"}"#
        );
        assert_eq!(token.split('.').nth(1), Some(""), "dir: no encrypted key");
        let other: &[u8] = b"another-secret-0123456789abcdef0123";
        assert_eq!(
            decrypt(&[other, SPEC_SECRET], SESSION_SALT, &token),
            Some(claims)
        );
        assert_eq!(decrypt(&[other], SESSION_SALT, &token), None);
        assert_eq!(decrypt(&[SPEC_SECRET], "better-auth-account", &token), None);
    }
}
