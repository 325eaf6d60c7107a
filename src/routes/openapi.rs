//! `GET /open-api/generate-schema`: the OpenAPI document of this instance (`crate::openapi`).

use actix_web::{web, HttpResponse};

use crate::openapi::document;
use crate::state::AppState;

pub async fn generate_schema(state: web::Data<AppState>) -> HttpResponse {
    let settings = &state.settings;
    let plugin_ops = state.plugins.iter().flat_map(|p| p.openapi(settings));
    HttpResponse::Ok().json(document(settings, plugin_ops))
}
