//! The OpenAPI 3.1 document of every endpoint this instance mounts, served at
//! `/open-api/generate-schema` as Better Auth's openAPI plugin serves its own. It is built from
//! the settings (custom user fields, enabled plugins), so it describes what this instance
//! answers; CI runs schemathesis against it.

use actix_web::{web, HttpResponse};
use utoipa::openapi::path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{
    AdditionalProperties, ArrayBuilder, KnownFormat, ObjectBuilder, SchemaFormat, SchemaType, Type,
};
use utoipa::openapi::{
    ContentBuilder, InfoBuilder, OpenApi, OpenApiBuilder, Paths, RefOr, Required, ResponseBuilder,
    Schema, ServerBuilder,
};

use crate::config::{FieldType, Settings};
use crate::startup::AppState;

const JSON: &str = "application/json";

pub async fn generate_schema(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json(document(&state.settings))
}

// --- schema helpers ---------------------------------------------------------------------------

fn typed(ty: Type, nullable: bool) -> ObjectBuilder {
    if nullable {
        ObjectBuilder::new().schema_type(SchemaType::from_iter([ty, Type::Null]))
    } else {
        ObjectBuilder::new().schema_type(ty)
    }
}

fn string() -> Schema {
    typed(Type::String, false).into()
}

fn nullable_string() -> Schema {
    typed(Type::String, true).into()
}

fn boolean() -> Schema {
    typed(Type::Boolean, false).into()
}

fn date_time(nullable: bool) -> Schema {
    typed(Type::String, nullable)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
        .into()
}

fn array_of(items: Schema) -> Schema {
    ArrayBuilder::new().items(RefOr::T(items)).into()
}

/// An object with the given properties; `required` lists the names that must be present.
fn object<S: Into<String>>(
    properties: Vec<(S, Schema)>,
    required: &[&str],
    open: bool,
) -> ObjectBuilder {
    let mut builder = ObjectBuilder::new()
        .schema_type(Type::Object)
        .additional_properties(Some(AdditionalProperties::FreeForm(open)));
    for (name, schema) in properties {
        builder = builder.property(name, schema);
    }
    for name in required {
        builder = builder.required(*name);
    }
    builder
}

fn field_schema(ty: FieldType, nullable: bool) -> Schema {
    match ty {
        FieldType::String => typed(Type::String, nullable).into(),
        FieldType::Number => typed(Type::Number, nullable).into(),
        FieldType::Boolean => typed(Type::Boolean, nullable).into(),
        FieldType::Date => date_time(nullable),
        FieldType::Json => ObjectBuilder::new()
            .schema_type(SchemaType::AnyValue)
            .into(),
        FieldType::StringArray => array_of(string()),
        FieldType::NumberArray => array_of(typed(Type::Number, false).into()),
    }
}

/// The User object (endpoints.md §0.1) with this instance's returned custom fields.
fn user(settings: &Settings) -> Schema {
    let mut properties = vec![
        ("id", string()),
        ("name", string()),
        ("email", string()),
        ("emailVerified", boolean()),
        ("image", nullable_string()),
        ("createdAt", date_time(false)),
        ("updatedAt", date_time(false)),
    ];
    for (name, field) in &settings.user.additional_fields {
        if field.returned {
            let nullable = !field.required.unwrap_or(false);
            properties.push((name.as_str(), field_schema(field.field_type, nullable)));
        }
    }
    let required = [
        "id",
        "name",
        "email",
        "emailVerified",
        "createdAt",
        "updatedAt",
    ];
    object(properties, &required, true).into()
}

/// The Session object (endpoints.md §0.2).
fn session() -> Schema {
    object(
        vec![
            ("id", string()),
            ("token", string()),
            ("userId", string()),
            ("expiresAt", date_time(false)),
            ("createdAt", date_time(false)),
            ("updatedAt", date_time(false)),
            ("ipAddress", nullable_string()),
            ("userAgent", nullable_string()),
        ],
        &[
            "id",
            "token",
            "userId",
            "expiresAt",
            "createdAt",
            "updatedAt",
        ],
        true,
    )
    .into()
}

