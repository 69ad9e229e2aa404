//! Lockout: consecutive failed logins for one account from one client IP lock that IP out of
//! that account; failures from all IPs together lock the account itself. Pure arithmetic here;
//! the state lives behind [`crate::ports::LockoutRepository`], which counts each attempt in one
//! atomic step ([`LockState::counted`]) before any password is verified, so that concurrent
//! attempts never share a count.

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
    /// One client IP's codes of the account's second factor: counted apart from its
    /// passwords, so that a right password, which clears those, never clears these.
    CodeIp(std::net::IpAddr),
    /// Every client's codes of the account's second factor.
    CodeAccount,
}

impl LockScope {
    /// The storage key of the scope.
    pub fn key(&self) -> String {
        match self {
            Self::Ip(ip) => ip.to_string(),
            Self::Account => "account".to_owned(),
            Self::CodeIp(ip) => format!("code:{ip}"),
            Self::CodeAccount => "code:account".to_owned(),
        }
    }

    /// The kind of the scope, `ip`, `account`, `code_ip` or `code_account`: a bounded label,
    /// without the address.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Ip(_) => "ip",
            Self::Account => "account",
            Self::CodeIp(_) => "code_ip",
            Self::CodeAccount => "code_account",
        }
    }
}

/// The failure count of one scope.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LockState {
    /// Attempts counted since the last lock, success or unlock.
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

/// Where an attempt stands once storage has counted it, judged from the count that this
/// attempt produced (see [`LockState::standing`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Standing {
    /// A lock is in force: the attempt was not counted and may verify nothing.
    Locked,
    /// Under the limit: the password may be verified.
    Under,
    /// This attempt's count is the limit: it is the last that may verify a password, and it
    /// sets the lock before verifying (a right password then clears it).
    Last,
    /// Past the limit: another attempt reached it first. This one may verify nothing, and it
    /// sets the lock too, in case the attempt that reached the limit never did.
    Past,
}

impl Standing {
    /// Whether the attempt may verify the password.
    pub fn may_verify(self) -> bool {
        matches!(self, Self::Under | Self::Last)
    }

    /// Whether the attempt sets the lock.
    pub fn sets_lock(self) -> bool {
        matches!(self, Self::Last | Self::Past)
    }
}

impl LockState {
    /// Whether a lock is in force at `now`.
    pub fn is_locked(&self, now: OffsetDateTime) -> bool {
        self.locked_until.is_some_and(|until| until > now)
    }

    /// The state after storage has counted one more attempt at `now`, in one atomic step:
    /// while a lock is in force nothing changes (attempts during a lock are not counted);
    /// otherwise the count goes up by one, and a lock that has ended is forgotten (setting it
    /// put the count back to zero, so the count starts again after it).
    #[must_use]
    pub fn counted(self, now: OffsetDateTime) -> Self {
        if self.is_locked(now) {
            return self;
        }
        Self {
            failures: self.failures.saturating_add(1),
            locked_until: None,
            locks_in_a_row: self.locks_in_a_row,
        }
    }

    /// Where the attempt whose counting produced this state stands, with `limit` attempts
    /// allowed before the lock.
    pub fn standing(&self, now: OffsetDateTime, limit: u32) -> Standing {
        if self.is_locked(now) {
            Standing::Locked
        } else if self.failures < limit {
            Standing::Under
        } else if self.failures == limit {
            Standing::Last
        } else {
            Standing::Past
        }
    }

