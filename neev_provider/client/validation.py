"""Input rules checked before any request is sent.

Each check raises :class:`~neev_provider.client.errors.NeevCloudValidationError` naming
the field, the value and the rule, so a mistake in a DAG is reported at once instead of as
a 400 after a round trip.
"""

from __future__ import annotations

import ipaddress
import re
import uuid
from collections.abc import Iterable
from typing import Any, TypeGuard
from urllib.parse import urlsplit

from neev_provider.client.errors import NeevCloudValidationError

MIN_SIZE_GB = 1
MAX_SIZE_GB = 1000
VOLUME_MODES = ("filesystem", "block")
MAX_PAGE_LIMIT = 100
# Volumes are Kubernetes PVCs behind the API, so names follow the DNS-label rule (RFC 1123).
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def whole_number(value: object, field: str) -> int:
    """Return a whole number, also from a string of digits (what Jinja templating renders)."""
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    if _is_int(value):
        return value
    raise NeevCloudValidationError(field, value, "must be a whole number")


def size_gb(value: object, field: str = "size_gb") -> int:
    """Check a volume size: a whole number of GB from 1 to 1000."""
    if _is_int(value) and MIN_SIZE_GB <= value <= MAX_SIZE_GB:
        return value
    raise NeevCloudValidationError(
        field, value, f"must be a whole number of GB from {MIN_SIZE_GB} to {MAX_SIZE_GB}"
    )


def volume_mode(value: object, field: str = "volume_mode") -> str:
    """Check a volume mode: ``filesystem`` or ``block``."""
    if isinstance(value, str) and value in VOLUME_MODES:
        return value
    raise NeevCloudValidationError(field, value, f"must be one of {', '.join(VOLUME_MODES)}")


def non_empty(value: object, field: str) -> str:
    """Check a required identifier: a non-empty string without surrounding spaces."""
    if not isinstance(value, str) or not value.strip():
        raise NeevCloudValidationError(field, value, "must be a non-empty string")
    if value != value.strip():
        raise NeevCloudValidationError(field, value, "must not start or end with spaces")
    return value


def secret(value: object, field: str) -> str:
    """Check a credential is a non-empty string, without ever putting it in the message."""
    if not isinstance(value, str) or not value.strip():
        raise NeevCloudValidationError(field, None, "must be set (it is empty)", show_value=False)
    return value.strip()


def volume_id(value: object, field: str = "volume_id") -> str:
    """Check a volume id: a UUID. Return it in canonical form."""
    if isinstance(value, str):
        try:
            return str(uuid.UUID(value))
        except ValueError:
            pass
    raise NeevCloudValidationError(
        field, value, "must be a UUID such as 3f2b6c1e-8a4d-4f7e-9c1b-2d5e6f7a8b9c"
    )


def volume_name(value: object, field: str = "name") -> str:
    """Check a volume name: a DNS label (1-63 of a-z, 0-9 and '-', alphanumeric at both ends)."""
    if not isinstance(value, str) or not _DNS_LABEL.match(value):
        raise NeevCloudValidationError(
            field, value, "must be 1-63 lower-case letters, digits or '-', starting and ending alphanumeric"
        )
    return value


def mount_path(value: object, field: str = "mount_path") -> str:
    """Check a mount path: absolute."""
    if not isinstance(value, str) or not value.startswith("/"):
        raise NeevCloudValidationError(field, value, "must be an absolute path such as /mnt/data")
    return value


def page_number(value: object, field: str = "page") -> int:
    """Check a page number: 1 or more."""
    if _is_int(value) and value >= 1:
        return value
    raise NeevCloudValidationError(field, value, "must be a whole number from 1")


def page_limit(value: object, field: str = "limit") -> int:
    """Check a page size: 1 to 100."""
    if _is_int(value) and 1 <= value <= MAX_PAGE_LIMIT:
        return value
    raise NeevCloudValidationError(field, value, f"must be a whole number from 1 to {MAX_PAGE_LIMIT}")


def positive_number(value: object, field: str) -> float:
    """Check a duration or count that must be greater than zero."""
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise NeevCloudValidationError(field, value, "must be a number greater than 0")
    return float(value)


def non_negative_number(value: object, field: str) -> float:
    """Check a finite duration that may be zero."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < float("inf"):
        raise NeevCloudValidationError(field, value, "must be a finite number from 0")
    return float(value)


def attached_to(value: Iterable[Any] | None, field: str = "attached_to") -> list[dict[str, str]]:
    """Check AIRuntime instances to attach at creation: each with a UUID id, a name and a type."""
    entries: list[dict[str, str]] = []
    for index, item in enumerate(value or ()):
        where = f"{field}[{index}]"
        if not isinstance(item, dict):
            raise NeevCloudValidationError(where, item, "must be a mapping with instance_id, name and type")
        entries.append(
            {
                "instance_id": volume_id(item.get("instance_id"), f"{where}.instance_id"),
                "instance_name": non_empty(item.get("instance_name"), f"{where}.instance_name"),
                "instance_type": non_empty(item.get("instance_type"), f"{where}.instance_type"),
            }
        )
    return entries


def _is_loopback(hostname: str) -> bool:
    if hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(hostname).is_loopback
    except ValueError:
        return False


def base_url(value: object, field: str = "host") -> str:
    """Check the API gateway URL: https, or plain http only for a loopback host (an emulator).

    :return: the URL without a trailing slash.
    """
    if not isinstance(value, str) or not value.strip():
        raise NeevCloudValidationError(field, value, "must be a URL such as https://api.ai.neevcloud.com")
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise NeevCloudValidationError(field, value, "must be a URL such as https://api.ai.neevcloud.com")
    if parts.username or parts.password:
        raise NeevCloudValidationError(
            field, f"{parts.scheme}://{parts.hostname}", "must not carry credentials; use the token field"
        )
    if parts.query or parts.fragment:
        raise NeevCloudValidationError(field, value, "must not have a query string or fragment")
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise NeevCloudValidationError(
            field, value, "must use https (plain http is allowed only for 127.0.0.1 or localhost)"
        )
    return value.strip().rstrip("/")
