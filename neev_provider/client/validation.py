"""Input rules checked before any request is sent.

Each check raises :class:`~neev_provider.client.errors.NeevCloudValidationError` naming
the field, the value (shortened; never a secret) and the rule, so a mistake in a DAG is
reported at once instead of as a 400, a wrong URL or a hang after a round trip.

Three families of rules matter beyond the API's own limits:

- **Nothing changes the request path.** Organisation, project and region ids are refused
  when they hold ``/``, ``\\``, ``?``, ``#``, ``%``, spaces or control characters, or are
  ``.`` or ``..``; the host may not carry a query string or fragment (see :func:`scope_id`
  and :func:`base_url`).
- **Every number is finite and in range**, ``NaN`` and infinities included, with documented
  maxima (:data:`MAX_REQUEST_TIMEOUT`, :data:`MAX_WAIT_SECONDS`, :data:`MAX_POLL_INTERVAL`,
  :data:`MAX_RETRIES`).
- **Credentials can be sent**: a token holding a character an HTTP header cannot carry (a line
  break, a zero-width space pasted from a web page, any non-ASCII character) is refused
  when it is read, with a message that says what and where, never the token.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import os
import re
import unicodedata
import uuid
from collections.abc import Iterable
from typing import Any, TypeGuard
from urllib.parse import urlsplit

from neev_provider.client.errors import NeevCloudValidationError

log = logging.getLogger(__name__)

MIN_SIZE_GB = 1
MAX_SIZE_GB = 1000
VOLUME_MODES = ("filesystem", "block")
MAX_PAGE_LIMIT = 100
#: The longest request timeout accepted, in seconds (an hour).
MAX_REQUEST_TIMEOUT = 3600.0
#: The longest wait accepted (an operator's or the sensor's ``timeout``), in seconds (30 days).
MAX_WAIT_SECONDS = 30 * 24 * 3600.0
#: The shortest poll interval accepted, in seconds: anything shorter is a busy loop.
MIN_POLL_INTERVAL = 0.01
#: The longest poll interval accepted, in seconds.
MAX_POLL_INTERVAL = 3600.0
#: The most retries a request may be given (each retry waits up to 30 s for a ``Retry-After``).
MAX_RETRIES = 10
#: The longest identifier (organisation, project, region, attachment names) accepted.
MAX_ID_CHARS = 128
#: The longest credential accepted (a JWT is about 1 kB).
MAX_SECRET_CHARS = 8192
#: Path prefixes of the Storage service the client adds itself; a host that ends in one is normalised.
GATEWAY_PREFIXES = ("/storage/api/v1beta1", "/storage/api", "/storage")
# Volumes are Kubernetes PVCs behind the API, so names follow the DNS-label rule (RFC 1123).
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_HOST_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*\.?$")
# RFC 3986 path characters, without percent-encoding (decoded twice by some gateways).
_PATH_SEGMENT = re.compile(r"^[A-Za-z0-9._~!$&'()*+,;=:@-]+$")
_PATH_CHANGERS = frozenset("/\\?#%")
_ENDPOINT_SEGMENTS = frozenset({"storage", "tenant", "api", "v1beta1", "orgs", "projects", "volumes"})
_EXAMPLE_HOST = "https://api.ai.neevcloud.com"
_CHARACTER_NAMES = {"\n": "a line break (U+000A)", "\r": "a carriage return (U+000D)", "\t": "a tab (U+0009)"}


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def whole_number(value: object, field: str) -> int:
    """Return a whole number, also from a string of ASCII digits (what Jinja templating renders)."""
    if isinstance(value, str) and re.fullmatch(r"[0-9]{1,18}", value.strip()):
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


def _is_unprintable(char: str) -> bool:
    # Control characters, invisible format characters (zero-width space, BOM) and line separators.
    return unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp")


def _describe_character(char: str) -> str:
    if char in _CHARACTER_NAMES:
        return _CHARACTER_NAMES[char]
    if char == " ":
        return "a space"
    code = f"U+{ord(char):04X}"
    name = unicodedata.name(char, "")
    if _is_unprintable(char) or unicodedata.category(char) == "Zs":
        return f"an invisible character ({code} {name})" if name else f"a control character ({code})"
    return "a non-ASCII character"


def non_empty(value: object, field: str, *, max_length: int = 1024) -> str:
    """Check a required text: non-empty, without surrounding spaces or control characters."""
    if not isinstance(value, str) or not value.strip():
        raise NeevCloudValidationError(field, value, "must be a non-empty string")
    if value != value.strip():
        raise NeevCloudValidationError(field, value, "must not start or end with spaces")
    if len(value) > max_length:
        raise NeevCloudValidationError(field, value, f"must be at most {max_length} characters")
    bad = next((char for char in value if _is_unprintable(char)), None)
    if bad is not None:
        raise NeevCloudValidationError(field, value, f"must not contain {_describe_character(bad)}")
    return value


def scope_id(value: object, field: str) -> str:
    """Check an id that becomes a segment of the request path (organisation, project) or a region.

    Refused rather than percent-encoded: gateways and proxies commonly decode ``%2F`` before
    routing, and ``.``/``..`` segments are resolved by clients and servers alike, so no
    encoding reliably keeps such a value inside its own segment; a request sent elsewhere
    could answer 404, which a delete would read as "already gone". No real id holds them.
    """
    text = non_empty(value, field, max_length=MAX_ID_CHARS)
    if text in (".", ".."):
        raise NeevCloudValidationError(
            field, value, "must not be '.' or '..': it would change the request path"
        )
    bad = next((char for char in text if char in _PATH_CHANGERS or char.isspace()), None)
    if bad is not None:
        what = repr(bad) if bad in _PATH_CHANGERS else _describe_character(bad)
        raise NeevCloudValidationError(
            field,
            value,
            f"must not contain {what}: it would change the request path (ids look like org-abc123)",
        )
    return text


def _header_problem(text: str) -> str | None:
    for position, char in enumerate(text, start=1):
        if not ("!" <= char <= "~"):
            return (
                f"character {position} of {len(text)} is {_describe_character(char)}, which an HTTP header "
                "cannot carry; copy the token again without it"
            )
    return None


def _credential(value: object, field: str) -> str:
    """A credential's text without surrounding spaces; refused, unseen, if empty or too long."""
    if not isinstance(value, str) or not value.strip():
        raise NeevCloudValidationError(field, None, "must be set (it is empty)", show_value=False)
    text = value.strip()
    if len(text) > MAX_SECRET_CHARS:
        raise NeevCloudValidationError(
            field, None, f"must be at most {MAX_SECRET_CHARS} characters", show_value=False
        )
    return text


