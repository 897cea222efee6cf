"""The cluster's Redis server (its PostgreSQL cluster is :mod:`tests.support.postgres`'s).

Debian's package (``scripts/install-debian-services.sh`` installs it where missing), on a free
loopback port, its data in a temporary directory that is removed when it stops.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import redis

from tests.support.processes import ProcessTree, free_port, wait_for_port


class RedisServer:
    """``redis-server`` on a free loopback port, without persistence, for one run."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="neev-redis-"))
        self.component: ProcessTree | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        command = [
            binary,
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--protected-mode", "yes",
            "--save", "",
            "--appendonly", "no",
            "--dir", str(self.root),
            "--daemonize", "no",
        ]  # fmt: skip
        self.component = ProcessTree("redis", command, self.logs / "redis.log")
        wait_for_port(self.port, 30, self.component)
        client = redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=5)
        try:
            assert client.ping()
        finally:
            client.close()

    def stop(self) -> None:
        try:
            if self.component is not None:
                self.component.stop(grace=10)
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
