"""Which worker to kill: one that is in the middle of creating a volume.

Pure: it looks at the task instances the REST API lists as running (with the node name of the
worker running each, see :mod:`tests.distributed.node`) and at the names of the volumes the
emulator has created so far.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

CREATE_TASK = "trial.create_volume"


@dataclass(frozen=True)
class Running:
    """A task instance running on the victim when it was killed."""

    task_id: str
    map_index: int
    try_number: int
    #: For a create task: whether its volume existed already (the POST was answered).
    volume_created: bool

    def describe(self) -> str:
        what = ""
        if self.task_id == CREATE_TASK:
            what = ", volume created" if self.volume_created else ", POST on the way"
        return f"{self.task_id}[{self.map_index}] try {self.try_number}{what}"


@dataclass(frozen=True)
class Victim:
    """The worker to kill, what it was running, and why it was chosen."""

    worker: str
    running: tuple[Running, ...]
    reason: str


def choose_victim(
    running: Iterable[Mapping[str, Any]],
    created_names: set[str],
    volume_names: Mapping[int, str],
    *,
    answered_only: bool,
) -> Victim | None:
    """Pick the worker to kill now, or ``None`` to look again later.

    First choice: a worker running a create task whose volume exists already (its POST was
    answered, its task has not finished) and something else besides, so that the kill
    interrupts work even if that task finishes in the meantime. Unless ``answered_only``,
    next: a worker running a create task at all (its POST may be in flight). Among several,
    the busiest.
    """
    by_worker: dict[str, list[Running]] = defaultdict(list)
    for ti in running:
        worker = str(ti.get("hostname") or "")
        if worker.startswith("worker-"):
            created = volume_names.get(ti["map_index"]) in created_names and ti["task_id"] == CREATE_TASK
            by_worker[worker].append(Running(ti["task_id"], ti["map_index"], ti["try_number"], created))
    answered = [w for w, tis in by_worker.items() if len(tis) > 1 and any(t.volume_created for t in tis)]
    if answered:
        return _busiest(answered, by_worker, "a create POST answered, its task still running there")
    if answered_only:
        return None
    creating = [w for w, tis in by_worker.items() if any(t.task_id == CREATE_TASK for t in tis)]
    if creating:
        return _busiest(creating, by_worker, "a create task running there, its POST on the way")
    return None


def _busiest(workers: list[str], by_worker: Mapping[str, list[Running]], reason: str) -> Victim:
    worker = max(workers, key=lambda name: (len(by_worker[name]), name))
    running = tuple(sorted(by_worker[worker], key=lambda t: (t.task_id, t.map_index)))
    return Victim(worker, running, reason)
