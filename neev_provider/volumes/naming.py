"""The name a create task gives its volume when none is set, and how to recognise one of them.

A default name is ``{stem}-{digest}{check}``: a readable stem from the DAG and task ids, a
10-character digest of the task-instance key, and an 8-character check keyed by the
*deployment*: one Airflow installation, named by ``[neevcloud] deployment_id``. Only the
deployment that generated a name can recompute its check, so a name in this form is the proof
that this deployment's create made the volume: two Airflow installations sharing one project
never take each other's volumes for their own (a chance of 1 in 2^32 per volume), and neither
does a volume a person named.

Names generated before deployments were part of them (``{stem}-{digest}{4-character check}``)
are recognised as *legacy*: they prove nothing about the deployment, so nothing deletes them on
its own.
"""

from __future__ import annotations

import hashlib
import re

_NOT_ALLOWED = re.compile(r"[^a-z0-9]+")
_DIGEST_CHARS = 10
_CHECK_CHARS = 8
# 63 (a DNS label) minus "-" and the 18 hex characters of digest and check.
_STEM_CHARS = 44
_DEFAULT_NAME = re.compile(
    rf"^(?P<stem>[a-z0-9][-a-z0-9]*)-(?P<digest>[0-9a-f]{{{_DIGEST_CHARS}}})"
    rf"(?P<check>[0-9a-f]{{{_CHECK_CHARS}}})$"
)
_LEGACY_NAME = re.compile(r"^(?P<stem>[a-z0-9][-a-z0-9]*)-(?P<digest>[0-9a-f]{10})(?P<check>[0-9a-f]{4})$")


def _check(deployment: str, stem: str, digest: str) -> str:
    material = f"neevcloud-volume:{deployment}:{stem}:{digest}"
    return hashlib.sha256(material.encode()).hexdigest()[:_CHECK_CHARS]


def default_volume_name(deployment: str, dag_id: str, task_id: str, run_id: str, map_index: int = -1) -> str:
    """Return a DNS-label name unique to one task instance of one deployment, the same on every try.

    The digest covers the deployment and the task-instance key, so that different deployments,
    runs and mapped instances never share a name. Retries of the same task instance get the same
    name, which is how a retry finds the volume an earlier try created instead of creating a second.
    """
    key = "\x00".join((deployment, dag_id, task_id, run_id, str(map_index)))
    digest = hashlib.sha256(key.encode()).hexdigest()[:_DIGEST_CHARS]
    stem = _NOT_ALLOWED.sub("-", f"{dag_id}-{task_id}".lower())[:_STEM_CHARS].strip("-") or "volume"
    return f"{stem}-{digest}{_check(deployment, stem, digest)}"


def is_default_name(name: str, deployment: str) -> bool:
    """Tell whether ``name`` is a default name that ``deployment`` generated (its check verified)."""
    match = _DEFAULT_NAME.match(name)
    return match is not None and match["check"] == _check(deployment, match["stem"], match["digest"])


def is_legacy_default_name(name: str) -> bool:
    """Tell whether ``name`` has the form of a default name of a build before deployment ids."""
    match = _LEGACY_NAME.match(name)
    if match is None:
        return False
    material = f"neevcloud-volume:{match['stem']}:{match['digest']}"
    return match["check"] == hashlib.sha256(material.encode()).hexdigest()[:4]


def looks_generated(name: str) -> bool:
    """Whether ``name`` has the shape of a default name, of whichever deployment.

    A name given to the create operator must not: a name copied from another deployment's volume
    would make that deployment's reaper and retries take the new volume for their own.
    """
    return _DEFAULT_NAME.match(name) is not None
