//! The `session_data` cookie cache (docs/compatibility.md §7). `compact` must be byte-exact with
//! JavaScript's `JSON.stringify`, because the reader re-serialises before checking the HMAC;
//! `jwe` is Better Auth's encrypted JWT (`super::jwe`).

use std::sync::LazyLock;

use regex::Regex;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::crypto::{b64url, b64url_decode, ct_eq, hmac_sha256, iso};
use super::jwe;

/// `[session.cookie_cache] strategy`: how the cache cookie is encoded (docs/compatibility.md §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CacheStrategy {
    Compact,
    Jwt,
    Jwe,
}

/// What a decoded cache holds: the payload `{session, user, updatedAt, version}` and when the
/// cache itself stops being valid (epoch ms).
#[derive(Debug, Clone, PartialEq)]
pub struct CachePayload {
    pub payload: Map<String, Value>,
    pub expires_at_ms: i64,
}

static ISO_DATE: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$").ok()
});

/// Strings that look like ISO dates become `Date`s when JavaScript parses the cache, and come
/// back in `toISOString` form when it re-serialises; do the same, in place.
fn js_roundtrip(v: &mut Value) {
    match v {
        // `YYYY-MM-DDTHH:MM:SS` at least: most strings fail on length or the dashes before the
        // regex runs.
        Value::String(s)
            if s.len() >= 19
                && s.as_bytes()[4] == b'-'
                && s.as_bytes()[10] == b'T'
                && ISO_DATE.as_ref().is_some_and(|re| re.is_match(s)) =>
        {
            if let Ok(d) = chrono::DateTime::parse_from_rfc3339(s) {
                *s = iso(&d.with_timezone(&chrono::Utc));
            }
        }
        Value::Object(m) => m.values_mut().for_each(js_roundtrip),
        Value::Array(a) => a.iter_mut().for_each(js_roundtrip),
        _ => {}
    }
}

/// The HMAC of `JSON.stringify({...payload, expiresAt})`.
fn compact_signature(secret: &[u8], payload: &Map<String, Value>, expires_at_ms: i64) -> String {
    let text = if payload.contains_key("expiresAt") {
        // The key keeps its place and takes the new value.
        let mut signed = payload.clone();
        signed.insert("expiresAt".into(), Value::from(expires_at_ms));
        Value::Object(signed).to_string()
    } else {
        // Appended last: the payload's JSON with one more member before its closing brace.
        let mut text = serde_json::to_string(payload).unwrap_or_default();
        text.pop();
        if !payload.is_empty() {
            text.push(',');
        }
        text.push_str(&format!("\"expiresAt\":{expires_at_ms}}}"));
        text
    };
    b64url(&hmac_sha256(secret, text.as_bytes()))
}

/// Encodes a payload that stays valid for `max_age` seconds from `now_ms`; `None` only if the
/// encryption library fails.
pub fn encode(
    strategy: CacheStrategy,
    secret: &[u8],
    payload: Map<String, Value>,
    now_ms: i64,
    max_age: i64,
) -> Option<String> {
    let expires_at_ms = now_ms + max_age * 1000;
    Some(match strategy {
        CacheStrategy::Compact => {
            let signature = compact_signature(secret, &payload, expires_at_ms);
            let mut cookie = Map::new();
            cookie.insert("session".into(), Value::Object(payload));
            cookie.insert("expiresAt".into(), Value::from(expires_at_ms));
            cookie.insert("signature".into(), Value::String(signature));
            b64url(Value::Object(cookie).to_string().as_bytes())
        }
        CacheStrategy::Jwt | CacheStrategy::Jwe => {
            let mut claims = payload;
            let iat = now_ms / 1000;
            claims.insert("iat".into(), Value::from(iat));
            claims.insert("exp".into(), Value::from(iat + max_age));
            if strategy == CacheStrategy::Jwt {
                hs256_encode(secret, &claims)
            } else {
                let jti = uuid::Uuid::new_v4().to_string();
                claims.insert("jti".into(), Value::String(jti));
                jwe::encrypt(secret, jwe::SESSION_SALT, &claims)?
            }
        }
    })
}

