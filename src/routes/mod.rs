//! The whole URL map on one screen.

pub mod bearer;
pub mod change_email;
pub mod delete_user;
pub mod extract;
pub mod health;
pub mod json;
pub mod jwt;
pub mod reset_password;
pub mod session;
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
    web::scope(&settings.base_path)
        .wrap(actix_web::middleware::from_fn(bearer::middleware))
        .service(post("/sign-up/email", sign_up::sign_up_email))
        .service(post("/sign-in/email", sign_in::sign_in_email))
        .service(post("/sign-out", sign_out::sign_out))
        .service(
            web::resource("/get-session")
                .route(web::get().to(session::get_session))
                .route(web::post().to(session::post_get_session))
                .default_service(web::to(not_found)),
        )
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
        .configure(|cfg| {
            if jwt_enabled {
                cfg.service(get("/token", jwt::token))
                    .service(get("/jwt", jwt::token))
                    .service(get("/jwks", jwt::jwks));
            }
        })
        .default_service(web::to(not_found))
}

/// Outside the base path: liveness and readiness.
pub fn configure(cfg: &mut web::ServiceConfig, settings: &Settings) {
    cfg.service(get("/health", health::health))
        .service(get("/ready", health::ready))
        .service(auth_scope(settings));
}
