//! What every handler shares: the domain's use cases, the ports the edge asks, and the API's
//! own configuration. Nothing here knows which adapters stand behind the ports.

use std::sync::Arc;

use warden_domain::account::AccountService;
use warden_domain::admin::AdminService;
use warden_domain::api_key::ApiKeyService;
use warden_domain::auth::AuthService;
use warden_domain::ports::Readiness;
use warden_domain::rate_limit::RateLimiter;
use warden_domain::recovery::RecoveryService;

use crate::config::ApiConfig;

/// The use cases the handlers call, and the probe `/health/ready` asks.
#[derive(Debug, Clone)]
pub struct UseCases {
    /// Sessions: log in, refresh, authenticate, introspect, log out.
    pub auth: Arc<AuthService>,
    /// The account's own operations: register, change the password.
    pub accounts: AccountService,
    /// The second factor: enrol, confirm, replace recovery codes, disable.
    pub mfa: warden_domain::mfa::MfaService,
    /// The flows by mail: verify, reset, change the address.
    pub recovery: RecoveryService,
    /// User administration.
    pub admin: AdminService,
    /// API keys.
    pub keys: ApiKeyService,
    /// OAuth clients: the registry, their authentication and their own grant.
    pub clients: warden_domain::clients::ClientService,
    /// Whether storage (and a shared store, when configured) answer.
    pub readiness: Arc<dyn Readiness>,
}

/// The state put on every route.
#[derive(Debug)]
pub struct AppState {
    /// The use cases.
    pub services: UseCases,
    /// The budgets the edge spends from.
    pub rate_limits: Arc<dyn RateLimiter>,
    /// The API's configuration, validated.
    pub config: ApiConfig,
    /// The JWKS document, parsed once.
    pub jwks: serde_json::Value,
    /// Where the edge counts requests, when metrics are on.
    pub metrics: Option<Arc<crate::metrics::Metrics>>,
}

/// Why an [`AppState`] could not be made.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// A setting the API reads cannot be used.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// The JWKS handed over is not JSON.
    #[error("jwks: not a JSON document")]
    Jwks(#[source] serde_json::Error),
}

impl AppState {
    /// Validates `config` and parses the JWKS document once.
    ///
    /// # Errors
    /// A [`StateError`] naming the setting at fault.
    pub fn new(
        services: UseCases,
        rate_limits: Arc<dyn RateLimiter>,
        config: ApiConfig,
        jwks_json: &str,
    ) -> Result<Self, StateError> {
        config.validate()?;
        let jwks = serde_json::from_str(jwks_json).map_err(StateError::Jwks)?;
        Ok(Self {
            services,
            rate_limits,
            config,
            jwks,
            metrics: None,
        })
    }

    /// The same state, counting requests in `metrics`.
    #[must_use]
    pub fn with_metrics(mut self, metrics: Arc<crate::metrics::Metrics>) -> Self {
        self.metrics = Some(metrics);
        self
    }
}
