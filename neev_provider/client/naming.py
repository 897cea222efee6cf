"""The deterministic name a create task gives its volume when none is set, and how to recognise it.

A default name is ``{stem}-{digest}{check}``: a readable stem from the DAG and task ids, a
10-character digest of the whole task-instance key, and a 4-character check computed from the
stem and the digest. The check lets :mod:`neev_provider.client.reaper` tell a name this provider
generated from a name a person chose that merely looks similar (a chance of 1 in 65,536), so that
it never reaps somebody else's volume.
"""

from __future__ import annotations

import hashlib
import re

_NOT_ALLOWED = re.compile(r"[^a-z0-9]+")
_DIGEST_CHARS = 10
_CHECK_CHARS = 4
# 63 (a DNS label) minus "-" and the 14 hex characters of digest and check.
_STEM_CHARS = 48
_DEFAULT_NAME = re.compile(
    rf"^(?P<stem>[a-z0-9][-a-z0-9]*)-(?P<digest>[0-9a-f]{{{_DIGEST_CHARS}}})"
    rf"(?P<check>[0-9a-f]{{{_CHECK_CHARS}}})$"
)


def _check(stem: str, digest: str) -> str:
    return hashlib.sha256(f"neevcloud-volume:{stem}:{digest}".encode()).hexdigest()[:_CHECK_CHARS]


def default_volume_name(dag_id: str, task_id: str, run_id: str, map_index: int = -1) -> str:
    """Return a DNS-label name unique to one task instance, and the same on every try.

    The digest covers all four parts, so that different runs and mapped instances never share a
    name. Retries of the same task instance get the same name, which is how a retry finds the
    volume an earlier try created instead of creating a second one.
    """
    key = "\x00".join((dag_id, task_id, run_id, str(map_index)))
    digest = hashlib.sha256(key.encode()).hexdigest()[:_DIGEST_CHARS]
    stem = _NOT_ALLOWED.sub("-", f"{dag_id}-{task_id}".lower())[:_STEM_CHARS].strip("-") or "volume"
    return f"{stem}-{digest}{_check(stem, digest)}"


def is_default_name(name: str) -> bool:
    """Tell whether ``name`` has the form :func:`default_volume_name` generates (its check included)."""
    match = _DEFAULT_NAME.match(name)
    return match is not None and match["check"] == _check(match["stem"], match["digest"])
