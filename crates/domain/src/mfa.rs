//! The second factor: TOTP (RFC 6238) with recovery codes, enrolled and removed by the account's
//! owner in person (a bearer token and the current password), reset by an administrator.
//!
//! - A code is six digits of a 30-second step; the step before and the step after the current
//!   one are accepted too (±1 step of skew), and each step at most once: the factor keeps the
//!   last step it accepted, and only a later one is accepted after it (a conditional update,
//!   so two requests with the same code cannot both pass).
//! - A recovery code is 80 random bits, stored as a digest, and spent by its one use.
//! - Wrong codes count toward the lockout, like wrong passwords, in scopes of their own with
//!   the same limits: a code is checked only when the attempt is admitted, a right code clears
//!   the codes' counts, and a right password never does.
//! - Secrets are sealed for storage by the [`Authenticator`] port; the domain never sees one in
//!   clear, except in the [`Provisioning`] shown once at enrolment.

use std::fmt;
use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::Error;
use crate::audit::AuditKind;
use crate::auth::{AuthPolicy, AuthService, Checked, Guard, Ports, Proving};
use crate::principal::Principal;
use crate::user::User;

/// Seconds in a TOTP step.
pub const STEP_SECONDS: i64 = 30;
/// Steps accepted before and after the current one.
pub const SKEW_STEPS: i64 = 1;
/// How many recovery codes an enrolment (or a replacement) issues.
pub const RECOVERY_CODES: usize = 10;
/// How long an `mfa_token` lives.
pub const CHALLENGE_TTL: Duration = Duration::minutes(5);

/// What the second factor may do on this server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MfaPolicy {
    /// Whether accounts may enrol (`mfa.enabled`). Factors enrolled before it was turned off
    /// are still required at login.
    pub enabled: bool,
    /// Whether an admin without an active factor may only enrol (`mfa.require_for_admins`).
    pub require_for_admins: bool,
    /// The issuer an authenticator app shows beside the account (`mfa.issuer`).
    pub issuer: String,
}

impl Default for MfaPolicy {
    fn default() -> Self {
        Self {
            enabled: true,
            require_for_admins: false,
            issuer: "Warden".into(),
        }
    }
}

impl MfaPolicy {
    /// Whether `user`, under this policy, may do nothing but enrol: an admin without an active
    /// factor when factors are required of admins.
    pub fn must_enrol(&self, user: &User) -> bool {
        self.applies_to(user) && user.mfa_enabled_at.is_none()
    }

    /// Whether `user` must sign in with a second factor: an admin, when factors are required
    /// of admins.
    pub fn applies_to(&self, user: &User) -> bool {
        self.require_for_admins && user.role == crate::user::Role::Admin
    }
}

/// A TOTP secret as stored: sealed under the key `key_id` names. Opaque to the domain.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedSecret {
    /// Which key sealed it (a digest of the key, never the key).
    pub key_id: String,
    /// The sealed secret, as the port encodes it.
    pub sealed: String,
}

impl fmt::Debug for SealedSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SealedSecret")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

/// A user's TOTP factor as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TotpFactor {
    /// The owner.
    pub user_id: Uuid,
    /// Its secret, sealed.
    pub secret: SealedSecret,
    /// When it was confirmed; `None` while the enrolment is pending.
    pub confirmed_at: Option<OffsetDateTime>,
    /// The last step a code was accepted for (`i64::MIN` when none was).
    pub last_step: i64,
}

/// What an authenticator app needs to add a factor; shown once, at enrolment.
pub struct Provisioning {
    /// The secret, base32 without padding.
    pub secret: SecretString,
    /// The `otpauth://totp/…` URI.
    pub uri: SecretString,
    /// A QR code of the URI, as an SVG document.
    pub qr_svg: SecretString,
}

impl fmt::Debug for Provisioning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Provisioning([redacted])")
    }
}

/// A login whose password was right, waiting for its second factor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MfaChallenge {
    /// Unique id.
    pub id: Uuid,
    /// Digest of its `mfa_token`.
    pub digest: String,
    /// The user who gave the right password.
    pub user_id: Uuid,
    /// The user's session version then: a later bump (a password change) ends the challenge.
    pub session_version: i64,
    /// Its end.
    pub expires_at: OffsetDateTime,
}

/// A second factor as presented: a code of the authenticator app, or a recovery code.
#[derive(Clone)]
pub enum Proof {
    /// A TOTP code.
    Otp(String),
    /// A recovery code.
    RecoveryCode(SecretString),
}

