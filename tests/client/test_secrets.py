"""The token never shows: not in logs, exception messages or reprs."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from neev_provider.client import (
    ClientConfig,
    LoginAuth,
    NeevCloudClient,
    NeevCloudError,
    TokenAuth,
)
from neev_provider.emulator import EmulatorServer
from tests.client.conftest import make_api, make_config

SECRET = "pat-nc-s3cr3t-value-that-must-never-leak"


def test_the_token_appears_nowhere(
    api_kind: str, neev_emulator: EmulatorServer, sleeps: list[float], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    config = make_config(neev_emulator, auth=TokenAuth(SECRET))
    texts: list[str] = [repr(config), repr(config.auth), str(config)]
    neev_emulator.inject("status", operation="listNetworkVolumes", status=503, times=10)
    for api in make_api(api_kind, config, sleeps):
        texts.append(repr(api if api_kind == "sync" else api.client))
        with pytest.raises(NeevCloudError) as caught:
            api.list_volumes()  # retried, logged, then raised
        error: BaseException | None = caught.value
        while error is not None:
            texts += [str(error), repr(error), repr(getattr(error, "__dict__", ""))]
            error = error.__cause__ or error.__context__
    texts.append(caplog.text)

    assert caplog.records, "the retries should have been logged"
    leaks = [text for text in texts if SECRET in text]
    assert leaks == []


def test_login_credentials_and_issued_tokens_appear_nowhere(
    neev_emulator: EmulatorServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    issued: list[str] = []
    auth = LoginAuth("user@example.com", "emulator-password", on_token=issued.append)
    config: ClientConfig = make_config(neev_emulator, auth=auth)
    with NeevCloudClient(config) as client:
        client.list_volumes()
        texts: list[Any] = [repr(auth), repr(config), repr(client), caplog.text]
    secrets = ["emulator-password", *issued]
    assert len(issued) == 2
    assert [s for s in secrets for t in texts if s in str(t)] == []
