//! The links used: an address verified or changed, a password reset; and the operator's own
//! verification, and housekeeping.

use secrecy::{ExposeSecret, SecretString};

use super::{AccountToken, RecoveryService, TokenPurpose, token_shaped};
use crate::Error;
use crate::account::related_words;
use crate::audit::AuditKind;
use crate::auth::audit;
use crate::origin::Origin;
use crate::ports::UserChange;
use crate::principal::Principal;
use crate::user::User;

impl RecoveryService {
    /// Uses a verification link: the address it was sent to becomes verified, or, for an
    /// address change, becomes the account's address, verified.
    ///
    /// # Errors
    /// [`Error::InvalidAccountToken`] for a token that is malformed, unknown, expired, spent,
    /// replaced or of another purpose, or whose address is no longer the account's;
    /// [`Error::EmailTaken`] when the new address was taken meanwhile (nothing changes);
    /// storage failures.
    pub async fn verify_email(&self, token: &str, origin: &Origin) -> Result<(), Error> {
        let token = self
            .live_token(
                token,
                &[TokenPurpose::VerifyEmail, TokenPurpose::EmailChange],
            )
            .await?;
        let now = self.ports.clock.now();
        let redeemed = if token.purpose == TokenPurpose::EmailChange {
            let event = self
                .ports
                .event(AuditKind::EmailChanged)
                .about(token.user_id)
                .from(origin);
            self.mail
                .tokens
                .redeem_email_change(&token, now, &event)
                .await?
        } else {
            let event = self
                .ports
                .event(AuditKind::EmailVerified)
                .about(token.user_id)
                .from(origin)
                .detail("via", "link");
            self.mail
                .tokens
                .redeem_verification(&token, now, &event)
                .await?
        };
        if redeemed {
            Ok(())
        } else {
            Err(Error::InvalidAccountToken)
        }
    }

    /// Uses a reset link: sets the new password (under the password policy; a refused one
    /// leaves the link usable), ends every session of the account and clears its lockouts.
    ///
    /// # Errors
    /// [`Error::InvalidAccountToken`] for a token that is malformed, unknown, expired, spent,
    /// replaced or of another purpose, or whose account is gone or disabled;
    /// [`Error::Invalid`] for a password the policy refuses; storage and hasher failures.
    pub async fn reset_password(
        &self,
        token: &str,
        new_password: SecretString,
        origin: &Origin,
    ) -> Result<(), Error> {
        let token = self
            .live_token(token, &[TokenPurpose::PasswordReset])
            .await?;
        let user = self
            .ports
            .users
            .find_by_id(token.user_id)
            .await?
            .filter(|u| !u.disabled)
            .ok_or(Error::InvalidAccountToken)?;
        let context = related_words(Some(&user.email), user.display_name.as_ref());
        let context: Vec<&str> = context.iter().map(String::as_str).collect();
        self.policy
            .password
            .check(new_password.expose_secret(), &context)
            .map_err(|v| Error::weak_password(&v))?;
        let hash = self.ports.hasher.hash(new_password).await?;
        let event = self
            .ports
            .event(AuditKind::PasswordReset)
            .about(user.id)
            .from(origin);
        let now = self.ports.clock.now();
        if !self
            .mail
            .tokens
            .redeem_reset(&token, &hash, now, &event)
            .await?
        {
            return Err(Error::InvalidAccountToken);
        }
        audit("password_reset", "success", Some(&user), origin.ip);
        Ok(())
    }

    /// The operator marks an account's address verified (`warden user verify-email`).
    ///
    /// # Errors
    /// [`Error::Forbidden`] for anyone but the operator; [`Error::NotFound`]; storage failures.
    pub async fn mark_verified(&self, caller: &Principal, email: &str) -> Result<User, Error> {
        let user = self.operators_account(caller, email).await?;
        if user.email_verified_at.is_some() {
            return Ok(user);
        }
        let now = self.ports.clock.now();
        let event = self
            .ports
            .event(AuditKind::EmailVerified)
            .by(caller)
            .about(user.id)
            .detail("via", "operator");
        let change = UserChange {
            email_verified_at: Some(now),
            at: Some(now),
            ..UserChange::default()
        };
        self.ports.users.update(user.id, change, &event).await
    }

    /// Housekeeping: deletes the expired tokens. Returns how many went.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn purge_tokens(&self) -> Result<u64, Error> {
        self.mail.tokens.purge(self.ports.clock.now()).await
    }

    /// The stored token of `token`, if it is of one of `purposes` and not expired.
    async fn live_token(
        &self,
        token: &str,
        purposes: &[TokenPurpose],
    ) -> Result<AccountToken, Error> {
        if !token_shaped(token) {
            return Err(Error::InvalidAccountToken);
        }
        let digest = self.ports.digester.digest(token);
        let now = self.ports.clock.now();
        self.mail
            .tokens
            .find(&digest)
            .await?
            .filter(|t| purposes.contains(&t.purpose) && t.expires_at > now)
            .ok_or(Error::InvalidAccountToken)
    }
}
