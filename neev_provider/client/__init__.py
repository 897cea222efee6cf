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

# The names of _EXPORTS, for type checkers (tests/test_architecture.py holds the two equal).
if TYPE_CHECKING:
    from neev_provider.client._aio import AsyncNeevCloudClient as AsyncNeevCloudClient
    from neev_provider.client._sync import NeevCloudClient as NeevCloudClient
    from neev_provider.client.auth import (
        LoginAuth as LoginAuth,
        TokenAuth as TokenAuth,
    )
    from neev_provider.client.config import (
        DEFAULT_HOST as DEFAULT_HOST,
        ClientConfig as ClientConfig,
    )
    from neev_provider.client.errors import (
        AmbiguousRequestError as AmbiguousRequestError,
        AuthenticationError as AuthenticationError,
        BadRequestError as BadRequestError,
        ConflictError as ConflictError,
        DuplicateVolumeNameError as DuplicateVolumeNameError,
        EndpointNotFoundError as EndpointNotFoundError,
        NeevCloudAPIError as NeevCloudAPIError,
        NeevCloudConfigurationError as NeevCloudConfigurationError,
        NeevCloudError as NeevCloudError,
        NeevCloudTimeoutError as NeevCloudTimeoutError,
        NeevCloudTransportError as NeevCloudTransportError,
        NeevCloudValidationError as NeevCloudValidationError,
        NotFoundError as NotFoundError,
        PermissionDeniedError as PermissionDeniedError,
        RateLimitError as RateLimitError,
        ServerError as ServerError,
        UnexpectedResponseError as UnexpectedResponseError,
        UnexpectedStatusError as UnexpectedStatusError,
        VolumeInUseError as VolumeInUseError,
        VolumeNotReusableError as VolumeNotReusableError,
        VolumeStillPresentError as VolumeStillPresentError,
    )
    from neev_provider.client.models import (
        Attachment as Attachment,
        CreateVolumeRequest as CreateVolumeRequest,
        ExtensionStatus as ExtensionStatus,
        Page as Page,
        ProjectScope as ProjectScope,
        Volume as Volume,
        VolumeStatus as VolumeStatus,
    )
    from neev_provider.client.retry import RetryPolicy as RetryPolicy

# The public surface: each name and the module that defines it, imported on first use. DAG files
# import the operators on every parse, and what the operators need then (the request rules and the
# errors) is a small part of this package: importing the rest eagerly (the models, credentials,
# configuration and retry policy, and their dataclasses) cost each parse about 15 ms more, this
# package's share of the 20 ms that took the parse over its budget (benchmarks/parse_cost.py);
# the transports would add requests or httpx.
_EXPORTS: dict[str, str] = {
    "AsyncNeevCloudClient": "_aio",
    "NeevCloudClient": "_sync",
    "LoginAuth": "auth",
    "TokenAuth": "auth",
    "DEFAULT_HOST": "config",
    "ClientConfig": "config",
    "AmbiguousRequestError": "errors",
    "AuthenticationError": "errors",
    "BadRequestError": "errors",
    "ConflictError": "errors",
    "DuplicateVolumeNameError": "errors",
    "EndpointNotFoundError": "errors",
    "NeevCloudAPIError": "errors",
    "NeevCloudConfigurationError": "errors",
    "NeevCloudError": "errors",
    "NeevCloudTimeoutError": "errors",
    "NeevCloudTransportError": "errors",
    "NeevCloudValidationError": "errors",
    "NotFoundError": "errors",
    "PermissionDeniedError": "errors",
    "RateLimitError": "errors",
    "ServerError": "errors",
    "UnexpectedResponseError": "errors",
    "UnexpectedStatusError": "errors",
    "VolumeInUseError": "errors",
    "VolumeNotReusableError": "errors",
    "VolumeStillPresentError": "errors",
    "Attachment": "models",
    "CreateVolumeRequest": "models",
    "ExtensionStatus": "models",
    "Page": "models",
    "ProjectScope": "models",
    "Volume": "models",
    "VolumeStatus": "models",
    "RetryPolicy": "retry",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
