"""Turn the fields of an Airflow connection into a client configuration.

Pure functions, no Airflow imports: the sync hook and the trigger's async path read the
connection differently but translate it here, once.

Fields of a ``neevcloud`` connection:

============  ==============================================================================
host          API gateway (default ``https://api.ai.neevcloud.com``). Without a scheme,
              ``https://`` is assumed, except for a loopback host (an emulator): ``http://``.
port          optional, appended to a host given without a port
password      bearer token (``pat-nc-…`` or an access token), or the account password
login         e-mail, for ``auth_type=login`` only
extra         ``org_id``, ``project_id`` (required), ``region_id``, ``auth_type``
              (``token`` | ``login``), ``timeout`` (seconds), ``verify``, ``max_retries``
============  ==============================================================================
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from neev_provider.client import validation
from neev_provider.client.auth import Auth, LoginAuth, TokenAuth
from neev_provider.client.config import DEFAULT_HOST, DEFAULT_TIMEOUT_SECONDS, ClientConfig
from neev_provider.client.errors import NeevCloudValidationError
from neev_provider.client.retry import RetryPolicy

AUTH_TYPES = ("token", "login")
_LOOPBACK_HOSTS = ("127.", "localhost", "[::1]", "::1")


@dataclass(frozen=True)
class ConnectionFields:
    """The parts of an Airflow connection this provider reads."""

    conn_id: str
    host: str | None = None
    port: int | None = None
    login: str | None = None
    password: str | None = None
    extra: Mapping[str, Any] | None = None

    def __repr__(self) -> str:
        return f"ConnectionFields(conn_id={self.conn_id!r}, host={self.host!r}, login={self.login!r})"


def fingerprint(fields: ConnectionFields) -> str:
    """Return a digest of everything a client is built from, to notice a changed connection.

    A digest, so that the secret it covers is never kept or compared in the clear.
    """
    material = [fields.host, fields.port, fields.login, fields.password, dict(fields.extra or {})]
    return hashlib.sha256(json.dumps(material, sort_keys=True, default=str).encode()).hexdigest()


def extra_value(extra: Mapping[str, Any], name: str) -> Any:
    """Read an extra by name, also under the ``extra__neevcloud__`` prefix older UIs write."""
    value = extra.get(name)
    if value in (None, ""):
        value = extra.get(f"extra__neevcloud__{name}")
    return None if value == "" else value


def base_url(host: str | None, port: int | None) -> str:
    """Return the gateway URL for the connection's host and port fields."""
    if not host:
        return DEFAULT_HOST
    host = host.strip().rstrip("/")
    if "://" not in host:
        scheme = "http" if host.startswith(_LOOPBACK_HOSTS) else "https"
        host = f"{scheme}://{host}"
    if port and host.count(":") < 2:
        host = f"{host}:{port}"
    return host


def _as_bool(value: Any, field: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes", "on"):
        return True
    if text in ("false", "0", "no", "off"):
        return False
    raise NeevCloudValidationError(field, value, "must be true or false")


def _as_count(value: Any, field: str) -> int:
    try:
        return validation.whole_number(value if isinstance(value, int) else str(value), field)
    except NeevCloudValidationError:
        raise NeevCloudValidationError(field, value, "must be a whole number from 0") from None


def _as_number(value: Any, field: str) -> float:
    try:
        return validation.positive_number(float(value), field)
    except (TypeError, ValueError):
        raise NeevCloudValidationError(field, value, "must be a number greater than 0") from None


def build_auth(fields: ConnectionFields, extra: Mapping[str, Any], on_token: Callable[[str], None]) -> Auth:
    """Build the credentials the connection's ``auth_type`` asks for."""
    auth_type = str(extra_value(extra, "auth_type") or "token").strip().lower()
    if auth_type not in AUTH_TYPES:
        raise NeevCloudValidationError(
            "extra.auth_type", auth_type, f"must be one of {', '.join(AUTH_TYPES)}"
        )
    if auth_type == "login":
        return LoginAuth(fields.login or "", fields.password or "", on_token=on_token)
    return TokenAuth(fields.password or "")


def client_config(
    fields: ConnectionFields,
    *,
    org_id: str | None = None,
    project_id: str | None = None,
    on_token: Callable[[str], None] = lambda _: None,
) -> ClientConfig:
    """Return the client configuration a connection describes; ``org_id``/``project_id`` override it."""
    extra = fields.extra or {}
    org = org_id or extra_value(extra, "org_id")
    project = project_id or extra_value(extra, "project_id")
    if not org:
        raise NeevCloudValidationError(
            "org_id", org, f"must be set in the extra of connection {fields.conn_id!r} or on the task"
        )
    if not project:
        raise NeevCloudValidationError(
            "project_id", project, f"must be set in the extra of connection {fields.conn_id!r} or on the task"
        )
    timeout = extra_value(extra, "timeout")
    verify = extra_value(extra, "verify")
    retries = extra_value(extra, "max_retries")
    return ClientConfig(
        org_id=str(org),
        project_id=str(project),
        auth=build_auth(fields, extra, on_token),
        host=base_url(fields.host, fields.port),
        timeout=DEFAULT_TIMEOUT_SECONDS if timeout is None else _as_number(timeout, "extra.timeout"),
        verify=True if verify is None else _verify(verify),
        retry=RetryPolicy()
        if retries is None
        else RetryPolicy(max_retries=_as_count(retries, "extra.max_retries")),
    )


def _verify(value: Any) -> bool | str:
    # A CA bundle path is passed through; anything else must read as a boolean.
    if isinstance(value, str) and ("/" in value or "\\" in value):
        return value
    return _as_bool(value, "extra.verify")


def default_region(fields: ConnectionFields) -> str | None:
    """Return the connection's default region for new volumes, if it names one."""
    value = extra_value(fields.extra or {}, "region_id")
    return str(value) if value else None
