//! wrk, which makes the bench's load: installing it, starting one per scenario of a round
//! (with a Lua script when the command line cannot say the request), and reading its report.

use std::fmt::Write as _;
use std::fs;
use std::io;
use std::process::{Child, Command, Stdio};

use super::scenarios::{Scenario, Target};
use crate::server::Server;
use crate::{Result, display_command};

/// Makes sure `wrk` can be run, installing it with apt-get if it is missing.
pub(super) fn ensure_wrk() -> Result {
    crate::ensure_debian_package("wrk", "wrk", wrk_version)
}

/// The first line `wrk --version` prints, or `None` if wrk cannot be run.
///
/// wrk prints its version and then its usage and exits with 1, so the exit status is ignored:
/// only whether the program could be started matters.
fn wrk_version() -> Option<String> {
    let output = Command::new("wrk").arg("--version").output().ok()?;
    let text = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    let first = text.lines().map(str::trim).find(|line| !line.is_empty());
    Some(first.unwrap_or("wrk (version unknown)").to_owned())
}

/// The parsed result of one scenario.
#[derive(Debug, Clone)]
pub(super) struct Outcome {
    pub(super) name: &'static str,
    pub(super) connections: u32,
    pub(super) all_must_succeed: bool,
    pub(super) report: WrkReport,
}

/// The servers a round's scenarios find by their target.
pub(super) trait Fleet {
    /// The server of `target`, if it runs.
    fn get(&self, target: Target) -> Option<&Server>;
}

/// Starts one wrk per scenario at once, waits for all of them and parses their outputs.
pub(super) fn run_round(
    servers: &dyn Fleet,
    round: &[Scenario],
    duration_secs: u64,
) -> Result<Vec<Outcome>> {
    let mut running: Vec<(&Scenario, Child)> = Vec::new();
    for scenario in round {
        let Some(server) = servers.get(scenario.target) else {
            println!("==> {}: skipped, its server is not running", scenario.name);
            continue;
        };
        let started = wrk_command(server, scenario, duration_secs).and_then(|mut command| {
            println!("==> {}: {}", scenario.name, display_command(&command));
            command
                .spawn()
                .map_err(|e| format!("could not start wrk for `{}`: {e}", scenario.name))
        });
        match started {
            Ok(child) => running.push((scenario, child)),
            Err(e) => {
                for (_, mut child) in running {
                    let _ = child.kill();
                    let _ = child.wait();
                }
                return Err(e);
            }
        }
    }

    // Every child is waited for before any error is returned, so none is left running.
    let finished: Vec<(&Scenario, io::Result<std::process::Output>)> = running
        .into_iter()
        .map(|(scenario, child)| (scenario, child.wait_with_output()))
        .collect();
    let mut outcomes = Vec::new();
    for (scenario, output) in finished {
        let output =
            output.map_err(|e| format!("could not wait for wrk for `{}`: {e}", scenario.name))?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        println!("--- wrk output for `{}` ---", scenario.name);
        print!("{stdout}");
        if !stderr.trim().is_empty() {
            eprint!("{stderr}");
        }
        if !output.status.success() {
            return Err(format!(
                "wrk failed for `{}` ({}): {}",
                scenario.name,
                output.status,
                stderr.trim()
            ));
        }
        let report = parse_wrk(&stdout)
            .map_err(|e| format!("could not read wrk's output for `{}`: {e}", scenario.name))?;
        outcomes.push(Outcome {
            name: scenario.name,
            connections: scenario.connections,
            all_must_succeed: scenario.all_must_succeed,
            report,
        });
    }
    Ok(outcomes)
}

