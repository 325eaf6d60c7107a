//! One integration-test binary: every scenario drives the real service over HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod helpers;

mod change_email;
mod delete_user;
mod errors;
mod existing_database;
mod mail_transports;
mod password_reset;
mod session;
mod sign_in;
mod sign_up;
mod verification;
