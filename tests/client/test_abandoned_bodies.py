"""A body the async client stops reading at its cap leaves nothing for the collector to finalise.

The HTTP stack reads a body through several nested generators; the client closes its own, and the
rest are closed with the loop (``shutdown_asyncgens``, as ``asyncio.run`` does). Left to the
collector after the loop is closed, each one is an "Event loop is closed" unraisable exception in
whatever code happens to run next. (Python 3.13 shows it; 3.11 finalises them differently.)
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from neev_provider.client import AsyncNeevCloudClient, ClientConfig, TokenAuth, UnexpectedResponseError
from tests.hostile.bad_server import Answer, BadServer
from tests.support.async_driven import driven

ORG, PROJECT = "org-1", "prj-1"


@pytest.fixture(name="server")
def fixture_server() -> Iterator[BadServer]:
    with BadServer() as server:
        yield server


def test_a_body_past_the_cap_leaves_no_generator_to_the_collector(
    server: BadServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 16 MiB of JSON-ish bytes streamed without a length: the client stops at its 8 MiB cap.
    server.serve(lambda request: Answer(200, chunks=(b" " * 65536 for _ in range(256))))
    config = ClientConfig(org_id=ORG, project_id=PROJECT, auth=TokenAuth("t0ken"), host=server.url)
    unraisable: list[Any] = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)
    gc.disable()  # the generators sit in reference cycles: keep them alive until the loop is gone
    try:
        for _ in range(3):
            with driven(AsyncNeevCloudClient(config)) as api, pytest.raises(UnexpectedResponseError):
                api.get_volume("3f2b6c1e-8a4d-4f7e-9c1b-2d5e6f7a8b9c")
        gc.enable()
        gc.collect()
    finally:
        gc.enable()

    assert [str(item.exc_value) for item in unraisable] == []