impl Proof {
    /// What a single `code` field holds: six digits are a TOTP code, anything else is taken
    /// for a recovery code.
    pub fn from_code(code: String) -> Self {
        if is_totp_code(&code) {
            Self::Otp(code)
        } else {
            Self::RecoveryCode(SecretString::from(code))
        }
    }
}

impl fmt::Debug for Proof {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Otp(_) => "Otp([redacted])",
            Self::RecoveryCode(_) => "RecoveryCode([redacted])",
        })
    }
}

/// Recovery codes, shown once.
pub struct RecoveryCodes(pub Vec<SecretString>);

impl fmt::Debug for RecoveryCodes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RecoveryCodes({} [redacted])", self.0.len())
    }
}

/// The second factor's use cases.
#[derive(Clone, Debug)]
pub struct MfaService {
    ports: Ports,
    policy: AuthPolicy,
    guard: Arc<Guard>,
}

impl MfaService {
    /// Builds the service on the adapters, policies and lockout guard of the session use cases.
    pub fn new(sessions: &AuthService) -> Self {
        Self {
            ports: sessions.ports.clone(),
            policy: sessions.policy.clone(),
            guard: sessions.guard.clone(),
        }
    }

    /// Starts an enrolment: a new secret, pending until a code of it is confirmed (a pending
    /// one is replaced). Only the owner in person, with its current password (checked under
    /// the lockout).
    ///
    /// # Errors
    /// [`Error::Forbidden`] for an API key or the operator; [`Error::MfaDisabled`];
    /// [`Error::MfaActive`]; [`Error::WrongPassword`]; storage failures.
    pub async fn enrol(
        &self,
        caller: &Principal,
        current_password: SecretString,
    ) -> Result<Provisioning, Error> {
        let user = caller.owner_in_person()?;
        if !self.policy.mfa.enabled {
            return Err(Error::MfaDisabled);
        }
        if user.mfa_enabled_at.is_some() {
            return Err(Error::MfaActive);
        }
        self.password(caller, user, current_password).await?;
        let (sealed, provisioning) = self
            .ports
            .authenticator
            .new_factor(user.id, user.email.as_str())?;
        let now = self.ports.clock.now();
        if !self.ports.mfa.put_pending(user.id, &sealed, now).await? {
            return Err(Error::MfaActive);
        }
        Ok(provisioning)
    }

    /// Confirms a pending enrolment with a code of its secret: the factor becomes active (and
    /// required at every login), and the recovery codes it returns are shown once.
    ///
    /// # Errors
    /// [`Error::Forbidden`] for an API key or the operator; [`Error::MfaDisabled`];
    /// [`Error::NotFound`] when no enrolment is pending; [`Error::MfaActive`] when it was
    /// confirmed already (or replaced meanwhile); [`Error::InvalidCode`]; storage failures.
    pub async fn confirm(&self, caller: &Principal, code: &str) -> Result<RecoveryCodes, Error> {
        let user = caller.owner_in_person()?;
        if !self.policy.mfa.enabled {
            return Err(Error::MfaDisabled);
        }
        let factor = self
            .ports
            .mfa
            .factor(user.id)
            .await?
            .ok_or(Error::NotFound)?;
        if factor.confirmed_at.is_some() {
            return Err(Error::MfaActive);
        }
        let ip = client_ip(caller);
        if !self.guard.admit(user.id, ip, Proving::Code).await? {
            self.failed(caller, user, "locked").await;
            return Err(Error::InvalidCode);
        }
        let Some(step) = matching_step(&self.ports, &factor, code)? else {
            self.failed(caller, user, "wrong_code").await;
            return Err(Error::InvalidCode);
        };
        let (codes, digests) = self.recovery_codes()?;
        let event = self
            .ports
            .event(AuditKind::MfaEnrolled)
            .by(caller)
            .about(user.id);
        if !self
            .ports
            .mfa
            .confirm(user.id, &factor.secret, step, &digests, &event)
            .await?
        {
            return Err(Error::MfaActive);
        }
        self.guard.passed(user.id, ip, Proving::Code).await?;
        Ok(codes)
    }

