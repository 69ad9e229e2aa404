//! `StrictJson<T>`: a JSON request body checked against its own schema in the document before
//! it is parsed, and refused by kind with fixed messages that name a field and never a value.
//!
//! poem-openapi's `Json<T>` turns a number or a boolean sent for a string into that string, and
//! its errors quote what was sent (a password sent as an array came back whole). Here the value
//! is checked first against the very schema the document publishes, so what the document says
//! is what is enforced: not JSON at all is 400, JSON that breaks the schema is 422 with every
//! reason in `errors`.

use poem::error::ResponseError;
use poem::http::StatusCode;
use poem::{FromRequest, IntoResponse, Request, RequestBody, Response};
use poem_openapi::payload::{Json, ParsePayload, Payload};
use poem_openapi::registry::{MetaSchema, MetaSchemaRef, Registry};
use poem_openapi::types::{ParseFromJSON, Type};
use serde_json::Value;

use crate::problem::{ApiError, Problem};

/// A JSON body that must match its schema exactly: no coercion between types.
#[derive(Debug)]
pub struct StrictJson<T>(pub T);

impl<T: Type> Payload for StrictJson<T> {
    const CONTENT_TYPE: &'static str = <Json<T> as Payload>::CONTENT_TYPE;

    fn check_content_type(content_type: &str) -> bool {
        <Json<T> as Payload>::check_content_type(content_type)
    }

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

impl<T: ParseFromJSON> ParsePayload for StrictJson<T> {
    const IS_REQUIRED: bool = true;

    async fn from_request(request: &Request, body: &mut RequestBody) -> poem::Result<Self> {
        let data = Vec::<u8>::from_request(request, body).await?;
        let value: Value = serde_json::from_slice(&data).map_err(|_| BodyError::NotJson)?;
        let reasons = violations::<T>(&value);
        if !reasons.is_empty() {
            return Err(BodyError::Invalid(reasons).into());
        }
        // The schema held, so this parse is not expected to fail; if it does, its message
        // (which may quote the input) is dropped all the same.
        T::parse_from_json(Some(value)).map(Self).map_err(|_| {
            BodyError::Invalid(vec!["the body does not match its schema".into()]).into()
        })
    }
}

poem_openapi::impl_apirequest_for_payload!(StrictJson<T>, T: ParseFromJSON);

/// Why a body was refused, by kind.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    /// Not JSON at all (or empty).
    #[error("the body is not valid JSON")]
    NotJson,
    /// JSON that breaks the schema: every reason, each naming its field.
    #[error("the body does not match its schema")]
    Invalid(Vec<String>),
}

impl ResponseError for BodyError {
    fn status(&self) -> StatusCode {
        match self {
            Self::NotJson => StatusCode::BAD_REQUEST,
            Self::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
        }
    }

    fn as_response(&self) -> Response {
        match self {
            Self::NotJson => {
                ApiError::BadRequest(Json(Problem::new(400, "The body is not valid JSON")))
                    .into_response()
            }
            Self::Invalid(reasons) => ApiError::unprocessable(reasons.clone()).into_response(),
        }
    }
}

/// Every way `value` breaks `T`'s schema, each naming where.
pub fn violations<T: Type>(value: &Value) -> Vec<String> {
    let mut registry = Registry::new();
    T::register(&mut registry);
    let mut reasons = Vec::new();
    check(&registry, &T::schema_ref(), value, "", &mut reasons);
    reasons
}

/// How a place in the body is named in a message: a field path, never a value.
fn name(at: &str) -> String {
    if at.is_empty() {
        "the body".to_owned()
    } else {
        format!("`{at}`")
    }
}

