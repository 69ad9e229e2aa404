//! The application: the routes, the docs switch and the edge around them, and the server loop
//! that runs them on a listener until told to stop.

use std::sync::Arc;
use std::time::Duration;

use poem::{Endpoint, EndpointExt, Route};
use poem_openapi::OpenApiService;
use tokio::net::TcpListener;

use crate::cors::CorsPolicy;
use crate::middleware::{EdgeConfig, edge};
use crate::routes;
use crate::serve::{ServeLimits, Stopping, serve};
use crate::state::AppState;

/// How long requests in flight may take to finish once the server is told to stop.
const GRACE: Duration = Duration::from_secs(10);

/// The endpoint tree for built services: the API, the docs when enabled, and the edge.
pub fn endpoint(state: Arc<AppState>) -> impl Endpoint + use<> {
    endpoint_stopping(state, Stopping::never())
}

/// [`endpoint`], with bodies still arriving cut short once `stopping` says so.
fn endpoint_stopping(state: Arc<AppState>, stopping: Stopping) -> impl Endpoint + use<> {
    let api = OpenApiService::new(routes::api(), "Warden", env!("CARGO_PKG_VERSION")).description(
        "Authentication and authorization: accounts, OAuth 2.0 tokens, roles and API keys.",
    );
    let mut route = Route::new();
    if state.config.docs {
        route = route
            .nest("/docs", api.swagger_ui())
            .at("/openapi.json", crate::document::endpoint(&api.spec()));
    }
    let route = route
        .nest("/account", crate::pages::routes())
        .nest("/", api);
    let config = &state.config;
    let cors = &config.cors;
    let edge_config = Arc::new(EdgeConfig {
        body: config.body_limits(),
        stopping,
        hsts: config.production,
        trusted_proxies: config.server.trusted_proxies.clone(),
        cors: CorsPolicy::new(
            &cors.allowed_origins,
            &cors.allowed_methods,
            &cors.allowed_headers,
            cors.allow_credentials,
        ),
        rate_limits: state.rate_limits.clone(),
        work_deadline: config.work_deadline,
        metrics: state.metrics.clone(),
    });
    route
        .around(move |ep, req| edge(ep, req, edge_config.clone()))
        .data(state)
}

/// The OpenAPI document (for `cargo xtask openapi` and tests).
pub fn openapi_json() -> String {
    crate::document::complete(&openapi_json_raw())
}

/// The document as poem-openapi makes it.
pub(crate) fn openapi_json_raw() -> String {
    OpenApiService::new(routes::api(), "Warden", env!("CARGO_PKG_VERSION")).spec()
}

/// Serves the application on `listener` until `stop` resolves. Then it stops accepting, closes
/// idle connections and those still sending a request (a body still arriving is answered 503),
/// and lets requests in flight finish for at most ten seconds.
///
/// # Errors
/// When the server fails.
pub async fn run(
    listener: TcpListener,
    state: Arc<AppState>,
    stop: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let limits = ServeLimits {
        max_connections: state.config.server.max_connections,
        timeouts: state.config.connection_timeouts(),
        grace: GRACE,
    };
    let (stopper, stopping) = Stopping::channel();
    serve(
        listener,
        endpoint_stopping(state, stopping),
        limits,
        stop,
        stopper,
    )
    .await
}

/// Serves `GET /metrics` on its own listener, with the same connection limits as the API, until
/// `stop` resolves.
///
/// # Errors
/// When the server fails.
pub async fn run_metrics(
    listener: TcpListener,
    metrics: Arc<crate::metrics::Metrics>,
    config: &crate::config::ApiConfig,
    stop: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let limits = ServeLimits {
        max_connections: config.server.max_connections,
        timeouts: config.connection_timeouts(),
        grace: GRACE,
    };
    let (stopper, _) = Stopping::channel();
    serve(
        listener,
        crate::metrics::endpoint(metrics),
        limits,
        stop,
        stopper,
    )
    .await
}
