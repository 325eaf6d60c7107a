//! OpenID Connect ID tokens from a provider: the claims read without verification (Better
//! Auth's `decodeJwt`, what Google's and Apple's `getUserInfo` do after the code exchange), and
//! the full check against the provider's JWKS (`verifyProviderIdToken`: signature, `iss`,
//! `aud`, `exp`, `nonce`, maximum age), as `@better-auth/core/src/oauth2/verify-id-token.ts`.

use josekit::jwk::Jwk;
use josekit::jws::{JwsVerifier, ES256, ES384, ES512, PS256, PS384, PS512, RS256, RS384, RS512};
use serde_json::{Map, Value};

use super::crypto::b64url_decode;

/// Seconds of clock skew accepted on `exp`, `nbf` and `iat` (`ID_TOKEN_CLOCK_TOLERANCE_SECONDS`).
const CLOCK_TOLERANCE: f64 = 30.0;

/// Claims every ID token must carry (`ID_TOKEN_REQUIRED_CLAIMS`, jose's `requiredClaims`).
const REQUIRED_CLAIMS: [&str; 5] = ["iss", "sub", "aud", "exp", "iat"];

/// jose's `validateNumericDate`: absent is `Ok(None)`; present, it must be a number.
fn numeric_date(claims: &Map<String, Value>, name: &str) -> Result<Option<f64>, ()> {
    match claims.get(name) {
        None => Ok(None),
        Some(v) => v.as_f64().map(Some).ok_or(()),
    }
}

/// The token's header and claims, unverified; `None` when it is not a compact JWS.
pub fn decode(token: &str) -> Option<(Map<String, Value>, Map<String, Value>)> {
    let mut parts = token.split('.');
    let (h, p, _s) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let header = serde_json::from_slice(&b64url_decode(h)?).ok()?;
    let claims = serde_json::from_slice(&b64url_decode(p)?).ok()?;
    Some((header, claims))
}

/// The claims, unverified.
pub fn claims(token: &str) -> Option<Map<String, Value>> {
    decode(token).map(|(_, c)| c)
}

/// What a verified ID token must say.
#[derive(Debug)]
pub struct Expected<'a> {
    /// Any of these as `iss`.
    pub issuers: &'a [String],
    /// This client id among `aud`.
    pub audience: &'a str,
    /// `nonce` must equal it when given.
    pub nonce: Option<&'a str>,
    /// Seconds since `iat` after which the token is refused (Google: one hour).
    pub max_age: Option<i64>,
    /// Algorithms accepted; empty: any asymmetric one.
    pub algorithms: &'a [String],
    /// Unix seconds.
    pub now: i64,
}

fn verifier(alg: &str, jwk: &Jwk) -> Option<Box<dyn JwsVerifier>> {
    Some(match alg {
        "RS256" => Box::new(RS256.verifier_from_jwk(jwk).ok()?),
        "RS384" => Box::new(RS384.verifier_from_jwk(jwk).ok()?),
        "RS512" => Box::new(RS512.verifier_from_jwk(jwk).ok()?),
        "PS256" => Box::new(PS256.verifier_from_jwk(jwk).ok()?),
        "PS384" => Box::new(PS384.verifier_from_jwk(jwk).ok()?),
        "PS512" => Box::new(PS512.verifier_from_jwk(jwk).ok()?),
        "ES256" => Box::new(ES256.verifier_from_jwk(jwk).ok()?),
        "ES384" => Box::new(ES384.verifier_from_jwk(jwk).ok()?),
        "ES512" => Box::new(ES512.verifier_from_jwk(jwk).ok()?),
        "EdDSA" => Box::new(josekit::jws::EdDSA.verifier_from_jwk(jwk).ok()?),
        _ => return None,
    })
}

/// Whether the signature verifies with a key of `jwks` (`{"keys": [...]}`) that matches the
/// header's `kid` (any key when the header has none).
fn signature_ok(token: &str, header: &Map<String, Value>, jwks: &Value) -> bool {
    let Some(alg) = header.get("alg").and_then(Value::as_str) else {
        return false;
    };
    let kid = header.get("kid").and_then(Value::as_str);
    let Some((signed, signature)) = token.rsplit_once('.') else {
        return false;
    };
    let Some(signature) = b64url_decode(signature) else {
        return false;
    };
    let keys = jwks.get("keys").and_then(Value::as_array);
    for key in keys.into_iter().flatten() {
        let Some(map) = key.as_object() else { continue };
        if kid.is_some() && map.get("kid").and_then(Value::as_str) != kid {
            continue;
        }
        let Ok(jwk) = Jwk::from_map(map.clone()) else {
            continue;
        };
        if let Some(v) = verifier(alg, &jwk) {
            if v.verify(signed.as_bytes(), &signature).is_ok() {
                return true;
            }
        }
    }
    false
}

