//! The WebAuthn checks of a registration or an assertion, by `webauthn-rs-core`, with the
//! parameters Better Auth gives simplewebauthn (`packages/passkey/src/routes.ts`): the
//! challenge it stored, the expected origin(s) and RP id, user verification not required,
//! attestation `none` accepted. Values in, decisions out: no database, no HTTP.
//!
//! webauthn-rs keeps its challenge inside its ceremony state; Better Auth keeps it in a
//! verification row (`expectedChallenge`). The state is made by the library and its challenge
//! replaced by the stored one through the state's serde form, so every check stays the
//! library's.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Map, Value};
use url::Url;
use webauthn_rs_core::error::WebauthnError;
use webauthn_rs_core::proto::{
    AttestationFormat, COSEAlgorithm, COSEEC2Key, COSEKey, COSEKeyType, COSEKeyTypeId, Credential,
    ECDSACurve, ParsedAttestation, PublicKeyCredential, RegisterPublicKeyCredential,
    RegisteredExtensions, UserVerificationPolicy,
};
use webauthn_rs_core::WebauthnCore;

/// What a ceremony is checked against.
#[derive(Debug, Clone)]
pub struct RelyingParty {
    pub id: String,
    pub name: String,
    /// The origins `clientDataJSON.origin` may be.
    pub origins: Vec<String>,
}

/// Why a ceremony failed (logged, never sent: the routes answer Better Auth's codes).
#[derive(Debug, thiserror::Error)]
pub enum CeremonyError {
    #[error("malformed response: {0}")]
    Malformed(&'static str),
    #[error("webauthn: {0:?}")]
    Webauthn(WebauthnError),
}

impl From<WebauthnError> for CeremonyError {
    fn from(e: WebauthnError) -> Self {
        Self::Webauthn(e)
    }
}

/// A verified new credential, in the `passkey` table's encodings.
#[derive(Debug, Clone, PartialEq)]
pub struct NewCredential {
    /// Base64url without padding.
    pub credential_id: String,
    /// Standard base64 of the COSE key bytes exactly as the authenticator sent them.
    pub public_key: String,
    pub counter: u32,
    /// `multiDevice` when the backup-eligible flag is set, else `singleDevice`.
    pub device_type: &'static str,
    pub backed_up: bool,
    /// The authenticator's AAGUID, `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`.
    pub aaguid: String,
}

/// A stored credential, as the `passkey` row holds it.
#[derive(Debug, Clone)]
pub struct StoredCredential<'a> {
    pub credential_id: &'a str,
    pub public_key: &'a str,
    pub counter: i64,
    pub device_type: &'a str,
    pub backed_up: bool,
}

/// A fresh 32-byte challenge, base64url (simplewebauthn's `generateChallenge`).
pub fn new_challenge() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// simplewebauthn's default `supportedAlgorithmIDs`, in its order.
pub const ALGORITHMS: [i64; 3] = [-8, -7, -257];

fn core(rp: &RelyingParty) -> Result<WebauthnCore, CeremonyError> {
    let origins = rp
        .origins
        .iter()
        .map(|o| Url::parse(o).map_err(|_| CeremonyError::Malformed("origin")))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(WebauthnCore::new_unsafe_experts_only(
        &rp.name,
        &rp.id,
        origins,
        std::time::Duration::from_secs(60),
        Some(false),
        Some(false),
    ))
}

/// `state` with its challenge replaced by `challenge` (base64url).
fn with_challenge<S: Serialize + DeserializeOwned>(
    state: &S,
    challenge: &str,
) -> Result<S, CeremonyError> {
    let mut value =
        serde_json::to_value(state).map_err(|_| CeremonyError::Malformed("ceremony state"))?;
    let slot = value
        .get_mut("challenge")
        .ok_or(CeremonyError::Malformed("ceremony state"))?;
    *slot = Value::String(challenge.to_owned());
    serde_json::from_value(value).map_err(|_| CeremonyError::Malformed("challenge"))
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter().try_fold(v, |v, k| v.get(k))?.as_str()
}

