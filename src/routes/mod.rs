//! The whole URL map on one screen.

pub mod account;
pub mod bearer;
pub mod change_email;
pub mod delete_user;
pub mod extract;
pub mod health;
pub mod json;
pub mod jwt;
pub mod openapi;
pub mod reset_password;
pub mod session;
pub mod sessions;
pub mod sign_in;
pub mod sign_out;
pub mod sign_up;
pub mod verification;

use actix_web::dev::HttpServiceFactory;
use actix_web::{web, FromRequest, Handler, HttpResponse, Resource, Responder};

use crate::config::Settings;

/// Unknown paths and known paths with another method are both 404 with an empty body
/// (README §1.2).
pub async fn not_found() -> HttpResponse {
    HttpResponse::NotFound().finish()
}

fn resource<F, Args>(path: &str, method: actix_web::Route, handler: F) -> Resource
where
    F: Handler<Args>,
    Args: FromRequest + 'static,
    F::Output: Responder + 'static,
{
    web::resource(path)
        .route(method.to(handler))
        .default_service(web::to(not_found))
}

fn get<F, Args>(path: &str, handler: F) -> Resource
where
    F: Handler<Args>,
    Args: FromRequest + 'static,
    F::Output: Responder + 'static,
{
    resource(path, web::get(), handler)
}

fn post<F, Args>(path: &str, handler: F) -> Resource
where
    F: Handler<Args>,
    Args: FromRequest + 'static,
    F::Output: Responder + 'static,
{
    resource(path, web::post(), handler)
}

/// Everything under the base path.
pub fn auth_scope(settings: &Settings) -> impl HttpServiceFactory {
    let jwt_enabled = settings.plugins.jwt.enabled;
    // The last `wrap` runs first: rate limiting comes before everything else (README §1.6).
    web::scope(&settings.base_path)
        .wrap(actix_web::middleware::from_fn(bearer::middleware))
        .wrap(actix_web::middleware::from_fn(
            crate::rate_limit::middleware,
        ))
        .service(post("/sign-up/email", sign_up::sign_up_email))
        .service(post("/sign-in/email", sign_in::sign_in_email))
        .service(post("/sign-out", sign_out::sign_out))
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
        .service(get("/list-accounts", account::list_accounts))
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
        .service(get(
            "/reset-password/{token}",
            reset_password::reset_password_callback,
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
        .configure(|cfg| {
            if jwt_enabled {
                cfg.service(get("/token", jwt::token))
                    .service(get("/jwt", jwt::token))
                    .service(get("/jwks", jwt::jwks));
            }
        })
        .default_service(web::to(not_found))
}

/// Outside the base path: liveness, readiness, and session validation for other backends
/// (which reads `Authorization: Bearer` as every route under the base path does).
pub fn configure(cfg: &mut web::ServiceConfig, settings: &Settings) {
    cfg.service(get("/health", health::health))
        .service(get("/ready", health::ready))
        .service(
            get("/api/validate-session", session::validate_session)
                .wrap(actix_web::middleware::from_fn(bearer::middleware)),
        )
        .service(auth_scope(settings));
}
