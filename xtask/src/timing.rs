//! `cargo xtask timing`: whether the time a failed login, or a request for a reset mail, takes
//! tells which emails exist.
//!
//! A debug server runs on SQLite and then on a fresh PostgreSQL database. Each round sends, in
//! a random order, a wrong password for an existing account, a login for an unknown email and
//! one for a username that is no email; each must get the same answer. Then the same three
//! addresses ask `POST /auth/password/forgot` for a reset link (the existing account gets at
//! most one mail a minute; the others none), and each must get the same 202. The paired differences
//! (existing minus the other) give a median with a 95 % distribution-free confidence interval
//! (sign test) and a Wilcoxon signed-rank p-value. The task fails only when a difference is
//! both significant (p < 0.001) and larger than 1 ms, so that noise alone cannot fail it.
//! Rate limits and lockout limits are out of reach, so that every attempt is counted (the path
//! that writes), and hashing is at its cheapest, so that storage is most of what is measured.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::client::{Client, password_form};
use crate::server::{self, Server};
use crate::services::Database;
use crate::{Result, cargo, run_command};

const PASSWORD: &str = "violet tractor hums 42 quiet lanterns";
const EXISTING: &str = "timing@example.com";
const UNKNOWN: &str = "nobody-timing@example.com";
const MALFORMED: &str = "no email at all";
const WARM_UP: usize = 30;
const ROUNDS: usize = 400;
/// A significant difference smaller than this is not worth failing for.
const MAX_DIFFERENCE_MS: f64 = 1.0;
const MAX_P: f64 = 0.001;
/// The 97.5th percentile of the standard normal distribution, for a 95 % interval.
const Z_95: f64 = 1.959_964;
const TIMEOUT: Duration = Duration::from_secs(30);

pub(crate) fn run() -> Result {
    run_command(cargo().args(["build", "-p", "warden-server"]))?;
    let binary = server::binary_path("debug");
    // Every attempt is counted, none is locked out (see `server::UNLIMITED`).
    let common = [&server::UNLIMITED[..], &server::CHEAP_HASHING].concat();
    let mut leaks = measure_on("sqlite", &binary, &common)?;
    let database = Database::create("timing")?;
    let url = database.url();
    let on_postgres = [&common[..], &[("WARDEN_DATABASE__URL", url.as_str())]].concat();
    let postgres = measure_on("postgres", &binary, &on_postgres);
    database.drop_it();
    leaks.extend(postgres?);
    if leaks.is_empty() {
        println!(
            "timing: no difference both significant (p < {MAX_P}) and over {MAX_DIFFERENCE_MS} ms"
        );
        Ok(())
    } else {
        Err(format!("time tells accounts apart: {}", leaks.join("; ")))
    }
}

/// Starts a server with these settings, measures it and stops it.
fn measure_on(
    backend: &str,
    binary: &std::path::Path,
    vars: &[(&str, &str)],
) -> Result<Vec<String>> {
    let server = Server::start_with(binary, vars)?;
    let outcome = measure(backend, &server);
    server.stop();
    outcome
}

/// What is timed: a wrong password at the token endpoint, or a request for a reset mail.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Probe {
    Login,
    Forgot,
}

impl Probe {
    fn name(self) -> &'static str {
        match self {
            Self::Login => "a wrong password",
            Self::Forgot => "a reset request",
        }
    }

    fn send(self, client: &Client, email: &str) -> Result<crate::client::Response> {
        match self {
            Self::Login => client.try_token(&password_form(email, "not the password 1")),
            Self::Forgot => {
                let body = serde_json::json!({ "email": email }).to_string();
                client.request(
                    "POST",
                    "/auth/password/forgot",
                    &[("Content-Type", "application/json")],
                    body.as_bytes(),
                )
            }
        }
    }

    /// The status every address must get.
    fn status(self) -> u16 {
        match self {
            Self::Login => 400,
            Self::Forgot => 202,
        }
    }
}

/// Measures one server; the differences that fail the task, in words.
fn measure(backend: &str, server: &Server) -> Result<Vec<String>> {
    server.client().register(EXISTING, PASSWORD)?;
    let mut leaks = measure_probe(backend, server, Probe::Login)?;
    leaks.extend(measure_probe(backend, server, Probe::Forgot)?);
    Ok(leaks)
}

