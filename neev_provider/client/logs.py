"""The logger interface the client's long-running steps report progress through."""

from __future__ import annotations

from typing import Any, Protocol


class Logger(Protocol):
    """What waits and reconciliations log with: a stdlib logger, or Airflow's structured one."""

    def info(self, msg: str, /, *args: Any) -> Any: ...

    def warning(self, msg: str, /, *args: Any) -> Any: ...
