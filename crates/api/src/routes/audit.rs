//! `GET /admin/audit`: the audit trail, newest first, by cursor; admins only.

use poem::Request;
use poem_openapi::param::Query;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi};
use time::OffsetDateTime;
use uuid::Uuid;
use warden_domain::audit::{AuditKind, AuditQuery};

use super::Tag;
use crate::dto::{AuditTypeDto, EventPage};
use crate::failure::{Failure, ListAudit};
use crate::security::{Authenticated, state};

/// The resource.
#[derive(Debug)]
pub struct AuditApi;

#[derive(ApiResponse)]
enum PageResponse {
    /// A page.
    #[oai(status = 200)]
    Ok(Json<EventPage>),
}

#[OpenApi(tag = "Tag::Admin")]
impl AuditApi {
    /// The audit trail, newest first, by cursor (role `admin`).
    #[oai(path = "/admin/audit", method = "get")]
    #[allow(clippy::too_many_arguments, reason = "one parameter per query filter")]
    async fn list(
        &self,
        req: &Request,
        auth: Authenticated,
        /// Events whose actor or subject is this user.
        user: Query<Option<Uuid>>,
        /// Events of this type.
        #[oai(name = "type")]
        kind: Query<Option<AuditTypeDto>>,
        /// At or after this time (RFC 3339).
        since: Query<Option<OffsetDateTime>>,
        /// Before this time (RFC 3339).
        until: Query<Option<OffsetDateTime>>,
        /// The `next_cursor` of the previous page.
        cursor: Query<Option<Uuid>>,
        /// 1 to 200 (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<u64>>,
    ) -> Result<PageResponse, Failure<ListAudit>> {
        let caller = auth.caller()?;
        let query = AuditQuery {
            user: user.0,
            kind: kind.0.map(AuditKind::from),
            since: since.0,
            until: until.0,
            before: cursor.0,
            limit: limit.0.unwrap_or(50),
        };
        let page = state(req)?
            .services
            .admin
            .audit_trail(&caller, &query)
            .await?;
        Ok(PageResponse::Ok(Json(EventPage::from(page))))
    }
}
