"""Cutting a blocking exchange off at its call's deadline (the sync client).

``requests`` bounds each socket read, not an exchange: a server that trickles its status
line, headers or body a byte at a time could hold a call as long as it likes. So the sync
client arms an :class:`Alarm` for each exchange on the process's :class:`Watchdog`, a
single daemon thread that sleeps until the earliest armed deadline. If the exchange is still
running then, the alarm shuts down the socket of the connection carrying it, which ends
any blocked read at once; the client then reports the deadline.

Arming and cancelling cost a lock and a heap push, and wake no thread in the usual case
(a later deadline than one already armed), so a call that ends in time pays next to nothing.
The connection is known through :func:`track`, which makes a session's pools create
connections that note themselves in the calling thread's :class:`Slot`. A session given by
the caller is not changed: its exchanges are then bounded per read only.
"""

from __future__ import annotations

import heapq
import itertools
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import requests
import urllib3
from requests.adapters import HTTPAdapter

_CURRENT = threading.local()


class Slot:
    """What one exchange may be cut through: the connection carrying it, then its response.

    A response that ends the connection (``Connection: close``) takes the socket over from the
    connection, so once there is a response it is cut through it.
    """

    def __init__(self) -> None:
        self.connection: Any = None
        self.response: Any = None
        self.fired = False
        self._lock = threading.Lock()
        self._over = False

    def cut(self) -> None:
        """Shut the connection's socket down, so a blocked read returns now (unless the exchange is over)."""
        with self._lock:
            # Once over, the connection may already carry the next exchange: it is not this one's to cut.
            if self._over:
                return
            self.fired = True
            shutdown = getattr(self.response, "shutdown", None)  # urllib3 2.3+
            sock = getattr(self.connection, "sock", None)
            try:
                if shutdown is not None:
                    shutdown()
                elif sock is not None:
                    sock.shutdown(socket.SHUT_RDWR)
            except (OSError, ValueError, RuntimeError):
                pass  # already closed or released: nothing is blocked on it

    def over(self) -> None:
        """Mark the exchange finished: a late :meth:`cut` does nothing."""
        with self._lock:
            self._over = True


@contextmanager
def carrying(slot: Slot) -> Iterator[Slot]:
    """Have connections used by this thread meanwhile note themselves in ``slot``."""
    previous = getattr(_CURRENT, "slot", None)
    _CURRENT.slot = slot
    try:
        yield slot
    finally:
        _CURRENT.slot = previous


def _note(connection: Any) -> None:
    slot = getattr(_CURRENT, "slot", None)
    if slot is not None:
        slot.connection = connection


class _HTTPConnection(urllib3.connection.HTTPConnection):
    def request(self, *args: Any, **kwargs: Any) -> None:
        _note(self)
        super().request(*args, **kwargs)


class _HTTPSConnection(urllib3.connection.HTTPSConnection):
    def request(self, *args: Any, **kwargs: Any) -> None:
        _note(self)
        super().request(*args, **kwargs)


class _HTTPPool(urllib3.HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


def track(session: requests.Session) -> None:
    """Make the session's direct connections known to :class:`Slot` (proxied ones stay unknown)."""
    for adapter in session.adapters.values():
        if isinstance(adapter, HTTPAdapter):
            adapter.poolmanager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}


class Alarm:
    """An action due at a point on the ``time.monotonic()`` clock, unless cancelled first."""

    def __init__(self, at: float, action: Callable[[], None]) -> None:
        self.at = at
        self.action = action
        self.cancelled = False

    def cancel(self) -> None:
        """Do not run the action (if it has not run yet)."""
        self.cancelled = True


class Watchdog:
    """One daemon thread that runs each armed :class:`Alarm`'s action when it is due."""

    def __init__(self) -> None:
        self._due: list[tuple[float, int, Alarm]] = []
        self._order = itertools.count()
        self._changed = threading.Condition()
        self._pid = 0

    def arm(self, at: float, action: Callable[[], None]) -> Alarm:
        """Run ``action`` at ``at`` (``time.monotonic()``) unless the returned alarm is cancelled."""
        alarm = Alarm(at, action)
        with self._changed:
            # A fork (Celery's prefork pool, Airflow's LocalExecutor) leaves the child without the thread.
            if self._pid != os.getpid():
                self._pid = os.getpid()
                self._due = []
                threading.Thread(target=self._serve, name="neev-client-watchdog", daemon=True).start()
            heapq.heappush(self._due, (at, next(self._order), alarm))
            if self._due[0][2] is alarm:
                self._changed.notify()
        return alarm

    def _next_action(self) -> Callable[[], None]:
        with self._changed:
            while True:
                while self._due and self._due[0][2].cancelled:
                    heapq.heappop(self._due)
                if not self._due:
                    self._changed.wait()
                    continue
                wait = self._due[0][0] - time.monotonic()
                if wait > 0:
                    self._changed.wait(wait)
                    continue
                return heapq.heappop(self._due)[2].action

    def _serve(self) -> None:
        while True:
            self._next_action()()


#: The process's watchdog, shared by every sync client.
WATCHDOG = Watchdog()
