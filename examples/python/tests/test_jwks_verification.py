"""better-auth-rs tokens checked by an independent verifier, PyJWT's PyJWKClient over GET /jwks,
for every key pair algorithm: tokens from /token and from the set-auth-jwt header verify (issuer
and audience = the base origin); a flipped signature bit, ``alg: none``, an HS256 token keyed with
the public key and an expired token do not."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from datetime import timedelta

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

ALGORITHMS = ["EdDSA", "ES256", "ES512", "RS256", "PS256"]


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def flip_signature_bit(token: str) -> str:
    header, payload, signature = token.split(".")
    sig = bytearray(b64url_decode(signature))
    sig[0] ^= 0x01
    return f"{header}.{payload}.{b64url(bytes(sig))}"


def with_header(token: str, **changes) -> tuple[str, str]:
    header, payload, _ = token.split(".")
    new_header = {**json.loads(b64url_decode(header)), **changes}
    return b64url(json.dumps(new_header, separators=(",", ":")).encode()), payload


@pytest.mark.parametrize("alg", ALGORITHMS)
def test_pyjwkclient_verifies_tokens_and_rejects_forgeries(start_service, alg):
    service = start_service(f'alg = "{alg}"')
    user = service.sign_up()
    client = jwt.PyJWKClient(f"{service.base}/api/auth/jwks")
    expected = {"audience": service.base, "issuer": service.base}

    def verify(token: str, algorithms=(alg,), **options) -> dict:
        key = client.get_signing_key_from_jwt(token)
        return jwt.decode(token, key.key, algorithms=list(algorithms), **expected, **options)

    for token in (service.jwt_for(user), service.session_jwt_for(user)):
        assert jwt.get_unverified_header(token)["alg"] == alg
        claims = verify(token)
        assert claims["sub"] == user.id
        assert claims["email"] == user.email

    token = service.jwt_for(user)
    with pytest.raises(jwt.InvalidSignatureError):
        verify(flip_signature_bit(token))

    header, payload = with_header(token, alg="none")
    with pytest.raises(jwt.InvalidAlgorithmError):
        verify(f"{header}.{payload}.")

    # HS256 keyed with the public key's PEM (the algorithm-confusion attack). PyJWT refuses to
    # build such a token itself, so it is signed by hand.
    public_pem = client.get_signing_key_from_jwt(token).key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header, payload = with_header(token, alg="HS256")
    mac = hmac.new(public_pem, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    confused = f"{header}.{payload}.{b64url(mac)}"
    with pytest.raises(jwt.InvalidAlgorithmError):
        verify(confused)

    # The same token once its exp has passed: a negative leeway moves PyJWT's clock forward
    # (which would also make iat look future, so only that check is off here).
    claims = verify(token)
    past_expiry = timedelta(seconds=claims["exp"] - time.time() + 1)
    with pytest.raises(jwt.ExpiredSignatureError):
        verify(token, leeway=-past_expiry, options={"verify_iat": False})
