//! House rules checked by `cargo test`: the domain's dependency graph stays free of I/O crates,
//! the API library's reaches no driven adapter (docs/ARCHITECTURE.md), and every Rust file says
//! what it is for.

use std::path::Path;

use crate::{cargo, workspace_root};

/// Crates the domain must never reach, directly or through another crate.
const FORBIDDEN_IN_DOMAIN: &[&str] = &[
    "poem",
    "poem-openapi",
    "sea-orm",
    "sea-orm-migration",
    "sqlx",
    "jsonwebtoken",
    "argon2",
    "figment",
    "tokio",
    "async-std",
    "smol",
    "redis",
    "reqwest",
    "hyper",
    "tracing-subscriber",
];

/// Crates the API library must never reach: the driven adapters and what they are made of.
/// Only the composition root (`warden-server`) knows them.
const FORBIDDEN_IN_API: &[&str] = &[
    "warden-adapters",
    "warden-server",
    "sea-orm",
    "sea-orm-migration",
    "sqlx",
    "rusqlite",
    "figment",
    "redis",
    "argon2",
    "jsonwebtoken",
    "governor",
];

fn normal_dependencies(package: &str) -> Vec<String> {
    let out = cargo()
        .args([
            "tree", "--quiet", "-p", package, "-e", "normal", "--prefix", "none", "--format", "{p}",
        ])
        .current_dir(workspace_root())
        .output()
        .expect("cargo tree runs");
    assert!(
        out.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .collect()
}

#[test]
fn the_domain_depends_on_no_framework_driver_or_runtime() {
    let deps = normal_dependencies("warden-domain");
    assert!(
        deps.iter().any(|d| d == "warden-domain"),
        "cargo tree listed the domain: {deps:?}"
    );
    let bad = reached(&deps, FORBIDDEN_IN_DOMAIN);
    assert!(
        bad.is_empty(),
        "crates/domain reaches {bad:?}; see docs/ARCHITECTURE.md"
    );
}

/// The crates of `deps` that `forbidden` names.
fn reached<'a>(deps: &'a [String], forbidden: &[&str]) -> Vec<&'a String> {
    deps.iter()
        .filter(|d| forbidden.contains(&d.as_str()))
        .collect()
}

#[test]
fn the_api_library_reaches_no_adapter() {
    let deps = normal_dependencies("warden-api");
    assert!(
        deps.iter().any(|d| d == "warden-domain") && deps.iter().any(|d| d == "poem"),
        "cargo tree listed the API's graph: {deps:?}"
    );
    let bad = reached(&deps, FORBIDDEN_IN_API);
    assert!(
        bad.is_empty(),
        "crates/api reaches {bad:?}; only warden-server may know the adapters (docs/ARCHITECTURE.md)"
    );
}

#[test]
fn the_tidy_check_would_catch_a_forbidden_crate() {
    // The composition root does depend on all of them: the checks see them there.
    let deps = normal_dependencies("warden-server");
    assert!(!reached(&deps, FORBIDDEN_IN_API).is_empty());
    assert!(!reached(&deps, FORBIDDEN_IN_DOMAIN).is_empty());
    for expected in [
        "poem",
        "tokio",
        "sea-orm",
        "jsonwebtoken",
        "argon2",
        "figment",
    ] {
        assert!(
            deps.iter().any(|d| d == expected),
            "{expected} not seen in {deps:?}"
        );
    }
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n != "target") {
                rust_files(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn every_rust_file_opens_with_a_doc_line() {
    let root = workspace_root();
    let mut files = Vec::new();
    for dir in ["crates", "xtask", "tests"] {
        rust_files(&root.join(dir), &mut files);
    }
    assert!(files.len() > 20, "found the sources");
    let missing: Vec<_> = files
        .iter()
        .filter(|f| !std::fs::read_to_string(f).unwrap().starts_with("//!"))
        .collect();
    assert!(missing.is_empty(), "files without a //! line: {missing:?}");
}