def secret(value: object, field: str) -> str:
    """Check a credential that travels in a JSON body (a password), without ever showing it.

    Any character JSON can carry is allowed except control and invisible characters, which in
    a password are a paste mistake. Surrounding spaces are dropped.
    """
    text = _credential(value, field)
    for position, char in enumerate(text, start=1):
        if _is_unprintable(char):
            what = _describe_character(char)
            rule = f"character {position} of {len(text)} is {what}; type it again without it"
            raise NeevCloudValidationError(field, None, rule, show_value=False)
    return text


def token(value: object, field: str = "token") -> str:
    """Check a bearer token, which travels in the ``Authorization`` header; return it without ``Bearer``.

    Only visible ASCII characters can be sent in a header: a token with anything else cannot
    be valid, and the HTTP libraries would quote it whole in their error. A pasted
    ``Bearer xyz`` is accepted, since the API docs' own widget adds the prefix.
    """
    text = _credential(value, field)
    if text.lower().startswith("bearer "):
        text = text[7:].strip()
    if text.lower() == "bearer":
        problem: str | None = "it is only the word 'Bearer': paste the token itself"
    else:
        problem = _header_problem(text)
    if problem is not None:
        raise NeevCloudValidationError(field, None, problem, show_value=False)
    return text


def volume_id(value: object, field: str = "volume_id") -> str:
    """Check a volume id: a UUID. Return it in canonical form."""
    if isinstance(value, str) and len(value) <= 64:
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
    """Check a mount path: absolute, printable, at most 4096 characters."""
    if not isinstance(value, str) or not value.startswith("/"):
        raise NeevCloudValidationError(field, value, "must be an absolute path such as /mnt/data")
    return non_empty(value, field, max_length=4096)


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


