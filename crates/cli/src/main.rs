//! `warden`, the admin tool: parses the command line, runs the command, and reports a failure
//! as one line on stderr with a non-zero exit.

mod apikey;
mod audit;
mod cli;
mod client;
mod client_args;
mod commands;
mod logging;
mod mail;
mod output;
mod password;
mod transfer;
mod user;

use std::process::ExitCode;

use crate::cli::Cli;

/// The exit code of a command that ran and failed.
const FAILED: u8 = 1;
/// The exit code of a command line that could not be understood (as clap uses).
const USAGE: u8 = 2;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let cli = match Cli::from_args() {
        Ok(cli) => cli,
        Err(reason) => return fail(&reason, USAGE),
    };
    logging::init();
    match commands::run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(reason) => fail(&reason, FAILED),
    }
}

/// Prints the reason as exactly one line, whatever it contains, and gives the exit code.
fn fail(reason: &str, code: u8) -> ExitCode {
    let line = reason
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    eprintln!("warden: {line}");
    ExitCode::from(code)
}
