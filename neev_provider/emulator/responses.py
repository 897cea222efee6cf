"""Pre-serialized JSON responses: the API routes skip FastAPI's response models for speed."""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import Response

from neev_provider.emulator.errors import EmulatorError

JSON_TYPE = "application/json"


def dump(payload: Any) -> bytes:
    """Serialize compactly; the emulator never sends ``null`` because payloads never hold ``None``."""
    return json.dumps(payload, separators=(",", ":")).encode()


def json_response(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """Return ``payload`` as a JSON response."""
    return Response(dump(payload), status_code=status, headers=headers, media_type=JSON_TYPE)


def empty_response(status: int = 204) -> Response:
    """Return a response without a body (204 must not carry one)."""
    return Response(status_code=status)


def error_response(error: EmulatorError) -> Response:
    """Return the ``ErrorResponse`` for ``error``."""
    return Response(error.body(), status_code=error.status, headers=error.headers, media_type=JSON_TYPE)
