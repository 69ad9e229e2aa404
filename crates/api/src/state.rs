//! What every handler shares.

use warden_adapters::{Services, Settings};

/// The ready services and the settings they were built from.
#[derive(Debug)]
pub struct AppState {
    /// The use cases.
    pub services: Services,
    /// The effective configuration.
    pub settings: Settings,
    /// The JWKS document, parsed once.
    pub jwks: serde_json::Value,
}

impl AppState {
    /// Wraps built services.
    ///
    /// # Errors
    /// If the JWKS the adapters made is not JSON (it always is).
    pub fn new(services: Services, settings: Settings) -> Result<Self, serde_json::Error> {
        let jwks = serde_json::from_str(&services.jwks_json)?;
        Ok(Self {
            services,
            settings,
            jwks,
        })
    }
}
