"""Start a child process as a process tree of its own, measure it, and stop or kill all of it.

The one place the harness starts and stops long-running children: Airflow's services
(``tests/integration``), the Celery cluster and its backends (``tests/distributed``), and the
emulator out of process (:mod:`tests.support.emulator_process`, which the benchmarks use too).

Every tree starts in a new session (so its own process group). Stopping or killing works on the
whole tree: Airflow 3.3's task supervisor puts each task runner into a process group of its own,
so signalling the leader's group alone would leave task processes running, orphaned. A snapshot
of the descendants is taken first, then every group in the tree is signalled.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterable, Mapping, Sequence
from contextlib import nullcontext, suppress
from pathlib import Path

import psutil

MIB = 1024 * 1024


def free_port() -> int:
    """A loopback port free now, for a child that cannot pick its own (``--port 0``)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout: float, tree: ProcessTree | None = None) -> None:
    """Wait until something accepts connections on ``127.0.0.1:port``; fail early if ``tree`` exits."""
    deadline = time.monotonic() + timeout
    while True:
        with socket.socket() as sock, suppress(OSError):
            sock.settimeout(1)
            sock.connect(("127.0.0.1", port))
            return
        if tree is not None:
            tree.check_alive()
        if time.monotonic() > deadline:
            raise TimeoutError(f"nothing listens on port {port} after {timeout:.0f} s")
        time.sleep(0.2)


def descendants(roots: Iterable[int]) -> list[psutil.Process]:
    """Every live descendant of the given processes (a root that is gone has none)."""
    found: list[psutil.Process] = []
    for pid in roots:
        try:
            found += psutil.Process(pid).children(recursive=True)
        except psutil.Error:
            continue
    return found


class ProcessTree:
    """One running command, started in a session of its own, and every process it starts.

    :param log: the file that receives its standard error, and its standard output unless
        ``stdout`` says otherwise; without one, both are the harness's own.
    :param stdout: e.g. ``subprocess.PIPE``, to read the output from :attr:`process` instead.
    :param user: run as this user (through ``runuser``; the harness runs as root in CI).
    """

    def __init__(
        self,
        name: str,
        command: Sequence[str],
        log: Path | None = None,
        *,
        stdout: int | None = None,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        user: str | None = None,
    ) -> None:
        self.name = name
        self.log = log
        # runuser keeps the environment and replaces itself with the command (same pid).
        argv = ["runuser", "-u", user, "--", *command] if user else list(command)
        # The child keeps its own copy of the log's file descriptor; ours is closed at once.
        with log.open("ab") if log is not None else nullcontext() as output:
            self.process = subprocess.Popen(
                argv,
                env=dict(env) if env is not None else None,
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=stdout if stdout is not None else output,
                stderr=output,
                start_new_session=True,
            )
        self.peak_rss = 0

    @property
    def pid(self) -> int:
        return self.process.pid

    def members(self) -> list[psutil.Process]:
        """The tree's processes: the leader and every descendant alive now."""
        try:
            leader = psutil.Process(self.pid)
        except psutil.NoSuchProcess:
            return []
        return [leader, *descendants([self.pid])]

    def sample_rss(self) -> int:
        """Add up the resident memory of the tree now; remember the peak."""
        total = 0
        for process in self.members():
            with suppress(psutil.Error):
                total += process.memory_info().rss
        self.peak_rss = max(self.peak_rss, total)
        return total

    def check_alive(self) -> None:
        """Raise, with the end of the log, if the leader has exited."""
        if self.process.poll() is not None:
            raise RuntimeError(f"{self.name} exited ({self.process.returncode}):\n{self.tail()}")

    def tail(self, chars: int = 3000) -> str:
        """The end of the log."""
        if self.log is None:
            return "(no log: its output went to the harness's own)"
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError as error:
            return f"(no log: {error})"

    def kill(self) -> None:
        """SIGKILL the whole tree at once, as when the machine under it is lost."""
        _signal_tree(self.pid, self.members(), signal.SIGKILL)
        with suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=10)

    def stop(self, grace: float = 15.0, sig: signal.Signals = signal.SIGTERM) -> None:
        """Ask the tree to stop with ``sig``; SIGKILL whatever is left after ``grace`` seconds."""
        stop_trees([self], grace, sig)


def stop_trees(trees: Sequence[ProcessTree], grace: float, sig: signal.Signals = signal.SIGTERM) -> None:
    """Stop several trees at once: all are asked together, so they share one ``grace`` period.

    Whatever is still alive in a tree afterwards (or in a process group it made) is killed, and
    a pipe the harness read its output from is closed.
    """
    snapshots = [(tree, tree.members()) for tree in trees]
    for tree, members in snapshots:
        if tree.process.poll() is None:
            _signal_tree(tree.pid, members, sig)
    deadline = time.monotonic() + grace
    for tree, _ in snapshots:
        with suppress(subprocess.TimeoutExpired):
            tree.process.wait(timeout=max(0.1, deadline - time.monotonic()))
    for tree, members in snapshots:
        _signal_tree(tree.pid, [p for p in members if p.is_running()], signal.SIGKILL)
        with suppress(subprocess.TimeoutExpired):
            tree.process.wait(timeout=10)
        if tree.process.stdout is not None:
            tree.process.stdout.close()


def _signal_tree(leader: int, members: Sequence[psutil.Process], sig: signal.Signals) -> None:
    groups = {leader}
    for member in members:
        with suppress(psutil.Error, ProcessLookupError):
            groups.add(os.getpgid(member.pid))
    groups.discard(os.getpgrp())  # never the harness's own group
    for group in groups:
        with suppress(ProcessLookupError, PermissionError):
            os.killpg(group, sig)
    for member in members:  # a member that left every group above
        with suppress(psutil.Error):
            member.send_signal(sig)
