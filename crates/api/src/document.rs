//! The OpenAPI document as served: poem-openapi's, with the one thing it leaves out put back.
//!
//! poem-openapi drops an OAuth 2.0 flow's `scopes` when there are none, but OpenAPI 3 requires
//! the map (empty is allowed), and validators refuse the document without it.

use poem::endpoint::make_sync;
use poem::{Endpoint, Response};
use serde_json::Value;

/// The document with an empty `scopes` on every OAuth 2.0 flow that has none.
pub fn complete(spec: &str) -> String {
    let Ok(mut doc) = serde_json::from_str::<Value>(spec) else {
        return spec.to_owned();
    };
    if let Some(schemes) = doc
        .pointer_mut("/components/securitySchemes")
        .and_then(Value::as_object_mut)
    {
        for flows in schemes
            .values_mut()
            .filter_map(|s| s.get_mut("flows"))
            .filter_map(Value::as_object_mut)
        {
            for flow in flows.values_mut().filter_map(Value::as_object_mut) {
                flow.entry("scopes")
                    .or_insert_with(|| Value::Object(serde_json::Map::new()));
            }
        }
    }
    serde_json::to_string_pretty(&doc).unwrap_or_else(|_| spec.to_owned())
}

/// `GET /openapi.json`: the completed document.
pub fn endpoint(spec: &str) -> impl Endpoint + use<> {
    let body = complete(spec);
    make_sync(move |_| {
        Response::builder()
            .content_type("application/json")
            .body(body.clone())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_flow_gets_an_empty_scopes_map() {
        let doc: Value = serde_json::from_str(&complete(&crate::app::openapi_json_raw())).unwrap();
        let flow = &doc["components"]["securitySchemes"]["OAuth2"]["flows"]["password"];
        assert_eq!(flow["tokenUrl"], "/auth/token");
        assert_eq!(flow["scopes"], serde_json::json!({}));
    }
}
