"""A controllable clock: wall time plus an offset that tests move forward."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timezone


class Clock:
    """Tell emulator time; :meth:`advance` jumps ahead without sleeping.

    Lifecycle transitions are computed from this clock, so a test can make a volume ``bound``
    instantly by advancing past the bind delay.

    :param wall: source of real time, replaceable for unit tests.
    """

    def __init__(self, wall: Callable[[], float] = time.time) -> None:
        self._wall = wall
        self._offset = 0.0

    @property
    def offset(self) -> float:
        """Return how far emulator time is ahead of wall time, in seconds."""
        return self._offset

    def now(self) -> float:
        """Return the current emulator time as a POSIX timestamp."""
        return self._wall() + self._offset

    def advance(self, seconds: float) -> None:
        """Move emulator time forward by ``seconds`` (never backwards, so deadlines stay ordered)."""
        if seconds < 0:
            raise ValueError("cannot move the clock backwards")
        self._offset += seconds

    def reset(self) -> None:
        """Drop the offset, back to wall time."""
        self._offset = 0.0


def format_timestamp(timestamp: float) -> str:
    """Render a POSIX timestamp as RFC 3339 UTC with millisecond precision and a ``Z`` suffix."""
    moment = datetime.fromtimestamp(timestamp, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
