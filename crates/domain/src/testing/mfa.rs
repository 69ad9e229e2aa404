//! An in-memory store of second factors with the repository's atomicity, and a readable
//! authenticator: the code of step `s` is the last six digits of `s`.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use secrecy::SecretString;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::Error;
use crate::audit::AuditEvent;
use crate::mfa::{MfaChallenge, Provisioning, SealedSecret, TotpFactor};
use crate::ports::{Authenticator, MfaRepository};

/// The code the [`FakeAuthenticator`] accepts for `step`.
pub fn code_at(step: i64) -> String {
    format!("{:06}", step.rem_euclid(1_000_000))
}

/// A readable authenticator: a secret is sealed as its user's id (so a secret of another
/// user does not open), and the code of step `s` is [`code_at`]`(s)`. Recovery codes count
/// up in base32.
#[derive(Debug, Default)]
pub struct FakeAuthenticator {
    issued: AtomicU64,
}

impl Authenticator for FakeAuthenticator {
    fn new_factor(
        &self,
        user_id: Uuid,
        account: &str,
    ) -> Result<(SealedSecret, Provisioning), Error> {
        let sealed = SealedSecret {
            key_id: "test".into(),
            sealed: user_id.to_string(),
        };
        let uri = format!("otpauth://totp/Warden:{account}?secret=FAKE&issuer=Warden");
        let provisioning = Provisioning {
            secret: SecretString::from("FAKE"),
            qr_svg: SecretString::from(format!("<svg>{uri}</svg>")),
            uri: SecretString::from(uri),
        };
        Ok((sealed, provisioning))
    }

    fn matching_step(
        &self,
        user_id: Uuid,
        secret: &SealedSecret,
        code: &str,
        steps: &[i64],
    ) -> Result<Option<i64>, Error> {
        if secret.sealed != user_id.to_string() {
            return Err(Error::internal("the secret is not this user's"));
        }
        Ok(steps.iter().copied().find(|&s| code_at(s) == code))
    }

    fn recovery_code(&self) -> Result<SecretString, Error> {
        const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz234567";
        let mut n = self.issued.fetch_add(1, Ordering::Relaxed);
        let mut chars = [b'a'; 16];
        for c in chars.iter_mut().rev() {
            *c = ALPHABET[usize::try_from(n % 32).unwrap()];
            n /= 32;
        }
        let text = String::from_utf8(chars.to_vec()).unwrap();
        let groups: Vec<&str> = (0..4).map(|i| &text[i * 4..i * 4 + 4]).collect();
        Ok(SecretString::from(groups.join("-")))
    }
}

/// One stored recovery code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredCode {
    /// Its owner.
    pub user_id: Uuid,
    /// Its digest.
    pub digest: String,
    /// When it was spent.
    pub spent_at: Option<OffsetDateTime>,
}

/// An in-memory second-factor store with the repository's atomicity (one lock a call).
#[derive(Debug, Default)]
pub struct MemMfa {
    /// The factors.
    pub factors: Mutex<Vec<TotpFactor>>,
    /// The recovery codes.
    pub codes: Mutex<Vec<StoredCode>>,
    /// The open challenges.
    pub challenges: Mutex<Vec<MfaChallenge>>,
    /// Users whose second factor is marked on (what `users.mfa_enabled_at` records).
    pub enabled: Mutex<Vec<Uuid>>,
    /// The audit events written with the changes.
    pub events: Mutex<Vec<AuditEvent>>,
}

impl MemMfa {
    fn write(&self, audit: &AuditEvent) {
        self.events.lock().unwrap().push(audit.clone());
    }

    /// The kinds of the events written with the changes so far, by name.
    pub fn event_kinds(&self) -> Vec<&'static str> {
        self.events
            .lock()
            .unwrap()
            .iter()
            .map(|e| e.kind.as_str())
            .collect()
    }
}

#[async_trait]
impl MfaRepository for MemMfa {
    async fn factor(&self, user_id: Uuid) -> Result<Option<TotpFactor>, Error> {
        let factors = self.factors.lock().unwrap();
        Ok(factors.iter().find(|f| f.user_id == user_id).cloned())
    }

