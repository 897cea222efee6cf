"""Check exchanges with the emulator against the spec, with an independent validator (openapi-core).

The session's emulator is started with an observer (``neev_provider.emulator.tap``) that queues
every public-API exchange; :class:`ContractMonitor` checks the queue at the start and end of each
test, so a violation fails the test during which it happened.

Why openapi-core here, while ``tests/support/spec.py`` uses jsonschema: the emulator's own
tests ask a narrow question ("is this body a ``NetworkVolumeResponse``?") and jsonschema answers
exactly that. Here the question is whether a whole HTTP exchange is one the spec allows, and
openapi-core validates a request/response pair against the *operation* it finds from the method
and URL: path and query parameters (deserialized and type-cast as OpenAPI prescribes), the
security requirement, the request body and its media type, whether the response status is
documented for that operation, and the response body against that status's schema. It is also
independent of both the emulator and the client, which are the code under test.

What is checked:

* every response to a ``/storage/...`` request, unless an injected fault shaped it (those are
  deliberately off-spec; a ``latency`` fault does not change the response, so it is checked) or
  its method and path match no operation of the spec (a test probing an unknown route);
* every request sent by this project's client (its ``User-Agent`` starts with
  :data:`CLIENT_AGENT_PREFIX`), including that it targets a documented operation. Tests that send
  malformed requests on purpose use plain ``requests``/``httpx`` and so are exempt; the answers
  they get are still checked.

Two checks go beyond the letter of the spec, on purpose: every object schema that lists its
properties is treated as closed (``additionalProperties: false``, as ``spec.py`` does in strict
mode), so a misspelt field in a body is caught; and a response whose status documents no content
(204) must have an empty body, which openapi-core does not check itself.
"""

from __future__ import annotations

import copy
import functools
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

import pytest
from openapi_core import OpenAPI
from openapi_core.datatypes import RequestParameters
from openapi_core.templating.paths.exceptions import PathError
from werkzeug.datastructures import Headers, ImmutableMultiDict

from neev_provider.emulator.tap import Exchange
from tests.support.spec import forbid_extras, load_spec

#: Requests whose User-Agent starts with this come from this project's client.
CLIENT_AGENT_PREFIX = "airflow-provider-neevcloud/"
#: Fault kinds that replace or suppress the emulator's own answer.
SHAPING_FAULTS = frozenset({"status", "drop", "commit_then_drop", "late_commit", "error_then_commit"})


def _spec_server() -> tuple[str, str]:
    """Return the scheme+host and the path prefix of the spec's server URL."""
    url = urlsplit(load_spec()["servers"][0]["url"])
    return f"{url.scheme}://{url.netloc}", url.path.rstrip("/")


SPEC_HOST_URL, SPEC_PATH_PREFIX = _spec_server()


@functools.cache
def openapi(*, closed: bool = True) -> OpenAPI:
    """Return the validator for the shipped spec; ``closed``: listed-properties objects closed.

    The emulator's ``extra-fields`` dialect adds unknown fields on purpose, which the spec
    allows: its answers are checked against the spec as written.
    """
    document = copy.deepcopy(load_spec())
    if closed:
        forbid_extras(document)
    return OpenAPI.from_dict(document)


class ExchangeRequest:
    """An :class:`Exchange` 's request, as openapi-core's ``Request`` protocol.

    The emulator serves the spec's paths below the same ``/storage`` prefix as the spec's
    server URL, so only the scheme and host are replaced. The path stays percent-encoded, so a
    ``%2F`` inside an id is one path segment, as it was on the wire.
    """

    def __init__(self, exchange: Exchange) -> None:
        self.host_url = SPEC_HOST_URL
        self.path = exchange.raw_path
        self.method = exchange.method.lower()
        self.body: bytes | None = exchange.request_body or None
        self.content_type = (exchange.request_header("content-type") or "").lower()
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(parse_qsl(exchange.query_string, keep_blank_values=True)),
            header=Headers(list(exchange.request_headers)),
        )


class ExchangeResponse:
    """An :class:`Exchange` 's response, as openapi-core's ``Response`` protocol."""

    def __init__(self, exchange: Exchange) -> None:
        assert exchange.status is not None
        self.status_code = exchange.status
        self.data: bytes | None = exchange.response_body or None
        self.content_type = (exchange.response_header("content-type") or "").lower()
        self.headers = Headers(list(exchange.response_headers))


@dataclass(frozen=True)
class Violation:
    """One way in which an exchange breaks the spec."""

    part: str  # "request" or "response"
    exchange: Exchange
    error: str

    def __str__(self) -> str:
        ex = self.exchange
        target = ex.raw_path + (f"?{ex.query_string}" if ex.query_string else "")
        return (
            f"{self.part} of {ex.operation or 'an unknown operation'} ({ex.method} {target}"
            f" -> {ex.status}) breaks the spec: {self.error}"
        )


@dataclass(frozen=True)
class Verdict:
    """What :func:`check_exchange` checked and found.

    :param unchecked: why the response was not checked, if it was not.
    """

    request_checked: bool
    response_checked: bool
    violations: tuple[Violation, ...]
    unchecked: str | None = None


def _schema_error(error: Exception) -> str:
    return f"{getattr(error, 'json_path', '$')}: {getattr(error, 'message', error)}"


def describe(error: Exception) -> str:
    """Render an openapi-core error with the schema errors behind it."""
    text = str(error)
    cause = error.__cause__
    schema_errors = list(getattr(cause, "schema_errors", None) or [])
    if schema_errors:
        details = "; ".join(_schema_error(item) for item in schema_errors)
        return f"{text}: {details}"
    if cause is not None and str(cause) not in text:
        return f"{text}: {cause}"
    return text


