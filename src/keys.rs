//! The JWT plugin's key ring (`spec/jwt-jwks.md` §4, §5): every stored key is opened once at
//! start and kept in memory, so signing and `/jwks` never read the database; a new key is
//! created only when the table is empty or the signing key has expired (rotation).

use std::sync::{Arc, RwLock};

use anyhow::{anyhow, bail, Context};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use crate::auth::crypto::generate_id;
use crate::auth::jwks::{self, Key};
use crate::auth::jwt::{self, Alg, SigningKey};
use crate::auth::keyseal::{self, KeyEncryption};
use crate::config::{Settings, VersionedSecret};
use crate::store::{JwkRow, Store};

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
    /// Readers clone the `Arc`; rotation swaps in a new list.
    keys: RwLock<Arc<Vec<Key>>>,
    /// One key creation at a time.
    rotation: tokio::sync::Mutex<()>,
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
    /// invalidate every token already issued.
    pub async fn load(
        settings: &Settings,
        store: &Store,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Self> {
        let cfg = &settings.plugins.jwt;
        let alg = Alg::parse(&cfg.alg).ok_or_else(|| {
            anyhow!(
                "plugins.jwt.alg: `{}` cannot sign JWT plugin tokens (use EdDSA, ES256, ES512, RS256 or PS256)",
                cfg.alg
            )
        })?;
        let encryption = KeyEncryption::parse(&cfg.key_encryption).ok_or_else(|| {
            anyhow!("plugins.jwt.key_encryption: expected aes-256-gcm, better-auth or none")
        })?;
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
        tracing::info!(keys = rows.len(), alg = %alg, "JWT key ring loaded");
        ring.replace(keys);
        if rows.is_empty() {
            ring.create_key(store, now).await?;
        }
        Ok(ring)
    }

    /// A row as a key, with no signer when the private key does not open; `None` when even the
    /// public part is unusable. Rows with a null `alg` count as the configured one (§4).
    fn open_row(&self, row: &JwkRow) -> Option<Key> {
        let alg = match row.alg.as_deref().map(Alg::parse) {
            None => self.alg,
            Some(Some(alg)) => alg,
            Some(None) => {
                tracing::warn!(kid = %row.id, "jwks row has an unsupported alg; skipped");
                return None;
            }
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

    /// The key that signs now; rotates when the current one has expired.
    pub async fn signer(
        &self,
        store: &Store,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Arc<SigningKey>> {
        if let Some(s) = self.current_signer(now) {
            return Ok(s);
        }
        let _one_at_a_time = self.rotation.lock().await;
        if let Some(s) = self.current_signer(now) {
            return Ok(s);
        }
        // Another instance sharing the database may have rotated already.
        self.reload(store).await?;
        if let Some(s) = self.current_signer(now) {
            return Ok(s);
        }
        self.create_key(store, now).await
    }

    /// Re-reads the table, reusing the keys already opened.
    async fn reload(&self, store: &Store) -> anyhow::Result<()> {
        let rows = store.list_jwks().await.context("reading the jwks table")?;
        let known = self.snapshot();
        let keys = rows
            .iter()
            .filter_map(|row| match known.iter().find(|k| k.id == row.id) {
                Some(k) => Some(k.clone()),
                None => self.open_row(row),
            })
            .collect();
        self.replace(keys);
        Ok(())
    }

    async fn create_key(
        &self,
        store: &Store,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Arc<SigningKey>> {
        let alg = self.alg;
        let generated = if alg.is_rsa() {
            let span = tracing::Span::current();
            tokio::task::spawn_blocking(move || span.in_scope(|| jwt::generate(alg))).await??
        } else {
            jwt::generate(alg)?
        };
        let id = generate_id();
        let signer = Arc::new(SigningKey::from_private_jwk(
            alg,
            &id,
            &generated.private_jwk,
        )?);
        let row = JwkRow {
            id: id.clone(),
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
        };
        store
            .insert_jwk(store.connection(), &row)
            .await
            .context("storing a new JWT signing key")?;
        let key = Key::new(
            id,
            alg,
            alg.crv(),
            &generated.public_jwk,
            now,
            row.expires_at,
            Some(signer.clone()),
        );
        let mut keys = self.snapshot().as_ref().clone();
        keys.push(key);
        self.replace(keys);
        tracing::info!(kid = %row.id, alg = %alg, "created a JWT signing key");
        Ok(signer)
    }

    /// A token for the user (`user` = the User JSON object), signed with the current key.
    pub async fn mint(
        &self,
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
        if signer.alg().is_rsa() {
            let span = tracing::Span::current();
            Ok(
                tokio::task::spawn_blocking(move || span.in_scope(|| signer.sign(&claims)))
                    .await??,
            )
        } else {
            Ok(signer.sign(&claims)?)
        }
    }

    /// The `/jwks` body: keys not expired for longer than the grace period.
    pub fn jwks(&self, now: DateTime<Utc>) -> Value {
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
        store.migrate().await.unwrap();
        Db {
            _dir: dir,
            store,
            settings,
        }
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

    /// Verifies a token against the ring's own `/jwks` output, as a third party would.
    fn verify_with_jwks(ring: &KeyRing, token: &str, now: DateTime<Utc>) -> Map<String, Value> {
        let body = ring.jwks(now);
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
        let ring = KeyRing::load(&db.settings, &db.store, t0()).await.unwrap();
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
        let again = KeyRing::load(&db.settings, &db.store, t0()).await.unwrap();
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
        let ring = KeyRing::load(&db.settings, &db.store, t0()).await.unwrap();
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
        assert_eq!(ring.jwks(t0()), serde_json::json!({ "keys": listed }));
    }

    #[tokio::test]
    async fn a_changed_secret_refuses_to_start_and_changes_nothing() {
        let v = crate::auth::test_vectors::load();
        let db = db(SECRET).await;
        insert_vector_rows(&db.store).await;
        let err = KeyRing::load(&db.settings, &db.store, t0())
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
        KeyRing::load(&settings, &db.store, t0()).await.unwrap();
    }

    #[tokio::test]
    async fn keys_written_in_every_format_open_whatever_is_configured_now() {
        let db = db(SECRET).await;
        for (i, format) in ["none", "better-auth", "aes-256-gcm"]
            .into_iter()
            .enumerate()
        {
            let mut settings = db.settings.clone();
            settings.plugins.jwt.key_encryption = format.into();
            settings.plugins.jwt.rotation_interval = 10;
            let ring = KeyRing::load(&settings, &db.store, t0()).await.unwrap();
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
        let ring = KeyRing::load(&db.settings, &db.store, t0()).await.unwrap();
        assert!(ring.snapshot().iter().all(|k| k.signer.is_some()));
    }

    #[tokio::test]
    async fn an_expired_key_rotates_and_stays_published_for_the_grace_period() {
        let db = db(SECRET).await;
        let mut settings = db.settings.clone();
        settings.plugins.jwt.rotation_interval = 3600;
        settings.plugins.jwt.grace_period = 600;
        let ring = KeyRing::load(&settings, &db.store, t0()).await.unwrap();
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
        assert_eq!(ring.jwks(after)["keys"].as_array().unwrap().len(), 2);
        verify_with_jwks(&ring, &old_token, after);
        let past_grace = after + Duration::seconds(600);
        let kids: Vec<Value> = ring.jwks(past_grace)["keys"]
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
        KeyRing::load(&db.settings, &db.store, t0()).await.unwrap();
        for alg in ["ES256", "ES512", "PS256", "RS256"] {
            let mut settings = db.settings.clone();
            settings.plugins.jwt.alg = alg.into();
            let ring = KeyRing::load(&settings, &db.store, t0()).await.unwrap();
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
        let ring = KeyRing::load(&db.settings, &db.store, t0()).await.unwrap();
        assert_eq!(ring.signer(&db.store, t0()).await.unwrap().kid(), "legacy");
        assert_eq!(ring.jwks(t0())["keys"][0]["crv"], "Ed25519");
    }
}
