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
              (``token`` | ``login``), ``timeout`` (seconds, at most 3600), ``verify``
              (true, false or a CA bundle path), ``max_retries`` (0 to 10)
============  ==============================================================================

A connection is checked whole when it is read: every problem is collected and reported in
one :class:`~neev_provider.client.errors.NeevCloudConfigurationError`, always in the order
:data:`CHECK_ORDER`, each naming the field or extra key to set.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from neev_provider.client import validation
from neev_provider.client.auth import Auth, LoginAuth, TokenAuth
from neev_provider.client.config import DEFAULT_HOST, DEFAULT_TIMEOUT_SECONDS, ClientConfig
from neev_provider.client.errors import NeevCloudConfigurationError, NeevCloudValidationError
from neev_provider.client.retry import RetryPolicy

T = TypeVar("T")

AUTH_TYPES = ("token", "login")
#: The order problems are reported in: the connection form's, top to bottom.
CHECK_ORDER = (
    "extra",
    "host",
    "auth_type",
    "login",
    "password",
    "org_id",
    "project_id",
    "region_id",
    "timeout",
    "verify",
    "max_retries",
)
_LOOPBACK_HOSTS = ("127.", "localhost", "[::1]", "::1")
# Airflow's UI and REST API test a connection under a temporary id of 8 random letters and digits.
_TEMPORARY_ID = re.compile(r"^[A-Za-z0-9]{8}$")


@dataclass(frozen=True)
class ConnectionFields:
    """The parts of an Airflow connection this provider reads.

    :param extra_error: why the connection's raw extra is not a JSON object, if it is not
        (Airflow then hands over an empty extra, which would read as "org_id must be set").
    """

    conn_id: str
    host: str | None = None
    port: int | None = None
    login: str | None = None
    password: str | None = None
    extra: Mapping[str, Any] | None = None
    extra_error: str | None = None

    def __repr__(self) -> str:
        return f"ConnectionFields(conn_id={self.conn_id!r}, host={self.host!r}, login={self.login!r})"


def fingerprint(fields: ConnectionFields) -> str:
    """Return a digest of everything a client is built from, to notice a changed connection.

    A digest, so that the secret it covers is never kept or compared in the clear.
    """
    material = [fields.host, fields.port, fields.login, fields.password, dict(fields.extra or {})]
    return hashlib.sha256(json.dumps(material, sort_keys=True, default=str).encode()).hexdigest()


def extra_problem(raw: object) -> str | None:
    """Say why a connection's raw ``extra`` text is not a JSON object, or ``None`` if it is (or is empty)."""
    if raw is None or isinstance(raw, Mapping) or (isinstance(raw, str) and not raw.strip()):
        return None
    if not isinstance(raw, str):
        return f"it is a {type(raw).__name__}, not a JSON object"
    try:
        parsed = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        # A JSONDecodeError says where, never what: the extra may hold secrets.
        return f"it is not valid JSON ({str(exc)[:120]})"
    return None if isinstance(parsed, dict) else f"it is JSON but not an object (a {type(parsed).__name__})"


def connection_label(conn_id: str, *, testing: bool = False, environ: Mapping[str, str] = os.environ) -> str:
    """Name a connection in messages: ``connection 'neevcloud_default'``.

    :param testing: the connection is being tested from Airflow's UI or REST API, which read it
        under a temporary random id (exported as ``AIRFLOW_CONN_<ID>``); such an id means
        nothing to the user, so it is called "the connection being tested".
    """
    if (
        testing
        and _TEMPORARY_ID.match(conn_id)
        and not conn_id.islower()
        and f"AIRFLOW_CONN_{conn_id.upper()}" in environ
    ):
        return "the connection being tested"
    return f"connection {conn_id!r}"


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


class _Problems:
    """Run checks, collecting each one's validation error instead of stopping at the first."""

    def __init__(self) -> None:
        self.found: list[NeevCloudValidationError] = []

    def check(self, run: Callable[[], T]) -> T | None:
        try:
            return run()
        except NeevCloudValidationError as error:
            self.found.append(error)
            return None

    def add(self, error: NeevCloudValidationError) -> None:
        self.found.append(error)

    def raise_any(self, source: str) -> None:
        if self.found:
            rank = {name: index for index, name in enumerate(CHECK_ORDER)}
            ordered = sorted(self.found, key=lambda e: rank.get(e.field.removeprefix("extra."), len(rank)))
            raise NeevCloudConfigurationError(source, ordered)


def _host(fields: ConnectionFields) -> str:
    try:
        return validation.base_url(base_url(fields.host, fields.port), "host")
    except NeevCloudValidationError as error:
        # Name the value as the user typed it, not as completed with a scheme and port.
        raise NeevCloudValidationError(
            "host", validation.without_credentials(fields.host), error.rule
        ) from None


def _auth_type(extra: Mapping[str, Any]) -> str:
    auth_type = str(extra_value(extra, "auth_type") or "token").strip().lower()
    if auth_type not in AUTH_TYPES:
        raise NeevCloudValidationError(
            "extra.auth_type", auth_type, f"must be one of {', '.join(AUTH_TYPES)}"
        )
    return auth_type


