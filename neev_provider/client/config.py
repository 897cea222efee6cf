"""Everything a client needs to reach the API, checked once when it is built."""

from __future__ import annotations

from dataclasses import dataclass, field

from neev_provider import __version__
from neev_provider.client import validation
from neev_provider.client.auth import Auth
from neev_provider.client.endpoints import ProjectScope
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
    :param host: the API gateway; https, or http for a loopback emulator.
    :param timeout: seconds to wait for a connection and for each answer.
    :param verify: TLS verification: ``True``, ``False`` or a CA bundle path.
    :param retry: the retry policy for every call.
    """

    org_id: str
    project_id: str
    auth: Auth = field(repr=False)
    host: str = DEFAULT_HOST
    timeout: float = DEFAULT_TIMEOUT_SECONDS
    verify: bool | str = True
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    user_agent: str = f"airflow-provider-neevcloud/{__version__}"

    def __post_init__(self) -> None:
        # Frozen, so normalised values are set through object.__setattr__.
        object.__setattr__(self, "host", validation.base_url(self.host))
        object.__setattr__(self, "timeout", validation.positive_number(self.timeout, "timeout"))
        validation.non_empty(self.org_id, "org_id")
        validation.non_empty(self.project_id, "project_id")

    def scope(self, org_id: str | None = None, project_id: str | None = None) -> ProjectScope:
        """Return the project a call acts in: the configured one unless overridden."""
        return ProjectScope(org_id or self.org_id, project_id or self.project_id)