/// The claims of a token whose signature, issuer, audience, lifetime and nonce all check out.
pub fn verify(token: &str, jwks: &Value, expected: &Expected<'_>) -> Option<Map<String, Value>> {
    let (header, claims) = decode(token)?;
    let alg = header.get("alg").and_then(Value::as_str)?;
    if alg == "none" || alg.starts_with("HS") {
        return None;
    }
    if !expected.algorithms.is_empty() && !expected.algorithms.iter().any(|a| a == alg) {
        return None;
    }
    if !signature_ok(token, &header, jwks) {
        return None;
    }
    // jose's `validateClaimsSet` with Better Auth's options: presence first, then the values.
    if REQUIRED_CLAIMS.iter().any(|c| !claims.contains_key(*c)) {
        return None;
    }
    let iss = claims.get("iss").and_then(Value::as_str)?;
    if !expected.issuers.iter().any(|i| i == iss) {
        return None;
    }
    let aud_ok = match claims.get("aud")? {
        Value::String(a) => a == expected.audience,
        Value::Array(list) => list.iter().any(|a| a.as_str() == Some(expected.audience)),
        _ => false,
    };
    if !aud_ok {
        return None;
    }
    let now = expected.now as f64;
    let iat = numeric_date(&claims, "iat").ok()?;
    if let Some(nbf) = numeric_date(&claims, "nbf").ok()? {
        if nbf > now + CLOCK_TOLERANCE {
            return None;
        }
    }
    if let Some(exp) = numeric_date(&claims, "exp").ok()? {
        if exp <= now - CLOCK_TOLERANCE {
            return None;
        }
    }
    if let Some(max_age) = expected.max_age {
        let age = now - iat?;
        if age - CLOCK_TOLERANCE > max_age as f64 || age < -CLOCK_TOLERANCE {
            return None;
        }
    }
    if let Some(nonce) = expected.nonce {
        let got = claims.get("nonce").and_then(Value::as_str)?;
        if !super::crypto::ct_eq(got.as_bytes(), nonce.as_bytes()) {
            return None;
        }
    }
    Some(claims)
}

#[cfg(test)]
mod tests {
    use super::*;
    use josekit::jwk::alg::rsa::RsaKeyPair;
    use josekit::jws::JwsHeader;
    use serde_json::json;

    fn sign(pair: &RsaKeyPair, claims: Value) -> String {
        let mut header = JwsHeader::new();
        header.set_key_id("k1");
        let signer = RS256.signer_from_jwk(&pair.to_jwk_private_key()).unwrap();
        josekit::jws::serialize_compact(claims.to_string().as_bytes(), &header, &signer).unwrap()
    }

    fn jwks(pair: &RsaKeyPair) -> Value {
        let mut jwk = pair.to_jwk_public_key();
        jwk.set_key_id("k1");
        json!({ "keys": [Value::Object(jwk.as_ref().clone())] })
    }

    #[test]
    fn checks_signature_issuer_audience_expiry_and_nonce() {
        let pair = RsaKeyPair::generate(2048).unwrap();
        let issuers = vec!["https://idp.test".to_owned()];
        let expected = |nonce| Expected {
            issuers: &issuers,
            audience: "client",
            nonce,
            max_age: None,
            algorithms: &[],
            now: 1_000,
        };
        let good = json!({"iss": "https://idp.test", "aud": "client", "exp": 2_000, "iat": 900, "nonce": "n1", "sub": "s"});
        let token = sign(&pair, good.clone());
        assert!(verify(&token, &jwks(&pair), &expected(Some("n1"))).is_some());
        assert!(verify(&token, &jwks(&pair), &expected(Some("n2"))).is_none());
        for (k, v) in [
            ("iss", json!("https://other")),
            ("aud", json!("x")),
            ("exp", json!(10)),
        ] {
            let mut bad = good.clone();
            bad[k] = v;
            assert!(
                verify(&sign(&pair, bad), &jwks(&pair), &expected(None)).is_none(),
                "{k}"
            );
        }
        let other = RsaKeyPair::generate(2048).unwrap();
        assert!(verify(&token, &jwks(&other), &expected(None)).is_none());
    }

    #[test]
    fn requires_better_auths_claims_and_allows_30_seconds_of_skew() {
        let pair = RsaKeyPair::generate(2048).unwrap();
        let issuers = vec!["https://idp.test".to_owned()];
        let expected = Expected {
            issuers: &issuers,
            audience: "client",
            nonce: None,
            max_age: None,
            algorithms: &[],
            now: 1_000,
        };
        let good = json!({"iss": "https://idp.test", "aud": "client", "exp": 2_000, "iat": 900, "sub": "s"});
        let ok = |claims: &Value| {
            verify(&sign(&pair, claims.clone()), &jwks(&pair), &expected).is_some()
        };
        assert!(ok(&good));
        for claim in ["iss", "sub", "aud", "exp", "iat"] {
            let mut bad = good.clone();
            bad.as_object_mut().unwrap().remove(claim);
            assert!(!ok(&bad), "without {claim}");
        }
        let with = |k: &str, v: Value| {
            let mut c = good.clone();
            c[k] = v;
            c
        };
        // `exp` at most 30 s in the past (jose: `exp <= now - tolerance` is expired).
        assert!(ok(&with("exp", json!(971))));
        assert!(!ok(&with("exp", json!(970))));
        assert!(!ok(&with("exp", json!(955))));
        assert!(ok(&with("exp", json!(1_500.5))));
        assert!(ok(&with("nbf", json!(1_030))));
        assert!(!ok(&with("nbf", json!(1_031))));
        assert!(!ok(&with("iat", json!("900"))));
        assert!(!ok(&with("exp", json!("2000"))));
    }
}
