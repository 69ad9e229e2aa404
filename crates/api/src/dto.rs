//! Wire shapes of requests and responses, and their conversion to and from the domain.

use poem_openapi::types::ToJSON;
use poem_openapi::{Enum, Object};
use time::OffsetDateTime;
use uuid::Uuid;
use warden_domain::admin::AuditPage;
use warden_domain::api_key::ApiKey;
use warden_domain::audit::{AuditEvent, AuditKind};
use warden_domain::import::ImportReport;
use warden_domain::user::{Role, User};

/// A role on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "lowercase")]
pub enum RoleDto {
    /// Manages users and keys.
    Admin,
    /// A machine caller.
    Service,
    /// An ordinary account.
    User,
}

impl From<Role> for RoleDto {
    fn from(r: Role) -> Self {
        match r {
            Role::Admin => Self::Admin,
            Role::Service => Self::Service,
            Role::User => Self::User,
        }
    }
}

impl From<RoleDto> for Role {
    fn from(r: RoleDto) -> Self {
        match r {
            RoleDto::Admin => Self::Admin,
            RoleDto::Service => Self::Service,
            RoleDto::User => Self::User,
        }
    }
}

/// A user, wherever one is returned. Never carries the password or its hash.
#[derive(Debug, Clone, Object)]
#[oai(rename = "User")]
pub struct UserDto {
    /// The user's id, also the `sub` of its tokens.
    pub id: Uuid,
    /// The email as registered.
    pub email: String,
    /// Optional name to show; `null` when there is none.
    #[oai(nullable)]
    pub display_name: Option<String>,
    /// `admin`, `service` or `user`.
    pub role: RoleDto,
    /// Whether the account is disabled.
    pub disabled: bool,
    /// Whether a second factor (TOTP) is required at its login.
    pub mfa_enabled: bool,
    /// Whether the address was shown to be the user's (by its link, or by an operator).
    pub email_verified: bool,
    /// When it was verified (RFC 3339); `null` when it was not.
    #[oai(nullable)]
    pub email_verified_at: Option<OffsetDateTime>,
    /// Creation time (RFC 3339).
    pub created_at: OffsetDateTime,
    /// Last change (RFC 3339).
    pub updated_at: OffsetDateTime,
}

impl From<&User> for UserDto {
    fn from(u: &User) -> Self {
        Self {
            id: u.id,
            email: u.email.as_str().to_owned(),
            display_name: u.display_name.as_ref().map(|d| d.as_str().to_owned()),
            role: u.role.into(),
            disabled: u.disabled,
            mfa_enabled: u.mfa_enabled_at.is_some(),
            email_verified: u.email_verified_at.is_some(),
            email_verified_at: u.email_verified_at,
            created_at: u.created_at,
            updated_at: u.updated_at,
        }
    }
}

/// A live key, without its secret.
#[derive(Debug, Clone, Object)]
#[oai(rename = "ApiKey")]
pub struct ApiKeyDto {
    /// Identifier.
    pub id: Uuid,
    /// The label.
    pub name: String,
    /// The public part.
    pub prefix: String,
    /// Creation time.
    pub created_at: OffsetDateTime,
    /// Expiry; `null` when the key does not expire.
    #[oai(nullable)]
    pub expires_at: Option<OffsetDateTime>,
    /// Roughly when it was last used (to the minute); `null` when never used.
    #[oai(nullable)]
    pub last_used_at: Option<OffsetDateTime>,
}

impl From<ApiKey> for ApiKeyDto {
    fn from(k: ApiKey) -> Self {
        Self {
            id: k.id,
            name: k.name,
            prefix: k.prefix,
            created_at: k.created_at,
            expires_at: k.expires_at,
            last_used_at: k.last_used_at,
        }
    }
}

/// A line an import refused.
#[derive(Debug, Clone, Object)]
#[oai(rename = "ImportRefusal")]
pub struct ImportRefusalDto {
    /// The line's number, from 1.
    pub line: u64,
    /// Why; never the line's text.
    pub reason: String,
}

/// What an import did, or with `dry_run` would do.
#[derive(Debug, Clone, Object)]
#[oai(rename = "ImportReport")]
pub struct ImportReportDto {
    /// New accounts.
    pub imported: u64,
    /// Existing accounts updated (`on_conflict=update`).
    pub updated: u64,
    /// Lines skipped for an existing account (`on_conflict=skip`).
    pub skipped: u64,
    /// Lines refused.
    pub refused: u64,
    /// Whether nothing was written.
    pub dry_run: bool,
    /// Each refused line, in order.
    pub refusals: Vec<ImportRefusalDto>,
}

