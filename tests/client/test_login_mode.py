"""Login mode: e-mail and password exchanged for tokens that expire and are renewed."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from neev_provider.client import AuthenticationError, LoginAuth, NotFoundError
from neev_provider.emulator import EmulatorServer
from tests.client.conftest import make_api, make_config

EMAIL, PASSWORD = "user@example.com", "emulator-password"


class FakeClock:
    """Seconds since the epoch, moved by hand."""

    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


def login_api(kind: str, server: EmulatorServer, sleeps: list[float], **auth_kwargs: Any) -> Iterator[Any]:
    auth = LoginAuth(auth_kwargs.pop("email", EMAIL), auth_kwargs.pop("password", PASSWORD), **auth_kwargs)
    return make_api(kind, make_config(server, auth=auth), sleeps)


def operations(server: EmulatorServer) -> list[str]:
    return [r["operation"] for r in server.requests()]


def test_logs_in_once_and_reuses_the_token(
    api_kind: str, neev_emulator: EmulatorServer, sleeps: list[float]
) -> None:
    for api in login_api(api_kind, neev_emulator, sleeps):
        api.list_volumes()
        api.list_volumes()
    assert operations(neev_emulator) == ["login", "listNetworkVolumes", "listNetworkVolumes"]


def test_new_tokens_are_handed_to_the_masker(
    api_kind: str, neev_emulator: EmulatorServer, sleeps: list[float]
) -> None:
    seen: list[str] = []
    for api in login_api(api_kind, neev_emulator, sleeps, on_token=seen.append):
        api.list_volumes()
    assert len(seen) == 2  # the access token and the refresh token
    assert all(len(token) > 20 for token in seen)


def test_a_token_expired_on_the_server_is_refreshed_after_one_401(
    api_kind: str, neev_emulator: EmulatorServer, sleeps: list[float]
) -> None:
    for api in login_api(api_kind, neev_emulator, sleeps):
        api.list_volumes()
        # The emulator's clock runs ahead of ours: the server sees the token as expired.
        neev_emulator.advance(3600)
        api.list_volumes()
    assert operations(neev_emulator) == [
        "login",
        "listNetworkVolumes",
        "listNetworkVolumes",
        "refresh",
        "listNetworkVolumes",
    ]
    statuses = [r["status"] for r in neev_emulator.requests()]
    assert statuses == [200, 200, 401, 200, 200]


def test_a_token_about_to_expire_is_refreshed_before_the_call(
    api_kind: str, neev_emulator: EmulatorServer, sleeps: list[float]
) -> None:
    clock = FakeClock(time.time())
    for api in login_api(api_kind, neev_emulator, sleeps, clock=clock):
        api.list_volumes()
        clock.now += 10_000
        api.list_volumes()
    assert operations(neev_emulator) == ["login", "listNetworkVolumes", "refresh", "listNetworkVolumes"]


def test_a_refused_refresh_falls_back_to_a_full_login(
    api_kind: str, neev_emulator: EmulatorServer, sleeps: list[float]
) -> None:
    for api in login_api(api_kind, neev_emulator, sleeps):
        api.list_volumes()
        neev_emulator.inject("status", operation="refresh", status=401, times=1)
        neev_emulator.advance(3600)
        api.list_volumes()
    assert operations(neev_emulator)[-3:] == ["refresh", "login", "listNetworkVolumes"]


@pytest.mark.parametrize(
    ("email", "password"),
    [(EMAIL, "wrong-password"), ("nobody@example.com", PASSWORD)],
    ids=["password", "user"],
)
def test_bad_credentials_fail_clearly(
    api_kind: str, neev_emulator: EmulatorServer, sleeps: list[float], email: str, password: str
) -> None:
    for api in login_api(api_kind, neev_emulator, sleeps, email=email, password=password):
        # The tenant API answers 401 for a wrong password and 404 for an unknown user.
        with pytest.raises((AuthenticationError, NotFoundError)) as caught:
            api.list_volumes()
        assert password not in str(caught.value)
    assert operations(neev_emulator) == ["login"]
