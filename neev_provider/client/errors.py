"""One exception tree for every failure the client can report.

::

    NeevCloudError
    ├── NeevCloudValidationError     bad input, refused before any call (also a ValueError)
    ├── NeevCloudTransportError      the network failed (refused, reset, DNS, TLS)
    │   └── NeevCloudTimeoutError    no answer in time
    ├── AmbiguousRequestError        a create/extend POST may or may not have taken effect
    ├── UnexpectedResponseError      a success answer that does not match the API's schema
    ├── DuplicateVolumeNameError     a name lookup found several volumes
    ├── VolumeNotReusableError       a volume of the wanted name exists but cannot be adopted
    ├── VolumeStillPresentError      a volume that must go away first did not, in time
    └── NeevCloudAPIError            the API answered with an error status
        ├── BadRequestError          400
        │   └── VolumeInUseError     400, the volume is attached to a running resource
        ├── AuthenticationError      401
        ├── PermissionDeniedError    403
        ├── NotFoundError            404
        ├── ConflictError            409
        ├── RateLimitError           429 (``retry_after`` in seconds, when sent)
        └── ServerError              5xx

:func:`error_from_response` is the one place that turns an HTTP answer into this tree.
No message or ``repr`` here ever contains a request's headers or body, so credentials
cannot leak through an exception.
"""

from __future__ import annotations

import email.utils
import json
import os
import re
import time
from collections.abc import Mapping
from typing import Any

_EXCERPT_CHARS = 160


class NeevCloudError(Exception):
    """Base class of every error raised by :mod:`neev_provider`'s client."""


class NeevCloudValidationError(NeevCloudError, ValueError):
    """Raised when an argument breaks a rule, before any request is sent."""

    def __init__(self, field: str, value: object, rule: str, *, show_value: bool = True) -> None:
        self.field = field
        self.value = value if show_value else None
        self.rule = rule
        shown = repr(value) if show_value else "(hidden)"
        super().__init__(f"{field}={shown} is invalid: {rule}")


class NeevCloudTransportError(NeevCloudError):
    """Raised when the request failed on the network, without an HTTP answer.

    ``request_sent`` tells whether the request may have reached the server: a refused
    connection cannot have, a reset or a read timeout may have.
    """

    def __init__(self, message: str, *, method: str, url: str, request_sent: bool) -> None:
        self.method = method
        self.url = url
        self.request_sent = request_sent
        super().__init__(f"{message} [{method} {url}]")


class NeevCloudTimeoutError(NeevCloudTransportError):
    """Raised when the server did not answer within the configured timeout."""


class AmbiguousRequestError(NeevCloudError):
    """Raised when a non-idempotent POST failed in a way that hides whether it took effect.

    The API has no idempotency key, so the client never replays such a request blindly.
    The caller resolves the ambiguity by looking the resource up (by name for a create,
    by reading the volume for an extend). The original failure is ``__cause__``.
    """

    def __init__(self, operation: str, cause: NeevCloudError) -> None:
        self.operation = operation
        self.cause = cause
        super().__init__(
            f"{operation} may or may not have taken effect ({cause}); look the resource up "
            "before trying again"
        )


class UnexpectedResponseError(NeevCloudError):
    """Raised when a success answer does not have the shape the API documents."""


class DuplicateVolumeNameError(NeevCloudError):
    """Raised when several volumes of a project share the name being looked up."""

    def __init__(self, name: str, volume_ids: list[str]) -> None:
        self.name = name
        self.volume_ids = volume_ids
        super().__init__(
            f"{len(volume_ids)} volumes are named {name!r} ({', '.join(volume_ids)}); "
            "refer to the volume by id, or delete the extra ones"
        )


class VolumeNotReusableError(NeevCloudError):
    """Raised when a volume of the wanted name exists but differs from what was asked for.

    :param volume_id: the existing volume.
    :param problems: each difference, in words (``"regionID is 'a', not 'b'"``).
    """

    def __init__(self, message: str, *, volume_id: str, problems: list[str]) -> None:
        self.volume_id = volume_id
        self.problems = problems
        super().__init__(message)


class VolumeStillPresentError(NeevCloudError):
    """Raised when a failed or terminated volume did not go away within the time allowed.

    A new volume of the same name is created only once the old one is gone: behind the API each
    volume is a Kubernetes PVC, whose name cannot be reused while the old claim is terminating.
    """

    def __init__(self, message: str, *, volume_ids: list[str]) -> None:
        self.volume_ids = volume_ids
        super().__init__(message)


