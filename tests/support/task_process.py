"""Find the process a real Airflow task runs in, and signal it as Airflow would.

Airflow 3's supervisor forks the task process from its executor worker, and Airflow 2's task
runner forks it from ``airflow tasks run``: either way it shares its parent's command line. What
tells it apart is that it alone talks to the API: it holds a TCP connection to the emulator.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

import psutil

from tests.support.processes import descendants


def talking_to(roots: Iterable[int], port: int) -> psutil.Process | None:
    """The descendant of ``roots`` connected to ``127.0.0.1:port`` (the emulator), if any."""
    for process in descendants(roots):
        try:
            connections = process.net_connections(kind="tcp")
        except psutil.Error:
            continue
        if any(c.raddr and c.raddr.port == port and c.status == psutil.CONN_ESTABLISHED for c in connections):
            return process
    return None


def wait_until(predicate: Callable[[], object], timeout: float, what: str, *, every: float = 0.05) -> float:
    """Poll ``predicate`` until it holds; return the seconds it took. A real process is watched:
    there is no event to wait on, so the poll is short and the timeout generous."""
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > timeout:
            raise TimeoutError(what)
        time.sleep(every)
    return time.monotonic() - started
