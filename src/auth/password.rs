//! Password hashing (`spec/passwords.md`): argon2id for new hashes; Better Auth's scrypt and
//! imported bcrypt / PHC hashes verified and flagged for re-hashing.
//!
//! All of it runs on a few threads of its own (one per core), never on the async workers, with a
//! bounded queue in front of them. Those threads run at a lower priority (nice 10): a flood of
//! sign-ins then takes the CPU that requests leave over, and session checks keep their latency.
//! Each thread keeps argon2's memory (19 MiB at standard cost) from one hash to the next while
//! more are waiting, and frees it when the queue runs dry, so an idle service gives it back
//! (see `SCRATCH_RESERVE_BYTES`).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use argon2::{Algorithm, Argon2, Block, Params, Version};
use password_hash::{Output, PasswordHash, PasswordVerifier, SaltString};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use unicode_normalization::UnicodeNormalization;

use super::crypto::ct_eq;
use super::format::StorageFormat;

/// Argon2id cost for new hashes. `DangerTestMinimum` exists for test suites only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PasswordHashing {
    Standard,
    DangerTestMinimum,
}

/// Niceness of the hashing threads (0 is normal, 19 the lowest).
const HASHING_NICENESS: i32 = 10;

/// Stored argon2 hashes asking for more memory than this (KiB) are not verified: one hostile or
/// corrupt row must not take the host's memory.
const MAX_VERIFY_M_COST: u32 = 1 << 20;

/// Hashing could not be done.
#[derive(Debug, thiserror::Error)]
pub enum HashError {
    /// The queue of waiting hash jobs is full: shed load (503) instead of queueing forever.
    #[error("password hashing queue is full")]
    Overloaded,
    #[error("password hashing failed: {0}")]
    Internal(String),
}

/// Result of checking a password against a stored hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verification {
    pub matches: bool,
    /// The stored hash is not argon2id with our parameters: store a new one.
    pub needs_rehash: bool,
}

#[derive(Clone)]
pub struct PasswordHasher {
    inner: Arc<Inner>,
}

/// A hashing job, run on one of the hashing threads with that thread's memory.
type Job = Box<dyn FnOnce(&mut Scratch) + Send>;

struct Inner {
    jobs: crossbeam_channel::Sender<Job>,
    /// Jobs submitted and not yet started.
    waiting: AtomicUsize,
    /// Jobs being run by a hashing thread now.
    running: AtomicUsize,
    /// Jobs refused because the queue was full, since start.
    refused: AtomicUsize,
    max_waiting: usize,
    threads: usize,
    params: Params,
    /// What new hashes are: argon2id (native) or Better Auth's scrypt.
    format: StorageFormat,
    /// Verified in place of a missing hash (unknown user), at the same cost as a real one.
    /// Made before the hasher is handed out: never empty, or unknown users would answer at
    /// once.
    dummy: OnceLock<String>,
}

impl Inner {
    fn dummy(&self) -> Result<&str, HashError> {
        self.dummy
            .get()
            .map(String::as_str)
            .ok_or_else(|| HashError::Internal("the dummy hash is missing".into()))
    }
}

/// argon2's working memory, kept by a hashing thread between jobs.
#[derive(Default)]
struct Scratch {
    blocks: Vec<Block>,
}

/// The least address space reserved for argon2's memory: more than glibc's largest mmap
/// threshold (32 MiB), so the block is always a mapping of its own that `free` unmaps at once.
/// Below it glibc raises its threshold after the first free and keeps later blocks in the
/// thread's arena for good. Pages past the blocks argon2 uses are never touched: they cost no
/// memory.
const SCRATCH_RESERVE_BYTES: usize = 33 << 20;

impl Scratch {
    fn blocks(&mut self, count: usize) -> &mut [Block] {
        if self.blocks.len() < count {
            let reserve = count.max(SCRATCH_RESERVE_BYTES / std::mem::size_of::<Block>());
            let mut blocks = Vec::with_capacity(reserve);
            blocks.resize(count, Block::default());
            self.blocks = blocks;
        }
        &mut self.blocks[..count]
    }

    fn release(&mut self) {
        self.blocks = Vec::new();
    }
}

