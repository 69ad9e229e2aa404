//! argon2id password hashing on a fixed set of threads of its own, one hash per thread at a
//! time, so that the bound on hashes running at once is also a bound on their memory.
//!
//! Not tokio's blocking pool: a permit released at the end of one hash lets the next one be
//! spawned before that thread is idle again, so the pool keeps growing threads, and each
//! thread's allocator keeps the argon2 block (19 MiB at the default cost) it last freed. A load
//! test measured about 490 MiB resident that way; with dedicated threads it is the bound times
//! the block.

use std::cell::RefCell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash as Phc, Salt};
use argon2::{ARGON2ID_IDENT, Algorithm, Argon2, Block, Params, Version};
use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::oneshot;
use warden_domain::Error;
use warden_domain::ports::PasswordHasher;
use warden_domain::user::PasswordHash;

use crate::metrics::HashTimings;

/// argon2id with the configured cost. At most `concurrency` hashes run at once, each on one of
/// as many threads of its own, so a burst of logins neither stalls the executor nor exhausts
/// memory; the others wait in a queue.
pub struct Argon2Hasher {
    params: Params,
    jobs: Sender<Job>,
    timings: HashTimings,
}

/// One hash or verification, run on a hashing thread.
type Job = Box<dyn FnOnce() + Send>;

impl std::fmt::Debug for Argon2Hasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Argon2Hasher")
            .field("params", &self.params)
            .finish_non_exhaustive()
    }
}

/// A hashing thread: runs jobs until the hasher is dropped. A job that panics is contained, so
/// the thread, and the bound, stay.
fn hashing_thread(jobs: &Mutex<Receiver<Job>>) {
    loop {
        // The lock is held only while waiting for a job, never while hashing.
        let job = match jobs.lock() {
            Ok(receiver) => receiver.recv(),
            Err(_) => return,
        };
        match job {
            Ok(job) => {
                let _ = catch_unwind(AssertUnwindSafe(job));
            }
            Err(_) => return,
        }
    }
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
        let params = Params::new(memory_kib, iterations, parallelism, None)?;
        let (jobs, receiver) = channel::<Job>();
        let receiver = Arc::new(Mutex::new(receiver));
        for n in 0..concurrency.max(1) {
            let receiver = receiver.clone();
            std::thread::Builder::new()
                .name(format!("argon2-{n}"))
                .spawn(move || hashing_thread(&receiver))
                .map_err(|_| argon2::Error::OutOfMemory)?;
        }
        Ok(Self {
            params,
            jobs,
            timings: HashTimings::default(),
        })
    }

    /// The same hasher, recording each job's wait for a thread and its run in `timings` (by
    /// default, in figures nobody reads).
    #[must_use]
    pub fn timed(self, timings: HashTimings) -> Self {
        Self { timings, ..self }
    }

    /// Runs `f` on a hashing thread once one is free.
    async fn bounded<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Error> {
        let (done, result) = oneshot::channel();
        let timings = self.timings.clone();
        let queued = Instant::now();
        self.jobs
            .send(Box::new(move || {
                let started = Instant::now();
                let answer = f();
                timings.observe(started - queued, started.elapsed());
                let _ = done.send(answer);
            }))
            .map_err(|_| Error::internal("the hashing threads are gone".to_owned()))?;
        // A job that panicked drops its sender: an error here, not a hang.
        result.await.map_err(Error::internal)
    }
}

