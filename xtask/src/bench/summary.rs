//! The bench's verdict: the results table, the figures derived from it (the login ceiling,
//! the price of the edge, of an API key, of Redis) and each target as PASS or MISS.

use std::num::NonZeroUsize;
use std::thread;

use super::scenarios::{
    BARE, HEALTH, HEALTH_METRICS_OFF, HEALTH_METRICS_ON, HEALTH_UNDER_LOGIN, LIMITED_MEMORY,
    LIMITED_REDIS, LOGIN, LOGIN_WITH_PROBE, ME, ME_KEY, ME_METRICS_OFF, ME_METRICS_ON, PLAIN,
};
use super::wrk::Outcome;
use crate::Result;

// The targets the summary checks.
const ME_MIN_PERCENT_OF_HEALTH: f64 = 50.0;
const METRICS_ON_MIN_PERCENT_OF_OFF: f64 = 95.0;
const LOGIN_MIN_PERCENT_OF_CEILING: f64 = 80.0;
const HEALTH_UNDER_LOGIN_MAX_P99_MS: f64 = 10.0;
// A key costs a SHA-256 and a read joined with its owner; a bearer token seen before costs
// its expiry check and a read of the user (the codec remembers verified tokens). Until then
// the two paths cost about the same and this bound was 90 %.
const KEY_MIN_PERCENT_OF_BEARER: f64 = 75.0;
const EDGE_MIN_PERCENT_OF_BARE: f64 = 85.0;

/// Prints the results table, the derived figures and the targets.
///
/// Fails only when a scenario whose every response must succeed had failures, because its
/// figures then measure error handling instead of the work.
pub(super) fn summarise(outcomes: &[Outcome], hash_ms: f64) -> Result {
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
    let metered = metered(outcomes);
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
    print_metered_rates(&metered);
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
    print_metered_targets(&metered);
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

/// A route with the metrics on and off, loaded at once: (route, on, off).
type Metered<'a> = (&'static str, Option<&'a Outcome>, Option<&'a Outcome>);

fn metered(outcomes: &[Outcome]) -> [Metered<'_>; 2] {
    let find = |name: &str| outcomes.iter().find(|outcome| outcome.name == name);
    [
        (
            "/health/live",
            find(HEALTH_METRICS_ON),
            find(HEALTH_METRICS_OFF),
        ),
        ("/users/me", find(ME_METRICS_ON), find(ME_METRICS_OFF)),
    ]
}

fn print_metered_rates(metered: &[Metered<'_>]) {
    for &(route, on, off) in metered {
        println!(
            "{:<30}{}",
            format!("{route}, metrics on:"),
            percent_of(
                on,
                rate_percent(on, off),
                "of the same with them off, loaded at once"
            )
        );
    }
}

fn print_metered_targets(metered: &[Metered<'_>]) {
    for &(route, on, off) in metered {
        print_target(
            &format!("{route} with metrics on >= {METRICS_ON_MIN_PERCENT_OF_OFF}% of off"),
            rate_percent(on, off).map(|p| (p >= METRICS_ON_MIN_PERCENT_OF_OFF, format!("{p:.1}%"))),
            &[on, off],
        );
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