    /// Replaces the recovery codes: the old ones stop working. The owner in person, with its
    /// current password and a code (or a recovery code).
    ///
    /// # Errors
    /// [`Error::Forbidden`] for an API key or the operator; [`Error::NotFound`] without an
    /// active factor; [`Error::WrongPassword`]; [`Error::InvalidCode`]; storage failures.
    pub async fn replace_recovery_codes(
        &self,
        caller: &Principal,
        current_password: SecretString,
        proof: Proof,
    ) -> Result<RecoveryCodes, Error> {
        let user = self.prove(caller, current_password, proof).await?;
        let (codes, digests) = self.recovery_codes()?;
        let event = self
            .ports
            .event(AuditKind::MfaRecoveryCodesReplaced)
            .by(caller)
            .about(user.id);
        if !self
            .ports
            .mfa
            .replace_recovery_codes(user.id, &digests, &event)
            .await?
        {
            return Err(Error::NotFound);
        }
        Ok(codes)
    }

    /// Removes the caller's factor: logins need only the password again. The owner in person,
    /// with its current password and a code (or a recovery code).
    ///
    /// # Errors
    /// As [`Self::replace_recovery_codes`].
    pub async fn disable(
        &self,
        caller: &Principal,
        current_password: SecretString,
        proof: Proof,
    ) -> Result<(), Error> {
        let user = self.prove(caller, current_password, proof).await?;
        let event = self
            .ports
            .event(AuditKind::MfaDisabled)
            .by(caller)
            .about(user.id)
            .detail("by", "owner");
        if !self.ports.mfa.remove(user.id, &event).await? {
            return Err(Error::NotFound);
        }
        Ok(())
    }

    /// Checks the owner in person, its password and a proof of its active factor, each under
    /// the lockout's counts of its kind.
    async fn prove(
        &self,
        caller: &Principal,
        current_password: SecretString,
        proof: Proof,
    ) -> Result<User, Error> {
        let user = caller.owner_in_person()?;
        let factor = match self.ports.mfa.factor(user.id).await? {
            Some(factor) if factor.confirmed_at.is_some() => factor,
            _ => return Err(Error::NotFound),
        };
        self.password(caller, user, current_password).await?;
        let ip = client_ip(caller);
        if !self.guard.admit(user.id, ip, Proving::Code).await? {
            self.failed(caller, user, "locked").await;
            return Err(Error::InvalidCode);
        }
        let event = self
            .ports
            .event(AuditKind::MfaRecoveryUsed)
            .by(caller)
            .about(user.id);
        if !prove_factor(&self.ports, &factor, proof, &event).await? {
            self.failed(caller, user, "wrong_code").await;
            return Err(Error::InvalidCode);
        }
        self.guard.passed(user.id, ip, Proving::Code).await?;
        Ok(user.clone())
    }

    /// Checks the current password under the lockout (a wrong one counts as a failed login),
    /// recording a refusal.
    async fn password(
        &self,
        caller: &Principal,
        user: &User,
        current: SecretString,
    ) -> Result<(), Error> {
        let checked = self
            .guard
            .check_password(
                user.id,
                current,
                Some(&user.password_hash),
                client_ip(caller),
            )
            .await?;
        let reason = match checked {
            Checked::Right => return Ok(()),
            Checked::Wrong => "wrong_password",
            Checked::Refused => "locked",
        };
        let event = self
            .ports
            .event(AuditKind::MfaFailed)
            .by(caller)
            .about(user.id)
            .failed()
            .detail("reason", reason);
        record(&self.ports, &event).await;
        Err(Error::WrongPassword)
    }

    /// Records a wrong, replayed or unadmitted code.
    async fn failed(&self, caller: &Principal, user: &User, reason: &str) {
        let event = self
            .ports
            .event(AuditKind::MfaFailed)
            .by(caller)
            .about(user.id)
            .failed()
            .detail("reason", reason);
        record(&self.ports, &event).await;
    }

    /// New recovery codes and their digests.
    fn recovery_codes(&self) -> Result<(RecoveryCodes, Vec<String>), Error> {
        let codes = (0..RECOVERY_CODES)
            .map(|_| self.ports.authenticator.recovery_code())
            .collect::<Result<Vec<_>, _>>()?;
        let digests = codes
            .iter()
            .filter_map(|c| normalize_recovery_code(c.expose_secret()))
            .map(|c| self.ports.digester.digest(&c))
            .collect();
        Ok((RecoveryCodes(codes), digests))
    }
}

/// The IP the caller called from (the unspecified address when it did not come over HTTP).
fn client_ip(caller: &Principal) -> std::net::IpAddr {
    caller
        .origin()
        .map_or(std::net::IpAddr::from([0, 0, 0, 0]), |o| o.ip)
}

mod codes;

pub use codes::{candidate_steps, is_totp_code, normalize_recovery_code, step_at};
pub(crate) use codes::{matching_step, prove_factor, record};

#[cfg(test)]
#[path = "mfa_tests.rs"]
mod tests;
