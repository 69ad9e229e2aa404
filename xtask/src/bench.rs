//! `cargo xtask bench`: load-tests the release server with wrk and compares the results with
//! Warden's performance targets.
//!
//! The scenarios are data ([`scenarios`]): each round is a list of scenarios whose wrk processes
//! start together, so a new load pattern is one more entry, not more code.

use std::fmt::Write as _;
use std::fs;
use std::io;
use std::num::NonZeroUsize;
use std::process::{Child, Command, Stdio};
use std::thread;

use crate::client;
use crate::server::{self, Server};
use crate::services::redis_answers;

mod baseline;
use crate::{Result, cargo, display_command, run_command, target_dir};

const USAGE: &str = "\
usage: cargo xtask bench [--duration SECS] [--connections N] [--baseline BINARY]

  --duration SECS    how long each wrk run lasts (default 10)
  --connections N    wrk connections for the read scenarios (default 64);
                     logins use at most 16, the health probe during logins at most 4
  --baseline BINARY  also load another warden-api build (say, one of the last release)
                     with the same scenarios in the same run, and compare the two
";

/// The account the benchmark registers and signs in with.
const EMAIL: &str = "bench@example.com";
/// A password that a zxcvbn-based policy scores as strong.
const PASSWORD: &str = "violet tractor hums 42 quiet lanterns";

/// The wrk threads of a scenario unless it says otherwise; the machine has two cores.
const WRK_THREADS: u32 = 2;
/// Logins cost tens of milliseconds of CPU each, so more connections only add queueing.
const LOGIN_CONNECTIONS: u32 = 16;
/// The health probe that runs during logins measures latency, not throughput: keep it light.
const PROBE_CONNECTIONS: u32 = 4;

// The scenario names; the summary looks results up by them.
const HEALTH: &str = "GET /health/live";
const ME: &str = "GET /users/me";
const ME_KEY: &str = "GET /users/me (API key)";
const LOGIN: &str = "POST /auth/token (login)";
const LOGIN_WITH_PROBE: &str = "POST /auth/token beside the probe";
const HEALTH_UNDER_LOGIN: &str = "GET /health/live during login";
const BARE: &str = "GET /health/live, no edge";
const PLAIN: &str = "GET /health/live, plain poem handler";
const LIMITED_MEMORY: &str = "GET /.well-known/jwks.json, limits in memory";
const LIMITED_REDIS: &str = "GET /.well-known/jwks.json, limits in Redis";

/// The Redis the shared-limit scenario uses when it answers.
const REDIS_URL: &str = "redis://127.0.0.1:6379";

// The targets the summary checks.
const ME_MIN_PERCENT_OF_HEALTH: f64 = 20.0;
const LOGIN_MIN_PERCENT_OF_CEILING: f64 = 80.0;
const HEALTH_UNDER_LOGIN_MAX_P99_MS: f64 = 10.0;
const KEY_MIN_PERCENT_OF_BEARER: f64 = 90.0;
const EDGE_MIN_PERCENT_OF_BARE: f64 = 85.0;

/// The command-line options of `cargo xtask bench`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// How long each wrk run lasts, in seconds.
    pub duration_secs: u64,
    /// The wrk connections of the read scenarios.
    pub connections: u32,
    /// Another `warden-api` binary to measure beside this build.
    pub baseline: Option<std::path::PathBuf>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            duration_secs: 10,
            connections: 64,
            baseline: None,
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
                    let path = std::path::PathBuf::from(value()?);
                    if !path.is_file() {
                        return Err(format!("`--baseline`: no file at {}", path.display()));
                    }
                    options.baseline = Some(path);
                }
                "-h" | "--help" => return Ok(None),
                _ => return Err(format!("unknown bench option `{arg}`\n\n{USAGE}")),
            }
        }
        Ok(Some(options))
    }
}

