//! `cargo xtask bench --baseline BINARY`: the same scenarios against another build in the same
//! run, alternating with their twins [`PAIRED_RUNS`] times and compared by their medians, so
//! that a change is judged against figures measured under the same noise rather than against
//! last week's table.

use super::Options;
use super::scenarios::{HEALTH, LOGIN, ME, ME_KEY, Scenario, Target, login};
use super::wrk::Outcome;

const BASE_HEALTH: &str = "baseline: GET /health/live";
const BASE_ME: &str = "baseline: GET /users/me";
const BASE_ME_KEY: &str = "baseline: GET /users/me (API key)";
const BASE_LOGIN: &str = "baseline: POST /auth/token (login)";

/// How many times each compared scenario runs, alternating with its twin.
const PAIRED_RUNS: usize = 3;

/// The pairs the comparison reports: this build's scenario and the baseline's.
const PAIRS: [(&str, &str); 4] = [
    (HEALTH, BASE_HEALTH),
    (ME, BASE_ME),
    (ME_KEY, BASE_ME_KEY),
    (LOGIN, BASE_LOGIN),
];

/// The baseline's twin of a one-scenario round, if the comparison covers it.
fn twin(round: &[Scenario], options: &Options, token: &str, key: &str) -> Option<Scenario> {
    let [scenario] = round else {
        return None;
    };
    let connections = options.connections;
    let twin = match scenario.name {
        HEALTH => Scenario::get(BASE_HEALTH, "/health/live", connections),
        ME => Scenario::get(BASE_ME, "/users/me", connections)
            .header("Authorization", &format!("Bearer {token}")),
        ME_KEY => Scenario::get(BASE_ME_KEY, "/users/me", connections).header("X-API-Key", key),
        LOGIN => login(BASE_LOGIN, connections),
        _ => return None,
    };
    Some(twin.on(Target::Baseline))
}

/// The rounds with each compared round alternating with its twin on the baseline,
/// [`PAIRED_RUNS`] times each.
pub(super) fn interleave(
    rounds: Vec<Vec<Scenario>>,
    options: &Options,
    token: &str,
    key: &str,
) -> Vec<Vec<Scenario>> {
    let mut out = Vec::with_capacity(rounds.len() + PAIRS.len());
    for round in rounds {
        if let Some(twin) = twin(&round, options, token, key) {
            for _ in 0..PAIRED_RUNS {
                out.push(round.clone());
                out.push(vec![twin.clone()]);
            }
        } else {
            out.push(round);
        }
    }
    out
}

/// The median of the values (the upper one of an even count).
fn median(mut values: Vec<f64>) -> Option<f64> {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied()
}

/// The median rate and median p50 of every run of the scenario `name`.
fn medians(outcomes: &[Outcome], name: &str) -> Option<(f64, f64)> {
    let runs: Vec<&Outcome> = outcomes.iter().filter(|o| o.name == name).collect();
    let rate = median(runs.iter().map(|o| o.report.requests_per_sec).collect())?;
    let p50 = median(runs.iter().map(|o| o.report.p50_ms).collect())?;
    Some((rate, p50))
}

/// Prints this build beside the baseline: median rates and p50s, and the rate ratios.
pub(super) fn compare(outcomes: &[Outcome]) {
    println!();
    println!(
        "this build beside the baseline (same run, alternating, medians of {PAIRED_RUNS} runs each):"
    );
    println!(
        "  {:<32} {:>12} {:>12} {:>9} {:>9} {:>9}",
        "scenario", "req/s", "baseline", "ratio", "p50 ms", "base p50"
    );
    for (ours, theirs) in PAIRS {
        let (Some((rate, p50)), Some((base_rate, base_p50))) =
            (medians(outcomes, ours), medians(outcomes, theirs))
        else {
            continue;
        };
        println!(
            "  {ours:<32} {rate:>12.1} {base_rate:>12.1} {:>8.1}% {p50:>9.3} {base_p50:>9.3}",
            rate / base_rate.max(f64::MIN_POSITIVE) * 100.0
        );
    }
    let share = |me: &str, health: &str| {
        let (me, _) = medians(outcomes, me)?;
        let (health, _) = medians(outcomes, health)?;
        Some(me / health.max(f64::MIN_POSITIVE) * 100.0)
    };
    if let (Some(ours), Some(theirs)) = (share(ME, HEALTH), share(BASE_ME, BASE_HEALTH)) {
        println!("  /users/me as a share of /health/live: {ours:.1}% (baseline {theirs:.1}%)");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_compared_round_is_followed_by_its_twin_on_the_baseline() {
        let options = Options::default();
        let rounds = super::super::scenarios::scenarios(&options, "t", "k", "m");
        let before = rounds.len();
        let rounds = interleave(rounds, &options, "bt", "bk");
        assert_eq!(rounds.len(), before + PAIRS.len() * (2 * PAIRED_RUNS - 1));
        for (ours, theirs) in PAIRS {
            let at = rounds.iter().position(|r| r[0].name == ours).unwrap();
            for run in 0..PAIRED_RUNS {
                assert_eq!(rounds[at + 2 * run][0].name, ours);
                assert_eq!(rounds[at + 2 * run + 1][0].name, theirs);
                assert_eq!(rounds[at + 2 * run + 1][0].target, Target::Baseline);
            }
        }
        let me = rounds.iter().find(|r| r[0].name == BASE_ME).unwrap();
        assert_eq!(
            me[0].headers,
            [("Authorization".to_owned(), "Bearer bt".to_owned())]
        );
    }

    #[test]
    fn medians_take_the_middle_run() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(vec![4.0, 1.0]), Some(4.0));
        assert_eq!(median(Vec::new()), None);
    }
}
