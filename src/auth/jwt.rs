//! JWT plugin tokens (docs/compatibility.md §11.3, §11.4): key pairs, signing and verification.
//!
//! josekit provides the key operations; the compact serialisation is written here so the header
//! is exactly Better Auth's `{"alg":…,"kid":…}` (no `typ`) and the claims keep their order.

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;

use josekit::jwk::alg::ec::EcKeyPair;
use josekit::jwk::alg::ed::{EdCurve, EdKeyPair};
use josekit::jwk::alg::rsa::RsaKeyPair;
use josekit::jwk::{Jwk, KeyPair};
use josekit::jws::{EdDSA, JwsSigner, JwsVerifier, ES256, ES512, PS256, RS256};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value};

use super::crypto::{b64url, b64url_decode};

/// Modulus length of generated RSA keys (Better Auth's `modulusLength` default).
const RSA_BITS: u32 = 2048;

/// The signing algorithms of `jwks.keyPairConfig` (docs/compatibility.md §11.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alg {
    EdDsa,
    Es256,
    Es512,
    Rs256,
    Ps256,
}

impl Alg {
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "EdDSA" => Some(Self::EdDsa),
            "ES256" => Some(Self::Es256),
            "ES512" => Some(Self::Es512),
            "RS256" => Some(Self::Rs256),
            "PS256" => Some(Self::Ps256),
            _ => None,
        }
    }

    /// The JOSE `alg` name.
    pub fn name(self) -> &'static str {
        match self {
            Self::EdDsa => "EdDSA",
            Self::Es256 => "ES256",
            Self::Es512 => "ES512",
            Self::Rs256 => "RS256",
            Self::Ps256 => "PS256",
        }
    }

    /// The curve of the key (`crv`); RSA keys have none.
    pub fn crv(self) -> Option<&'static str> {
        match self {
            Self::EdDsa => Some("Ed25519"),
            Self::Es256 => Some("P-256"),
            Self::Es512 => Some("P-521"),
            Self::Rs256 | Self::Ps256 => None,
        }
    }

    /// RSA signing takes milliseconds, not microseconds: callers move it off the async workers.
    pub fn is_rsa(self) -> bool {
        matches!(self, Self::Rs256 | Self::Ps256)
    }

    fn kty(self) -> &'static str {
        match self {
            Self::EdDsa => "OKP",
            Self::Es256 | Self::Es512 => "EC",
            Self::Rs256 | Self::Ps256 => "RSA",
        }
    }
}

impl fmt::Display for Alg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum JwtError {
    /// The JWK is not a usable key for the algorithm (no key material in the message).
    #[error("unusable {0} key")]
    Key(Alg),
    #[error("signing failed")]
    Sign,
    #[error("malformed token")]
    Malformed,
    #[error("unsupported or mismatched algorithm")]
    Algorithm,
    #[error("no key with this kid")]
    UnknownKey,
    #[error("signature does not verify")]
    Signature,
    #[error("token expired")]
    Expired,
    #[error("token not yet valid")]
    NotYetValid,
    #[error("claim `{0}` is missing or does not match")]
    Claim(&'static str),
}

const PRIVATE_MEMBERS: [&str; 6] = ["d", "p", "q", "dp", "dq", "qi"];

/// A JWK's members in the order Node's `KeyObject.export({ format: "jwk" })` writes them (the
/// order Better Auth stores), without josekit's `use`/`alg`/`kid`; private members only if asked.
fn node_jwk(jwk: &Map<String, Value>, private: bool) -> Map<String, Value> {
    let order: &[&str] = match jwk.get("kty").and_then(Value::as_str) {
        Some("OKP") => &["crv", "d", "x", "kty"],
        Some("EC") => &["kty", "x", "y", "crv", "d"],
        Some("RSA") => &["kty", "n", "e", "d", "p", "q", "dp", "dq", "qi"],
        _ => &[],
    };
    order
        .iter()
        .filter(|k| private || !PRIVATE_MEMBERS.contains(k))
        .filter_map(|k| jwk.get(*k).map(|v| ((*k).to_owned(), v.clone())))
        .collect()
}

/// A freshly generated key pair, as Better Auth stores it.
pub struct GeneratedKey {
    pub alg: Alg,
    /// Public JWK members, e.g. `{"crv":"Ed25519","x":"…","kty":"OKP"}`.
    pub public_jwk: Map<String, Value>,
    /// Private JWK JSON text (with `d`, and the RSA CRT members).
    pub private_jwk: SecretString,
}

impl fmt::Debug for GeneratedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GeneratedKey")
            .field("alg", &self.alg)
            .field("private_jwk", &"<redacted>")
            .finish_non_exhaustive()
    }
}

