//! Sessions: `/users/me/sessions` for the caller's own, `/admin/users/{id}/sessions` for an
//! admin. A session id that is unknown, another user's, already ended or no UUID at all is the
//! same 404.

use poem::Request;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};
use time::OffsetDateTime;
use uuid::Uuid;
use warden_domain::Error;
use warden_domain::principal::Principal;
use warden_domain::session::{Owner, Session};

use super::Tag;
use crate::failure::{Caller, EndSessions, Failure, OneSession, UserSessions};
use crate::security::{Authenticated, state};

/// The resource.
#[derive(Debug)]
pub struct SessionsApi;

/// A live session: one login and the refreshes that continued it.
#[derive(Debug, Object)]
#[oai(rename = "Session")]
struct SessionDto {
    /// Its id, the `sid` of its access tokens.
    id: Uuid,
    /// The login that started it (RFC 3339).
    created_at: OffsetDateTime,
    /// Its last refresh; `null` if it was never refreshed.
    #[oai(nullable)]
    last_used_at: Option<OffsetDateTime>,
    /// When it ends whatever happens (RFC 3339).
    expires_at: OffsetDateTime,
    /// The client IP of the login; `null` for sessions older than this field.
    #[oai(nullable)]
    ip: Option<String>,
    /// The user agent of the login, at most 256 characters; `null` when none was sent.
    #[oai(nullable)]
    user_agent: Option<String>,
    /// Whether the request's own bearer token belongs to it.
    current: bool,
}

/// `others=true`, the only value `DELETE /users/me/sessions` takes: ending every session
/// is `POST /auth/logout`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
enum OthersOnly {
    /// The sessions other than the caller's.
    #[oai(rename = "true")]
    True,
}

/// Live sessions.
#[derive(Debug, Object)]
struct SessionList {
    /// Oldest first.
    items: Vec<SessionDto>,
}

#[derive(ApiResponse)]
enum ListResponse {
    /// The live sessions.
    #[oai(status = 200)]
    Ok(Json<SessionList>),
}

#[derive(ApiResponse)]
enum Ended {
    /// Ended: its refresh token and its access tokens no longer work.
    #[oai(status = 204)]
    Done,
}

fn list(caller: &Principal, sessions: Vec<Session>) -> ListResponse {
    let items = sessions
        .into_iter()
        .map(|s| SessionDto {
            current: caller.session() == Some(s.id),
            id: s.id,
            created_at: s.created_at,
            last_used_at: s.last_used_at,
            expires_at: s.expires_at,
            ip: s.client_ip,
            user_agent: s.user_agent,
        })
        .collect();
    ListResponse::Ok(Json(SessionList { items }))
}

/// A path id: anything that is no UUID names nothing, so it is the same 404 as an unknown one.
fn id(raw: &str) -> Result<Uuid, Error> {
    raw.parse().map_err(|_| Error::NotFound)
}

#[OpenApi(tag = "Tag::Users")]
impl SessionsApi {
    /// The caller's live sessions; `current` marks the one of the request's bearer token.
    #[oai(path = "/users/me/sessions", method = "get")]
    async fn mine(
        &self,
        req: &Request,
        auth: Authenticated,
    ) -> Result<ListResponse, Failure<Caller>> {
        let caller = auth.caller()?;
        let sessions = state(req)?
            .services
            .auth
            .sessions(&caller, Owner::Caller)
            .await?;
        Ok(list(&caller, sessions))
    }

    /// End every session of the caller but the current one (`others=true` is required; to
    /// end them all, `POST /auth/logout`).
    #[oai(path = "/users/me/sessions", method = "delete")]
    async fn end_others(
        &self,
        req: &Request,
        auth: Authenticated,
        /// `true`: the sessions other than the caller's.
        others: Query<OthersOnly>,
    ) -> Result<Ended, Failure<EndSessions>> {
        let caller = auth.enrolling_caller()?;
        let OthersOnly::True = others.0;
        state(req)?
            .services
            .auth
            .end_other_sessions(&caller)
            .await?;
        Ok(Ended::Done)
    }

    /// End one of the caller's sessions.
    #[oai(path = "/users/me/sessions/:id", method = "delete")]
    async fn end_mine(
        &self,
        req: &Request,
        auth: Authenticated,
        id: Path<String>,
    ) -> Result<Ended, Failure<OneSession>> {
        let caller = auth.enrolling_caller()?;
        let session = self::id(&id.0)?;
        state(req)?
            .services
            .auth
            .end_session(&caller, Owner::Caller, session)
            .await?;
        Ok(Ended::Done)
    }

    /// A user's live sessions (role `admin`).
    #[oai(path = "/admin/users/:id/sessions", method = "get", tag = "Tag::Admin")]
    async fn of_user(
        &self,
        req: &Request,
        auth: Authenticated,
        id: Path<String>,
    ) -> Result<ListResponse, Failure<UserSessions>> {
        let caller = auth.caller()?;
        let user = self::id(&id.0)?;
        let sessions = state(req)?
            .services
            .auth
            .sessions(&caller, Owner::User(user))
            .await?;
        Ok(list(&caller, sessions))
    }

    /// End one of a user's sessions (role `admin`).
    #[oai(
        path = "/admin/users/:id/sessions/:sid",
        method = "delete",
        tag = "Tag::Admin"
    )]
    async fn end_of_user(
        &self,
        req: &Request,
        auth: Authenticated,
        id: Path<String>,
        sid: Path<String>,
    ) -> Result<Ended, Failure<UserSessions>> {
        let caller = auth.caller()?;
        let (user, session) = (self::id(&id.0)?, self::id(&sid.0)?);
        state(req)?
            .services
            .auth
            .end_session(&caller, Owner::User(user), session)
            .await?;
        Ok(Ended::Done)
    }
}
