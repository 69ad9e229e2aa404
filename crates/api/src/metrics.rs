//! Prometheus metrics of the edge, served on their own listener (`metrics.bind`): requests by
//! route template, method and status, their latency by route, rate-limit refusals by group, and
//! the build. Routes are the document's templates (`/admin/users/{id}`), never raw paths, so
//! the number of series is bounded whatever clients send.

use std::sync::Arc;
use std::time::Duration;

use poem::http::Method;
use poem::{Endpoint, EndpointExt, IntoResponse, Response, Route, get, handler};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;
use warden_domain::rate_limit::RouteGroup;

/// The content type of the OpenMetrics text format.
const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: &'static str,
    method: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct GroupLabels {
    group: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: &'static str,
}

/// The registry and the metrics the edge records.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram>,
    refusals: Family<GroupLabels, Counter>,
}

/// Latency buckets: 0.25 ms doubling to about 4 s.
fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.000_25, 2.0, 15))
}

impl Metrics {
    /// A registry with every metric registered, and the build's version as `warden_build_info`.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("warden");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "Requests answered, by route template, method and status",
            requests.clone(),
        );
        let latency =
            Family::<RouteLabels, Histogram>::new_with_constructor(latency_histogram as fn() -> _);
        registry.register(
            "http_request_duration_seconds",
            "Time from the request's arrival to its answer, by route template",
            latency.clone(),
        );
        let refusals = Family::<GroupLabels, Counter>::default();
        registry.register(
            "rate_limit_refusals",
            "Requests refused with 429, by rate-limit group",
            refusals.clone(),
        );
        registry.register(
            "build",
            "The running build",
            Info::new(BuildLabels {
                version: env!("CARGO_PKG_VERSION"),
            }),
        );
        Self {
            registry,
            requests,
            latency,
            refusals,
        }
    }

    /// The registry, for the metrics of the layers below the edge.
    pub fn registry_mut(&mut self) -> &mut Registry {
        &mut self.registry
    }

    /// Records one answered request.
    pub(crate) fn observe(
        &self,
        route: &'static str,
        method: &Method,
        status: u16,
        took: Duration,
    ) {
        let method = method_label(method);
        self.requests
            .get_or_create(&RequestLabels {
                route,
                method,
                status,
            })
            .inc();
        self.latency
            .get_or_create(&RouteLabels { route })
            .observe(took.as_secs_f64());
    }

    /// Records one request refused by a rate limit.
    pub(crate) fn refused(&self, group: RouteGroup) {
        self.refusals
            .get_or_create(&GroupLabels {
                group: group.name(),
            })
            .inc();
    }

    /// Every metric in the OpenMetrics text format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// A bounded label for a method: the standard ones by name, anything else `other`.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

#[handler]
fn scrape(poem::web::Data(metrics): poem::web::Data<&Arc<Metrics>>) -> Response {
    metrics
        .render()
        .with_content_type(CONTENT_TYPE)
        .into_response()
}

/// The metrics listener's endpoint: `GET /metrics`.
pub fn endpoint(metrics: Arc<Metrics>) -> impl Endpoint + use<> {
    Route::new().at("/metrics", get(scrape)).data(metrics)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn observations_become_series_of_the_template_method_and_status() {
        let metrics = Metrics::new();
        metrics.observe("/users/me", &Method::GET, 200, Duration::from_millis(2));
        metrics.observe("/users/me", &Method::GET, 200, Duration::from_millis(3));
        metrics.observe(
            "other",
            &Method::from_bytes(b"BREW").unwrap(),
            405,
            Duration::ZERO,
        );
        metrics.refused(RouteGroup::Login);
        let text = metrics.render();
        assert!(
            text.contains(
                "warden_http_requests_total{route=\"/users/me\",method=\"GET\",status=\"200\"} 2"
            ),
            "{text}"
        );
        assert!(
            text.contains("method=\"other\",status=\"405\"} 1"),
            "{text}"
        );
        assert!(text.contains("warden_http_request_duration_seconds_count{route=\"/users/me\"} 2"));
        assert!(text.contains("warden_rate_limit_refusals_total{group=\"login\"} 1"));
        assert!(text.contains(&format!(
            "warden_build_info{{version=\"{}\"}} 1",
            env!("CARGO_PKG_VERSION")
        )));
        assert!(text.ends_with("# EOF\n"), "{text}");
    }
}