/// Only the members the checks read: the browser's JSON may carry others (transports,
/// `clientExtensionResults`, `authenticatorAttachment`) in forms the library's types refuse.
fn credential_json(response: &Value, fields: &[&str]) -> Result<Value, CeremonyError> {
    let id = str_at(response, &["id"]).ok_or(CeremonyError::Malformed("id"))?;
    let raw_id = str_at(response, &["rawId"]).unwrap_or(id);
    let mut inner = Map::new();
    for f in fields {
        match response.get("response").and_then(|r| r.get(*f)) {
            Some(Value::String(s)) => {
                inner.insert((*f).to_owned(), Value::String(s.clone()));
            }
            Some(Value::Null) | None if *f == "userHandle" => {}
            _ => return Err(CeremonyError::Malformed("response")),
        }
    }
    Ok(json!({ "id": id, "rawId": raw_id, "type": "public-key", "response": inner }))
}

fn decode_b64(s: &str) -> Option<Vec<u8>> {
    let trimmed = s.trim_end_matches('=');
    URL_SAFE_NO_PAD
        .decode(trimmed)
        .or_else(|_| STANDARD.decode(s))
        .ok()
}

/// simplewebauthn's `verifyRegistrationResponse` with Better Auth's arguments.
pub fn verify_registration(
    rp: &RelyingParty,
    challenge: &str,
    response: &Value,
) -> Result<NewCredential, CeremonyError> {
    let core = core(rp)?;
    let reg: RegisterPublicKeyCredential = serde_json::from_value(credential_json(
        response,
        &["attestationObject", "clientDataJSON"],
    )?)
    .map_err(|_| CeremonyError::Malformed("registration response"))?;
    let builder = core
        .new_challenge_register_builder(b"user", "user", "user")?
        .credential_algorithms(vec![
            COSEAlgorithm::EDDSA,
            COSEAlgorithm::ES256,
            COSEAlgorithm::RS256,
        ])
        .user_verification_policy(UserVerificationPolicy::Discouraged_DO_NOT_USE)
        .reject_synchronised_authenticators(false);
    let (_, state) = core.generate_challenge_register(builder)?;
    let state = with_challenge(&state, challenge)?;
    let credential = core.register_credential(&reg, &state, None)?;
    let (aaguid, cose) = attested_key(reg.response.attestation_object.as_slice())?;
    Ok(NewCredential {
        credential_id: URL_SAFE_NO_PAD.encode(credential.cred_id.as_slice()),
        public_key: STANDARD.encode(cose),
        counter: credential.counter,
        device_type: if credential.backup_eligible {
            "multiDevice"
        } else {
            "singleDevice"
        },
        backed_up: credential.backup_state,
        aaguid,
    })
}

/// The AAGUID and the COSE key bytes of the attested credential data (WebAuthn §6.5.1), cut
/// out of the authenticator data as sent, so the stored key is the authenticator's own bytes.
fn attested_key(attestation_object: &[u8]) -> Result<(String, Vec<u8>), CeremonyError> {
    const BAD: CeremonyError = CeremonyError::Malformed("attestation object");
    let object: serde_cbor_2::Value =
        serde_cbor_2::from_slice(attestation_object).map_err(|_| BAD)?;
    let serde_cbor_2::Value::Map(map) = object else {
        return Err(BAD);
    };
    let Some(serde_cbor_2::Value::Bytes(auth_data)) =
        map.get(&serde_cbor_2::Value::Text("authData".into()))
    else {
        return Err(BAD);
    };
    // rpIdHash 32, flags 1, signCount 4, aaguid 16, credentialIdLength 2, credentialId.
    let aaguid = auth_data.get(37..53).ok_or(BAD)?;
    let len = auth_data.get(53..55).ok_or(BAD)?;
    let start = 55 + usize::from(u16::from_be_bytes([len[0], len[1]]));
    let rest = auth_data.get(start..).ok_or(BAD)?;
    let mut de = serde_cbor_2::Deserializer::from_slice(rest);
    serde::Deserialize::deserialize(&mut de)
        .map(|_: serde_cbor_2::Value| ())
        .map_err(|_| BAD)?;
    let cose = rest[..de.byte_offset()].to_vec();
    let h = hex::encode(aaguid);
    let aaguid = format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    );
    Ok((aaguid, cose))
}

