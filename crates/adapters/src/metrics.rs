//! The metrics of the use cases and the adapters, registered beside the edge's: login outcomes
//! and locks set (the domain's [`Observer`] port), the argon2 queue's wait and the hashes' time,
//! and, read at each scrape, the database pool's use and whether the rate limits fell back from
//! Redis. Every label is a bounded name; no address, email or id ever becomes a label.

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use sea_orm::DatabaseConnection;
use warden_domain::auth::LoginOutcome;
use warden_domain::lockout::LockScope;
use warden_domain::ports::Observer;

use crate::db;
use crate::rate_limit::GcraLimiter;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ScopeLabels {
    scope: &'static str,
}

/// Login outcomes and locks set, as the use cases report them.
#[derive(Clone, Debug)]
pub struct AuthCounters {
    logins: Family<OutcomeLabels, Counter>,
    locks: Family<ScopeLabels, Counter>,
}

impl Default for AuthCounters {
    /// Every outcome and scope starts at 0, so that each series exists before its first event
    /// (a rate over a series that appears only with its first lock is no rate at all).
    fn default() -> Self {
        let counters = Self {
            logins: Family::default(),
            locks: Family::default(),
        };
        for outcome in [
            LoginOutcome::Success,
            LoginOutcome::WrongPassword,
            LoginOutcome::UnknownUser,
            LoginOutcome::Locked,
            LoginOutcome::Disabled,
            LoginOutcome::Unverified,
        ] {
            let _ = counters.logins.get_or_create(&OutcomeLabels {
                outcome: outcome.as_str(),
            });
        }
        for scope in [
            LockScope::Ip([0, 0, 0, 0].into()),
            LockScope::Account,
            LockScope::CodeIp([0, 0, 0, 0].into()),
            LockScope::CodeAccount,
        ] {
            let _ = counters.locks.get_or_create(&ScopeLabels {
                scope: scope.kind(),
            });
        }
        counters
    }
}

impl Observer for AuthCounters {
    fn login(&self, outcome: LoginOutcome) {
        self.logins
            .get_or_create(&OutcomeLabels {
                outcome: outcome.as_str(),
            })
            .inc();
    }

    fn lock_set(&self, scope: &LockScope) {
        self.locks
            .get_or_create(&ScopeLabels {
                scope: scope.kind(),
            })
            .inc();
    }
}

/// The hashing threads' figures: how long a job waited for a thread, and how long it ran.
#[derive(Clone, Debug)]
pub struct HashTimings {
    wait: Histogram,
    run: Histogram,
}

impl Default for HashTimings {
    fn default() -> Self {
        // 0.1 ms doubling to about 3 s: a free thread's handover up to a long queue.
        let buckets = || Histogram::new(exponential_buckets(0.000_1, 2.0, 16));
        Self {
            wait: buckets(),
            run: buckets(),
        }
    }
}

impl HashTimings {
    /// One job: `waited` in the queue, then `ran` on a hashing thread.
    pub fn observe(&self, waited: Duration, ran: Duration) {
        self.wait.observe(waited.as_secs_f64());
        self.run.observe(ran.as_secs_f64());
    }
}

/// What is read at each scrape: the pool's use and the rate limits' fallback.
#[derive(Debug)]
struct Gauges {
    db: DatabaseConnection,
    limits: GcraLimiter,
}

fn gauge(encoder: &mut DescriptorEncoder, name: &str, help: &str, value: i64) -> std::fmt::Result {
    let value = ConstGauge::new(value);
    value.encode(encoder.encode_descriptor(name, help, None, value.metric_type())?)
}

impl Collector for Gauges {
    fn encode(&self, mut encoder: DescriptorEncoder) -> std::fmt::Result {
        let pool = db::pool_use(&self.db);
        let fallback = self.limits.falling_back().map(|on| {
            (
                "rate_limit_fallback",
                "1 while Redis does not answer and the rate limits run on this instance's counters",
                i64::from(on),
            )
        });
        let gauges = [
            (
                "db_pool_connections",
                "Database connections open (idle or in use)",
                pool.open,
            ),
            (
                "db_pool_idle_connections",
                "Open database connections not in use",
                pool.idle,
            ),
            (
                "db_pool_max_connections",
                "The most database connections the pool opens",
                pool.max,
            ),
        ]
        .map(|(name, help, value)| (name, help, i64::from(value)));
        for (name, help, value) in gauges.into_iter().chain(fallback) {
            gauge(&mut encoder, name, help, value)?;
        }
        Ok(())
    }
}

/// Every metric below the edge, for [`AdapterMetrics::register`] to add to the edge's registry.
#[derive(Debug, Clone)]
pub struct AdapterMetrics {
    /// The use cases' outcomes.
    pub auth: AuthCounters,
    /// The hashing threads'.
    pub hashing: HashTimings,
    gauges: Arc<Gauges>,
}