    async fn put_pending(
        &self,
        user_id: Uuid,
        secret: &SealedSecret,
        _at: OffsetDateTime,
    ) -> Result<bool, Error> {
        let mut factors = self.factors.lock().unwrap();
        if factors
            .iter()
            .any(|f| f.user_id == user_id && f.confirmed_at.is_some())
        {
            return Ok(false);
        }
        factors.retain(|f| f.user_id != user_id);
        factors.push(TotpFactor {
            user_id,
            secret: secret.clone(),
            confirmed_at: None,
            last_step: i64::MIN,
        });
        Ok(true)
    }

    async fn confirm(
        &self,
        user_id: Uuid,
        secret: &SealedSecret,
        step: i64,
        recovery_digests: &[String],
        audit: &AuditEvent,
    ) -> Result<bool, Error> {
        let mut factors = self.factors.lock().unwrap();
        let Some(factor) = factors
            .iter_mut()
            .find(|f| f.user_id == user_id && f.confirmed_at.is_none() && f.secret == *secret)
        else {
            return Ok(false);
        };
        factor.confirmed_at = Some(audit.at);
        factor.last_step = step;
        self.enabled.lock().unwrap().push(user_id);
        let mut codes = self.codes.lock().unwrap();
        codes.retain(|c| c.user_id != user_id);
        codes.extend(recovery_digests.iter().map(|d| StoredCode {
            user_id,
            digest: d.clone(),
            spent_at: None,
        }));
        self.write(audit);
        Ok(true)
    }

    async fn accept_step(&self, user_id: Uuid, step: i64) -> Result<bool, Error> {
        let mut factors = self.factors.lock().unwrap();
        match factors
            .iter_mut()
            .find(|f| f.user_id == user_id && f.last_step < step)
        {
            Some(factor) => {
                factor.last_step = step;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    async fn spend_recovery_code(
        &self,
        user_id: Uuid,
        digest: &str,
        at: OffsetDateTime,
        audit: &AuditEvent,
    ) -> Result<bool, Error> {
        let mut codes = self.codes.lock().unwrap();
        let Some(code) = codes
            .iter_mut()
            .find(|c| c.user_id == user_id && c.digest == digest && c.spent_at.is_none())
        else {
            return Ok(false);
        };
        code.spent_at = Some(at);
        self.write(audit);
        Ok(true)
    }

    async fn replace_recovery_codes(
        &self,
        user_id: Uuid,
        digests: &[String],
        audit: &AuditEvent,
    ) -> Result<bool, Error> {
        let factors = self.factors.lock().unwrap();
        if !factors
            .iter()
            .any(|f| f.user_id == user_id && f.confirmed_at.is_some())
        {
            return Ok(false);
        }
        let mut codes = self.codes.lock().unwrap();
        codes.retain(|c| c.user_id != user_id);
        codes.extend(digests.iter().map(|d| StoredCode {
            user_id,
            digest: d.clone(),
            spent_at: None,
        }));
        self.write(audit);
        Ok(true)
    }

    async fn remove(&self, user_id: Uuid, audit: &AuditEvent) -> Result<bool, Error> {
        let mut factors = self.factors.lock().unwrap();
        let active = factors
            .iter()
            .any(|f| f.user_id == user_id && f.confirmed_at.is_some());
        factors.retain(|f| f.user_id != user_id);
        self.codes.lock().unwrap().retain(|c| c.user_id != user_id);
        self.enabled.lock().unwrap().retain(|u| *u != user_id);
        if active {
            self.write(audit);
        }
        Ok(active)
    }

    async fn open_challenge(&self, challenge: &MfaChallenge) -> Result<(), Error> {
        self.challenges.lock().unwrap().push(challenge.clone());
        Ok(())
    }

    async fn take_challenge(
        &self,
        digest: &str,
        now: OffsetDateTime,
    ) -> Result<Option<MfaChallenge>, Error> {
        let mut challenges = self.challenges.lock().unwrap();
        let Some(at) = challenges.iter().position(|c| c.digest == digest) else {
            return Ok(None);
        };
        let challenge = challenges.remove(at);
        Ok((now < challenge.expires_at).then_some(challenge))
    }

    async fn purge(&self, now: OffsetDateTime) -> Result<u64, Error> {
        let mut challenges = self.challenges.lock().unwrap();
        let before = challenges.len();
        challenges.retain(|c| now < c.expires_at);
        Ok((before - challenges.len()) as u64)
    }
}
