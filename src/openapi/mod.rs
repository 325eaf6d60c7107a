//! The OpenAPI 3.1 document of every endpoint this instance mounts, served at
//! `/open-api/generate-schema` as Better Auth's openAPI plugin serves its own. It is built from
//! the settings (custom user fields) and the enabled plugins' operations, so it describes what
//! this instance answers; CI runs schemathesis against it.

pub mod builder;

use utoipa::openapi::path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{SchemaType, Type};
use utoipa::openapi::{
    ContentBuilder, InfoBuilder, OpenApi, OpenApiBuilder, Paths, Required, ResponseBuilder, Schema,
    ServerBuilder,
};

use crate::config::Settings;
use builder::*;

const JSON: &str = "application/json";

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
            "/verify-password",
            "Email and password",
            "Verify the current user's password",
        )
        .body(vec![("password", string())], &["password"]),
        Op::new(
            Get,
            "/account-info",
            "Accounts",
            "The account info provided by the account's social provider",
        )
        .query("accountId", true)
        .query("userId", false)
        .bare_unauthorized()
        .ok(object(
            vec![
                (
                    "user",
                    object(vec![("emailVerified", boolean())], &["emailVerified"], true).into(),
                ),
                (
                    "account",
                    object(
                        vec![
                            ("id", string()),
                            ("providerId", string()),
                            ("accountId", string()),
                        ],
                        &["id", "providerId", "accountId"],
                        false,
                    )
                    .into(),
                ),
                (
                    "data",
                    object(Vec::<(String, Schema)>::new(), &[], true).into(),
                ),
            ],
            &["user", "data", "account"],
            false,
        )
        .into()),
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
    if !settings.social_providers.is_empty() || !settings.plugins.generic_oauth.config.is_empty() {
        ops.extend(social_operations());
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
/// The whole document: the core's operations, then `more` (the enabled plugins').
pub fn document(settings: &Settings, more: impl IntoIterator<Item = Op>) -> OpenApi {
    let mut paths = Paths::new();
    let mut ops = operations(settings);
    ops.extend(more);
    for op in ops {
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
            Ok200::Html => builder
                .response(
                    "200",
                    ResponseBuilder::new()
                        .description("An HTML page")
                        .content("text/html", ContentBuilder::new().build())
                        .build(),
                )
                .response(
                    "302",
                    ResponseBuilder::new()
                        .description("Redirect to the error URL, or in production to the site root")
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
        if op.bare_unauthorized {
            builder = builder.response(
                "401",
                ResponseBuilder::new()
                    .description("No session: an empty body")
                    .build(),
            );
        }
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

/// Social sign-in's operations, when a provider is configured.
fn social_operations() -> Vec<Op> {
    use HttpMethod::{Get, Post};
    let url_redirect = || {
        Schema::from(object(
            vec![("url", string()), ("redirect", boolean())],
            &["redirect"],
            true,
        ))
    };
    let flow = || {
        vec![
            ("provider", string()),
            ("callbackURL", string()),
            ("newUserCallbackURL", string()),
            ("errorCallbackURL", string()),
            ("disableRedirect", boolean()),
            ("requestSignUp", boolean()),
            ("loginHint", string()),
            ("scopes", array_of(string())),
        ]
    };
    let selector = || vec![("accountId", string())];
    let token_answer = || {
        Schema::from(object(
            vec![("accessToken", string()), ("scopes", array_of(string()))],
            &[],
            true,
        ))
    };
    vec![
        Op::new(
            Post,
            "/sign-in/social",
            "Social",
            "Sign in with a social provider",
        )
        .body(flow(), &["provider"])
        .ok(url_redirect()),
        Op::new(
            Post,
            "/link-social",
            "Social",
            "Link a social account to the user",
        )
        .body(flow(), &["provider"])
        .ok(url_redirect()),
        Op::new(
            Post,
            "/get-access-token",
            "Social",
            "A valid provider access token",
        )
        .body(selector(), &["accountId"])
        .ok(token_answer()),
        Op::new(
            Post,
            "/refresh-token",
            "Social",
            "Refresh the provider tokens",
        )
        .body(selector(), &["accountId"])
        .ok(token_answer()),
        Op::new(
            Get,
            "/account-info",
            "Social",
            "The provider's profile of an account",
        )
        .query("accountId", true)
        .ok(object(Vec::<(String, Schema)>::new(), &[], true).into()),
    ]
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
