"""A bounded record of recent API requests, so tests can count calls."""

from __future__ import annotations

import threading
from collections import deque
from typing import Any

from neev_provider.emulator.clock import Clock, format_timestamp

JOURNAL_SIZE = 10_000


class Journal:
    """Keep the last :data:`JOURNAL_SIZE` requests (a deque, so memory stays bounded).

    :param clock: emulator clock used to stamp entries.
    """

    def __init__(self, clock: Clock, size: int = JOURNAL_SIZE) -> None:
        self._clock = clock
        self._entries: deque[dict[str, Any]] = deque(maxlen=size)
        self._lock = threading.Lock()

    def record(
        self,
        *,
        method: str,
        path: str,
        operation: str | None,
        status: int | None,
        fault: str | None,
        request_id: str,
    ) -> None:
        """Append one entry; ``status`` is ``None`` when the connection was dropped."""
        entry = {
            "time": format_timestamp(self._clock.now()),
            "method": method,
            "path": path,
            "operation": operation,
            "status": status,
            "fault": fault,
            "request_id": request_id,
        }
        with self._lock:
            self._entries.append(entry)

    def entries(self) -> list[dict[str, Any]]:
        """Return a copy of the entries, oldest first."""
        with self._lock:
            return list(self._entries)

    def clear(self) -> None:
        """Forget every entry."""
        with self._lock:
            self._entries.clear()
