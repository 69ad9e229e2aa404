//! The bench's load patterns: which server each scenario loads, with what request and how
//! many connections, and the rounds they run in. The scenarios are data: a new load pattern is
//! one more entry, not more code.

use super::Options;
use crate::client;

/// The account the benchmark registers and signs in with.
pub(super) const EMAIL: &str = "bench@example.com";
/// A password that a zxcvbn-based policy scores as strong.
pub(super) const PASSWORD: &str = "violet tractor hums 42 quiet lanterns";

/// The wrk threads of a scenario unless it says otherwise; the machine has two cores.
const WRK_THREADS: u32 = 2;
/// Logins cost tens of milliseconds of CPU each, so more connections only add queueing.
const LOGIN_CONNECTIONS: u32 = 16;
/// The health probe that runs during logins measures latency, not throughput: keep it light.
const PROBE_CONNECTIONS: u32 = 4;

// The scenario names; the summary looks results up by them.
pub(super) const HEALTH: &str = "GET /health/live";
pub(super) const ME: &str = "GET /users/me";
pub(super) const ME_KEY: &str = "GET /users/me (API key)";
pub(super) const LOGIN: &str = "POST /auth/token (login)";
pub(super) const LOGIN_WITH_PROBE: &str = "POST /auth/token beside the probe";
pub(super) const HEALTH_UNDER_LOGIN: &str = "GET /health/live during login";
pub(super) const BARE: &str = "GET /health/live, no edge";
pub(super) const PLAIN: &str = "GET /health/live, plain poem handler";
pub(super) const LIMITED_MEMORY: &str = "GET /.well-known/jwks.json, limits in memory";
pub(super) const LIMITED_REDIS: &str = "GET /.well-known/jwks.json, limits in Redis";
pub(super) const HEALTH_METRICS_OFF: &str = "GET /health/live, metrics off (pair)";
pub(super) const HEALTH_METRICS_ON: &str = "GET /health/live, metrics on (pair)";
pub(super) const ME_METRICS_OFF: &str = "GET /users/me, metrics off (pair)";
pub(super) const ME_METRICS_ON: &str = "GET /users/me, metrics on (pair)";

/// Which server a scenario loads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Target {
    /// Warden with its limits in memory.
    Warden,
    /// The `bare_health` example: Warden's operations without the edge, and a plain handler.
    Bare,
    /// Warden with its limits in Redis.
    Shared,
    /// The `--baseline` build, with its limits in memory.
    Baseline,
    /// Warden with its metrics listener on.
    Metered,
    /// The n-th of the instances `cargo xtask load --scale` starts.
    Instance(usize),
}

/// One load pattern for wrk.
#[derive(Debug, Clone)]
pub(super) struct Scenario {
    pub(super) name: &'static str,
    pub(super) method: &'static str,
    pub(super) path: &'static str,
    pub(super) headers: Vec<(String, String)>,
    pub(super) body: Option<String>,
    pub(super) connections: u32,
    threads: u32,
    /// Whether a single non-2xx response makes the run invalid (and the bench fail).
    pub(super) all_must_succeed: bool,
    pub(super) target: Target,
}

impl Scenario {
    pub(super) fn get(name: &'static str, path: &'static str, connections: u32) -> Self {
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

    pub(super) fn post(
        name: &'static str,
        path: &'static str,
        connections: u32,
        body: String,
    ) -> Self {
        Self {
            method: "POST",
            body: Some(body),
            ..Self::get(name, path, connections)
        }
    }

    pub(super) fn header(mut self, name: &str, value: &str) -> Self {
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

    pub(super) fn on(mut self, target: Target) -> Self {
        self.target = target;
        self
    }

    /// wrk refuses more threads than connections.
    pub(super) fn wrk_threads(&self) -> u32 {
        self.threads.clamp(1, self.connections.max(1))
    }

    /// Whether wrk needs a Lua script: its command line can only set headers.
    pub(super) fn needs_script(&self) -> bool {
        self.method != "GET" || self.body.is_some()
    }
}

/// The rounds of the benchmark, in order; the scenarios of one round run at the same time.
pub(super) fn scenarios(
    options: &Options,
    token: &str,
    key: &str,
    metered_token: &str,
) -> Vec<Vec<Scenario>> {
    let connections = options.connections;
    let half = (connections / 2).max(1);
    let bearer = format!("Bearer {token}");
    vec![
        vec![Scenario::get(HEALTH, "/health/live", connections)],
        // The same operation with none of the edge: the ratio is the price of the edge.
        vec![Scenario::get(BARE, "/health/live", connections).on(Target::Bare)],
        // For reference, the floor of the framework: a poem handler outside poem-openapi.
        vec![Scenario::get(PLAIN, "/plain/health/live", connections).on(Target::Bare)],
        vec![Scenario::get(ME, "/users/me", connections).header("Authorization", &bearer)],
        vec![Scenario::get(ME_KEY, "/users/me", connections).header("X-API-Key", key)],
        // The price of the metrics: the same build with them off and on, loaded at once with
        // half the connections each, so that both share the machine's every moment and the
        // ratio of their rates is the ratio of their costs, whatever else the machine does.
        vec![
            Scenario::get(HEALTH_METRICS_OFF, "/health/live", half),
            Scenario::get(HEALTH_METRICS_ON, "/health/live", half).on(Target::Metered),
        ],
        vec![
            Scenario::get(ME_METRICS_OFF, "/users/me", half).header("Authorization", &bearer),
            Scenario::get(ME_METRICS_ON, "/users/me", half)
                .header("Authorization", &format!("Bearer {metered_token}"))
                .on(Target::Metered),
        ],
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
pub(super) fn login(name: &'static str, connections: u32) -> Scenario {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_the_login_form() {
        assert_eq!(
            login_form(),
            "grant_type=password&username=bench%40example.com\
             &password=violet+tractor+hums+42+quiet+lanterns"
        );
    }

    #[test]
    fn threads_never_exceed_connections() {
        let scenario = Scenario::get(HEALTH, "/health/live", 1);
        assert_eq!(scenario.wrk_threads(), 1);
        assert!(!scenario.needs_script());
    }
}
