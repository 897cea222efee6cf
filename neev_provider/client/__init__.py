"""A client for the NeevCloud Storage API (network volumes), usable without Airflow.

>>> from neev_provider.client import ClientConfig, NeevCloudClient, TokenAuth
>>> client = NeevCloudClient(ClientConfig(org_id="org-abc123", project_id="prj-abc123",
...                                        auth=TokenAuth("pat-nc-...")))  # doctest: +SKIP
>>> client.get_volume("3f2b6c1e-8a4d-4f7e-9c1b-2d5e6f7a8b9c").status  # doctest: +SKIP
<VolumeStatus.BOUND: 'bound'>

The public names are those of ``__all__``; modules whose name starts with ``_`` are private.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from neev_provider.client.auth import LoginAuth, TokenAuth
from neev_provider.client.config import DEFAULT_HOST, ClientConfig
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
from neev_provider.client.models import (
    Attachment,
    CreateVolumeRequest,
    ExtensionStatus,
    Page,
    ProjectScope,
    Volume,
    VolumeStatus,
)
from neev_provider.client.retry import RetryPolicy

if TYPE_CHECKING:
    from neev_provider.client._aio import AsyncNeevCloudClient
    from neev_provider.client._sync import NeevCloudClient

# The two transports are imported on first use: a DAG file's operators need this package's
# validation and errors at parse time, and requests (with urllib3 and charset_normalizer) would
# otherwise triple what importing the operators costs (benchmarks/parse_cost.py).
_TRANSPORTS = {"NeevCloudClient": "_sync", "AsyncNeevCloudClient": "_aio"}

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
    "EndpointNotFoundError",
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
    "RetryPolicy",
    "ServerError",
    "TokenAuth",
    "UnexpectedResponseError",
    "UnexpectedStatusError",
    "Volume",
    "VolumeInUseError",
    "VolumeNotReusableError",
    "VolumeStatus",
    "VolumeStillPresentError",
]


def __getattr__(name: str) -> Any:
    if name not in _TRANSPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_TRANSPORTS[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_TRANSPORTS})
