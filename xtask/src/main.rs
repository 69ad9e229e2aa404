//! Developer automation for Warden: `cargo xtask ci | openapi | bench`.
//!
//! The crate uses the standard library only, so that it builds fast and needs nothing but cargo.

mod bench;
mod ci;
mod openapi;
mod server;
#[cfg(test)]
mod tidy;

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
";

fn main() -> ExitCode {
    let mut args = env::args().skip(1);
    let command = args.next();
    let rest: Vec<String> = args.collect();
    let outcome = match command.as_deref() {
        Some("ci") => no_options("ci", &rest).and_then(|()| ci::run()),
        Some("openapi") => no_options("openapi", &rest).and_then(|()| openapi::run()),
        Some("bench") => bench::main(&rest),
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
