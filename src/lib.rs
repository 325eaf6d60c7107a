#![forbid(unsafe_code)]

pub mod auth;
pub mod clock;
pub mod config;
pub mod error;
pub mod keys;
pub mod mail;
pub mod rate_limit;
pub mod routes;
pub mod startup;
pub mod store;
pub mod telemetry;
