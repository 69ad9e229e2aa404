//! Request ids: each request gets one, taken from `X-Request-Id` when a trusted proxy sent a
//! well-formed one, else made here; it is echoed in the response, logged with the access line,
//! and carried by every 5xx problem document ("error id"), so that a user's report, the proxy's
//! log and Warden's log name the same request.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use poem::http::HeaderValue;
use poem::http::header::HeaderName;

/// The header that carries it, in and out.
pub const HEADER: HeaderName = HeaderName::from_static("x-request-id");
/// The longest id accepted from a proxy.
const MAX_LEN: usize = 128;

tokio::task_local! {
    static CURRENT: Arc<str>;
}

/// The id of this request: the proxy's when `trusted` and well formed (1 to 128 of
/// `A-Z a-z 0-9 - _ . : /`), else a new one.
pub fn assign(trusted: bool, offered: Option<&HeaderValue>) -> Arc<str> {
    offered
        .filter(|_| trusted)
        .and_then(|v| v.to_str().ok())
        .filter(|v| is_well_formed(v))
        .map_or_else(fresh, Arc::from)
}

fn is_well_formed(id: &str) -> bool {
    (1..=MAX_LEN).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:/".contains(&b))
}

/// A new id: this process's random prefix and a counter, so ids never repeat across instances
/// and cost no system call per request.
fn fresh() -> Arc<str> {
    static PREFIX: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let prefix = PREFIX.get_or_init(|| {
        // The low bits of a random (v4) UUID: only uniqueness across processes matters here.
        uuid::Uuid::new_v4().as_u64_pair().1
    });
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    Arc::from(format!("{prefix:016x}-{n:x}"))
}

/// Runs `work` with `id` as the current request's id.
pub async fn scope<F: Future>(id: Arc<str>, work: F) -> F::Output {
    CURRENT.scope(id, work).await
}

/// The current request's id, if one is being served.
pub fn current() -> Option<Arc<str>> {
    CURRENT.try_with(Arc::clone).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trusted_well_formed_id_is_kept_and_anything_else_replaced() {
        let offered = HeaderValue::from_static("edge-7f3a:42/b.c_d");
        assert_eq!(&*assign(true, Some(&offered)), "edge-7f3a:42/b.c_d");
        assert_ne!(&*assign(false, Some(&offered)), "edge-7f3a:42/b.c_d");
        let longest = "a".repeat(MAX_LEN);
        let value = HeaderValue::from_str(&longest).unwrap();
        assert_eq!(&*assign(true, Some(&value)), longest);
        for bad in ["", "has space", "semi;colon", "quote\"d"] {
            let value = HeaderValue::from_str(bad).unwrap();
            assert_ne!(&*assign(true, Some(&value)), bad, "{bad:?}");
        }
        let too_long = "a".repeat(MAX_LEN + 1);
        let value = HeaderValue::from_str(&too_long).unwrap();
        assert_ne!(&*assign(true, Some(&value)), too_long);
    }

    #[test]
    fn fresh_ids_never_repeat() {
        let a = assign(false, None);
        let b = assign(false, None);
        assert_ne!(a, b);
        assert_eq!(
            a.split('-').next(),
            b.split('-').next(),
            "one prefix per process"
        );
    }
}