/// Lowers the calling thread's priority (on Linux the niceness is per thread).
#[cfg(target_os = "linux")]
fn lower_priority() {
    let tid = rustix::thread::gettid();
    if let Err(e) = rustix::process::setpriority_process(Some(tid), HASHING_NICENESS) {
        tracing::warn!(error = %e, "could not lower the priority of a password hashing thread");
    }
}

#[cfg(not(target_os = "linux"))]
fn lower_priority() {}

/// One hashing thread: lower priority, then jobs until every sender is gone.
fn hashing_thread(jobs: crossbeam_channel::Receiver<Job>) {
    lower_priority();
    let mut scratch = Scratch::default();
    while let Ok(job) = jobs.recv() {
        // A panic must not take the thread (and a share of the pool) with it.
        if catch_unwind(AssertUnwindSafe(|| job(&mut scratch))).is_err() {
            tracing::error!("a password hashing job panicked");
            scratch.release();
        }
        if jobs.is_empty() {
            scratch.release();
        }
    }
}

impl std::fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordHasher")
            .field("params", &self.inner.params)
            .finish_non_exhaustive()
    }
}

/// argon2id, m=19456 KiB, t=2, p=1 (OWASP's first recommendation), or the test minimum.
fn params_for(cost: PasswordHashing) -> Result<Params, HashError> {
    let (m, t) = match cost {
        PasswordHashing::Standard => (19_456, 2),
        PasswordHashing::DangerTestMinimum => (Params::MIN_M_COST.max(8), 1),
    };
    Params::new(m, t, 1, None)
        .map_err(|e| HashError::Internal(format!("argon2 parameters m={m} t={t}: {e}")))
}

fn argon2(params: &Params) -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
}

/// Better Auth hashes the NFKC form of the password (passwords.md §1).
fn normalized(password: &SecretString) -> SecretString {
    SecretString::from(password.expose_secret().nfkc().collect::<String>())
}

/// argon2 into `out`, with the thread's memory.
fn argon2_raw(
    ctx: &Argon2<'_>,
    params: &Params,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
    scratch: &mut Scratch,
) -> Result<(), argon2::Error> {
    ctx.hash_password_into_with_memory(password, salt, out, scratch.blocks(params.block_count()))
}

/// A new argon2id PHC string, as `argon2`'s own `hash_password` writes it.
fn hash_blocking(
    params: &Params,
    password: &SecretString,
    scratch: &mut Scratch,
) -> Result<String, HashError> {
    let err = |e: &dyn std::fmt::Display| HashError::Internal(e.to_string());
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    let mut salt_buf = [0u8; 64];
    let salt_bytes = salt
        .as_salt()
        .decode_b64(&mut salt_buf)
        .map_err(|e| err(&e))?;
    let ctx = argon2(params);
    let pw = normalized(password);
    let output = Output::init_with(
        params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN),
        |out| {
            argon2_raw(
                &ctx,
                params,
                pw.expose_secret().as_bytes(),
                salt_bytes,
                out,
                scratch,
            )
            .map_err(|_| password_hash::Error::Crypto)
        },
    )
    .map_err(|e| err(&e))?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: params
            .try_into()
            .map_err(|e: password_hash::Error| err(&e))?,
        salt: Some(salt.as_salt()),
        hash: Some(output),
    };
    Ok(phc.to_string())
}

/// Checks an argon2 PHC hash, with the thread's memory.
fn verify_argon2(parsed: &PasswordHash<'_>, password: &[u8], scratch: &mut Scratch) -> bool {
    let (Ok(alg), Ok(params), Some(salt), Some(expected)) = (
        Algorithm::try_from(parsed.algorithm),
        Params::try_from(parsed),
        parsed.salt,
        parsed.hash,
    ) else {
        return false;
    };
    let Ok(version) = parsed.version.map_or(Ok(Version::V0x13), Version::try_from) else {
        return false;
    };
    if params.m_cost() > MAX_VERIFY_M_COST {
        tracing::warn!(
            m_cost = params.m_cost(),
            "a stored argon2 hash asks for too much memory"
        );
        return false;
    }
    let mut salt_buf = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_buf) else {
        return false;
    };
    let mut out = vec![0u8; expected.len()];
    let ctx = Argon2::new(alg, version, params.clone());
    argon2_raw(&ctx, &params, password, salt, &mut out, scratch).is_ok()
        && ct_eq(&out, expected.as_bytes())
}

