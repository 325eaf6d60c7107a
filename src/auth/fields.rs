//! Custom user fields declared in configuration (docs/compatibility.md §14.4): what clients may set
//! on create and update, defaults, and type checks so that a wrong type is a 400, not a 500.

use chrono::{DateTime, Utc};
use indexmap::IndexMap;
use serde::Deserialize;
use serde_json::{Map, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum FieldType {
    #[serde(rename = "string")]
    String,
    #[serde(rename = "number")]
    Number,
    #[serde(rename = "boolean")]
    Boolean,
    #[serde(rename = "date")]
    Date,
    #[serde(rename = "json")]
    Json,
    #[serde(rename = "string[]")]
    StringArray,
    #[serde(rename = "number[]")]
    NumberArray,
}

/// A custom user column declared in `[user.additional_fields.<name>]`
/// (docs/compatibility.md §14.4).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdditionalField {
    #[serde(rename = "type")]
    pub field_type: FieldType,
    /// `None` = unspecified: NOT NULL in the schema but not mandatory on create.
    #[serde(default)]
    pub required: Option<bool>,
    /// Checked against the type when the settings load; a TOML date is its RFC 3339 text.
    #[serde(default)]
    pub default: Option<Value>,
    #[serde(default = "yes")]
    pub input: bool,
    #[serde(default = "yes")]
    pub returned: bool,
}

fn yes() -> bool {
    true
}

/// Columns of `user` that configuration cannot redeclare.
pub const CORE_USER_FIELDS: &[&str] = &[
    "id",
    "name",
    "email",
    "emailVerified",
    "image",
    "createdAt",
    "updatedAt",
];

/// Sign-up keys that are never additional fields (docs/compatibility.md §14.4).
pub const SIGN_UP_KEYS: &[&str] = &[
    "name",
    "email",
    "password",
    "image",
    "callbackURL",
    "rememberMe",
];

/// Why an input was refused; rendered by the route layer with Better Auth's codes.
#[derive(Debug, PartialEq, Eq)]
pub enum FieldError {
    /// 400 `FIELD_NOT_ALLOWED` "`<f>` is not allowed to be set".
    NotAllowed(String),
    /// 400 `MISSING_FIELD` "`<f>` is required".
    Missing(String),
    /// 400 `VALIDATION_ERROR` with this message.
    Invalid(String),
}

/// JavaScript truthiness of a JSON value.
pub fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(_) | Value::Object(_) => true,
    }
}

/// The configured default as a value of the field's type, or `None` when it does not fit.
pub fn default_value(ty: FieldType, v: &Value) -> Option<Value> {
    check_type(ty, v).ok()
}

/// zod's name for the JSON type of a value, as in "received number".
pub fn received(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn expected(ty: FieldType) -> &'static str {
    match ty {
        FieldType::String => "string",
        FieldType::Number => "number",
        FieldType::Boolean => "boolean",
        FieldType::Date => "date",
        FieldType::Json => "json",
        FieldType::StringArray | FieldType::NumberArray => "array",
    }
}

/// Checks (and for dates, normalises) one value against its declared type.
/// `v` as a value of type `ty` (dates normalised), or zod's complaint.
pub fn check_type(ty: FieldType, v: &Value) -> Result<Value, String> {
    let ok = match (ty, v) {
        (_, Value::Null) => true,
        (FieldType::Json, _) => true,
        (FieldType::String, Value::String(_)) => true,
        (FieldType::Number, Value::Number(_)) => true,
        (FieldType::Boolean, Value::Bool(_)) => true,
        (FieldType::Date, Value::String(s)) => {
            return parse_date(s)
                .map(|d| Value::String(super::crypto::iso(&d)))
                .ok_or_else(|| "Invalid input: expected date, received string".to_owned());
        }
        (FieldType::StringArray, Value::Array(items)) => items.iter().all(Value::is_string),
        (FieldType::NumberArray, Value::Array(items)) => items.iter().all(Value::is_number),
        _ => false,
    };
    if ok {
        Ok(v.clone())
    } else {
        Err(format!(
            "Invalid input: expected {}, received {}",
            expected(ty),
            received(v)
        ))
    }
}

