"""The cluster's backing services: a throwaway PostgreSQL cluster and a Redis server.

Both are Debian's packages (``scripts/install-debian-services.sh`` installs them where
missing), listen on loopback only, on free ports, and keep their data in a temporary directory
that is removed when they stop. PostgreSQL refuses to run as root, so as root the cluster is
made and run by the ``postgres`` user the Debian package creates.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg
import redis

from tests.support.processes import ProcessTree, free_port, wait_for_port

POSTGRES_USER = "postgres"
DATABASE = "airflow"
ROLE = "airflow"


def postgres_bindir() -> Path:
    """The newest PostgreSQL server's ``bin`` directory (Debian keeps them off ``PATH``)."""
    servers = Path("/usr/lib/postgresql").glob("*/bin/postgres")
    found = sorted(servers, key=lambda path: int(path.parent.parent.name))
    if not found:
        raise RuntimeError("no PostgreSQL server: run scripts/install-debian-services.sh")
    return found[-1].parent


class PostgresServer:
    """A PostgreSQL cluster made with ``initdb`` in a temporary directory, for one run."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.port = free_port()
        self.user = POSTGRES_USER if os.geteuid() == 0 else None
        self.root = Path(tempfile.mkdtemp(prefix="neev-postgres-"))
        self.component: ProcessTree | None = None

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the database: psycopg 3 (sync and async), trust authentication."""
        return f"postgresql+psycopg://{ROLE}@127.0.0.1:{self.port}/{DATABASE}"

    def start(self) -> None:
        bindir = postgres_bindir()
        if self.user:
            # The temporary directory is root's (mode 0700); the server's user must own it.
            entry = pwd.getpwnam(self.user)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        data = self.root / "data"
        self._run(
            [str(bindir / "initdb"), "-D", str(data), "-U", ROLE, "--auth=trust", "-E", "UTF8", "--no-sync"]
        )
        settings = {
            "listen_addresses": "127.0.0.1",
            "unix_socket_directories": str(self.root),
            "max_connections": "300",
            # A throwaway cluster: durability buys nothing here and costs the 2-core machine time.
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
        }
        command = [str(bindir / "postgres"), "-D", str(data), "-p", str(self.port)]
        for key, value in settings.items():
            command += ["-c", f"{key}={value}"]
        self.component = ProcessTree("postgresql", command, self.logs / "postgresql.log", user=self.user)
        wait_for_port(self.port, 60, self.component)
        self._wait_ready()
        conn = psycopg.connect(host="127.0.0.1", port=self.port, user=ROLE, dbname="postgres")
        try:
            conn.autocommit = True  # CREATE DATABASE refuses to run in a transaction
            with conn.cursor() as cursor:
                cursor.execute(f"CREATE DATABASE {DATABASE}")
        finally:
            conn.close()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 60
        while True:
            try:
                psycopg.connect(host="127.0.0.1", port=self.port, user=ROLE, dbname="postgres").close()
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)

    def _run(self, command: list[str]) -> None:
        argv = ["runuser", "-u", self.user, "--", *command] if self.user else command
        done = subprocess.run(argv, capture_output=True, text=True, timeout=120, cwd=self.root)
        if done.returncode != 0:
            raise RuntimeError(f"{command[0]} failed ({done.returncode}):\n{done.stdout}{done.stderr}")

    def stop(self) -> None:
        try:
            if self.component is not None:
                # SIGINT is PostgreSQL's "fast" shutdown: no waiting for clients to disconnect.
                self.component.stop(grace=20, sig=signal.SIGINT)
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


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
