//! The domain's one error type, translated once at each edge (HTTP status, CLI message).

use crate::password::Violation;

/// Why a use case refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Wrong password, unknown user, disabled account: deliberately indistinguishable.
    #[error("invalid credentials")]
    InvalidCredentials,
    /// A refresh token that is unknown, expired, revoked, reused, or whose user may no longer
    /// act: the token endpoint's `invalid_grant`.
    #[error("invalid refresh token")]
    InvalidRefreshToken,
    /// A bearer token that does not verify, or whose user may no longer use it.
    #[error("invalid token")]
    InvalidToken,
    /// The current password given to a password change is wrong.
    #[error("the current password is wrong")]
    WrongPassword,
    /// Another account already uses this email address.
    #[error("email already registered")]
    EmailTaken,
    /// Input that parses but breaks a rule; each entry is a human-readable reason.
    #[error("invalid input: {}", .0.join("; "))]
    Invalid(Vec<String>),
    /// Self-service sign-up is turned off.
    #[error("registration is disabled")]
    RegistrationDisabled,
    /// The caller's role does not allow the operation.
    #[error("insufficient permissions")]
    Forbidden,
    /// No such user (or key) visible to the caller.
    #[error("not found")]
    NotFound,
    /// The change would leave no enabled admin.
    #[error("the last enabled admin cannot be removed, disabled or demoted")]
    LastAdmin,
    /// The password was right and the account has a second factor: the login goes on with
    /// the one-time `mfa_token` this carries (shown once, to that client only).
    #[error("a second factor is required")]
    MfaRequired(secrecy::SecretString),
    /// A second-factor code (or recovery code, or `mfa_token`) that is wrong, spent, replayed,
    /// malformed or expired, or came while a lock held: all alike.
    #[error("the code is invalid")]
    InvalidCode,
    /// The account has an active second factor already (an enrolment, or its confirmation,
    /// came twice).
    #[error("a second factor is active already")]
    MfaActive,
    /// The caller is an admin without a second factor, and `mfa.require_for_admins` is on: it
    /// may only enrol.
    #[error("an admin must enrol a second factor first")]
    MfaEnrolmentRequired,
    /// The second factor is turned off on this server (`mfa.enabled = false`).
    #[error("the second factor is turned off")]
    MfaDisabled,
    /// A link's token that is malformed, unknown, expired, spent, replaced or of another
    /// purpose: all alike.
    #[error("the link is invalid or has expired")]
    InvalidAccountToken,
    /// The right password of an account whose address is not verified, while
    /// `auth.require_verified_email` is on.
    #[error("the email address is not verified")]
    EmailNotVerified(uuid::Uuid),
    /// A mail of this kind went to the account less than a minute ago.
    #[error("a mail was sent a moment ago; try again in a minute")]
    MailThrottled,
    /// No mail can be sent from this server (`mail.transport = "off"`).
    #[error("mail is not configured on this server")]
    MailOff,
    /// A client that failed its authentication, or asked as a client it cannot be (RFC 6749
    /// §5.2 `invalid_client`).
    #[error("client authentication failed")]
    InvalidClient,
    /// The client may not use this grant (`unauthorized_client`).
    #[error("the client may not use this grant")]
    UnauthorizedClient,
    /// A scope asked for is not allowed to the client (`invalid_scope`).
    #[error("a scope asked for is not allowed to the client")]
    InvalidScope,
    /// Storage cannot be reached right now; retrying later may succeed.
    #[error("storage unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// Anything else: a bug or an infrastructure fault, logged in full, shown as opaque.
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl Error {
    /// Wraps an unexpected failure of an adapter.
    pub fn internal(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self::Internal(e.into())
    }

    /// This error and every cause under it, joined by `: `, for logs and operators (never for
    /// HTTP clients, who see an opaque message).
    pub fn with_causes(&self) -> String {
        let mut text = self.to_string();
        let mut cause = std::error::Error::source(self);
        while let Some(c) = cause {
            text.push_str(": ");
            text.push_str(&c.to_string());
            cause = c.source();
        }
        text
    }

    /// The reasons for a rejected password, one sentence each.
    pub fn weak_password(violations: &[Violation]) -> Self {
        Self::Invalid(violations.iter().map(ToString::to_string).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn with_causes_walks_the_whole_source_chain() {
        let inner = std::io::Error::other("disk full");
        assert_eq!(
            Error::internal(inner).with_causes(),
            "internal error: disk full"
        );
        assert_eq!(Error::NotFound.with_causes(), "not found");
    }
}
