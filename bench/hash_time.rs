//! Times one argon2id verification with the service's production parameters, as sign-in runs
//! it; bench/bench.mjs derives the sign-in ceiling from it (cores ÷ this time). It also
//! measures what the service's hashing pool really achieves with every core busy, which shows
//! how much of that ceiling the machine itself allows (two hashes at once share the caches
//! and the memory bus).
//! Prints `{"argon2id_verify_ms": <median>, "samples": <n>, "pool_verify_per_s": <rate>, ...}`.

use std::time::Instant;

use better_auth_rs::auth::password::PasswordHasher;
use better_auth_rs::config::PasswordHashing;
use secrecy::SecretString;

const SAMPLES: usize = 15;
const POOL_ROUNDS: usize = 8;

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let password = || SecretString::from("bench-password-0123");

    let single = PasswordHasher::new(PasswordHashing::Standard, 1, 1)?;
    let stored = single.hash(password()).await?;
    let mut times = Vec::with_capacity(SAMPLES);
    for _ in 0..SAMPLES {
        let start = Instant::now();
        let verified = single.verify(password(), Some(stored.clone())).await?;
        times.push(start.elapsed().as_secs_f64() * 1000.0);
        anyhow::ensure!(verified.matches, "the password did not verify");
    }
    times.sort_by(f64::total_cmp);

    // The pool as the service sizes it, kept full: `cores` verifications at a time.
    let pool = PasswordHasher::new(PasswordHashing::Standard, cores, cores * POOL_ROUNDS)?;
    let jobs = cores * POOL_ROUNDS;
    let start = Instant::now();
    let results = futures_util::future::join_all(
        (0..jobs).map(|_| pool.verify(password(), Some(stored.clone()))),
    )
    .await;
    let elapsed = start.elapsed().as_secs_f64();
    for r in results {
        anyhow::ensure!(r?.matches, "the password did not verify");
    }
    println!(
        "{{\"argon2id_verify_ms\": {:.2}, \"samples\": {SAMPLES}, \"pool_threads\": {cores}, \"pool_verifications\": {jobs}, \"pool_verify_per_s\": {:.1}}}",
        times[SAMPLES / 2],
        jobs as f64 / elapsed
    );
    Ok(())
}
