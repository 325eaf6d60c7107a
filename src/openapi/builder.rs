//! The pieces the OpenAPI document is made of: schema helpers and [`Op`], one documented
//! operation. The core's operations and each plugin's are written with these.

use utoipa::openapi::path::HttpMethod;
use utoipa::openapi::schema::{
    AdditionalProperties, ArrayBuilder, KnownFormat, ObjectBuilder, SchemaFormat, SchemaType, Type,
};
use utoipa::openapi::{RefOr, Schema};

use crate::auth::fields::FieldType;
use crate::config::Settings;

// --- schema helpers ---------------------------------------------------------------------------

pub fn typed(ty: Type, nullable: bool) -> ObjectBuilder {
    if nullable {
        ObjectBuilder::new().schema_type(SchemaType::from_iter([ty, Type::Null]))
    } else {
        ObjectBuilder::new().schema_type(ty)
    }
}

pub fn string() -> Schema {
    typed(Type::String, false).into()
}

pub fn nullable_string() -> Schema {
    typed(Type::String, true).into()
}

pub fn boolean() -> Schema {
    typed(Type::Boolean, false).into()
}

pub fn date_time(nullable: bool) -> Schema {
    typed(Type::String, nullable)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
        .into()
}

pub fn array_of(items: Schema) -> Schema {
    ArrayBuilder::new().items(RefOr::T(items)).into()
}

/// An object with the given properties; `required` lists the names that must be present.
pub fn object<S: Into<String>>(
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

pub fn field_schema(ty: FieldType, nullable: bool) -> Schema {
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
pub fn user(settings: &Settings) -> Schema {
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
pub fn session() -> Schema {
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
pub fn account() -> Schema {
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

pub fn session_and_user(settings: &Settings) -> Schema {
    object(
        vec![("session", session()), ("user", user(settings))],
        &["session", "user"],
        true,
    )
    .into()
}

pub fn status_true() -> Schema {
    object(vec![("status", boolean())], &["status"], true).into()
}

pub fn success_message() -> Schema {
    object(
        vec![("success", boolean()), ("message", string())],
        &["success", "message"],
        true,
    )
    .into()
}

/// Every error body (errors.md): a message, usually a code.
pub fn error() -> Schema {
    object(
        vec![("code", string()), ("message", string())],
        &["message"],
        true,
    )
    .into()
}

// --- operations -------------------------------------------------------------------------------

/// One documented operation.
pub struct Op {
    pub method: HttpMethod,
    pub path: &'static str,
    pub summary: &'static str,
    pub tag: &'static str,
    pub body: Option<Schema>,
    pub query: Vec<(&'static str, bool)>,
    pub ok: Ok200,
    /// 401 is Better Auth's bare `APIError`: an empty body (under a JSON content type).
    pub bare_unauthorized: bool,
}

pub enum Ok200 {
    Json(Schema),
    Html,
    /// A 302 redirect, or JSON when no callback URL was given.
    RedirectOr(Schema),
}

impl Op {
    pub fn new(
        method: HttpMethod,
        path: &'static str,
        tag: &'static str,
        summary: &'static str,
    ) -> Op {
        Op {
            method,
            path,
            summary,
            tag,
            body: None,
            query: Vec::new(),
            ok: Ok200::Json(status_true()),
            bare_unauthorized: false,
        }
    }

    pub fn bare_unauthorized(mut self) -> Op {
        self.bare_unauthorized = true;
        self
    }

    pub fn body<S: Into<String>>(mut self, properties: Vec<(S, Schema)>, required: &[&str]) -> Op {
        self.body = Some(object(properties, required, true).into());
        self
    }

    pub fn query(mut self, name: &'static str, required: bool) -> Op {
        self.query.push((name, required));
        self
    }

    pub fn ok(mut self, schema: Schema) -> Op {
        self.ok = Ok200::Json(schema);
        self
    }

    pub fn redirect_or(mut self, schema: Schema) -> Op {
        self.ok = Ok200::RedirectOr(schema);
        self
    }

    pub fn html(mut self) -> Op {
        self.ok = Ok200::Html;
        self
    }
}
