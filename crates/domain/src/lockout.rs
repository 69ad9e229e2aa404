//! Lockout: consecutive failed logins for one account from one client IP lock that IP out of
//! that account; failures from all IPs together lock the account itself. Pure arithmetic here;
//! the state lives behind [`crate::ports::LockoutRepository`].

use time::{Duration, OffsetDateTime};

/// The longest lock.
const MAX_LOCK: Duration = Duration::hours(1);

/// Whose failures a [`LockState`] counts.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum LockScope {
    /// One client IP against one account.
    Ip(std::net::IpAddr),
    /// Every client against one account.
    Account,
}

impl LockScope {
    /// The storage key of the scope.
    pub fn key(&self) -> String {
        match self {
            Self::Ip(ip) => ip.to_string(),
            Self::Account => "account".to_owned(),
        }
    }
}

/// The failure count of one scope.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LockState {
    /// Consecutive failures since the last lock, success or unlock.
    pub failures: u32,
    /// When the current (or last) lock ends.
    pub locked_until: Option<OffsetDateTime>,
    /// Locks in a row with no success or unlock between: each doubles the next.
    pub locks_in_a_row: u32,
}

/// The `lockout.*` settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LockoutPolicy {
    /// Failures from one IP before it is locked out of the account.
    pub max_failures: u32,
    /// The first lock's length.
    pub base: Duration,
    /// Failures from all IPs before the account is locked.
    pub account_max_failures: u32,
}

impl LockState {
    /// Whether a lock is in force at `now`.
    pub fn is_locked(&self, now: OffsetDateTime) -> bool {
        self.locked_until.is_some_and(|until| until > now)
    }

    /// The state after one more failure with `limit` allowed.
    #[must_use]
    pub fn after_failure(self, now: OffsetDateTime, limit: u32, base: Duration) -> Self {
        let mut next = self;
        // A lock sets the count to zero, so when it has ended the count starts from zero.
        if self.locked_until.is_some_and(|until| until <= now) {
            next.locked_until = None;
        }
        next.failures += 1;
        if next.failures >= limit {
            next.locks_in_a_row += 1;
            let doublings = next.locks_in_a_row.saturating_sub(1).min(16);
            let length = (base * 2_i32.pow(doublings)).min(MAX_LOCK);
            next.locked_until = Some(now + length);
            next.failures = 0;
        }
        next
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    const T0: OffsetDateTime = datetime!(2026-05-01 00:00 UTC);
    const BASE: Duration = Duration::seconds(60);

    fn fail(state: LockState, at: OffsetDateTime, times: u32) -> LockState {
        (0..times).fold(state, |s, _| s.after_failure(at, 5, BASE))
    }

    #[test]
    fn the_fifth_failure_locks_for_the_base_length() {
        let four = fail(LockState::default(), T0, 4);
        assert!(!four.is_locked(T0));
        assert_eq!(four.failures, 4);
        let five = four.after_failure(T0, 5, BASE);
        assert!(five.is_locked(T0));
        assert_eq!(five.locked_until, Some(T0 + BASE));
        assert!(!five.is_locked(T0 + BASE), "the lock ends at its end");
    }

    #[test]
    fn each_lock_in_a_row_lasts_twice_as_long_up_to_an_hour() {
        let mut s = LockState::default();
        let mut now = T0;
        let mut lengths = Vec::new();
        for _ in 0..8 {
            s = fail(s, now, 5);
            let until = s.locked_until.unwrap();
            lengths.push((until - now).whole_seconds());
            now = until;
        }
        assert_eq!(lengths, [60, 120, 240, 480, 960, 1920, 3600, 3600]);
    }

    #[test]
    fn the_count_restarts_from_zero_when_a_lock_ends() {
        let locked = fail(LockState::default(), T0, 5);
        let after = locked.locked_until.unwrap();
        // One failure after the lock is the first of a new count, not the sixth.
        let one = locked.after_failure(after, 5, BASE);
        assert_eq!(one.failures, 1);
        assert!(!one.is_locked(after));
    }

    #[test]
    fn scopes_have_distinct_keys() {
        let ip = LockScope::Ip("10.0.0.1".parse().unwrap());
        assert_eq!(ip.key(), "10.0.0.1");
        assert_eq!(LockScope::Account.key(), "account");
    }
}
