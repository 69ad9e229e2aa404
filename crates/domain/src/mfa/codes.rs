//! The rules of codes: their shapes, the TOTP steps a code may be of, and the proof of an
//! active factor by a code (a step accepted once) or a recovery code (spent once).

use secrecy::ExposeSecret;
use time::OffsetDateTime;

use super::{Proof, SKEW_STEPS, STEP_SECONDS, TotpFactor};
use crate::Error;
use crate::audit::AuditEvent;
use crate::auth::Ports;

/// Digits in a code.
const CODE_DIGITS: usize = 6;
/// Characters in a recovery code, once its dashes and spaces are dropped.
const RECOVERY_CHARS: usize = 16;

/// Whether `code` has the shape of a TOTP code: exactly six ASCII digits.
pub fn is_totp_code(code: &str) -> bool {
    code.len() == CODE_DIGITS && code.bytes().all(|b| b.is_ascii_digit())
}

/// The TOTP step `at` falls in.
pub fn step_at(at: OffsetDateTime) -> i64 {
    at.unix_timestamp().div_euclid(STEP_SECONDS)
}

/// The steps a code may be of at `now`, oldest first, that come after `last_step`.
pub fn candidate_steps(now: OffsetDateTime, last_step: i64) -> Vec<i64> {
    let current = step_at(now);
    (current - SKEW_STEPS..=current + SKEW_STEPS)
        .filter(|&step| step > last_step)
        .collect()
}

/// A recovery code as typed, reduced to what is compared: lower case, without the dashes and
/// spaces that group it; `None` when what is left cannot be a recovery code (16 characters of
/// the base32 alphabet).
pub fn normalize_recovery_code(typed: &str) -> Option<String> {
    let kept: String = typed
        .chars()
        .filter(|c| *c != '-' && *c != ' ')
        .map(|c| c.to_ascii_lowercase())
        .collect();
    let base32 = |c: char| c.is_ascii_lowercase() || ('2'..='7').contains(&c);
    (kept.chars().count() == RECOVERY_CHARS && kept.chars().all(base32)).then_some(kept)
}

/// The step of the factor's secret that `code` is a code of now (within the skew, after the
/// last accepted step); `None` for a malformed code, without looking at the secret.
pub(crate) fn matching_step(
    ports: &Ports,
    factor: &TotpFactor,
    code: &str,
) -> Result<Option<i64>, Error> {
    if !is_totp_code(code) {
        return Ok(None);
    }
    let steps = candidate_steps(ports.clock.now(), factor.last_step);
    if steps.is_empty() {
        return Ok(None);
    }
    ports
        .authenticator
        .matching_step(factor.user_id, &factor.secret, code, &steps)
}

/// Whether `proof` proves the active `factor`: a TOTP code of a step not accepted before (the
/// step is then recorded, once), or an unspent recovery code (then spent, with `spent` as its
/// event). The lockout is the caller's business.
pub(crate) async fn prove_factor(
    ports: &Ports,
    factor: &TotpFactor,
    proof: Proof,
    spent: &AuditEvent,
) -> Result<bool, Error> {
    match proof {
        Proof::Otp(code) => match matching_step(ports, factor, &code)? {
            Some(step) => ports.mfa.accept_step(factor.user_id, step).await,
            None => Ok(false),
        },
        Proof::RecoveryCode(code) => match normalize_recovery_code(code.expose_secret()) {
            Some(code) => {
                let digest = ports.digester.digest(&code);
                ports
                    .mfa
                    .spend_recovery_code(factor.user_id, &digest, spent.at, spent)
                    .await
            }
            None => Ok(false),
        },
    }
}

/// Records an event of no change; a failure to record is logged and changes no answer.
pub(crate) async fn record(ports: &Ports, event: &AuditEvent) {
    if let Err(e) = ports.audit.record(event).await {
        tracing::warn!(error = %e, kind = event.kind.as_str(), "could not record an audit event");
    }
}
