//! The application: routes, docs switch and edge, bound to a listener and ready to run.

use std::sync::Arc;

use std::time::Duration;

use poem::{Endpoint, EndpointExt, Route};
use poem_openapi::OpenApiService;
use warden_adapters::{Profile, Services, Settings, StartupError};
use warden_domain::auth::AuthService;

use crate::body::BodyLimits;
use crate::connection::ConnectionTimeouts;
use crate::cors::CorsPolicy;
use crate::middleware::{EdgeConfig, edge};
use crate::routes;
use crate::serve::{ServeLimits, Stopping, serve};
use crate::state::AppState;

/// How long requests in flight may take to finish once the server is told to stop.
const GRACE: Duration = Duration::from_secs(10);

/// What a request may spend beyond one pool wait and one statement: more statements, and a
/// turn on the hashing threads.
const WORK_ALLOWANCE: Duration = Duration::from_secs(3);

/// The longest a handler may work: `database.acquire_timeout_ms` plus
/// `database.statement_timeout_ms` plus [`WORK_ALLOWANCE`].
fn work_deadline(settings: &Settings) -> Duration {
    let db = settings.database_timeouts();
    db.acquire + db.statement + WORK_ALLOWANCE
}

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
    if state.settings.docs_enabled() {
        route = route
            .nest("/docs", api.swagger_ui())
            .at("/openapi.json", crate::document::endpoint(&api.spec()));
    }
    let route = route.nest("/", api);
    let config = Arc::new(EdgeConfig {
        body: BodyLimits {
            max_bytes: state.settings.server.max_body_bytes,
            timeout: Duration::from_secs(state.settings.server.body_timeout_seconds),
        },
        stopping,
        hsts: state.settings.profile == Profile::Production,
        trusted_proxies: state.settings.server.trusted_proxies.clone(),
        cors: CorsPolicy::new(
            &state.settings.cors.allowed_origins,
            &state.settings.cors.allowed_methods,
            &state.settings.cors.allowed_headers,
            state.settings.cors.allow_credentials,
        ),
        rate_limits: state.services.rate_limits.clone(),
        work_deadline: work_deadline(&state.settings),
    });
    route
        .around(move |ep, req| edge(ep, req, config.clone()))
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

/// A bound, ready server.
pub struct Application {
    listener: tokio::net::TcpListener,
    port: u16,
    state: Arc<AppState>,
}

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application")
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

impl Application {
    /// Builds the services and binds `server.bind` (port 0 picks a free port).
    ///
    /// # Errors
    /// A [`StartupError`] naming the setting at fault.
    pub async fn build(settings: Settings) -> Result<Self, StartupError> {
        let services = Services::build(&settings).await?;
        let state = AppState::new(services, settings)
            .map_err(|e| StartupError::Other(format!("jwks: {e}")))?;
        let bind = state.settings.server.bind;
        let listener = tokio::net::TcpListener::bind(bind).await.map_err(|e| {
            StartupError::Other(format!("server.bind: cannot listen on {bind}: {e}"))
        })?;
        let port = listener.local_addr().map_or(bind.port(), |a| a.port());
        Ok(Self {
            listener,
            port,
            state: Arc::new(state),
        })
    }

    /// The services it runs on (tests use them to arrange state).
    pub fn services(&self) -> Services {
        self.state.services.clone()
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until Ctrl-C or SIGTERM, then lets requests in flight finish.
    ///
    /// # Errors
    /// When the server fails.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.run_until(shutdown_signal()).await
    }

    /// Serves until `stop` resolves. Then it stops accepting, closes idle connections and
    /// those still sending a request (a body still arriving is answered 503), and lets
    /// requests in flight finish for at most ten seconds.
    ///
    /// # Errors
    /// When the server fails.
    pub async fn run_until(self, stop: impl Future<Output = ()>) -> std::io::Result<()> {
        let auth = self.state.services.auth.clone();
        let purging = tokio::spawn(every(PURGE_EVERY, move || {
            let auth = auth.clone();
            async move {
                purge_refresh_tokens(&auth).await;
                purge_lockouts(&auth).await;
            }
        }));
        let limits = self.state.services.rate_limits.clone();
        // The memory limiters keep one entry per client IP: drop those whose budget is whole.
        let forgetting = tokio::spawn(every(FORGET_EVERY, move || {
            limits.forget_idle_clients();
            std::future::ready(())
        }));
        let server = &self.state.settings.server;
        let limits = ServeLimits {
            max_connections: server.max_connections,
            timeouts: ConnectionTimeouts {
                header: Duration::from_secs(server.header_timeout_seconds),
                keep_alive: Duration::from_secs(server.keep_alive_timeout_seconds),
            },
            grace: GRACE,
        };
        let (stopper, stopping) = Stopping::channel();
        let served = serve(
            self.listener,
            endpoint_stopping(self.state, stopping),
            limits,
            stop,
            stopper,
        )
        .await;
        purging.abort();
        forgetting.abort();
        served
    }
}

/// How often dead refresh tokens are purged (also once at start).
const PURGE_EVERY: Duration = Duration::from_hours(1);
/// How often the in-memory rate-limit state forgets clients whose budget is whole again.
const FORGET_EVERY: Duration = Duration::from_mins(1);

/// Housekeeping: runs `job` at once and then every `period`, until the task is aborted.
async fn every<F, Fut>(period: Duration, mut job: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()>,
{
    let mut ticks = tokio::time::interval(period);
    loop {
        ticks.tick().await;
        job().await;
    }
}

/// Deletes refresh tokens that can never be used again, so the table does not grow without
/// bound. A failure is logged and retried at the next tick.
async fn purge_refresh_tokens(auth: &AuthService) {
    match auth.purge_refresh_tokens().await {
        Ok(0) => {}
        Ok(purged) => tracing::info!(purged, "purged dead refresh tokens"),
        Err(e) => tracing::warn!(error = %e.with_causes(), "could not purge refresh tokens"),
    }
}

/// Deletes lockout counts that protect no user (unknown usernames, deleted users) and hold no
/// lock, so that guessing random usernames cannot grow the table without bound. A failure is
/// logged and retried at the next tick.
async fn purge_lockouts(auth: &AuthService) {
    match auth.purge_lockouts().await {
        Ok(0) => {}
        Ok(purged) => tracing::info!(purged, "purged lockout counts of no user"),
        Err(e) => tracing::warn!(error = %e.with_causes(), "could not purge lockout counts"),
    }
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let Ok(mut term) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        else {
            let _ = ctrl_c.await;
            return;
        };
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
