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
    from neev_provider.client.config import DEFAULT_HOST, ClientConfig
    from neev_provider.client.endpoints import CreateVolumeRequest, ProjectScope
    from neev_provider.client.errors import (
        AmbiguousRequestError,
        AuthenticationError,
        BadRequestError,
        ConflictError,
        DuplicateVolumeNameError,
        NeevCloudAPIError,
        NeevCloudError,
        NeevCloudTimeoutError,
        NeevCloudTransportError,
        NeevCloudValidationError,
        NotFoundError,
        PermissionDeniedError,
        RateLimitError,
        ServerError,
        UnexpectedResponseError,
        VolumeInUseError,
        VolumeNotReusableError,
        VolumeStillPresentError,
    )
    from neev_provider.client.models import Attachment, ExtensionStatus, Page, Volume, VolumeStatus
    from neev_provider.client.retry import RetryPolicy
    from neev_provider.client.sync import NeevCloudClient

# Where each public name lives. Importing this package is cheap: the HTTP libraries
# (requests, httpx) load only when a client class is first used, so that importing the
# operators while a DAG file is parsed costs no HTTP stack.
_EXPORTS: dict[str, str] = {
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
    "CreateVolumeRequest",
    "DuplicateVolumeNameError",
    "ExtensionStatus",
    "LoginAuth",
    "NeevCloudAPIError",
    "NeevCloudClient",
    "NeevCloudError",
    "NeevCloudTimeoutError",
    "NeevCloudTransportError",
    "NeevCloudValidationError",
    "NotFoundError",
    "Page",
    "PermissionDeniedError",
    "ProjectScope",
    "RateLimitError",
    "RetryPolicy",
    "ServerError",
    "TokenAuth",
    "UnexpectedResponseError",
    "Volume",
    "VolumeInUseError",
    "VolumeNotReusableError",
    "VolumeStatus",
    "VolumeStillPresentError",
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