/// The Account object as listed to clients (endpoints.md §0.3).
fn account() -> Schema {
    object(
        vec![
            ("id", string()),
            ("providerId", string()),
            ("accountId", string()),
            ("userId", string()),
            ("createdAt", date_time(false)),
            ("updatedAt", date_time(false)),
            ("scopes", array_of(string())),
        ],
        &[
            "id",
            "providerId",
            "accountId",
            "userId",
            "createdAt",
            "updatedAt",
            "scopes",
        ],
        true,
    )
    .into()
}

fn session_and_user(settings: &Settings) -> Schema {
    object(
        vec![("session", session()), ("user", user(settings))],
        &["session", "user"],
        true,
    )
    .into()
}

fn status_true() -> Schema {
    object(vec![("status", boolean())], &["status"], true).into()
}

fn success_message() -> Schema {
    object(
        vec![("success", boolean()), ("message", string())],
        &["success", "message"],
        true,
    )
    .into()
}

/// Every error body (errors.md): a message, usually a code.
fn error() -> Schema {
    object(
        vec![("code", string()), ("message", string())],
        &["message"],
        true,
    )
    .into()
}

// --- operations -------------------------------------------------------------------------------

/// One documented operation.
struct Op {
    method: HttpMethod,
    path: &'static str,
    summary: &'static str,
    tag: &'static str,
    body: Option<Schema>,
    query: Vec<(&'static str, bool)>,
    ok: Ok200,
}

enum Ok200 {
    Json(Schema),
    Html,
    /// A 302 redirect, or JSON when no callback URL was given.
    RedirectOr(Schema),
}

impl Op {
    fn new(method: HttpMethod, path: &'static str, tag: &'static str, summary: &'static str) -> Op {
        Op {
            method,
            path,
            summary,
            tag,
            body: None,
            query: Vec::new(),
            ok: Ok200::Json(status_true()),
        }
    }

    fn body<S: Into<String>>(mut self, properties: Vec<(S, Schema)>, required: &[&str]) -> Op {
        self.body = Some(object(properties, required, true).into());
        self
    }

    fn query(mut self, name: &'static str, required: bool) -> Op {
        self.query.push((name, required));
        self
    }

    fn ok(mut self, schema: Schema) -> Op {
        self.ok = Ok200::Json(schema);
        self
    }

    fn redirect_or(mut self, schema: Schema) -> Op {
        self.ok = Ok200::RedirectOr(schema);
        self
    }

