"""Run the emulator in a child process, so that it never competes with the code measured."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

TOKEN = "benchmark-token"


@dataclass(frozen=True)
class RunningEmulator:
    """Where the child emulator listens, and its process id (to read its memory)."""

    url: str
    token: str
    pid: int


@contextmanager
def emulator_process(*extra_args: str) -> Iterator[RunningEmulator]:
    """Start ``python -m neev_provider.emulator`` on a free loopback port; stop it on exit."""
    command = [sys.executable, "-m", "neev_provider.emulator", "--port", "0", "--token", TOKEN, *extra_args]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        match = re.search(r"(http://127\.0\.0\.1:\d+)", line)
        if not match:
            raise RuntimeError(f"the emulator did not print its URL: {line!r}")
        process.stdout.readline()  # the connection line
        yield RunningEmulator(url=match.group(1), token=TOKEN, pid=process.pid)
    finally:
        process.terminate()
        process.wait(timeout=10)
