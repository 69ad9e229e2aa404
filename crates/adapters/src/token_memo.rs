//! Access tokens already verified, with their claims.
//!
//! Whether a token's signature, header and claims verify is a function of the token and of the
//! keys, which are fixed for the life of the process; only time changes the answer, and only
//! one way: a token that verified stays valid until `exp` plus the leeway (`iat` and `nbf` only
//! become more acceptable as time passes). So a token seen again needs its expiry checked and
//! nothing else: no base64, no JSON, no HMAC or Ed25519. Nothing a user or an administrator
//! does is remembered here: whether the user may still act (enabled, session version) is read
//! from storage on every request, after this.
//!
//! Only tokens that verified enter, keyed by their exact text, so a forged or altered token is
//! never a hit. The memory is bounded: two generations of at most [`GENERATION`] tokens each; when
//! the young one is full it becomes the old one and the old one is dropped, so tokens in use
//! stay while those not seen for a generation go.

use std::collections::HashMap;
use std::sync::{PoisonError, RwLock};

use warden_domain::token::AccessClaims;

/// The most tokens one generation holds (each about 0.5 KiB with its claims).
pub(crate) const GENERATION: usize = 4096;

#[derive(Debug, Default)]
struct Generations {
    young: HashMap<Box<str>, AccessClaims>,
    old: HashMap<Box<str>, AccessClaims>,
}

/// The verified tokens of one codec.
#[derive(Debug, Default)]
pub(crate) struct TokenMemo {
    generations: RwLock<Generations>,
}

/// Whether claims that verified are still within their lifetime at `now` (Unix seconds),
/// with `leeway` seconds of tolerated skew: the test jsonwebtoken applies to `exp`.
pub(crate) fn unexpired(claims: &AccessClaims, now: u64, leeway: u64) -> bool {
    u64::try_from(claims.expires_at.unix_timestamp())
        .is_ok_and(|exp| exp.saturating_add(leeway) >= now)
}

impl TokenMemo {
    /// The claims of `token` if it verified before.
    pub(crate) fn get(&self, token: &str) -> Option<AccessClaims> {
        let generations = self
            .generations
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        generations
            .young
            .get(token)
            .or_else(|| generations.old.get(token))
            .cloned()
    }

    /// Remembers that `token` verified with `claims`.
    pub(crate) fn insert(&self, token: &str, claims: AccessClaims) {
        let mut generations = self
            .generations
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if generations.young.len() >= GENERATION {
            generations.old = std::mem::take(&mut generations.young);
        }
        generations.young.insert(token.into(), claims);
    }

    /// How many tokens it holds.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        let generations = self
            .generations
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        generations.young.len() + generations.old.len()
    }
}

#[cfg(test)]
mod tests {
    use time::OffsetDateTime;
    use uuid::Uuid;
    use warden_domain::user::Role;

    use super::*;

    fn claims(exp: i64) -> AccessClaims {
        AccessClaims {
            subject: Uuid::nil(),
            role: Role::User,
            issued_at: OffsetDateTime::from_unix_timestamp(0).unwrap(),
            expires_at: OffsetDateTime::from_unix_timestamp(exp).unwrap(),
            session_version: 1,
            token_id: Uuid::nil(),
            session_id: Uuid::nil(),
            second_factor: false,
        }
    }

    #[test]
    fn expiry_holds_up_to_exp_plus_the_leeway_and_not_a_second_more() {
        let c = claims(1_000);
        assert!(unexpired(&c, 999, 30));
        assert!(unexpired(&c, 1_030, 30));
        assert!(!unexpired(&c, 1_031, 30));
        assert!(unexpired(&c, 1_000, 0));
        assert!(!unexpired(&c, 1_001, 0));
        // A negative expiry is no lifetime at all.
        assert!(!unexpired(&claims(-1), 0, 30));
    }

    #[test]
    fn only_the_exact_token_is_a_hit() {
        let memo = TokenMemo::default();
        memo.insert("a.b.c", claims(5));
        assert_eq!(memo.get("a.b.c").unwrap().expires_at.unix_timestamp(), 5);
        assert!(memo.get("a.b.C").is_none());
        assert!(memo.get("a.b.c ").is_none());
        assert!(memo.get("a.b").is_none());
    }

    #[test]
    fn it_holds_at_most_two_generations_and_keeps_the_young_one() {
        let memo = TokenMemo::default();
        for n in 0..GENERATION {
            memo.insert(&n.to_string(), claims(1));
        }
        assert_eq!(memo.len(), GENERATION);
        // The next one starts a generation: the first ones are old, still there.
        memo.insert("next", claims(1));
        assert_eq!(memo.len(), GENERATION + 1);
        assert!(memo.get("0").is_some() && memo.get("next").is_some());
        for n in 0..GENERATION {
            memo.insert(&format!("young {n}"), claims(1));
        }
        // The young generation filled again: the oldest went, the last full one stayed.
        assert_eq!(memo.len(), GENERATION + 1);
        assert!(memo.get("0").is_none());
        assert!(memo.get("next").is_some());
        assert!(memo.get(&format!("young {}", GENERATION - 1)).is_some());
    }
}
