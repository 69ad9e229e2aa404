//! The login guard: which subject an attempt counts against, and a password checked under the
//! lockout, counted atomically in storage before any hashing.

use std::net::IpAddr;

use secrecy::{ExposeSecret, SecretString};
use uuid::Uuid;

use super::{AuthService, Ports};
use crate::Error;
use crate::lockout::{LockScope, LockoutPolicy};
use crate::user::{Email, PasswordHash, User};

/// Checks passwords under the lockout, for the password grant and the password change alike, so
/// that their failures add up to one count.
pub(crate) struct Guard {
    ports: Ports,
    policy: LockoutPolicy,
    /// Verified against when the user is unknown, so that an unknown user costs the same time.
    dummy_hash: PasswordHash,
}

impl std::fmt::Debug for Guard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Guard").finish_non_exhaustive()
    }
}

impl AuthService {
    /// The user a username names, if any, and the subject its attempts count against: the
    /// user's id, or else an id derived from the username with the server's key, so that an
    /// unknown or malformed username does the same storage work as a wrong password (the same
    /// lookup, the same count writes) and is locked out alike.
    pub(super) async fn login_subject(
        &self,
        username: &str,
    ) -> Result<(Option<User>, Uuid), Error> {
        let Ok(email) = Email::parse(username) else {
            // The lookup an email costs, of an address whose answer is ignored.
            let probe = Email::from_stored(MALFORMED_PROBE.to_owned());
            self.ports.users.find_by_email(&probe).await?;
            return Ok((None, self.stand_in("malformed", username)));
        };
        let user = self.ports.users.find_by_email(&email).await?;
        let subject = match &user {
            Some(user) => user.id,
            None => self.stand_in("email", email.normalized()),
        };
        Ok((user, subject))
    }

    /// The lockout subject of a username that names no user: a version 8 UUID (never a user's
    /// id, which are version 7) from a keyed digest of the username, so that storage holds no
    /// attempted username in clear.
    fn stand_in(&self, kind: &str, username: &str) -> Uuid {
        let derived = self
            .ports
            .deriver
            .derive(&format!("warden lockout subject v1\n{kind}\n{username}"));
        uuid::Builder::from_custom_bytes(fnv1a_128(derived.expose_secret().as_bytes())).into_uuid()
    }

    /// Deletes the lockout counts that protect no user and hold no lock (see
    /// [`crate::ports::LockoutRepository::purge`]); how many went.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn purge_lockouts(&self) -> Result<u64, Error> {
        self.ports.lockouts.purge(self.ports.clock.now()).await
    }
}

impl Guard {
    /// Hashes a random password once to serve as the unknown-user dummy.
    pub(crate) async fn new(ports: Ports, policy: LockoutPolicy) -> Result<Self, Error> {
        let dummy_hash = ports.hasher.hash(ports.random.secret()).await?;
        Ok(Self {
            ports,
            policy,
            dummy_hash,
        })
    }

    /// Checks a password under the lockout. The attempt is first counted against `subject`,
    /// from `client_ip` and account-wide, each in one atomic storage step, and the lock is
    /// decided from the counts this attempt produced (see [`crate::lockout::Standing`]). Only
    /// an attempt both counts admit verifies `password` against `hash`; any other verifies it
    /// against the dummy hash, so that every outcome costs one verification and no more wrong
    /// passwords than the limit are ever verified, however many attempts run at once. A right
    /// password clears the password's counts (not the second factor's: see [`Proving`]).
    /// `hash` is `None` for a username that names no user.
    pub(crate) async fn check_password(
        &self,
        subject: Uuid,
        password: SecretString,
        hash: Option<&PasswordHash>,
        client_ip: IpAddr,
    ) -> Result<Checked, Error> {
        let admitted = self.admit(subject, client_ip, Proving::Password).await?;
        let against = match hash {
            Some(hash) if admitted => hash.clone(),
            _ => self.dummy_hash.clone(),
        };
        let matches = self.ports.hasher.verify(password, against).await?;
        if !admitted {
            return Ok(Checked::Refused);
        }
        if !(matches && hash.is_some()) {
            return Ok(Checked::Wrong);
        }
        self.passed(subject, client_ip, Proving::Password).await?;
        Ok(Checked::Right)
    }

