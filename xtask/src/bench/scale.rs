//! `cargo xtask load --scale 1,2,4`: how verifying requests and logins scale with instances.
//!
//! For each count, that many release instances share one fresh PostgreSQL database, one Redis
//! (the rate limits) and one signing key, as behind a load balancer. wrk then loads them all at
//! once, the connections split evenly: first `GET /users/me` with a bearer token (a verified
//! token, the user and session loaded from PostgreSQL), then password logins at the default
//! argon2id cost. The table gives the summed rates and the worst p99, so that the figures of
//! docs/SCALING.md can be measured again on any machine.

use std::time::Duration;

use super::scenarios::{EMAIL, Scenario, Target, login};
use super::servers::sign_in;
use super::wrk::{self, Fleet, Outcome};
use crate::server::{self, Server};
use crate::services::{Database, redis_answers};
use crate::{Result, cargo, run_command};

const REDIS_URL: &str = "redis://127.0.0.1:6379";
/// One key for every instance, so that a token signed by one verifies on all.
const SECRET: &str = "scale-3f9a1c7e5b2d8046a1c3e5f7092b4d6e";
const VERIFY: &str = "GET /users/me (bearer)";
const LOGIN: &str = "POST /auth/token (login)";
/// Connections in all, split over the instances.
const VERIFY_CONNECTIONS: usize = 64;
const LOGIN_CONNECTIONS: usize = 16;

/// The instances of one count.
struct Instances(Vec<Server>);

impl Fleet for Instances {
    fn get(&self, target: Target) -> Option<&Server> {
        match target {
            Target::Instance(n) => self.0.get(n),
            _ => None,
        }
    }
}

/// The summed figures of one count.
#[derive(Debug, Clone, Copy)]
struct Row {
    instances: usize,
    verify_rps: f64,
    verify_p99_ms: f64,
    login_rps: f64,
    login_p99_ms: f64,
}

/// Runs the scaling measurement at each of `counts` instances for `duration` per scenario.
pub(crate) fn run(counts: &[usize], duration: Duration) -> Result {
    run_command(cargo().args(["build", "--release", "-p", "warden-server"]))?;
    wrk::ensure_wrk()?;
    if !redis_answers(REDIS_URL) {
        return Err(format!("no Redis answers at {REDIS_URL}"));
    }
    let mut rows = Vec::new();
    for &count in counts {
        let database = Database::create(&format!("scale{count}"))?;
        let row = measure(count, &database.url(), duration.as_secs().max(1));
        database.drop_it();
        rows.push(row?);
    }
    print_table(&rows);
    Ok(())
}

fn measure(count: usize, database_url: &str, secs: u64) -> Result<Row> {
    let own = [
        ("WARDEN_DATABASE__URL", database_url),
        ("WARDEN_REDIS__URL", REDIS_URL),
        ("WARDEN_JWT__SECRET", SECRET),
    ];
    let vars = [&own[..], &server::UNLIMITED].concat();
    let binary = server::binary_path("release");
    let mut instances = Instances(Vec::new());
    // One after the other: the first applies the migrations.
    for _ in 0..count {
        match Server::start_with(&binary, &vars) {
            Ok(server) => instances.0.push(server),
            Err(e) => {
                stop(instances);
                return Err(e);
            }
        }
    }
    let outcome = load(&instances, count, secs);
    stop(instances);
    outcome
}

fn load(instances: &Instances, count: usize, secs: u64) -> Result<Row> {
    let first = instances.0.first().ok_or("no instance started")?;
    let token = sign_in(first)?;
    let bearer = format!("Bearer {token}");
    let split = |total: usize| u32::try_from((total / count).max(1)).unwrap_or(1);
    let verify: Vec<Scenario> = (0..count)
        .map(|n| {
            Scenario::get(VERIFY, "/users/me", split(VERIFY_CONNECTIONS))
                .header("Authorization", &bearer)
                .on(Target::Instance(n))
        })
        .collect();
    let logins: Vec<Scenario> = (0..count)
        .map(|n| login(LOGIN, split(LOGIN_CONNECTIONS)).on(Target::Instance(n)))
        .collect();
    println!("==> {count} instance(s), {EMAIL} signed in");
    let verified = wrk::run_round(instances, &verify, secs)?;
    let logged_in = wrk::run_round(instances, &logins, secs)?;
    if let Some(failed) = logged_in.iter().find(|o| o.report.non_2xx > 0) {
        return Err(format!(
            "{} non-2xx answers to logins at {count} instance(s)",
            failed.report.non_2xx
        ));
    }
    let (verify_rps, verify_p99_ms) = sum(&verified);
    let (login_rps, login_p99_ms) = sum(&logged_in);
    Ok(Row {
        instances: count,
        verify_rps,
        verify_p99_ms,
        login_rps,
        login_p99_ms,
    })
}

/// The summed rate and the worst p99 of one round.
fn sum(outcomes: &[Outcome]) -> (f64, f64) {
    let rate = outcomes.iter().map(|o| o.report.requests_per_sec).sum();
    let p99 = outcomes.iter().map(|o| o.report.p99_ms).fold(0.0, f64::max);
    (rate, p99)
}

fn stop(instances: Instances) {
    for server in instances.0 {
        server.stop();
    }
}

fn print_table(rows: &[Row]) {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    println!();
    println!("scaling on {cores} cores (PostgreSQL, Redis and wrk on the same machine):");
    println!("instances | {VERIFY:>24} | p99 ms | {LOGIN:>24} | p99 ms");
    for row in rows {
        println!(
            "{:>9} | {:>18.0} req/s | {:>6.1} | {:>18.1} req/s | {:>6.1}",
            row.instances, row.verify_rps, row.verify_p99_ms, row.login_rps, row.login_p99_ms
        );
    }
}
