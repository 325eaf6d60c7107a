//! The key set (docs/compatibility.md §11.1, §11.5): which key signs, which keys `/jwks` publishes,
//! when a new key expires. Keys come in opened; storage and secrets are the caller's.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use serde_json::{Map, Value};

use super::jwt::{Alg, SigningKey};

/// One stored key, opened.
#[derive(Debug, Clone)]
pub struct Key {
    pub id: String,
    pub alg: Alg,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    /// `None` when the private key could not be opened: still published, never used to sign.
    pub signer: Option<Arc<SigningKey>>,
    /// The `/jwks` entry as JSON text, built once: a `/jwks` answer only joins entries.
    entry: Box<str>,
}

impl Key {
    /// `crv` is the row's value (else the algorithm's curve); `public_jwk` the stored public JWK.
    pub fn new(
        id: String,
        alg: Alg,
        crv: Option<&str>,
        public_jwk: &Map<String, Value>,
        created_at: DateTime<Utc>,
        expires_at: Option<DateTime<Utc>>,
        signer: Option<Arc<SigningKey>>,
    ) -> Self {
        let entry = Value::Object(jwks_entry(&id, alg, crv, public_jwk))
            .to_string()
            .into_boxed_str();
        Self {
            id,
            alg,
            created_at,
            expires_at,
            signer,
            entry,
        }
    }

    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }

    /// Listed unless expired for longer than the grace period (docs/compatibility.md §11.1, §11.5).
    pub fn is_published(&self, now: DateTime<Utc>, grace_period_secs: i64) -> bool {
        self.expires_at
            .is_none_or(|at| at + Duration::seconds(grace_period_secs) > now)
    }
}

/// `{alg, crv, …public JWK members, kid}` in Better Auth's order; no `crv` for RSA, no `use`.
fn jwks_entry(
    id: &str,
    alg: Alg,
    crv: Option<&str>,
    public_jwk: &Map<String, Value>,
) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("alg".into(), alg.name().into());
    if !alg.is_rsa() {
        if let Some(crv) = crv.or(alg.crv()) {
            m.insert("crv".into(), crv.into());
        }
    }
    for (k, v) in public_jwk {
        m.insert(k.clone(), v.clone());
    }
    m.insert("kid".into(), id.into());
    m
}

/// The newest unexpired key of `alg` that can sign.
pub fn signing_key(keys: &[Key], alg: Alg, now: DateTime<Utc>) -> Option<&Key> {
    keys.iter()
        .filter(|k| k.alg == alg && k.signer.is_some() && !k.is_expired(now))
        .max_by_key(|k| k.created_at)
}

/// The `/jwks` body (JSON text, as `JSON.stringify` writes it).
pub fn jwks(keys: &[Key], now: DateTime<Utc>, grace_period_secs: i64) -> String {
    let published = keys
        .iter()
        .filter(|k| k.is_published(now, grace_period_secs));
    let mut body = String::with_capacity(
        EMPTY_JWKS.len() + keys.iter().map(|k| k.entry.len() + 1).sum::<usize>(),
    );
    body.push_str(r#"{"keys":["#);
    for (i, key) in published.enumerate() {
        if i > 0 {
            body.push(',');
        }
        body.push_str(&key.entry);
    }
    body.push_str("]}");
    body
}

/// The `/jwks` body without keys.
pub const EMPTY_JWKS: &str = r#"{"keys":[]}"#;

/// `expiresAt` of a key created at `created_at` (none without rotation).
pub fn expiry(created_at: DateTime<Utc>, rotation_interval_secs: i64) -> Option<DateTime<Utc>> {
    (rotation_interval_secs > 0).then(|| created_at + Duration::seconds(rotation_interval_secs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::jwt::generate;

    fn parsed(keys: &[Key], now: DateTime<Utc>, grace_period_secs: i64) -> Value {
        serde_json::from_str(&jwks(keys, now, grace_period_secs)).unwrap()
    }

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap()
    }

    fn key(id: &str, alg: Alg, created: i64, expires: Option<i64>, can_sign: bool) -> Key {
        let g = generate(alg).unwrap();
        let signer = can_sign
            .then(|| Arc::new(SigningKey::from_private_jwk(alg, id, &g.private_jwk).unwrap()));
        Key::new(
            id.into(),
            alg,
            alg.crv(),
            &g.public_jwk,
            at(created),
            expires.map(at),
            signer,
        )
    }

    #[test]
    fn the_newest_unexpired_signing_capable_key_of_the_configured_alg_signs() {
        let keys = vec![
            key("old", Alg::EdDsa, 0, None, true),
            key("newer", Alg::EdDsa, 10, Some(100), true),
            key("other-alg", Alg::Es256, 20, None, true),
            key("unopenable", Alg::EdDsa, 30, None, false),
        ];
        assert_eq!(signing_key(&keys, Alg::EdDsa, at(50)).unwrap().id, "newer");
        assert_eq!(
            signing_key(&keys, Alg::EdDsa, at(100)).unwrap().id,
            "old",
            "expired at exactly expiresAt"
        );
        assert_eq!(
            signing_key(&keys, Alg::Es256, at(50)).unwrap().id,
            "other-alg"
        );
        assert!(signing_key(&keys, Alg::Rs256, at(50)).is_none());
        assert!(
            signing_key(&keys[1..2], Alg::EdDsa, at(100)).is_none(),
            "rotation due"
        );
    }

    #[test]
    fn jwks_lists_keys_until_the_grace_period_ends_in_better_auths_shape() {
        let keys = vec![
            key("a", Alg::EdDsa, 0, Some(100), true),
            key("b", Alg::Es256, 0, None, false),
        ];
        let kids = |now| {
            parsed(&keys, at(now), 50)["keys"]
                .as_array()
                .unwrap()
                .iter()
                .map(|k| k["kid"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        };
        assert_eq!(kids(149), ["a", "b"]);
        assert_eq!(kids(150), ["b"]);
        let body = parsed(&keys, at(0), 50);
        let ed: Vec<&str> = body["keys"][0]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(ed, ["alg", "crv", "x", "kty", "kid"]);
        let ec: Vec<&str> = body["keys"][1]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(ec, ["alg", "crv", "kty", "x", "y", "kid"]);
        assert_eq!(body["keys"][1]["crv"], "P-256");
    }

    #[test]
    fn rsa_entries_have_no_crv() {
        let body = parsed(&[key("r", Alg::Ps256, 0, None, true)], at(0), 0);
        let members: Vec<&str> = body["keys"][0]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(members, ["alg", "kty", "n", "e", "kid"]);
        assert_eq!(body["keys"][0]["alg"], "PS256");
    }

    #[test]
    fn the_recorded_jwks_is_rebuilt_from_the_recorded_rows() {
        let v = crate::auth::test_vectors::load();
        for (name, case) in v["cases"].as_object().unwrap() {
            let row = &case["jwksRow"];
            let public: Value = serde_json::from_str(row["publicKey"].as_str().unwrap()).unwrap();
            let k = Key::new(
                row["id"].as_str().unwrap().into(),
                Alg::parse(row["alg"].as_str().unwrap()).unwrap(),
                row["crv"].as_str(),
                public.as_object().unwrap(),
                at(0),
                None,
                None,
            );
            assert_eq!(jwks(&[k], at(0), 0), case["jwks"].to_string(), "{name}");
        }
    }

    #[test]
    fn rotation_sets_expires_at() {
        assert_eq!(expiry(at(0), 0), None);
        assert_eq!(expiry(at(0), 3600), Some(at(3600)));
    }
}
