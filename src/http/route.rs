//! Mounting a handler: one method per path, every other method and unknown path 404 with an
//! empty body, as Better Auth's router answers.

use actix_web::{web, FromRequest, Handler, HttpResponse, Resource, Responder};

/// Unknown paths and known paths with another method are both 404 with an empty body
/// (docs/compatibility.md §2.2).
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

pub fn get<F, Args>(path: &str, handler: F) -> Resource
where
    F: Handler<Args>,
    Args: FromRequest + 'static,
    F::Output: Responder + 'static,
{
    resource(path, web::get(), handler)
}

pub fn post<F, Args>(path: &str, handler: F) -> Resource
where
    F: Handler<Args>,
    Args: FromRequest + 'static,
    F::Output: Responder + 'static,
{
    resource(path, web::post(), handler)
}