/// Decodes and verifies; `None` when the value is not a cache we (or Better Auth) wrote.
/// `secrets` holds the current secret first: `compact` and `jwt` use only it, `jwe` also reads
/// caches written under older versioned secrets (docs/compatibility.md §7.5). Lifetime and content
/// checks are the caller's.
pub fn decode(strategy: CacheStrategy, secrets: &[&[u8]], value: &str) -> Option<CachePayload> {
    let secret = *secrets.first()?;
    match strategy {
        CacheStrategy::Compact => {
            let raw = b64url_decode(value)?;
            let Value::Object(mut cookie) = serde_json::from_slice::<Value>(&raw).ok()? else {
                return None;
            };
            let expires_at_ms = cookie.get("expiresAt")?.as_i64()?;
            let signature = cookie.get("signature")?.as_str()?.to_owned();
            let Value::Object(mut payload) = cookie.remove("session")? else {
                return None;
            };
            payload.values_mut().for_each(js_roundtrip);
            let expected = compact_signature(secret, &payload, expires_at_ms);
            ct_eq(expected.as_bytes(), signature.as_bytes()).then_some(CachePayload {
                payload,
                expires_at_ms,
            })
        }
        CacheStrategy::Jwt | CacheStrategy::Jwe => {
            let mut claims = if strategy == CacheStrategy::Jwt {
                hs256_decode(secret, value)?
            } else {
                jwe::decrypt(secrets, jwe::SESSION_SALT, value)?
            };
            let exp = claims.get("exp")?.as_i64()?;
            for claim in ["iat", "exp", "jti"] {
                claims.remove(claim);
            }
            Some(CachePayload {
                payload: claims,
                expires_at_ms: exp * 1000,
            })
        }
    }
}

