"""Run one blocking HTTP exchange on a helper thread, so the caller can give up at a deadline.

``requests`` bounds each socket read, not an exchange: a server that trickles its status
line, headers or body a byte at a time can hold a call for as long as it likes. The sync
client therefore runs each exchange on a :class:`BlockingRunner` and waits for it only
until the call's deadline. On time-out the exchange is abandoned: its response, if it has
one yet, is shut down so the helper thread stops reading at once; otherwise the thread
finishes on its own (bounded by the read timeout) and exits, and the next call gets a fresh
thread. Helper threads are daemons, so an abandoned one never holds up the interpreter's exit.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class ExchangeTimeout(Exception):
    """Raised by :meth:`BlockingRunner.run` when the exchange did not finish in time."""


class ExchangeJob(Generic[T]):
    """One unit of work for the helper thread, and what it needs to be abandoned cleanly."""

    def __init__(self, work: Callable[[ExchangeJob[T]], T]) -> None:
        self.work = work
        self.done = threading.Event()
        self.result: T | None = None
        self.error: BaseException | None = None
        self._lock = threading.Lock()
        self._abandoned = False
        self._on_abandon: Callable[[], None] | None = None

    @property
    def abandoned(self) -> bool:
        """Whether the caller gave up on this exchange."""
        return self._abandoned

    def on_abandon(self, stop: Callable[[], None]) -> None:
        """Register how to stop the exchange (shut its response down); run it now if already abandoned."""
        with self._lock:
            self._on_abandon = stop
            abandoned = self._abandoned
        if abandoned:
            stop()

    def abandon(self) -> None:
        """Give up on the exchange and stop it if it can be stopped."""
        with self._lock:
            self._abandoned = True
            stop = self._on_abandon
        if stop is not None:
            stop()


def _serve(jobs: queue.SimpleQueue[ExchangeJob[object] | None]) -> None:
    while True:
        job = jobs.get()
        if job is None:
            return
        try:
            job.result = job.work(job)
        except BaseException as error:  # handed to the caller, which raises it in its own thread
            job.error = error
        finally:
            job.done.set()


class BlockingRunner:
    """A helper thread that runs one client's exchanges, one at a time.

    :param name: the helper thread's name.
    """

    def __init__(self, name: str = "neev-client") -> None:
        self.name = name
        self._jobs: queue.SimpleQueue[ExchangeJob[object] | None] | None = None
        self._thread: threading.Thread | None = None
        self._pid = 0

    def _ready_queue(self) -> queue.SimpleQueue[ExchangeJob[object] | None]:
        # A fork (Celery's prefork pool, Airflow's LocalExecutor) leaves the child without the thread.
        if (
            self._jobs is None
            or self._thread is None
            or not self._thread.is_alive()
            or self._pid != os.getpid()
        ):
            self._jobs = queue.SimpleQueue()
            self._thread = threading.Thread(target=_serve, args=(self._jobs,), name=self.name, daemon=True)
            self._thread.start()
            self._pid = os.getpid()
        return self._jobs

    def run(self, work: Callable[[ExchangeJob[T]], T], timeout: float) -> T:
        """Run ``work`` on the helper thread; return its result or raise its exception.

        :raises ExchangeTimeout: if it did not finish within ``timeout`` seconds; it is then
            abandoned, and the helper thread is replaced for the next exchange.
        """
        job: ExchangeJob[T] = ExchangeJob(work)
        jobs = self._ready_queue()
        jobs.put(job)  # type: ignore[arg-type]
        if not job.done.wait(timeout):
            job.abandon()
            jobs.put(None)  # the stuck thread exits once its exchange ends
            self._jobs = self._thread = None
            raise ExchangeTimeout
        if job.error is not None:
            raise job.error
        return job.result  # type: ignore[return-value]

    def close(self) -> None:
        """Let the helper thread exit."""
        if self._jobs is not None:
            self._jobs.put(None)
        self._jobs = self._thread = None
