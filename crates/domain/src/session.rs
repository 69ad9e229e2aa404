//! Sessions: one per login, the refresh family that login started. Their owner (and an admin)
//! can list them and end them one by one. Ending a session revokes its family, and the bearer
//! check reads the session's state in the same query as the user
//! ([`crate::ports::UserRepository::find_in_session`]), so the session's access tokens stop
//! working on their next request, not at their expiry. The same holds for a session ended by
//! `/auth/revoke` or by a refresh-token reuse.

use time::OffsetDateTime;
use uuid::Uuid;

use crate::Error;
use crate::audit::AuditKind;
use crate::auth::AuthService;
use crate::principal::{Permission, Principal};

/// A live session as its owner sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    /// Its id: the `sid` of its access tokens (the id of its family's first refresh token).
    pub id: Uuid,
    /// The login that started it.
    pub created_at: OffsetDateTime,
    /// Its last refresh, if it was ever refreshed.
    pub last_used_at: Option<OffsetDateTime>,
    /// Its absolute end.
    pub expires_at: OffsetDateTime,
    /// The IP it logged in from.
    pub client_ip: Option<String>,
    /// The user agent it logged in with.
    pub user_agent: Option<String>,
}

/// What the bearer check needs of a session: whether it was ended, and when it ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionState {
    /// Revoked: ended by its owner, an admin, `/auth/revoke` or a refresh-token reuse.
    pub ended: bool,
    /// Its absolute end.
    pub expires_at: OffsetDateTime,
}

impl SessionState {
    /// Whether its tokens may still act at `now`.
    pub fn live_at(self, now: OffsetDateTime) -> bool {
        !self.ended && now < self.expires_at
    }
}

/// Whose sessions an operation is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Owner {
    /// The caller's own.
    Caller,
    /// Another user's: an admin's (or the operator's) business.
    User(Uuid),
}

impl AuthService {
    /// The live sessions of the caller, or of a user for an admin, oldest first.
    ///
    /// # Errors
    /// [`Error::Forbidden`] for the operator's own (it has none) and for another user's
    /// unless the caller may manage users; [`Error::NotFound`] for an unknown user; storage
    /// failures.
    pub async fn sessions(&self, caller: &Principal, owner: Owner) -> Result<Vec<Session>, Error> {
        let user_id = owner.id_for(caller)?;
        if owner != Owner::Caller && self.ports.users.find_by_id(user_id).await?.is_none() {
            return Err(Error::NotFound);
        }
        let now = self.ports.clock.now();
        self.ports.refresh_tokens.sessions(user_id, now).await
    }

    /// Ends one live session of the caller, or of a user for an admin: its refresh tokens and
    /// its access tokens stop working at once.
    ///
    /// # Errors
    /// [`Error::NotFound`] when the owner has no such live session (an unknown id, another
    /// user's, one already ended); [`Error::Forbidden`] as for [`Self::sessions`]; storage
    /// failures.
    pub async fn end_session(
        &self,
        caller: &Principal,
        owner: Owner,
        session_id: Uuid,
    ) -> Result<(), Error> {
        let user_id = owner.id_for(caller)?;
        let by = if owner == Owner::Caller {
            "owner"
        } else {
            "admin"
        };
        let audit = self
            .ports
            .event(AuditKind::SessionEnded)
            .by(caller)
            .about(user_id)
            .detail("session_id", session_id.to_string())
            .detail("by", by);
        if self
            .ports
            .refresh_tokens
            .end_session(user_id, session_id, audit.at, &audit)
            .await?
        {
            Ok(())
        } else {
            Err(Error::NotFound)
        }
    }

    /// Ends every live session of the caller but the one its bearer token belongs to (all of
    /// them for an API key, which has none). Returns how many ended.
    ///
    /// # Errors
    /// [`Error::Forbidden`] for the operator; storage failures.
    pub async fn end_other_sessions(&self, caller: &Principal) -> Result<u64, Error> {
        let user = caller.account()?;
        let mut audit = self
            .ports
            .event(AuditKind::SessionEnded)
            .by(caller)
            .about(user.id)
            .detail("by", "owner")
            .detail("others", true);
        if let Some(kept) = caller.session() {
            audit = audit.detail("kept", kept.to_string());
        }
        self.ports
            .refresh_tokens
            .end_sessions_except(user.id, caller.session(), audit.at, &audit)
            .await
    }
}

impl Owner {
    /// The id of the user whose sessions this names, if `caller` may see them.
    fn id_for(self, caller: &Principal) -> Result<Uuid, Error> {
        match self {
            Self::Caller => caller.account().map(|u| u.id),
            Self::User(id) => {
                caller.authorize(Permission::ManageUsers)?;
                Ok(id)
            }
        }
    }
}

#[cfg(test)]
#[path = "session_tests.rs"]
pub(crate) mod tests;
