//! `cargo xtask bench --baseline BINARY`: the same scenarios against another build in the same
//! run, each right after its twin, so that a change is judged against figures measured under
//! the same noise rather than against last week's table.

use super::{HEALTH, LOGIN, ME, ME_KEY, Options, Outcome, Scenario, Target, login, rate_percent};

const BASE_HEALTH: &str = "baseline: GET /health/live";
const BASE_ME: &str = "baseline: GET /users/me";
const BASE_ME_KEY: &str = "baseline: GET /users/me (API key)";
const BASE_LOGIN: &str = "baseline: POST /auth/token (login)";

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

/// The rounds with each compared round followed by its twin on the baseline.
pub(super) fn interleave(
    rounds: Vec<Vec<Scenario>>,
    options: &Options,
    token: &str,
    key: &str,
) -> Vec<Vec<Scenario>> {
    let mut out = Vec::with_capacity(rounds.len() + PAIRS.len());
    for round in rounds {
        let twin = twin(&round, options, token, key);
        out.push(round);
        out.extend(twin.map(|scenario| vec![scenario]));
    }
    out
}

/// Prints this build beside the baseline: rates, p50s and the rate ratios.
pub(super) fn compare(outcomes: &[Outcome]) {
    let find = |name: &str| outcomes.iter().find(|outcome| outcome.name == name);
    println!();
    println!("this build beside the baseline (same run, each right after the other):");
    println!(
        "  {:<32} {:>12} {:>12} {:>9} {:>9} {:>9}",
        "scenario", "req/s", "baseline", "ratio", "p50 ms", "base p50"
    );
    for (ours, theirs) in PAIRS {
        let (Some(ours), Some(theirs)) = (find(ours), find(theirs)) else {
            continue;
        };
        let ratio = rate_percent(Some(ours), Some(theirs)).unwrap_or(0.0);
        println!(
            "  {:<32} {:>12.1} {:>12.1} {:>8.1}% {:>9.3} {:>9.3}",
            ours.name,
            ours.report.requests_per_sec,
            theirs.report.requests_per_sec,
            ratio,
            ours.report.p50_ms,
            theirs.report.p50_ms
        );
    }
    let me_of_health = |me: &str, health: &str| rate_percent(find(me), find(health));
    if let (Some(ours), Some(theirs)) =
        (me_of_health(ME, HEALTH), me_of_health(BASE_ME, BASE_HEALTH))
    {
        println!("  /users/me as a share of /health/live: {ours:.1}% (baseline {theirs:.1}%)");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_compared_round_is_followed_by_its_twin_on_the_baseline() {
        let options = Options::default();
        let rounds = super::super::scenarios(&options, "t", "k");
        let before = rounds.len();
        let rounds = interleave(rounds, &options, "bt", "bk");
        assert_eq!(rounds.len(), before + PAIRS.len());
        for (ours, theirs) in PAIRS {
            let at = rounds.iter().position(|r| r[0].name == ours).unwrap();
            assert_eq!(rounds[at + 1][0].name, theirs);
            assert_eq!(rounds[at + 1][0].target, Target::Baseline);
        }
        let me = rounds.iter().find(|r| r[0].name == BASE_ME).unwrap();
        assert_eq!(
            me[0].headers,
            [("Authorization".to_owned(), "Bearer bt".to_owned())]
        );
    }
}