/// Better Auth's `<32 hex salt>:<128 hex key>`: scrypt N=16384 r=16 p=1, salt as ASCII text.
fn verify_better_auth_scrypt(password: &SecretString, salt: &str, key_hex: &str) -> bool {
    let Ok(expected) = hex::decode(key_hex) else {
        return false;
    };
    let Ok(params) = scrypt::Params::new(14, 16, 1, 64) else {
        return false;
    };
    let mut out = [0u8; 64];
    if scrypt::scrypt(
        normalized(password).expose_secret().as_bytes(),
        salt.as_bytes(),
        &params,
        &mut out,
    )
    .is_err()
    {
        return false;
    }
    ct_eq(&out, &expected)
}

/// A new hash in Better Auth's scrypt format: 16 random bytes as 32 hex characters for the
/// salt, as its `hashPassword` (`packages/better-auth/src/crypto/password.ts`) makes them.
fn better_auth_hash_blocking(password: &SecretString) -> Result<String, HashError> {
    let mut salt = [0u8; 16];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut salt);
    better_auth_scrypt(password, &hex::encode(salt))
        .ok_or_else(|| HashError::Internal("scrypt failed".into()))
}

/// A new hash in `format`.
fn new_hash(
    format: StorageFormat,
    params: &Params,
    password: &SecretString,
    scratch: &mut Scratch,
) -> Result<String, HashError> {
    match format {
        StorageFormat::Native => hash_blocking(params, password, scratch),
        StorageFormat::BetterAuth => better_auth_hash_blocking(password),
    }
}

/// Better Auth's scrypt format, for tests and for writing Node-readable hashes.
pub fn better_auth_scrypt(password: &SecretString, salt_hex: &str) -> Option<String> {
    let params = scrypt::Params::new(14, 16, 1, 64).ok()?;
    let mut out = [0u8; 64];
    scrypt::scrypt(
        normalized(password).expose_secret().as_bytes(),
        salt_hex.as_bytes(),
        &params,
        &mut out,
    )
    .ok()?;
    Some(format!("{salt_hex}:{}", hex::encode(out)))
}

fn is_better_auth_scrypt(stored: &str) -> Option<(&str, &str)> {
    let (salt, key) = stored.split_once(':')?;
    let hex = |s: &str| s.chars().all(|c| c.is_ascii_hexdigit());
    (salt.len() == 32 && key.len() == 128 && hex(salt) && hex(key)).then_some((salt, key))
}

/// Checks `stored`, whatever its format; `needs_rehash` when it matches and is not what
/// `format` writes now.
fn verify_blocking(
    params: &Params,
    format: StorageFormat,
    password: &SecretString,
    stored: &str,
    scratch: &mut Scratch,
) -> Verification {
    let v = verify_any(params, password, stored, scratch);
    match format {
        StorageFormat::Native => v,
        // Node must read every hash: anything else than its scrypt moves to it.
        StorageFormat::BetterAuth => Verification {
            matches: v.matches,
            needs_rehash: v.matches && is_better_auth_scrypt(stored).is_none(),
        },
    }
}