/// HS256 JWT with header exactly `{"alg":"HS256"}` (docs/compatibility.md §7.4).
pub fn hs256_encode(secret: &[u8], claims: &Map<String, Value>) -> String {
    let header = b64url(br#"{"alg":"HS256"}"#);
    let body = b64url(Value::Object(claims.clone()).to_string().as_bytes());
    let signing_input = format!("{header}.{body}");
    let sig = b64url(&hmac_sha256(secret, signing_input.as_bytes()));
    format!("{signing_input}.{sig}")
}

/// Verifies an HS256 JWT's signature (and that it is HS256); returns its claims.
pub fn hs256_decode(secret: &[u8], token: &str) -> Option<Map<String, Value>> {
    let mut parts = token.split('.');
    let (header, body, sig) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let header: Value = serde_json::from_slice(&b64url_decode(header)?).ok()?;
    if header.get("alg")?.as_str()? != "HS256" {
        return None;
    }
    let expected = hmac_sha256(
        secret,
        format!("{}.{}", token.split('.').next()?, body).as_bytes(),
    );
    if !ct_eq(&b64url_decode(sig)?, &expected) {
        return None;
    }
    match serde_json::from_slice(&b64url_decode(body)?).ok()? {
        Value::Object(m) => Some(m),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"spec-example-secret-0123456789abcdef";

    /// A `compact` cache cookie for the example secret, as Better Auth writes it
    /// (docs/compatibility.md §7.3).
    const SPEC_COOKIE: &str = "eyJzZXNzaW9uIjp7InNlc3Npb24iOnsiZXhwaXJlc0F0IjoiMjAzMC0wMS0wOFQwMDowMDowMC4wMDBaIiwidG9rZW4iOiJYcTdtSzJwTDl2UjR0WTZ3WjFhQjNjRDVlRjhnSDBqTiIsImNyZWF0ZWRBdCI6IjIwMzAtMDEtMDFUMDA6MDA6MDAuMDAwWiIsInVwZGF0ZWRBdCI6IjIwMzAtMDEtMDFUMDA6MDA6MDAuMDAwWiIsImlwQWRkcmVzcyI6IjIwMy4wLjExMy43IiwidXNlckFnZW50IjoiTW96aWxsYS81LjAiLCJ1c2VySWQiOiJ1MXUxdTF1MXUxdTF1MXUxdTF1MXUxdTF1MXUxdTF1MSIsImlkIjoiczFzMXMxczFzMXMxczFzMXMxczFzMXMxczFzMXMxczEifSwidXNlciI6eyJuYW1lIjoiQWRhIiwiZW1haWwiOiJhZGFAZXhhbXBsZS5jb20iLCJlbWFpbFZlcmlmaWVkIjpmYWxzZSwiaW1hZ2UiOm51bGwsImNyZWF0ZWRBdCI6IjIwMzAtMDEtMDFUMDA6MDA6MDAuMDAwWiIsInVwZGF0ZWRBdCI6IjIwMzAtMDEtMDFUMDA6MDA6MDAuMDAwWiIsImlkIjoidTF1MXUxdTF1MXUxdTF1MXUxdTF1MXUxdTF1MXUxdTEifSwidXBkYXRlZEF0IjoxODkzNDU2MDAwMDAwLCJ2ZXJzaW9uIjoiMSJ9LCJleHBpcmVzQXQiOjE4OTM0NTYzMDAwMDAsInNpZ25hdHVyZSI6IlZiLUkzM1V4bjlBeE05WUNTbVpaTzAxUE1RNVpUX2R5ZjhpNGc3Z3JGYTQifQ";

    #[test]
    fn the_compact_signature_covers_the_payload_with_expires_at_last_or_in_its_place() {
        let expected = |payload: &Value| {
            // `{...payload, expiresAt}` the long way round.
            let Value::Object(mut m) = payload.clone() else {
                unreachable!()
            };
            m.insert("expiresAt".into(), Value::from(7));
            b64url(&hmac_sha256(
                SECRET,
                Value::Object(m).to_string().as_bytes(),
            ))
        };
        for payload in [
            serde_json::json!({}),
            serde_json::json!({ "session": { "id": "s" }, "version": "1" }),
            serde_json::json!({ "expiresAt": 1, "user": null }),
        ] {
            let Value::Object(m) = &payload else {
                unreachable!()
            };
            assert_eq!(
                compact_signature(SECRET, m, 7),
                expected(&payload),
                "{payload}"
            );
        }
        // In place, for the record: `{"expiresAt":7,"user":null}`, not `{"user":null,...}`.
        let Value::Object(m) = serde_json::json!({ "expiresAt": 1, "user": null }) else {
            unreachable!()
        };
        assert_eq!(
            compact_signature(SECRET, &m, 7),
            b64url(&hmac_sha256(SECRET, br#"{"expiresAt":7,"user":null}"#))
        );
    }

    #[test]
    fn dates_come_back_as_javascript_writes_them_and_other_strings_stay() {
        let mut v = serde_json::json!({
            "a": "2030-01-01T00:00:00Z",
            "b": ["2030-01-01T01:00:00.5+01:00", "2030-01-01", "not a dateTtime at all"],
            "c": 5,
        });
        js_roundtrip(&mut v);
        assert_eq!(
            v,
            serde_json::json!({
                "a": "2030-01-01T00:00:00.000Z",
                "b": ["2030-01-01T00:00:00.500Z", "2030-01-01", "not a dateTtime at all"],
                "c": 5,
            })
        );
    }

    #[test]
    fn compact_reads_and_rewrites_the_spec_example_byte_for_byte() {
        let decoded = decode(CacheStrategy::Compact, &[SECRET], SPEC_COOKIE).expect("valid");
        assert_eq!(decoded.expires_at_ms, 1_893_456_300_000);
        let again = encode(
            CacheStrategy::Compact,
            SECRET,
            decoded.payload,
            1_893_456_000_000,
            300,
        );
        assert_eq!(again.as_deref(), Some(SPEC_COOKIE));
        assert!(decode(
            CacheStrategy::Compact,
            &[b"another-secret-0123456789abcdef0123"],
            SPEC_COOKIE
        )
        .is_none());
    }

    #[test]
    fn hs256_matches_the_spec_vector() {
        let mut claims = Map::new();
        claims.insert("email".into(), "user@example.com".into());
        claims.insert("iat".into(), 1_700_000_000.into());
        claims.insert("exp".into(), 1_700_003_600.into());
        let t = hs256_encode(SECRET, &claims);
        assert_eq!(t, "eyJhbGciOiJIUzI1NiJ9.eyJlbWFpbCI6InVzZXJAZXhhbXBsZS5jb20iLCJpYXQiOjE3MDAwMDAwMDAsImV4cCI6MTcwMDAwMzYwMH0.NJiAj6UJBEwFkq2EjxpKBMH0IVRX7vXN1WaphP5UXFY");
        assert_eq!(hs256_decode(SECRET, &t), Some(claims));
        assert_eq!(
            hs256_decode(b"wrong-secret-0123456789abcdef0123456", &t),
            None
        );
    }

    #[test]
    fn jwe_caches_round_trip_with_iat_exp_and_jti() {
        let mut payload = Map::new();
        payload.insert("version".into(), "1".into());
        let token = encode(
            CacheStrategy::Jwe,
            SECRET,
            payload.clone(),
            1_700_000_000_500,
            300,
        )
        .unwrap();
        let claims = jwe::decrypt(&[SECRET], jwe::SESSION_SALT, &token).unwrap();
        assert_eq!(claims["iat"], 1_700_000_000);
        assert_eq!(claims["exp"], 1_700_000_300);
        assert!(uuid::Uuid::parse_str(claims["jti"].as_str().unwrap()).is_ok());
        let decoded = decode(CacheStrategy::Jwe, &[SECRET], &token).unwrap();
        assert_eq!(decoded.payload, payload);
        assert_eq!(decoded.expires_at_ms, 1_700_000_300_000);
    }
}
