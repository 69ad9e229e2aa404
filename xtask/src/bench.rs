//! `cargo xtask bench`: load-tests the release server with wrk and compares the results with
//! Warden's performance targets.
//!
//! This file reads the options and runs the steps in order; the scenarios are data
//! ([`scenarios`]): each round is a list of scenarios whose wrk processes start together.

mod baseline;
mod hash;
mod import;
pub(crate) mod scale;
mod scenarios;
mod servers;
mod summary;
mod wrk;

use std::path::PathBuf;

use self::scenarios::scenarios;
use self::servers::{Servers, sign_in};
use crate::{Result, cargo, run_command};

const USAGE: &str = "\
usage: cargo xtask bench [--duration SECS] [--connections N] [--baseline BINARY]

  --duration SECS    how long each wrk run lasts (default 10)
  --connections N    wrk connections for the read scenarios (default 64);
                     logins use at most 16, the health probe during logins at most 4
  --baseline BINARY  also load another warden-api build (say, one of the last release)
                     with the same scenarios in the same run, and compare the two
  --import-only      only the import: 100,000 users through `warden user import` into
                     SQLite and PostgreSQL, in users per second (the full bench ends with it)
";

/// The command-line options of `cargo xtask bench`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Options {
    /// How long each wrk run lasts, in seconds.
    pub duration_secs: u64,
    /// The wrk connections of the read scenarios.
    pub connections: u32,
    /// Another `warden-api` binary to measure beside this build.
    pub baseline: Option<PathBuf>,
    /// Only the import's rates, no load.
    pub import_only: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            duration_secs: 10,
            connections: 64,
            baseline: None,
            import_only: false,
        }
    }
}

impl Options {
    /// Parses `--duration SECS` and `--connections N`, also in the `--flag=value` form.
    ///
    /// `Ok(None)` means help was asked for.
    fn parse(args: &[String]) -> Result<Option<Self>> {
        let mut options = Self::default();
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            let (flag, inline_value) = match arg.split_once('=') {
                Some((flag, value)) if flag.starts_with("--") => (flag, Some(value.to_owned())),
                _ => (arg.as_str(), None),
            };
            let mut value = || {
                inline_value
                    .clone()
                    .or_else(|| args.next().cloned())
                    .ok_or_else(|| format!("`{flag}` needs a value\n\n{USAGE}"))
            };
            match flag {
                "--duration" => {
                    let text = value()?;
                    options.duration_secs = parse_positive(flag, text.trim_end_matches('s'))?;
                }
                "--connections" => {
                    options.connections = parse_positive(flag, &value()?)?;
                }
                "--baseline" => {
                    let path = PathBuf::from(value()?);
                    if !path.is_file() {
                        return Err(format!("`--baseline`: no file at {}", path.display()));
                    }
                    options.baseline = Some(path);
                }
                "--import-only" => options.import_only = true,
                "-h" | "--help" => return Ok(None),
                _ => return Err(format!("unknown bench option `{arg}`\n\n{USAGE}")),
            }
        }
        Ok(Some(options))
    }
}

/// Parses a whole number above zero for `flag`.
pub(crate) fn parse_positive<T: std::str::FromStr + Default + PartialEq>(
    flag: &str,
    text: &str,
) -> Result<T> {
    match text.parse::<T>() {
        Ok(number) if number != T::default() => Ok(number),
        _ => Err(format!(
            "`{flag}` needs a whole number above zero (got `{text}`)"
        )),
    }
}

/// The entry point of `cargo xtask bench ARGS`.
pub(crate) fn main(args: &[String]) -> Result {
    if let Some(options) = Options::parse(args)? {
        run(&options)
    } else {
        print!("{USAGE}");
        Ok(())
    }
}

/// Builds, measures the hash, starts the server, runs every round and prints the summary.
pub(crate) fn run(options: &Options) -> Result {
    // One invocation for the server and the hash example: built apart, their dependencies
    // would be resolved with different features and compiled twice.
    run_command(cargo().args([
        "build",
        "--release",
        "-p",
        "warden-api",
        "-p",
        "warden-server",
        "-p",
        "warden-cli",
        "--bins",
        "--examples",
    ]))?;
    if options.import_only {
        return import_verdict();
    }
    let hash_ms = hash::measure_hash_ms()?;
    wrk::ensure_wrk()?;

    let mut servers = Servers::start(options.baseline.as_deref())?;
    let token = sign_in(&servers.warden)?;
    let key = servers.warden.client().create_api_key(&token)?;
    let metered_token = sign_in(&servers.metered)?;
    let mut rounds = scenarios(options, &token, &key, &metered_token);
    if let Some(base) = &servers.baseline {
        let base_token = sign_in(base)?;
        let base_key = base.client().create_api_key(&base_token)?;
        rounds = baseline::interleave(rounds, options, &base_token, &base_key);
    }
    let mut outcomes = Vec::new();
    for round in rounds {
        outcomes.extend(wrk::run_round(&servers, &round, options.duration_secs)?);
        // A crash under load would otherwise show up only as socket errors.
        servers.ensure_running()?;
    }
    servers.stop();

    let summary = summary::summarise(&outcomes, hash_ms);
    if options.baseline.is_some() {
        baseline::compare(&outcomes);
    }
    summary?;
    import_verdict()
}

/// Measures the import into SQLite and PostgreSQL and prints each rate, SQLite's against its
/// target.
fn import_verdict() -> Result {
    println!();
    println!(
        "import of {} users (release `warden user import`):",
        import::USERS
    );
    let rates = import::measure()?;
    let target = import::SQLITE_MIN_PER_SEC;
    let verdict = if rates.sqlite >= target {
        "PASS"
    } else {
        "MISS"
    };
    println!(
        "import into SQLite:           {:.0} users/s  {verdict} (target >= {target:.0})",
        rates.sqlite
    );
    println!(
        "import into PostgreSQL:       {:.0} users/s (reported)",
        rates.postgres
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_options() {
        let args = |list: &[&str]| list.iter().map(ToString::to_string).collect::<Vec<_>>();
        assert_eq!(Options::parse(&[]).unwrap(), Some(Options::default()));
        assert_eq!(
            Options::parse(&args(&["--duration", "3", "--connections=8"])).unwrap(),
            Some(Options {
                duration_secs: 3,
                connections: 8,
                baseline: None,
                import_only: false,
            })
        );
        let import_only = Options::parse(&args(&["--import-only"])).unwrap().unwrap();
        assert!(import_only.import_only);
        assert!(Options::parse(&args(&["--baseline", "/no/such/binary"])).is_err());
        let me = std::env::current_exe().unwrap();
        let with_baseline = Options::parse(&args(&["--baseline", me.to_str().unwrap()])).unwrap();
        assert_eq!(with_baseline.unwrap().baseline, Some(me));
        assert_eq!(Options::parse(&args(&["--help"])).unwrap(), None);
        assert!(Options::parse(&args(&["--duration", "0"])).is_err());
        assert!(Options::parse(&args(&["--duration"])).is_err());
        assert!(Options::parse(&args(&["--fast"])).is_err());
    }
}
