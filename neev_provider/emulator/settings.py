"""Configuration of the emulator and the constants its URLs are built from."""

from __future__ import annotations

from dataclasses import dataclass, field

from neev_provider.emulator.dialects import NATIVE, dialect_names

DEFAULT_TOKEN = "neev-emulator-token"
DEFAULT_ORG_ID = "org-emulator"
DEFAULT_PROJECT_ID = "prj-emulator"
DEFAULT_REGION = "as-south-1"

#: Path prefix of the Storage service behind the gateway (the spec's server URL ends in ``/storage``).
STORAGE_PREFIX = "/storage/api/v1beta1"
#: Path prefix of the tenant authentication endpoints.
AUTH_PREFIX = "/tenant/api/v1/auth"
#: Path prefix of the emulator's own admin API.
ADMIN_PREFIX = "/_emulator"

#: Largest volume the platform accepts, for create and extend alike.
MAX_SIZE_GB = 1000


def _default_users() -> dict[str, str]:
    return {"user@example.com": "emulator-password"}


@dataclass
class EmulatorSettings:
    """Tunable behaviour of one emulator instance.

    :param token: static bearer token that is always accepted (like a personal access token).
    :param bind_delay: seconds of emulator time a new volume stays ``pending``.
    :param resize_delay: seconds of emulator time an extension stays ``resizing``.
    :param delete_delay: seconds a deleted volume is shown as ``terminated`` before it disappears.
    :param token_ttl: lifetime in seconds of access tokens issued by the login endpoint.
    :param regions: region ids accepted by create.
    :param users: e-mail to password map for the tenant login endpoint.
    :param seed: seed of the random generator used by probabilistic faults.
    :param dialect: how the API answers where the spec leaves a choice
        (``neev_provider.emulator.dialects``, "API dialects" in the docs): a tuple of names such as
        ``("generic", "newest-first")``; a comma-separated string is accepted too. Normalised to
        canonical order; unknown names raise ``ValueError``.
    """

    token: str = DEFAULT_TOKEN
    bind_delay: float = 2.0
    resize_delay: float = 2.0
    delete_delay: float = 0.0
    token_ttl: int = 900
    regions: tuple[str, ...] = (DEFAULT_REGION,)
    users: dict[str, str] = field(default_factory=_default_users)
    seed: int = 0
    dialect: tuple[str, ...] = (NATIVE,)

    def __post_init__(self) -> None:
        # Checked here, so that a misspelt dialect fails where the settings are written, not at
        # the first request; a string is split so "generic,shifting" works as on the command line.
        self.dialect = dialect_names(self.dialect)