    fn html(mut self) -> Op {
        self.ok = Ok200::Html;
        self
    }
}

fn operations(settings: &Settings) -> Vec<Op> {
    use HttpMethod::{Get, Post};
    let user = || user(settings);
    let token_and_user = || {
        object(
            vec![("token", nullable_string()), ("user", user())],
            &["token", "user"],
            true,
        )
        .into()
    };
    let mut sign_up_fields: Vec<(String, Schema)> = [
        ("name", string()),
        ("email", string()),
        ("password", string()),
        ("image", string()),
        ("callbackURL", string()),
        ("rememberMe", boolean()),
    ]
    .map(|(n, s)| (n.to_owned(), s))
    .into();
    let mut update_fields: Vec<(String, Schema)> = vec![
        ("name".to_owned(), string()),
        ("image".to_owned(), nullable_string()),
    ];
    for (name, field) in &settings.user.additional_fields {
        if field.input {
            sign_up_fields.push((name.clone(), field_schema(field.field_type, false)));
            update_fields.push((name.clone(), field_schema(field.field_type, true)));
        }
    }

    let mut ops = vec![
        Op::new(
            Post,
            "/sign-up/email",
            "Email and password",
            "Sign up with email and password",
        )
        .body(sign_up_fields, &["name", "email", "password"])
        .ok(token_and_user()),
        Op::new(
            Post,
            "/sign-in/email",
            "Email and password",
            "Sign in with email and password",
        )
        .body(
            vec![
                ("email", string()),
                ("password", string()),
                ("callbackURL", string()),
                ("rememberMe", boolean()),
            ],
            &["email", "password"],
        )
        .ok(object(
            vec![
                ("redirect", boolean()),
                ("token", string()),
                ("url", string()),
                ("user", user()),
            ],
            &["redirect", "token", "user"],
            true,
        )
        .into()),
        Op::new(
            Post,
            "/sign-out",
            "Session",
            "Sign out: delete the session, clear the cookies",
        )
        .ok(object(vec![("success", boolean())], &["success"], true).into()),
        Op::new(
            Get,
            "/get-session",
            "Session",
            "The current session and user, or null",
        )
        .query("disableCookieCache", false)
        .query("disableRefresh", false)
        .ok({
            let mut schema = session_and_user(settings);
            if let Schema::Object(object) = &mut schema {
                object.schema_type = SchemaType::from_iter([Type::Object, Type::Null]);
            }
            schema
        }),
        Op::new(
            Get,
            "/list-sessions",
            "Session",
            "The user's active sessions",
        )
        .ok(array_of(session())),
        Op::new(
            Post,
            "/revoke-session",
            "Session",
            "Revoke one of the user's sessions",
        )
        .body(vec![("token", string())], &["token"]),
        Op::new(
            Post,
            "/revoke-sessions",
            "Session",
            "Revoke every session of the user",
        ),
        Op::new(
            Post,
            "/revoke-other-sessions",
            "Session",
            "Revoke every other session of the user",
        ),
        Op::new(
            Post,
            "/update-session",
            "Session",
            "Update the session's custom fields",
        )
        .body(Vec::<(String, Schema)>::new(), &[])
        .ok(object(vec![("session", session())], &["session"], true).into()),
        Op::new(
            Post,
            "/update-user",
            "User",
            "Update the user's name, image and custom fields",
        )
        .body(update_fields, &[]),
        Op::new(
            Post,
            "/change-password",
            "Email and password",
            "Change the password",
        )
        .body(
            vec![
                ("newPassword", string()),
                ("currentPassword", string()),
                ("revokeOtherSessions", boolean()),
            ],
            &["newPassword", "currentPassword"],
        )
        .ok(token_and_user()),
        Op::new(
            Post,
            "/change-email",
            "User",
            "Change the email (with verification)",
        )
        .body(
            vec![("newEmail", string()), ("callbackURL", string())],
            &["newEmail"],
        ),
        Op::new(
            Post,
            "/request-password-reset",
            "Email and password",
            "Mail a password-reset link",
        )
        .body(
            vec![("email", string()), ("redirectTo", string())],
            &["email"],
        )
        .ok(object(
            vec![("status", boolean()), ("message", string())],
            &["status", "message"],
            true,
        )
        .into()),
        Op::new(
            Get,
            "/reset-password/{token}",
            "Email and password",
            "Redirect a reset link to the app",
        )
        .query("callbackURL", true)
        .redirect_or(error()),
        Op::new(
            Post,
            "/reset-password",
            "Email and password",
            "Set a new password with a reset token",
        )
        .body(
            vec![("newPassword", string()), ("token", string())],
            &["newPassword"],
        )
        .query("token", false),
        Op::new(
            Post,
            "/send-verification-email",
            "Email verification",
            "Mail an email-verification link",
        )
        .body(
            vec![("email", string()), ("callbackURL", string())],
            &["email"],
        ),
        Op::new(
            Get,
            "/verify-email",
            "Email verification",
            "Verify an email with the mailed token",
        )
        .query("token", true)
        .query("callbackURL", false)
        .redirect_or(
            object(
                vec![("status", boolean()), ("user", user())],
                &["status"],
                true,
            )
            .into(),
        ),
        Op::new(
            Get,
            "/list-accounts",
            "Accounts",
            "The user's linked accounts",
        )
        .ok(array_of(account())),
        Op::new(
            Post,
            "/unlink-account",
            "Accounts",
            "Unlink one of the user's accounts",
        )
        .body(vec![("accountId", string()), ("providerId", string())], &[]),
        Op::new(Get, "/ok", "Utility", "Liveness of the auth router").ok(object(
            vec![("ok", boolean())],
            &["ok"],
            true,
        )
        .into()),
        Op::new(Get, "/error", "Utility", "The error page")
            .query("error", false)
            .query("error_description", false)
            .html(),
    ];
    if settings.user.delete_user.enabled {
        ops.push(
            Op::new(
                Post,
                "/delete-user",
                "User",
                "Delete the user (password, fresh session or mailed link)",
            )
            .body(
                vec![
                    ("password", string()),
                    ("token", string()),
                    ("callbackURL", string()),
                ],
                &[],
            )
            .ok(success_message()),
        );
        ops.push(
            Op::new(
                Get,
                "/delete-user/callback",
                "User",
                "Delete the user with the mailed token",
            )
            .query("token", true)
            .query("callbackURL", false)
            .redirect_or(success_message()),
        );
    }
    if settings.plugins.jwt.enabled {
        ops.push(
            Op::new(Get, "/token", "JWT", "A JWT for the current session").ok(object(
                vec![("token", string())],
                &["token"],
                true,
            )
            .into()),
        );
        ops.push(
            Op::new(
                Get,
                "/jwks",
                "JWT",
                "The public keys that verify this service's JWTs",
            )
            .ok(object(
                vec![(
                    "keys",
                    array_of(object(Vec::<(String, Schema)>::new(), &[], true).into()),
                )],
                &["keys"],
                true,
            )
            .into()),
        );
    }
    ops.push(
        Op::new(Get, "/open-api/generate-schema", "Utility", "This document").ok(object(
            Vec::<(String, Schema)>::new(),
            &[],
            true,
        )
        .into()),
    );
    ops
}

/// The whole document, paths relative to the server URL (the base URL with its base path).
pub fn document(settings: &Settings) -> OpenApi {
    let mut paths = Paths::new();
    for op in operations(settings) {
        let mut builder = OperationBuilder::new()
            .summary(Some(op.summary))
            .tag(op.tag)
            .operation_id(Some(operation_id(op.method.clone(), op.path)));
        if let Some(body) = op.body {
            builder = builder.request_body(Some(
                RequestBodyBuilder::new()
                    .content(JSON, ContentBuilder::new().schema(Some(body)).build())
                    .build(),
            ));
        }
        if op.path.contains("{token}") {
            builder = builder.parameter(
                ParameterBuilder::new()
                    .name("token")
                    .parameter_in(ParameterIn::Path)
                    .required(Required::True)
                    .schema(Some(string())),
            );
        }
        for (name, required) in op.query {
            builder = builder.parameter(
                ParameterBuilder::new()
                    .name(name)
                    .parameter_in(ParameterIn::Query)
                    .required(if required {
                        Required::True
                    } else {
                        Required::False
                    })
                    .schema(Some(string())),
            );
        }
        let json = |description: &str, schema: Schema| {
            ResponseBuilder::new()
                .description(description)
                .content(JSON, ContentBuilder::new().schema(Some(schema)).build())
                .build()
        };
        builder = match op.ok {
            Ok200::Json(schema) => builder.response("200", json("Success", schema)),
            Ok200::Html => builder.response(
                "200",
                ResponseBuilder::new()
                    .description("An HTML page")
                    .content("text/html", ContentBuilder::new().build())
                    .build(),
            ),
            Ok200::RedirectOr(schema) => builder
                .response("200", json("Success without a callback URL", schema))
                .response(
                    "302",
                    ResponseBuilder::new()
                        .description("Redirect to the callback URL")
                        .build(),
                ),
        };
        builder = builder.response(
            "default",
            json("Error: a message and usually a code", error()),
        );
        paths.add_path_operation(op.path, vec![op.method], builder.build());
    }
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("better-auth-rs")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(
                    "Better Auth's HTTP API, served by better-auth-rs. Sessions travel in the \
                     `better-auth.session_token` cookie or as `Authorization: Bearer <token>`.",
                ))
                .build(),
        )
        .servers(Some([ServerBuilder::new()
            .url(settings.base_url())
            .build()]))
        .paths(paths)
        .build()
}

fn operation_id(method: HttpMethod, path: &str) -> String {
    let verb = match method {
        HttpMethod::Get => "get",
        _ => "post",
    };
    let words: String = path
        .split(['/', '-', '{', '}'])
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut chars = w.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect();
    format!("{verb}{words}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operation_ids_are_unique_camel_case() {
        let settings = Settings::load(&crate::config::Sources::from_map([(
            "BETTER_AUTH_SECRET",
            "a-secret-of-at-least-thirty-two-characters",
        )]))
        .unwrap_or_else(|e| panic!("{e}"));
        let ops = operations(&settings);
        let mut ids: Vec<String> = ops
            .iter()
            .map(|op| operation_id(op.method.clone(), op.path))
            .collect();
        assert!(ids.contains(&"postSignUpEmail".to_owned()));
        assert!(ids.contains(&"getResetPasswordToken".to_owned()));
        let count = ids.len();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), count);
    }
}