def _credentials(
    fields: ConnectionFields, auth_type: str | None, on_token: Callable[[str], None], problems: _Problems
) -> Auth | None:
    if auth_type == "login":
        email = problems.check(lambda: _required_text(fields.login, "login", "the account e-mail", 254))
        password = problems.check(lambda: _secret(fields.password, "the account password", validation.secret))
        if email is None or password is None:
            return None
        return LoginAuth(email, password, on_token=on_token)
    token = problems.check(lambda: _secret(fields.password, "the API token (pat-nc-…)", validation.token))
    return None if token is None else TokenAuth(token)


def _required_text(value: str | None, field: str, what: str, max_length: int) -> str:
    if not value:
        rule = f"set {what} in the connection's {field} field, or set the extra auth_type to token"
        raise NeevCloudValidationError(field, None, rule, missing=True)
    return validation.non_empty(value, field, max_length=max_length)


def _secret(value: str | None, what: str, check: Callable[[object, str], str]) -> str:
    if not value:
        raise NeevCloudValidationError(
            "password", None, f"set {what} in the connection's password field", missing=True
        )
    return check(value, "password")


def _scope(given: str | None, extra: Mapping[str, Any], name: str, example: str) -> str:
    """The task's override if given, else the extra; named as the user must fix it."""
    if given is not None and given != "":
        return validation.scope_id(given, name)
    value = extra_value(extra, name)
    if value is None:
        rule = (
            f'set "{name}" in the connection\'s extra (e.g. {{"{name}": "{example}"}}) or {name}= on the task'
        )
        raise NeevCloudValidationError(f"extra.{name}", None, rule, missing=True)
    return validation.scope_id(str(value) if isinstance(value, int) else value, f"extra.{name}")


def _verify(value: Any) -> bool | str:
    # A CA bundle path is passed through (it must exist); anything else must read as a boolean.
    if isinstance(value, str) and ("/" in value or "\\" in value):
        return validation.tls_verify(value, "extra.verify")
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes", "on"):
        return True
    if text in ("false", "0", "no", "off"):
        return False
    raise NeevCloudValidationError("extra.verify", value, "must be true, false or the path of a CA bundle")


def _settings(
    extra: Mapping[str, Any], problems: _Problems
) -> tuple[float | None, bool | str | None, int | None]:
    timeout, verify, retries = (extra_value(extra, name) for name in ("timeout", "verify", "max_retries"))
    return (
        DEFAULT_TIMEOUT_SECONDS
        if timeout is None
        else problems.check(
            lambda: validation.positive_number(
                timeout, "extra.timeout", maximum=validation.MAX_REQUEST_TIMEOUT
            )
        ),
        True if verify is None else problems.check(lambda: _verify(verify)),
        RetryPolicy().max_retries
        if retries is None
        else problems.check(lambda: validation.retries(retries, "extra.max_retries")),
    )


def client_config(
    fields: ConnectionFields,
    *,
    org_id: str | None = None,
    project_id: str | None = None,
    region_id: str | None = None,
    require_region: bool = False,
    on_token: Callable[[str], None] = lambda _: None,
    label: str | None = None,
) -> ClientConfig:
    """Return the client configuration a connection describes; ``org_id``/``project_id`` override it.

    :param require_region: also require a region (``region_id``, else the extra's): a create needs one.
    :param label: how to name the connection in messages (default ``connection '<conn_id>'``).
    :raises NeevCloudConfigurationError: listing every problem, in :data:`CHECK_ORDER`.
    """
    source = label or connection_label(fields.conn_id)
    problems = _Problems()
    if fields.extra_error:
        rule = f'{fields.extra_error}; write it as {{"org_id": "…", "project_id": "…"}}'
        problems.add(NeevCloudValidationError("extra", None, rule, show_value=False))
    extra = fields.extra or {}
    host = problems.check(lambda: _host(fields))
    auth_type = problems.check(lambda: _auth_type(extra))
    auth = _credentials(fields, auth_type, on_token, problems)
    org = problems.check(lambda: _scope(org_id, extra, "org_id", "org-abc123"))
    project = problems.check(lambda: _scope(project_id, extra, "project_id", "prj-abc123"))
    if require_region:
        problems.check(lambda: _scope(region_id, extra, "region_id", "as-south-1"))
    timeout, verify, retries = _settings(extra, problems)
    problems.raise_any(source)
    tls = True if verify is None else verify  # None only with a problem, raised above
    return ClientConfig(
        org_id=_present(org),
        project_id=_present(project),
        auth=_present(auth),
        host=_present(host),
        timeout=_present(timeout),
        verify=tls,
        retry=RetryPolicy(max_retries=_present(retries)),
        label=source,
    )


def _present(value: T | None) -> T:
    # Every check that returned None recorded a problem, and problems were raised above.
    if value is None:
        raise AssertionError("a value is missing although no problem was reported")
    return value


def default_region(fields: ConnectionFields) -> str | None:
    """Return the connection's default region for new volumes, if it names one."""
    value = extra_value(fields.extra or {}, "region_id")
    return str(value) if value else None
