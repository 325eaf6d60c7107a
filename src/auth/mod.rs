//! Domain core: bytes, strings and `now` in; decisions and values out. No actix, no SeaORM.
#![deny(clippy::unwrap_used, clippy::expect_used)]

pub mod access;
pub mod api_key;
pub mod cookie_cache;
pub mod cookies;
pub mod crypto;
pub mod email;
pub mod email_token;
pub mod fields;
pub mod format;
pub mod id_token;
pub mod jwe;
pub mod jwks;
pub mod jwt;
pub mod keyseal;
pub mod links;
pub mod origin;
pub mod password;
pub mod session;

/// Better Auth 1.7.25's recorded JWT plugin data (`spec/vectors`), trimmed to what unit tests use.
#[cfg(test)]
pub(crate) mod test_vectors {
    pub fn load() -> serde_json::Value {
        serde_json::from_str(include_str!("testdata/jwt-vectors.json")).unwrap()
    }
}