/// Parses a whole number above zero for `flag`.
fn parse_positive<T: std::str::FromStr + Default + PartialEq>(flag: &str, text: &str) -> Result<T> {
    match text.parse::<T>() {
        Ok(number) if number != T::default() => Ok(number),
        _ => Err(format!(
            "`{flag}` needs a whole number above zero (got `{text}`)"
        )),
    }
}

/// The entry point of `cargo xtask bench ARGS`.
pub fn main(args: &[String]) -> Result {
    if let Some(options) = Options::parse(args)? {
        run(&options)
    } else {
        print!("{USAGE}");
        Ok(())
    }
}

/// Builds, measures the hash, starts the server, runs every round and prints the summary.
pub fn run(options: &Options) -> Result {
    // One invocation for the server and the hash example: built apart, their dependencies
    // would be resolved with different features and compiled twice.
    run_command(cargo().args([
        "build",
        "--release",
        "-p",
        "warden-api",
        "-p",
        "warden-cli",
        "--bins",
        "--examples",
    ]))?;
    let hash_ms = measure_hash_ms()?;
    ensure_wrk()?;

    let mut servers = Servers::start(options.baseline.as_deref())?;
    let token = sign_in(&servers.warden)?;
    let key = servers.warden.client().create_api_key(&token)?;
    let mut rounds = scenarios(options, &token, &key);
    if let Some(base) = &servers.baseline {
        let base_token = sign_in(base)?;
        let base_key = base.client().create_api_key(&base_token)?;
        rounds = baseline::interleave(rounds, options, &base_token, &base_key);
    }
    let mut outcomes = Vec::new();
    for round in rounds {
        outcomes.extend(run_round(&servers, &round, options.duration_secs)?);
        // A crash under load would otherwise show up only as socket errors.
        servers.ensure_running()?;
    }
    servers.stop();

    let summary = summarise(&outcomes, hash_ms);
    if options.baseline.is_some() {
        baseline::compare(&outcomes);
    }
    summary
}

/// Which server a scenario loads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    /// Warden with its limits in memory.
    Warden,
    /// The `bare_health` example: Warden's operations without the edge, and a plain handler.
    Bare,
    /// Warden with its limits in Redis.
    Shared,
    /// The `--baseline` build, with its limits in memory.
    Baseline,
}

/// Every server of one run.
#[derive(Debug)]
struct Servers {
    warden: Server,
    bare: Server,
    /// `None` when no Redis answers here.
    shared: Option<Server>,
    /// `None` without `--baseline`.
    baseline: Option<Server>,
}

impl Servers {
    fn start(baseline: Option<&std::path::Path>) -> Result<Self> {
        let binary = server::binary_path("release");
        let warden = Server::start_with(&binary, &server::UNLIMITED)?;
        let bare = Server::start(&server::example_path("bare_health"))?;
        let shared = if redis_answers(REDIS_URL) {
            let mut vars = server::UNLIMITED.to_vec();
            vars.push(("WARDEN_REDIS__URL", REDIS_URL));
            Some(Server::start_with(&binary, &vars)?)
        } else {
            println!("no Redis answers at {REDIS_URL}: the shared-limit scenario is skipped");
            None
        };
        let baseline = baseline
            .map(|binary| Server::start_with(binary, &server::UNLIMITED))
            .transpose()?;
        Ok(Self {
            warden,
            bare,
            shared,
            baseline,
        })
    }

    fn get(&self, target: Target) -> Option<&Server> {
        match target {
            Target::Warden => Some(&self.warden),
            Target::Bare => Some(&self.bare),
            Target::Shared => self.shared.as_ref(),
            Target::Baseline => self.baseline.as_ref(),
        }
    }

    fn ensure_running(&mut self) -> Result {
        self.warden.ensure_running()?;
        self.bare.ensure_running()?;
        if let Some(baseline) = &mut self.baseline {
            baseline.ensure_running()?;
        }
        self.shared.as_mut().map_or(Ok(()), Server::ensure_running)
    }