/// Checks `stored` by its own format; `needs_rehash` when it is not argon2id with `params`.
fn verify_any(
    params: &Params,
    password: &SecretString,
    stored: &str,
    scratch: &mut Scratch,
) -> Verification {
    let no = Verification {
        matches: false,
        needs_rehash: false,
    };
    if let Some((salt, key)) = is_better_auth_scrypt(stored) {
        return Verification {
            matches: verify_better_auth_scrypt(password, salt, key),
            needs_rehash: true,
        };
    }
    if stored.starts_with("$2a$") || stored.starts_with("$2b$") || stored.starts_with("$2y$") {
        let matches = bcrypt::verify(password.expose_secret(), stored).unwrap_or(false);
        return Verification {
            matches,
            needs_rehash: true,
        };
    }
    let Ok(parsed) = PasswordHash::new(stored) else {
        return no;
    };
    let pw = normalized(password);
    let pw = pw.expose_secret().as_bytes();
    let matches = match parsed.algorithm.as_str() {
        "argon2id" | "argon2i" | "argon2d" => {
            let raw = password.expose_secret().as_bytes();
            verify_argon2(&parsed, pw, scratch)
            // Hashes imported from elsewhere may not have normalised the password.
            || (raw != pw && verify_argon2(&parsed, raw, scratch))
        }
        "scrypt" => scrypt::Scrypt
            .verify_password(password.expose_secret().as_bytes(), &parsed)
            .is_ok(),
        a if a.starts_with("pbkdf2") => pbkdf2::Pbkdf2
            .verify_password(password.expose_secret().as_bytes(), &parsed)
            .is_ok(),
        _ => return no,
    };
    let current = parsed.algorithm.as_str() == "argon2id"
        && Params::try_from(&parsed).is_ok_and(|p| {
            p.m_cost() == params.m_cost()
                && p.t_cost() == params.t_cost()
                && p.p_cost() == params.p_cost()
        });
    Verification {
        matches,
        needs_rehash: matches && !current,
    }
}

impl PasswordHasher {
    /// `concurrency` hashing threads; at most `max_waiting` more jobs wait for one. New hashes
    /// are argon2id.
    pub fn new(
        cost: PasswordHashing,
        concurrency: usize,
        max_waiting: usize,
    ) -> Result<Self, HashError> {
        Self::with_format(cost, StorageFormat::Native, concurrency, max_waiting)
    }

    /// As `new`, with new hashes in `format` (Better Auth's scrypt for a database Node shares).
    pub fn with_format(
        cost: PasswordHashing,
        format: StorageFormat,
        concurrency: usize,
        max_waiting: usize,
    ) -> Result<Self, HashError> {
        let (jobs, queue) = crossbeam_channel::unbounded::<Job>();
        for i in 0..concurrency.max(1) {
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("password-hash-{i}"))
                .spawn(move || hashing_thread(queue))
                .map_err(|e| HashError::Internal(e.to_string()))?;
        }
        let inner = Arc::new(Inner {
            jobs,
            waiting: AtomicUsize::new(0),
            running: AtomicUsize::new(0),
            refused: AtomicUsize::new(0),
            max_waiting,
            threads: concurrency.max(1),
            params: params_for(cost)?,
            format,
            dummy: OnceLock::new(),
        });
        let hasher = Self { inner };
        // The dummy costs a full hash, made on a hashing thread before anyone can sign in.
        let password = SecretString::from(super::crypto::random_alphanumeric(24));
        let dummy = hasher.hash_now(password)?;
        if dummy.is_empty() || hasher.inner.dummy.set(dummy).is_err() {
            return Err(HashError::Internal("could not make the dummy hash".into()));
        }
        Ok(hasher)
    }

    /// A hash made on a hashing thread while the caller waits (start-up only).
    fn hash_now(&self, password: SecretString) -> Result<String, HashError> {
        let (done, result) = std::sync::mpsc::channel();
        let (params, format) = (self.inner.params.clone(), self.inner.format);
        let job: Job = Box::new(move |scratch| {
            let _ = done.send(new_hash(format, &params, &password, scratch));
        });
        self.inner
            .jobs
            .send(job)
            .map_err(|e| HashError::Internal(e.to_string()))?;
        result
            .recv()
            .map_err(|_| HashError::Internal("the hashing threads are gone".into()))?
    }

    async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce(&Inner, &mut Scratch) -> T + Send + 'static,
    ) -> Result<T, HashError> {
        let inner = self.inner.clone();
        if inner.waiting.fetch_add(1, Ordering::AcqRel) >= inner.max_waiting {
            inner.waiting.fetch_sub(1, Ordering::AcqRel);
            inner.refused.fetch_add(1, Ordering::Relaxed);
            return Err(HashError::Overloaded);
        }
        let (done, result) = tokio::sync::oneshot::channel();
        let span = tracing::Span::current();
        let runner = inner.clone();
        let job: Job = Box::new(move |scratch| {
            runner.waiting.fetch_sub(1, Ordering::AcqRel);
            // The caller went away (a client that gave up): spare the hash.
            if done.is_closed() {
                return;
            }
            let _running = Running::start(&runner.running);
            let _ = done.send(span.in_scope(|| job(&runner, scratch)));
        });
        if inner.jobs.send(job).is_err() {
            inner.waiting.fetch_sub(1, Ordering::AcqRel);
            return Err(HashError::Internal("the hashing threads are gone".into()));
        }
        result
            .await
            .map_err(|_| HashError::Internal("a hashing job ended without an answer".into()))
    }

    /// What the hashing threads are doing now (for metrics).
    pub fn stats(&self) -> HasherStats {
        HasherStats {
            running: self.inner.running.load(Ordering::Relaxed),
            waiting: self.inner.waiting.load(Ordering::Relaxed),
            capacity: self.inner.max_waiting,
            threads: self.inner.threads,
            refused: self.inner.refused.load(Ordering::Relaxed),
        }
    }

    /// What new hashes are.
    pub fn format(&self) -> StorageFormat {
        self.inner.format
    }

    /// A new hash: an argon2id PHC string, or Better Auth's scrypt `salt:key`.
    pub async fn hash(&self, password: SecretString) -> Result<String, HashError> {
        self.run(move |inner, scratch| new_hash(inner.format, &inner.params, &password, scratch))
            .await?
    }

    /// Checks `password` against `stored`; with no stored hash (unknown user) it checks a dummy
    /// hash instead, so both cost the same, and never matches.
    pub async fn verify(
        &self,
        password: SecretString,
        stored: Option<String>,
    ) -> Result<Verification, HashError> {
        let known = stored.is_some();
        let v = self
            .run(move |inner, scratch| {
                Ok::<_, HashError>(match stored {
                    Some(stored) => {
                        verify_blocking(&inner.params, inner.format, &password, &stored, scratch)
                    }
                    None => verify_blocking(
                        &inner.params,
                        inner.format,
                        &password,
                        inner.dummy()?,
                        scratch,
                    ),
                })
            })
            .await??;
        Ok(if known {
            v
        } else {
            Verification {
                matches: false,
                needs_rehash: false,
            }
        })
    }
}

