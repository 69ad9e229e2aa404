//! Measures the mean time of one password hash by Warden's own hasher with the default
//! `argon2.*` settings.
//!
//! `cargo xtask bench` builds this beside the release server, in the same cargo invocation so
//! that no dependency is compiled twice, and parses the number before " ms per hash". The
//! output is exactly one line on standard output.

use std::time::Instant;

use secrecy::SecretString;
use warden_adapters::Settings;
use warden_adapters::hasher::Argon2Hasher;
use warden_domain::ports::PasswordHasher as _;

/// Unmeasured hashes run first, so that page faults and CPU frequency ramps are not counted.
const WARMUP: u32 = 3;
/// Hashes whose mean time is reported.
const MEASURED: u32 = 20;

/// A fixed password: its content does not change the cost of the hash.
const PASSWORD: &str = "a fixed benchmark password, 42 characters";

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let a = Settings::default().argon2;
    let hasher = Argon2Hasher::new(a.memory_kib, a.iterations, a.parallelism, 1)
        .expect("the default Argon2 parameters are valid");
    let hash = async || {
        let hash = hasher.hash(SecretString::from(PASSWORD)).await;
        std::hint::black_box(hash.expect("hashing succeeds"));
    };
    for _ in 0..WARMUP {
        hash().await;
    }
    let start = Instant::now();
    for _ in 0..MEASURED {
        hash().await;
    }
    let mean_ms = start.elapsed().as_secs_f64() * 1000.0 / f64::from(MEASURED);
    println!(
        "argon2id m={} t={} p={}: {mean_ms:.2} ms per hash",
        a.memory_kib, a.iterations, a.parallelism
    );
}
