"""Start a component as a process tree of its own, measure it, and kill all of it.

Every component runs in a new session (so its own process group), with its output in a log
file. Stopping or killing works on the whole tree: Airflow 3.3's task supervisor puts each task
runner into a process group of its own, so signalling the component's group alone would leave
task processes running, orphaned. A snapshot of the descendants is taken first, then every
group in the tree is signalled.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from contextlib import suppress
from pathlib import Path

import psutil

MIB = 1024 * 1024


def wait_for_port(port: int, timeout: float, process: Component | None = None) -> None:
    """Wait until something accepts connections on ``127.0.0.1:port``."""
    deadline = time.monotonic() + timeout
    while True:
        with socket.socket() as sock, suppress(OSError):
            sock.settimeout(1)
            sock.connect(("127.0.0.1", port))
            return
        if process is not None:
            process.check_alive()
        if time.monotonic() > deadline:
            raise TimeoutError(f"nothing listens on port {port} after {timeout:.0f} s")
        time.sleep(0.2)


class Component:
    """One running component: a command started in its own session, logging to ``log``.

    :param user: run as this user (through ``runuser``; the harness runs as root in CI).
    :param keep_stdout: write standard output to the log too, not only standard error.
    """

    def __init__(
        self,
        name: str,
        command: Sequence[str],
        log: Path,
        env: Mapping[str, str] | None = None,
        user: str | None = None,
        keep_stdout: bool = True,
    ) -> None:
        self.name = name
        self.log = log
        # runuser keeps the environment and replaces itself with the command (same pid).
        argv = ["runuser", "-u", user, "--", *command] if user else list(command)
        with log.open("ab") as output:
            self.process = subprocess.Popen(
                argv,
                env=dict(env) if env is not None else None,
                stdin=subprocess.DEVNULL,
                stdout=output if keep_stdout else subprocess.DEVNULL,
                stderr=output,
                start_new_session=True,
            )
        self.peak_rss = 0

    @property
    def pid(self) -> int:
        return self.process.pid

    def tree(self) -> list[psutil.Process]:
        """The component's processes: the leader and every descendant alive now."""
        try:
            leader = psutil.Process(self.pid)
            return [leader, *leader.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def sample_rss(self) -> int:
        """Add up the resident memory of the tree now; remember the peak."""
        total = 0
        for process in self.tree():
            with suppress(psutil.Error):
                total += process.memory_info().rss
        self.peak_rss = max(self.peak_rss, total)
        return total

    def check_alive(self) -> None:
        """Raise, with the end of the log, if the component has exited."""
        if self.process.poll() is not None:
            raise RuntimeError(f"{self.name} exited ({self.process.returncode}):\n{self.tail()}")

    def tail(self, chars: int = 3000) -> str:
        """The end of the component's log."""
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError as error:
            return f"(no log: {error})"

    def kill(self) -> None:
        """SIGKILL the whole tree at once, as when the machine under it is lost."""
        _signal_tree(self.pid, self.tree(), signal.SIGKILL)
        with suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=10)

    def stop(self, grace: float = 15.0, sig: signal.Signals = signal.SIGTERM) -> None:
        """Ask the tree to stop with ``sig``; SIGKILL whatever is left after ``grace`` seconds."""
        members = self.tree()
        if self.process.poll() is None:
            _signal_tree(self.pid, members, sig)
            with suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=grace)
        # Anything still alive in the tree (or in a group it made) goes now.
        _signal_tree(self.pid, [p for p in members if p.is_running()], signal.SIGKILL)
        with suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=10)


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
