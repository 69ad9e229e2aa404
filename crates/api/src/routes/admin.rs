//! `/admin/users`: user administration; the use cases admit admins only.

use poem::Request;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::types::MaybeUndefined;
use poem_openapi::{ApiResponse, Object, OpenApi};
use secrecy::SecretString;
use uuid::Uuid;
use warden_domain::account::NewAccount;
use warden_domain::admin::UserUpdate;

use super::Tag;
use crate::dto::{RoleDto, UserDto};
use crate::failure::{CreateUser, DeleteUser, Failure, ListUsers, OneUser, PatchUser};
use crate::security::{Authenticated, state};
use crate::strict_json::StrictJson;

/// The resource.
#[derive(Debug)]
pub struct AdminApi;

/// One page of users.
#[derive(Object)]
struct UserPage {
    /// The users, oldest first.
    items: Vec<UserDto>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    #[oai(nullable)]
    next_cursor: Option<Uuid>,
}

/// A user made by an administrator.
#[derive(Object)]
struct NewUser {
    /// The email address to log in with.
    email: String,
    /// The password; must satisfy the password policy.
    #[oai(write_only)]
    password: String,
    /// The role.
    role: RoleDto,
    /// An optional name to show: at most 100 characters.
    #[oai(validator(max_length = 100))]
    display_name: Option<String>,
}

/// A change; absent fields stay as they are, `display_name: null` clears the name.
#[derive(Object)]
#[oai(deny_unknown_fields)]
struct UserPatch {
    /// New role.
    role: Option<RoleDto>,
    /// Disable (ends every session at once) or enable.
    disabled: Option<bool>,
    /// New display name, at most 100 characters; `null` clears it.
    #[oai(nullable, validator(max_length = 100))]
    display_name: MaybeUndefined<String>,
}

#[derive(ApiResponse)]
enum PageResponse {
    /// A page of users.
    #[oai(status = 200)]
    Ok(Json<UserPage>),
}

#[derive(ApiResponse)]
enum UserResponse {
    /// The user.
    #[oai(status = 200)]
    Ok(Json<UserDto>),
}

#[derive(ApiResponse)]
enum CreatedResponse {
    /// The new user.
    #[oai(status = 201)]
    Created(Json<UserDto>),
}

#[derive(ApiResponse)]
enum PatchResponse {
    /// The changed user.
    #[oai(status = 200)]
    Ok(Json<UserDto>),
}

#[derive(ApiResponse)]
enum NoContent {
    /// Done.
    #[oai(status = 204)]
    Done,
}

#[OpenApi(tag = "Tag::Admin")]
impl AdminApi {
    /// List users, oldest first, by cursor.
    #[oai(path = "/admin/users", method = "get")]
    async fn list(
        &self,
        req: &Request,
        auth: Authenticated,
        /// 1 to 200 (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<u64>>,
        /// The `next_cursor` of the previous page.
        cursor: Query<Option<Uuid>>,
    ) -> Result<PageResponse, Failure<ListUsers>> {
        let caller = auth.caller()?;
        let page = state(req)?
            .services
            .admin
            .list(&caller, cursor.0, limit.0.unwrap_or(50))
            .await?;
        Ok(PageResponse::Ok(Json(UserPage {
            items: page.items.iter().map(UserDto::from).collect(),
            next_cursor: page.next_cursor,
        })))
    }

    /// Create a user with any role.
    #[oai(path = "/admin/users", method = "post")]
    async fn create(
        &self,
        req: &Request,
        auth: Authenticated,
        body: StrictJson<NewUser>,
    ) -> Result<CreatedResponse, Failure<CreateUser>> {
        let caller = auth.caller()?;
        let body = body.0;
        let account = NewAccount {
            email: body.email,
            password: SecretString::from(body.password),
            display_name: body.display_name,
        };
        let services = &state(req)?.services;
        let user = services
            .admin
            .create_user(&caller, account, body.role.into())
            .await?;
        crate::routes::recovery::welcome(services, &user, caller.origin()).await;
        Ok(CreatedResponse::Created(Json(UserDto::from(&user))))
    }

    /// One user.
    #[oai(path = "/admin/users/:id", method = "get")]
    async fn get(
        &self,
        req: &Request,
        auth: Authenticated,
        id: Path<Uuid>,
    ) -> Result<UserResponse, Failure<OneUser>> {
        let caller = auth.caller()?;
        let user = state(req)?.services.admin.get(&caller, id.0).await?;
        Ok(UserResponse::Ok(Json(UserDto::from(&user))))
    }

    /// Change role, enabled state or display name. Refused (409) if it would leave no enabled admin.
    #[oai(path = "/admin/users/:id", method = "patch")]
    async fn patch(
        &self,
        req: &Request,
        auth: Authenticated,
        id: Path<Uuid>,
        body: StrictJson<UserPatch>,
    ) -> Result<PatchResponse, Failure<PatchUser>> {
        let caller = auth.caller()?;
        let body = body.0;
        let update = UserUpdate {
            role: body.role.map(Into::into),
            disabled: body.disabled,
            display_name: match body.display_name {
                MaybeUndefined::Undefined => None,
                MaybeUndefined::Null => Some(None),
                MaybeUndefined::Value(name) => Some(Some(name)),
            },
        };
        let user = state(req)?
            .services
            .admin
            .update(&caller, id.0, update)
            .await?;
        Ok(PatchResponse::Ok(Json(UserDto::from(&user))))
    }

    /// Clear every lockout of a user (per-IP and account-wide).
    #[oai(path = "/admin/users/:id/unlock", method = "post")]
    async fn unlock(
        &self,
        req: &Request,
        auth: Authenticated,
        id: Path<Uuid>,
    ) -> Result<NoContent, Failure<OneUser>> {
        let caller = auth.caller()?;
        state(req)?.services.admin.unlock(&caller, id.0).await?;
        Ok(NoContent::Done)
    }

    /// Delete a user. Refused (409) for the last enabled admin.
    #[oai(path = "/admin/users/:id", method = "delete")]
    async fn delete(
        &self,
        req: &Request,
        auth: Authenticated,
        id: Path<Uuid>,
    ) -> Result<NoContent, Failure<DeleteUser>> {
        let caller = auth.caller()?;
        state(req)?.services.admin.delete(&caller, id.0).await?;
        Ok(NoContent::Done)
    }
}
