"""Render an error answer in the server's dialect (see :mod:`neev_provider.emulator.dialects`).

The emulator raises one :class:`EmulatorError` per failure, worded for people; this module
decides what the client receives: that body (``native``), the same status with wording that
tells nothing beyond the status (``generic``), extra fields (``extra-fields``), or a gateway's
HTML page (``html-errors``, for 5xx and for requests that match no route).
"""

from __future__ import annotations

import http
from typing import Any

from starlette.responses import Response

from neev_provider.emulator.dialect_extras import error_extras
from neev_provider.emulator.dialects import Dialect
from neev_provider.emulator.errors import EmulatorError
from neev_provider.emulator.responses import JSON_TYPE, dump, error_response

#: Where the wording derived from the status phrase is not what a generic gateway says.
_GENERIC_WORDING = {
    404: ("NOT_FOUND", "resource not found"),
    500: ("INTERNAL", "internal error"),
}
HTML_TYPE = "text/html; charset=utf-8"


def generic_error(status: int) -> dict[str, str]:
    """Return the ``generic`` dialect's body for ``status``: a code and message from the status alone."""
    if status in _GENERIC_WORDING:
        code, message = _GENERIC_WORDING[status]
        return {"code": code, "message": message}
    try:
        phrase = http.HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    return {"code": phrase.upper().replace(" ", "_").replace("-", "_"), "message": phrase.lower()}


def gateway_page(status: int) -> bytes:
    """Return the HTML page a reverse proxy sends in place of the service's answer."""
    try:
        title = f"{status} {http.HTTPStatus(status).phrase}"
    except ValueError:
        title = str(status)
    return (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n"
        "<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    ).encode()


def render_error(error: EmulatorError, dialect: Dialect, *, route_miss: bool = False) -> Response:
    """Return the answer to ``error`` in ``dialect``.

    :param route_miss: the request is for no service at all (not even a path under a project's
        volumes that no route serves); under ``html-errors`` it gets the gateway's page, since
        no service behind the gateway would answer it.
    """
    if dialect.native:
        return error_response(error)
    # Headers (Retry-After, Allow, WWW-Authenticate) carry protocol, not wording: kept in every dialect.
    if dialect.html_errors and (error.status >= 500 or route_miss):
        return Response(gateway_page(error.status), error.status, error.headers, media_type=HTML_TYPE)
    payload: dict[str, Any] = {**generic_error(error.status)} if dialect.generic else error.payload()
    if dialect.extra_fields:
        payload.update(error_extras())
    return Response(dump(payload), error.status, error.headers, media_type=JSON_TYPE)