class NeevCloudAPIError(NeevCloudError):
    """Raised when the API answers with an error status.

    :param status: the HTTP status code.
    :param code: the API's error code (``ErrorResponse.code``), or ``None``.
    :param message: the API's human-readable message, or an excerpt of a non-JSON body.
    :param details: the API's ``details`` object (empty when absent).
    :param request_id: the ``x-request-id`` response header, for support requests.
    :param retry_after: seconds the server asked to wait (``Retry-After``), if any.
    """

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        details: Mapping[str, Any] | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
        method: str = "",
        url: str = "",
    ) -> None:
        self.status = status
        self.code = code
        self.message = message
        self.details = dict(details or {})
        self.request_id = request_id
        self.retry_after = retry_after
        self.method = method
        self.url = url
        super().__init__(self._describe())

    def _describe(self) -> str:
        text = f"HTTP {self.status}"
        if self.code:
            text += f" {self.code}"
        text += f": {self.message}"
        if self.method:
            text += f" [{self.method} {self.url}]"
        if self.request_id:
            text += f" (x-request-id {self.request_id})"
        return text


class BadRequestError(NeevCloudAPIError):
    """400 - The request is invalid."""


class VolumeInUseError(BadRequestError):
    """400 - The volume cannot be deleted because a resource has it mounted."""


class AuthenticationError(NeevCloudAPIError):
    """401 - Missing, invalid or expired credentials."""


class PermissionDeniedError(NeevCloudAPIError):
    """403 - The credentials may not act on this organisation, project or volume."""


class NotFoundError(NeevCloudAPIError):
    """404 - The requested resource does not exist."""


class ConflictError(NeevCloudAPIError):
    """409 - The resource already exists or conflicts with its current state."""


class RateLimitError(NeevCloudAPIError):
    """429 - Too many requests; ``retry_after`` says how long to wait, when the server says."""


class ServerError(NeevCloudAPIError):
    """5xx - The server or the gateway in front of it failed."""


_BY_STATUS: dict[int, type[NeevCloudAPIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    429: RateLimitError,
}

_IN_USE = re.compile(r"\bin[ _-]use\b", re.IGNORECASE)


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Return the wait a ``Retry-After`` header asks for, in seconds (never negative).

    Both forms of RFC 9110 are accepted: delay-seconds and an HTTP-date.
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


def _excerpt(body: bytes) -> str:
    text = " ".join(body.decode("utf-8", errors="replace").split())
    if len(text) > _EXCERPT_CHARS:
        text = text[: _EXCERPT_CHARS - 1] + "…"
    return text or "(empty body)"


def _fields_from_body(body: bytes, content_type: str) -> tuple[str | None, str, dict[str, Any]]:
    """Read ``code``, ``message`` and ``details`` defensively from an error body."""
    try:
        payload = json.loads(body) if body else None
    except ValueError:
        payload = None
    if not isinstance(payload, dict):
        kind = content_type.split(";")[0].strip() or "unknown content type"
        return None, f"non-JSON error body ({kind}): {_excerpt(body)}", {}
    code = payload.get("code")
    message = payload.get("message") or payload.get("error") or payload.get("detail")
    details = payload.get("details")
    if not isinstance(details, dict):
        details = {} if details is None else {"details": details}
    return (
        str(code) if code is not None else None,
        str(message) if message else _excerpt(body),
        details,
    )


def error_from_response(
    status: int, headers: Mapping[str, str], body: bytes, *, method: str = "", url: str = ""
) -> NeevCloudAPIError:
    """Map an error answer to the exception class for its status.

    :param headers: the response headers; looked up case-insensitively by the caller's mapping.
    """
    code, message, details = _fields_from_body(body, headers.get("content-type", ""))
    cls: type[NeevCloudAPIError]
    if status >= 500:
        cls = ServerError
    else:
        cls = _BY_STATUS.get(status, NeevCloudAPIError)
    if cls is BadRequestError and (code == "volume_in_use" or _IN_USE.search(message)):
        cls = VolumeInUseError
    return cls(
        status,
        message,
        code=code,
        details=details,
        request_id=headers.get("x-request-id"),
        retry_after=parse_retry_after(headers.get("retry-after")),
        method=method,
        url=url,
    )


def exception_chain(error: BaseException) -> list[BaseException]:
    """Return ``error`` and every exception wrapped in it (arguments, ``reason``, causes)."""
    found: list[BaseException] = []
    pending: list[object] = [error]
    while pending:
        item = pending.pop()
        if not isinstance(item, BaseException) or any(item is seen for seen in found):
            continue
        found.append(item)
        pending.extend([*item.args, getattr(item, "reason", None), item.__cause__, item.__context__])
    return found


def describe_network_failure(error: BaseException, *, sent: bool) -> str:
    """Say what went wrong on the network, in the operating system's words where it gave any."""
    reason = "the connection failed" if sent else "could not connect"
    codes = [item.errno for item in exception_chain(error) if isinstance(item, OSError) and item.errno]
    # asyncio words a refusal "Connect call failed"; the errno's own text is clearer.
    detail = os.strerror(codes[-1]) if codes else (str(error) or type(error).__name__)
    return f"{reason}: {detail}"