/// Generates a key pair: Ed25519, P-256, P-521 or 2048-bit RSA (PS256 uses a plain RSA key,
/// as Better Auth's `generateKeyPair("PS256")` does).
pub fn generate(alg: Alg) -> Result<GeneratedKey, JwtError> {
    let err = |_| JwtError::Key(alg);
    let pair: Box<dyn KeyPair> = match alg {
        Alg::EdDsa => Box::new(EdDSA.generate_key_pair(EdCurve::Ed25519).map_err(err)?),
        Alg::Es256 => Box::new(ES256.generate_key_pair().map_err(err)?),
        Alg::Es512 => Box::new(ES512.generate_key_pair().map_err(err)?),
        Alg::Rs256 | Alg::Ps256 => Box::new(RS256.generate_key_pair(RSA_BITS).map_err(err)?),
    };
    let full = pair.to_jwk_key_pair();
    let private = Value::Object(node_jwk(full.as_ref(), true)).to_string();
    Ok(GeneratedKey {
        alg,
        public_jwk: node_jwk(full.as_ref(), false),
        private_jwk: SecretString::from(private),
    })
}

/// A private key ready to sign, with the public JWK derived from it (not read from storage).
pub struct SigningKey {
    alg: Alg,
    kid: String,
    signer: Box<dyn JwsSigner>,
    public_jwk: Map<String, Value>,
    recent: Mutex<RecentTokens>,
}

/// At most this many tokens are remembered for the current second.
const RECENT_TOKENS_MAX: usize = 1024;

/// The tokens this key signed during the current second, by payload. `iat` counts whole
/// seconds, so the same claims signed again within that second would give the same token
/// (EdDSA is deterministic; for the other algorithms both signatures are equally valid): it is
/// signed once. A session polled by several tabs, or `get-session` followed by `/token`, then
/// costs one signature a second instead of one per request.
#[derive(Default)]
struct RecentTokens {
    second: i64,
    tokens: HashMap<String, String>,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("alg", &self.alg)
            .field("kid", &self.kid)
            .field("key", &"<redacted>")
            .finish()
    }
}

impl SigningKey {
    /// Reads a private JWK (Better Auth's stored form) for `alg`; the key type and curve must
    /// be the algorithm's.
    pub fn from_private_jwk(
        alg: Alg,
        kid: &str,
        private_jwk: &SecretString,
    ) -> Result<Self, JwtError> {
        let err = |_| JwtError::Key(alg);
        let jwk = Jwk::from_bytes(private_jwk.expose_secret().as_bytes()).map_err(err)?;
        if jwk.key_type() != alg.kty() || jwk.parameter("crv").and_then(Value::as_str) != alg.crv()
        {
            return Err(JwtError::Key(alg));
        }
        let (pair, signer): (Box<dyn KeyPair>, Box<dyn JwsSigner>) = match alg {
            Alg::EdDsa => (
                Box::new(EdKeyPair::from_jwk(&jwk).map_err(err)?),
                Box::new(EdDSA.signer_from_jwk(&jwk).map_err(err)?),
            ),
            Alg::Es256 => (
                Box::new(EcKeyPair::from_jwk(&jwk).map_err(err)?),
                Box::new(ES256.signer_from_jwk(&jwk).map_err(err)?),
            ),
            Alg::Es512 => (
                Box::new(EcKeyPair::from_jwk(&jwk).map_err(err)?),
                Box::new(ES512.signer_from_jwk(&jwk).map_err(err)?),
            ),
            Alg::Rs256 => (
                Box::new(RsaKeyPair::from_jwk(&jwk).map_err(err)?),
                Box::new(RS256.signer_from_jwk(&jwk).map_err(err)?),
            ),
            Alg::Ps256 => (
                Box::new(RsaKeyPair::from_jwk(&jwk).map_err(err)?),
                Box::new(PS256.signer_from_jwk(&jwk).map_err(err)?),
            ),
        };
        let public_jwk = node_jwk(pair.to_jwk_public_key().as_ref(), false);
        Ok(Self {
            alg,
            kid: kid.to_owned(),
            signer,
            public_jwk,
            recent: Mutex::default(),
        })
    }