/// A snapshot of the hasher's load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HasherStats {
    /// Jobs being hashed now.
    pub running: usize,
    /// Jobs queued for a thread.
    pub waiting: usize,
    /// Most jobs that may queue; beyond, requests are refused (503).
    pub capacity: usize,
    /// Hashing threads.
    pub threads: usize,
    /// Jobs refused because the queue was full, since start.
    pub refused: usize,
}

/// Counts a job as running while it lives (a panicking job included).
struct Running<'a>(&'a AtomicUsize);

impl<'a> Running<'a> {
    fn start(counter: &'a AtomicUsize) -> Self {
        counter.fetch_add(1, Ordering::AcqRel);
        Self(counter)
    }
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Password length as JavaScript counts it: UTF-16 code units (passwords.md §3).
pub fn js_length(s: &str) -> usize {
    s.encode_utf16().count()
}

#[cfg(test)]
mod tests {
    use password_hash::PasswordHasher as _;

    use super::*;

    fn secret(s: &str) -> SecretString {
        SecretString::from(s.to_owned())
    }

    fn hasher() -> PasswordHasher {
        PasswordHasher::new(PasswordHashing::DangerTestMinimum, 2, 16).unwrap()
    }

    #[test]
    fn the_dummy_hash_is_made_before_the_hasher_is_handed_out() {
        let h = hasher();
        let dummy = h.inner.dummy().unwrap();
        assert!(dummy.starts_with("$argon2id$"), "a real hash: {dummy}");
    }

