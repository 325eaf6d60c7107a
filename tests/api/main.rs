//! One integration-test binary: every scenario drives the real service over HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod helpers;

mod account;
mod change_email;
mod delete_user;
mod errors;
mod existing_database;
mod jwt;
mod lookups;
mod mail_transports;
mod openapi;
mod origin;
mod outage;
mod password_reset;
mod rate_limit;
mod redis_sessions;
mod redis_verification;
mod session;
mod sessions;
mod sign_in;
mod sign_up;
mod verification;
