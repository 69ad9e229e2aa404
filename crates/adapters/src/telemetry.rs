//! Logging for the server: `RUST_LOG` filters (default [`DEFAULT_FILTER`]), output on stderr as
//! text (colours only for a terminal and never under `NO_COLOR`) or as JSON lines.

use std::ffi::OsStr;
use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::settings::LogFormat;

/// What is logged when `RUST_LOG` is unset: `info`, but PostgreSQL's notices (each start's
/// "relation … already exists, skipping" from the migrations) only from `warn` up.
pub const DEFAULT_FILTER: &str = "info,sqlx::postgres::notice=warn";

/// Installs the global subscriber once, writing `format` (`log.format`); later calls do
/// nothing.
pub fn init(format: LogFormat) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // A log line that cannot be written (stderr closed) is dropped. By default the
        // subscriber reports that with `eprintln!`, which panics on the same closed stderr,
        // inside the request being logged: every request would then be dropped unanswered.
        .log_internal_errors(false)
        .with_target(true);
    let _ = match format {
        LogFormat::Text => builder.with_ansi(stderr_wants_colour()).try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .try_init(),
    };
}

/// Whether log lines on stderr may carry ANSI colours: only when stderr is a terminal and
/// `NO_COLOR` is unset or empty (no-color.org). A file, a pipe or a log collector gets plain
/// text.
pub fn stderr_wants_colour() -> bool {
    wants_colour(
        std::io::stderr().is_terminal(),
        std::env::var_os("NO_COLOR").as_deref(),
    )
}

/// The rule of [`stderr_wants_colour`], given what it reads.
pub fn wants_colour(is_terminal: bool, no_color: Option<&OsStr>) -> bool {
    is_terminal && no_color.is_none_or(OsStr::is_empty)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_only_for_a_terminal_without_no_color() {
        assert!(wants_colour(true, None));
        assert!(wants_colour(true, Some(OsStr::new(""))));
        assert!(!wants_colour(true, Some(OsStr::new("1"))));
        assert!(!wants_colour(true, Some(OsStr::new("false"))));
        assert!(!wants_colour(false, None));
        assert!(!wants_colour(false, Some(OsStr::new(""))));
    }
}
