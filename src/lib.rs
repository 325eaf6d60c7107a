#![forbid(unsafe_code)]

pub mod auth;
pub mod cli;
pub mod clock;
pub mod config;
pub mod error;
pub mod flows;
pub mod http;
pub mod mail;
pub mod metrics;
pub mod openapi;
pub mod plugin;
pub mod plugins;
pub mod rate_limit;
pub mod routes;
pub mod social;
pub mod startup;
pub mod state;
pub mod store;
pub mod telemetry;

#[cfg(test)]
mod architecture;
