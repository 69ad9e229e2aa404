//! The credential policy beside the password policy: the floor of the password-hashing cost
//! and the bounds of token lifetimes, as pure functions of the configured numbers.

use std::ops::RangeInclusive;

/// The cost of one password hash by a memory-hard function: memory, passes and lanes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HashCost {
    /// Memory per hash, KiB.
    pub memory_kib: u32,
    /// Passes over the memory.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
}

impl HashCost {
    /// The least cost production accepts, and the default: OWASP's argon2id minimum
    /// (m=19456 KiB, t=2, p=1).
    pub const PRODUCTION_FLOOR: Self = Self {
        memory_kib: 19_456,
        iterations: 2,
        parallelism: 1,
    };

    /// Whether every part of this cost is at least that part of `floor`.
    pub fn reaches(self, floor: Self) -> bool {
        self.memory_kib >= floor.memory_kib
            && self.iterations >= floor.iterations
            && self.parallelism >= floor.parallelism
    }
}

/// A hashing cost below the floor of its profile.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "production needs at least m={} KiB and t={}",
    .floor.memory_kib,
    .floor.iterations
)]
pub struct CostBelowFloor {
    /// The floor that was not reached.
    pub floor: HashCost,
}

/// Refuses, in production, a hashing cost below [`HashCost::PRODUCTION_FLOOR`]; elsewhere any
/// cost the hashing function itself accepts will do (tests and development run cheap).
///
/// # Errors
/// [`CostBelowFloor`] naming the floor.
pub fn check_hash_cost(cost: HashCost, production: bool) -> Result<(), CostBelowFloor> {
    let floor = HashCost::PRODUCTION_FLOOR;
    if production && !cost.reaches(floor) {
        return Err(CostBelowFloor { floor });
    }
    Ok(())
}

/// The lifetimes an access token may have, in seconds: a second to a day.
pub const ACCESS_TTL_SECONDS: RangeInclusive<u32> = 1..=86_400;

/// Lifetimes that do not fit together.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LifetimeError {
    /// The access token's lifetime is outside [`ACCESS_TTL_SECONDS`].
    #[error("the access token's lifetime must be between {} and {} seconds", ACCESS_TTL_SECONDS.start(), ACCESS_TTL_SECONDS.end())]
    AccessOutOfRange,
    /// A refresh chain would end before the access token it issues.
    #[error("the refresh chain's lifetime must be at least the access token's")]
    RefreshShorterThanAccess,
}

/// Checks an access token's lifetime against [`ACCESS_TTL_SECONDS`], and that a refresh
/// chain lives at least as long as one access token.
///
/// # Errors
/// The first [`LifetimeError`] found, the access token's first.
pub fn check_token_lifetimes(
    access_seconds: u32,
    refresh_seconds: u32,
) -> Result<(), LifetimeError> {
    if !ACCESS_TTL_SECONDS.contains(&access_seconds) {
        return Err(LifetimeError::AccessOutOfRange);
    }
    if refresh_seconds < access_seconds {
        return Err(LifetimeError::RefreshShorterThanAccess);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const FLOOR: HashCost = HashCost::PRODUCTION_FLOOR;

    #[test]
    fn production_takes_the_floor_and_refuses_one_below_it_in_any_part() {
        assert_eq!(check_hash_cost(FLOOR, true), Ok(()));
        let below = [
            HashCost {
                memory_kib: FLOOR.memory_kib - 1,
                ..FLOOR
            },
            HashCost {
                iterations: FLOOR.iterations - 1,
                ..FLOOR
            },
            HashCost {
                parallelism: FLOOR.parallelism - 1,
                ..FLOOR
            },
        ];
        for cost in below {
            assert_eq!(
                check_hash_cost(cost, true),
                Err(CostBelowFloor { floor: FLOOR }),
                "{cost:?}"
            );
            assert_eq!(
                check_hash_cost(cost, false),
                Ok(()),
                "{cost:?} in development"
            );
        }
    }

    #[test]
    fn more_than_the_floor_is_always_taken() {
        let more = HashCost {
            memory_kib: FLOOR.memory_kib + 1,
            iterations: FLOOR.iterations + 1,
            parallelism: FLOOR.parallelism + 1,
        };
        assert!(more.reaches(FLOOR));
        assert_eq!(check_hash_cost(more, true), Ok(()));
    }

    #[test]
    fn the_floor_is_owasp_s_argon2id_minimum_and_its_message_says_so() {
        assert_eq!(
            (FLOOR.memory_kib, FLOOR.iterations, FLOOR.parallelism),
            (19_456, 2, 1)
        );
        assert_eq!(
            CostBelowFloor { floor: FLOOR }.to_string(),
            "production needs at least m=19456 KiB and t=2"
        );
    }

    #[test]
    fn an_access_lifetime_is_taken_from_one_second_to_one_day() {
        for access in [1, 86_400] {
            assert_eq!(check_token_lifetimes(access, access), Ok(()), "{access}");
        }
        for access in [0, 86_401] {
            assert_eq!(
                check_token_lifetimes(access, u32::MAX),
                Err(LifetimeError::AccessOutOfRange),
                "{access}"
            );
        }
    }

    #[test]
    fn a_refresh_chain_may_equal_the_access_lifetime_but_not_be_shorter() {
        assert_eq!(check_token_lifetimes(900, 900), Ok(()));
        assert_eq!(check_token_lifetimes(900, u32::MAX), Ok(()));
        assert_eq!(
            check_token_lifetimes(900, 899),
            Err(LifetimeError::RefreshShorterThanAccess)
        );
        // The access lifetime is checked first.
        assert_eq!(
            check_token_lifetimes(0, 0),
            Err(LifetimeError::AccessOutOfRange)
        );
    }
}
