"""Application factory: wire state, routes, middleware and exception handlers.

The exception handlers guarantee that every error, including unknown routes, wrong methods,
FastAPI's own validation errors and bugs, is answered with an ``ErrorResponse`` JSON body: never
a 422, and never an HTML or plain-text 500 unless the ``html-errors`` dialect asks for the
gateway's page. Public answers are rendered in the server's dialect; admin answers always native.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, Route
from starlette.types import Receive, Scope, Send

from neev_provider.emulator.admin import AdminApi
from neev_provider.emulator.api import PublicApi
from neev_provider.emulator.dialect_errors import render_error
from neev_provider.emulator.dialects import NATIVE_DIALECT, Dialect
from neev_provider.emulator.errors import EmulatorError
from neev_provider.emulator.middleware import EmulatorMiddleware
from neev_provider.emulator.operations import in_volumes_api
from neev_provider.emulator.settings import ADMIN_PREFIX, STORAGE_PREFIX, EmulatorSettings
from neev_provider.emulator.state import EmulatorState
from neev_provider.emulator.tap import Observer


class EmulatorApp(FastAPI):
    """A FastAPI app whose outermost layer is :class:`EmulatorMiddleware`.

    The middleware sits outside Starlette's middleware stack (rather than being added with
    ``add_middleware``) so that it receives the server's raw ``send``; see
    :func:`neev_provider.emulator.middleware.drop_connection`.

    :param state: the emulator state served by this app.
    :param observer: called with every public-API exchange (see :mod:`neev_provider.emulator.tap`).
    """

    def __init__(self, state: EmulatorState, observer: Observer | None = None) -> None:
        super().__init__(
            title="NeevCloud Storage API emulator",
            openapi_url=None,
            docs_url=None,
            redoc_url=None,
            redirect_slashes=False,
        )
        self.emulator = state
        self._outer = EmulatorMiddleware(self._handle, state, observer)

    async def _handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        await super().__call__(route_on_raw_path(scope), receive, send)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._outer(scope, receive, send)


def route_on_raw_path(scope: Scope) -> Scope:
    """Have a Storage request routed on its path as sent, still percent-encoded.

    The spec's ``org_id`` and ``project_id`` are any strings. Once decoded, an id holding ``/``
    (sent as ``%2F``) would add a path segment, and ``.../orgs/a%2Fb/projects/...`` would match no
    route. The handlers decode the parameters themselves (:func:`~neev_provider.emulator.api.path_param`).
    """
    raw_path = scope.get("raw_path")
    if scope["type"] != "http" or not raw_path or not scope["path"].startswith(STORAGE_PREFIX + "/"):
        return scope
    return {**scope, "path": raw_path.decode("latin-1")}


def _dialect(request: Request) -> Dialect:
    """The dialect to answer in: the server's, except on the admin API (tests read its details)."""
    if request.scope["path"].startswith(ADMIN_PREFIX):
        return NATIVE_DIALECT
    state: EmulatorState = request.app.emulator
    return state.dialect


async def _on_emulator_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, EmulatorError)
    return render_error(exc, _dialect(request))


async def _on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    where = f"{request.method} {request.url.path}"
    if exc.status_code == 404:
        error = EmulatorError(404, "not_found", f"no route matches {where}", {"path": request.url.path})
    elif exc.status_code == 405:
        allow = {"Allow": _allowed_methods(request)}
        error = EmulatorError(
            405, "method_not_allowed", f"method not allowed: {where}", {"method": request.method}, allow
        )
    else:
        error = EmulatorError(exc.status_code, "http_error", str(exc.detail), {}, exc.headers)
    # A miss under a project's volumes is the Storage service's own 404; any other is the gateway's.
    route_miss = exc.status_code == 404 and not in_volumes_api(request.scope["path"])
    return render_error(error, _dialect(request), route_miss=route_miss)


def _allowed_methods(request: Request) -> str:
    """List every method served at the request's path.

    Each method has a route of its own, and Starlette's 405 names only the methods of the first
    route whose path matched, e.g. ``GET`` but not ``POST`` for the volumes collection.
    """
    methods: set[str] = set()
    for route in request.app.router.routes:
        if isinstance(route, Route) and route.methods and route.matches(request.scope)[0] is not Match.NONE:
            methods |= route.methods
    return ", ".join(sorted(methods))


async def _on_request_validation_error(request: Request, exc: Exception) -> Response:
    # Routes validate by hand, but never let FastAPI's 422 escape should one slip in.
    return render_error(EmulatorError(400, "validation_error", str(exc), {}), _dialect(request))


async def _on_unexpected_error(request: Request, exc: Exception) -> Response:
    error = EmulatorError(500, "internal_error", f"emulator bug: {type(exc).__name__}: {exc}", {})
    return render_error(error, _dialect(request))


def create_app(settings: EmulatorSettings | None = None, *, observer: Observer | None = None) -> EmulatorApp:
    """Build the emulator application.

    :param settings: emulator settings; defaults to :class:`EmulatorSettings` with its defaults.
    :param observer: called with one :class:`~neev_provider.emulator.tap.Exchange` per public-API
        request, e.g. to check it against the spec; ``None`` (the default) costs nothing.
    """
    state = EmulatorState(settings or EmulatorSettings())
    app = EmulatorApp(state, observer)
    app.router.routes.extend(PublicApi(state).routes())
    app.router.routes.extend(AdminApi(state).routes())
    app.add_exception_handler(EmulatorError, _on_emulator_error)
    app.add_exception_handler(HTTPException, _on_http_error)
    app.add_exception_handler(RequestValidationError, _on_request_validation_error)
    app.add_exception_handler(Exception, _on_unexpected_error)
    return app
