"""One exception tree for every failure the client can report.

::

    NeevCloudError
    ├── NeevCloudValidationError     bad input, refused before any call (also a ValueError)
    │   └── NeevCloudConfigurationError  a connection or configuration with problems, all listed
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
        ├── NotFoundError            404, the resource asked for does not exist
        ├── EndpointNotFoundError    404 where not even the project's list is served: a wrong URL
        ├── ConflictError            409
        ├── RateLimitError           429 (``retry_after`` in seconds, when sent)
        ├── ServerError              5xx
        └── UnexpectedStatusError    a status the call does not document (a redirect, another 2xx)

:func:`error_from_response` is the one place that turns an HTTP answer into this tree, by
status, as the spec states its rules; the API's wording is quoted, never read. Two statuses
need more than the status: a ``400`` on a delete is the spec's "in use" (the call says so), and a
``404`` on a volume's own path means "this volume does not exist" only once a request of the
same project proved the route itself is served (the clients make that check; until then it is
an :class:`EndpointNotFoundError`). No message or ``repr`` here ever contains a request's
headers or body, and :meth:`NeevCloudError.scrub` removes every form of the credentials from
what a server echoed back; values and the API's own words are shortened, so a hostile or
mistaken 100 kB value never becomes a 100 kB message.

Errors raised by a client call carry a ``context`` naming the configuration (for the hook:
the Airflow connection) and what the caller asked for, e.g. ``connection 'neevcloud_default':
deleting volume 3f2b… in org 'org-a', project 'prj-b'``; ``str(error)`` starts with it.
"""

from __future__ import annotations

import email.utils
import json
import os
import time
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote

from neev_provider.client._body import loads_or_none

_EXCERPT_CHARS = 160
# The API's own message is quoted up to this length; a longer one is cut.
_API_MESSAGE_CHARS = 500
# A value is shown in a message up to this length (its repr); a longer one is cut and its length said.
_SHOWN_CHARS = 80


def shown(value: object) -> str:
    """Return ``repr(value)`` for a message, cut to a readable length (the full length is said)."""
    text = repr(value)
    if len(text) <= _SHOWN_CHARS:
        return text
    size = f" ({len(value)} characters)" if isinstance(value, str | bytes) else ""
    return text[: _SHOWN_CHARS - 1] + "…" + size


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + f"… ({len(text)} characters)"


class NeevCloudError(Exception):
    """Base class of every error raised by :mod:`neev_provider`'s client.

    ``context`` names where the error happened (the connection and what was asked for);
    ``str(error)`` starts with it when it is set.
    """

    context: str | None = None

    def __str__(self) -> str:
        text = super().__str__()
        return f"{self.context}: {text}" if self.context else text

    def set_context(self, context: str) -> None:
        """Say where the error happened; an outer call (what the user asked for) replaces an inner one."""
        self.context = context

    def scrub(self, secrets: Iterable[str]) -> None:
        """Remove every form of ``secrets`` from what the error holds (a server may echo them).

        Its arguments (the message), its string attributes and ``details`` are rewritten in place.
        """
        forms = secret_forms(secrets)
        if not forms:
            return
        self.args = tuple(_scrubbed(arg, forms) for arg in self.args)
        for name, value in vars(self).items():
            if isinstance(value, str | dict | list | tuple):
                setattr(self, name, _scrubbed(value, forms))


class NeevCloudValidationError(NeevCloudError, ValueError):
    """Raised when an argument breaks a rule, before any request is sent.

    :param show_value: ``False`` for a secret: the message then says ``(hidden)``.
    :param missing: the value was not given at all: the message says so instead of showing ``None``.
    """

    def __init__(
        self, field: str, value: object, rule: str, *, show_value: bool = True, missing: bool = False
    ) -> None:
        self.field = field
        self.value = value if show_value else None
        self.rule = rule
        if missing:
            super().__init__(f"{field} is not set: {rule}")
        else:
            super().__init__(f"{field}={shown(value) if show_value else '(hidden)'} is invalid: {rule}")


