"""Which Airflow installation this is: the identity every default volume name is scoped to.

``[neevcloud] deployment_id`` names it. Unset, it is a digest of the metadata database's address
(``[database] sql_alchemy_conn`` without its credentials): one per installation, the same on every
worker that shares that database, and unchanged by a password rotation. Set it explicitly when
workers do not all see the database setting, and give each installation sharing a NeevCloud
project its own.
"""

from __future__ import annotations

import hashlib
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from neev_provider._compat import conf
from neev_provider.client import validation
from neev_provider.volumes.naming import default_volume_name


def deployment_id() -> str:
    """Return ``[neevcloud] deployment_id``, or the digest of the metadata database's address."""
    configured = conf.get("neevcloud", "deployment_id", fallback=None)
    if configured:
        return validation.non_empty(
            configured, "[neevcloud] deployment_id", max_length=validation.MAX_ID_CHARS
        )
    database = str(conf.get("database", "sql_alchemy_conn", fallback="") or "")
    return "db-" + hashlib.sha256(_without_credentials(database).encode()).hexdigest()[:16]


def _without_credentials(url: str) -> str:
    """The URL with its user and password removed: a rotated password must not rename volumes."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


def task_volume_name(ti: Any) -> str:
    """Return the default volume name of a task instance in this deployment."""
    map_index = -1 if ti.map_index is None else ti.map_index
    return default_volume_name(deployment_id(), ti.dag_id, ti.task_id, ti.run_id, map_index)