def number(value: object, field: str, *, low: float, high: float, low_inclusive: bool = False) -> float:
    """Check a finite number in a range; a string of a number (a connection extra) is accepted.

    ``NaN`` and infinities are refused: ``NaN`` compares false with everything, so it would pass
    any ``<=`` check and then busy-loop a wait or end it at once; ``inf`` is not JSON.
    """
    parsed: float | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        parsed = float(value)
    elif isinstance(value, str) and len(value) <= 64:
        try:
            parsed = float(value.strip())
        except ValueError:
            parsed = None
    if (
        parsed is None
        or not math.isfinite(parsed)
        or parsed > high
        or parsed < low
        or (parsed == low and not low_inclusive)
    ):
        bound = "from" if low_inclusive else "greater than"
        raise NeevCloudValidationError(
            field, value, f"must be a finite number {bound} {low:g} and at most {high:g}"
        )
    return parsed


def positive_number(value: object, field: str, *, maximum: float = MAX_WAIT_SECONDS) -> float:
    """Check a duration that must be greater than zero, finite and at most ``maximum`` seconds."""
    return number(value, field, low=0, high=maximum)


def poll_interval(value: object, field: str = "poll_interval") -> float:
    """Check a poll interval: from 0.01 s (anything less is a busy loop) to an hour."""
    return number(value, field, low=MIN_POLL_INTERVAL, high=MAX_POLL_INTERVAL, low_inclusive=True)


def retries(value: object, field: str = "max_retries") -> int:
    """Check a retry count: a whole number from 0 to :data:`MAX_RETRIES`."""
    try:
        count = whole_number(value, field)
    except NeevCloudValidationError:
        count = -1
    if 0 <= count <= MAX_RETRIES:
        return count
    raise NeevCloudValidationError(field, value, f"must be a whole number from 0 to {MAX_RETRIES}")


