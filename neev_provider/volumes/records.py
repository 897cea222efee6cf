"""What a task instance remembers of its own creates, where a durable store exists.

Without an idempotency key, the only way to know whether an earlier try already created the
volume is to look its name up, and the API has no name filter: the lookup lists the whole
project, a cost that grows with the account, not with the work. Airflow 3.3 gives each task
instance a durable key-value store (``context["task_state_store"]``) that outlives its tries.
With it, a create writes its intent *before* each POST and the volume id right after, so that:

- a **first try** that finds nothing recorded provably sent no POST before: it creates at once,
  with no lookup (one API call, whatever the project holds);
- a **retry** that finds the id of a volume whose create was not ambiguous reads that volume
  (one GET) and adopts it if it is still usable;
- anything else (a recorded intent with no id, an ambiguous create, a store that fails, a retry
  with nothing recorded) falls back to the lookup: correctness first.

"First try" is the task instance's try number 1: a cleared task gets a new try number, so a
record wiped by ``[state_store] clear_on_success`` can never pass a later try off as the first.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from neev_provider.volumes.wait import Logger

log = logging.getLogger(__name__)

KEY = "neevcloud_create"


class Store(Protocol):
    """The two methods of Airflow's task state store this uses."""

    def get(self, key: str, default: Any = None) -> Any: ...

    def set(self, key: str, value: Any) -> None: ...


@dataclass(frozen=True)
class NextStep:
    """How a try may skip the lookup: ``post`` at once, ``get`` a known volume, or ``lookup``."""

    action: Literal["post", "get", "lookup"]
    volume_id: str | None = None


class CreateRecord:
    """The record of one task instance's creates in a durable store.

    :param store: the task state store.
    :param first_try: whether this is the task instance's first try.
    """

    def __init__(self, store: Store, *, first_try: bool, logger: Logger = log) -> None:
        self.store = store
        self.first_try = first_try
        self.log = logger

    def next_step(self, name: str) -> NextStep:
        """Say what the record allows for creating the volume called ``name``."""
        try:
            record = self.store.get(KEY)
        except Exception as error:  # a store that fails proves nothing
            self.log.warning("Could not read this task's create record (%s); looking the name up", error)
            return NextStep("lookup")
        if record is None:
            return NextStep("post") if self.first_try else NextStep("lookup")
        if not isinstance(record, dict) or record.get("name") != name:
            return NextStep("lookup")
        volume_id = record.get("volume_id")
        if isinstance(volume_id, str) and not record.get("ambiguous"):
            return NextStep("get", volume_id)
        return NextStep("lookup")

    def remember(self, name: str, volume_id: str | None, *, ambiguous: bool) -> None:
        """Record an intent (``volume_id`` None: a POST is about to be sent) or its result."""
        try:
            self.store.set(KEY, {"name": name, "volume_id": volume_id, "ambiguous": ambiguous})
        except Exception as error:
            # Not fatal: a later try without the record looks the name up, as without a store.
            self.log.warning("Could not record this task's create (%s)", error)