    pub fn alg(&self) -> Alg {
        self.alg
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public half, computed from the private key.
    pub fn public_jwk(&self) -> &Map<String, Value> {
        &self.public_jwk
    }

    /// A compact JWS: header `{"alg":…,"kid":…}`, the claims as given.
    pub fn sign(&self, claims: &Map<String, Value>) -> Result<String, JwtError> {
        let payload = serde_json::to_string(claims).map_err(|_| JwtError::Sign)?;
        let iat = claims.get("iat").and_then(Value::as_i64);
        if let Some(token) = iat.and_then(|iat| self.recently_signed(&payload, iat)) {
            return Ok(token);
        }
        let mut header = Map::new();
        header.insert("alg".into(), self.alg.name().into());
        header.insert("kid".into(), self.kid.clone().into());
        let input = format!(
            "{}.{}",
            b64url(Value::Object(header).to_string().as_bytes()),
            b64url(payload.as_bytes())
        );
        let signature = self
            .signer
            .sign(input.as_bytes())
            .map_err(|_| JwtError::Sign)?;
        let token = format!("{input}.{}", b64url(&signature));
        if let (Some(iat), Ok(mut recent)) = (iat, self.recent.lock()) {
            if recent.second != iat {
                recent.second = iat;
                recent.tokens.clear();
            }
            if recent.tokens.len() < RECENT_TOKENS_MAX {
                recent.tokens.insert(payload, token.clone());
            }
        }
        Ok(token)
    }

    /// The token already signed this second for these claims, if any (see `RecentTokens`).
    pub fn signed_this_second(&self, claims: &Map<String, Value>) -> Option<String> {
        let iat = claims.get("iat").and_then(Value::as_i64)?;
        self.recently_signed(&serde_json::to_string(claims).ok()?, iat)
    }

    fn recently_signed(&self, payload: &str, iat: i64) -> Option<String> {
        let recent = self.recent.lock().ok()?;
        (recent.second == iat)
            .then(|| recent.tokens.get(payload).cloned())
            .flatten()
    }
}

/// A public key from a JWKS entry or a stored `publicKey`.
pub struct VerifyingKey {
    alg: Alg,
    kid: String,
    verifier: Box<dyn JwsVerifier>,
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyingKey")
            .field("alg", &self.alg)
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl VerifyingKey {
    pub fn from_public_jwk(
        alg: Alg,
        kid: &str,
        jwk: &Map<String, Value>,
    ) -> Result<Self, JwtError> {
        let err = |_| JwtError::Key(alg);
        let jwk = Jwk::from_map(jwk.clone()).map_err(err)?;
        if jwk.key_type() != alg.kty() || jwk.parameter("crv").and_then(Value::as_str) != alg.crv()
        {
            return Err(JwtError::Key(alg));
        }
        let verifier: Box<dyn JwsVerifier> = match alg {
            Alg::EdDsa => Box::new(EdDSA.verifier_from_jwk(&jwk).map_err(err)?),
            Alg::Es256 => Box::new(ES256.verifier_from_jwk(&jwk).map_err(err)?),
            Alg::Es512 => Box::new(ES512.verifier_from_jwk(&jwk).map_err(err)?),
            Alg::Rs256 => Box::new(RS256.verifier_from_jwk(&jwk).map_err(err)?),
            Alg::Ps256 => Box::new(PS256.verifier_from_jwk(&jwk).map_err(err)?),
        };
        Ok(Self {
            alg,
            kid: kid.to_owned(),
            verifier,
        })
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }
}

/// The default payload (docs/compatibility.md §11.3), in Better Auth's order: `iat`, the User
/// fields, then `sub` (= user id), `exp`, `iss`, `aud`.
pub fn claims(
    user: Map<String, Value>,
    now_secs: i64,
    expires_in_secs: i64,
    issuer: &str,
    audience: &str,
) -> Map<String, Value> {
    let sub = user.get("id").cloned().unwrap_or(Value::Null);
    let mut m = Map::new();
    m.insert("iat".into(), now_secs.into());
    m.extend(user);
    m.insert("iat".into(), now_secs.into());
    m.insert("sub".into(), sub);
    m.insert("exp".into(), (now_secs + expires_in_secs).into());
    m.insert("iss".into(), issuer.into());
    m.insert("aud".into(), audience.into());
    m
}

/// The claims of a shared-secret token (`plugins.jwt.alg = "HS256"`): what a backend verifying
/// with the shared secret needs, nothing more.
pub fn hs256_claims(
    user: &Map<String, Value>,
    now_secs: i64,
    expires_in_secs: i64,
    issuer: &str,
    audience: &str,
) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("sub".into(), user.get("id").cloned().unwrap_or(Value::Null));
    for name in ["email", "name"] {
        m.insert(name.into(), user.get(name).cloned().unwrap_or(Value::Null));
    }
    m.insert("iat".into(), now_secs.into());
    m.insert("exp".into(), (now_secs + expires_in_secs).into());
    m.insert("iss".into(), issuer.into());
    m.insert("aud".into(), audience.into());
    m
}

/// What a token must satisfy besides its signature (docs/compatibility.md §11.7).
#[derive(Debug, Clone, Copy)]
pub struct Expected<'a> {
    pub issuer: &'a str,
    pub audience: &'a str,
    /// Seconds since the epoch.
    pub now: i64,
}