/// Measures one probe; the differences that fail the task, in words.
fn measure_probe(backend: &str, server: &Server, probe: Probe) -> Result<Vec<String>> {
    let kinds = [EXISTING, UNKNOWN, MALFORMED];
    let client = Client::new(server.addr(), TIMEOUT);
    let mut times: [Vec<f64>; 3] = Default::default();
    let mut answer: Option<(u16, Vec<u8>)> = None;
    let mut random = XorShift::seeded();
    for round in 0..WARM_UP + ROUNDS {
        let mut order = [0, 1, 2];
        random.shuffle(&mut order);
        for kind in order {
            let started = Instant::now();
            let r = probe.send(&client, kinds[kind])?;
            let took = started.elapsed().as_secs_f64() * 1000.0;
            let this = (r.status, r.body);
            match &answer {
                None if this.0 == probe.status() => answer = Some(this),
                Some(first) if *first == this => {}
                _ => {
                    return Err(format!(
                        "{backend}: {} got {} {}, unlike the others",
                        kinds[kind],
                        this.0,
                        String::from_utf8_lossy(&this.1)
                    ));
                }
            }
            if round >= WARM_UP {
                times[kind].push(took);
            }
        }
    }
    println!(
        "{backend}: {ROUNDS} rounds; {} for an existing account takes {:.3} ms (median)",
        probe.name(),
        median(&times[0])
    );
    let mut leaks = Vec::new();
    for (other, name) in [(1, "an unknown email"), (2, "a malformed email")] {
        let differences: Vec<f64> = times[0]
            .iter()
            .zip(&times[other])
            .map(|(existing, other)| existing - other)
            .collect();
        let summary = Summary::of(&differences);
        println!("  existing minus {name}: {summary}");
        if summary.leaks() {
            leaks.push(format!(
                "{backend}, {}, existing minus {name}: {summary}",
                probe.name()
            ));
        }
    }
    Ok(leaks)
}

/// The paired differences of one comparison, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Summary {
    median: f64,
    low: f64,
    high: f64,
    p: f64,
}

impl Summary {
    fn of(differences: &[f64]) -> Self {
        let (low, high) = sign_test_interval(differences);
        Self {
            median: median(differences),
            low,
            high,
            p: wilcoxon_p(differences),
        }
    }

    /// Significant and large enough to matter.
    fn leaks(&self) -> bool {
        self.p < MAX_P && self.median.abs() > MAX_DIFFERENCE_MS
    }
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "median difference {:+.3} ms (95% CI {:+.3} .. {:+.3} ms), Wilcoxon signed-rank p = {:.2e}",
            self.median, self.low, self.high, self.p
        )
    }
}

fn sorted(values: &[f64]) -> Vec<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted
}

fn median(values: &[f64]) -> f64 {
    let sorted = sorted(values);
    let n = sorted.len();
    match n {
        0 => f64::NAN,
        _ if n % 2 == 1 => sorted[n / 2],
        _ => f64::midpoint(sorted[n / 2 - 1], sorted[n / 2]),
    }
}

/// The distribution-free 95 % confidence interval of the median: the order statistics the
/// sign test puts around it (normal approximation of the binomial, fine for n in the hundreds).
fn sign_test_interval(values: &[f64]) -> (f64, f64) {
    let sorted = sorted(values);
    let n = sorted.len();
    if n == 0 {
        return (f64::NAN, f64::NAN);
    }
    // The interval is the k-th smallest to the k-th largest (k counted from 1).
    #[allow(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss
    )]
    let k = ((n as f64 - Z_95 * (n as f64).sqrt()) / 2.0)
        .floor()
        .max(1.0) as usize;
    (sorted[k - 1], sorted[n - k])
}

/// The two-sided p-value of the Wilcoxon signed-rank test that the differences are centred on
/// zero: zeros dropped, ties given their average rank, the normal approximation with the tie
/// correction.
fn wilcoxon_p(differences: &[f64]) -> f64 {
    let mut nonzero: Vec<f64> = differences.iter().copied().filter(|d| *d != 0.0).collect();
    if nonzero.is_empty() {
        return 1.0;
    }
    nonzero.sort_by(|a, b| a.abs().total_cmp(&b.abs()));
    let n = as_f64(nonzero.len());
    let (mut w_plus, mut ties) = (0.0, 0.0);
    let mut start = 0;
    while start < nonzero.len() {
        // Equal magnitudes (exactly equal: a tie) share the average of their ranks.
        let mut end = start + 1;
        while end < nonzero.len() && nonzero[end].abs().total_cmp(&nonzero[start].abs()).is_eq() {
            end += 1;
        }
        let rank = as_f64(start + 1 + end) / 2.0;
        let t = as_f64(end - start);
        w_plus += rank * as_f64(nonzero[start..end].iter().filter(|d| **d > 0.0).count());
        ties += t * t * t - t;
        start = end;
    }
    let mean = n * (n + 1.0) / 4.0;
    let variance = n * (n + 1.0) * (2.0 * n + 1.0) / 24.0 - ties / 48.0;
    if variance <= 0.0 {
        return 1.0;
    }
    let z = (w_plus - mean) / variance.sqrt();
    erfc(z.abs() / std::f64::consts::SQRT_2).min(1.0)
}

