//! `docs/API.md` stays the whole reference: every operation of the OpenAPI document and every
//! key of the configuration's schema appears in it.

use warden_adapters::Settings;

fn api_md() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/API.md"))
        .expect("docs/API.md")
}

/// Whether `text` names `needle` followed by something that ends it (so `GET /admin/users`
/// is not found inside `GET /admin/users/{id}`).
fn names(text: &str, needle: &str) -> bool {
    text.match_indices(needle).any(|(at, _)| {
        text[at + needle.len()..]
            .chars()
            .next()
            .is_none_or(|c| matches!(c, '`' | '?' | ' ' | ',' | '\n'))
    })
}

#[test]
fn every_operation_of_the_document_is_described() {
    let doc: serde_json::Value = serde_json::from_str(&warden_api::openapi_json()).unwrap();
    let text = api_md();
    let mut missing = Vec::new();
    let mut seen = 0;
    for (path, operations) in doc["paths"].as_object().unwrap() {
        for method in operations.as_object().unwrap().keys() {
            seen += 1;
            let name = format!("{} {path}", method.to_uppercase());
            if !names(&text, &name) {
                missing.push(name);
            }
        }
    }
    assert!(seen >= 19, "read the document: {seen} operations");
    assert!(
        missing.is_empty(),
        "docs/API.md does not describe {missing:?}"
    );
}

#[test]
fn every_configuration_key_is_described() {
    let keys = Settings::schema_keys();
    assert!(keys.len() > 40, "{keys:?}");
    let text = api_md();
    let missing: Vec<&String> = keys
        .iter()
        .filter(|k| !text.contains(&format!("`{k}`")))
        .collect();
    assert!(
        missing.is_empty(),
        "docs/API.md does not describe {missing:?}"
    );
}
