//! `POST /admin/users/import`: users with the password hashes they have, as JSON Lines, within
//! `server.max_body_bytes` (the `warden user import` command streams files of any size).

use poem::{FromRequest as _, Request, RequestBody};
use poem_openapi::param::Query;
use poem_openapi::payload::{Binary, Json, ParsePayload, Payload};
use poem_openapi::registry::MetaSchemaRef;
use poem_openapi::{ApiRequest, ApiResponse, Enum, OpenApi};
use warden_domain::import::{ImportOptions, OnConflict};

use super::Tag;
use crate::dto::ImportReportDto;
use crate::failure::{Failure, ImportUsers};
use crate::security::{Authenticated, state};

/// The resource.
#[derive(Debug)]
pub struct ImportApi;

/// One user a line: `{"email", "password_hash", "role"?, "display_name"?, "disabled"?,
/// "email_verified"?, "created_at"?}`.
#[derive(ApiRequest)]
enum Lines {
    /// JSON Lines.
    Ndjson(JsonLines),
}

/// A body of JSON Lines: `application/x-ndjson` in any case, with parameters (a charset) or
/// without; the bytes as they came (the import reads them line by line).
struct JsonLines(Vec<u8>);

impl Payload for JsonLines {
    const CONTENT_TYPE: &'static str = "application/x-ndjson";

    fn check_content_type(content_type: &str) -> bool {
        content_type
            .split(';')
            .next()
            .is_some_and(|essence| essence.trim().eq_ignore_ascii_case(Self::CONTENT_TYPE))
    }

    fn schema_ref() -> MetaSchemaRef {
        <Binary<Vec<u8>> as Payload>::schema_ref()
    }
}

impl ParsePayload for JsonLines {
    const IS_REQUIRED: bool = true;

    async fn from_request(request: &Request, body: &mut RequestBody) -> poem::Result<Self> {
        Ok(Self(Vec::<u8>::from_request(request, body).await?))
    }
}

/// What an existing email does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "lowercase")]
enum OnConflictDto {
    /// The line is refused.
    Fail,
    /// The line is skipped and counted.
    Skip,
    /// The account takes the line's hash and fields; its sessions end.
    Update,
}

impl From<OnConflictDto> for OnConflict {
    fn from(o: OnConflictDto) -> Self {
        match o {
            OnConflictDto::Fail => Self::Fail,
            OnConflictDto::Skip => Self::Skip,
            OnConflictDto::Update => Self::Update,
        }
    }
}

#[derive(ApiResponse)]
enum ReportResponse {
    /// The report: refused lines are listed, the others were written (unless `dry_run`).
    #[oai(status = 200)]
    Ok(Json<ImportReportDto>),
}

#[OpenApi(tag = "Tag::Admin")]
impl ImportApi {
    /// Import users with the hashes they have (argon2, bcrypt, PBKDF2 of passlib, Django or
    /// werkzeug, werkzeug's scrypt); each is rehashed with argon2id at its first login. Admin
    /// by bearer token only.
    #[oai(path = "/admin/users/import", method = "post")]
    async fn import(
        &self,
        req: &Request,
        auth: Authenticated,
        /// What a line whose email has an account does (default `fail`: refused).
        on_conflict: Query<Option<OnConflictDto>>,
        /// Check every line and write nothing.
        dry_run: Query<Option<bool>>,
        body: Lines,
    ) -> Result<ReportResponse, Failure<ImportUsers>> {
        let caller = auth.caller()?;
        let options = ImportOptions {
            on_conflict: on_conflict.0.map_or(OnConflict::Fail, Into::into),
            dry_run: dry_run.0.unwrap_or(false),
        };
        let mut import = state(req)?.services.admin.import(&caller, options)?;
        let Lines::Ndjson(JsonLines(bytes)) = body;
        for (n, raw) in bytes.split(|b| *b == b'\n').enumerate() {
            import
                .line(n as u64 + 1, raw.strip_suffix(b"\r").unwrap_or(raw))
                .await?;
        }
        let report = import.finish().await?;
        Ok(ReportResponse::Ok(Json(ImportReportDto::from(&report))))
    }
}
