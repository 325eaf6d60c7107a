//! Domain core: bytes, strings and `now` in; decisions and values out. No actix, no SeaORM.
#![deny(clippy::unwrap_used, clippy::expect_used)]

pub mod cookie_cache;
pub mod cookies;
pub mod crypto;
pub mod email;
pub mod fields;
pub mod origin;
pub mod password;
pub mod session;
