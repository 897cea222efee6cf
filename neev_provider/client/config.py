"""Everything a client needs to reach the API, checked once when it is built."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from neev_provider import __version__
from neev_provider.client import validation
from neev_provider.client.auth import Auth
from neev_provider.client.models import ProjectScope
from neev_provider.client.retry import RetryPolicy

DEFAULT_HOST = "https://api.ai.neevcloud.com"
DEFAULT_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class ClientConfig:
    """Where and as whom the client talks to the Storage API.

    :param org_id: the organisation, e.g. ``org-abc123``; calls may override it.
    :param project_id: the project, e.g. ``prj-abc123``; calls may override it.
    :param auth: :class:`~neev_provider.client.auth.TokenAuth` or
        :class:`~neev_provider.client.auth.LoginAuth`.
    :param host: the API gateway; https, or http for a loopback emulator. A host ending in the
        Storage service's path (``/storage``, as in the spec's server URL) is normalised.
    :param timeout: seconds to wait for a connection and for each answer (at most 3600).
    :param verify: TLS verification: ``True``, ``False`` or the path of a CA bundle.
    :param retry: the retry policy for every call.
    :param call_timeout: seconds one call may take in all, its retries and their waits included
        (see ``CallBudget`` in ``neev_provider.client.retry``). Default: room for every attempt to use its
        full ``timeout`` and for the longest ``Retry-After`` wait before each retry.
    :param label: names this configuration in error messages, e.g. ``connection
        'neevcloud_default'`` (the hook sets it).
    """

    org_id: str
    project_id: str
    auth: Auth = field(repr=False)
    host: str = DEFAULT_HOST
    timeout: float = DEFAULT_TIMEOUT_SECONDS
    verify: bool | str = True
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    user_agent: str = f"airflow-provider-neevcloud/{__version__}"
    call_timeout: float | None = None
    label: str | None = None

    def __post_init__(self) -> None:
        # Frozen, so normalised values are set through object.__setattr__.
        object.__setattr__(self, "host", validation.base_url(self.host))
        timeout = validation.positive_number(self.timeout, "timeout", maximum=validation.MAX_REQUEST_TIMEOUT)
        object.__setattr__(self, "timeout", timeout)
        object.__setattr__(self, "verify", validation.tls_verify(self.verify))
        if self.call_timeout is not None:
            object.__setattr__(
                self, "call_timeout", validation.positive_number(self.call_timeout, "call_timeout")
            )
        validation.scope_id(self.org_id, "org_id")
        validation.scope_id(self.project_id, "project_id")

    @property
    def call_seconds(self) -> float:
        """The budget of one call: ``call_timeout``, or room for every attempt and retry wait."""
        if self.call_timeout is not None:
            return self.call_timeout
        retries = self.retry.max_retries
        return self.timeout * (retries + 1) + self.retry.max_retry_after * retries

    def scope(self, org_id: str | None = None, project_id: str | None = None) -> ProjectScope:
        """Return the project a call acts in: the configured one unless overridden."""
        if not org_id and not project_id:
            return self._own_scope
        return ProjectScope(org_id or self.org_id, project_id or self.project_id)

    @cached_property
    def _own_scope(self) -> ProjectScope:
        # Checked once: most calls act in the configured project.
        return ProjectScope(self.org_id, self.project_id)