impl AdapterMetrics {
    pub(crate) fn new(
        auth: AuthCounters,
        hashing: HashTimings,
        db: DatabaseConnection,
        limits: GcraLimiter,
    ) -> Self {
        Self {
            auth,
            hashing,
            gauges: Arc::new(Gauges { db, limits }),
        }
    }

    /// Adds every metric to `registry`.
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "logins",
            "Password grants, by outcome (success, wrong_password, unknown_user, locked, disabled)",
            self.auth.logins.clone(),
        );
        registry.register(
            "lockouts",
            "Locks set by failed logins and second-factor codes, by scope (ip: one address out of one account; account; code_ip and code_account: the same for codes)",
            self.auth.locks.clone(),
        );
        registry.register(
            "password_hash_queue_wait_seconds",
            "Time a hash or verification waited for a hashing thread",
            self.hashing.wait.clone(),
        );
        registry.register(
            "password_hash_seconds",
            "Time a hash or verification ran on a hashing thread",
            self.hashing.run.clone(),
        );
        registry.register_collector(Box::new(self.gauges.clone()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::Settings;

    fn render(registry: &Registry) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, registry).unwrap();
        out
    }

    #[tokio::test]
    async fn outcomes_hash_times_and_the_pool_are_rendered_under_the_prefix() {
        let settings = Settings::default();
        let db = db::connect("sqlite::memory:", 1).await.unwrap();
        let metrics = AdapterMetrics::new(
            AuthCounters::default(),
            HashTimings::default(),
            db,
            GcraLimiter::in_memory(&settings.rate_limit),
        );
        metrics.auth.login(LoginOutcome::WrongPassword);
        metrics.auth.login(LoginOutcome::WrongPassword);
        metrics.auth.login(LoginOutcome::Success);
        metrics
            .auth
            .lock_set(&LockScope::Ip("192.0.2.1".parse().unwrap()));
        metrics
            .hashing
            .observe(Duration::from_millis(3), Duration::from_millis(40));
        let mut registry = Registry::with_prefix("warden");
        metrics.register(&mut registry);
        let text = render(&registry);
        for line in [
            "warden_logins_total{outcome=\"wrong_password\"} 2",
            "warden_logins_total{outcome=\"success\"} 1",
            "warden_lockouts_total{scope=\"ip\"} 1",
            "warden_lockouts_total{scope=\"account\"} 0",
            "warden_logins_total{outcome=\"disabled\"} 0",
            "warden_password_hash_queue_wait_seconds_count 1",
            "warden_password_hash_seconds_sum 0.04",
            "warden_db_pool_connections 1",
            "warden_db_pool_max_connections 1",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} not in\n{text}");
        }
        // No Redis: no fallback gauge, and never an address.
        assert!(!text.contains("rate_limit_fallback"), "{text}");
        assert!(!text.contains("192.0.2.1"), "{text}");
    }

    #[tokio::test]
    async fn a_timed_hasher_records_each_job() {
        use secrecy::SecretString;
        use warden_domain::ports::PasswordHasher;
        let timings = HashTimings::default();
        let hasher = crate::hasher::Argon2Hasher::new(1024, 1, 1, 1)
            .unwrap()
            .timed(timings.clone());
        let hash = hasher.hash(SecretString::from("pw")).await.unwrap();
        assert!(hasher.verify(SecretString::from("pw"), hash).await.unwrap());
        let mut registry = Registry::default();
        registry.register("wait", "", timings.wait.clone());
        registry.register("run", "", timings.run.clone());
        let text = render(&registry);
        assert!(text.lines().any(|l| l == "wait_count 2"), "{text}");
        assert!(text.lines().any(|l| l == "run_count 2"), "{text}");
    }

    #[tokio::test]
    async fn the_fallback_gauge_turns_to_one_when_redis_does_not_answer() {
        use warden_domain::rate_limit::{RateLimiter, RouteGroup};
        let settings = Settings::default();
        let db = db::connect("sqlite::memory:", 1).await.unwrap();
        // Nothing listens on port 1.
        let limits = GcraLimiter::shared(&settings.rate_limit, "redis://127.0.0.1:1/").unwrap();
        let metrics = AdapterMetrics::new(
            AuthCounters::default(),
            HashTimings::default(),
            db,
            limits.clone(),
        );
        let mut registry = Registry::with_prefix("warden");
        metrics.register(&mut registry);
        let has = |line: &str| render(&registry).lines().any(|l| l == line);
        assert!(has("warden_rate_limit_fallback 0"));
        let _ = limits
            .check(RouteGroup::Default, "192.0.2.1".parse().unwrap())
            .await;
        assert!(has("warden_rate_limit_fallback 1"), "{}", render(&registry));
    }
}
