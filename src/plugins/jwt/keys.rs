//! The JWT plugin's signing (`spec/jwt-jwks.md` §4, §5).
//!
//! With a key pair algorithm, the key ring: every stored key is opened at start and kept in
//! memory, so signing never reads the database. The copy is read again when it is older than
//! `plugins.jwt.key_refresh_interval` (in the background when signing, before answering on
//! `/jwks`), so a key made by `better-auth-rs jwks rotate` or by another replica is picked up.
//! Keys are created under a database-wide lock ([`Store::change_jwks_exclusively`]): replicas
//! starting together on an empty table end up with one key.
//!
//! With `HS256`, tokens are signed with the shared `jwt_secret` and `/jwks` publishes nothing.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, RwLock};

use anyhow::{anyhow, bail, Context};
use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value};
use tracing::Instrument;

use crate::auth::cookie_cache::hs256_encode;
use crate::auth::crypto::generate_id;
use crate::auth::jwks::{self, Key};
use crate::auth::jwt::{self, Alg, SigningKey};
use crate::auth::keyseal::{self, KeyEncryption};
use crate::config::{Settings, StorageFormat, VersionedSecret};
use crate::store::{JwkRow, JwksChange, Store};

/// `plugins.jwt.alg` for shared-secret tokens.
const HS256: &str = "HS256";

/// How the plugin signs: with the key ring, or with a shared secret.
#[derive(Debug)]
pub enum JwtIssuer {
    Keys(Arc<KeyRing>),
    SharedSecret(SharedSecret),
}

impl JwtIssuer {
    pub async fn load(
        settings: &Settings,
        store: &Store,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Self> {
        if settings.plugins.jwt.alg == HS256 {
            return Ok(Self::SharedSecret(SharedSecret::new(settings)?));
        }
        Ok(Self::Keys(Arc::new(
            KeyRing::load(settings, store, now).await?,
        )))
    }

    /// A token for the user (`user` = the User JSON object).
    pub async fn mint(
        &self,
        store: &Store,
        user: Map<String, Value>,
        now: DateTime<Utc>,
    ) -> anyhow::Result<String> {
        match self {
            Self::Keys(ring) => ring.mint(store, user, now).await,
            Self::SharedSecret(s) => Ok(s.mint(&user, now)),
        }
    }

    /// For metrics: the age of the key that signs now (if any) and how many keys this instance
    /// knows; `None` with a shared secret.
    pub fn key_stats(&self, now: DateTime<Utc>) -> Option<(Option<std::time::Duration>, usize)> {
        match self {
            Self::Keys(ring) => {
                let keys = ring.snapshot();
                let age = jwks::signing_key(&keys, ring.alg, now)
                    .and_then(|k| (now - k.created_at).to_std().ok());
                Some((age, keys.len()))
            }
            Self::SharedSecret(_) => None,
        }
    }

    /// The `/jwks` body; no keys with a shared secret, which must never be published.
    pub async fn jwks(&self, store: &Store, now: DateTime<Utc>) -> String {
        match self {
            Self::Keys(ring) => ring.jwks(store, now).await,
            Self::SharedSecret(_) => jwks::EMPTY_JWKS.to_owned(),
        }
    }
}

/// `alg = "HS256"`: tokens for backends that verify with the shared `jwt_secret`.
pub struct SharedSecret {
    secret: SecretString,
    expiration_time: i64,
    issuer: String,
    audience: String,
}

impl std::fmt::Debug for SharedSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedSecret")
            .field("secret", &"<redacted>")
            .finish_non_exhaustive()
    }
}

impl SharedSecret {
    fn new(settings: &Settings) -> anyhow::Result<Self> {
        let cfg = &settings.plugins.jwt;
        let secret = cfg
            .jwt_secret
            .clone()
            .ok_or_else(|| anyhow!("plugins.jwt.jwt_secret is required with HS256"))?;
        Ok(Self {
            secret,
            expiration_time: cfg.expiration_time,
            issuer: settings.jwt_issuer(),
            audience: settings.jwt_audience(),
        })
    }

    fn mint(&self, user: &Map<String, Value>, now: DateTime<Utc>) -> String {
        let claims = jwt::hs256_claims(
            user,
            now.timestamp(),
            self.expiration_time,
            &self.issuer,
            &self.audience,
        );
        hs256_encode(self.secret.expose_secret().as_bytes(), &claims)
    }
}

