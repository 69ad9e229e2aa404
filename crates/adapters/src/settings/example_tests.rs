//! Tests of `warden config example` against the schema: it loads back as exactly the defaults
//! and names every key.

// figment::Jail closures return figment::Error, which is large; that is its API.
#![allow(clippy::result_large_err)]

use figment::Jail;

use super::super::{EXAMPLE, Settings};

#[test]
fn the_example_loads_back_as_the_defaults() {
    Jail::expect_with(|jail| {
        jail.clear_env();
        jail.create_file("warden.toml", EXAMPLE)?;
        let loaded = Settings::load().expect("the example loads");
        assert_eq!(
            loaded.to_redacted_toml().unwrap(),
            Settings::default().to_redacted_toml().unwrap()
        );
        Ok(())
    });
}

#[test]
fn the_example_names_every_setting_of_the_schema() {
    let keys = Settings::schema_keys();
    assert!(keys.len() > 40, "{keys:?}");
    assert!(
        keys.iter().any(|k| k == "metrics.bind"),
        "optional keys too: {keys:?}"
    );
    let example: toml::Value = toml::from_str(EXAMPLE).unwrap();
    for key in keys {
        let mut written = &example;
        if key.split('.').all(|part| match written.get(part) {
            Some(inner) => {
                written = inner;
                true
            }
            None => false,
        }) {
            continue;
        }
        // An optional setting is shown commented out, under its section.
        let (section, leaf) = key.rsplit_once('.').unwrap_or(("", &key));
        let section_text = EXAMPLE
            .split(&format!("[{section}]\n"))
            .nth(1)
            .and_then(|rest| rest.split("\n[").next())
            .unwrap_or_default();
        assert!(
            section_text.contains(&format!("# {leaf} = ")),
            "warden config example lacks {key}"
        );
    }
}