def _errors(found: Iterable[Exception]) -> tuple[bool, list[str]]:
    """Return (whether the exchange matched an operation, the errors found)."""
    errors = list(found)
    if errors and isinstance(errors[0], PathError):
        return False, [describe(errors[0])]
    return True, [describe(error) for error in errors]


def _undocumented_body(exchange: Exchange) -> str | None:
    """openapi-core ignores a body on a status that documents none: check that here."""
    if not exchange.response_body or exchange.operation is None:
        return None
    for path_item in load_spec()["paths"].values():
        for operation in path_item.values():
            if operation.get("operationId") != exchange.operation:
                continue
            response = operation["responses"].get(str(exchange.status))
            if response is not None and "content" not in response:
                return f"status {exchange.status} documents no body, got {exchange.response_body[:200]!r}"
    return None


def _check_request(exchange: Exchange) -> list[Violation]:
    _, errors = _errors(openapi().iter_request_errors(ExchangeRequest(exchange)))
    return [Violation("request", exchange, error) for error in errors]


def _check_response(exchange: Exchange) -> tuple[bool, list[Violation]]:
    validator = openapi(closed="extra-fields" not in exchange.dialect)
    found = validator.iter_response_errors(ExchangeRequest(exchange), ExchangeResponse(exchange))
    matched, errors = _errors(found)
    if not matched:
        return False, []
    extra = _undocumented_body(exchange)
    errors += [extra] if extra else []
    return True, [Violation("response", exchange, error) for error in errors]


def is_client_request(exchange: Exchange) -> bool:
    """Tell whether this project's client sent the request."""
    return (exchange.request_header("user-agent") or "").startswith(CLIENT_AGENT_PREFIX)


def check_exchange(exchange: Exchange) -> Verdict:
    """Check one exchange against the spec (see the module docstring for what is checked)."""
    if not exchange.path.startswith(SPEC_PATH_PREFIX + "/"):
        return Verdict(False, False, (), unchecked="outside the spec's server")
    request_checked = is_client_request(exchange)
    violations = _check_request(exchange) if request_checked else []
    if exchange.fault in SHAPING_FAULTS:
        return Verdict(request_checked, False, tuple(violations), unchecked="injected fault")
    if exchange.status is None:
        return Verdict(request_checked, False, tuple(violations), unchecked="no response")
    matched, found = _check_response(exchange)
    unchecked = None if matched else "no such operation"
    return Verdict(request_checked, matched, (*violations, *found), unchecked=unchecked)


class ContractMonitor:
    """Queue exchanges as the emulator observes them; check them on demand in the test's thread.

    :meth:`observe` is the emulator's observer: it runs on the server thread, so it only queues.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: list[Exchange] = []
        self._awaited: list[tuple[Callable[[Exchange], bool], threading.Event]] = []
        self.counts: Counter[str] = Counter()

    def observe(self, exchange: Exchange) -> None:
        """Queue one exchange (called by the emulator), and set the events waiting for it."""
        with self._lock:
            self._pending.append(exchange)
            for predicate, event in self._awaited:
                if not event.is_set() and predicate(exchange):
                    event.set()

    def event_for(self, predicate: Callable[[Exchange], bool]) -> threading.Event:
        """Return an event set once an exchange satisfying ``predicate`` has been answered.

        Tests synchronise on it instead of sleeping: the event is set before the client reads the
        last byte of that answer. ``predicate`` runs on the server thread: keep it quick.
        """
        event = threading.Event()
        with self._lock:
            self._awaited.append((predicate, event))
        return event

    def check_pending(self) -> list[Violation]:
        """Check every queued exchange; return the violations found."""
        with self._lock:
            pending, self._pending = self._pending, []
        violations: list[Violation] = []
        for exchange in pending:
            verdict = check_exchange(exchange)
            self.counts["exchanges"] += 1
            self.counts["requests"] += verdict.request_checked
            self.counts["responses"] += verdict.response_checked
            self.counts["violations"] += len(verdict.violations)
            if verdict.unchecked:
                self.counts[verdict.unchecked] += 1
            violations += verdict.violations
        return violations

    def summary(self) -> str:
        """One line for the end of the session."""
        counts = self.counts
        reasons = ("outside the spec's server", "injected fault", "no such operation", "no response")
        skipped = ", ".join(f"{counts[reason]} {reason}" for reason in reasons if counts[reason])
        return (
            f"openapi-core contract check: {counts['requests']} client requests and "
            f"{counts['responses']} responses validated against the spec, {counts['violations']} "
            f"violations ({counts['exchanges']} exchanges; responses not validated: {skipped or 'none'})"
        )


def report(violations: list[Violation], limit: int = 10) -> str:
    """Render violations for a test failure."""
    lines = [f"{len(violations)} exchange(s) with the emulator broke the OpenAPI spec:"]
    lines += [f"  - {violation}" for violation in violations[:limit]]
    if len(violations) > limit:
        lines.append(f"  ... and {len(violations) - limit} more")
    return "\n".join(lines)


def fail_on_violations(monitor: ContractMonitor, when: str) -> None:
    """Check what ``monitor`` has queued; fail the running test if anything broke the spec."""
    violations = monitor.check_pending()
    if violations:
        pytest.fail(f"{report(violations)}\n({when})", pytrace=False)
