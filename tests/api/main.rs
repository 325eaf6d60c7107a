//! One integration-test binary: every scenario drives the real service over HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod helpers;

mod account;
mod errors;
mod existing_database;
mod jwt;
mod openapi;
mod origin;
mod outage;
mod rate_limit;
mod session;
mod sessions;
mod sign_in;
mod sign_up;
