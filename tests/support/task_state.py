"""Airflow's task state store as an operator sees it (``context["task_state_store"]``), in memory.

Airflow 3.3 gives each task instance a key-value store that outlives its tries; the create
operator only calls ``get`` and ``set`` on it. One stand-in for the tests and the benchmarks;
the integration test (``tests/integration``) runs against Airflow's real one.
"""

from __future__ import annotations

from typing import Any


class InMemoryTaskStateStore:
    """``get``/``set`` over a dict; :attr:`values` is open, to read or plant a record."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)

    def set(self, key: str, value: Any) -> None:
        self.values[key] = value
