//! Times one argon2id verification with the service's production parameters, as sign-in runs
//! it; bench/bench.mjs derives the sign-in ceiling from it (cores ÷ this time).
//! Prints `{"argon2id_verify_ms": <median>, "samples": <n>}`.

use std::time::Instant;

use better_auth_rs::auth::password::PasswordHasher;
use better_auth_rs::config::PasswordHashing;
use secrecy::SecretString;

const SAMPLES: usize = 15;

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let hasher = PasswordHasher::new(PasswordHashing::Standard, 1, 1)?;
    let password = || SecretString::from("bench-password-0123");
    let stored = hasher.hash(password()).await?;
    let mut times = Vec::with_capacity(SAMPLES);
    for _ in 0..SAMPLES {
        let start = Instant::now();
        let verified = hasher.verify(password(), Some(stored.clone())).await?;
        times.push(start.elapsed().as_secs_f64() * 1000.0);
        anyhow::ensure!(verified.matches, "the password did not verify");
    }
    times.sort_by(f64::total_cmp);
    println!(
        "{{\"argon2id_verify_ms\": {:.2}, \"samples\": {SAMPLES}}}",
        times[SAMPLES / 2]
    );
    Ok(())
}