/// The wrk command of one scenario; writes its Lua script to the server's directory if needed.
fn wrk_command(server: &Server, scenario: &Scenario, duration_secs: u64) -> Result<Command> {
    let mut command = Command::new("wrk");
    command
        .arg("--latency")
        .arg(format!("-t{}", scenario.wrk_threads()))
        .arg(format!("-c{}", scenario.connections))
        .arg(format!("-d{duration_secs}s"));
    if scenario.needs_script() {
        let script = server.dir().join(format!("{}.lua", slug(scenario.name)));
        fs::write(&script, lua_script(scenario))
            .map_err(|e| format!("could not write {}: {e}", script.display()))?;
        command.arg("-s").arg(script);
    } else {
        for (name, value) in &scenario.headers {
            command.arg("-H").arg(format!("{name}: {value}"));
        }
    }
    command
        .arg(server.url(scenario.path))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    Ok(command)
}

/// A file-name-safe form of a scenario name.
fn slug(name: &str) -> String {
    let mut slug = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.ends_with('-') {
            slug.push('-');
        }
    }
    slug.trim_matches('-').to_owned()
}

/// A wrk Lua script that sets the scenario's method, body and headers.
fn lua_script(scenario: &Scenario) -> String {
    let mut script = format!(
        "-- Written by `cargo xtask bench` for the scenario {}.\n",
        lua_string(scenario.name)
    );
    let _ = writeln!(script, "wrk.method = {}", lua_string(scenario.method));
    if let Some(body) = &scenario.body {
        let _ = writeln!(script, "wrk.body = {}", lua_string(body));
    }
    for (name, value) in &scenario.headers {
        let _ = writeln!(
            script,
            "wrk.headers[{}] = {}",
            lua_string(name),
            lua_string(value)
        );
    }
    script
}

/// A double-quoted Lua string literal.
fn lua_string(text: &str) -> String {
    let mut literal = String::from("\"");
    for byte in text.bytes() {
        match byte {
            b'"' => literal.push_str("\\\""),
            b'\\' => literal.push_str("\\\\"),
            0x20..=0x7e => literal.push(char::from(byte)),
            // Decimal escapes keep control and non-ASCII bytes exact.
            _ => {
                let _ = write!(literal, "\\{byte:03}");
            }
        }
    }
    literal.push('"');
    literal
}

/// What the summary needs from wrk's output.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct WrkReport {
    pub(super) requests: u64,
    pub(super) requests_per_sec: f64,
    pub(super) p50_ms: f64,
    pub(super) p99_ms: f64,
    /// wrk's "Non-2xx or 3xx responses" (it counts statuses of 400 and above).
    pub(super) non_2xx: u64,
    /// The sum of wrk's connect, read, write and timeout errors.
    pub(super) socket_errors: u64,
}

/// Parses the output of `wrk --latency`.
fn parse_wrk(output: &str) -> Result<WrkReport> {
    let mut requests = None;
    let mut requests_per_sec = None;
    let mut p50_ms = None;
    let mut p99_ms = None;
    let mut non_2xx = 0;
    let mut socket_errors = 0;
    for line in output.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("Requests/sec:") {
            requests_per_sec = rest.trim().parse::<f64>().ok();
        } else if let Some(rest) = line.strip_prefix("50%") {
            p50_ms = parse_latency_ms(rest.trim());
        } else if let Some(rest) = line.strip_prefix("99%") {
            p99_ms = parse_latency_ms(rest.trim());
        } else if let Some(rest) = line.strip_prefix("Non-2xx or 3xx responses:") {
            non_2xx = rest
                .trim()
                .parse()
                .map_err(|_| format!("malformed line `{line}`"))?;
        } else if let Some(rest) = line.strip_prefix("Socket errors:") {
            // "connect 0, read 0, write 0, timeout 0"
            socket_errors = rest
                .split(',')
                .filter_map(|part| part.split_whitespace().last()?.parse::<u64>().ok())
                .sum();
        } else if let Some((count, _)) = line.split_once(" requests in ") {
            requests = count.trim().parse::<u64>().ok();
        }
    }
    let missing = |what: &str| format!("no {what} line in:\n{output}");
    Ok(WrkReport {
        requests: requests.ok_or_else(|| missing("`N requests in`"))?,
        requests_per_sec: requests_per_sec.ok_or_else(|| missing("`Requests/sec:`"))?,
        p50_ms: p50_ms.ok_or_else(|| missing("latency distribution `50%`"))?,
        p99_ms: p99_ms.ok_or_else(|| missing("latency distribution `99%`"))?,
        non_2xx,
        socket_errors,
    })
}