pub fn parse_date(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

/// Values for a new user: given ones checked, defaults filled in, required ones enforced.
pub fn for_create(
    defs: &IndexMap<String, AdditionalField>,
    input: &Map<String, Value>,
) -> Result<Map<String, Value>, FieldError> {
    let mut out = Map::new();
    for (name, def) in defs {
        let default = def
            .default
            .as_ref()
            .and_then(|d| default_value(def.field_type, d));
        let given = input.get(name);
        if !def.input {
            if let Some(v) = given {
                if default.is_none() && truthy(v) {
                    return Err(FieldError::NotAllowed(name.clone()));
                }
            }
            if let Some(d) = default {
                out.insert(name.clone(), d);
            }
            continue;
        }
        match (given, default) {
            (Some(v), _) => {
                let v = check_type(def.field_type, v)
                    .map_err(|m| FieldError::Invalid(format!("[body.{name}] {m}")))?;
                if v.is_null() && def.required == Some(true) {
                    return Err(FieldError::Missing(name.clone()));
                }
                out.insert(name.clone(), v);
            }
            (None, Some(d)) => {
                out.insert(name.clone(), d);
            }
            (None, None) if def.required == Some(true) => {
                return Err(FieldError::Missing(name.clone()))
            }
            (None, None) => {}
        }
    }
    Ok(out)
}

/// Values for an update: only declared, client-writable fields; no defaults.
pub fn for_update(
    defs: &IndexMap<String, AdditionalField>,
    input: &Map<String, Value>,
) -> Result<Map<String, Value>, FieldError> {
    let mut out = Map::new();
    for (name, def) in defs {
        let Some(v) = input.get(name) else { continue };
        if !def.input {
            if truthy(v) {
                return Err(FieldError::NotAllowed(name.clone()));
            }
            continue;
        }
        let v = check_type(def.field_type, v)
            .map_err(|m| FieldError::Invalid(format!("[body.{name}] {m}")))?;
        if v.is_null() && def.required == Some(true) {
            return Err(FieldError::Missing(name.clone()));
        }
        out.insert(name.clone(), v);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn defs() -> IndexMap<String, AdditionalField> {
        let toml = r#"
            [role]
            type = "string"
            default = "user"
            input = false
            [nickname]
            type = "string"
            required = false
            [age]
            type = "number"
            required = true
            [secret_flag]
            type = "boolean"
            input = false
        "#;
        toml::from_str(toml).unwrap()
    }

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn defaults_fill_in_and_input_false_with_default_is_silently_replaced() {
        let out = for_create(&defs(), &obj(json!({"age": 3, "role": "admin"}))).unwrap();
        assert_eq!(out.get("role"), Some(&json!("user")));
        assert_eq!(out.get("age"), Some(&json!(3)));
        assert!(!out.contains_key("nickname"));
    }

    #[test]
    fn input_false_without_default_refuses_a_truthy_value() {
        let err = for_create(&defs(), &obj(json!({"age": 3, "secret_flag": true}))).unwrap_err();
        assert_eq!(err, FieldError::NotAllowed("secret_flag".into()));
        assert!(for_create(&defs(), &obj(json!({"age": 3, "secret_flag": false}))).is_ok());
    }

    #[test]
    fn required_fields_must_be_given() {
        assert_eq!(
            for_create(&defs(), &Map::new()).unwrap_err(),
            FieldError::Missing("age".into())
        );
    }

    #[test]
    fn wrong_types_are_validation_errors() {
        let err = for_create(&defs(), &obj(json!({"age": "3"}))).unwrap_err();
        assert_eq!(
            err,
            FieldError::Invalid(
                "[body.age] Invalid input: expected number, received string".into()
            )
        );
    }

    #[test]
    fn updates_take_only_declared_writable_fields() {
        let out = for_update(
            &defs(),
            &obj(json!({"nickname": "x", "emailVerified": true})),
        )
        .unwrap();
        assert_eq!(out, obj(json!({"nickname": "x"})));
        assert_eq!(
            for_update(&defs(), &obj(json!({"role": "admin"}))).unwrap_err(),
            FieldError::NotAllowed("role".into())
        );
    }
}
