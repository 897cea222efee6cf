"""What the emulator's records say about a run: volumes' lives by name, duplicates, leftovers.

Pure functions over the emulator's lifecycle events (``GET /_emulator/events``): a volume is
alive from its ``created`` event until its ``deleted`` event (a ``terminated`` volume still
costs money, so it counts as alive until it is gone).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CREATED = "created"
DELETED = "deleted"


@dataclass(frozen=True)
class Life:
    """One volume's life: when it was created and, if it is gone, when it was deleted."""

    volume_id: str
    name: str
    created: float
    deleted: float | None


def lives(events: Iterable[Mapping[str, Any]]) -> list[Life]:
    """Return every volume's life, in order of creation."""
    created: dict[str, tuple[str, float]] = {}
    deleted: dict[str, float] = {}
    for event in events:
        what = str(event["event"])
        if what.startswith(CREATED):
            created[event["volume_id"]] = (event["volume_name"], float(event["time"]))
        elif what == DELETED:
            deleted[event["volume_id"]] = float(event["time"])
    return sorted(
        (Life(volume_id, name, at, deleted.get(volume_id)) for volume_id, (name, at) in created.items()),
        key=lambda life: life.created,
    )


def creates_by_name(all_lives: Iterable[Life]) -> Counter[str]:
    """How many volumes were ever created under each name."""
    return Counter(life.name for life in all_lives)


def peak_alive_by_name(all_lives: Iterable[Life]) -> dict[str, int]:
    """The most volumes of each name alive at one instant.

    A deletion and a creation at the same instant do not overlap (the deletion counts first).
    """
    changes: dict[str, list[tuple[float, int]]] = defaultdict(list)
    for life in all_lives:
        changes[life.name].append((life.created, +1))
        if life.deleted is not None:
            changes[life.name].append((life.deleted, -1))
    peaks = {}
    for name, steps in changes.items():
        alive = peak = 0
        for _, step in sorted(steps):
            alive += step
            peak = max(peak, alive)
        peaks[name] = peak
    return peaks


def alive_at_end(all_lives: Iterable[Life]) -> list[Life]:
    """The volumes never deleted."""
    return [life for life in all_lives if life.deleted is None]


def files_containing(root: Path, secret: str) -> list[Path]:
    """Every file under ``root`` whose bytes contain ``secret``."""
    needle = secret.encode()
    return sorted(path for path in root.rglob("*") if path.is_file() and needle in path.read_bytes())
