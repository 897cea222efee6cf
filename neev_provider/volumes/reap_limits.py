"""The reaper's two limits, which the reap operator checks when a DAG file is parsed.

Kept apart from :mod:`neev_provider.volumes.reap` so that a parse loads only these few lines,
not the reaper and the models it judges (``benchmarks/parse_cost.py``).
"""

from __future__ import annotations

from datetime import timedelta

from neev_provider.client.errors import NeevCloudValidationError

#: The shortest ``max_age`` accepted: a shorter lease would reap volumes that tasks still use.
MIN_MAX_AGE = timedelta(minutes=15)
DEFAULT_MAX_DELETIONS = 20


def check_max_age(value: timedelta) -> timedelta:
    """Refuse a lease shorter than :data:`MIN_MAX_AGE`: it would reap volumes that tasks still use."""
    if value < MIN_MAX_AGE:
        raise NeevCloudValidationError(
            "max_age",
            f"{value.total_seconds():g} s",
            f"must be at least {duration_words(MIN_MAX_AGE)} (a lease longer than any run that keeps a "
            "volume), e.g. timedelta(hours=6); a number is read as seconds",
        )
    return value


def check_max_deletions(value: object) -> int:
    """Check the cap on one run's deletions: a whole number, at least 1."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise NeevCloudValidationError("max_deletions", value, "must be a whole number of at least 1")
    return value


def duration_words(delta: timedelta) -> str:
    """Say a duration in its largest whole unit (``6 h``, ``15 min``), for messages."""
    seconds = int(delta.total_seconds())
    if seconds >= 2 * 86400:
        return f"{seconds // 86400} d"
    if seconds >= 2 * 3600:
        return f"{seconds // 3600} h"
    if seconds >= 120:
        return f"{seconds // 60} min"
    return f"{seconds} s"