    fn stop(self) {
        self.warden.stop();
        self.bare.stop();
        if let Some(shared) = self.shared {
            shared.stop();
        }
        if let Some(baseline) = self.baseline {
            baseline.stop();
        }
    }
}

/// One load pattern for wrk.
#[derive(Debug, Clone)]
struct Scenario {
    name: &'static str,
    method: &'static str,
    path: &'static str,
    headers: Vec<(String, String)>,
    body: Option<String>,
    connections: u32,
    threads: u32,
    /// Whether a single non-2xx response makes the run invalid (and the bench fail).
    all_must_succeed: bool,
    target: Target,
}

impl Scenario {
    fn get(name: &'static str, path: &'static str, connections: u32) -> Self {
        Self {
            name,
            method: "GET",
            path,
            headers: Vec::new(),
            body: None,
            connections,
            threads: WRK_THREADS,
            all_must_succeed: false,
            target: Target::Warden,
        }
    }

    fn post(name: &'static str, path: &'static str, connections: u32, body: String) -> Self {
        Self {
            method: "POST",
            body: Some(body),
            ..Self::get(name, path, connections)
        }
    }

    fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    fn threads(mut self, threads: u32) -> Self {
        self.threads = threads;
        self
    }

    fn all_must_succeed(mut self) -> Self {
        self.all_must_succeed = true;
        self
    }

    fn on(mut self, target: Target) -> Self {
        self.target = target;
        self
    }

    /// wrk refuses more threads than connections.
    fn wrk_threads(&self) -> u32 {
        self.threads.clamp(1, self.connections.max(1))
    }

    /// Whether wrk needs a Lua script: its command line can only set headers.
    fn needs_script(&self) -> bool {
        self.method != "GET" || self.body.is_some()
    }
}

/// The rounds of the benchmark, in order; the scenarios of one round run at the same time.
fn scenarios(options: &Options, token: &str, key: &str) -> Vec<Vec<Scenario>> {
    let connections = options.connections;
    vec![
        vec![Scenario::get(HEALTH, "/health/live", connections)],
        // The same operation with none of the edge: the ratio is the price of the edge.
        vec![Scenario::get(BARE, "/health/live", connections).on(Target::Bare)],
        // For reference, the floor of the framework: a poem handler outside poem-openapi.
        vec![Scenario::get(PLAIN, "/plain/health/live", connections).on(Target::Bare)],
        vec![
            Scenario::get(ME, "/users/me", connections)
                .header("Authorization", &format!("Bearer {token}")),
        ],
        vec![Scenario::get(ME_KEY, "/users/me", connections).header("X-API-Key", key)],
        // Logins alone give the login rate; then again beside a health probe, whose p99
        // shows whether hashing ever stalls the executor.
        vec![login(LOGIN, connections)],
        vec![
            login(LOGIN_WITH_PROBE, connections),
            Scenario::get(
                HEALTH_UNDER_LOGIN,
                "/health/live",
                connections.min(PROBE_CONNECTIONS),
            )
            .threads(1),
        ],
        // One connection, so that latency is the work of one request and not queueing: the
        // difference is what a Redis round trip adds to a limited route.
        vec![Scenario::get(LIMITED_MEMORY, "/.well-known/jwks.json", 1)],
        vec![Scenario::get(LIMITED_REDIS, "/.well-known/jwks.json", 1).on(Target::Shared)],
    ]
}

/// Logins of the benchmark account, flat out.
fn login(name: &'static str, connections: u32) -> Scenario {
    Scenario::post(
        name,
        "/auth/token",
        connections.min(LOGIN_CONNECTIONS),
        login_form(),
    )
    .header("Content-Type", "application/x-www-form-urlencoded")
    .all_must_succeed()
}

/// The form body of a password grant for the benchmark account.
fn login_form() -> String {
    client::password_form(EMAIL, PASSWORD)
}

