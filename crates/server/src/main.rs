//! `warden-api`: loads the configuration, builds the application (the composition root in
//! this package's library) and serves it.

use std::process::ExitCode;

use warden_adapters::{Settings, telemetry};
use warden_server::Application;

#[tokio::main]
async fn main() -> ExitCode {
    telemetry::init();
    let app = match Settings::load() {
        Ok(settings) => Application::build(settings)
            .await
            .map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    let app = match app {
        Ok(app) => app,
        Err(reason) => {
            eprintln!("warden-api: {reason}");
            return ExitCode::FAILURE;
        }
    };
    tracing::info!(port = app.port(), "warden-api listening");
    match app.run_until_stopped().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("warden-api: {e}");
            ExitCode::FAILURE
        }
    }
}
