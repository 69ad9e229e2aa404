//! Refresh tokens: opaque secrets stored only as digests, rotated on every use, grouped in
//! families (one per login) that end together.
//!
//! - A login starts a family with a random secret. Each refresh atomically marks the presented
//!   row rotated and stores its child; the child's secret is a keyed hash of the parent's
//!   ([`crate::ports::SecretDeriver`]), so a replay within `refresh.reuse_grace_seconds` can
//!   be answered with the very same pair without anything secret being stored in clear.
//! - A rotated token presented again (outside the grace, or after its child was itself used)
//!   is a reuse: the whole family is revoked. The loser of a race is such a reuse.
//! - Every row of a family expires when the family does, `jwt.refresh_ttl_seconds` after the
//!   login. Rows also die with their user's session version (logout, password change,
//!   disable), and with the user.

use secrecy::{ExposeSecret, SecretString};
use time::OffsetDateTime;
use tracing::warn;
use uuid::Uuid;

use crate::Error;
use crate::audit::AuditKind;
use crate::auth::AuthService;
use crate::origin::Origin;
use crate::token::IssuedTokens;
use crate::user::User;

/// One stored refresh token: its digest and its place in a family, never the secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefreshToken {
    /// Unique id; also the `jti` of the access token issued with it.
    pub id: Uuid,
    /// The id of the family's first token (one family per login).
    pub family_id: Uuid,
    /// The owner.
    pub user_id: Uuid,
    /// The token this one replaced; `None` for the first of a family.
    pub parent_id: Option<Uuid>,
    /// Digest of the secret.
    pub digest: String,
    /// The owner's session version at login; a later bump ends the family.
    pub session_version: i64,
    /// When it was issued (for a child: when its parent was rotated).
    pub issued_at: OffsetDateTime,
    /// The family's absolute end.
    pub expires_at: OffsetDateTime,
    /// When it was used and replaced by its child.
    pub rotated_at: Option<OffsetDateTime>,
    /// When its family was revoked.
    pub revoked_at: Option<OffsetDateTime>,
    /// Whether the family's login proved a second factor (the `amr` of its access tokens).
    pub second_factor: bool,
    /// The registered client the family's login was for; `None` for the built-in client.
    /// Only that client may refresh it.
    pub client_id: Option<String>,
}

impl AuthService {
    /// Starts a session (a refresh family) for a fresh login from `origin` and returns the
    /// first pair.
    pub(crate) async fn start_session(
        &self,
        user: &User,
        origin: &Origin,
        second_factor: bool,
    ) -> Result<IssuedTokens, Error> {
        let ports = &self.ports;
        let now = ports.clock.now();
        let secret = ports.random.secret();
        let id = ports.random.new_id();
        let row = RefreshToken {
            id,
            family_id: id,
            user_id: user.id,
            parent_id: None,
            digest: ports.digester.digest(secret.expose_secret()),
            session_version: user.session_version,
            issued_at: now,
            expires_at: now + self.policy.lifetimes.refresh,
            rotated_at: None,
            revoked_at: None,
            second_factor,
            client_id: origin.client.clone(),
        };
        let mut audit = ports
            .event(AuditKind::LoginSucceeded)
            .by_user(user.id)
            .about(user.id)
            .from(origin)
            .detail("session_id", id.to_string())
            .detail("amr", amr(second_factor));
        if let Some(client) = &origin.client {
            audit = audit.detail("client_id", client.clone());
        }
        ports.refresh_tokens.insert(&row, origin, &audit).await?;
        self.pair(user, &row, secret)
    }

