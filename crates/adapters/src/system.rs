//! The system clock and the operating system's randomness, as ports.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::SecretString;
use time::OffsetDateTime;
use uuid::Uuid;
use warden_domain::ports::{Clock, Random};

/// The real clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// The operating system's random source.
#[derive(Clone, Copy, Debug, Default)]
pub struct OsRandom;

/// `n` random bytes from the operating system.
///
/// # Panics
/// If the operating system has no randomness to give, which leaves nothing safe to do.
#[expect(
    clippy::expect_used,
    reason = "the Random port cannot fail: without the OS's randomness no key or id is safe"
)]
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    getrandom::fill(&mut buf).expect("the operating system's random source failed");
    buf
}

impl Random for OsRandom {
    fn new_id(&self) -> Uuid {
        Uuid::now_v7()
    }

    fn secret(&self) -> SecretString {
        SecretString::from(URL_SAFE_NO_PAD.encode(random_bytes::<32>()))
    }
}