    #[test]
    fn better_auth_scrypt_matches_the_spec_vector() {
        let h =
            better_auth_scrypt(&secret("password123"), "00112233445566778899aabbccddeeff").unwrap();
        assert_eq!(h, "00112233445566778899aabbccddeeff:73122e887cfc14f91396cdef78dfe4b9dec28d459037601c4904cedba5a637ab97b39b40c236df5d42881d0109ca8cf0f85e39dbaba2911c190915bd8f30fe85");
        let p = params_for(PasswordHashing::Standard).unwrap();
        let v = verify_any(&p, &secret("password123"), &h, &mut Scratch::default());
        assert_eq!(
            v,
            Verification {
                matches: true,
                needs_rehash: true
            }
        );
        assert!(!verify_any(&p, &secret("password124"), &h, &mut Scratch::default()).matches);
    }

    #[tokio::test]
    async fn new_hashes_are_argon2id_and_verify() {
        let h = hasher();
        let stored = h.hash(secret("correct horse")).await.unwrap();
        assert!(stored.starts_with("$argon2id$v=19$"));
        let v = h
            .verify(secret("correct horse"), Some(stored.clone()))
            .await
            .unwrap();
        assert_eq!(
            v,
            Verification {
                matches: true,
                needs_rehash: false
            }
        );
        assert!(
            !h.verify(secret("wrong horse"), Some(stored))
                .await
                .unwrap()
                .matches
        );
    }

    #[tokio::test]
    async fn in_better_auth_format_new_hashes_are_its_scrypt_and_others_move_to_it() {
        let h = PasswordHasher::with_format(
            PasswordHashing::DangerTestMinimum,
            StorageFormat::BetterAuth,
            1,
            8,
        )
        .unwrap();
        assert_eq!(h.format(), StorageFormat::BetterAuth);
        assert!(is_better_auth_scrypt(h.inner.dummy().unwrap()).is_some());
        let stored = h.hash(secret("correct horse")).await.unwrap();
        let (salt, _) = is_better_auth_scrypt(&stored).expect("salt:key");
        assert_eq!(
            better_auth_scrypt(&secret("correct horse"), salt).as_deref(),
            Some(stored.as_str())
        );
        let ok = Verification {
            matches: true,
            needs_rehash: false,
        };
        assert_eq!(
            h.verify(secret("correct horse"), Some(stored.clone()))
                .await
                .unwrap(),
            ok
        );
        let wrong = h.verify(secret("wrong horse"), Some(stored)).await.unwrap();
        assert!(!wrong.matches && !wrong.needs_rehash);
        // An argon2id hash (written while the service was native) still verifies, and is
        // replaced so that Node can read it.
        let native = hasher().hash(secret("correct horse")).await.unwrap();
        let v = h
            .verify(secret("correct horse"), Some(native))
            .await
            .unwrap();
        assert!(v.matches && v.needs_rehash);
        let bcrypt = bcrypt::hash("correct horse", 4).unwrap();
        let v = h
            .verify(secret("correct horse"), Some(bcrypt))
            .await
            .unwrap();
        assert!(v.matches && v.needs_rehash);
    }

    #[test]
    fn standard_parameters_are_the_documented_ones() {
        let p = params_for(PasswordHashing::Standard).unwrap();
        assert_eq!((p.m_cost(), p.t_cost(), p.p_cost()), (19_456, 2, 1));
    }

    #[tokio::test]
    async fn unknown_users_never_match() {
        let v = hasher().verify(secret("anything"), None).await.unwrap();
        assert!(!v.matches);
    }