pub struct KeyRing {
    alg: Alg,
    expiration_time: i64,
    rotation_interval: i64,
    grace_period: i64,
    issuer: String,
    audience: String,
    encryption: KeyEncryption,
    secrets: Vec<VersionedSecret>,
    versioned_secrets: bool,
    /// Readers clone the `Arc`; a reload or a new key swaps in a new list.
    keys: RwLock<Arc<Vec<Key>>>,
    /// One key creation at a time within this process (the database lock covers the others).
    rotation: tokio::sync::Mutex<()>,
    /// One reload at a time, so an older read never replaces a newer one.
    reading: tokio::sync::Mutex<()>,
    refresh_interval_ms: i64,
    /// When the table was last read (the service clock, in milliseconds).
    refreshed_at_ms: AtomicI64,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRing")
            .field("alg", &self.alg)
            .field("keys", &self.snapshot().len())
            .finish_non_exhaustive()
    }
}

fn undecryptable_message(rows: usize) -> String {
    format!(
        "The stored JWKS keys cannot be decrypted with the configured secret(s): none of the {rows} row(s) \
         of the `jwks` table opens. Nothing was changed and no new key was generated. To recover, restore \
         the secret the keys were created with (BETTER_AUTH_SECRET), or list it as an older version in \
         BETTER_AUTH_SECRETS (e.g. \"2:<new secret>,1:<old secret>\"), or delete the rows of the `jwks` \
         table so that a new key is created (tokens signed with the old keys then stop verifying)."
    )
}