fn decode_json(part: &str) -> Result<Map<String, Value>, JwtError> {
    let bytes = b64url_decode(part).ok_or(JwtError::Malformed)?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(JwtError::Malformed),
    }
}

/// Verifies a compact JWS against the key its `kid` names, then `exp`, `nbf`, `iss`, `aud` and
/// a non-empty `sub`, as Better Auth's `verifyJWT` does. Returns the claims.
pub fn verify(
    token: &str,
    keys: &[VerifyingKey],
    expected: Expected<'_>,
) -> Result<Map<String, Value>, JwtError> {
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwtError::Malformed);
    };
    let header = decode_json(h)?;
    let alg = header
        .get("alg")
        .and_then(Value::as_str)
        .and_then(Alg::parse)
        .ok_or(JwtError::Algorithm)?;
    let kid = header
        .get("kid")
        .and_then(Value::as_str)
        .ok_or(JwtError::UnknownKey)?;
    let key = keys
        .iter()
        .find(|k| k.kid == kid)
        .ok_or(JwtError::UnknownKey)?;
    if key.alg != alg {
        return Err(JwtError::Algorithm);
    }
    let signature = b64url_decode(s).ok_or(JwtError::Malformed)?;
    let signed = &token[..h.len() + 1 + p.len()];
    key.verifier
        .verify(signed.as_bytes(), &signature)
        .map_err(|_| JwtError::Signature)?;

    let claims = decode_json(p)?;
    let number = |name| claims.get(name).and_then(Value::as_f64);
    let now = expected.now as f64;
    match number("exp") {
        Some(exp) if exp > now => {}
        Some(_) => return Err(JwtError::Expired),
        None => return Err(JwtError::Claim("exp")),
    }
    if number("nbf").is_some_and(|nbf| nbf > now) {
        return Err(JwtError::NotYetValid);
    }
    if claims.get("iss").and_then(Value::as_str) != Some(expected.issuer) {
        return Err(JwtError::Claim("iss"));
    }
    let aud_ok = match claims.get("aud") {
        Some(Value::String(a)) => a == expected.audience,
        Some(Value::Array(list)) => list.iter().any(|a| a.as_str() == Some(expected.audience)),
        _ => false,
    };
    if !aud_ok {
        return Err(JwtError::Claim("aud"));
    }
    if claims
        .get("sub")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        return Err(JwtError::Claim("sub"));
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::crypto::VersionedSecret;
    use crate::auth::keyseal;

    const ALL: [Alg; 5] = [Alg::EdDsa, Alg::Es256, Alg::Es512, Alg::Rs256, Alg::Ps256];
    const ISS: &str = "http://localhost:3001";
    const NOW: i64 = 1_795_436_822;

    fn user() -> Map<String, Value> {
        serde_json::json!({"id": "u1", "name": "Ada", "email": "ada@example.com", "emailVerified": true, "image": null,
            "createdAt": "2025-06-01T12:00:00.000Z", "updatedAt": "2025-06-01T12:00:00.000Z"})
        .as_object()
        .unwrap()
        .clone()
    }

    fn key_pair(alg: Alg) -> (SigningKey, VerifyingKey) {
        let generated = generate(alg).unwrap();
        let signer = SigningKey::from_private_jwk(alg, "kid-1", &generated.private_jwk).unwrap();
        assert_eq!(
            signer.public_jwk(),
            &generated.public_jwk,
            "{alg}: derived public key equals the generated one"
        );
        let verifier = VerifyingKey::from_public_jwk(alg, "kid-1", &generated.public_jwk).unwrap();
        (signer, verifier)
    }

    fn expected(now: i64) -> Expected<'static> {
        Expected {
            issuer: ISS,
            audience: ISS,
            now,
        }
    }

    fn segment(token: &str, i: usize) -> Map<String, Value> {
        decode_json(token.split('.').nth(i).unwrap()).unwrap()
    }

    #[test]
    fn every_algorithm_signs_and_verifies_with_better_auths_header_and_claims() {
        for alg in ALL {
            let (signer, verifier) = key_pair(alg);
            let token = signer.sign(&claims(user(), NOW, 900, ISS, ISS)).unwrap();
            let header = segment(&token, 0);
            assert_eq!(
                Value::Object(header).to_string(),
                format!(r#"{{"alg":"{alg}","kid":"kid-1"}}"#)
            );
            let got = verify(&token, std::slice::from_ref(&verifier), expected(NOW)).unwrap();
            let keys: Vec<&str> = got.keys().map(String::as_str).collect();
            assert_eq!(
                keys,
                [
                    "iat",
                    "id",
                    "name",
                    "email",
                    "emailVerified",
                    "image",
                    "createdAt",
                    "updatedAt",
                    "sub",
                    "exp",
                    "iss",
                    "aud"
                ],
                "{alg}"
            );
            assert_eq!(got["sub"], "u1");
            assert_eq!(got["exp"], NOW + 900);
        }
    }

    #[test]
    fn the_same_claims_are_signed_once_a_second() {
        // ES256 signatures are randomised: equal tokens prove the second one was not re-signed.
        let (signer, verifier) = key_pair(Alg::Es256);
        let first = signer.sign(&claims(user(), NOW, 900, ISS, ISS)).unwrap();
        assert_eq!(
            signer.sign(&claims(user(), NOW, 900, ISS, ISS)).unwrap(),
            first
        );
        assert_eq!(
            signer.signed_this_second(&claims(user(), NOW, 900, ISS, ISS)),
            Some(first.clone())
        );
        let mut renamed = user();
        renamed.insert("name".into(), "Another".into());
        let other_user = signer.sign(&claims(renamed, NOW, 900, ISS, ISS)).unwrap();
        assert_ne!(other_user, first);
        let next_second = signer
            .sign(&claims(user(), NOW + 1, 900, ISS, ISS))
            .unwrap();
        assert_ne!(next_second, first);
        assert_eq!(
            signer.signed_this_second(&claims(user(), NOW, 900, ISS, ISS)),
            None
        );
        for token in [&first, &other_user, &next_second] {
            verify(token, std::slice::from_ref(&verifier), expected(NOW + 1)).unwrap();
        }
    }

    #[test]
    fn generated_public_keys_have_better_auths_members() {
        let members = |alg| {
            generate(alg)
                .unwrap()
                .public_jwk
                .keys()
                .cloned()
                .collect::<Vec<_>>()
                .join(",")
        };
        assert_eq!(members(Alg::EdDsa), "crv,x,kty");
        assert_eq!(members(Alg::Es256), "kty,x,y,crv");
        assert_eq!(members(Alg::Es512), "kty,x,y,crv");
        assert_eq!(members(Alg::Rs256), "kty,n,e");
        let g = generate(Alg::Es512).unwrap();
        assert_eq!(g.public_jwk["crv"], "P-521");
        let private: Value = serde_json::from_str(g.private_jwk.expose_secret()).unwrap();
        assert!(private["d"].is_string());
        let rsa: Value =
            serde_json::from_str(generate(Alg::Ps256).unwrap().private_jwk.expose_secret())
                .unwrap();
        for m in ["n", "e", "d", "p", "q", "dp", "dq", "qi"] {
            assert!(rsa[m].is_string(), "{m}");
        }
        assert!(!format!("{g:?}").contains(private["d"].as_str().unwrap()));
    }

    #[test]
    fn a_flipped_bit_fails_for_every_algorithm() {
        for alg in ALL {
            let (signer, verifier) = key_pair(alg);
            let token = signer.sign(&claims(user(), NOW, 900, ISS, ISS)).unwrap();
            let (input, sig) = token.rsplit_once('.').unwrap();
            let mut bytes = b64url_decode(sig).unwrap();
            bytes[3] ^= 0x01;
            let tampered_sig = format!("{input}.{}", b64url(&bytes));
            assert_eq!(
                verify(
                    &tampered_sig,
                    std::slice::from_ref(&verifier),
                    expected(NOW)
                ),
                Err(JwtError::Signature),
                "{alg}"
            );
            let mut claims_bytes = b64url_decode(token.split('.').nth(1).unwrap()).unwrap();
            claims_bytes[10] ^= 0x01;
            let tampered_claims = format!(
                "{}.{}.{sig}",
                token.split('.').next().unwrap(),
                b64url(&claims_bytes)
            );
            assert_eq!(
                verify(
                    &tampered_claims,
                    std::slice::from_ref(&verifier),
                    expected(NOW)
                ),
                Err(JwtError::Signature),
                "{alg}"
            );
        }
    }

    #[test]
    fn alg_none_and_a_swapped_alg_are_refused() {
        let (signer, verifier) = key_pair(Alg::EdDsa);
        let token = signer.sign(&claims(user(), NOW, 900, ISS, ISS)).unwrap();
        let payload = token.split('.').nth(1).unwrap();
        let none = format!("{}.{payload}.", b64url(br#"{"alg":"none","kid":"kid-1"}"#));
        assert_eq!(
            verify(&none, std::slice::from_ref(&verifier), expected(NOW)),
            Err(JwtError::Algorithm)
        );
        let sig = token.rsplit('.').next().unwrap();
        let swapped = format!(
            "{}.{payload}.{sig}",
            b64url(br#"{"alg":"ES256","kid":"kid-1"}"#)
        );
        assert_eq!(
            verify(&swapped, std::slice::from_ref(&verifier), expected(NOW)),
            Err(JwtError::Algorithm)
        );
        let unknown = format!(
            "{}.{payload}.{sig}",
            b64url(br#"{"alg":"EdDSA","kid":"other"}"#)
        );
        assert_eq!(
            verify(&unknown, std::slice::from_ref(&verifier), expected(NOW)),
            Err(JwtError::UnknownKey)
        );
        assert_eq!(
            verify("a.b", std::slice::from_ref(&verifier), expected(NOW)),
            Err(JwtError::Malformed)
        );
    }

    #[test]
    fn expired_tokens_and_wrong_issuer_or_audience_fail() {
        let (signer, verifier) = key_pair(Alg::Es256);
        let keys = std::slice::from_ref(&verifier);
        let token = signer.sign(&claims(user(), NOW, 900, ISS, ISS)).unwrap();
        assert!(verify(&token, keys, expected(NOW + 899)).is_ok());
        assert_eq!(
            verify(&token, keys, expected(NOW + 900)),
            Err(JwtError::Expired)
        );
        let other = Expected {
            issuer: "https://evil.example",
            ..expected(NOW)
        };
        assert_eq!(verify(&token, keys, other), Err(JwtError::Claim("iss")));
        let other = Expected {
            audience: "https://evil.example",
            ..expected(NOW)
        };
        assert_eq!(verify(&token, keys, other), Err(JwtError::Claim("aud")));
    }

    #[test]
    fn keys_of_another_type_or_curve_are_refused() {
        let ed = generate(Alg::EdDsa).unwrap();
        assert_eq!(
            SigningKey::from_private_jwk(Alg::Es256, "k", &ed.private_jwk).unwrap_err(),
            JwtError::Key(Alg::Es256)
        );
        let p256 = generate(Alg::Es256).unwrap();
        assert_eq!(
            SigningKey::from_private_jwk(Alg::Es512, "k", &p256.private_jwk).unwrap_err(),
            JwtError::Key(Alg::Es512)
        );
        assert!(SigningKey::from_private_jwk(
            Alg::EdDsa,
            "k",
            &SecretString::from("{}".to_owned())
        )
        .is_err());
    }

    fn vector_keys(v: &Value) -> Vec<VerifyingKey> {
        v["cases"]
            .as_object()
            .unwrap()
            .values()
            .flat_map(|c| c["jwks"]["keys"].as_array().unwrap().iter())
            .map(|k| {
                VerifyingKey::from_public_jwk(
                    Alg::EdDsa,
                    k["kid"].as_str().unwrap(),
                    k.as_object().unwrap(),
                )
                .unwrap()
            })
            .collect()
    }

    #[test]
    fn better_auth_tokens_verify_against_the_recorded_jwks() {
        let v = crate::auth::test_vectors::load();
        let keys = vector_keys(&v);
        let iss = v["baseURL"].as_str().unwrap();
        for (name, case) in v["cases"].as_object().unwrap() {
            for field in ["token", "setAuthJwt"] {
                let token = case[field].as_str().unwrap();
                let iat = segment(token, 1)["iat"].as_i64().unwrap();
                let at = |now| Expected {
                    issuer: iss,
                    audience: iss,
                    now,
                };
                let claims =
                    verify(token, &keys, at(iat)).unwrap_or_else(|e| panic!("{name}.{field}: {e}"));
                assert_eq!(claims["sub"], case["user"]["id"], "{name}.{field}");
                assert_eq!(claims["email"], case["user"]["email"]);
                assert_eq!(claims["exp"].as_i64().unwrap(), iat + 900);
                assert_eq!(
                    verify(token, &keys, at(iat + 900)),
                    Err(JwtError::Expired),
                    "{name}.{field}"
                );
            }
        }
    }

    #[test]
    fn a_decrypted_vector_key_signs_tokens_the_recorded_jwks_verifies() {
        let v = crate::auth::test_vectors::load();
        let secrets = [VersionedSecret {
            version: 0,
            value: SecretString::from(v["secret"].as_str().unwrap().to_owned()),
        }];
        let keys = vector_keys(&v);
        for (name, case) in v["cases"].as_object().unwrap() {
            let row = &case["jwksRow"];
            let private = keyseal::open(row["privateKey"].as_str().unwrap(), &secrets).unwrap();
            let signer =
                SigningKey::from_private_jwk(Alg::EdDsa, row["id"].as_str().unwrap(), &private)
                    .unwrap();
            let recorded = &case["jwks"]["keys"][0];
            assert_eq!(
                signer.public_jwk()["x"],
                recorded["x"],
                "{name}: the private key's public part is the recorded x"
            );
            let stored_public: Value =
                serde_json::from_str(row["publicKey"].as_str().unwrap()).unwrap();
            assert_eq!(
                Value::Object(signer.public_jwk().clone()),
                stored_public,
                "{name}: same members, same order"
            );

            let user = case["user"].as_object().unwrap().clone();
            let token = signer.sign(&claims(user, NOW, 900, ISS, ISS)).unwrap();
            let got = verify(&token, &keys, expected(NOW)).unwrap();
            assert_eq!(got["sub"], case["user"]["id"]);
        }
    }

    #[test]
    fn our_claims_for_the_vector_user_match_better_auths_token() {
        let v = crate::auth::test_vectors::load();
        let case = &v["cases"]["jwt"];
        let recorded = segment(case["token"].as_str().unwrap(), 1);
        let user = case["user"].as_object().unwrap().clone();
        let ours = claims(user, recorded["iat"].as_i64().unwrap(), 900, ISS, ISS);
        assert_eq!(
            Value::Object(ours).to_string(),
            Value::Object(recorded).to_string()
        );
    }
}
