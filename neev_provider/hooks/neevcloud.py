"""The Airflow hook: a ``neevcloud`` connection in, a configured client out."""

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import replace
from functools import cached_property
from typing import TYPE_CHECKING, Any

from neev_provider._compat import (
    AirflowNotFoundException,
    BaseHook,
    aget_connection,
    aget_extras,
    mask_secret,
)
from neev_provider.client import ClientConfig, NeevCloudError
from neev_provider.hooks import DEFAULT_CONN_ID
from neev_provider.hooks.connection import (
    ConnectionFields,
    client_config,
    connection_label,
    default_region,
    extra_problem,
    extra_value,
    fingerprint,
)
from neev_provider.hooks.form import HOOK_UI_FIELD_BEHAVIOUR, connection_form_widgets

if TYPE_CHECKING:
    from neev_provider.client import NeevCloudClient


class NeevCloudHook(BaseHook):
    """Interact with the NeevCloud Storage API through a ``neevcloud`` connection.

    The client is built lazily, on first use, so constructing the hook costs nothing.

    :param neev_conn_id: the connection id.
    :param org_id: overrides the connection's organisation.
    :param project_id: overrides the connection's project.
    """

    conn_name_attr = "neev_conn_id"
    default_conn_name = DEFAULT_CONN_ID
    conn_type = "neevcloud"
    hook_name = "NeevCloud"

    def __init__(
        self,
        neev_conn_id: str = default_conn_name,
        *,
        org_id: str | None = None,
        project_id: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.neev_conn_id = neev_conn_id
        self.org_id = org_id
        self.project_id = project_id
        # Set while Airflow's UI, REST API or CLI tests the connection (see test_connection).
        self._testing = False

    def __repr__(self) -> str:
        return f"NeevCloudHook(neev_conn_id={self.neev_conn_id!r})"

    # -- building clients -----------------------------------------------------------

    @cached_property
    def _fields(self) -> ConnectionFields:
        try:
            connection = self.get_connection(self.neev_conn_id)
        except AirflowNotFoundException:
            _explain_unreadable_connection(self.neev_conn_id, self.label)
            raise
        return _fields_of(connection, self.neev_conn_id)

    @property
    def label(self) -> str:
        """How messages name the connection: ``connection '<id>'`` (or "the connection being tested")."""
        return connection_label(self.neev_conn_id, testing=self._testing)

    def get_config(self) -> ClientConfig:
        """Return the client configuration of the connection.

        :raises ~neev_provider.client.errors.NeevCloudConfigurationError: listing every problem
            of the connection (and of the overrides) at once.
        """
        config = client_config(
            self._fields, org_id=self.org_id, project_id=self.project_id, on_token=_mask, label=self.label
        )
        for secret in config.auth.secrets():
            _mask(secret)
        return config

    def region_for(self, region_id: str | None) -> str:
        """Return the region of a new volume: ``region_id``, else the connection's ``region_id`` extra.

        The whole connection is checked at the same time, so a create that lacks a region *and*
        a project reports both at once.
        """
        client_config(
            self._fields,
            org_id=self.org_id,
            project_id=self.project_id,
            region_id=region_id,
            require_region=True,
            label=self.label,
        )
        region = region_id or default_region(self._fields)
        assert region is not None  # require_region raised otherwise
        return region

    @cached_property
    def client(self) -> NeevCloudClient:
        """The sync client, built on first use and then reused."""
        return self.new_client()

    def close(self) -> None:
        """Close the cached sync client, if one was built; the next use builds a new one."""
        client = self.__dict__.pop("client", None)  # a cached_property lives in __dict__
        if client is not None:
            client.close()

    def new_client(self, *, timeout: float | None = None, max_retries: int | None = None) -> NeevCloudClient:
        """Return a new sync client of its own (the caller closes it), e.g. for ``on_kill``.

        :param timeout: a whole-call budget (seconds) shorter than the connection's, if given.
        :param max_retries: retries instead of the connection's.
        """
        # Imported here: requests loads when a task first calls the API, not when a DAG is parsed.
        from neev_provider.client import NeevCloudClient
        from neev_provider.client.retry import RetryPolicy

        config = self.get_config()
        if timeout is not None:
            config = replace(config, timeout=min(config.timeout, timeout), call_timeout=timeout)
        if max_retries is not None:
            config = replace(config, retry=RetryPolicy(max_retries=max_retries))
        return NeevCloudClient(config)

    def get_conn(self) -> NeevCloudClient:
        """Return the sync client (Airflow's conventional accessor)."""
        return self.client

    @property
    def default_region(self) -> str | None:
        """The connection's ``region_id`` extra, the default region of new volumes."""
        return default_region(self._fields)

    @property
    def console_url_template(self) -> str | None:
        """The connection's ``console_url`` extra: the template of the NeevCloud console link."""
        value = extra_value(self._fields.extra or {}, "console_url")
        return str(value) if value else None

    async def aget_config(self) -> tuple[ClientConfig, str]:
        """Read the connection in a way safe inside the triggerer.

        :return: the client configuration, and a fingerprint of the connection's settings (a
            digest, never the settings): it changes when the token, host or extras change.
        """
        try:
            connection = await aget_connection(self.neev_conn_id)
        except AirflowNotFoundException:
            _explain_unreadable_connection(self.neev_conn_id, self.label)
            raise
        # An extra that is not a JSON object is reported by _fields_of; read as extras, it would
        # fail first with a bare TypeError.
        readable = extra_problem(getattr(connection, "extra", None)) is None
        extra = await aget_extras(connection) if readable else None
        fields = _fields_of(connection, self.neev_conn_id, extra=extra)
        config = client_config(
            fields, org_id=self.org_id, project_id=self.project_id, on_token=_mask, label=self.label
        )
        for secret in config.auth.secrets():
            await _amask(secret)
        return config, fingerprint(fields)

    # -- Airflow UI and CLI ---------------------------------------------------------

    def test_connection(self) -> tuple[bool, str]:
        """List one volume to prove the URL, credentials, organisation and project are right.

        Every problem of the connection is reported at once; Airflow's UI tests a connection
        under a temporary id, so messages then say "the connection being tested".
        """
        self._testing = True
        try:
            page = self.client.list_volumes(limit=1)
        except NeevCloudError as error:
            return False, str(error)
        config = self.client.config
        count = "?" if page.total_items is None else page.total_items
        note = " TLS certificate verification is OFF (verify=false)." if config.verify is False else ""
        return True, f"Connected to {config.host}: project {config.project_id} has {count} volume(s).{note}"

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        """Return the connection form's hidden fields, relabelling and placeholders (Airflow < 3.2)."""
        return HOOK_UI_FIELD_BEHAVIOUR

    @classmethod
    def get_connection_form_widgets(cls) -> dict[str, Any]:
        """Return the extra fields of the connection form (Airflow < 3.2)."""
        return connection_form_widgets()


def _fields_of(connection: Any, conn_id: str, *, extra: dict[str, Any] | None = None) -> ConnectionFields:
    # Airflow logs a traceback and hands over {} for an extra that is not JSON: say so instead.
    problem = extra_problem(getattr(connection, "extra", None))
    return ConnectionFields(
        conn_id=conn_id,
        host=connection.host,
        port=connection.port,
        login=connection.login,
        password=connection.password,
        extra={} if problem else connection.extra_dejson if extra is None else extra,
        extra_error=problem,
    )


def _explain_unreadable_connection(conn_id: str, label: str) -> None:
    """Raise the provider's error for a connection Airflow could not read, if its cause is known.

    Airflow 3.0 and 3.1 drop an ``AIRFLOW_CONN_<ID>`` variable whose ``extra`` is not a JSON object
    (their environment backend fails to build the connection and the lookup goes on), and then
    report the connection as not defined. Such a variable is read here to say what is wrong in it.
    """
    raw = os.environ.get(f"AIRFLOW_CONN_{conn_id.upper()}")
    if raw is None or not raw.lstrip().startswith("{"):
        return
    try:
        document = json.loads(raw)
    except ValueError:
        return
    if not isinstance(document, dict) or extra_problem(document.get("extra")) is None:
        return
    fields = ConnectionFields(
        conn_id=conn_id,
        host=document.get("host"),
        port=document.get("port"),
        login=document.get("login"),
        password=document.get("password"),
        extra_error=extra_problem(document.get("extra")),
    )
    client_config(fields, label=label)


def _mask(secret: str) -> None:
    """Register a derived secret (a normalised token, a login token) with Airflow's masker.

    Called on the triggerer's event loop (a login token the async client obtained), it hands the
    work to a task of that loop (:func:`_amask`), kept until done.
    """
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        mask_secret(secret)
        return
    task = loop.create_task(_amask(secret))
    _MASKING.add(task)
    task.add_done_callback(_MASKING.discard)


_MASKING: set[asyncio.Task[None]] = set()


async def _amask(secret: str) -> None:
    """Register a secret from inside an event loop, without blocking it.

    On Airflow 3, ``mask_secret`` also tells the supervising process, over the pipe the triggerer
    shares with it. Airflow 3.3 has an async form; before, the call must run in an asgiref
    ``sync_to_async`` thread, whose requests go through the loop's own conversation: from a
    plain thread it would open a second one on the same pipe, and the triggerer reads answers
    out of order and dies.
    """
    try:  # Airflow 3.3+
        from airflow.sdk.log import amask_secret
    except ImportError:
        from asgiref.sync import sync_to_async

        await sync_to_async(mask_secret)(secret)
    else:
        await amask_secret(secret)
