//! Rate limits per client IP and route group, as GCRA: governor's keyed limiters in memory, or,
//! with `redis.url`, one Lua script per request that keeps the same algorithm in Redis on
//! Redis's own clock, so that every instance spends one shared budget.
//!
//! When Redis fails or is slow, the check falls back to the in-memory limiters with a warning,
//! and stays there (no request waits on a dead Redis) until a background probe sees Redis
//! answer again.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::{Quota, RateLimiter as Gcra};
use tracing::{info, warn};

use async_trait::async_trait;
use warden_domain::rate_limit::{Decision, RateLimiter, RouteGroup};

use crate::settings::{Rate, RateLimitSettings};

/// The Redis commands of one check may take this long before the memory limiters take over.
const REDIS_TIMEOUT: Duration = Duration::from_millis(250);
/// How often a degraded limiter asks Redis whether it is back.
const PROBE_EVERY: Duration = Duration::from_secs(1);
/// Every key this service writes to Redis starts with this.
const KEY_PREFIX: &str = "warden:rl:";

/// One GCRA step in Redis: `KEYS[1]` the counter, `ARGV[1]` the emission interval and
/// `ARGV[2]` the burst tolerance (interval × (limit − 1)), both in microseconds. The key holds
/// the theoretical arrival time (TAT) in microseconds of Redis's clock and expires when the
/// budget is whole again. Returns `{allowed, remaining, retry_after_us, reset_us}`.
const GCRA_SCRIPT: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
if tat - now > tolerance then
  return {0, 0, tat - now - tolerance, tat - now}
end
local next = tat + interval
redis.call('SET', KEYS[1], string.format('%.0f', next), 'PX', math.ceil((next - now) / 1000))
return {1, math.floor((tolerance + interval - (next - now)) / interval), 0, next - now}
";

/// One group's rule: the configured rate as GCRA parameters.
#[derive(Debug, Clone, Copy)]
struct Rule {
    limit: u32,
    interval: Duration,
}

impl Rule {
    fn new(rate: Rate) -> Self {
        let limit = rate.count.max(1);
        // At least 1 µs, so that Redis (which counts in microseconds) agrees with memory.
        let interval = (rate.period_duration() / limit).max(Duration::from_micros(1));
        Self { limit, interval }
    }

    fn quota(self) -> Quota {
        let burst = NonZeroU32::new(self.limit).unwrap_or(NonZeroU32::MIN);
        Quota::with_period(self.interval)
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MAX))
            .allow_burst(burst)
    }

    /// The time, beyond one interval, that a burst may run ahead of the steady rate.
    fn tolerance(self) -> Duration {
        self.interval * (self.limit - 1)
    }
}

type KeyedGcra = Gcra<
    IpAddr,
    governor::state::keyed::DefaultKeyedStateStore<IpAddr>,
    DefaultClock,
    StateInformationMiddleware,
>;

/// One group: its rule and its per-instance limiter.
#[derive(Debug)]
struct Group {
    rule: Rule,
    local: KeyedGcra,
}

impl Group {
    fn new(rate: Rate) -> Self {
        let rule = Rule::new(rate);
        Self {
            rule,
            local: Gcra::dashmap(rule.quota()).with_middleware::<StateInformationMiddleware>(),
        }
    }

    fn check_locally(&self, ip: IpAddr) -> Decision {
        let rule = self.rule;
        match self.local.check_key(&ip) {
            Ok(state) => {
                let remaining = state.remaining_burst_capacity();
                Decision {
                    allowed: true,
                    limit: rule.limit,
                    remaining,
                    reset: rule.interval * (rule.limit - remaining),
                    retry_after: Duration::ZERO,
                }
            }
            Err(not_until) => {
                let wait = not_until.wait_time_from(self.local.clock().now());
                Decision {
                    allowed: false,
                    limit: rule.limit,
                    remaining: 0,
                    reset: wait + rule.tolerance(),
                    retry_after: wait,
                }
            }
        }
    }
}

