"""A throwaway PostgreSQL cluster: Airflow's metadata database for tests that run its services.

Airflow's scheduler, DAG processor, triggerer and API server write to the metadata database at
once; SQLite is not made for that (under load Airflow 3.0 left ``database disk image is
malformed`` and lost a serialized DAG), so every test that runs them uses this. Debian's package
(``scripts/install-debian-services.sh`` installs it where missing) listens on loopback only, on a
free port, and keeps its data in a temporary directory that is removed when it stops. PostgreSQL
refuses to run as root, so as root the cluster is made and run by the ``postgres`` user the
Debian package creates. Only the server's own tools are used here, so no driver is needed to
start it: Airflow connects with whatever driver its URL names.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

import tenacity

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

    def url(self, driver: str) -> str:
        """SQLAlchemy URL of the database through ``driver`` (trust authentication)."""
        return f"postgresql+{driver}://{ROLE}@127.0.0.1:{self.port}/{DATABASE}"

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
        # Through this cluster's own socket: a free port can be taken by a neighbour's server.
        address = ["-h", str(self.root), "-p", str(self.port), "-U", ROLE]
        self._until_ready([str(bindir / "pg_isready"), *address, "-d", "postgres"])
        self._run([str(bindir / "createdb"), *address, DATABASE])

    @tenacity.retry(
        stop=tenacity.stop_after_delay(60), wait=tenacity.wait_fixed(0.3), reraise=True
    )  # the port opens before the server accepts sessions
    def _until_ready(self, command: list[str]) -> None:
        assert self.component is not None
        self.component.check_alive()  # a server that died (its port taken) fails at once
        self._run(command)

    def _run(self, command: list[str]) -> None:
        argv = ["runuser", "-u", self.user, "--", *command] if self.user else command
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}  # no PGSSLMODE etc.
        done = subprocess.run(argv, capture_output=True, text=True, timeout=120, cwd=self.root, env=env)
        if done.returncode != 0:
            raise RuntimeError(f"{command[0]} failed ({done.returncode}):\n{done.stdout}{done.stderr}")

    def stop(self) -> None:
        try:
            if self.component is not None:
                # SIGINT is PostgreSQL's "fast" shutdown: no waiting for clients to disconnect.
                self.component.stop(grace=20, sig=signal.SIGINT)
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
