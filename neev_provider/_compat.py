"""Every import that differs between Airflow 2.10 and 3.3, in one place.

What ``apache-airflow-providers-common-compat`` resolves on every supported Airflow comes from it.
The rest is one ``try`` per group: the groups moved in different releases
(``airflow.sdk.exceptions`` is 3.2's), and the compat provider's shims for them need Airflow 2.11.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

# What the compat provider resolves on every supported Airflow (1.9.0, its last release for
# Airflow 2.10, included); the groups below it only gained in releases needing 2.11.
from airflow.providers.common.compat.sdk import (
    Asset,
    AssetAlias,
    BaseHook,
    BaseOperator,
    BaseOperatorLink,
    BaseSensorOperator,
    Context,
    PokeReturnValue,
    TaskGroup,
)

if TYPE_CHECKING:
    from airflow.sdk import Connection, conf
    from airflow.sdk.exceptions import (
        AirflowException,
        AirflowFailException,
        AirflowNotFoundException,
        AirflowSensorTimeout,
        AirflowSkipException,
        TaskDeferred,
    )
    from airflow.sdk.log import mask_secret
else:
    try:  # Airflow 3.2+
        from airflow.sdk.exceptions import (
            AirflowException,
            AirflowFailException,
            AirflowNotFoundException,
            AirflowSensorTimeout,
            AirflowSkipException,
            TaskDeferred,
        )
    except ImportError:  # Airflow 2.x - 3.1
        from airflow.exceptions import (
            AirflowException,
            AirflowFailException,
            AirflowNotFoundException,
            AirflowSensorTimeout,
            AirflowSkipException,
            TaskDeferred,
        )

    try:  # Airflow 3.2+
        from airflow.sdk import conf
    except ImportError:
        from airflow.configuration import conf

    try:  # Airflow 3.1+
        from airflow.sdk.log import mask_secret
    except ImportError:
        try:  # Airflow 3.0
            from airflow.sdk.execution_time.secrets_masker import mask_secret
        except ImportError:  # Airflow 2.x
            from airflow.utils.log.secrets_masker import mask_secret

if TYPE_CHECKING:
    from airflow.triggers.base import BaseTrigger, TriggerEvent

__all__ = [
    "AirflowException",
    "AirflowFailException",
    "AirflowNotFoundException",
    "AirflowSensorTimeout",
    "AirflowSkipException",
    "Asset",
    "AssetAlias",
    "BaseHook",
    "BaseOperator",
    "BaseOperatorLink",
    "BaseSensorOperator",
    "BaseTrigger",
    "Context",
    "PokeReturnValue",
    "TaskDeferred",
    "TaskGroup",
    "TriggerEvent",
    "aget_connection",
    "aget_extras",
    "conf",
    "default_deferrable",
    "get_xcom_value",
    "mask_secret",
]


def __getattr__(name: str) -> Any:
    """Import the trigger base classes on first use (PEP 562).

    Triggers live in core on every supported version, never in the task SDK. Importing them costs
    a DAG file's parse time, and only the trigger module needs them, so operators do not pay.
    """
    if name in ("BaseTrigger", "TriggerEvent"):
        from airflow.triggers import base

        value = getattr(base, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def default_deferrable() -> bool:
    """Return ``[operators] default_deferrable``, the default of every ``deferrable`` argument."""
    return bool(conf.getboolean("operators", "default_deferrable", fallback=False))


def get_xcom_value(ti_key: Any, key: str) -> Any:
    """Read one XCom of a task instance: in the worker on Airflow 3, in the webserver on Airflow 2.

    Imported when called: the XCom classes pull in the metadata DB models (2.x) or resolve the
    configured XCom backend (3.x), which parsing a DAG file does not need.
    """
    try:  # Airflow 3.1+
        from airflow.sdk.execution_time.xcom import XCom
    except ImportError:
        try:  # Airflow 3.0
            from airflow.sdk.bases.xcom import BaseXCom as XCom
        except ImportError:  # Airflow 2.x
            from airflow.models.xcom import XCom  # type: ignore[no-redef]
    return XCom.get_value(ti_key=ti_key, key=key)


async def aget_connection(conn_id: str) -> Connection:
    """Fetch a connection from async code (a trigger) safely on every supported Airflow.

    ``BaseHook.aget_connection`` masks secrets asynchronously only from 3.3.2 on (the
    release that added ``Connection.aextra_dejson``); before that it can deadlock the
    triggerer's loop, and before 3.1 it does not exist. Elsewhere, the sync lookup runs
    in a worker thread.
    """
    from asgiref.sync import sync_to_async

    if _has_async_masking():
        return await BaseHook.aget_connection(conn_id)
    return await sync_to_async(BaseHook.get_connection)(conn_id)


async def aget_extras(connection: Any) -> dict[str, Any]:
    """Return a connection's extras from async code, without sync secret masking on 3.3.2+."""
    if hasattr(connection, "aextra_dejson"):
        return dict(await connection.aextra_dejson())
    from asgiref.sync import sync_to_async

    return dict(await sync_to_async(lambda: connection.extra_dejson)())


def _has_async_masking() -> bool:
    try:
        from airflow.sdk import Connection as SdkConnection
    except ImportError:
        return False
    return hasattr(SdkConnection, "aextra_dejson") and hasattr(BaseHook, "aget_connection")