    /// Counts one attempt to prove `what` against `subject` from `client_ip` and account-wide,
    /// each in one atomic storage step; whether both counts admit it (only then may a secret
    /// be checked).
    pub(crate) async fn admit(
        &self,
        subject: Uuid,
        client_ip: IpAddr,
        what: Proving,
    ) -> Result<bool, Error> {
        let [ip, account] = what.scopes(client_ip);
        let (ip_limit, account_limit) = what.limits(self.policy);
        // The IP's count first: an attempt refused by its own IP's lock does not count against
        // the account, so one client cannot lock the account faster than its own lock allows.
        Ok(self.reserve(subject, &ip, ip_limit).await?
            && self.reserve(subject, &account, account_limit).await?)
    }

    /// Forgets the counts of attempts to prove `what` of `subject` from `client_ip` and
    /// account-wide: what a success does.
    pub(crate) async fn passed(
        &self,
        subject: Uuid,
        client_ip: IpAddr,
        what: Proving,
    ) -> Result<(), Error> {
        self.ports
            .lockouts
            .clear(subject, &what.scopes(client_ip))
            .await
    }

    /// Counts one attempt in one scope, and sets the lock when this attempt's count reaches or
    /// passes `limit`; whether the attempt may verify a password.
    async fn reserve(&self, subject: Uuid, scope: &LockScope, limit: u32) -> Result<bool, Error> {
        let now = self.ports.clock.now();
        let counted = self.ports.lockouts.reserve(subject, scope, now).await?;
        let standing = counted.standing(now, limit);
        if standing.sets_lock() {
            let lock = counted.locked(now, self.policy.base);
            self.ports.lockouts.put(subject, scope, lock).await?;
            self.ports.observer.lock_set(scope);
        }
        Ok(standing.may_verify())
    }
}

/// What an attempt proves. Each is counted in scopes of its own, with the same limits: a
/// right password clears the password's counts, never the codes', so that whoever has the
/// password cannot reset the count of its guesses at the code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Proving {
    /// The password.
    Password,
    /// A code of the second factor (or a recovery code).
    Code,
}

impl Proving {
    /// Its limits: the IP's, then the account's. A code has a million values where a password
    /// has no bound, and whoever guesses at it has the password already: the account-wide
    /// limit of codes is twice the per-IP one (when that is tighter than the passwords').
    fn limits(self, policy: LockoutPolicy) -> (u32, u32) {
        match self {
            Self::Password => (policy.max_failures, policy.account_max_failures),
            Self::Code => (
                policy.max_failures,
                policy
                    .account_max_failures
                    .min(policy.max_failures.saturating_mul(2)),
            ),
        }
    }

    /// Its scopes from `client_ip`: the IP's, then the account's.
    fn scopes(self, client_ip: IpAddr) -> [LockScope; 2] {
        match self {
            Self::Password => [LockScope::Ip(client_ip), LockScope::Account],
            Self::Code => [LockScope::CodeIp(client_ip), LockScope::CodeAccount],
        }
    }
}

/// The outcome of [`Guard::check_password`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Checked {
    /// The lockout admitted the attempt and the password is right.
    Right,
    /// The lockout admitted the attempt and the password is wrong (or the username names no
    /// user).
    Wrong,
    /// A lock holds, or this attempt came at or past the limit unadmitted: no password was
    /// verified.
    Refused,
}

/// The address looked up for a username that is no email, so that it costs what an unknown
/// email costs; whatever the lookup finds is ignored.
pub(super) const MALFORMED_PROBE: &str = "malformed-username@warden.invalid";

/// FNV-1a, 128 bits: spreads a derived key over the bytes of a UUID.
pub(super) fn fnv1a_128(bytes: &[u8]) -> [u8; 16] {
    const OFFSET: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    const PRIME: u128 = 0x0000_0000_0100_0000_0000_0000_0000_013b;
    bytes
        .iter()
        .fold(OFFSET, |hash, &b| {
            (hash ^ u128::from(b)).wrapping_mul(PRIME)
        })
        .to_be_bytes()
}
