//! `warden-api`: loads the configuration, builds the application (the composition root in
//! this package's library) and serves it. `--help` and `--version` print and exit.

use std::process::ExitCode;

use clap::Parser;
use warden_adapters::{Settings, telemetry};
use warden_server::Application;

/// Warden's HTTP server. It reads `$WARDEN_CONFIG` (else `./warden.toml`, if present) and then
/// the `WARDEN_*` variables (`WARDEN_JWT__ISSUER` is `jwt.issuer`); `warden config check`
/// prints the effective configuration. It serves until Ctrl-C or SIGTERM.
#[derive(Debug, Parser)]
#[command(name = "warden-api", version)]
struct Args {}

#[tokio::main]
async fn main() -> ExitCode {
    Args::parse();
    let app = match Settings::load() {
        Ok(settings) => {
            telemetry::init(settings.log.format);
            Application::build(settings)
                .await
                .map_err(|e| e.to_string())
        }
        Err(e) => Err(e.to_string()),
    };
    let app = match app {
        Ok(app) => app,
        Err(reason) => {
            eprintln!("warden-api: {reason}");
            return ExitCode::FAILURE;
        }
    };
    let started = app.summary();
    tracing::info!(
        url = %started.url,
        profile = started.profile,
        database = %started.database,
        docs = started.docs.as_deref().unwrap_or("off"),
        rate_limits = started.rate_limits,
        "warden-api listening"
    );
    match app.run_until_stopped().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("warden-api: {e}");
            ExitCode::FAILURE
        }
    }
}