    /// The lock that follows this state at `now`: the first lasts `base`, each further one in
    /// a row twice as long as the one before, up to an hour; the count goes back to zero.
    #[must_use]
    pub fn locked(self, now: OffsetDateTime, base: Duration) -> Self {
        let locks_in_a_row = self.locks_in_a_row.saturating_add(1);
        let doublings = (locks_in_a_row - 1).min(16);
        let length = (base * 2_i32.pow(doublings)).min(MAX_LOCK);
        Self {
            failures: 0,
            locked_until: Some(now + length),
            locks_in_a_row,
        }
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    const T0: OffsetDateTime = datetime!(2026-05-01 00:00 UTC);
    const BASE: Duration = Duration::seconds(60);
    const LIMIT: u32 = 5;

    /// What the login does with one wrong password, step by step: storage counts the attempt,
    /// and an attempt at or past the limit sets the lock.
    fn fail(state: LockState, at: OffsetDateTime, times: u32) -> LockState {
        (0..times).fold(state, |s, _| {
            let counted = s.counted(at);
            if counted.standing(at, LIMIT).sets_lock() {
                counted.locked(at, BASE)
            } else {
                counted
            }
        })
    }

    fn with_failures(failures: u32) -> LockState {
        LockState {
            failures,
            ..LockState::default()
        }
    }

    #[test]
    fn the_fifth_failure_locks_for_the_base_length() {
        let four = fail(LockState::default(), T0, 4);
        assert!(!four.is_locked(T0));
        assert_eq!(four.failures, 4);
        let five = fail(four, T0, 1);
        assert!(five.is_locked(T0));
        assert_eq!(five.locked_until, Some(T0 + BASE));
        assert_eq!((five.failures, five.locks_in_a_row), (0, 1));
        assert!(five.is_locked(T0 + BASE - Duration::nanoseconds(1)));
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
    fn a_long_run_of_locks_stays_at_an_hour() {
        // Far more locks in a row than doublings fit in: no overflow, still an hour.
        let many = LockState {
            locks_in_a_row: 40,
            ..LockState::default()
        };
        let next = many.locked(T0, Duration::seconds(1));
        assert_eq!(next.locked_until, Some(T0 + MAX_LOCK));
        assert_eq!(next.locks_in_a_row, 41);
        let most = LockState {
            locks_in_a_row: u32::MAX,
            ..LockState::default()
        };
        assert_eq!(most.locked(T0, BASE).locks_in_a_row, u32::MAX);
    }

    #[test]
    fn the_count_restarts_from_zero_when_a_lock_ends() {
        let locked = fail(LockState::default(), T0, 5);
        let after = locked.locked_until.unwrap();
        // One failure after the lock is the first of a new count, not the sixth.
        let one = locked.counted(after);
        assert_eq!(one.failures, 1);
        assert_eq!(one.locked_until, None, "the ended lock is forgotten");
        assert_eq!(one.locks_in_a_row, 1, "but the next lock will be longer");
        assert!(!one.is_locked(after));
    }

    #[test]
    fn attempts_during_a_lock_are_not_counted() {
        let locked = fail(LockState::default(), T0, 5);
        let during = T0 + BASE - Duration::seconds(1);
        assert_eq!(locked.counted(during), locked);
        assert_eq!(
            locked.counted(during).standing(during, LIMIT),
            Standing::Locked
        );
    }

    #[test]
    fn counting_adds_one_and_never_overflows() {
        assert_eq!(LockState::default().counted(T0), with_failures(1));
        assert_eq!(with_failures(7).counted(T0).failures, 8);
        assert_eq!(with_failures(u32::MAX).counted(T0).failures, u32::MAX);
    }

    #[test]
    fn the_count_this_attempt_produced_decides_its_standing() {
        assert_eq!(with_failures(1).standing(T0, LIMIT), Standing::Under);
        assert_eq!(
            with_failures(LIMIT - 1).standing(T0, LIMIT),
            Standing::Under
        );
        assert_eq!(with_failures(LIMIT).standing(T0, LIMIT), Standing::Last);
        assert_eq!(with_failures(LIMIT + 1).standing(T0, LIMIT), Standing::Past);
        assert_eq!(with_failures(1).standing(T0, 1), Standing::Last);
        // A lock that has ended no longer refuses; one still in force does, whatever the count.
        let ended = LockState {
            failures: 1,
            locked_until: Some(T0),
            locks_in_a_row: 1,
        };
        assert_eq!(ended.standing(T0, LIMIT), Standing::Under);
        let in_force = LockState {
            locked_until: Some(T0 + Duration::seconds(1)),
            ..ended
        };
        assert_eq!(in_force.standing(T0, LIMIT), Standing::Locked);
    }

    #[test]
    fn only_attempts_within_the_limit_verify_and_only_those_at_or_past_it_lock() {
        let verify: Vec<bool> = [
            Standing::Locked,
            Standing::Under,
            Standing::Last,
            Standing::Past,
        ]
        .iter()
        .map(|s| s.may_verify())
        .collect();
        assert_eq!(verify, [false, true, true, false]);
        let lock: Vec<bool> = [
            Standing::Locked,
            Standing::Under,
            Standing::Last,
            Standing::Past,
        ]
        .iter()
        .map(|s| s.sets_lock())
        .collect();
        assert_eq!(lock, [false, false, true, true]);
    }

    #[test]
    fn scopes_have_distinct_keys() {
        let ip = LockScope::Ip("10.0.0.1".parse().unwrap());
        assert_eq!(ip.key(), "10.0.0.1");
        assert_eq!(LockScope::Account.key(), "account");
        let code_ip = LockScope::CodeIp("10.0.0.1".parse().unwrap());
        assert_eq!(code_ip.key(), "code:10.0.0.1");
        assert_eq!(LockScope::CodeAccount.key(), "code:account");
        let kinds: Vec<&str> = [ip, LockScope::Account, code_ip, LockScope::CodeAccount]
            .iter()
            .map(LockScope::kind)
            .collect();
        assert_eq!(kinds, ["ip", "account", "code_ip", "code_account"]);
    }
}
