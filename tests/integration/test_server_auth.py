"""/auth/login, /auth/refresh and token verification."""

from __future__ import annotations

import time

import httpx
import jwt
import pytest

from servers import auth


def login(server, username: str = "alice", password: str = "password") -> httpx.Response:
    return httpx.post(
        f"{server.url}/auth/login", json={"username": username, "password": password}, timeout=2
    )


def me(server, token: str) -> httpx.Response:
    return httpx.get(
        f"{server.url}/auth/me", headers={"Authorization": f"Bearer {token}"}, timeout=2
    )


def test_login_answers_the_contract_and_token_works(shared_server) -> None:
    r = login(shared_server, "bob")
    assert r.status_code == 200
    body = r.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 900
    assert body["refresh_token"] and body["access_token"].count(".") == 2
    assert me(shared_server, body["access_token"]).json() == {"id": "2", "username": "bob"}


def test_refresh_rotates_and_old_token_is_refused(shared_server) -> None:
    first = login(shared_server).json()
    url = f"{shared_server.url}/auth/refresh"
    r = httpx.post(url, json={"refresh_token": first["refresh_token"]}, timeout=2)
    assert r.status_code == 200
    second = r.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert me(shared_server, second["access_token"]).status_code == 200
    again = httpx.post(url, json={"refresh_token": first["refresh_token"]}, timeout=2)
    assert again.status_code == 401 and "error" in again.json()


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"not json", 400),
        (b"[]", 400),
        (b'{"username": "alice"}', 400),
        (b'{"username": "alice", "password": "nope"}', 401),
        (b'{"username": "mallory", "password": "password"}', 401),
    ],
)
def test_bad_login_bodies(shared_server, body: bytes, status: int) -> None:
    r = httpx.post(
        f"{shared_server.url}/auth/login",
        content=body,
        timeout=2,
        headers={"content-type": "application/json"},
    )
    assert r.status_code == status and r.json()["error"]


def test_forged_and_alg_none_tokens_are_refused(shared_server) -> None:
    claims = {"sub": "1", "username": "alice", "type": "access", "exp": time.time() + 600}
    forged = jwt.encode(claims, "not-the-secret-but-long-enough-32b", algorithm="HS256")
    unsigned = jwt.encode(claims, None, algorithm="none")
    for token in (forged, unsigned, "garbage"):
        assert me(shared_server, token).status_code == 401
        with pytest.raises(auth.AuthError):
            auth.verify(token)


def test_verify_in_process_accepts_own_tokens_and_refuses_expired() -> None:
    service = auth.TokenService(access_ttl=600)
    assert auth.verify(service.access_token("carol"))["sub"] == "3"
    expired = jwt.encode(
        {"sub": "1", "type": "access", "exp": int(time.time()) - 10},
        auth._SECRET,
        algorithm="HS256",
    )
    with pytest.raises(auth.AuthError, match="expired"):
        auth.verify(expired)


def test_access_token_expires_after_token_ttl(launch_server) -> None:
    server = launch_server(token_ttl=1)
    body = login(server).json()
    assert body["expires_in"] == 1
    assert me(server, body["access_token"]).status_code == 200
    deadline = time.monotonic() + 4
    while me(server, body["access_token"]).status_code == 200:
        assert time.monotonic() < deadline, "token never expired"
        time.sleep(0.1)
    assert "expired" in me(server, body["access_token"]).json()["error"]
