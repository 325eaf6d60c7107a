"""A small FastAPI service that lets better-auth-rs authenticate its callers.

Three modes (``NOTES_AUTH_MODE``):

* ``jwks`` (default): the caller sends ``Authorization: Bearer <JWT>`` (from ``GET
  /api/auth/token`` or the ``set-auth-jwt`` header); the token is verified locally with the public
  keys of ``GET /api/auth/jwks`` (PyJWT's ``PyJWKClient``, keys cached), issuer and audience checked.
* ``hs256``: the same, for ``[plugins.jwt] alg = "HS256"``: verified with the shared ``jwt_secret``.
* ``session``: the caller's ``Cookie`` or ``Authorization`` header is forwarded to
  ``GET /api/validate-session``; 200 means signed in (no token handling here at all).

``GET /notes/{user_id}`` answers only the caller's own notes: 401 without valid credentials, 403
for somebody else's.

Run it: ``NOTES_AUTH_URL=http://127.0.0.1:3001 uvicorn notes_service:app --port 8000``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import httpx
import jwt
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.concurrency import run_in_threadpool

# The key pair algorithms better-auth-rs signs with. Never "none", never HS256 with a JWKS key.
ASYMMETRIC = ["EdDSA", "ES256", "ES512", "RS256", "PS256"]
REQUIRED_CLAIMS = ["exp", "iat", "sub", "iss", "aud"]


@dataclass(frozen=True)
class Settings:
    auth_url: str = "http://127.0.0.1:3001"  # better-auth-rs origin (BETTER_AUTH_URL)
    mode: str = "jwks"  # jwks | hs256 | session
    issuer: str | None = None  # default: auth_url ([plugins.jwt] issuer)
    audience: str | None = None  # default: auth_url ([plugins.jwt] audience)
    jwt_secret: str | None = None  # hs256 only (BETTER_AUTH_JWT_SECRET of the auth service)

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ
        return cls(
            auth_url=env.get("NOTES_AUTH_URL", cls.auth_url).rstrip("/"),
            mode=env.get("NOTES_AUTH_MODE", cls.mode),
            issuer=env.get("NOTES_JWT_ISSUER") or None,
            audience=env.get("NOTES_JWT_AUDIENCE") or None,
            jwt_secret=env.get("NOTES_JWT_SECRET") or None,
        )


def unauthorized() -> HTTPException:
    return HTTPException(status_code=401, detail="not signed in", headers={"WWW-Authenticate": "Bearer"})


def bearer_token(request: Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise unauthorized()
    return token.strip()


def create_app(settings: Settings) -> FastAPI:
    if settings.mode not in ("jwks", "hs256", "session"):
        raise ValueError(f"unknown mode {settings.mode!r}")
    if settings.mode == "hs256" and not settings.jwt_secret:
        raise ValueError("hs256 mode needs the shared jwt_secret")
    issuer = settings.issuer or settings.auth_url
    audience = settings.audience or settings.auth_url
    jwks_client = jwt.PyJWKClient(f"{settings.auth_url}/api/auth/jwks", cache_keys=True)
    notes = {}  # user id -> list of notes (a stand-in for a database)

    def decode(token: str, key, algorithms: list[str]) -> dict:
        return jwt.decode(
            token,
            key,
            algorithms=algorithms,
            audience=audience,
            issuer=issuer,
            options={"require": REQUIRED_CLAIMS},
        )

    async def user_from_jwt(request: Request) -> str:
        token = bearer_token(request)
        try:
            if settings.mode == "hs256":
                claims = decode(token, settings.jwt_secret, ["HS256"])
            else:
                # Fetches /jwks on a kid it has not seen (blocking I/O: off the event loop).
                signing_key = await run_in_threadpool(jwks_client.get_signing_key_from_jwt, token)
                claims = decode(token, signing_key.key, ASYMMETRIC)
        except jwt.PyJWKClientConnectionError as e:
            raise HTTPException(status_code=503, detail="auth service unreachable") from e
        except jwt.PyJWTError as e:
            raise unauthorized() from e
        return claims["sub"]

    async def user_from_session(request: Request) -> str:
        forwarded = {k: v for k in ("cookie", "authorization") if (v := request.headers.get(k))}
        if not forwarded:
            raise unauthorized()
        try:
            async with httpx.AsyncClient(timeout=5) as client:
                res = await client.get(f"{settings.auth_url}/api/validate-session", headers=forwarded)
        except httpx.HTTPError as e:
            raise HTTPException(status_code=503, detail="auth service unreachable") from e
        if res.status_code == 401:
            raise unauthorized()
        if res.status_code != 200:
            raise HTTPException(status_code=503, detail="auth service error")
        return res.json()["user"]["id"]

    caller = user_from_session if settings.mode == "session" else user_from_jwt
    app = FastAPI(title="notes")

    @app.get("/notes/{user_id}")
    async def read_notes(user_id: str, caller_id: str = Depends(caller)) -> dict:
        if user_id != caller_id:
            raise HTTPException(status_code=403, detail="not your notes")
        return {"user_id": user_id, "notes": notes.get(user_id, [])}

    return app


app = create_app(Settings.from_env())