fn check(
    registry: &Registry,
    schema: &MetaSchemaRef,
    value: &Value,
    at: &str,
    out: &mut Vec<String>,
) {
    let schema = match schema {
        MetaSchemaRef::Inline(s) => s.as_ref(),
        MetaSchemaRef::Reference(r) => match registry.schemas.get(r) {
            Some(s) => s,
            None => return,
        },
    };
    if value.is_null() {
        if !schema.nullable {
            out.push(format!("{} must not be null", name(at)));
        }
        return;
    }
    if !schema.all_of.is_empty() {
        // A field's description or nullability wrapped around a reference: the reference holds
        // the type, the inline part only what the field adds.
        for part in &schema.all_of {
            if let MetaSchemaRef::Reference(_) = part {
                check(registry, part, value, at, out);
            }
        }
        return;
    }
    match schema.ty {
        "string" => check_string(schema, value, at, out),
        "integer" => check_integer(schema, value, at, out),
        "number" if !value.is_number() => out.push(format!("{} must be a number", name(at))),
        "boolean" if !value.is_boolean() => {
            out.push(format!("{} must be true or false", name(at)));
        }
        "array" => match value.as_array() {
            None => out.push(format!("{} must be an array", name(at))),
            Some(items) => {
                if let Some(item) = &schema.items {
                    for (i, v) in items.iter().enumerate() {
                        check(registry, item, v, &format!("{at}[{i}]"), out);
                    }
                }
            }
        },
        "object" => check_object(registry, schema, value, at, out),
        _ => {}
    }
}

fn check_object(
    registry: &Registry,
    schema: &MetaSchema,
    value: &Value,
    at: &str,
    out: &mut Vec<String>,
) {
    let Some(fields) = value.as_object() else {
        out.push(format!("{} must be a JSON object", name(at)));
        return;
    };
    let path = |field: &str| {
        if at.is_empty() {
            field.to_owned()
        } else {
            format!("{at}.{field}")
        }
    };
    for required in &schema.required {
        if !fields.contains_key(*required) {
            out.push(format!("{} is required", name(&path(required))));
        }
    }
    for (field, field_schema) in &schema.properties {
        if let Some(v) = fields.get(*field) {
            check(registry, field_schema, v, &path(field), out);
        }
    }
}

fn check_string(schema: &MetaSchema, value: &Value, at: &str, out: &mut Vec<String>) {
    let Some(s) = value.as_str() else {
        out.push(format!("{} must be a string", name(at)));
        return;
    };
    if !schema.enum_items.is_empty() {
        if !schema.enum_items.iter().any(|e| e.as_str() == Some(s)) {
            let allowed: Vec<&str> = schema.enum_items.iter().filter_map(Value::as_str).collect();
            out.push(format!(
                "{} must be one of: {}",
                name(at),
                allowed.join(", ")
            ));
        }
        return;
    }
    if schema.format == Some("uuid") && uuid::Uuid::parse_str(s).is_err() {
        out.push(format!("{} must be a UUID", name(at)));
        return;
    }
    let chars = s.chars().count();
    let too_short = schema.min_length.is_some_and(|min| chars < min);
    let too_long = schema.max_length.is_some_and(|max| chars > max);
    if too_short || too_long {
        out.push(match (schema.min_length, schema.max_length) {
            (Some(min), Some(max)) => format!("{} must be {min} to {max} characters", name(at)),
            (Some(min), None) => format!("{} must be at least {min} characters", name(at)),
            (None, Some(max)) => format!("{} must be at most {max} characters", name(at)),
            (None, None) => unreachable!("a length bound was broken, so one is set"),
        });
    }
}

