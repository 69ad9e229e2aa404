//! argon2id password hashing on tokio's blocking pool, with a bound on hashes running at once.

use std::sync::Arc;

use argon2::{
    ARGON2ID_IDENT, Algorithm, Argon2, Params, PasswordHasher as _, PasswordVerifier as _, Version,
};
use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Semaphore;
use warden_domain::Error;
use warden_domain::ports::PasswordHasher;
use warden_domain::user::PasswordHash;

/// argon2id with the configured cost. At most `concurrency` hashes run at once, each on the
/// blocking pool, so a burst of logins neither stalls the executor nor exhausts memory.
#[derive(Debug)]
pub struct Argon2Hasher {
    params: Params,
    permits: Arc<Semaphore>,
}

impl Argon2Hasher {
    /// A hasher with these parameters (m KiB, t passes, p lanes) and concurrency bound.
    ///
    /// # Errors
    /// When argon2 refuses the parameters.
    pub fn new(
        memory_kib: u32,
        iterations: u32,
        parallelism: u32,
        concurrency: usize,
    ) -> Result<Self, argon2::Error> {
        Ok(Self {
            params: Params::new(memory_kib, iterations, parallelism, None)?,
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
        })
    }

    fn argon2(params: Params) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
    }

    /// Runs `f` on the blocking pool once a permit is free.
    async fn bounded<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Error> {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(Error::internal)?;
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            f()
        })
        .await
        .map_err(Error::internal)
    }
}

#[async_trait]
impl PasswordHasher for Argon2Hasher {
    async fn hash(&self, password: SecretString) -> Result<PasswordHash, Error> {
        let params = self.params.clone();
        self.bounded(move || {
            Self::argon2(params)
                .hash_password(password.expose_secret().as_bytes())
                .map(|h| PasswordHash::new(h.to_string()))
                .map_err(|e| Error::internal(e.to_string()))
        })
        .await?
    }

    async fn verify(&self, password: SecretString, hash: PasswordHash) -> Result<bool, Error> {
        let params = self.params.clone();
        self.bounded(move || {
            let parsed = argon2::PasswordHash::new(hash.expose())
                .map_err(|e| Error::internal(e.to_string()))?;
            // The hash's own parameters are used for verification.
            Ok(Self::argon2(params)
                .verify_password(password.expose_secret().as_bytes(), &parsed)
                .is_ok())
        })
        .await?
    }

    fn needs_rehash(&self, hash: &PasswordHash) -> bool {
        let Ok(parsed) = argon2::PasswordHash::new(hash.expose()) else {
            return true;
        };
        if parsed.algorithm != ARGON2ID_IDENT || parsed.version != Some(Version::V0x13.into()) {
            return true;
        }
        // Compare the costs only: parsed params carry an output length the configured ones lack.
        Params::try_from(&parsed).map_or(true, |p| {
            (p.m_cost(), p.t_cost(), p.p_cost())
                != (
                    self.params.m_cost(),
                    self.params.t_cost(),
                    self.params.p_cost(),
                )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cheap() -> Argon2Hasher {
        Argon2Hasher::new(1024, 1, 1, 2).unwrap()
    }

    #[tokio::test]
    async fn hashes_verify_and_differ_by_salt() {
        let h = cheap();
        let a = h
            .hash(SecretString::from("pw one two three"))
            .await
            .unwrap();
        let b = h
            .hash(SecretString::from("pw one two three"))
            .await
            .unwrap();
        assert_ne!(a.expose(), b.expose());
        assert!(a.expose().starts_with("$argon2id$v=19$m=1024,t=1,p=1$"));
        assert!(
            h.verify(SecretString::from("pw one two three"), a.clone())
                .await
                .unwrap()
        );
        assert!(
            !h.verify(SecretString::from("pw one two four"), a)
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn a_hash_with_other_parameters_needs_a_rehash_and_still_verifies() {
        let old = cheap().hash(SecretString::from("pw")).await.unwrap();
        let current = Argon2Hasher::new(2048, 1, 1, 1).unwrap();
        assert!(current.needs_rehash(&old));
        assert!(!cheap().needs_rehash(&old));
        assert!(current.verify(SecretString::from("pw"), old).await.unwrap());
        assert!(current.needs_rehash(&PasswordHash::new("$2b$12$bcrypt-style".into())));
    }

    #[tokio::test]
    async fn a_corrupt_hash_is_an_error_not_a_match() {
        let r = cheap()
            .verify(
                SecretString::from("pw"),
                PasswordHash::new("garbage".into()),
            )
            .await;
        assert!(r.is_err());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn no_more_hashes_run_at_once_than_the_bound() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let h = Arc::new(Argon2Hasher::new(1024, 1, 1, 2).unwrap());
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let (h, running, peak) = (h.clone(), running.clone(), peak.clone());
            tasks.push(tokio::spawn(async move {
                h.bounded(move || {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(std::time::Duration::from_millis(20));
                    running.fetch_sub(1, Ordering::SeqCst);
                })
                .await
                .unwrap();
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(peak.load(Ordering::SeqCst), 2);
    }
}
