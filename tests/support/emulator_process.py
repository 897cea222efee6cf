"""The emulator in a child process (``python -m neev_provider.emulator``): the one way to start it.

For whatever must not share a process with the emulator: the benchmarks (it must not compete
with the code measured), the Celery cluster harness (a separate service, like the real API) and
the tests of the command line itself. Everything else runs it on a thread
(:class:`~neev_provider.emulator.EmulatorServer`).

It picks its own free port (``--port 0``, no race between choosing and binding) and prints its
URL once its socket listens, so that line is the sign it is ready. Its standard output is read
through a pipe and kept nowhere: the next line is a ready-made connection, token included, for
people at a terminal. The token itself is passed in the environment, out of the process list.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from neev_provider.emulator import EmulatorAdmin
from neev_provider.emulator.__main__ import TOKEN_VARIABLE
from tests.support.processes import ProcessTree

CONNECTION_VARIABLE = "AIRFLOW_CONN_NEEVCLOUD_DEFAULT"
#: Seconds it may take to listen; a 2-core machine busy with a cluster is slow to import it.
STARTUP_TIMEOUT = 60.0


class EmulatorProcess(EmulatorAdmin):
    """A running emulator process, steered through its admin API like an ``EmulatorServer``.

    :ivar tree: the child process (its pid, memory, exit status, log).
    :ivar connection: the connection it printed, as a dict (``conn_type``, ``host``, ``password``…).
    """

    def __init__(self, tree: ProcessTree, url: str, connection: dict[str, Any]) -> None:
        super().__init__(url, str(connection["password"]))
        self.tree = tree
        self.connection = connection

    @property
    def pid(self) -> int:
        return self.tree.pid

    def stop(self, grace: float = 10.0) -> None:
        """Stop it: SIGTERM, which it takes as a clean shutdown (exit status 0)."""
        self.tree.stop(grace=grace)


def start_emulator(
    *options: str,
    token: str | None = None,
    log: Path | None = None,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> EmulatorProcess:
    """Start ``python -m neev_provider.emulator --port 0 *options`` and wait until it listens.

    :param token: the token it accepts (default: the command line's own, from ``env`` or built in).
    :param log: where its standard error goes (default: this process's).
    :param env: its whole environment (default: this process's).
    """
    environment = dict(os.environ if env is None else env)
    if token is not None:
        environment[TOKEN_VARIABLE] = token
    command = [sys.executable, "-m", "neev_provider.emulator", "--port", "0", *options]
    tree = ProcessTree("emulator", command, log, stdout=subprocess.PIPE, env=environment, cwd=cwd)
    try:
        url, connection = _read_banner(tree)
    except BaseException:
        tree.stop(grace=10)
        raise
    return EmulatorProcess(tree, url, connection)


@contextmanager
def emulator_process(
    *options: str,
    token: str | None = None,
    log: Path | None = None,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Iterator[EmulatorProcess]:
    """:func:`start_emulator`, stopped on exit whatever happens."""
    emulator = start_emulator(*options, token=token, log=log, env=env, cwd=cwd)
    try:
        yield emulator
    finally:
        emulator.stop()


def _read_banner(tree: ProcessTree) -> tuple[str, dict[str, Any]]:
    """Its two first lines: ``... listening on URL`` and ``export AIRFLOW_CONN_...='{json}'``."""
    stdout = tree.process.stdout
    assert stdout is not None
    # A hung start would block the read for ever: killed, the emulator ends its output instead.
    watchdog = threading.Timer(STARTUP_TIMEOUT, tree.kill)
    watchdog.start()
    try:
        banner, export = stdout.readline().decode(), stdout.readline().decode()
    finally:
        watchdog.cancel()
    name, _, value = export.removeprefix("export ").strip().partition("=")
    if "listening on" not in banner or name != CONNECTION_VARIABLE:
        raise RuntimeError(f"the emulator did not start: {banner!r} {export!r}\n{tree.tail()}")
    return banner.split()[-1], json.loads(shlex.split(value)[0])
