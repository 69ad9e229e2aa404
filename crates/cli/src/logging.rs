//! Logging for the admin tool: quiet unless `RUST_LOG` asks, output on stderr, colours only
//! for a terminal and never under `NO_COLOR`.
//!
//! The server's `warden_adapters::telemetry::init` defaults to `info`, and building the use
//! cases warns when no JWT key is set, which matters to a server but not to this tool. A failure
//! must be exactly one line on stderr, so logs stay off unless `RUST_LOG` turns them on.

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber: `RUST_LOG` if set, else nothing.
pub(crate) fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("off"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .log_internal_errors(false)
        .with_ansi(warden_adapters::telemetry::stderr_wants_colour())
        .with_target(true)
        .try_init();
}
