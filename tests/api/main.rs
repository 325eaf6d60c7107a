//! One integration-test binary: every scenario drives the real service over HTTP.
//!
//! A scenario runs on SQLite, PostgreSQL and MySQL/MariaDB through the rstest template
//! `helpers::backends`: `#[apply(backends)]` above `#[tokio::test]`, the backend as a
//! `#[case] backend: Backend` argument, and the app started from it (the spawn answers `None`
//! and records the skip when that server is unreachable, outside `CI=true`):
//!
//! ```ignore
//! #[apply(backends)]
//! #[tokio::test]
//! async fn sign_out_ends_the_session(#[case] backend: Backend) {
//!     let Some(app) = spawn_app(backend).await else { return };
//!     // `spawn_app_with(backend, TOML, &[])` adds configuration,
//!     // `spawn_mail_app(backend, TOML)` also writes the mails to the app's outbox.
//! }
//! ```
//!
//! Each backend is a test of its own, `sign_out_ends_the_session::case_2_postgres`, so
//! `cargo test --test api -- postgres` selects one backend's runs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod helpers;

mod account;
mod admin;
mod anonymous;
mod api_key;
mod change_email;
mod cli;
mod container;
mod delete_user;
mod email_otp;
mod errors;
mod existing_database;
mod grouped_writes;
mod jwt;
mod last_login_method;
mod lookups;
mod magic_link;
mod mail_transports;
mod metrics;
mod migrate_command;
mod multi_session;
mod openapi;
mod organization;
mod origin;
mod outage;
mod parity;
mod passkey;
mod password_reset;
mod plugin_seam;
mod process;
mod rate_limit;
mod redis_sessions;
mod redis_verification;
mod replicas;
mod security_client_ip;
mod security_cookies;
mod security_input;
mod security_outage;
mod security_rate_limit;
mod security_redirects;
mod security_timing;
mod session;
mod sessions;
mod shutdown;
mod sign_in;
mod sign_up;
mod social;
mod social_idp;
mod storage_format;
mod two_factor;
mod username;
mod verification;
