//! The whole URL map on one screen. Core handlers only: each parses the request, calls a flow,
//! and shapes the answer; no handler file imports another. Plugins mount their own routes
//! (`crate::plugins`).

pub mod account;
pub mod account_info;
pub mod change_email;
pub mod delete_user;
pub mod health;
pub mod metrics;
pub mod openapi;
pub mod provider_tokens;
pub mod reset_password;
pub mod session;
pub mod sessions;
pub mod sign_in;
pub mod sign_out;
pub mod sign_up;
pub mod social;
pub mod verification;

use actix_web::dev::HttpServiceFactory;
use actix_web::web;

use crate::config::Settings;
pub use crate::http::route::not_found;
use crate::http::route::{get, post};
use crate::state::Plugins;

/// Everything under the base path: the core routes, then each enabled plugin's.
pub fn auth_scope(settings: &Settings, plugins: &Plugins) -> impl HttpServiceFactory {
    let plugins = plugins.clone();
    // The last `wrap` runs first: rate limiting comes before everything else
    // (docs/compatibility.md §2.6).
    web::scope(&settings.base_path)
        .wrap(actix_web::middleware::from_fn(
            crate::http::hooks::middleware,
        ))
        .wrap(actix_web::middleware::from_fn(
            crate::http::rate_limit::middleware,
        ))
        .service(post("/sign-up/email", sign_up::sign_up_email))
        .service(post("/sign-in/email", sign_in::sign_in_email))
        .service(post("/sign-out", sign_out::sign_out))
        .service(post("/sign-in/social", social::sign_in_social))
        .service(post("/link-social", social::link_social))
        .service(post("/get-access-token", provider_tokens::get_access_token))
        .service(post("/refresh-token", provider_tokens::refresh_token))
        .service(
            web::resource("/get-session")
                .route(web::get().to(session::get_session))
                .route(web::post().to(session::post_get_session))
                .default_service(web::to(not_found)),
        )
        .service(get("/list-sessions", sessions::list_sessions))
        .service(post("/revoke-session", sessions::revoke_session))
        .service(post("/revoke-sessions", sessions::revoke_sessions))
        .service(post(
            "/revoke-other-sessions",
            sessions::revoke_other_sessions,
        ))
        .service(post("/update-session", sessions::update_session))
        .service(post("/update-user", account::update_user))
        .service(post("/change-password", account::change_password))
        .service(post("/verify-password", account::verify_password))
        .service(get("/list-accounts", account::list_accounts))
        .service(get("/account-info", account_info::account_info))
        .service(post("/unlink-account", account::unlink_account))
        .service(post(
            "/send-verification-email",
            verification::send_verification_email,
        ))
        .service(get("/verify-email", verification::verify_email))
        .service(post(
            "/request-password-reset",
            reset_password::request_password_reset,
        ))
        .service(post(
            "/forget-password",
            reset_password::request_password_reset,
        ))
        .service(post("/reset-password", reset_password::reset_password))
        .service(post("/change-email", change_email::change_email))
        .service(post("/delete-user", delete_user::delete_user))
        .service(get(
            "/delete-user/callback",
            delete_user::delete_user_callback,
        ))
        .service(get("/ok", health::ok))
        .service(get("/error", health::error_page))
        .service(get("/open-api/generate-schema", openapi::generate_schema))
        // Patterns with a parameter last: the router tries each resource in turn, and a
        // parameter makes the try a regular-expression match.
        .service(
            web::resource("/callback/{id}")
                .route(web::get().to(social::callback_get))
                .route(web::post().to(social::callback_post))
                .default_service(web::to(not_found)),
        )
        .service(get(
            "/reset-password/{token}",
            reset_password::reset_password_callback,
        ))
        .configure(move |cfg| {
            for plugin in plugins.iter() {
                plugin.routes(cfg);
            }
        })
        .default_service(web::to(not_found))
}

/// Outside the base path: liveness, readiness, and session validation for other backends
/// (which reads `Authorization: Bearer` as every route under the base path does).
pub fn configure(cfg: &mut web::ServiceConfig, settings: &Settings, plugins: &Plugins) {
    if settings.metrics.enabled && settings.metrics.on_api_port {
        cfg.service(get("/metrics", metrics::metrics));
    }
    cfg.service(get("/health", health::health))
        .service(get("/ready", health::ready))
        .service(
            get("/api/validate-session", session::validate_session).wrap(
                actix_web::middleware::from_fn(crate::http::hooks::middleware),
            ),
        )
        .service(auth_scope(settings, plugins));
}
