"""Tenant login mode: login, token expiry on the emulator clock, refresh-token rotation."""

from __future__ import annotations

import base64
import json

import pytest
import requests

from tests.support.spec import schema_ref, validate

LOGIN_SCHEMA = {
    "type": "object",
    "required": ["access_token", "refresh_token", "token_type", "expires_in"],
    "additionalProperties": False,
    "properties": {
        "access_token": {"type": "string", "pattern": r"^[\w-]+\.[\w-]+\.[\w-]+$"},
        "refresh_token": {"type": "string"},
        "token_type": {"const": "Bearer"},
        "expires_in": {"type": "integer"},
    },
}
USER = {"email": "user@example.com", "password": "emulator-password"}


def _post(server, path, body):
    response = requests.post(f"{server.url}/tenant/api/v1/auth/{path}", json=body, timeout=10)
    validate(LOGIN_SCHEMA if response.status_code == 200 else schema_ref("ErrorResponse"), response.json())
    return response


def _list(server, token):
    headers = {"Authorization": f"Bearer {token}"}
    return requests.get(server.api_base() + "/volumes", headers=headers, timeout=10).status_code


def test_login_token_works_then_expires(neev_emulator):
    tokens = _post(neev_emulator, "login", USER).json()
    assert tokens["expires_in"] == 900
    claims = json.loads(base64.urlsafe_b64decode(tokens["access_token"].split(".")[1] + "=="))
    assert claims["sub"] == USER["email"]
    assert claims["exp"] - claims["iat"] == 900
    assert _list(neev_emulator, tokens["access_token"]) == 200
    neev_emulator.advance(901)
    assert _list(neev_emulator, tokens["access_token"]) == 401
    assert _list(neev_emulator, neev_emulator.token) == 200


def test_token_ttl_setting(neev_emulator):
    neev_emulator.configure(token_ttl=10)
    tokens = _post(neev_emulator, "login", USER).json()
    assert tokens["expires_in"] == 10
    neev_emulator.advance(11)
    assert _list(neev_emulator, tokens["access_token"]) == 401


def test_refresh_rotates_tokens(neev_emulator):
    first = _post(neev_emulator, "login", USER).json()
    neev_emulator.advance(901)
    second = _post(neev_emulator, "refresh", {"refresh_token": first["refresh_token"]}).json()
    assert second["access_token"] != first["access_token"]
    assert second["refresh_token"] != first["refresh_token"]
    assert _list(neev_emulator, second["access_token"]) == 200
    reused = _post(neev_emulator, "refresh", {"refresh_token": first["refresh_token"]})
    assert reused.status_code == 401


def test_reset_invalidates_issued_tokens(neev_emulator):
    tokens = _post(neev_emulator, "login", USER).json()
    neev_emulator.reset()
    assert _list(neev_emulator, tokens["access_token"]) == 401
    assert _post(neev_emulator, "refresh", {"refresh_token": tokens["refresh_token"]}).status_code == 401


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"email": "user@example.com", "password": "nope"}, 401),
        ({"email": "who@example.com", "password": "x"}, 404),
        ({"email": "not-an-email", "password": "x"}, 400),
        ({"email": "user@example.com"}, 400),
        ({"password": "x"}, 400),
    ],
    ids=["wrong-password", "unknown-user", "bad-email", "no-password", "no-email"],
)
def test_login_errors(neev_emulator, body, status):
    assert _post(neev_emulator, "login", body).status_code == status


def test_refresh_unknown_token(neev_emulator):
    assert _post(neev_emulator, "refresh", {"refresh_token": "rt-nope"}).status_code == 401
    assert _post(neev_emulator, "refresh", {}).status_code == 400
