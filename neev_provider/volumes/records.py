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

from neev_provider.volumes.naming import is_legacy_default_name, looks_generated
from neev_provider.volumes.wait import Logger, PayloadFormatError, check_format

log = logging.getLogger(__name__)

KEY = "neevcloud_create"
#: The version of the record under :data:`KEY` (its ``format`` key). 0, before versions: no
#: ``format``; otherwise the same keys as 1: ``name``, ``volume_id`` and ``ambiguous``. A record
#: of a newer format is ignored: the lookup, always safe, runs instead.
RECORD_FORMAT = 1


class Store(Protocol):
    """The two methods of Airflow's task state store this uses."""

    def get(self, key: str, default: Any = None) -> Any: ...

    def set(self, key: str, value: Any) -> None: ...


@dataclass(frozen=True)
class NextStep:
    """How a try may skip the lookup: ``post`` at once, ``get`` a known volume, or ``lookup``."""

    action: Literal["post", "get", "lookup"]
    volume_id: str | None = None
    #: The name the recorded volume bears (for ``get``).
    name: str | None = None


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
        if not isinstance(record, dict):
            return NextStep("lookup")
        try:
            version = check_format(record.get("format"), "this task's create record", RECORD_FORMAT)
        except PayloadFormatError:
            self.log.warning(
                "Ignoring this task's create record: its format %r is not one this release reads "
                "(0 to %d; a newer release wrote it); looking the name up instead",
                record.get("format"),
                RECORD_FORMAT,
            )
            return NextStep("lookup")
        # Formats 0 and 1 have the same keys. Format 0 was written before default names were
        # scoped to the deployment: this task instance's volume bears its name of then.
        recorded = record.get("name")
        renamed = version == 0 and isinstance(recorded, str) and is_legacy_default_name(recorded)
        if recorded != name and not (renamed and looks_generated(name)):
            return NextStep("lookup")
        volume_id = record.get("volume_id")
        if isinstance(volume_id, str) and not record.get("ambiguous"):
            return NextStep("get", volume_id, str(recorded))
        return NextStep("lookup")

    def remember(self, name: str, volume_id: str | None, *, ambiguous: bool) -> None:
        """Record an intent (``volume_id`` None: a POST is about to be sent) or its result."""
        try:
            record = {"format": RECORD_FORMAT, "name": name, "volume_id": volume_id, "ambiguous": ambiguous}
            self.store.set(KEY, record)
        except Exception as error:
            # Not fatal: a later try without the record looks the name up, as without a store.
            self.log.warning("Could not record this task's create (%s)", error)
