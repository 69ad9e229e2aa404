//! The rate limiters against the real thing: the in-memory GCRA always, and the Redis script
//! against the machine's Redis (`REDIS_TEST_URL`, default `redis://127.0.0.1:6379`). Under
//! `CI=true` an unreachable Redis fails the test; elsewhere the Redis part says it is skipped.

use std::net::{IpAddr, Ipv6Addr};
use std::time::Duration;

use warden_adapters::rate_limit::GcraLimiter;
use warden_adapters::settings::{Rate, RateLimitSettings, RatePeriod};
use warden_domain::rate_limit::{Decision, RateLimiter as _, RouteGroup};

fn settings(login: Rate) -> RateLimitSettings {
    RateLimitSettings {
        login,
        ..RateLimitSettings::default()
    }
}

/// An address no other test run uses, so that budgets left in Redis by earlier runs never
/// meet this one.
fn fresh_ip() -> IpAddr {
    let n = uuid::Uuid::new_v4().as_u128();
    IpAddr::V6(Ipv6Addr::from(
        (0x2001_0db8_u128 << 96) | (n & ((1 << 96) - 1)),
    ))
}

/// Redis, or `None` (with a note) where none is reachable outside CI.
async fn redis_limiter(rate: Rate) -> Option<GcraLimiter> {
    let url = std::env::var("REDIS_TEST_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let limiter = GcraLimiter::shared(&settings(rate), &url).unwrap();
    match limiter.shared_store_ready().await {
        Some(true) => Some(limiter),
        _ if std::env::var("CI").is_err() => {
            eprintln!("SKIPPED Redis rate-limit tests: {url} does not answer");
            None
        }
        _ => panic!("CI=true but Redis at {url} does not answer"),
    }
}

/// `count` checks one after another, as (allowed, remaining) pairs.
async fn burst(limiter: &GcraLimiter, ip: IpAddr, count: usize) -> Vec<(bool, u32)> {
    let mut out = Vec::new();
    for _ in 0..count {
        let d = limiter.check(RouteGroup::Login, ip).await;
        out.push((d.allowed, d.remaining));
    }
    out
}

fn expected_burst(limit: u32, count: usize) -> Vec<(bool, u32)> {
    (0..count)
        .map(|i| {
            let i = u32::try_from(i).unwrap();
            if i < limit {
                (true, limit - i - 1)
            } else {
                (false, 0)
            }
        })
        .collect()
}

fn assert_refusal(d: &Decision, period: Duration, limit: u32) {
    assert!(!d.allowed);
    assert_eq!(d.limit, limit);
    assert_eq!(d.remaining, 0);
    let interval = period / limit;
    // The next request is one emission interval away (less the time the burst took).
    assert!(
        d.retry_after <= interval && d.retry_after + Duration::from_secs(5) > interval,
        "{d:?}"
    );
    // The whole budget is back one period after the burst.
    assert!(
        d.reset <= period && d.reset + Duration::from_secs(5) > period,
        "{d:?}"
    );
}

#[tokio::test]
async fn memory_allows_the_burst_then_refuses_with_the_wait() {
    let rate = Rate::new(5, RatePeriod::Hour);
    let limiter = GcraLimiter::in_memory(&settings(rate));
    let ip = fresh_ip();
    assert_eq!(burst(&limiter, ip, 7).await, expected_burst(5, 7));
    let refused = limiter.check(RouteGroup::Login, ip).await;
    assert_refusal(&refused, Duration::from_hours(1), 5);
    // Another address and another group have budgets of their own.
    assert!(limiter.check(RouteGroup::Login, fresh_ip()).await.allowed);
    assert!(limiter.check(RouteGroup::Register, ip).await.allowed);
}

#[tokio::test]
async fn redis_gives_the_same_answers_as_memory() {
    let rate = Rate::new(5, RatePeriod::Hour);
    let Some(limiter) = redis_limiter(rate).await else {
        return;
    };
    let ip = fresh_ip();
    assert_eq!(burst(&limiter, ip, 7).await, expected_burst(5, 7));
    let refused = limiter.check(RouteGroup::Login, ip).await;
    assert_refusal(&refused, Duration::from_hours(1), 5);
    let first = limiter.check(RouteGroup::Login, fresh_ip()).await;
    assert!(first.allowed);
    assert_eq!(first.remaining, 4);
    assert_eq!(first.reset, Duration::from_mins(12));
}

#[tokio::test]
async fn two_limiters_on_one_redis_spend_one_budget_under_concurrency() {
    const LIMIT: u32 = 9;
    let rate = Rate::new(LIMIT, RatePeriod::Hour);
    let (Some(a), Some(b)) = (redis_limiter(rate).await, redis_limiter(rate).await) else {
        return;
    };
    for _ in 0..5 {
        let ip = fresh_ip();
        let tasks: Vec<_> = (0..40)
            .map(|i| {
                let limiter = if i % 2 == 0 { a.clone() } else { b.clone() };
                tokio::spawn(async move { limiter.check(RouteGroup::Login, ip).await })
            })
            .collect();
        let mut allowed = 0;
        let mut remaining_seen = Vec::new();
        for task in tasks {
            let d = task.await.unwrap();
            if d.allowed {
                allowed += 1;
                remaining_seen.push(d.remaining);
            }
        }
        assert_eq!(allowed, LIMIT, "one budget across both limiters");
        remaining_seen.sort_unstable();
        assert_eq!(remaining_seen, (0..LIMIT).collect::<Vec<_>>());
    }
}

#[tokio::test]
async fn an_unreachable_redis_falls_back_to_memory_at_once() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let rate = Rate::new(3, RatePeriod::Hour);
    let limiter =
        GcraLimiter::shared(&settings(rate), &format!("redis://127.0.0.1:{port}")).unwrap();
    assert_eq!(limiter.shared_store_ready().await, Some(false));
    let ip = fresh_ip();
    let started = std::time::Instant::now();
    assert_eq!(burst(&limiter, ip, 5).await, expected_burst(3, 5));
    // Only the first check waits for Redis; the rest go straight to memory.
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn a_malformed_redis_url_is_refused_by_name() {
    let mut s = warden_adapters::Settings::default();
    s.redis.url = Some("http://cache:6379".into());
    let e = s.validate().unwrap_err();
    assert!(e.to_string().starts_with("redis.url: "), "{e}");
    // Redis's own reason stays underneath, for code and logs.
    assert!(std::error::Error::source(&e).is_some(), "{e:?}");
}
