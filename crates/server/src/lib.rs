//! The composition root: reads the settings through the adapters, builds the adapters, hands
//! the ports to the use cases and the API's configuration to the API, binds the listener, and
//! runs the housekeeping beside the server. The `warden-api` binary is this and nothing more;
//! the end-to-end tests start the same [`Application`].

// Library code never panics on a value it did not expect: it returns an error (tests may).
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod housekeeping;
mod mailer;
mod summary;

pub use summary::Summary;

use std::sync::Arc;
use std::time::Duration;

use warden_adapters::{Profile, Services, Settings, StartupError};
use warden_api::config::{ApiConfig, CorsConfig, ServerConfig};
use warden_api::metrics::Metrics;
use warden_api::{AppState, UseCases};

/// What a request may spend beyond one pool wait and one statement: more statements, and a
/// turn on the hashing threads.
const WORK_ALLOWANCE: Duration = Duration::from_secs(3);

/// The API's configuration, read from the settings: `server.*`, `cors.*`, `docs.*`,
/// `api_keys.allow_query_param`, and a work deadline of `database.acquire_timeout_ms` plus
/// `database.statement_timeout_ms` plus [`WORK_ALLOWANCE`].
pub fn api_config(settings: &Settings) -> ApiConfig {
    let server = &settings.server;
    let cors = &settings.cors;
    let db = settings.database_timeouts();
    ApiConfig {
        production: settings.profile == Profile::Production,
        docs: settings.docs_enabled(),
        api_keys_in_query: settings.api_keys.allow_query_param,
        server: ServerConfig {
            trusted_proxies: server.trusted_proxies.clone(),
            max_body_bytes: server.max_body_bytes,
            body_timeout_seconds: server.body_timeout_seconds,
            header_timeout_seconds: server.header_timeout_seconds,
            keep_alive_timeout_seconds: server.keep_alive_timeout_seconds,
            max_connections: server.max_connections,
        },
        cors: CorsConfig {
            allowed_origins: cors.allowed_origins.clone(),
            allow_credentials: cors.allow_credentials,
            allowed_methods: cors.allowed_methods.clone(),
            allowed_headers: cors.allowed_headers.clone(),
        },
        work_deadline: db.acquire + db.statement + WORK_ALLOWANCE,
    }
}

/// Why the application cannot start; each message names the setting at fault.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The adapters' settings, the database, the keys or the use cases.
    #[error(transparent)]
    Startup(#[from] StartupError),
    /// The API's own settings.
    #[error(transparent)]
    Api(#[from] warden_api::state::StateError),
    /// The listen address.
    #[error("{key}: cannot listen on {bind}: {source}")]
    Bind {
        /// The setting: `server.bind` or `metrics.bind`.
        key: &'static str,
        /// The address asked for.
        bind: std::net::SocketAddr,
        /// Why it could not be bound.
        source: std::io::Error,
    },
}

/// A bound, ready server.
pub struct Application {
    listener: tokio::net::TcpListener,
    port: u16,
    state: Arc<AppState>,
    services: Services,
    summary: Summary,
    metrics: Option<Exporter>,
}

/// The metrics listener and what it serves.
struct Exporter {
    listener: tokio::net::TcpListener,
    metrics: Arc<Metrics>,
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
    /// A [`BuildError`] naming the setting at fault.
    pub async fn build(mut settings: Settings) -> Result<Self, BuildError> {
        settings.validate().map_err(StartupError::from)?;
        let config = api_config(&settings);
        // The API's settings are checked, and the port taken, before anything is opened: a
        // port in use must not leave a new database file behind.
        config
            .validate()
            .map_err(warden_api::state::StateError::from)?;
        let bind = settings.server.bind;
        let listener = tokio::net::TcpListener::bind(bind)
            .await
            .map_err(|source| BuildError::Bind {
                key: "server.bind",
                bind,
                source,
            })?;
        let port = listener.local_addr().map_or(bind.port(), |a| a.port());
        if settings.server.public_url.is_none() && settings.profile == Profile::Development {
            // Links name the port taken, which `server.bind` may leave to the system (port 0);
            // production names its public URL itself whenever mail is on.
            let host = std::net::SocketAddr::new(bind.ip(), port);
            settings.server.public_url = Some(format!("http://{host}"));
        }
        let metrics =
            match settings.metrics.bind {
                Some(bind) => Some(tokio::net::TcpListener::bind(bind).await.map_err(
                    |source| BuildError::Bind {
                        key: "metrics.bind",
                        bind,
                        source,
                    },
                )?),
                None => None,
            };
        let summary = Summary::of(&settings, port);
        let services = Services::build(&settings).await?;
        let metrics = metrics.map(|listener| {
            let mut metrics = Metrics::new();
            services.metrics.register(metrics.registry_mut());
            Exporter {
                listener,
                metrics: Arc::new(metrics),
            }
        });
        let use_cases = UseCases {
            auth: services.auth.clone(),
            accounts: services.accounts.clone(),
            mfa: services.mfa.clone(),
            recovery: services.recovery.clone(),
            admin: services.admin.clone(),
            keys: services.keys.clone(),
            clients: services.clients.clone(),
            readiness: services.readiness.clone(),
        };
        let state = AppState::new(
            use_cases,
            services.rate_limits.clone(),
            config,
            &services.jwks_json,
        )?;
        let state = match &metrics {
            Some(exporter) => state.with_metrics(exporter.metrics.clone()),
            None => state,
        };
        Ok(Self {
            listener,
            port,
            state: Arc::new(state),
            services,
            summary,
            metrics,
        })
    }

    /// The services it runs on (tests use them to arrange state).
    pub fn services(&self) -> Services {
        self.services.clone()
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The port of the metrics listener, when `metrics.bind` is set.
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics
            .as_ref()
            .and_then(|m| m.listener.local_addr().ok())
            .map(|a| a.port())
    }

    /// What the start-up line says.
    pub fn summary(&self) -> &Summary {
        &self.summary
    }

    /// Serves until Ctrl-C or SIGTERM, then lets requests in flight finish.
    ///
    /// # Errors
    /// When the server fails.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.run_until(shutdown_signal()).await
    }

    /// Serves until `stop` resolves (see [`warden_api::run`]), with the housekeeping running
    /// beside it.
    ///
    /// # Errors
    /// When the server fails.
    pub async fn run_until(self, stop: impl Future<Output = ()>) -> std::io::Result<()> {
        let chores = housekeeping::start(&self.services);
        let exporting = self.metrics.map(|exporter| {
            let config = self.state.config.clone();
            tokio::spawn(async move {
                let stop = std::future::pending::<()>();
                if let Err(e) =
                    warden_api::run_metrics(exporter.listener, exporter.metrics, &config, stop)
                        .await
                {
                    tracing::warn!(error = %e, "the metrics listener stopped");
                }
            })
        });
        let served = warden_api::run(self.listener, self.state, stop).await;
        chores.stop();
        if let Some(exporting) = exporting {
            exporting.abort();
        }
        served
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