thread_local! {
    /// This hashing thread's argon2 memory, reused by every job: it grows once to the largest
    /// cost seen and is never handed back, so the memory of hashing is the bound times the cost
    /// (an allocation per hash of 19 MiB leaves the allocator holding freed blocks per thread).
    static BLOCKS: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// argon2 with `params` into `out`: in this thread's memory when the cost is at most `keep`
/// blocks (the configured cost), else in memory of its own, handed back at once, so that an
/// imported hash of a higher cost never leaves a thread holding its memory.
fn hash_into(
    argon2: &Argon2<'_>,
    params: &Params,
    keep: usize,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
) -> Result<(), argon2::Error> {
    let count = params.block_count();
    if count > keep {
        let mut blocks = vec![Block::default(); count];
        return argon2.hash_password_into_with_memory(password, salt, out, &mut blocks);
    }
    BLOCKS.with_borrow_mut(|blocks| {
        if blocks.len() < count {
            blocks.resize(count, Block::default());
        }
        argon2.hash_password_into_with_memory(password, salt, out, &mut blocks[..count])
    })
}

/// Why a hash or a verification failed; argon2's own error is its source.
#[derive(Debug, thiserror::Error)]
pub enum HashError {
    /// argon2 refused the parameters or the hashing.
    #[error("argon2 failed")]
    Argon2(#[from] argon2::Error),
    /// The PHC string's parameters, algorithm or encoding are not argon2's.
    #[error("argon2: unusable PHC parameters")]
    Params(#[from] argon2::password_hash::Error),
    /// Not a PHC string, or an output PHC cannot hold.
    #[error("argon2: malformed PHC string")]
    Phc(#[from] argon2::password_hash::phc::Error),
    /// An imported hash of another algorithm that could not be verified.
    #[error("imported hash: {0}")]
    Foreign(#[from] crate::foreign::ForeignError),
    /// A stored hash without a salt or without an output.
    #[error("argon2: the hash has no salt or no output")]
    Incomplete,
    /// An output length beyond what PHC holds.
    #[error("argon2: output length out of range")]
    OutputLength,
}

/// A new argon2id PHC string for `password` with a fresh salt.
fn hash_phc(params: &Params, password: &[u8]) -> Result<String, HashError> {
    let salt = Salt::generate();
    let mut buffer = [0_u8; Output::MAX_LENGTH];
    let out = buffer
        .get_mut(..params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN))
        .ok_or(HashError::OutputLength)?;
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    hash_into(&argon2, params, params.block_count(), password, &salt, out)?;
    let phc = Phc {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(params)?,
        salt: Some(salt),
        hash: Some(Output::new(out)?),
    };
    Ok(phc.to_string())
}

/// Whether `password` matches the PHC string, hashed with the string's own algorithm, version
/// and parameters, in this thread's memory up to `keep` blocks; the outputs are compared in
/// constant time.
fn verify_phc(password: &[u8], hash: &str, keep: usize) -> Result<bool, HashError> {
    let phc = Phc::new(hash)?;
    let (Some(salt), Some(expected)) = (&phc.salt, &phc.hash) else {
        return Err(HashError::Incomplete);
    };
    let algorithm = Algorithm::try_from(phc.algorithm.as_str())?;
    let version = phc
        .version
        .map(Version::try_from)
        .transpose()?
        .unwrap_or_default();
    let params = Params::try_from(&phc)?;
    let mut buffer = [0_u8; Output::MAX_LENGTH];
    let out = buffer
        .get_mut(..expected.len())
        .ok_or(HashError::OutputLength)?;
    let argon2 = Argon2::new(algorithm, version, params.clone());
    hash_into(&argon2, &params, keep, password, salt, out)?;
    Ok(Output::new(out)? == *expected)
}

/// Whether `password` matches a stored hash: one of the configured parameters (`current`) at
/// once; argon2 of any other parameters or library as PHC once its costs are within the
/// import's bounds; anything else as an imported hash ([`crate::foreign`]), bounds included.
fn verify_any(password: &[u8], hash: &str, keep: usize, current: bool) -> Result<bool, HashError> {
    if current {
        return verify_phc(password, hash, keep);
    }
    if hash.starts_with("$argon2") {
        warden_domain::foreign_hash::inspect(hash).map_err(crate::foreign::ForeignError::from)?;
        verify_phc(password, hash, keep)
    } else {
        Ok(crate::foreign::verify(password, hash)?)
    }
}

#[async_trait]
impl PasswordHasher for Argon2Hasher {
    async fn hash(&self, password: SecretString) -> Result<PasswordHash, Error> {
        let params = self.params.clone();
        self.bounded(move || {
            hash_phc(&params, password.expose_secret().as_bytes())
                .map(PasswordHash::new)
                .map_err(Error::internal)
        })
        .await?
    }

    async fn verify(&self, password: SecretString, hash: PasswordHash) -> Result<bool, Error> {
        let keep = self.params.block_count();
        let current = !self.needs_rehash(&hash);
        self.bounded(move || {
            verify_any(
                password.expose_secret().as_bytes(),
                hash.expose(),
                keep,
                current,
            )
            .map_err(Error::internal)
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
    async fn jobs_run_on_the_hashing_threads_never_more_at_once_than_the_bound() {
        use std::collections::HashSet;
        use std::sync::atomic::{AtomicUsize, Ordering};
        let hasher = Arc::new(Argon2Hasher::new(1024, 1, 1, 2).unwrap());
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..12)
            .map(|_| {
                let (hasher, running, most) = (hasher.clone(), running.clone(), most.clone());
                tokio::spawn(async move {
                    hasher
                        .bounded(move || {
                            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                            most.fetch_max(now, Ordering::SeqCst);
                            std::thread::sleep(std::time::Duration::from_millis(20));
                            running.fetch_sub(1, Ordering::SeqCst);
                            std::thread::current().name().unwrap_or_default().to_owned()
                        })
                        .await
                        .unwrap()
                })
            })
            .collect();
        let mut threads = HashSet::new();
        for task in tasks {
            threads.insert(task.await.unwrap());
        }
        assert_eq!(most.load(Ordering::SeqCst), 2, "the bound, and all of it");
        assert!(
            threads.iter().all(|name| name.starts_with("argon2-")),
            "{threads:?}"
        );
        assert!(threads.len() <= 2, "{threads:?}");
        // A job that panics is an error for its caller, and the thread goes on.
        let panicked = hasher.bounded(|| panic!("a bug in a job")).await;
        assert!(panicked.is_err());
        assert_eq!(hasher.bounded(|| 7).await.unwrap(), 7);
    }

    #[test]
    fn phc_strings_agree_with_the_argon2_crates_own_both_ways() {
        use argon2::{PasswordHasher as _, PasswordVerifier as _};
        let params = Params::new(1024, 2, 1, None).unwrap();
        let reference = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
        let ours = hash_phc(&params, b"correct horse").unwrap();
        assert!(ours.starts_with("$argon2id$v=19$m=1024,t=2,p=1$"), "{ours}");
        let parsed = Phc::new(&ours).unwrap();
        assert!(reference.verify_password(b"correct horse", &parsed).is_ok());
        assert!(
            reference
                .verify_password(b"correct horsf", &parsed)
                .is_err()
        );
        let theirs = reference
            .hash_password(b"correct horse")
            .unwrap()
            .to_string();
        assert!(verify_phc(b"correct horse", &theirs, 64).unwrap());
        assert!(!verify_phc(b"correct horsf", &theirs, 64).unwrap());
        // An argon2i hash of other parameters is verified with its own.
        let other = Argon2::new(
            Algorithm::Argon2i,
            Version::V0x10,
            Params::new(2048, 1, 2, None).unwrap(),
        )
        .hash_password(b"old")
        .unwrap()
        .to_string();
        assert!(verify_phc(b"old", &other, 64).unwrap());
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
    async fn a_costlier_imported_hash_is_verified_in_memory_the_thread_does_not_keep() {
        use argon2::PasswordHasher as _;
        // One thread, configured for 1 MiB: a hash of 4 MiB verifies, then the thread holds
        // its configured 1024 blocks, not 4096.
        let hasher = Argon2Hasher::new(1024, 1, 1, 1).unwrap();
        let costly = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(4096, 1, 1, None).unwrap(),
        )
        .hash_password(b"imported")
        .unwrap()
        .to_string();
        let own = hasher.hash(SecretString::from("own")).await.unwrap();
        assert!(hasher.verify(SecretString::from("own"), own).await.unwrap());
        let stored = PasswordHash::new(costly);
        assert!(
            hasher
                .verify(SecretString::from("imported"), stored)
                .await
                .unwrap()
        );
        let kept = hasher
            .bounded(|| BLOCKS.with_borrow(Vec::len))
            .await
            .unwrap();
        assert_eq!(kept, 1024);
    }

    #[tokio::test]
    async fn an_argon2_hash_of_other_parameters_over_a_bound_is_never_run() {
        // t=11 is over the import's bound of 10: refused before argon2 runs.
        let over = "$argon2id$v=19$m=1024,t=11,p=1$AAECAwQFBgcICQoLDA0ODw$\
                    AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";
        let r = cheap()
            .verify(SecretString::from("pw"), PasswordHash::new(over.to_owned()))
            .await;
        assert!(r.is_err());
        // The same hash is the configured one's shape for a hasher of those parameters.
        let own = Argon2Hasher::new(1024, 11, 1, 1).unwrap();
        let made = own.hash(SecretString::from("pw")).await.unwrap();
        assert!(
            own.verify(SecretString::from("pw"), made.clone())
                .await
                .unwrap()
        );
        assert!(
            cheap()
                .verify(SecretString::from("pw"), made)
                .await
                .is_err()
        );
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
