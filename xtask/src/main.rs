//! Developer automation for Warden: `cargo xtask ci | openapi | bench | outside | faults | load
//! | timing | dist`.
//!
//! A few small crates and no async runtime, so that it builds fast and needs nothing but
//! cargo: ureq is the HTTP client of every task (`client`), serde_json and serde_urlencoded
//! write and read its bodies, getrandom and base64 make each server's JWT secret.

mod bench;
mod ci;
mod client;
mod dist;
mod faults;
mod load;
mod openapi;
mod outside;
mod server;
mod services;
#[cfg(test)]
mod tidy;
mod timing;

use std::env;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

/// The error of every task: a message for the person at the terminal.
pub type Error = String;
/// The result of every task.
pub type Result<T = ()> = std::result::Result<T, Error>;

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  ci        cargo fmt --check, cargo clippy -D warnings and cargo test, stopping at the first failure
  openapi   start the debug server and write GET /openapi.json to docs/openapi.json
  bench     load-test the release server with wrk and compare the results with the targets
            options: --duration SECS (default 10)  --connections N (default 64)
  outside   run clients nobody here wrote against the debug server: authlib's OAuth 2.0
            client and PyJWT, then schemathesis over every operation of /openapi.json
  faults    stop the machine's PostgreSQL, then a Redis of its own, under load, and check
            the 503s, readiness, recovery and that no committed write is lost
  load      two instances on PostgreSQL and Redis: a minute of logins, refreshes and API-key
            calls (zero 5xx, no lost rotation), then a login flood with memory sampled;
            --scale 1,2,4: bearer requests and logins summed over that many release instances
  timing    whether a failed login's time tells which emails exist, on SQLite and PostgreSQL
  dist      the release bundle: stripped binaries, example configuration, systemd unit, docs
            and checksums in target/dist/*.tar.gz, then its checks (sizes, systemd-analyze)
";

fn main() -> ExitCode {
    let mut args = env::args().skip(1);
    let command = args.next();
    let rest: Vec<String> = args.collect();
    let outcome = match command.as_deref() {
        Some("ci") => no_options("ci", &rest).and_then(|()| ci::run()),
        Some("openapi") => no_options("openapi", &rest).and_then(|()| openapi::run()),
        Some("bench") => bench::main(&rest),
        Some("outside") => no_options("outside", &rest).and_then(|()| outside::run()),
        Some("dist") => no_options("dist", &rest).and_then(|()| dist::run()),
        Some("faults") => no_options("faults", &rest).and_then(|()| faults::run()),
        Some("load") => load::main(&rest),
        Some("timing") => no_options("timing", &rest).and_then(|()| timing::run()),
        Some("help" | "-h" | "--help") => {
            print!("{USAGE}");
            Ok(())
        }
        Some(other) => Err(format!("unknown command `{other}`\n\n{USAGE}")),
        None => Err(format!("no command given\n\n{USAGE}")),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Refuses arguments given to a command that takes none.
fn no_options(command: &str, rest: &[String]) -> Result {
    match rest.first() {
        None => Ok(()),
        Some(arg) => Err(format!("`{command}` takes no arguments (got `{arg}`)")),
    }
}

/// The workspace root: the parent of this crate's manifest directory.
pub fn workspace_root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .parent()
        .map_or_else(|| manifest_dir.to_path_buf(), Path::to_path_buf)
}

/// The cargo target directory, honouring `CARGO_TARGET_DIR` when it is set.
pub fn target_dir() -> PathBuf {
    let root = workspace_root();
    match env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => root.join(dir),
        _ => root.join("target"),
    }
}

/// A `cargo` command run from the workspace root, using the cargo that started xtask if known.
pub fn cargo() -> Command {
    let program = env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
    let mut command = Command::new(program);
    command.current_dir(workspace_root());
    command
}

/// Renders a command as a shell-like line for progress messages.
pub fn display_command(command: &Command) -> String {
    let program = Path::new(command.get_program())
        .file_name()
        .unwrap_or(command.get_program())
        .to_string_lossy()
        .into_owned();
    let mut line = program;
    for arg in command.get_args() {
        let arg = arg.to_string_lossy();
        let arg = redact_credential(&arg);
        line.push(' ');
        // Quoting keeps an argument with spaces, such as a header, readable as one argument.
        if arg.is_empty() || arg.contains(|c: char| c.is_whitespace() || c == '\'') {
            line.push('\'');
            line.push_str(&arg.replace('\'', r"'\''"));
            line.push('\'');
        } else {
            line.push_str(&arg);
        }
    }
    line
}

/// A header argument with its credential replaced, so that printed commands never show a
/// token or an API key.
fn redact_credential(arg: &str) -> std::borrow::Cow<'_, str> {
    if let Some(at) = arg.find("Bearer ") {
        return format!("{}Bearer [redacted]", &arg[..at]).into();
    }
    match arg.split_once(':') {
        Some((name, _)) if name.trim().eq_ignore_ascii_case("x-api-key") => {
            format!("{name}: [redacted]").into()
        }
        _ => arg.into(),
    }
}

/// Makes sure `program` can be run, installing Debian's `package` with apt-get if it is
/// missing; `version` says what is installed, or `None` when the program cannot be run.
pub fn ensure_debian_package(
    program: &str,
    package: &str,
    version: impl Fn() -> Option<String>,
) -> Result {
    if let Some(version) = version() {
        println!("using {version}");
        return Ok(());
    }
    println!("{program} is not installed; installing the Debian package {package}");
    let apt = |args: &[&str]| {
        run_command(
            Command::new("apt-get")
                .args(args)
                .env("DEBIAN_FRONTEND", "noninteractive"),
        )
    };
    if let Err(e) = apt(&["update", "-qq"]).and_then(|()| apt(&["install", "-y", "-qq", package])) {
        return Err(format!(
            "{program} is not installed and installing it failed ({e}); install {package} and run again"
        ));
    }
    let version = version().ok_or_else(|| {
        format!("apt-get succeeded but `{program}` still cannot be run; is it on the PATH?")
    })?;
    println!("installed {version}");
    Ok(())
}

/// Runs a command with inherited standard streams and fails unless it exits successfully.
pub fn run_command(command: &mut Command) -> Result {
    let line = display_command(command);
    println!("$ {line}");
    let status = command
        .status()
        .map_err(|e| format!("could not start `{line}`: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{line}` failed ({status})"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printed_commands_never_show_credentials() {
        let mut wrk = Command::new("wrk");
        wrk.args([
            "-H",
            "Authorization: Bearer eyJ.secret.sig",
            "-H",
            "X-API-Key: wdn_secret",
        ])
        .arg("http://127.0.0.1/users/me");
        let line = display_command(&wrk);
        assert!(!line.contains("secret"), "{line}");
        assert!(
            line.contains("'Authorization: Bearer [redacted]'"),
            "{line}"
        );
        assert!(line.contains("'X-API-Key: [redacted]'"), "{line}");
        assert!(line.ends_with("http://127.0.0.1/users/me"), "{line}");
    }
}