/// Redis, when `redis.url` is set, and whether it is currently being bypassed.
struct Shared {
    connection: redis::aio::ConnectionManager,
    script: redis::Script,
    degraded: AtomicBool,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("degraded", &self.degraded.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl Shared {
    async fn check(
        &self,
        group: RouteGroup,
        rule: Rule,
        ip: IpAddr,
    ) -> redis::RedisResult<Decision> {
        let key = format!("{KEY_PREFIX}{}:{ip}", group.name());
        let mut invocation = self.script.key(key);
        invocation
            .arg(micros(rule.interval))
            .arg(micros(rule.tolerance()));
        let mut connection = self.connection.clone();
        let call = invocation.invoke_async::<(u8, u32, u64, u64)>(&mut connection);
        let (allowed, remaining, retry_after_us, reset_us) =
            tokio::time::timeout(REDIS_TIMEOUT, call)
                .await
                .map_err(|_| timed_out())??;
        Ok(Decision {
            allowed: allowed == 1,
            limit: rule.limit,
            remaining: remaining.min(rule.limit),
            reset: Duration::from_micros(reset_us),
            retry_after: Duration::from_micros(retry_after_us),
        })
    }

    async fn ping(&self) -> bool {
        let mut connection = self.connection.clone();
        let command = redis::cmd("PING");
        let ping = command.query_async::<String>(&mut connection);
        matches!(tokio::time::timeout(REDIS_TIMEOUT, ping).await, Ok(Ok(_)))
    }
}

fn timed_out() -> redis::RedisError {
    std::io::Error::from(std::io::ErrorKind::TimedOut).into()
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// The rate limits of every route group, per client IP: the [`RateLimiter`] port.
#[derive(Debug, Clone)]
pub struct GcraLimiter {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    login: Group,
    register: Group,
    mail: Group,
    default: Group,
    shared: Option<Shared>,
}

impl GcraLimiter {
    /// Per-instance limits.
    pub fn in_memory(settings: &RateLimitSettings) -> Self {
        Self::with_shared(settings, None)
    }

    /// Limits shared through Redis at `url`. No connection is made here: an unreachable Redis
    /// must not stop start-up; the first checks find out and fall back.
    ///
    /// # Errors
    /// When `url` is not a Redis URL.
    pub fn shared(settings: &RateLimitSettings, url: &str) -> redis::RedisResult<Self> {
        let client = redis::Client::open(url)?;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(REDIS_TIMEOUT))
            .set_response_timeout(Some(REDIS_TIMEOUT))
            .set_number_of_retries(1);
        let connection = redis::aio::ConnectionManager::new_lazy_with_config(client, config)?;
        Ok(Self::with_shared(
            settings,
            Some(Shared {
                connection,
                script: redis::Script::new(GCRA_SCRIPT),
                degraded: AtomicBool::new(false),
            }),
        ))
    }

    /// `None` without Redis; otherwise whether the limits run on this instance's own counters
    /// because Redis did not answer.
    pub fn falling_back(&self) -> Option<bool> {
        self.inner
            .shared
            .as_ref()
            .map(|s| s.degraded.load(Ordering::Relaxed))
    }

    fn with_shared(settings: &RateLimitSettings, shared: Option<Shared>) -> Self {
        Self {
            inner: Arc::new(Inner {
                login: Group::new(settings.login),
                register: Group::new(settings.register),
                mail: Group::new(settings.mail),
                default: Group::new(settings.default),
                shared,
            }),
        }
    }

    /// Switches to the memory limiters and starts probing Redis, once per outage.
    fn degrade(&self, e: &redis::RedisError) {
        let Some(shared) = &self.inner.shared else {
            return;
        };
        if shared.degraded.swap(true, Ordering::AcqRel) {
            return;
        }
        warn!(
            error = %e,
            "Redis does not answer: rate limits fall back to this instance's own counters"
        );
        let limiter = self.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(PROBE_EVERY);
            every.tick().await;
            loop {
                every.tick().await;
                if limiter.shared_store_ready().await == Some(true) {
                    info!("Redis answers again: rate limits are shared again");
                    return;
                }
            }
        });
    }
}

#[async_trait]
impl RateLimiter for GcraLimiter {
    /// Spends one request of `ip`'s budget in `group`.
    async fn check(&self, group: RouteGroup, ip: IpAddr) -> Decision {
        let limits = &self.inner;
        let local = match group {
            RouteGroup::Login => &limits.login,
            RouteGroup::Register => &limits.register,
            RouteGroup::Mail => &limits.mail,
            RouteGroup::Default => &limits.default,
        };
        if let Some(shared) = &limits.shared
            && !shared.degraded.load(Ordering::Relaxed)
        {
            match shared.check(group, local.rule, ip).await {
                Ok(decision) => return decision,
                Err(e) => self.degrade(&e),
            }
        }
        local.check_locally(ip)
    }

    /// `None` without Redis; otherwise whether Redis answers now. A success ends a fallback.
    async fn shared_store_ready(&self) -> Option<bool> {
        let shared = self.inner.shared.as_ref()?;
        let ready = shared.ping().await;
        if ready {
            shared.degraded.store(false, Ordering::Release);
        }
        Some(ready)
    }

    /// Drops the memory state of clients whose budget is whole again, so it cannot grow without
    /// bound.
    fn forget_idle_clients(&self) {
        for group in [
            &self.inner.login,
            &self.inner.register,
            &self.inner.mail,
            &self.inner.default,
        ] {
            group.local.retain_recent();
            group.local.shrink_to_fit();
        }
    }
}
