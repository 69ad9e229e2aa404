//! The `Allow` header of a 405 (RFC 9110 §15.5.6): the methods the document lists for the
//! requested path, read once from the API's own operations; and the names of a path's
//! parameters, which poem-openapi's errors number instead of naming.

use std::sync::LazyLock;

use poem::http::HeaderValue;
use poem_openapi::OpenApi;

use crate::routes;

/// One path of the document, split at `/`, and the `Allow` value of its methods.
struct AllowedPath {
    /// The path as the document writes it (`/admin/users/{id}`).
    template: String,
    segments: Vec<Segment>,
    allow: HeaderValue,
}

enum Segment {
    Literal(String),
    /// `{name}`: any one non-empty segment.
    Parameter(String),
}

static TABLE: LazyLock<Vec<AllowedPath>> = LazyLock::new(|| {
    let apis = <routes::Api as OpenApi>::meta();
    let mut table: Vec<(String, Vec<String>)> = Vec::new();
    for path in apis.iter().flat_map(|api| &api.paths) {
        let methods = path.operations.iter().map(|op| op.method.to_string());
        match table.iter_mut().find(|(p, _)| *p == path.path) {
            Some((_, known)) => known.extend(methods),
            None => table.push((path.path.clone(), methods.collect())),
        }
    }
    table
        .into_iter()
        .map(|(path, mut methods)| {
            // poem answers HEAD wherever it answers GET.
            if methods.iter().any(|m| m == "GET") {
                methods.push("HEAD".to_owned());
            }
            methods.sort();
            methods.dedup();
            AllowedPath {
                segments: split(&path),
                template: path,
                allow: HeaderValue::from_str(&methods.join(", "))
                    .unwrap_or_else(|_| HeaderValue::from_static("")),
            }
        })
        .collect()
});

fn split(path: &str) -> Vec<Segment> {
    path.split('/')
        .map(|s| {
            if let Some(name) = s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Segment::Parameter(name.to_owned())
            } else {
                Segment::Literal(s.to_owned())
            }
        })
        .collect()
}

/// The document's path a request path is, as the router picks it: where a literal segment and
/// a parameter both match (`/admin/users/import` and `/admin/users/{id}`), the literal one.
fn find(path: &str) -> Option<&'static AllowedPath> {
    let wanted: Vec<&str> = path.split('/').collect();
    TABLE
        .iter()
        .filter(|p| {
            p.segments.len() == wanted.len()
                && p.segments.iter().zip(&wanted).all(|(s, w)| match s {
                    Segment::Literal(l) => l == w,
                    Segment::Parameter(_) => !w.is_empty(),
                })
        })
        .max_by_key(|p| {
            p.segments
                .iter()
                .filter(|s| matches!(s, Segment::Literal(_)))
                .count()
        })
}

/// The document's template of a request path (`/admin/users/{id}`), or `other` for a path the
/// API does not have: a bounded label for metrics.
pub fn route_template(path: &str) -> &'static str {
    find(path).map_or("other", |p| p.template.as_str())
}

/// The `Allow` value for a request path, or `None` for a path the API does not have.
pub fn allow_for(path: &str) -> Option<HeaderValue> {
    find(path).map(|p| p.allow.clone())
}

/// The document's name of the path parameter poem-openapi calls `param<index>` in its errors.
pub fn path_parameter(path: &str, numbered: &str) -> Option<&'static str> {
    let index: usize = numbered.strip_prefix("param")?.parse().ok()?;
    find(path)?
        .segments
        .iter()
        .filter_map(|s| match s {
            Segment::Parameter(name) => Some(name.as_str()),
            Segment::Literal(_) => None,
        })
        .nth(index)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_path_gets_exactly_its_documented_methods() {
        let allow = |p: &str| allow_for(p).map(|v| v.to_str().unwrap().to_owned());
        assert_eq!(allow("/auth/token").as_deref(), Some("POST"));
        assert_eq!(allow("/users/me").as_deref(), Some("GET, HEAD"));
        assert_eq!(allow("/admin/users").as_deref(), Some("GET, HEAD, POST"));
        assert_eq!(
            allow("/admin/users/0190a0f0-0000-7000-8000-000000000000").as_deref(),
            Some("DELETE, GET, HEAD, PATCH")
        );
        assert_eq!(allow("/admin/users/x/unlock").as_deref(), Some("POST"));
        // A literal segment is its own path, as the router takes it, whatever its order.
        assert_eq!(allow("/admin/users/import").as_deref(), Some("POST"));
        assert_eq!(route_template("/admin/users/import"), "/admin/users/import");
        assert_eq!(route_template("/admin/users/imports"), "/admin/users/{id}");
        assert_eq!(allow("/no/such/path"), None);
        assert_eq!(allow("/admin/users//unlock"), None);
        assert_eq!(
            path_parameter("/admin/users/x/unlock", "param0"),
            Some("id")
        );
        assert_eq!(path_parameter("/admin/users/x/unlock", "param1"), None);
        assert_eq!(path_parameter("/users/me", "param0"), None);
    }
}