/// Runs the release `hash_time` example and returns its mean hash time in milliseconds.
fn measure_hash_ms() -> Result<f64> {
    let mut command = Command::new(target_dir().join("release/examples/hash_time"));
    command.stderr(Stdio::inherit());
    let line = display_command(&command);
    println!("$ {line}");
    let output = command
        .output()
        .map_err(|e| format!("could not start `{line}`: {e}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    print!("{stdout}");
    if !output.status.success() {
        return Err(format!("`{line}` failed ({})", output.status));
    }
    parse_hash_ms(&stdout)
}

/// Reads the number before " ms per hash" in the example's output.
fn parse_hash_ms(output: &str) -> Result<f64> {
    output
        .lines()
        .find_map(|line| line.split_once(" ms per hash"))
        .and_then(|(before, _)| before.split_whitespace().last())
        .and_then(|number| number.parse::<f64>().ok())
        .filter(|ms| ms.is_finite() && *ms > 0.0)
        .ok_or_else(|| format!("no `<ms> ms per hash` in the hash_time output: {output:?}"))
}

/// Makes sure `wrk` can be run, installing it with apt-get if it is missing.
fn ensure_wrk() -> Result {
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

/// Registers the benchmark account and returns an access token for it.
fn sign_in(server: &Server) -> Result<String> {
    server.client().register(EMAIL, PASSWORD)?;
    let token = server.client().password_token(EMAIL, PASSWORD)?;
    println!("registered {EMAIL} and got an access token");
    Ok(token)
}

/// The parsed result of one scenario.
#[derive(Debug, Clone)]
struct Outcome {
    name: &'static str,
    connections: u32,
    all_must_succeed: bool,
    report: WrkReport,
}

/// Starts one wrk per scenario at once, waits for all of them and parses their outputs.
fn run_round(servers: &Servers, round: &[Scenario], duration_secs: u64) -> Result<Vec<Outcome>> {
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
struct WrkReport {
    requests: u64,
    requests_per_sec: f64,
    p50_ms: f64,
    p99_ms: f64,
    /// wrk's "Non-2xx or 3xx responses" (it counts statuses of 400 and above).
    non_2xx: u64,
    /// The sum of wrk's connect, read, write and timeout errors.
    socket_errors: u64,
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

/// Prints the results table, the derived figures and the targets.
///
/// Fails only when a scenario whose every response must succeed had failures, because its
/// figures then measure error handling instead of the work.
fn summarise(outcomes: &[Outcome], hash_ms: f64) -> Result {
    print_table(outcomes);
    let invalid = warn_about_errors(outcomes);

    let find = |name: &str| outcomes.iter().find(|outcome| outcome.name == name);
    let health = find(HEALTH);
    let me = find(ME);
    let me_key = find(ME_KEY);
    let login = find(LOGIN);
    let probe = find(HEALTH_UNDER_LOGIN);
    let bare = find(BARE);
    let plain = find(PLAIN);
    let limited_memory = find(LIMITED_MEMORY);
    let limited_redis = find(LIMITED_REDIS);

    let cores = thread::available_parallelism().map_or(1, NonZeroUsize::get);
    let cores_f64 = f64::from(u32::try_from(cores).unwrap_or(u32::MAX));
    let ceiling = cores_f64 / (hash_ms / 1_000.0);
    let login_percent = login.map(|login| login.report.requests_per_sec / ceiling * 100.0);
    let me_percent = rate_percent(me, health);
    let probe_p99 = probe.map(|probe| probe.report.p99_ms);
    let key_percent = rate_percent(me_key, me);
    let edge_percent = rate_percent(health, bare);
    let plain_percent = rate_percent(health, plain);
    let redis_extra_us = limited_redis
        .zip(limited_memory)
        .map(|(redis, memory)| (redis.report.p50_ms - memory.report.p50_ms) * 1_000.0);

    println!();
    println!("argon2id hash time:           {hash_ms:.2} ms (m=19456 t=2 p=1, release)");
    println!("cores:                        {cores}");
    println!("login ceiling:                {ceiling:.1} req/s (cores / hash seconds)");
    println!(
        "login rate:                   {}",
        percent_of(login, login_percent, "of the ceiling")
    );
    println!(
        "/users/me rate:               {}",
        percent_of(me, me_percent, "of /health/live")
    );
    println!(
        "/users/me with an API key:    {}",
        percent_of(me_key, key_percent, "of the bearer rate")
    );
    println!(
        "/health/live with the edge:   {}",
        percent_of(health, edge_percent, "of the same route without it")
    );
    println!(
        "the whole stack vs plain poem: {}",
        percent_of(health, plain_percent, "of a plain poem handler (reference)")
    );
    println!(
        "Redis limits add per request: {}",
        redis_extra_us.map_or_else(
            || "n/a (no Redis)".to_owned(),
            |us| format!("{us:.0} µs at p50, one connection")
        )
    );
    println!(
        "health p99 under login load:  {}",
        probe_p99.map_or_else(|| "n/a".to_owned(), |ms| format!("{ms:.2} ms"))
    );

    println!();
    println!("targets:");
    print_target(
        &format!("/users/me >= {ME_MIN_PERCENT_OF_HEALTH}% of /health/live"),
        me_percent.map(|p| (p >= ME_MIN_PERCENT_OF_HEALTH, format!("{p:.1}%"))),
        &[me, health],
    );
    print_target(
        &format!("/users/me with an API key >= {KEY_MIN_PERCENT_OF_BEARER}% of the bearer rate"),
        key_percent.map(|p| (p >= KEY_MIN_PERCENT_OF_BEARER, format!("{p:.1}%"))),
        &[me_key, me],
    );
    print_target(
        &format!("/health/live with the edge >= {EDGE_MIN_PERCENT_OF_BARE}% of it without"),
        edge_percent.map(|p| (p >= EDGE_MIN_PERCENT_OF_BARE, format!("{p:.1}%"))),
        &[health, bare],
    );
    print_target(
        &format!("login >= {LOGIN_MIN_PERCENT_OF_CEILING}% of the ceiling"),
        login_percent.map(|p| (p >= LOGIN_MIN_PERCENT_OF_CEILING, format!("{p:.1}%"))),
        &[login],
    );
    print_target(
        &format!("health p99 under login load < {HEALTH_UNDER_LOGIN_MAX_P99_MS} ms"),
        probe_p99.map(|ms| (ms < HEALTH_UNDER_LOGIN_MAX_P99_MS, format!("{ms:.2} ms"))),
        &[probe, find(LOGIN_WITH_PROBE)],
    );

    if invalid.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "every response of `{}` must succeed, but some did not: the figures are not valid",
            invalid.join("`, `")
        ))
    }
}

/// The rate of `part` as a percentage of the rate of `whole`.
fn rate_percent(part: Option<&Outcome>, whole: Option<&Outcome>) -> Option<f64> {
    part.zip(whole).map(|(part, whole)| {
        part.report.requests_per_sec / whole.report.requests_per_sec.max(f64::MIN_POSITIVE) * 100.0
    })
}

/// Formats a scenario's rate and its percentage of a reference.
fn percent_of(outcome: Option<&Outcome>, percent: Option<f64>, reference: &str) -> String {
    match (outcome, percent) {
        (Some(outcome), Some(percent)) => format!(
            "{:.1} req/s = {percent:.1}% {reference}",
            outcome.report.requests_per_sec
        ),
        _ => "n/a".to_owned(),
    }
}

/// Prints one target as PASS or MISS; a target fed by a run with errors is a MISS.
fn print_target(label: &str, result: Option<(bool, String)>, inputs: &[Option<&Outcome>]) {
    let failed: Vec<String> = inputs
        .iter()
        .flatten()
        .filter(|outcome| outcome.report.non_2xx > 0)
        .map(|outcome| format!("{} non-2xx in `{}`", outcome.report.non_2xx, outcome.name))
        .collect();
    let (verdict, detail) = match result {
        None => ("MISS", "not measured".to_owned()),
        Some((_, value)) if !failed.is_empty() => {
            ("MISS", format!("{value}, invalid: {}", failed.join(", ")))
        }
        Some((true, value)) => ("PASS", value),
        Some((false, value)) => ("MISS", value),
    };
    println!("  {verdict}  {label:<45} ({detail})");
}

/// Prints the results table.
fn print_table(outcomes: &[Outcome]) {
    let width = outcomes
        .iter()
        .map(|outcome| outcome.name.len())
        .chain([8])
        .max()
        .unwrap_or(8);
    println!();
    println!(
        "{:<width$}  {:>5}  {:>10}  {:>9}  {:>9}  {:>8}  {:>13}",
        "scenario", "conns", "req/s", "p50 ms", "p99 ms", "non-2xx", "socket errors"
    );
    for outcome in outcomes {
        let report = &outcome.report;
        println!(
            "{:<width$}  {:>5}  {:>10.1}  {:>9.3}  {:>9.3}  {:>8}  {:>13}",
            outcome.name,
            outcome.connections,
            report.requests_per_sec,
            report.p50_ms,
            report.p99_ms,
            report.non_2xx,
            report.socket_errors
        );
    }
}

/// Prints a loud warning for every run with failed responses or socket errors, and returns the
/// names of the runs whose every response had to succeed but did not.
fn warn_about_errors(outcomes: &[Outcome]) -> Vec<&'static str> {
    let mut invalid = Vec::new();
    for outcome in outcomes {
        let report = &outcome.report;
        if report.requests == 0 {
            eprintln!();
            eprintln!("!!! `{}`: not a single request completed !!!", outcome.name);
        }
        if report.non_2xx > 0 || report.requests == 0 {
            if report.non_2xx > 0 {
                eprintln!();
                eprintln!(
                    "!!! `{}`: {} of {} responses were not 2xx or 3xx !!!",
                    outcome.name, report.non_2xx, report.requests
                );
            }
            if outcome.all_must_succeed {
                eprintln!("!!! every response of `{}` must succeed !!!", outcome.name);
                invalid.push(outcome.name);
            }
        }
        if report.socket_errors > 0 {
            eprintln!();
            eprintln!(
                "!!! `{}`: {} socket errors (connect, read, write or timeout) !!!",
                outcome.name, report.socket_errors
            );
        }
    }
    invalid
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn reads_the_hash_time() {
        let output = "argon2id m=19456 t=2 p=1: 24.87 ms per hash\n";
        assert!((parse_hash_ms(output).unwrap() - 24.87).abs() < 1e-12);
        assert!(parse_hash_ms("nothing here").is_err());
    }

    #[test]
    fn encodes_the_login_form() {
        assert_eq!(
            login_form(),
            "grant_type=password&username=bench%40example.com\
             &password=violet+tractor+hums+42+quiet+lanterns"
        );
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
            })
        );
        assert!(Options::parse(&args(&["--baseline", "/no/such/binary"])).is_err());
        let me = std::env::current_exe().unwrap();
        let with_baseline = Options::parse(&args(&["--baseline", me.to_str().unwrap()])).unwrap();
        assert_eq!(with_baseline.unwrap().baseline, Some(me));
        assert_eq!(Options::parse(&args(&["--help"])).unwrap(), None);
        assert!(Options::parse(&args(&["--duration", "0"])).is_err());
        assert!(Options::parse(&args(&["--duration"])).is_err());
        assert!(Options::parse(&args(&["--fast"])).is_err());
    }

    #[test]
    fn threads_never_exceed_connections() {
        let scenario = Scenario::get(HEALTH, "/health/live", 1);
        assert_eq!(scenario.wrk_threads(), 1);
        assert!(!scenario.needs_script());
    }
}
