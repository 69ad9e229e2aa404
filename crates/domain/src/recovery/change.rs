//! The address change: asked for by the owner in person, with its password under the lockout;
//! done only when the link sent to the new address is used (see `redeem`).

use secrecy::SecretString;

use super::{Issue, RecoveryService, TokenPurpose};
use crate::Error;
use crate::audit::AuditKind;
use crate::auth::Checked;
use crate::mail::{Mail, MailKind};
use crate::origin::Origin;
use crate::principal::Principal;
use crate::user::Email;

impl RecoveryService {
    /// Asks to change the caller's address: the current password is checked under the
    /// lockout (a wrong one counts as a failed login), then a link goes to the new address and
    /// a notice to the old one. The address changes only when the link is used.
    ///
    /// # Errors
    /// [`Error::Forbidden`] for an API key or the operator; [`Error::MailOff`];
    /// [`Error::WrongPassword`]; [`Error::Invalid`] for an address that does not parse or is
    /// the current one; [`Error::EmailTaken`]; [`Error::MailThrottled`]; storage failures.
    pub async fn change_email(
        &self,
        caller: &Principal,
        new_email: &str,
        current_password: SecretString,
        origin: &Origin,
    ) -> Result<(), Error> {
        let user = caller.owner_in_person()?;
        self.require_mail()?;
        let checked = self
            .guard
            .check_password(
                user.id,
                current_password,
                Some(&user.password_hash),
                origin.ip,
            )
            .await?;
        if checked != Checked::Right {
            let reason = if checked == Checked::Refused {
                "locked"
            } else {
                "wrong_password"
            };
            let event = self
                .event(AuditKind::EmailChangeRequested, user)
                .by(caller)
                .failed()
                .detail("reason", reason);
            if let Err(e) = self.ports.audit.record(&event).await {
                tracing::warn!(error = %e, "could not record a refused address change");
            }
            return Err(Error::WrongPassword);
        }
        let new = Email::parse(new_email).map_err(|r| Error::Invalid(vec![r.to_string()]))?;
        if new == user.email {
            return Err(Error::Invalid(vec![
                "new_email must differ from the current address".into(),
            ]));
        }
        if self.ports.users.find_by_email(&new).await?.is_some() {
            return Err(Error::EmailTaken);
        }
        let notice = self.mail.composer.compose(&Mail {
            kind: MailKind::EmailChangeNotice,
            to: user.email.as_str().to_owned(),
            name: user.email.as_str().to_owned(),
            link: None,
            valid_minutes: 0,
        })?;
        let event = self.event(AuditKind::EmailChangeRequested, user).by(caller);
        let issue = Issue {
            user,
            purpose: TokenPurpose::EmailChange,
            to: new.as_str(),
            throttled: true,
        };
        if self.issue(&issue, Some(notice), event).await? {
            Ok(())
        } else {
            Err(Error::MailThrottled)
        }
    }
}
