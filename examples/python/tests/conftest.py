"""Starts the real better-auth-rs binary on a random loopback port with a temporary SQLite
database, and signs users up against it.

The binary is ``$BETTER_AUTH_BIN``, else ``target/debug/better-auth-rs`` of this repository.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "examples" / "python"))

BINARY = Path(os.environ.get("BETTER_AUTH_BIN") or ROOT / "target" / "debug" / "better-auth-rs")
SECRET = "python-tests-secret-0123456789abcdefghij"
PASSWORD = "correct horse battery staple"
READY_TIMEOUT_S = 30


@dataclass
class User:
    id: str
    email: str
    cookies: httpx.Cookies  # the session cookie, as a browser keeps it
    session_token: str  # set-auth-token: what a non-browser client sends as Bearer

    def cookie_header(self) -> str:
        return "; ".join(f"{name}={value}" for name, value in self.cookies.items())


@dataclass
class Service:
    base: str

    def sign_up(self) -> User:
        email = f"py-{uuid.uuid4().hex}@example.com"
        res = httpx.post(
            f"{self.base}/api/auth/sign-up/email",
            json={"email": email, "password": PASSWORD, "name": "Py User"},
            headers={"origin": self.base},
        )
        assert res.status_code == 200, res.text
        return User(res.json()["user"]["id"], email, res.cookies, res.headers["set-auth-token"])

    def jwt_for(self, user: User) -> str:
        res = httpx.get(f"{self.base}/api/auth/token", cookies=user.cookies)
        assert res.status_code == 200, res.text
        return res.json()["token"]

    def session_jwt_for(self, user: User) -> str:
        """The token of the set-auth-jwt header of get-session."""
        res = httpx.get(f"{self.base}/api/auth/get-session", headers={"authorization": f"Bearer {user.session_token}"})
        assert res.status_code == 200, res.text
        return res.headers["set-auth-jwt"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def start_service(tmp_path):
    """``start_service(jwt_toml, env)`` runs the binary with ``jwt_toml`` as its [plugins.jwt]
    settings; every service started is stopped at the end of the test."""
    if not BINARY.exists():
        pytest.fail(f"better-auth-rs binary not found at {BINARY}: build it (cargo build) or set BETTER_AUTH_BIN")
    running = []

    def start(jwt_toml: str = "", env: dict[str, str] | None = None) -> Service:
        work = tmp_path / f"service-{len(running)}"
        work.mkdir()
        config = work / "better-auth.toml"
        config.write_text(f'danger_password_hashing = "danger_test_minimum"\n[plugins.jwt]\nenabled = true\n{jwt_toml}\n')
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        child_env = {
            "PATH": os.environ.get("PATH", ""),
            "BETTER_AUTH_SECRET": SECRET,
            "BETTER_AUTH_URL": base,
            "BETTER_AUTH_CONFIG": str(config),
            "DATABASE_URL": f"sqlite://{work / 'auth.db'}?mode=rwc",
            "HOST": "127.0.0.1",
            "PORT": str(port),
            "RUST_LOG": "warn",
            **(env or {}),
        }
        log = open(work / "service.log", "wb")
        proc = subprocess.Popen([str(BINARY), "serve"], env=child_env, cwd=work, stdout=log, stderr=log)
        running.append((proc, log))
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"better-auth-rs exited early:\n{(work / 'service.log').read_text()}")
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    return Service(base)
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        pytest.fail(f"better-auth-rs not ready after {READY_TIMEOUT_S} s")

    yield start
    for proc, log in running:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