class NeevCloudConfigurationError(NeevCloudValidationError):
    """Raised when a configuration (an Airflow connection and the task's overrides) has problems.

    Every problem is listed, in a fixed order, so that one run reports all there is to fix.

    :param source: what is being read, e.g. ``connection 'neevcloud_default'``.
    :param problems: one validation error per problem.
    """

    def __init__(self, source: str, problems: Iterable[NeevCloudValidationError]) -> None:
        self.source = source
        self.problems = tuple(problems)
        lines = "".join(f"\n  - {problem}" for problem in self.problems)
        count = len(self.problems)
        NeevCloudError.__init__(
            self, f"{source} cannot be used ({count} problem{'s' if count != 1 else ''}):{lines}"
        )
        self.field = ", ".join(problem.field for problem in self.problems)
        self.value = None
        self.rule = "see the problems listed"


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
    """Raised when an answer does not have the shape the API documents (or is too large or deep)."""


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
    :param hint: what to check or do next, appended to the message.
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
        hint: str | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.message = message
        self.details = dict(details or {})
        self.request_id = request_id
        self.retry_after = retry_after
        self.method = method
        self.url = url
        self.hint = hint
        super().__init__(self._describe())

    def _describe(self) -> str:
        text = f"HTTP {self.status}"
        if self.code:
            text += f" {self.code}"
        text += f": {_shorten(self.message, _API_MESSAGE_CHARS)}"
        if self.method:
            text += f" [{self.method} {self.url}]"
        if self.request_id:
            text += f" (x-request-id {self.request_id})"
        if self.hint:
            text += f". {self.hint}"
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
    """404 - The requested resource does not exist (its route proven served: see the module docstring)."""


class EndpointNotFoundError(NeevCloudAPIError):
    """404 - The URL itself does not exist: not even the project's volume list is served there.

    The host (a path prefix too many), the ``org_id`` or the ``project_id`` is wrong, or a proxy
    answered. It is deliberately not a :class:`NotFoundError`, so that nothing reads it as "the
    volume is gone".
    """


class ConflictError(NeevCloudAPIError):
    """409 - The resource already exists or conflicts with its current state."""


class RateLimitError(NeevCloudAPIError):
    """429 - Too many requests; ``retry_after`` says how long to wait, when the server says."""


class ServerError(NeevCloudAPIError):
    """5xx - The server or the gateway in front of it failed."""


class UnexpectedStatusError(NeevCloudAPIError):
    """A status the call does not document: a redirect (never followed) or another success status.

    A redirect usually means the host is not the API gateway (``http://`` redirected to
    ``https://``, or a login page); the message names where it pointed.
    """


