"""A decompression bomb costs the client no more than the body cap, and never stalls the loop.

Each read runs in a fresh process (``body_probe.py``), so that its peak memory is its own: the
sync client, the async client (which every deferred wait shares) and a deferred wait, against
answers of a few hundred kilobytes that inflate to 512 MiB.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.hostile.bad_server import Answer, BadServer

ROOT = Path(__file__).resolve().parents[2]
INFLATED = 512 * 1024 * 1024


def _gzip_of_zeros(size: int) -> bytes:
    """``size`` zero bytes, gzipped a mebibyte at a time (never holding them all)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = b"\0" * (1024 * 1024)
    return b"".join(packer.compress(block) for _ in range(size // len(block))) + packer.flush()


@pytest.fixture(scope="module", name="bombs")
def fixture_bombs() -> dict[str, tuple[bytes, str]]:
    one = _gzip_of_zeros(INFLATED)
    two = gzip.compress(one, compresslevel=9)
    three = gzip.compress(two, compresslevel=9)
    return {
        "one layer": (one, "gzip"),
        "two layers": (two, "gzip, gzip"),
        "three layers": (three, "gzip, gzip, gzip"),
    }


@pytest.fixture(scope="module", name="server")
def fixture_server() -> Iterator[BadServer]:
    with BadServer() as server:
        yield server


def _probe(kind: str, server: BadServer) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    answer = subprocess.run(
        [sys.executable, "-m", "tests.client.body_probe", kind, server.url],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return dict(json.loads(answer.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize("kind", ["sync", "async", "trigger"])
@pytest.mark.parametrize("bomb", ["one layer", "two layers", "three layers"])
def test_a_bomb_ends_in_the_packages_error_within_the_cap(
    kind: str, bomb: str, bombs: dict[str, tuple[bytes, str]], server: BadServer
) -> None:
    body, encoding = bombs[bomb]
    server.serve(lambda request: Answer(200, body, {"Content-Encoding": encoding}))

    measured = _probe(kind, server)

    assert measured["rss_growth_mib"] < 150, measured
    assert measured["stall_s"] < 1.0, measured
    if kind == "trigger":
        assert measured["error"] == "error", measured  # the event says what happened
    else:
        assert measured["error"] == "UnexpectedResponseError", measured
    expected = "larger than the 8 MiB" if bomb == "one layer" else f"encoded '{encoding}'"
    assert expected in measured["message"]
    growth, stall = measured["rss_growth_mib"], measured["stall_s"]
    print(f"\n{bomb} ({len(body)} bytes) via {kind}: +{growth:.0f} MiB, longest stall {stall:.3f} s")