    #[test]
    fn imported_hashes_verify_and_ask_for_rehash() {
        let p = params_for(PasswordHashing::Standard).unwrap();
        let bcrypt_hash = bcrypt::hash("hunter22", 4).unwrap();
        assert_eq!(
            verify_any(
                &p,
                &secret("hunter22"),
                &bcrypt_hash,
                &mut Scratch::default()
            ),
            Verification {
                matches: true,
                needs_rehash: true
            }
        );
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        let pbkdf = pbkdf2::Pbkdf2
            .hash_password_customized(
                b"hunter22",
                None,
                None,
                pbkdf2::Params {
                    rounds: 1000,
                    output_length: 32,
                },
                &salt,
            )
            .unwrap()
            .to_string();
        assert_eq!(
            verify_any(&p, &secret("hunter22"), &pbkdf, &mut Scratch::default()),
            Verification {
                matches: true,
                needs_rehash: true
            }
        );
        let scrypt_phc = scrypt::Scrypt
            .hash_password_customized(
                b"hunter22",
                None,
                None,
                scrypt::Params::new(10, 8, 1, 32).unwrap(),
                &salt,
            )
            .unwrap()
            .to_string();
        assert_eq!(
            verify_any(
                &p,
                &secret("hunter22"),
                &scrypt_phc,
                &mut Scratch::default()
            ),
            Verification {
                matches: true,
                needs_rehash: true
            }
        );
        let weak_argon = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(8, 1, 1, None).unwrap(),
        )
        .hash_password(b"hunter22", &salt)
        .unwrap()
        .to_string();
        assert_eq!(
            verify_any(
                &p,
                &secret("hunter22"),
                &weak_argon,
                &mut Scratch::default()
            ),
            Verification {
                matches: true,
                needs_rehash: true
            }
        );
        assert!(!verify_any(&p, &secret("hunter22"), "garbage", &mut Scratch::default()).matches);
    }

    #[test]
    fn our_argon2id_hashes_and_the_argon2_crate_read_each_other() {
        let p = params_for(PasswordHashing::DangerTestMinimum).unwrap();
        let ours = hash_blocking(&p, &secret("hunter22"), &mut Scratch::default()).unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(argon2(&p).verify_password(b"hunter22", &parsed).is_ok());
        assert!(argon2(&p).verify_password(b"hunter23", &parsed).is_err());
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        let theirs = argon2(&p)
            .hash_password(b"hunter22", &salt)
            .unwrap()
            .to_string();
        let mut scratch = Scratch::default();
        assert!(verify_any(&p, &secret("hunter22"), &theirs, &mut scratch).matches);
        assert!(!verify_any(&p, &secret("hunter23"), &theirs, &mut scratch).matches);
        // The same memory serves a hash of another size.
        let standard = params_for(PasswordHashing::Standard).unwrap();
        let big = hash_blocking(&standard, &secret("hunter22"), &mut scratch).unwrap();
        assert!(verify_any(&standard, &secret("hunter22"), &big, &mut scratch).matches);
        assert!(verify_any(&p, &secret("hunter22"), &ours, &mut scratch).matches);
    }

    #[test]
    fn hashes_asking_for_too_much_memory_are_refused_unread() {
        let hostile = "$argon2id$v=19$m=4194304,t=1,p=1$c29tZXNhbHQ$iekCn0Y3spW+sCcFanM2xBT63UP2sghkUoHLIUpWRS8";
        let p = params_for(PasswordHashing::DangerTestMinimum).unwrap();
        let v = verify_any(&p, &secret("password"), hostile, &mut Scratch::default());
        assert!(!v.matches);
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn hashing_threads_run_below_normal_priority() {
        let h = PasswordHasher::new(PasswordHashing::DangerTestMinimum, 2, 4).unwrap();
        // Two jobs that meet: each runs on its own thread and reads that thread's niceness.
        let meet = Arc::new(std::sync::Barrier::new(2));
        let niceness = |meet: Arc<std::sync::Barrier>| {
            h.run(move |_, _| {
                meet.wait();
                let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap();
                // Field 19 (nice), counted after the parenthesised command name.
                let after = &stat[stat.rfind(')').unwrap() + 2..];
                after.split(' ').nth(16).unwrap().parse::<i32>().unwrap()
            })
        };
        let (a, b) = tokio::join!(niceness(meet.clone()), niceness(meet));
        assert_eq!(
            (a.unwrap(), b.unwrap()),
            (HASHING_NICENESS, HASHING_NICENESS)
        );
    }

    #[tokio::test]
    async fn a_full_queue_sheds_load() {
        let h = PasswordHasher::new(PasswordHashing::DangerTestMinimum, 1, 0).unwrap();
        assert!(matches!(
            h.hash(secret("x")).await,
            Err(HashError::Overloaded)
        ));
    }

    #[test]
    fn length_counts_utf16_units() {
        assert_eq!(js_length("abc"), 3);
        assert_eq!(js_length("😀"), 2);
    }
}