/// A stored public key as webauthn-rs reads it. An ES256 key on P-256 (simplewebauthn's first
/// choice, what authenticators give) is taken as it is, its coordinates of the right length:
/// `authenticate_credential` checks it (on the curve, in the group) before verifying with it,
/// and `COSEKey::try_from` would make OpenSSL check it once more, which costs as much as the
/// signature check itself. Any other key goes through `COSEKey::try_from` and all its checks.
fn stored_key(value: &serde_cbor_2::Value) -> Result<COSEKey, CeremonyError> {
    use serde_cbor_2::Value as Cbor;
    if let Cbor::Map(m) = value {
        let int = |k: i128| match m.get(&Cbor::Integer(k)) {
            Some(Cbor::Integer(i)) => Some(*i),
            _ => None,
        };
        let coordinate = |k: i128| match m.get(&Cbor::Integer(k)) {
            Some(Cbor::Bytes(b)) if b.len() == 32 => Some(b.clone()),
            _ => None,
        };
        let es256 = int(1) == Some(COSEKeyTypeId::EC_EC2 as i128)
            && int(3) == Some(COSEAlgorithm::ES256 as i128)
            && int(-1) == Some(1);
        if let (true, Some(x), Some(y)) = (es256, coordinate(-2), coordinate(-3)) {
            return Ok(COSEKey {
                type_: COSEAlgorithm::ES256,
                key: COSEKeyType::EC_EC2(COSEEC2Key {
                    curve: ECDSACurve::SECP256R1,
                    x: x.into(),
                    y: y.into(),
                }),
            });
        }
    }
    Ok(COSEKey::try_from(value)?)
}

/// simplewebauthn's `verifyAuthenticationResponse` with Better Auth's arguments; the new
/// signature counter on success. A counter that does not grow (a cloned authenticator) fails.
pub fn verify_authentication(
    rp: &RelyingParty,
    challenge: &str,
    response: &Value,
    stored: &StoredCredential<'_>,
) -> Result<u32, CeremonyError> {
    let core = core(rp)?;
    let rsp: PublicKeyCredential = serde_json::from_value(credential_json(
        response,
        &[
            "authenticatorData",
            "clientDataJSON",
            "signature",
            "userHandle",
        ],
    )?)
    .map_err(|_| CeremonyError::Malformed("authentication response"))?;
    let key_bytes =
        decode_b64(stored.public_key).ok_or(CeremonyError::Malformed("stored public key"))?;
    let key_value: serde_cbor_2::Value = serde_cbor_2::from_slice(&key_bytes)
        .map_err(|_| CeremonyError::Malformed("stored public key"))?;
    let key = stored_key(&key_value)?;
    let cred_id =
        decode_b64(stored.credential_id).ok_or(CeremonyError::Malformed("stored credential id"))?;
    let credential = Credential {
        cred_id: cred_id.into(),
        cred: key,
        counter: u32::try_from(stored.counter).unwrap_or(u32::MAX),
        transports: None,
        // Better Auth passes requireUserVerification: false.
        user_verified: false,
        backup_eligible: stored.device_type == "multiDevice",
        backup_state: stored.backed_up,
        registration_policy: UserVerificationPolicy::Discouraged_DO_NOT_USE,
        extensions: RegisteredExtensions::none(),
        attestation: ParsedAttestation::default(),
        attestation_format: AttestationFormat::None,
    };
    let builder = core
        .new_challenge_authenticate_builder(
            vec![credential],
            Some(UserVerificationPolicy::Discouraged_DO_NOT_USE),
        )?
        .allow_backup_eligible_upgrade(true);
    let (_, state) = core.generate_challenge_authenticate(builder)?;
    let state = with_challenge(&state, challenge)?;
    let result = core.authenticate_credential(&rsp, &state)?;
    Ok(result.counter())
}
