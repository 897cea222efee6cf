"""The deterministic name a create task gives its volume when none is set."""

from __future__ import annotations

import hashlib
import re

_NOT_ALLOWED = re.compile(r"[^a-z0-9]+")
_STEM_CHARS = 50  # leaves room for "-" and the 10-character digest within 63


def default_volume_name(dag_id: str, task_id: str, run_id: str, map_index: int = -1) -> str:
    """Return a DNS-label name unique to one task instance, and the same on every try.

    The readable stem comes from the DAG and task ids; the digest covers all four parts,
    so that different runs and mapped instances never share a name. Retries of the same
    task instance get the same name, which is how a retry finds the volume an earlier
    try created instead of creating a second one.
    """
    key = "\x00".join((dag_id, task_id, run_id, str(map_index)))
    digest = hashlib.sha256(key.encode()).hexdigest()[:10]
    stem = _NOT_ALLOWED.sub("-", f"{dag_id}-{task_id}".lower())[:_STEM_CHARS].strip("-")
    return f"{stem}-{digest}" if stem else f"volume-{digest}"