_BY_STATUS: dict[int, type[NeevCloudAPIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    429: RateLimitError,
}


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Return the wait a ``Retry-After`` header asks for, in seconds (never negative).

    Both forms of RFC 9110 are accepted: delay-seconds and an HTTP-date.
    """
    if value is None or not value.strip():
        return None
    text = value.strip()[:64]
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        # NaN or an infinity is no wait at all: ignore it, as if the header were absent.
        return max(0.0, seconds) if seconds == seconds and abs(seconds) != float("inf") else None
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, OverflowError, IndexError):
        return None
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


def _excerpt(body: bytes) -> str:
    text = " ".join(body[: _EXCERPT_CHARS * 4].decode("utf-8", errors="replace").split())
    if len(text) > _EXCERPT_CHARS:
        text = text[: _EXCERPT_CHARS - 1] + "…"
    return text or "(empty body)"


def _fields_from_body(body: bytes, content_type: str) -> tuple[str | None, str, dict[str, Any]]:
    """Read ``code``, ``message`` and ``details`` defensively from an error body."""
    payload = loads_or_none(body)
    if not isinstance(payload, dict):
        kind = content_type.split(";")[0].strip() or "unknown content type"
        return None, f"non-JSON error body ({kind}): {_excerpt(body)}", {}
    code = payload.get("code")
    message = payload.get("message") or payload.get("error") or payload.get("detail")
    details = payload.get("details")
    if not isinstance(details, dict):
        details = {} if details is None else {"details": details}
    return (
        _shorten(str(code), _EXCERPT_CHARS) if code is not None else None,
        str(message) if message else _excerpt(body),
        details,
    )


def _unexpected_status(status: int, headers: Mapping[str, str], method: str, url: str) -> str:
    if 300 <= status < 400:
        location = _shorten(headers.get("location", "") or "nowhere", _EXCERPT_CHARS)
        return (
            f"the server redirects ({status}) to {location}, and the client does not follow redirects: "
            "the host is probably not the API gateway (for example http:// where https:// is served); "
            "set the host to the gateway itself, such as https://api.ai.neevcloud.com"
        )
    return f"the API answered {status}, a status {method} on this URL does not document"


def error_from_response(
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    *,
    method: str = "",
    url: str = "",
    by_status: Mapping[int, type[NeevCloudAPIError]] | None = None,
    hint: str | None = None,
) -> NeevCloudAPIError:
    """Map an error answer to the exception class for its status.

    :param headers: the response headers; looked up case-insensitively by the caller's mapping.
    :param by_status: the call's own reading of a status, from the spec (a delete's ``400`` is
        :class:`VolumeInUseError`), before the general one.
    :param hint: what to check or do next, added to the message.
    """
    code, message, details = _fields_from_body(body, headers.get("content-type", ""))
    cls: type[NeevCloudAPIError]
    if by_status and status in by_status:
        cls = by_status[status]
    elif status >= 500:
        cls = ServerError
    elif status < 400:
        cls, message = UnexpectedStatusError, _unexpected_status(status, headers, method, url)
    else:
        cls = _BY_STATUS.get(status, NeevCloudAPIError)
    return cls(
        status,
        message,
        code=code,
        details=details,
        request_id=_shorten(headers.get("x-request-id") or "", _EXCERPT_CHARS) or None,
        retry_after=parse_retry_after(headers.get("retry-after")),
        method=method,
        url=url,
        hint=hint,
    )


def route_not_served(error: NeevCloudAPIError) -> EndpointNotFoundError:
    """The 404 of a volume path whose route the probe found missing too: the URL is wrong."""
    route = EndpointNotFoundError(
        error.status,
        error.message,
        code=error.code,
        details=error.details,
        request_id=error.request_id,
        method=error.method,
        url=error.url,
        hint=(
            "Not even the project's volume list is served there: the URL does not exist. Check the "
            "host (the gateway only, such as https://api.ai.neevcloud.com) and the org_id and project_id"
        ),
    )
    route.context = error.context
    return route


def secret_forms(secrets: Iterable[str]) -> list[str]:
    """Every form in which a server may echo a secret: as is, JSON-escaped, URL-encoded.

    Longest first, so that a form containing another is replaced whole.
    """
    forms: set[str] = set()
    for secret in secrets:
        if not secret or len(secret) < 4:  # too short to tell from ordinary text
            continue
        escaped = json.dumps(secret)[1:-1]
        forms.update({secret, escaped, escaped.replace("/", "\\/"), quote(secret, safe=""), quote(secret)})
    return sorted(forms, key=len, reverse=True)


def _scrubbed(value: Any, forms: list[str]) -> Any:
    if isinstance(value, str):
        for form in forms:
            value = value.replace(form, "***")
        return value
    if isinstance(value, dict):
        return {_scrubbed(k, forms): _scrubbed(v, forms) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_scrubbed(item, forms) for item in value)
    return value


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


def _quotes_a_secret(error: BaseException, secrets: Iterable[str]) -> bool:
    texts = [f"{item} {item.args!r}" for item in exception_chain(error)]
    return any(secret and secret in text for secret in secrets for text in texts)


def library_failure(
    error: BaseException, *, method: str, url: str, request_sent: bool, secrets: Iterable[str] = ()
) -> tuple[NeevCloudTransportError, BaseException | None]:
    """Turn any exception of the HTTP stack into a :class:`NeevCloudTransportError`.

    :param secrets: values that must not appear (the ``Authorization`` header, the token).
    :return: the error to raise and the cause to chain it to: ``error`` itself, or ``None``
        when the library quoted a secret in it (its text is then withheld too).
    """
    if _quotes_a_secret(error, secrets):
        detail, cause = "its message is withheld because it quoted the credentials", None
    else:
        detail, cause = _shorten(str(error) or "no message", _EXCERPT_CHARS), error
    message = f"the HTTP library failed ({type(error).__name__}: {detail})"
    return NeevCloudTransportError(message, method=method, url=url, request_sent=request_sent), cause


def call_context(label: str | None, action: str) -> str:
    """Return the context of a call's errors: the configuration's label and the action, as present."""
    return ": ".join(part for part in (label, action) if part)