impl From<&ImportReport> for ImportReportDto {
    fn from(r: &ImportReport) -> Self {
        Self {
            imported: r.imported,
            updated: r.updated,
            skipped: r.skipped,
            refused: r.refused,
            dry_run: r.dry_run,
            refusals: r
                .refusals
                .iter()
                .map(|f| ImportRefusalDto {
                    line: f.line,
                    reason: f.reason.clone(),
                })
                .collect(),
        }
    }
}

/// An import's report as `POST /admin/users/import` writes it, for the CLI's `--json`.
pub fn import_report_json(report: &ImportReport) -> serde_json::Value {
    ImportReportDto::from(report).to_json().unwrap_or_default()
}

/// An audit event's type on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename = "AuditType")]
pub enum AuditTypeDto {
    /// A password grant issued tokens.
    #[oai(rename = "login.succeeded")]
    LoginSucceeded,
    /// A password grant was refused.
    #[oai(rename = "login.failed")]
    LoginFailed,
    /// A password grant met a lock.
    #[oai(rename = "login.locked")]
    LoginLocked,
    /// A rotated refresh token came back.
    #[oai(rename = "refresh.reuse_detected")]
    RefreshReuseDetected,
    /// A session was ended.
    #[oai(rename = "session.ended")]
    SessionEnded,
    /// Every session of a user was ended by the user.
    #[oai(rename = "logout")]
    Logout,
    /// A password was changed.
    #[oai(rename = "password.changed")]
    PasswordChanged,
    /// An imported hash was replaced at a login.
    #[oai(rename = "password.upgraded")]
    PasswordUpgraded,
    /// An account was made.
    #[oai(rename = "user.created")]
    UserCreated,
    /// An account was changed.
    #[oai(rename = "user.updated")]
    UserUpdated,
    /// An account was deleted.
    #[oai(rename = "user.deleted")]
    UserDeleted,
    /// An account's lockouts were cleared.
    #[oai(rename = "user.unlocked")]
    UserUnlocked,
    /// An API key was made.
    #[oai(rename = "api_key.created")]
    ApiKeyCreated,
    /// An API key was revoked.
    #[oai(rename = "api_key.revoked")]
    ApiKeyRevoked,
    /// A second factor was confirmed.
    #[oai(rename = "mfa.enrolled")]
    MfaEnrolled,
    /// A second factor was removed or reset.
    #[oai(rename = "mfa.disabled")]
    MfaDisabled,
    /// A second-factor code was refused.
    #[oai(rename = "mfa.failed")]
    MfaFailed,
    /// A recovery code was used.
    #[oai(rename = "mfa.recovery_used")]
    MfaRecoveryUsed,
    /// New recovery codes replaced the old ones.
    #[oai(rename = "mfa.recovery_codes_replaced")]
    MfaRecoveryCodesReplaced,
    /// A verification link was sent.
    #[oai(rename = "email.verification_sent")]
    EmailVerificationSent,
    /// An address was verified by its link.
    #[oai(rename = "email.verified")]
    EmailVerified,
    /// An address change was asked for (a link went to the new address).
    #[oai(rename = "email.change_requested")]
    EmailChangeRequested,
    /// An address changed, its new address verified.
    #[oai(rename = "email.changed")]
    EmailChanged,
    /// A password reset link was made.
    #[oai(rename = "password.reset_requested")]
    PasswordResetRequested,
    /// A password was set by a reset link.
    #[oai(rename = "password.reset")]
    PasswordReset,
    /// An OAuth client was registered.
    #[oai(rename = "client.created")]
    ClientCreated,
    /// An OAuth client's registration changed.
    #[oai(rename = "client.updated")]
    ClientUpdated,
    /// An OAuth client was removed.
    #[oai(rename = "client.deleted")]
    ClientDeleted,
}