    /// The refresh grant from `origin`: rotates the presented token and returns the new pair.
    ///
    /// # Errors
    /// [`Error::InvalidRefreshToken`] for an unknown, expired, revoked or reused token, one of
    /// another client than `origin`'s (refused, and nothing else happens), or one whose user
    /// may no longer act (the loser of a race is a reuse); storage failures.
    pub async fn refresh(
        &self,
        presented: &str,
        origin: &Origin,
    ) -> Result<(User, IssuedTokens), Error> {
        let ports = &self.ports;
        let now = ports.clock.now();
        let digest = ports.digester.digest(presented);
        let Some(row) = ports.refresh_tokens.find_by_digest(&digest).await? else {
            return Err(Error::InvalidRefreshToken);
        };
        if row.revoked_at.is_some() || now >= row.expires_at || row.client_id != origin.client {
            return Err(Error::InvalidRefreshToken);
        }
        let user = self
            .live_user(row.user_id, Some(row.session_version))
            .await
            .map_err(|e| match e {
                Error::InvalidToken => Error::InvalidRefreshToken,
                other => other,
            })?;
        let child_secret = ports.deriver.derive(presented);
        if row.rotated_at.is_none() {
            // Of the parent's family, user, session version and end; fresh otherwise.
            let child = RefreshToken {
                id: ports.random.new_id(),
                family_id: row.family_id,
                user_id: row.user_id,
                parent_id: Some(row.id),
                digest: ports.digester.digest(child_secret.expose_secret()),
                session_version: row.session_version,
                issued_at: now,
                expires_at: row.expires_at,
                rotated_at: None,
                revoked_at: None,
                second_factor: row.second_factor,
                client_id: row.client_id.clone(),
            };
            if ports.refresh_tokens.rotate(row.id, now, &child).await? {
                let pair = self.pair(&user, &child, child_secret)?;
                return Ok((user, pair));
            }
        }
        // Rotated already: earlier, or by a concurrent request a moment ago.
        if let Some(child) = self.replayable_child(&row, &child_secret, now).await? {
            let pair = self.pair(&user, &child, child_secret)?;
            return Ok((user, pair));
        }
        let audit = ports
            .event(AuditKind::RefreshReuseDetected)
            .from(origin)
            .about(row.user_id)
            .failed()
            .detail("session_id", row.family_id.to_string());
        // Revoked already (a reuse seen before, or a session ended meanwhile): nothing new.
        if !ports
            .refresh_tokens
            .revoke_family(row.user_id, row.family_id, now, &audit)
            .await?
        {
            return Err(Error::InvalidRefreshToken);
        }
        warn!(
            target: "warden::audit",
            event = "refresh_reuse",
            user_id = %row.user_id,
            family_id = %row.family_id,
            "a rotated refresh token was presented again; its family is revoked"
        );
        Err(Error::InvalidRefreshToken)
    }

    /// The child a replay within the grace may be answered with: issued less than the grace
    /// ago, not used or revoked since, and with the secret derived from the presented parent.
    async fn replayable_child(
        &self,
        parent: &RefreshToken,
        child_secret: &SecretString,
        now: OffsetDateTime,
    ) -> Result<Option<RefreshToken>, Error> {
        let grace = self.policy.reuse_grace;
        if !grace.is_positive() {
            return Ok(None);
        }
        let ports = &self.ports;
        let Some(child) = ports.refresh_tokens.find_child(parent.id).await? else {
            return Ok(None);
        };
        let fresh = now < child.issued_at + grace;
        let untouched = child.rotated_at.is_none() && child.revoked_at.is_none();
        let derived = ports
            .digester
            .matches(child_secret.expose_secret(), &child.digest);
        Ok((fresh && untouched && derived).then_some(child))
    }

    /// RFC 7009 revocation: ends the family of a known refresh token. Anything else (an
    /// unknown token, an access token) changes nothing and is not an error.
    ///
    /// # Errors
    /// Storage failures only.
    pub async fn revoke_refresh_token(
        &self,
        presented: &str,
        origin: &Origin,
    ) -> Result<(), Error> {
        let ports = &self.ports;
        let digest = ports.digester.digest(presented);
        if let Some(row) = ports.refresh_tokens.find_by_digest(&digest).await?
            && row.revoked_at.is_none()
        {
            let audit = ports
                .event(AuditKind::SessionEnded)
                .from(origin)
                .about(row.user_id)
                .detail("session_id", row.family_id.to_string())
                .detail("by", "revocation");
            ports
                .refresh_tokens
                .revoke_family(row.user_id, row.family_id, audit.at, &audit)
                .await?;
        }
        Ok(())
    }

    /// Housekeeping: deletes refresh tokens that can never be used again (expired, revoked,
    /// or of an ended session). Returns how many rows went.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn purge_refresh_tokens(&self) -> Result<u64, Error> {
        self.ports
            .refresh_tokens
            .purge(self.ports.clock.now())
            .await
    }

    /// Signs the access token that goes with a refresh row: issued at the row's time, with the
    /// row's id as `jti`, so that the same row always yields the same pair.
    fn pair(
        &self,
        user: &User,
        row: &RefreshToken,
        refresh_token: SecretString,
    ) -> Result<IssuedTokens, Error> {
        let lifetime = self.policy.lifetimes.access;
        let claims = crate::token::AccessClaims {
            subject: user.id,
            role: user.role,
            issued_at: row.issued_at,
            expires_at: row.issued_at + lifetime,
            session_version: user.session_version,
            token_id: row.id,
            session_id: row.family_id,
            second_factor: row.second_factor,
        };
        // To the nearest second: a fresh token says the whole lifetime, not one second less.
        let left = claims.expires_at - self.ports.clock.now() + time::Duration::milliseconds(500);
        Ok(IssuedTokens {
            access_token: self.ports.tokens.sign(&claims)?,
            expires_in: left.whole_seconds().max(0),
            refresh_token,
        })
    }
}

/// The authentication methods (RFC 8176 `amr`) of a login: the password, and the one-time code
/// when a second factor was proved.
pub fn amr(second_factor: bool) -> Vec<&'static str> {
    if second_factor {
        vec!["pwd", "otp"]
    } else {
        vec!["pwd"]
    }
}

#[cfg(test)]
#[path = "refresh_tests.rs"]
mod tests;