/// The bounds an integer of this schema must keep: its format's range, narrowed by
/// `minimum` and `maximum`.
fn integer_bounds(schema: &MetaSchema) -> (i128, i128) {
    let (mut lo, mut hi) = match schema.format {
        Some("int8") => (i128::from(i8::MIN), i128::from(i8::MAX)),
        Some("int16") => (i128::from(i16::MIN), i128::from(i16::MAX)),
        Some("int32") => (i128::from(i32::MIN), i128::from(i32::MAX)),
        Some("uint8") => (0, i128::from(u8::MAX)),
        Some("uint16") => (0, i128::from(u16::MAX)),
        Some("uint32") => (0, i128::from(u32::MAX)),
        Some("uint64") => (0, i128::from(u64::MAX)),
        _ => (i128::from(i64::MIN), i128::from(i64::MAX)),
    };
    // The bounds come from our own validators, which are whole numbers.
    #[allow(clippy::cast_possible_truncation)]
    if let Some(min) = schema.minimum {
        let min = min.ceil() as i128 + i128::from(schema.exclusive_minimum == Some(true));
        lo = lo.max(min);
    }
    #[allow(clippy::cast_possible_truncation)]
    if let Some(max) = schema.maximum {
        let max = max.floor() as i128 - i128::from(schema.exclusive_maximum == Some(true));
        hi = hi.min(max);
    }
    (lo, hi)
}

fn check_integer(schema: &MetaSchema, value: &Value, at: &str, out: &mut Vec<String>) {
    let n = value
        .as_i64()
        .map(i128::from)
        .or_else(|| value.as_u64().map(i128::from));
    let (lo, hi) = integer_bounds(schema);
    if !n.is_some_and(|n| (lo..=hi).contains(&n)) {
        out.push(format!("{} must be an integer from {lo} to {hi}", name(at)));
    }
}

#[cfg(test)]
mod tests {
    use poem_openapi::Object;
    use serde_json::json;

    use super::*;

    /// Days, 1 to 10.
    #[derive(Object)]
    struct Sample {
        name: String,
        #[oai(validator(minimum(value = "1"), maximum(value = "10")))]
        days: Option<u32>,
        #[oai(validator(max_length = 3))]
        short: Option<String>,
        role: Option<crate::dto::RoleDto>,
        id: Option<uuid::Uuid>,
        flag: Option<bool>,
    }

    #[test]
    fn every_kind_of_violation_names_its_field_and_never_its_value() {
        let cases = [
            (json!({"name": 123}), "`name` must be a string"),
            (json!({"name": true}), "`name` must be a string"),
            (json!({"name": ["s3cret"]}), "`name` must be a string"),
            (json!({}), "`name` is required"),
            (json!({"name": null}), "`name` must not be null"),
            (
                json!({"name": "a", "days": 0}),
                "`days` must be an integer from 1 to 10",
            ),
            (
                json!({"name": "a", "days": 11}),
                "`days` must be an integer from 1 to 10",
            ),
            (
                json!({"name": "a", "days": -1}),
                "`days` must be an integer from 1 to 10",
            ),
            (
                json!({"name": "a", "days": 1.5}),
                "`days` must be an integer from 1 to 10",
            ),
            (
                json!({"name": "a", "days": "3"}),
                "`days` must be an integer from 1 to 10",
            ),
            (
                json!({"name": "a", "short": "abcd"}),
                "`short` must be at most 3 characters",
            ),
            (
                json!({"name": "a", "role": "s3cret"}),
                "`role` must be one of: admin, service, user",
            ),
            (json!({"name": "a", "id": "s3cret"}), "`id` must be a UUID"),
            (
                json!({"name": "a", "flag": "s3cret"}),
                "`flag` must be true or false",
            ),
            (json!(["s3cret"]), "the body must be a JSON object"),
        ];
        for (body, expected) in cases {
            let reasons = violations::<Sample>(&body);
            assert_eq!(reasons, vec![expected.to_owned()], "{body}");
            assert!(!reasons.concat().contains("s3cret"));
        }
    }

    #[test]
    fn values_at_the_edges_of_their_bounds_pass() {
        for body in [
            json!({"name": "a"}),
            json!({"name": "a", "days": 1}),
            json!({"name": "a", "days": 10}),
            json!({"name": "a", "short": "abc", "role": "admin", "flag": false}),
            json!({"name": "a", "id": "0190a0f0-0000-7000-8000-000000000000"}),
        ] {
            assert_eq!(violations::<Sample>(&body), Vec::<String>::new(), "{body}");
        }
    }
}