impl KeyRing {
    /// Opens every stored key; creates the first key when the table is empty. Refuses to start
    /// when keys exist and none opens (the secret changed): generating over them would silently
    /// invalidate every token already issued. Keys that only an older secret opens are sealed
    /// again with the current one.
    pub async fn load(
        settings: &Settings,
        store: &Store,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Self> {
        let cfg = &settings.plugins.jwt;
        let alg = Alg::parse(&cfg.alg).ok_or_else(|| {
            anyhow!(
                "plugins.jwt.alg: `{}` cannot sign JWT plugin tokens (use EdDSA, ES256, ES512, RS256, PS256 or HS256)",
                cfg.alg
            )
        })?;
        let encryption = match cfg.key_encryption.as_deref() {
            Some(name) => KeyEncryption::parse(name).ok_or_else(|| {
                anyhow!("plugins.jwt.key_encryption: expected aes-256-gcm, better-auth or none")
            })?,
            None => match store.format() {
                StorageFormat::BetterAuth => KeyEncryption::BetterAuth,
                StorageFormat::Native => KeyEncryption::Aes256Gcm,
            },
        };
        if store.format() == StorageFormat::BetterAuth && encryption == KeyEncryption::Aes256Gcm {
            tracing::warn!(
                "plugins.jwt.key_encryption = \"aes-256-gcm\" while the storage format is better-auth: a Node Better Auth on this database cannot read the keys this service creates"
            );
        }
        let ring = Self {
            alg,
            expiration_time: cfg.expiration_time,
            rotation_interval: cfg.rotation_interval,
            grace_period: cfg.grace_period,
            issuer: settings.jwt_issuer(),
            audience: settings.jwt_audience(),
            encryption,
            secrets: settings.secrets.clone(),
            versioned_secrets: settings.versioned_secrets,
            keys: RwLock::new(Arc::new(Vec::new())),
            rotation: tokio::sync::Mutex::new(()),
            reading: tokio::sync::Mutex::new(()),
            refresh_interval_ms: cfg.key_refresh_interval.saturating_mul(1000),
            refreshed_at_ms: AtomicI64::new(now.timestamp_millis()),
        };
        let rows = store.list_jwks().await.context("reading the jwks table")?;
        let keys: Vec<Key> = rows.iter().filter_map(|r| ring.open_row(r)).collect();
        let signing = keys.iter().filter(|k| k.signer.is_some()).count();
        if !rows.is_empty() && signing == 0 {
            bail!(undecryptable_message(rows.len()));
        }
        if signing < rows.len() {
            tracing::warn!(
                unusable = rows.len() - signing,
                total = rows.len(),
                "some stored JWKS keys cannot be opened with the configured secret(s); they stay published until they expire but never sign"
            );
        }
        ring.reseal(store, &rows).await?;
        tracing::info!(keys = rows.len(), alg = %alg, "JWT key ring loaded");
        ring.replace(keys);
        if rows.is_empty() {
            ring.ensure_signing_key(store, now).await?;
        }
        Ok(ring)
    }

    /// Seals again with the current secret every key that only an older secret opens, so the
    /// older secret can then be dropped from BETTER_AUTH_SECRETS.
    async fn reseal(&self, store: &Store, rows: &[JwkRow]) -> anyhow::Result<()> {
        for row in rows {
            let Some(column) = keyseal::reseal(
                &row.private_key,
                &self.secrets,
                self.versioned_secrets,
                self.encryption == KeyEncryption::BetterAuth,
            ) else {
                continue;
            };
            store
                .update_jwk_private_key(&row.id, &column)
                .await
                .context("re-sealing a JWT signing key")?;
            tracing::info!(kid = %row.id, "re-sealed a JWT signing key with the current secret");
        }
        Ok(())
    }

    /// The algorithm a row signs with: rows with a null `alg` count as the configured one (§4).
    fn row_alg(&self, row: &JwkRow) -> Option<Alg> {
        match row.alg.as_deref() {
            None => Some(self.alg),
            Some(name) => Alg::parse(name),
        }
    }

    /// A row as a key, with no signer when the private key does not open; `None` when even the
    /// public part is unusable.
    fn open_row(&self, row: &JwkRow) -> Option<Key> {
        let Some(alg) = self.row_alg(row) else {
            tracing::warn!(kid = %row.id, "jwks row has an unsupported alg; skipped");
            return None;
        };
        let public: Map<String, Value> = match serde_json::from_str(&row.public_key) {
            Ok(Value::Object(m)) => m,
            _ => {
                tracing::warn!(kid = %row.id, "jwks row has an unreadable public key; skipped");
                return None;
            }
        };
        let signer = keyseal::open(&row.private_key, &self.secrets)
            .map_err(
                |e| tracing::warn!(kid = %row.id, error = %e, "cannot open a stored private key"),
            )
            .and_then(|private| {
                SigningKey::from_private_jwk(alg, &row.id, &private).map_err(
                    |e| tracing::warn!(kid = %row.id, error = %e, "stored private key is unusable"),
                )
            })
            .ok()
            .map(Arc::new);
        Some(Key::new(
            row.id.clone(),
            alg,
            row.crv.as_deref(),
            &public,
            row.created_at,
            row.expires_at,
            signer,
        ))
    }

    fn snapshot(&self) -> Arc<Vec<Key>> {
        match self.keys.read() {
            Ok(g) => g.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn replace(&self, keys: Vec<Key>) {
        let keys = Arc::new(keys);
        match self.keys.write() {
            Ok(mut g) => *g = keys,
            Err(poisoned) => *poisoned.into_inner() = keys,
        }
    }

    fn current_signer(&self, now: DateTime<Utc>) -> Option<Arc<SigningKey>> {
        jwks::signing_key(&self.snapshot(), self.alg, now).and_then(|k| k.signer.clone())
    }

    /// True (once) when the in-memory copy is older than the refresh interval: the caller
    /// then reads the table again.
    fn claim_refresh(&self, now: DateTime<Utc>) -> bool {
        let now_ms = now.timestamp_millis();
        let last = self.refreshed_at_ms.load(Ordering::Relaxed);
        now_ms - last >= self.refresh_interval_ms
            && self
                .refreshed_at_ms
                .compare_exchange(last, now_ms, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
    }

    /// The key that signs now. A stale copy is refreshed in the background (signing never
    /// waits for the database); a missing or expired signing key is replaced (rotation).
    pub async fn signer(
        self: &Arc<Self>,
        store: &Store,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Arc<SigningKey>> {
        if self.claim_refresh(now) {
            let (ring, store) = (self.clone(), store.clone());
            tokio::spawn(
                async move {
                    if let Err(e) = ring.reload(&store).await {
                        tracing::warn!(error = %format!("{e:#}"), "re-reading the jwks table failed");
                    }
                }
                .in_current_span(),
            );
        }
        if let Some(s) = self.current_signer(now) {
            return Ok(s);
        }
        let _one_at_a_time = self.rotation.lock().await;
        if let Some(s) = self.current_signer(now) {
            return Ok(s);
        }
        self.ensure_signing_key(store, now).await?;
        self.current_signer(now)
            .ok_or_else(|| anyhow!("no usable JWT signing key after creating one"))
    }

    /// Re-reads the table, reusing the keys already opened.
    async fn reload(&self, store: &Store) -> anyhow::Result<()> {
        let _in_order = self.reading.lock().await;
        let rows = store.list_jwks().await.context("reading the jwks table")?;
        let known = self.snapshot();
        let keys = rows
            .iter()
            .filter_map(|row| match known.iter().find(|k| k.id == row.id) {
                Some(k) => {
                    let mut k = k.clone();
                    k.expires_at = row.expires_at; // a rotation may have expired it
                    Some(k)
                }
                None => self.open_row(row),
            })
            .collect();
        self.replace(keys);
        Ok(())
    }

    /// A new key pair and its row, sealed as configured.
    async fn new_row(&self, now: DateTime<Utc>) -> anyhow::Result<JwkRow> {
        let alg = self.alg;
        let generated = if alg.is_rsa() {
            let span = tracing::Span::current();
            tokio::task::spawn_blocking(move || span.in_scope(|| jwt::generate(alg))).await??
        } else {
            jwt::generate(alg)?
        };
        Ok(JwkRow {
            id: generate_id(),
            public_key: Value::Object(generated.public_jwk.clone()).to_string(),
            private_key: keyseal::seal(
                self.encryption,
                &self.secrets,
                self.versioned_secrets,
                &generated.private_jwk,
            )?,
            created_at: now,
            expires_at: jwks::expiry(now, self.rotation_interval),
            alg: Some(alg.name().to_owned()),
            crv: alg.crv().map(str::to_owned),
        })
    }

    /// Whether a stored row can sign now with the configured algorithm.
    fn can_sign(&self, row: &JwkRow, now: DateTime<Utc>) -> bool {
        self.row_alg(row) == Some(self.alg)
            && row.expires_at.is_none_or(|at| at > now)
            && self.open_row(row).is_some_and(|k| k.signer.is_some())
    }

    /// Creates a signing key unless, under the database lock, one usable now already exists
    /// (another replica made it), then re-reads the table.
    async fn ensure_signing_key(&self, store: &Store, now: DateTime<Utc>) -> anyhow::Result<()> {
        let row = self.new_row(now).await?;
        let kid = row.id.clone();
        let created = store
            .change_jwks_exclusively(|rows| {
                (!rows.iter().any(|r| self.can_sign(r, now))).then(|| JwksChange {
                    insert: Some(row),
                    ..JwksChange::default()
                })
            })
            .await
            .context("storing a new JWT signing key")?;
        if created {
            tracing::info!(kid = %kid, alg = %self.alg, "created a JWT signing key");
        }
        self.reload(store).await
    }

    /// `better-auth-rs jwks rotate`: a new signing key now; the keys that signed until now
    /// expire now, so they stay published for the grace period and then disappear. Returns the
    /// new key's id.
    pub async fn rotate(&self, store: &Store, now: DateTime<Utc>) -> anyhow::Result<String> {
        let row = self.new_row(now).await?;
        let kid = row.id.clone();
        store
            .change_jwks_exclusively(|rows| {
                let expire = rows
                    .iter()
                    .filter(|r| {
                        self.row_alg(r) == Some(self.alg) && r.expires_at.is_none_or(|at| at > now)
                    })
                    .map(|r| r.id.clone())
                    .collect();
                Some(JwksChange {
                    expire,
                    expire_at: Some(now),
                    insert: Some(row),
                })
            })
            .await
            .context("storing the new JWT signing key")?;
        tracing::info!(kid = %kid, alg = %self.alg, "rotated the JWT signing key");
        self.reload(store).await?;
        Ok(kid)
    }

    /// A token for the user (`user` = the User JSON object), signed with the current key.
    pub async fn mint(
        self: &Arc<Self>,
        store: &Store,
        user: Map<String, Value>,
        now: DateTime<Utc>,
    ) -> anyhow::Result<String> {
        let signer = self.signer(store, now).await?;
        let claims = jwt::claims(
            user,
            now.timestamp(),
            self.expiration_time,
            &self.issuer,
            &self.audience,
        );
        if !signer.alg().is_rsa() {
            return Ok(signer.sign(&claims)?);
        }
        // RSA signs on the blocking pool, unless this second's token is already there.
        if let Some(token) = signer.signed_this_second(&claims) {
            return Ok(token);
        }
        let span = tracing::Span::current();
        Ok(tokio::task::spawn_blocking(move || span.in_scope(|| signer.sign(&claims))).await??)
    }

    /// The `/jwks` body: keys not expired for longer than the grace period. A stale copy is
    /// refreshed first (a failure is logged and the copy served).
    pub async fn jwks(&self, store: &Store, now: DateTime<Utc>) -> String {
        if self.claim_refresh(now) {
            if let Err(e) = self.reload(store).await {
                tracing::warn!(error = %format!("{e:#}"), "re-reading the jwks table failed");
            }
        }
        self.published(now)
    }

    fn published(&self, now: DateTime<Utc>) -> String {
        jwks::jwks(&self.snapshot(), now, self.grace_period)
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;
    use secrecy::SecretString;

    use super::*;
    use crate::auth::jwt::{verify, Expected, VerifyingKey};
    use crate::config::Sources;

    const SECRET: &str = "keyring-test-secret-0123456789abcdef0123";

    struct Db {
        _dir: tempfile::TempDir,
        store: Store,
        settings: Settings,
    }

    async fn db(secret: &str) -> Db {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/auth.db?mode=rwc", dir.path().display());
        let mut settings = Settings::load(&Sources::from_map(vec![
            ("DATABASE_URL", url.as_str()),
            ("BETTER_AUTH_SECRET", secret),
            ("BETTER_AUTH_URL", "http://localhost:3001"),
        ]))
        .unwrap();
        settings.plugins.jwt.enabled = true;
        let mut store = Store::connect(&settings.database_url, Arc::new(Default::default()))
            .await
            .unwrap();
        store.migrate(&[super::super::JWKS]).await.unwrap();
        Db {
            _dir: dir,
            store,
            settings,
        }
    }

    async fn load(
        settings: &Settings,
        store: &Store,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Arc<KeyRing>> {
        KeyRing::load(settings, store, now).await.map(Arc::new)
    }

    fn with_secret(settings: &Settings, secret: &str) -> Settings {
        let mut s = settings.clone();
        s.secret = SecretString::from(secret.to_owned());
        s.secrets = vec![VersionedSecret {
            version: 0,
            value: SecretString::from(secret.to_owned()),
        }];
        s
    }

    fn t0() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap()
    }

    fn user() -> Map<String, Value> {
        serde_json::json!({ "id": "user-1", "name": "Ada", "email": "ada@example.com" })
            .as_object()
            .unwrap()
            .clone()
    }

    /// The `/jwks` body, parsed.
    fn jwks_of(ring: &KeyRing, now: DateTime<Utc>) -> Value {
        serde_json::from_str(&ring.published(now)).unwrap()
    }

    /// Verifies a token against the ring's own `/jwks` output, as a third party would.
    fn verify_with_jwks(ring: &KeyRing, token: &str, now: DateTime<Utc>) -> Map<String, Value> {
        let body = jwks_of(ring, now);
        let keys: Vec<VerifyingKey> = body["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| {
                let alg = Alg::parse(k["alg"].as_str().unwrap()).unwrap();
                VerifyingKey::from_public_jwk(
                    alg,
                    k["kid"].as_str().unwrap(),
                    k.as_object().unwrap(),
                )
                .unwrap()
            })
            .collect();
        let iss = "http://localhost:3001";
        verify(
            token,
            &keys,
            Expected {
                issuer: iss,
                audience: iss,
                now: now.timestamp(),
            },
        )
        .unwrap()
    }

    async fn insert_vector_rows(store: &Store) -> Vec<JwkRow> {
        let v = crate::auth::test_vectors::load();
        let mut rows = Vec::new();
        for case in v["cases"].as_object().unwrap().values() {
            let r = &case["jwksRow"];
            let row = JwkRow {
                id: r["id"].as_str().unwrap().into(),
                public_key: r["publicKey"].as_str().unwrap().into(),
                private_key: r["privateKey"].as_str().unwrap().into(),
                created_at: DateTime::parse_from_rfc3339(r["createdAt"].as_str().unwrap())
                    .unwrap()
                    .with_timezone(&Utc),
                expires_at: None,
                alg: r["alg"].as_str().map(Into::into),
                crv: r["crv"].as_str().map(Into::into),
            };
            store.insert_jwk(store.connection(), &row).await.unwrap();
            rows.push(row);
        }
        rows
    }

    #[tokio::test]
    async fn an_empty_table_gets_one_key_sealed_with_aes_gcm_and_its_tokens_verify() {
        let db = db(SECRET).await;
        let ring = load(&db.settings, &db.store, t0()).await.unwrap();
        let rows = db.store.list_jwks().await.unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].alg.as_deref(), Some("EdDSA"));
        assert_eq!(rows[0].crv.as_deref(), Some("Ed25519"));
        assert_eq!(rows[0].expires_at, None);
        assert!(rows[0].private_key.starts_with("\"$ba-rs$aes256gcm$0$"));
        let public: Value = serde_json::from_str(&rows[0].public_key).unwrap();
        assert_eq!(
            public
                .as_object()
                .unwrap()
                .keys()
                .cloned()
                .collect::<Vec<_>>(),
            ["crv", "x", "kty"]
        );

        let token = ring.mint(&db.store, user(), t0()).await.unwrap();
        let claims = verify_with_jwks(&ring, &token, t0());
        assert_eq!(claims["sub"], "user-1");
        assert_eq!(claims["exp"], t0().timestamp() + 900);

        // A restart reads the same key instead of creating another.
        let again = load(&db.settings, &db.store, t0()).await.unwrap();
        assert_eq!(db.store.list_jwks().await.unwrap().len(), 1);
        verify_with_jwks(
            &again,
            &ring.mint(&db.store, user(), t0()).await.unwrap(),
            t0(),
        );
    }

    #[tokio::test]
    async fn better_auth_rows_load_with_their_secret_and_the_newest_one_signs() {
        let v = crate::auth::test_vectors::load();
        let db = db(v["secret"].as_str().unwrap()).await;
        let rows = insert_vector_rows(&db.store).await;
        let ring = load(&db.settings, &db.store, t0()).await.unwrap();
        assert_eq!(
            db.store.list_jwks().await.unwrap().len(),
            3,
            "no key created"
        );
        let signer = ring.signer(&db.store, t0()).await.unwrap();
        let newest = rows.iter().max_by_key(|r| r.created_at).unwrap();
        assert_eq!(signer.kid(), newest.id);
        let listed: Vec<Value> = v["cases"]
            .as_object()
            .unwrap()
            .values()
            .map(|c| c["jwks"]["keys"][0].clone())
            .collect();
        assert_eq!(jwks_of(&ring, t0()), serde_json::json!({ "keys": listed }));
    }

    #[tokio::test]
    async fn a_changed_secret_refuses_to_start_and_changes_nothing() {
        let v = crate::auth::test_vectors::load();
        let db = db(SECRET).await;
        insert_vector_rows(&db.store).await;
        let err = load(&db.settings, &db.store, t0())
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("cannot be decrypted with the configured secret"),
            "{err}"
        );
        assert!(err.contains("Nothing was changed"), "{err}");
        assert!(
            err.contains("BETTER_AUTH_SECRETS") && err.contains("delete the rows"),
            "{err}"
        );
        assert!(!err.contains(SECRET) && !err.contains(v["secret"].as_str().unwrap()));
        assert_eq!(db.store.list_jwks().await.unwrap().len(), 3);

        // Listing the old secret as an older version recovers.
        let mut settings = with_secret(&db.settings, SECRET);
        settings.secrets.push(VersionedSecret {
            version: 1,
            value: SecretString::from(v["secret"].as_str().unwrap().to_owned()),
        });
        load(&settings, &db.store, t0()).await.unwrap();
    }

    #[tokio::test]
    async fn keys_written_in_every_format_open_whatever_is_configured_now() {
        let db = db(SECRET).await;
        for (i, format) in ["none", "better-auth", "aes-256-gcm"]
            .into_iter()
            .enumerate()
        {
            let mut settings = db.settings.clone();
            settings.plugins.jwt.key_encryption = Some(format.into());
            settings.plugins.jwt.rotation_interval = 10;
            let ring = load(&settings, &db.store, t0()).await.unwrap();
            // Each pass finds the previous keys expired and rotates.
            ring.signer(&db.store, t0() + Duration::seconds(20 * i as i64))
                .await
                .unwrap();
        }
        let rows = db.store.list_jwks().await.unwrap();
        assert_eq!(rows.len(), 3);
        assert!(rows[0].private_key.starts_with('{'));
        assert!(rows[1].private_key.starts_with('"') && !rows[1].private_key.contains('$'));
        assert!(rows[2].private_key.starts_with("\"$ba-rs$"));
        let ring = load(&db.settings, &db.store, t0()).await.unwrap();
        assert!(ring.snapshot().iter().all(|k| k.signer.is_some()));
    }

    #[tokio::test]
    async fn an_expired_key_rotates_and_stays_published_for_the_grace_period() {
        let db = db(SECRET).await;
        let mut settings = db.settings.clone();
        settings.plugins.jwt.rotation_interval = 3600;
        settings.plugins.jwt.grace_period = 600;
        let ring = load(&settings, &db.store, t0()).await.unwrap();
        let first = ring.signer(&db.store, t0()).await.unwrap();
        let rows = db.store.list_jwks().await.unwrap();
        assert_eq!(rows[0].expires_at, Some(t0() + Duration::seconds(3600)));

        let old_token = ring
            .mint(&db.store, user(), t0() + Duration::seconds(3599))
            .await
            .unwrap();
        let after = t0() + Duration::seconds(3600);
        let second = ring.signer(&db.store, after).await.unwrap();
        assert_ne!(first.kid(), second.kid());
        assert_eq!(db.store.list_jwks().await.unwrap().len(), 2);
        assert_eq!(jwks_of(&ring, after)["keys"].as_array().unwrap().len(), 2);
        verify_with_jwks(&ring, &old_token, after);
        let past_grace = after + Duration::seconds(600);
        let kids: Vec<Value> = jwks_of(&ring, past_grace)["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].clone())
            .collect();
        assert_eq!(kids, [Value::from(second.kid())]);
    }

    #[tokio::test]
    async fn a_new_algorithm_gets_its_own_key_and_old_keys_stay_published() {
        let db = db(SECRET).await;
        load(&db.settings, &db.store, t0()).await.unwrap();
        for alg in ["ES256", "ES512", "PS256", "RS256"] {
            let mut settings = db.settings.clone();
            settings.plugins.jwt.alg = alg.into();
            let ring = load(&settings, &db.store, t0()).await.unwrap();
            let token = ring.mint(&db.store, user(), t0()).await.unwrap();
            assert_eq!(
                ring.signer(&db.store, t0()).await.unwrap().alg().name(),
                alg
            );
            verify_with_jwks(&ring, &token, t0());
        }
        let rows = db.store.list_jwks().await.unwrap();
        assert_eq!(rows.len(), 5);
        assert_eq!(
            rows.iter().filter(|r| r.crv.is_none()).count(),
            2,
            "RSA rows have no crv"
        );
    }

    #[tokio::test]
    async fn a_row_with_a_null_alg_counts_as_the_configured_one() {
        let db = db(SECRET).await;
        let generated = jwt::generate(Alg::EdDsa).unwrap();
        let row = JwkRow {
            id: "legacy".into(),
            public_key: Value::Object(generated.public_jwk.clone()).to_string(),
            private_key: keyseal::seal(
                KeyEncryption::BetterAuth,
                &db.settings.secrets,
                false,
                &generated.private_jwk,
            )
            .unwrap(),
            created_at: t0(),
            expires_at: None,
            alg: None,
            crv: None,
        };
        db.store
            .insert_jwk(db.store.connection(), &row)
            .await
            .unwrap();
        let ring = load(&db.settings, &db.store, t0()).await.unwrap();
        assert_eq!(ring.signer(&db.store, t0()).await.unwrap().kid(), "legacy");
        assert_eq!(jwks_of(&ring, t0())["keys"][0]["crv"], "Ed25519");
    }

    #[tokio::test]
    async fn rotate_expires_the_signing_key_now_and_the_new_one_signs() {
        let db = db(SECRET).await;
        let mut settings = db.settings.clone();
        settings.plugins.jwt.grace_period = 600;
        let ring = load(&settings, &db.store, t0()).await.unwrap();
        let first = ring.signer(&db.store, t0()).await.unwrap();
        let old_token = ring.mint(&db.store, user(), t0()).await.unwrap();

        let kid = ring.rotate(&db.store, t0()).await.unwrap();
        assert_ne!(kid, first.kid());
        assert_eq!(ring.signer(&db.store, t0()).await.unwrap().kid(), kid);
        let rows = db.store.list_jwks().await.unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].expires_at, Some(t0()), "the old key expires now");
        assert_eq!(rows[1].expires_at, None, "no rotation interval");
        verify_with_jwks(&ring, &old_token, t0());
        let later = t0() + Duration::seconds(600);
        assert_eq!(jwks_of(&ring, later)["keys"].as_array().unwrap().len(), 1);
        assert_eq!(jwks_of(&ring, later)["keys"][0]["kid"], kid.as_str());
    }

    #[tokio::test]
    async fn rings_loading_together_on_an_empty_table_create_one_key() {
        let db = db(SECRET).await;
        let (a, b) = tokio::join!(
            load(&db.settings, &db.store, t0()),
            load(&db.settings, &db.store, t0())
        );
        let (a, b) = (a.unwrap(), b.unwrap());
        assert_eq!(db.store.list_jwks().await.unwrap().len(), 1);
        assert_eq!(a.published(t0()), b.published(t0()));
    }

    #[tokio::test]
    async fn keys_sealed_with_an_older_secret_are_resealed_at_load() {
        let db = db(SECRET).await;
        let mut old = with_secret(&db.settings, SECRET);
        old.secrets[0].version = 1;
        old.versioned_secrets = true;
        load(&old, &db.store, t0()).await.unwrap();
        assert!(db.store.list_jwks().await.unwrap()[0]
            .private_key
            .starts_with("\"$ba-rs$aes256gcm$1$"));

        let mut rotated = with_secret(&db.settings, "keyring-new-secret-0123456789abcdef0123");
        rotated.secrets[0].version = 2;
        rotated.secrets.push(old.secrets[0].clone());
        rotated.versioned_secrets = true;
        load(&rotated, &db.store, t0()).await.unwrap();
        let rows = db.store.list_jwks().await.unwrap();
        assert_eq!(rows.len(), 1);
        assert!(rows[0].private_key.starts_with("\"$ba-rs$aes256gcm$2$"));

        rotated.secrets.truncate(1);
        load(&rotated, &db.store, t0()).await.unwrap();
        assert_eq!(
            db.store.list_jwks().await.unwrap().len(),
            1,
            "opens with the new secret alone"
        );
    }

    #[tokio::test]
    async fn hs256_signs_with_the_shared_secret_and_publishes_no_key() {
        let db = db(SECRET).await;
        let mut settings = db.settings.clone();
        settings.plugins.jwt.alg = "HS256".into();
        settings.plugins.jwt.jwt_secret = Some(SecretString::from(
            "shared-hs256-secret-0123456789abcdef".to_owned(),
        ));
        let issuer = JwtIssuer::load(&settings, &db.store, t0()).await.unwrap();
        assert_eq!(issuer.jwks(&db.store, t0()).await, r#"{"keys":[]}"#);
        let token = issuer.mint(&db.store, user(), t0()).await.unwrap();
        let claims = crate::auth::cookie_cache::hs256_decode(
            b"shared-hs256-secret-0123456789abcdef",
            &token,
        )
        .unwrap();
        assert_eq!(
            Value::Object(claims),
            serde_json::json!({ "sub": "user-1", "email": "ada@example.com", "name": "Ada",
                "iat": t0().timestamp(), "exp": t0().timestamp() + 900,
                "iss": "http://localhost:3001", "aud": "http://localhost:3001" })
        );
        assert!(db.store.list_jwks().await.unwrap().is_empty());
        assert!(!format!("{issuer:?}").contains("shared-hs256"));
    }
}
