"""A client for the NeevCloud Storage API (network volumes), usable without Airflow.

>>> from neev_provider.client import ClientConfig, NeevCloudClient, TokenAuth
>>> client = NeevCloudClient(ClientConfig(org_id="org-abc123", project_id="prj-abc123",
...                                        auth=TokenAuth("pat-nc-...")))  # doctest: +SKIP
>>> client.get_volume("3f2b6c1e-8a4d-4f7e-9c1b-2d5e6f7a8b9c").status  # doctest: +SKIP
<VolumeStatus.BOUND: 'bound'>
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from neev_provider.client.aio import AsyncNeevCloudClient
    from neev_provider.client.auth import LoginAuth, TokenAuth
    from neev_provider.client.cleanup import delete_owned_volume
    from neev_provider.client.config import DEFAULT_HOST, ClientConfig
    from neev_provider.client.endpoints import CreateVolumeRequest, ProjectScope
    from neev_provider.client.ensure import Ensured, SettlePolicy, VolumeEnsurer, remove_twins
    from neev_provider.client.errors import (
        AmbiguousRequestError,
        AuthenticationError,
        BadRequestError,
        ConflictError,
        DuplicateVolumeNameError,
        EndpointNotFoundError,
        NeevCloudAPIError,
        NeevCloudConfigurationError,
        NeevCloudError,
        NeevCloudTimeoutError,
        NeevCloudTransportError,
        NeevCloudValidationError,
        NotFoundError,
        PermissionDeniedError,
        RateLimitError,
        ServerError,
        UnexpectedResponseError,
        UnexpectedStatusError,
        VolumeInUseError,
        VolumeNotReusableError,
        VolumeStillPresentError,
    )
    from neev_provider.client.models import Attachment, ExtensionStatus, Page, Volume, VolumeStatus
    from neev_provider.client.naming import default_volume_name, is_default_name
    from neev_provider.client.polling import SharedPoller
    from neev_provider.client.reaper import ReapReport, ReapRules, ReapVerdict, reap
    from neev_provider.client.records import CreateMemory
    from neev_provider.client.retry import RetryPolicy
    from neev_provider.client.sync import NeevCloudClient

# Where each public name lives. Importing this package is cheap: the HTTP libraries
# (requests, httpx) load only when a client class is first used, so that importing the
# operators while a DAG file is parsed costs no HTTP stack.
_EXPORTS: dict[str, str] = {
    "SharedPoller": "neev_provider.client.polling",
    "is_default_name": "neev_provider.client.naming",
    "default_volume_name": "neev_provider.client.naming",
    "ReapVerdict": "neev_provider.client.reaper",
    "ReapRules": "neev_provider.client.reaper",
    "ReapReport": "neev_provider.client.reaper",
    "reap": "neev_provider.client.reaper",
    "CreateMemory": "neev_provider.client.records",
    "delete_owned_volume": "neev_provider.client.cleanup",
    "remove_twins": "neev_provider.client.ensure",
    "Ensured": "neev_provider.client.ensure",
    "SettlePolicy": "neev_provider.client.ensure",
    "VolumeEnsurer": "neev_provider.client.ensure",
    "AmbiguousRequestError": "neev_provider.client.errors",
    "AsyncNeevCloudClient": "neev_provider.client.aio",
    "Attachment": "neev_provider.client.models",
    "AuthenticationError": "neev_provider.client.errors",
    "BadRequestError": "neev_provider.client.errors",
    "ClientConfig": "neev_provider.client.config",
    "ConflictError": "neev_provider.client.errors",
    "CreateVolumeRequest": "neev_provider.client.endpoints",
    "DEFAULT_HOST": "neev_provider.client.config",
    "DuplicateVolumeNameError": "neev_provider.client.errors",
    "EndpointNotFoundError": "neev_provider.client.errors",
    "NeevCloudConfigurationError": "neev_provider.client.errors",
    "UnexpectedStatusError": "neev_provider.client.errors",
    "ExtensionStatus": "neev_provider.client.models",
    "LoginAuth": "neev_provider.client.auth",
    "NeevCloudAPIError": "neev_provider.client.errors",
    "NeevCloudClient": "neev_provider.client.sync",
    "NeevCloudError": "neev_provider.client.errors",
    "NeevCloudTimeoutError": "neev_provider.client.errors",
    "NeevCloudTransportError": "neev_provider.client.errors",
    "NeevCloudValidationError": "neev_provider.client.errors",
    "NotFoundError": "neev_provider.client.errors",
    "Page": "neev_provider.client.models",
    "PermissionDeniedError": "neev_provider.client.errors",
    "ProjectScope": "neev_provider.client.endpoints",
    "RateLimitError": "neev_provider.client.errors",
    "RetryPolicy": "neev_provider.client.retry",
    "ServerError": "neev_provider.client.errors",
    "TokenAuth": "neev_provider.client.auth",
    "UnexpectedResponseError": "neev_provider.client.errors",
    "Volume": "neev_provider.client.models",
    "VolumeInUseError": "neev_provider.client.errors",
    "VolumeNotReusableError": "neev_provider.client.errors",
    "VolumeStillPresentError": "neev_provider.client.errors",
    "VolumeStatus": "neev_provider.client.models",
}

__all__ = [
    "DEFAULT_HOST",
    "AmbiguousRequestError",
    "AsyncNeevCloudClient",
    "Attachment",
    "AuthenticationError",
    "BadRequestError",
    "ClientConfig",
    "ConflictError",
    "CreateMemory",
    "CreateVolumeRequest",
    "DuplicateVolumeNameError",
    "EndpointNotFoundError",
    "Ensured",
    "ExtensionStatus",
    "LoginAuth",
    "NeevCloudAPIError",
    "NeevCloudClient",
    "NeevCloudConfigurationError",
    "NeevCloudError",
    "NeevCloudTimeoutError",
    "NeevCloudTransportError",
    "NeevCloudValidationError",
    "NotFoundError",
    "Page",
    "PermissionDeniedError",
    "ProjectScope",
    "RateLimitError",
    "ReapReport",
    "ReapRules",
    "ReapVerdict",
    "RetryPolicy",
    "ServerError",
    "SettlePolicy",
    "SharedPoller",
    "TokenAuth",
    "UnexpectedResponseError",
    "UnexpectedStatusError",
    "Volume",
    "VolumeEnsurer",
    "VolumeInUseError",
    "VolumeNotReusableError",
    "VolumeStatus",
    "VolumeStillPresentError",
    "default_volume_name",
    "delete_owned_volume",
    "is_default_name",
    "reap",
    "remove_twins",
]


def __getattr__(name: str) -> Any:
    """Import a public name's module on first use (PEP 562)."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
