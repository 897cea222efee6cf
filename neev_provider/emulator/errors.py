"""The one exception the emulator raises, rendered as the spec's ``ErrorResponse``.

``EmulatorError`` carries an HTTP status, an API ``code``, a human ``message`` and ``details``.
The helpers below build the errors that recur across modules so codes and wording stay uniform.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any


class EmulatorError(Exception):
    """Raised to answer a request with an ``ErrorResponse`` body.

    :param status: HTTP status code.
    :param code: machine-readable error code (``validation_error``, ``not_found``, ...).
    :param message: human-readable message.
    :param details: extra structured data; ``None`` omits the field (the gateway's 401 has none).
    :param headers: extra response headers.
    """

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: dict[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.headers = dict(headers or {})

    def payload(self) -> dict[str, Any]:
        """Return the ``ErrorResponse`` document."""
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details is not None:
            body["details"] = self.details
        return body

    def body(self) -> bytes:
        """Return the serialized ``ErrorResponse``."""
        return json.dumps(self.payload(), separators=(",", ":")).encode()


def render_value(value: Any) -> str:
    """Render a request value for an error message, JSON-style so ``"10"`` and ``10`` differ."""
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)


def validation_error(field: str, rule: str, message: str, value: Any = ..., **extra: Any) -> EmulatorError:
    """Build a 400 naming the field, the rule and (when there was one) the offending value.

    :param field: dotted name of the field, e.g. ``sizeGB`` or ``attachedTo[0].instance_id``.
    :param rule: short rule id, e.g. ``range``, ``integer``, ``required``.
    :param message: what the rule demands, e.g. ``must be between 1 and 1000``.
    :param value: the offending value; omit for a missing field.
    """
    details: dict[str, Any] = {"field": field, "rule": rule}
    text = f"{field}: {message}"
    if value is not ...:
        details["value"] = value
        text += f" (got {render_value(value)})"
    details.update(extra)
    return EmulatorError(400, "validation_error", text, details)


def not_found(kind: str, identifier: str) -> EmulatorError:
    """Build the 404 for a missing resource."""
    return EmulatorError(
        404, "not_found", f"{kind} {render_value(identifier)} not found", {kind.replace(" ", "_"): identifier}
    )


def unauthorized(message: str) -> EmulatorError:
    """Build the gateway's 401, whose documented body is ``{code, message}`` only."""
    return EmulatorError(401, "unauthorized", message, None, {"WWW-Authenticate": "Bearer"})