def tls_verify(value: object, field: str = "verify") -> bool | str:
    """Check TLS verification: ``True``, ``False``, or the path of a CA bundle that exists here."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip():
        path = non_empty(value, field, max_length=4096)
        if os.path.exists(path):
            return path
        raise NeevCloudValidationError(
            field,
            value,
            "names no file or directory on this machine: give the path of a CA bundle, true or false",
        )
    raise NeevCloudValidationError(field, value, "must be true, false or the path of a CA bundle")


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
                "instance_name": non_empty(
                    item.get("instance_name"), f"{where}.instance_name", max_length=253
                ),
                "instance_type": non_empty(
                    item.get("instance_type"), f"{where}.instance_type", max_length=253
                ),
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


def _is_host_name(hostname: str) -> bool:
    try:
        ipaddress.ip_address(hostname)
        return True
    except ValueError:
        return bool(_HOST_NAME.match(hostname)) and len(hostname) <= 253


def without_credentials(url: object) -> object:
    """Return ``url`` with any ``user:password@`` replaced by ``***@``, to show it in a message."""
    if not isinstance(url, str) or "@" not in url:
        return url
    return re.sub(r"^([^:/?#]*://)?[^/?#]*@", lambda m: f"{m.group(1) or ''}***@", url)


def _url_problem(text: str) -> str | None:
    """The first reason ``text`` cannot be a gateway URL, checked on the raw text."""
    bad = next((char for char in text if char.isspace() or _is_unprintable(char)), None)
    if bad is not None:
        return f"must not contain {_describe_character(bad)}"
    if not text.isascii():
        return "must be ASCII: write an international host name in its xn-- form"
    if "?" in text or "#" in text:
        return (
            "must not contain '?' or '#': the client appends the API's paths to the host, and a query string "
            "or fragment would swallow them"
        )
    if "\\" in text or "%" in text:
        return "must not contain '\\' or '%'"
    return None


def _split_url(value: object, field: str) -> tuple[str, str, str]:
    """Return the scheme, netloc and path of a gateway URL, or raise what is wrong with it."""
    example = f"must be a URL such as {_EXAMPLE_HOST}"
    if not isinstance(value, str) or not value.strip():
        raise NeevCloudValidationError(field, value, example)
    if "@" in value:
        # Before anything else, so no message quotes a password typed into the host.
        at = value.split("@")[0]
        if "/" not in at.partition("://")[2]:
            raise NeevCloudValidationError(
                field, without_credentials(value), "must not carry credentials; use the token field"
            )
    problem = _url_problem(value.strip())
    if problem is not None:
        raise NeevCloudValidationError(field, value, problem)
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise NeevCloudValidationError(field, value, example)
    if "@" in parts.netloc:
        raise NeevCloudValidationError(
            field, without_credentials(value), "must not carry credentials; use the token field"
        )
    try:
        port = parts.port
    except ValueError:
        port = 0
    if port == 0 or not _is_host_name(parts.hostname):
        raise NeevCloudValidationError(field, value, f"has an invalid host name or port (1-65535); {example}")
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise NeevCloudValidationError(
            field, value, "must use https (plain http is allowed only for 127.0.0.1 or localhost)"
        )
    return parts.scheme, parts.netloc, parts.path.rstrip("/")


def _gateway_path(path: str, value: object, field: str, origin: str) -> str:
    """Drop a Storage-service prefix from the path (logged); refuse any other API path."""
    for prefix in GATEWAY_PREFIXES:
        if path.lower().endswith(prefix):
            kept = path[: -len(prefix)]
            log.warning(
                "The host %r ends in %r, the Storage service's path, which the client adds itself; using %r",
                value,
                prefix,
                origin + kept,
            )
            path = kept
            break
    segments = path.split("/")[1:]
    for segment in segments:
        if segment in (".", "..") or not _PATH_SEGMENT.match(segment):
            raise NeevCloudValidationError(field, value, "has a path with an empty, '.' or '..' segment")
        if segment.lower() in _ENDPOINT_SEGMENTS:
            cut = path[: path.lower().index("/" + segment.lower())]
            raise NeevCloudValidationError(
                field, value, f"must be the API gateway, not an API path: use {origin + cut!r}"
            )
    return path


def base_url(value: object, field: str = "host") -> str:
    """Check the API gateway URL: https, or plain http only for a loopback host (an emulator).

    Decisions, each so that no host can change where the client's paths land:

    - a host ending in the Storage service's prefix (``/storage``, the spec's server URL
      ``https://api.ai.neevcloud.com/storage``, or ``/storage/api/v1beta1``) is **normalised**:
      it is what a user copies from the API reference, the intent is plain, and the client
      adds that prefix itself; the change is logged as a warning;
    - any other API path (``/storage/api/v1beta1/orgs/...``, ``/tenant``) is **refused**, with
      the gateway URL to use instead: what was meant is not certain;
    - ``?`` or ``#`` anywhere, even an empty ``…/?``, is **refused**: the paths appended after
      it would become a query string or a fragment;
    - spaces, control characters, ``\\``, ``%``, dot segments, credentials and an invalid
      host name or port are **refused**; a plain path prefix (a proxy's ``/neevcloud``) is kept.

    :return: the URL without a trailing slash.
    """
    scheme, netloc, path = _split_url(value, field)
    origin = f"{scheme}://{netloc}"
    return origin + _gateway_path(path, value, field, origin)