impl From<AuditTypeDto> for AuditKind {
    fn from(t: AuditTypeDto) -> Self {
        match t {
            AuditTypeDto::LoginSucceeded => Self::LoginSucceeded,
            AuditTypeDto::LoginFailed => Self::LoginFailed,
            AuditTypeDto::LoginLocked => Self::LoginLocked,
            AuditTypeDto::RefreshReuseDetected => Self::RefreshReuseDetected,
            AuditTypeDto::SessionEnded => Self::SessionEnded,
            AuditTypeDto::Logout => Self::Logout,
            AuditTypeDto::PasswordChanged => Self::PasswordChanged,
            AuditTypeDto::PasswordUpgraded => Self::PasswordUpgraded,
            AuditTypeDto::UserCreated => Self::UserCreated,
            AuditTypeDto::UserUpdated => Self::UserUpdated,
            AuditTypeDto::UserDeleted => Self::UserDeleted,
            AuditTypeDto::UserUnlocked => Self::UserUnlocked,
            AuditTypeDto::ApiKeyCreated => Self::ApiKeyCreated,
            AuditTypeDto::ApiKeyRevoked => Self::ApiKeyRevoked,
            AuditTypeDto::MfaEnrolled => Self::MfaEnrolled,
            AuditTypeDto::MfaDisabled => Self::MfaDisabled,
            AuditTypeDto::MfaFailed => Self::MfaFailed,
            AuditTypeDto::MfaRecoveryUsed => Self::MfaRecoveryUsed,
            AuditTypeDto::MfaRecoveryCodesReplaced => Self::MfaRecoveryCodesReplaced,
            AuditTypeDto::EmailVerificationSent => Self::EmailVerificationSent,
            AuditTypeDto::EmailVerified => Self::EmailVerified,
            AuditTypeDto::EmailChangeRequested => Self::EmailChangeRequested,
            AuditTypeDto::EmailChanged => Self::EmailChanged,
            AuditTypeDto::PasswordResetRequested => Self::PasswordResetRequested,
            AuditTypeDto::PasswordReset => Self::PasswordReset,
            AuditTypeDto::ClientCreated => Self::ClientCreated,
            AuditTypeDto::ClientUpdated => Self::ClientUpdated,
            AuditTypeDto::ClientDeleted => Self::ClientDeleted,
        }
    }
}

/// Who acted.
#[derive(Debug, Object)]
#[oai(rename = "AuditActor")]
pub struct ActorDto {
    /// `user`, `api_key`, `operator` (the CLI) or `anonymous`.
    pub kind: String,
    /// The acting user's id (for `user` and `api_key`); `null` otherwise.
    #[oai(nullable)]
    pub id: Option<Uuid>,
}

/// One event of the trail. It never holds a secret.
#[derive(Debug, Object)]
#[oai(rename = "AuditEvent")]
pub struct EventDto {
    /// Time-ordered id.
    pub id: Uuid,
    /// When (RFC 3339).
    pub at: OffsetDateTime,
    /// What: `login.failed`, `user.updated` and the like.
    #[oai(rename = "type")]
    pub kind: String,
    /// Who.
    pub actor: ActorDto,
    /// The account it was about; `null` when none (an unknown username).
    #[oai(nullable)]
    pub subject: Option<Uuid>,
    /// The client IP; `null` at the CLI.
    #[oai(nullable)]
    pub ip: Option<String>,
    /// The client's user agent; `null` when none was sent.
    #[oai(nullable)]
    pub user_agent: Option<String>,
    /// `success` or `failure`.
    pub outcome: String,
    /// Names and ids: for example the fields a change touched, never their values.
    pub details: serde_json::Value,
}

impl From<AuditEvent> for EventDto {
    fn from(e: AuditEvent) -> Self {
        Self {
            id: e.id,
            at: e.at,
            kind: e.kind.as_str().to_owned(),
            actor: ActorDto {
                kind: e.actor_kind.as_str().to_owned(),
                id: e.actor_id,
            },
            subject: e.subject,
            ip: e.ip,
            user_agent: e.user_agent,
            outcome: e.outcome.as_str().to_owned(),
            details: serde_json::Value::Object(e.details),
        }
    }
}

/// One page of events.
#[derive(Debug, Object)]
pub struct EventPage {
    /// Newest first.
    pub items: Vec<EventDto>,
    /// Pass as `cursor` for the next (older) page; `null` on the last page.
    #[oai(nullable)]
    pub next_cursor: Option<Uuid>,
}

impl From<AuditPage> for EventPage {
    fn from(page: AuditPage) -> Self {
        Self {
            items: page.items.into_iter().map(EventDto::from).collect(),
            next_cursor: page.next_cursor,
        }
    }
}

/// A page of the audit trail as `GET /admin/audit` writes it, for the CLI's `--json`.
pub fn audit_page_json(page: AuditPage) -> serde_json::Value {
    EventPage::from(page).to_json().unwrap_or_default()
}

/// Users as the API writes them, for the CLI's `--json`: one wire shape for both.
pub fn users_json(users: &[User]) -> serde_json::Value {
    serde_json::Value::Array(
        users
            .iter()
            .filter_map(|u| UserDto::from(u).to_json())
            .collect(),
    )
}

/// API keys as `GET /api-keys` writes them, for the CLI's `--json`.
pub fn keys_json(keys: &[ApiKey]) -> serde_json::Value {
    serde_json::Value::Array(
        keys.iter()
            .filter_map(|k| ApiKeyDto::from(k.clone()).to_json())
            .collect(),
    )
}

#[cfg(test)]
#[path = "dto_tests.rs"]
mod tests;
