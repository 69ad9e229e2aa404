//! The second factor at login: a right password of an account with an active factor opens a
//! challenge (its one-time `mfa_token`) instead of a session, and the login finishes with a
//! code of the factor, or a recovery code; simple clients send the code with the password.

use secrecy::{ExposeSecret, SecretString};

use super::{AuthService, LoginOutcome, Proving};
use crate::Error;
use crate::audit::AuditKind;
use crate::mfa::{self, CHALLENGE_TTL, MfaChallenge, Proof};
use crate::origin::Origin;
use crate::token::IssuedTokens;
use crate::user::User;

impl AuthService {
    /// Finishes a login that waits for its second factor: takes the challenge of `mfa_token`
    /// (it works once, whatever the outcome), then checks `proof` under the lockout's counts
    /// of codes and starts a session whose tokens say `amr: ["pwd", "otp"]`.
    ///
    /// # Errors
    /// [`Error::InvalidCode`] for an unknown, spent or expired `mfa_token`, a user who may no
    /// longer log in, a wrong, replayed or malformed code, or a lock; storage failures.
    pub async fn complete_login(
        &self,
        mfa_token: &str,
        proof: Proof,
        origin: &Origin,
    ) -> Result<(User, IssuedTokens), Error> {
        let ports = &self.ports;
        let digest = ports.digester.digest(mfa_token);
        let now = ports.clock.now();
        let Some(challenge) = ports.mfa.take_challenge(&digest, now).await? else {
            return Err(Error::InvalidCode);
        };
        let user = self
            .live_user(challenge.user_id, Some(challenge.session_version))
            .await
            .map_err(|e| match e {
                Error::InvalidToken => Error::InvalidCode,
                other => other,
            })?;
        self.check_factor(&user, proof, origin).await?;
        let tokens = self.start_session(&user, origin, true).await?;
        self.ports.observer.login(LoginOutcome::Success);
        super::audit(super::LOGIN, "success", Some(&user), origin.ip);
        Ok((user, tokens))
    }

    /// Housekeeping: deletes the challenges past their end; how many went.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn purge_mfa_challenges(&self) -> Result<u64, Error> {
        self.ports.mfa.purge(self.ports.clock.now()).await
    }

    /// The second factor of a login whose password was right: `Ok(false)` for an account
    /// without one; for an account with one, `Ok(true)` when `proof` proves it, else a new
    /// challenge ([`Error::MfaRequired`]) when no proof came, or [`Error::InvalidCode`].
    pub(super) async fn second_factor(
        &self,
        user: &User,
        proof: Option<Proof>,
        origin: &Origin,
    ) -> Result<bool, Error> {
        if user.mfa_enabled_at.is_none() {
            return Ok(false);
        }
        let Some(proof) = proof else {
            return Err(Error::MfaRequired(self.open_challenge(user).await?));
        };
        self.check_factor(user, proof, origin).await?;
        Ok(true)
    }

    /// Stores a challenge for `user` and returns its `mfa_token`.
    async fn open_challenge(&self, user: &User) -> Result<SecretString, Error> {
        let ports = &self.ports;
        let token = ports.random.secret();
        let challenge = MfaChallenge {
            id: ports.random.new_id(),
            digest: ports.digester.digest(token.expose_secret()),
            user_id: user.id,
            session_version: user.session_version,
            expires_at: ports.clock.now() + CHALLENGE_TTL,
        };
        ports
            .mfa
            .open_challenge(&challenge)
            .await
            .map_err(|e| match e {
                Error::InvalidCredentials => Error::InvalidCode,
                other => other,
            })?;
        Ok(token)
    }

    /// Checks a proof of `user`'s active factor under the lockout's counts of codes; a wrong
    /// one, or one the lockout refuses, is recorded as `mfa.failed`.
    async fn check_factor(&self, user: &User, proof: Proof, origin: &Origin) -> Result<(), Error> {
        let factor = match self.ports.mfa.factor(user.id).await? {
            Some(factor) if factor.confirmed_at.is_some() => factor,
            _ => return Err(Error::InvalidCode),
        };
        if !self.guard.admit(user.id, origin.ip, Proving::Code).await? {
            self.code_refused(user, origin, "locked").await;
            return Err(Error::InvalidCode);
        }
        let spent = self
            .ports
            .event(AuditKind::MfaRecoveryUsed)
            .by_user(user.id)
            .about(user.id)
            .from(origin);
        if mfa::prove_factor(&self.ports, &factor, proof, &spent).await? {
            return self.guard.passed(user.id, origin.ip, Proving::Code).await;
        }
        self.code_refused(user, origin, "wrong_code").await;
        Err(Error::InvalidCode)
    }

    /// Records a refused second factor at login.
    async fn code_refused(&self, user: &User, origin: &Origin, reason: &str) {
        let event = self
            .ports
            .event(AuditKind::MfaFailed)
            .about(user.id)
            .from(origin)
            .failed()
            .detail("during", "login")
            .detail("reason", reason);
        mfa::record(&self.ports, &event).await;
        super::audit("mfa", reason, Some(user), origin.ip);
    }
}