/// A count as a float: the counts here are far below 2^52, so nothing is lost.
#[allow(clippy::cast_precision_loss)]
fn as_f64(count: usize) -> f64 {
    count as f64
}

/// The complementary error function (Chebyshev fit, relative error under 1.2e-7).
#[allow(clippy::unreadable_literal)]
fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.26551223
        + t * (1.00002368
            + t * (0.37409196
                + t * (0.09678418
                    + t * (-0.18628806
                        + t * (0.27886807
                            + t * (-1.13520398
                                + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
    let r = t * poly.exp();
    if x >= 0.0 { r } else { 2.0 - r }
}

/// A small xorshift generator for the order of each round; nothing here needs more.
struct XorShift(u64);

impl XorShift {
    fn seeded() -> Self {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        Self(u64::from(nanos) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// Fisher–Yates.
    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            #[allow(clippy::cast_possible_truncation)]
            let j = (self.next() % (i as u64 + 1)) as usize;
            items.swap(i, j);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tolerance: f64) -> bool {
        (a - b).abs() <= tolerance * b.abs().max(1e-300)
    }

    #[test]
    fn erfc_matches_known_values() {
        assert!(close(erfc(0.0), 1.0, 1e-6));
        assert!(close(erfc(1.0), 0.157_299_207, 1e-6));
        assert!(close(erfc(-1.0), 1.842_700_793, 1e-6));
        assert!(close(erfc(3.0), 2.209_049_7e-5, 1e-5));
    }

    #[test]
    fn medians_of_odd_and_even_lengths() {
        assert!(close(median(&[3.0, 1.0, 2.0]), 2.0, 0.0));
        assert!(close(median(&[4.0, 1.0, 3.0, 2.0]), 2.5, 0.0));
        assert!(median(&[]).is_nan());
    }

    #[test]
    fn wilcoxon_of_twenty_positive_differences() {
        // W+ = 210, mean 105, variance 717.5: z = 3.920, p = 8.86e-5.
        let all_up: Vec<f64> = (1..=20).map(f64::from).collect();
        assert!(
            close(wilcoxon_p(&all_up), 8.86e-5, 1e-2),
            "{}",
            wilcoxon_p(&all_up)
        );
        let all_down: Vec<f64> = all_up.iter().map(|d| -d).collect();
        assert!(close(wilcoxon_p(&all_down), wilcoxon_p(&all_up), 1e-9));
    }

    #[test]
    fn wilcoxon_of_symmetric_or_empty_differences_is_not_significant() {
        let symmetric: Vec<f64> = (1..=50)
            .flat_map(|d| [f64::from(d), -f64::from(d)])
            .collect();
        assert!(close(wilcoxon_p(&symmetric), 1.0, 1e-6));
        assert!(close(wilcoxon_p(&[0.0, 0.0]), 1.0, 0.0));
        // Ties share their rank: four equal magnitudes, three up and one down.
        let tied = [1.0, 1.0, 1.0, -1.0];
        // W+ = 7.5, mean 5, variance 7.5 - 60/48 = 6.25: z = 1, p = 0.3173.
        assert!(
            close(wilcoxon_p(&tied), 0.317_310_5, 1e-5),
            "{}",
            wilcoxon_p(&tied)
        );
    }

    #[test]
    fn the_sign_test_interval_brackets_the_median() {
        let values: Vec<f64> = (0..300).map(f64::from).collect();
        // k = floor((300 - 1.96 * 17.32) / 2) = 133: the 133rd smallest and the 133rd largest.
        assert_eq!(sign_test_interval(&values), (132.0, 167.0));
        assert_eq!(sign_test_interval(&[5.0]), (5.0, 5.0));
    }

    #[test]
    fn only_a_difference_both_significant_and_over_a_millisecond_fails() {
        let at = |median: f64, p: f64| Summary {
            median,
            low: median - 0.1,
            high: median + 0.1,
            p,
        };
        assert!(at(1.01, 0.000_9).leaks());
        assert!(at(-1.01, 0.000_9).leaks(), "faster is as telling as slower");
        assert!(!at(1.0, 0.000_9).leaks(), "1 ms is not over 1 ms");
        assert!(!at(1.01, 0.001).leaks(), "p = 0.001 is not under 0.001");
        assert!(!at(0.5, 1e-12).leaks(), "significant but small");
        assert!(!at(5.0, 0.2).leaks(), "large but noise");
    }

    #[test]
    fn shuffles_are_permutations() {
        let mut random = XorShift(42);
        for _ in 0..100 {
            let mut order = [0, 1, 2];
            random.shuffle(&mut order);
            let mut seen = order;
            seen.sort_unstable();
            assert_eq!(seen, [0, 1, 2]);
        }
    }
}
