"""How each dialect words the same state on the wire.

Every dialect stays inside the spec: error answers of documented statuses are an
``ErrorResponse`` (``code`` and ``message`` strings are all the spec requires, both free text),
unknown fields are allowed everywhere (no schema sets ``additionalProperties: false``), list
order is not specified, and only the enum fields (``status``, ``extension_status``, an
attachment's ``status``) have fixed words. What the spec does not cover (429, 502, 504 and paths
outside the API) is answered the way real front ends do.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

REASONS = {
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    405: "Method Not Allowed",
    429: "Too Many Requests",
    502: "Bad Gateway",
    504: "Gateway Timeout",
}


@dataclass(frozen=True)
class Answer:
    """One HTTP answer: status, body and its type, extra headers."""

    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, payload: Any, headers: dict[str, str] | None = None) -> Answer:
        return cls(status, json.dumps(payload).encode(), "application/json", headers or {})


def _html_page(status: int) -> bytes:
    # What nginx answers by itself: a gateway in front of the API speaks HTML.
    title = f"{status} {REASONS.get(status, 'Error')}"
    return (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n"
        "<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    ).encode()


class Dialect:
    """``plain``: lower-case codes, messages that name the volume, oldest-first lists."""

    name = "plain"
    newest_first = False
    shifts_pages = False
    keeps_unmounted = False

    # -- errors -----------------------------------------------------------------------------

    def error(self, status: int, kind: str, volume_id: str | None = None, detail: str = "") -> Answer:
        """The ``ErrorResponse`` for a refusal (``not_found``, ``in_use``, ``invalid``, ...)."""
        code, message = self.words(kind, volume_id, detail)
        body = {"code": self.code_case(code), "message": message}
        return Answer.json(status, self.decorate_error(body, status))

    def words(self, kind: str, volume_id: str | None, detail: str) -> tuple[str, str]:
        if kind == "not_found":
            return "not_found", f"volume {volume_id} not found"
        if kind == "in_use":
            return "in_use", f"volume {volume_id} is in use: mounted by {detail}"
        if kind == "unauthorized":
            return "unauthorized", "missing or invalid bearer token"
        if kind == "method":
            return "method_not_allowed", detail
        return "bad_request", detail or "invalid request"

    def code_case(self, code: str) -> str:
        """How the dialect spells an error code (free text in the spec)."""
        return code

    def decorate_error(self, body: dict[str, Any], status: int) -> dict[str, Any]:
        return body

    def transient(self, status: int) -> Answer:
        """An injected 429, 502 or 504; a 429 always says ``Retry-After: 0``."""
        headers = {"Retry-After": "0"} if status == 429 else {}
        words = {429: "rate_limited", 502: "bad_gateway", 504: "gateway_timeout"}
        code, message = self.code_case(words.get(status, "error")), REASONS.get(status, "error").lower()
        body = {"code": code, "message": message}
        return Answer.json(status, self.decorate_error(body, status), headers)

    def unknown_path(self, method: str, path: str) -> Answer:
        """A path that is not an API route: what Go's ``http.ServeMux`` answers."""
        return Answer(404, b"404 page not found\n", "text/plain; charset=utf-8")

    # -- success bodies -----------------------------------------------------------------------

    def volume(self, body: dict[str, Any]) -> dict[str, Any]:
        return body

    def listing(self, volumes: list[dict[str, Any]], pagination: dict[str, Any]) -> dict[str, Any]:
        return {"volumes": [self.volume(v) for v in volumes], "pagination": pagination}


class Generic(Dialect):
    """``generic``: the spec's ErrorResponse with generic words only, newest-first lists.

    A missing volume and a refused delete of a volume in use read the same as any other
    404 or 400; an unknown path answers the very same 404 as a missing volume.
    """

    name = "generic"
    newest_first = True

    def words(self, kind: str, volume_id: str | None, detail: str) -> tuple[str, str]:
        if kind == "not_found":
            return "NOT_FOUND", "resource not found"
        if kind == "unauthorized":
            return "UNAUTHORIZED", "unauthorized"
        if kind == "method":
            return "METHOD_NOT_ALLOWED", "method not allowed"
        return "BAD_REQUEST", "bad request"  # "in use" included

    def transient(self, status: int) -> Answer:
        headers = {"Retry-After": "0"} if status == 429 else {}
        code = REASONS.get(status, "error").upper().replace(" ", "_")
        return Answer.json(status, {"code": code, "message": REASONS.get(status, "error").lower()}, headers)

    def unknown_path(self, method: str, path: str) -> Answer:
        return self.error(404, "not_found")


