//! Times argon2id verification with the service's production parameters, as sign-in runs it;
//! bench/bench.mjs derives the sign-in ceiling from it (cores ÷ the time of one hash).
//!
//! - `argon2id_verify_ms`: the median of verifications made one at a time, each on its own (the
//!   issue's "time of one argon2id hash").
//! - `argon2id_verify_busy_ms`: one hashing thread kept busy (every job queued at once), the
//!   time per verification: its memory is reused, so this is the fastest a hash gets.
//! - `pool_verify_per_s`: the service's pool (one thread per core) kept busy: what the machine
//!   allows with every core hashing at once (the hashes share caches and the memory bus).

use std::time::Instant;

use better_auth_rs::auth::password::PasswordHasher;
use better_auth_rs::config::PasswordHashing;
use secrecy::SecretString;

const SAMPLES: usize = 15;
const POOL_ROUNDS: usize = 16;

fn password() -> SecretString {
    SecretString::from("bench-password-0123")
}

/// Seconds for `jobs` verifications submitted at once.
async fn busy(hasher: &PasswordHasher, stored: &str, jobs: usize) -> anyhow::Result<f64> {
    let start = Instant::now();
    let results = futures_util::future::join_all(
        (0..jobs).map(|_| hasher.verify(password(), Some(stored.to_owned()))),
    )
    .await;
    let elapsed = start.elapsed().as_secs_f64();
    for r in results {
        anyhow::ensure!(r?.matches, "the password did not verify");
    }
    Ok(elapsed)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());

    let single = PasswordHasher::new(PasswordHashing::Standard, 1, SAMPLES)?;
    let stored = single.hash(password()).await?;
    let mut cold = Vec::with_capacity(SAMPLES);
    for _ in 0..SAMPLES {
        let start = Instant::now();
        let verified = single.verify(password(), Some(stored.clone())).await?;
        cold.push(start.elapsed().as_secs_f64() * 1000.0);
        anyhow::ensure!(verified.matches, "the password did not verify");
    }
    cold.sort_by(f64::total_cmp);
    let one = busy(&single, &stored, SAMPLES).await? * 1000.0 / SAMPLES as f64;

    let pool = PasswordHasher::new(PasswordHashing::Standard, cores, cores * POOL_ROUNDS)?;
    let jobs = cores * POOL_ROUNDS;
    let rate = jobs as f64 / busy(&pool, &stored, jobs).await?;
    println!(
        "{{\"argon2id_verify_ms\": {:.2}, \"argon2id_verify_busy_ms\": {one:.2}, \"samples\": {SAMPLES}, \"pool_threads\": {cores}, \"pool_verifications\": {jobs}, \"pool_verify_per_s\": {rate:.1}}}",
        cold[SAMPLES / 2],
    );
    Ok(())
}