/// Converts a wrk duration such as `456.00us`, `1.23ms`, `1.02s` or `1.50m` to milliseconds.
fn parse_latency_ms(text: &str) -> Option<f64> {
    const UNITS: [(&str, f64); 5] = [
        ("us", 0.001),
        ("ms", 1.0),
        ("s", 1_000.0),
        ("m", 60_000.0),
        ("h", 3_600_000.0),
    ];
    // The two-letter units come first: "ms" also ends with "s".
    UNITS.iter().find_map(|(unit, factor)| {
        let number = text.strip_suffix(unit)?;
        number
            .parse::<f64>()
            .ok()
            .filter(|value| value.is_finite() && *value >= 0.0)
            .map(|value| value * factor)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::scenarios::LOGIN;

    const WRK_OUTPUT: &str = "\
Running 10s test @ http://127.0.0.1:40000/health/live
  2 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   635.91us    0.89ms  12.92ms   93.69%
    Req/Sec    56.20k     8.07k   62.00k    86.54%
  Latency Distribution
     50%  456.00us
     75%  491.00us
     90%    1.00ms
     99%    1.02s
  1120000 requests in 10.00s, 92.50MB read
  Socket errors: connect 0, read 2, write 0, timeout 3
  Non-2xx or 3xx responses: 7
Requests/sec: 111992.05
Transfer/sec:      9.25MB
";

    #[test]
    fn parses_wrk_output() {
        let report = parse_wrk(WRK_OUTPUT).unwrap();
        assert_eq!(report.requests, 1_120_000);
        assert!((report.requests_per_sec - 111_992.05).abs() < 1e-6);
        assert!((report.p50_ms - 0.456).abs() < 1e-9);
        assert!((report.p99_ms - 1_020.0).abs() < 1e-9);
        assert_eq!(report.non_2xx, 7);
        assert_eq!(report.socket_errors, 5);
    }

    #[test]
    fn a_clean_run_has_no_errors_and_missing_lines_are_errors() {
        let clean = WRK_OUTPUT
            .lines()
            .filter(|line| !line.contains("errors") && !line.contains("Non-2xx"))
            .collect::<Vec<_>>()
            .join("\n");
        let report = parse_wrk(&clean).unwrap();
        assert_eq!((report.non_2xx, report.socket_errors), (0, 0));
        assert!(parse_wrk("unable to connect to 127.0.0.1:1 Connection refused").is_err());
    }

    #[test]
    fn converts_latencies_to_milliseconds() {
        assert_eq!(parse_latency_ms("1.23ms"), Some(1.23));
        assert_eq!(parse_latency_ms("2.00s"), Some(2_000.0));
        assert_eq!(parse_latency_ms("1.50m"), Some(90_000.0));
        assert!((parse_latency_ms("456.00us").unwrap() - 0.456).abs() < 1e-12);
        assert_eq!(parse_latency_ms("fast"), None);
    }

    #[test]
    fn writes_a_lua_script_with_escaped_strings() {
        let scenario = Scenario::post(LOGIN, "/auth/token", 16, "a=\"b\"\\".to_owned())
            .header("Content-Type", "application/x-www-form-urlencoded");
        let script = lua_script(&scenario);
        assert!(script.contains("wrk.method = \"POST\"\n"));
        assert!(script.contains("wrk.body = \"a=\\\"b\\\"\\\\\"\n"));
        assert!(
            script.contains(
                "wrk.headers[\"Content-Type\"] = \"application/x-www-form-urlencoded\"\n"
            )
        );
        assert_eq!(slug(LOGIN), "post-auth-token-login");
    }
}
