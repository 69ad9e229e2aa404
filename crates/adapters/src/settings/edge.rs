//! The HTTP edge's settings as the file gives them: the CORS request headers' default and the
//! docs switch. Their rules are the API's own (`warden_api::config`), checked where the
//! composition root builds the API's configuration, and by `warden config check`.

use super::{Profile, Settings};

/// The request headers a preflight may ask for by default: enough for a browser app, and for
/// another app's Swagger UI signing in through the token endpoint (it sends `X-Requested-With`).
pub(super) const DEFAULT_CORS_HEADERS: [&str; 4] = [
    "Authorization",
    "Content-Type",
    "X-API-Key",
    "X-Requested-With",
];

impl Settings {
    /// Whether Swagger UI and the OpenAPI document are served.
    pub fn docs_enabled(&self) -> bool {
        self.docs
            .enabled
            .unwrap_or(self.profile == Profile::Development)
    }
}
