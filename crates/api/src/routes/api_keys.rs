//! `/api-keys`: the caller's API keys. Bearer token only: a leaked key must not mint more.

use poem::Request;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use secrecy::ExposeSecret;
use time::OffsetDateTime;
use uuid::Uuid;

use super::Tag;
use crate::dto::ApiKeyDto;
use crate::failure::{Caller, CreateKey, Failure, RevokeKey};
use crate::security::{BearerAuth, state};
use crate::strict_json::StrictJson;

/// The resource.
#[derive(Debug)]
pub struct ApiKeysApi;

/// A key to make.
#[derive(Object)]
struct NewKey {
    /// A label: 1 to 100 printable characters.
    #[oai(validator(min_length = 1, max_length = 100))]
    name: String,
    /// Days until it stops working (1 to 3650); never, if absent.
    #[oai(validator(minimum(value = "1"), maximum(value = "3650")))]
    expires_in_days: Option<u32>,
}

/// A new key: `key` is shown here and never again.
#[derive(Object)]
struct CreatedKey {
    /// Identifier.
    id: Uuid,
    /// The label.
    name: String,
    /// The whole key, starting with `wdn_`. Store it now: it cannot be shown again.
    key: String,
    /// The public part, shown in listings.
    prefix: String,
    /// Creation time.
    created_at: OffsetDateTime,
    /// Expiry; `null` when the key does not expire.
    #[oai(nullable)]
    expires_at: Option<OffsetDateTime>,
}

#[derive(ApiResponse)]
enum CreateResponse {
    /// The new key.
    #[oai(status = 201)]
    Created(Json<CreatedKey>),
}

#[derive(ApiResponse)]
enum ListResponse {
    /// The caller's live keys.
    #[oai(status = 200)]
    Ok(Json<Vec<ApiKeyDto>>),
}

#[derive(ApiResponse)]
enum RevokeResponse {
    /// Revoked: the key fails at once.
    #[oai(status = 204)]
    Done,
}

#[OpenApi(tag = "Tag::ApiKeys")]
impl ApiKeysApi {
    /// Make a key that authenticates as the caller.
    #[oai(path = "/api-keys", method = "post")]
    async fn create(
        &self,
        req: &Request,
        auth: BearerAuth,
        body: StrictJson<NewKey>,
    ) -> Result<CreateResponse, Failure<CreateKey>> {
        let caller = auth.caller()?;
        let made = state(req)?
            .services
            .keys
            .create(
                &caller,
                caller.account()?.id,
                &body.0.name,
                body.0.expires_in_days,
            )
            .await?;
        Ok(CreateResponse::Created(Json(CreatedKey {
            id: made.key.id,
            name: made.key.name,
            key: made.secret.expose_secret().to_owned(),
            prefix: made.key.prefix,
            created_at: made.key.created_at,
            expires_at: made.key.expires_at,
        })))
    }

    /// The caller's live keys (neither revoked nor expired).
    #[oai(path = "/api-keys", method = "get")]
    async fn list(&self, req: &Request, auth: BearerAuth) -> Result<ListResponse, Failure<Caller>> {
        let caller = auth.caller()?;
        let keys = state(req)?
            .services
            .keys
            .list(&caller, caller.account()?.id)
            .await?;
        Ok(ListResponse::Ok(Json(
            keys.into_iter().map(ApiKeyDto::from).collect(),
        )))
    }

    /// Revoke one of the caller's keys; another user's key is 404.
    #[oai(path = "/api-keys/:id", method = "delete")]
    async fn revoke(
        &self,
        req: &Request,
        auth: BearerAuth,
        id: Path<Uuid>,
    ) -> Result<RevokeResponse, Failure<RevokeKey>> {
        let caller = auth.caller()?;
        state(req)?.services.keys.revoke(&caller, id.0).await?;
        Ok(RevokeResponse::Done)
    }
}
