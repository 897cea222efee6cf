"""The harness kills a worker that is in the middle of creating a volume, by preference after the answer."""

from __future__ import annotations

from typing import Any

from tests.distributed.chaos import CREATE_TASK, Running, choose_victim

NAMES = {0: "vol-0", 1: "vol-1", 2: "vol-2", 3: "vol-3"}
USE = "trial.use_volume"


def _ti(task_id: str, map_index: int, hostname: str | None, try_number: int = 1) -> dict[str, Any]:
    return {"task_id": task_id, "map_index": map_index, "hostname": hostname, "try_number": try_number}


def test_a_busy_worker_whose_create_was_answered_is_chosen_first() -> None:
    running = [
        _ti(CREATE_TASK, 0, "worker-1"),
        _ti(USE, 2, "worker-1"),
        _ti(CREATE_TASK, 1, "worker-2", try_number=2),
        _ti(CREATE_TASK, 3, "worker-2"),
    ]

    victim = choose_victim(running, {"vol-1"}, NAMES, answered_only=True)

    assert victim is not None
    assert victim.worker == "worker-2"
    assert victim.running == (Running(CREATE_TASK, 1, 2, True), Running(CREATE_TASK, 3, 1, False))
    assert [t.describe() for t in victim.running] == [
        "trial.create_volume[1] try 2, volume created",
        "trial.create_volume[3] try 1, POST on the way",
    ]
    assert "answered" in victim.reason


def test_a_worker_running_nothing_but_the_answered_create_is_not_chosen_yet() -> None:
    running = [_ti(CREATE_TASK, 1, "worker-2")]

    assert choose_victim(running, {"vol-1"}, NAMES, answered_only=True) is None


def test_without_an_answered_create_the_busiest_creating_worker_is_chosen_only_when_allowed() -> None:
    running = [
        _ti(USE, 2, "worker-1"),
        _ti(CREATE_TASK, 0, "worker-2"),
        _ti(CREATE_TASK, 1, "worker-3"),
        _ti(USE, 3, "worker-3"),
    ]

    assert choose_victim(running, set(), NAMES, answered_only=True) is None
    victim = choose_victim(running, set(), NAMES, answered_only=False)
    assert victim is not None
    assert victim.worker == "worker-3"
    assert "on the way" in victim.reason


def test_tasks_on_other_nodes_or_without_a_host_are_never_targets() -> None:
    running = [_ti(CREATE_TASK, 0, "scheduler-1"), _ti(USE, 2, "scheduler-1"), _ti(CREATE_TASK, 1, None)]

    assert choose_victim(running, {"vol-0", "vol-1"}, NAMES, answered_only=False) is None
