"""Which Airflow installation this is: the identity every default volume name is scoped to.

``[neevcloud] deployment_id`` names it. Unset, it is a digest of an address that every task
process of one installation sees alike, and that differs between installations:

- on Airflow 2, the metadata database's (``[database] sql_alchemy_conn`` without its
  credentials, so that a password rotation renames nothing);
- on Airflow 3, where task processes cannot see the database setting (the task runner replaces
  it to block database access), the execution API's: ``[core] execution_api_server_url``, by
  default ``[api] base_url`` + ``/execution/``, through which every worker reaches the
  installation's API server. A loopback address is qualified by the host name: installations on
  two machines may both call theirs ``localhost:8080``.

Set it explicitly when workers reach the database or the API server under different addresses,
and give each installation sharing a NeevCloud project its own.

Only a configured id makes a default name a *proof* of ownership. A derived one names volumes
(a retry still finds the volume of its task instance) but proves nothing: installations made
from one docker-compose file or Helm chart share their addresses, and so the same DAG's runs
there share names. Without it, nothing deletes on its own a volume found only by its name.
"""

from __future__ import annotations

import hashlib
import importlib.util
import ipaddress
import socket
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from neev_provider._compat import conf
from neev_provider.client import validation
from neev_provider.volumes.naming import default_volume_name


def deployment_id() -> str:
    """Return ``[neevcloud] deployment_id``, or the digest of the installation's address."""
    configured = conf.get("neevcloud", "deployment_id", fallback=None)
    if configured:
        return validation.non_empty(
            configured, "[neevcloud] deployment_id", max_length=validation.MAX_ID_CHARS
        )
    if importlib.util.find_spec("airflow.sdk") is not None:
        return "api-" + _digest(execution_api_address())
    database = str(conf.get("database", "sql_alchemy_conn", fallback="") or "")
    return "db-" + _digest(_without_credentials(database))


def deployment_is_configured() -> bool:
    """Whether ``[neevcloud] deployment_id`` is set, so default names prove ownership (see above)."""
    return bool(conf.get("neevcloud", "deployment_id", fallback=None))


#: What the provider says where a derived deployment id keeps it from cleaning up.
NOT_CONFIGURED = (
    "[neevcloud] deployment_id is not set, so a default name proves nothing (another Airflow "
    "installation with the same addresses makes the same names): set it to a value unique to "
    "this installation (AIRFLOW__NEEVCLOUD__DEPLOYMENT_ID) to let the provider clean up by name"
)


def execution_api_address() -> str:
    """The execution API's URL as this installation's workers use it, qualified if loopback."""
    url = conf.get("core", "execution_api_server_url", fallback=None)
    if not url:
        base = conf.get("api", "base_url", fallback=None) or "http://localhost:8080"
        url = f"{str(base).rstrip('/')}/execution/"
    url = _without_credentials(str(url))
    return f"{url} on {socket.gethostname()}" if _is_loopback(urlsplit(url).hostname) else url


def _is_loopback(host: str | None) -> bool:
    if not host or host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


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