class Shifting(Dialect):
    """``shifting``: plain words, but the list changes between page reads (see the server)."""

    name = "shifting"
    shifts_pages = True


# Free-text words of the response schemas, sent in another case than the request's enum uses.
_RESOURCE_TYPES = {"airuntime": "AIRuntime", "vm": "VM"}


class Extra(Dialect):
    """``extra``: unknown fields in every object, free-text words in another case.

    ``volumeMode`` and ``resource_type`` of a response are free text in the spec (only the
    request's ``volumeMode`` is an enum); error codes are free text too. A detached resource
    stays listed with ``status: unmounted`` (an enum value of the spec).
    """

    name = "extra"
    keeps_unmounted = True

    def words(self, kind: str, volume_id: str | None, detail: str) -> tuple[str, str]:
        if kind == "not_found":
            return "not_found", f"Volume {volume_id} Not Found"
        if kind == "in_use":
            return "volume_in_use", f"Volume {volume_id} is In Use (mounted by {detail})"
        return super().words(kind, volume_id, detail)

    def code_case(self, code: str) -> str:
        return "".join(part.title() for part in code.split("_"))  # not_found -> NotFound

    def decorate_error(self, body: dict[str, Any], status: int) -> dict[str, Any]:
        return {**body, "httpStatus": status, "requestId": "req-spec-fake", "retryable": status >= 500}

    def unknown_path(self, method: str, path: str) -> Answer:
        # The envelope is the API's, and its message quotes the URL (volume id included), as
        # many frameworks' catch-all handlers do: only the route, not the words, says "no volume".
        body = {"code": self.code_case("not_found"), "message": f"{method} {path}: Not Found"}
        return Answer.json(404, self.decorate_error(body, 404))

    def volume(self, body: dict[str, Any]) -> dict[str, Any]:
        mode = str(body["volumeMode"])
        return {
            **body,
            "volumeMode": mode[:1].upper() + mode[1:],
            "storageClass": "nfs-premium",
            "labels": {"managed-by": "spec-fake"},
            "airuntime_instances": [{**i, "instance_state": "Running"} for i in body["airuntime_instances"]],
            "volumeAttachments": [self._attachment(a) for a in body["volumeAttachments"]],
        }

    def _attachment(self, body: dict[str, Any]) -> dict[str, Any]:
        kind = str(body["resource_type"])
        return {**body, "resource_type": _RESOURCE_TYPES.get(kind, kind.upper()), "node": "gpu-node-7"}

    def listing(self, volumes: list[dict[str, Any]], pagination: dict[str, Any]) -> dict[str, Any]:
        more = pagination["current_page"] < pagination["total_pages"]
        return {
            "volumes": [self.volume(v) for v in volumes],
            "pagination": {**pagination, "has_next_page": more, "sort": "createdAt:asc"},
            "requestId": "req-spec-fake",
            "kind": "NetworkVolumeList",
        }


class Gateway(Dialect):
    """``gateway``: plain JSON from the API, HTML from the gateway in front of it.

    5xx bodies are the gateway's HTML pages, and so is the 404 of any path that is not an API
    route; a missing volume on a real route is still the API's JSON 404.
    """

    name = "gateway"

    def transient(self, status: int) -> Answer:
        if status < 500:
            return super().transient(status)
        return Answer(status, _html_page(status), "text/html")

    def unknown_path(self, method: str, path: str) -> Answer:
        return Answer(404, _html_page(404), "text/html")


DIALECTS: dict[str, Dialect] = {d.name: d for d in (Dialect(), Generic(), Shifting(), Extra(), Gateway())}
