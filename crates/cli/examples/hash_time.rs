//! Measures the mean time of one Argon2id hash with Warden's default parameters.
//!
//! `cargo xtask bench` runs this in release mode and parses the number before " ms per hash".
//! The output is exactly one line on standard output.

use std::time::Instant;

use argon2::PasswordHasher;

/// The memory cost of the measured hash, in KiB.
const MEMORY_KIB: u32 = 19_456;
/// The iteration count of the measured hash.
const ITERATIONS: u32 = 2;
/// The parallelism (lanes) of the measured hash.
const PARALLELISM: u32 = 1;

/// Unmeasured hashes run first, so that page faults and CPU frequency ramps are not counted.
const WARMUP: u32 = 3;
/// Hashes whose mean time is reported.
const MEASURED: u32 = 20;

/// A fixed password: its content does not change the cost of the hash.
const PASSWORD: &[u8] = b"a fixed benchmark password, 42 characters";

fn main() {
    let params = argon2::Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None)
        .expect("the Argon2 parameters are valid");
    let hasher = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);

    for _ in 0..WARMUP {
        let hash: argon2::PasswordHash = hasher.hash_password(PASSWORD).expect("hashing succeeds");
        std::hint::black_box(hash);
    }

    let start = Instant::now();
    for _ in 0..MEASURED {
        let hash: argon2::PasswordHash = hasher.hash_password(PASSWORD).expect("hashing succeeds");
        std::hint::black_box(hash);
    }
    let mean_ms = start.elapsed().as_secs_f64() * 1000.0 / f64::from(MEASURED);

    println!("argon2id m={MEMORY_KIB} t={ITERATIONS} p={PARALLELISM}: {mean_ms:.2} ms per hash");
}
