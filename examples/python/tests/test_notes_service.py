"""The example service against the real better-auth-rs: only the caller's own notes."""

from __future__ import annotations

import asyncio
import time

import httpx
import jwt
import pytest
from notes_service import Settings, create_app

JWT_SECRET = "notes-shared-jwt-secret-0123456789abcdef"


class NotesClient:
    """Calls the example app in-process through httpx's ASGI transport; the app itself talks to
    the real better-auth-rs over HTTP."""

    def __init__(self, settings: Settings):
        self.app = create_app(settings)

    def get(self, path: str, headers: dict[str, str] | None = None) -> httpx.Response:
        async def call() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://notes") as client:
                return await client.get(path, headers=headers)

        return asyncio.run(call())


def notes_client(service, mode: str, **extra) -> NotesClient:
    return NotesClient(Settings(auth_url=service.base, mode=mode, **extra))


@pytest.mark.parametrize("token_source", ["token endpoint", "set-auth-jwt header"])
def test_jwks_mode_serves_the_owner_only(start_service, token_source):
    service = start_service()
    owner, other = service.sign_up(), service.sign_up()
    token = service.jwt_for(owner) if token_source == "token endpoint" else service.session_jwt_for(owner)
    notes = notes_client(service, "jwks")
    auth = {"authorization": f"Bearer {token}"}

    res = notes.get(f"/notes/{owner.id}", headers=auth)
    assert res.status_code == 200
    assert res.json() == {"user_id": owner.id, "notes": []}
    assert notes.get(f"/notes/{other.id}", headers=auth).status_code == 403
    assert notes.get(f"/notes/{owner.id}").status_code == 401
    # The session token is no JWT, and a cookie means nothing in this mode.
    assert notes.get(f"/notes/{owner.id}", headers={"authorization": f"Bearer {owner.session_token}"}).status_code == 401
    assert notes.get(f"/notes/{owner.id}", headers={"cookie": owner.cookie_header()}).status_code == 401


def test_jwks_mode_checks_issuer_and_audience(start_service):
    service = start_service('issuer = "https://auth.example.com"\naudience = "notes-api"')
    owner = service.sign_up()
    auth = {"authorization": f"Bearer {service.jwt_for(owner)}"}
    assert notes_client(service, "jwks").get(f"/notes/{owner.id}", headers=auth).status_code == 401
    configured = notes_client(service, "jwks", issuer="https://auth.example.com", audience="notes-api")
    assert configured.get(f"/notes/{owner.id}", headers=auth).status_code == 200


@pytest.mark.parametrize("credential", ["cookie", "bearer"])
def test_session_mode_serves_the_owner_only(start_service, credential):
    service = start_service()
    owner, other = service.sign_up(), service.sign_up()
    notes = notes_client(service, "session")
    if credential == "cookie":
        auth = {"cookie": owner.cookie_header()}
    else:
        auth = {"authorization": f"Bearer {owner.session_token}"}

    res = notes.get(f"/notes/{owner.id}", headers=auth)
    assert res.status_code == 200
    assert res.json()["user_id"] == owner.id
    assert notes.get(f"/notes/{other.id}", headers=auth).status_code == 403
    assert notes.get(f"/notes/{owner.id}").status_code == 401
    assert notes.get(f"/notes/{owner.id}", headers={"authorization": "Bearer not-a-session"}).status_code == 401


def test_hs256_mode_verifies_with_the_shared_secret(start_service):
    service = start_service('alg = "HS256"', env={"BETTER_AUTH_JWT_SECRET": JWT_SECRET})
    owner, other = service.sign_up(), service.sign_up()
    token = service.jwt_for(owner)
    assert jwt.get_unverified_header(token) == {"alg": "HS256"}
    claims = jwt.decode(token, JWT_SECRET, algorithms=["HS256"], audience=service.base, issuer=service.base)
    assert claims["sub"] == owner.id and claims["email"] == owner.email and claims["name"] == "Py User"
    assert claims["exp"] - claims["iat"] == 900

    notes = notes_client(service, "hs256", jwt_secret=JWT_SECRET)
    auth = {"authorization": f"Bearer {token}"}
    assert notes.get(f"/notes/{owner.id}", headers=auth).status_code == 200
    assert notes.get(f"/notes/{other.id}", headers=auth).status_code == 403
    assert notes.get(f"/notes/{owner.id}").status_code == 401
    forged = jwt.encode(
        {**claims, "exp": int(time.time()) + 900}, "another-secret-0123456789abcdef0123", algorithm="HS256"
    )
    assert notes.get(f"/notes/{owner.id}", headers={"authorization": f"Bearer {forged}"}).status_code == 401
    # No public keys: nothing for a JWKS client to find.
    assert notes_client(service, "jwks").get(f"/notes/{owner.id}", headers=auth).status_code == 401
