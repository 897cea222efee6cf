"""What each chaos lifecycle does, drawn from a seeded generator, and the faults of the run."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Literal

Task = Literal["create", "extend", "delete"]
TASKS: tuple[Task, ...] = ("create", "extend", "delete")


@dataclass(frozen=True)
class Plan:
    """One create -> bound -> extend -> delete lifecycle and the trouble it meets."""

    index: int
    deferrable: bool
    auth: Literal["token", "login"]
    size_gb: int
    target_gb: int
    kill: Task | None  # the first try of this task is killed -9 once its change is committed
    restart_triggers: bool  # each trigger is cancelled part-way and rebuilt from serialize()
    bind_fails: bool
    resize_fails: bool
    cleanup_fails: bool  # the DELETE after a failed bind is refused too

    @property
    def label(self) -> str:
        mode = "deferrable" if self.deferrable else "plain"
        extras = [
            f"kill:{self.kill}" if self.kill else "",
            "restart" if self.restart_triggers else "",
            "bind-fails" if self.bind_fails else "",
            "resize-fails" if self.resize_fails else "",
            "cleanup-fails" if self.cleanup_fails else "",
        ]
        return " ".join([f"#{self.index}", mode, self.auth, *[e for e in extras if e]])


def draw_plans(count: int, seed: int) -> list[Plan]:
    """Draw ``count`` plans; every kind of trouble appears in any run of 30 or more."""
    rng = random.Random(seed)
    plans = []
    for index in range(count):
        size = rng.randint(5, 50)
        bind_fails = index % 7 == 3
        plans.append(
            Plan(
                index=index,
                deferrable=index % 2 == 1,
                auth="login" if index % 3 == 2 else "token",
                size_gb=size,
                target_gb=size + rng.randint(5, 50),
                kill=TASKS[index // 2 % 3] if index % 5 == 4 else None,
                restart_triggers=index % 4 == 1,
                bind_fails=bind_fails,
                resize_fails=index % 11 == 6,
                cleanup_fails=bind_fails and index % 2 == 1,
            )
        )
    return plans


def fault_rules(seed: int) -> list[dict[str, Any]]:
    """The random faults installed for the whole run (the emulator rolls its own seeded dice)."""
    del seed  # the emulator's generator is seeded through its settings
    post = "POST"
    return [
        {"kind": "status", "status": 503, "rate": 0.07},
        {"kind": "status", "status": 500, "method": "GET", "rate": 0.04},
        {"kind": "status", "status": 502, "rate": 0.02},
        {"kind": "status", "status": 429, "retry_after": 1, "rate": 0.04},
        {"kind": "latency", "seconds": 0.15, "rate": 0.07},
        {"kind": "latency", "seconds": 0.5, "rate": 0.02},  # past the client's 0.3 s timeout
        {"kind": "drop", "rate": 0.02},
        {"kind": "commit_then_drop", "method": post, "rate": 0.04},
        {"kind": "commit_then_drop", "method": "DELETE", "rate": 0.03},
        {"kind": "late_commit", "operation": "createNetworkVolume", "seconds": 0.8, "rate": 0.06},
        {"kind": "error_then_commit", "operation": "createNetworkVolume", "seconds": 0.6, "rate": 0.05},
        {"kind": "error_then_commit", "operation": "extendNetworkVolume", "seconds": 0.3, "rate": 0.04},
    ]
