"""Pure-ASGI middleware: request ids, the journal and fault injection.

It wraps the whole application (outside Starlette's own middleware), for two reasons: pure ASGI
is much cheaper per request than ``BaseHTTPMiddleware``, and only the outermost layer receives
uvicorn's own ``send`` callable, which is the way to reach the connection in order to drop it.
Admin requests (``/_emulator/...``) get a request id but are neither journalled, faulted nor
observed; they are refused unless a local program sent them
(:mod:`~neev_provider.emulator.admin_guard`). With an observer (see
:mod:`neev_provider.emulator.tap`), every other request runs through a
:class:`~neev_provider.emulator.tap.Tap`; without one the request path is unchanged.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from typing import Any

from starlette.requests import ClientDisconnect
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from neev_provider.emulator.admin_guard import admin_refusal
from neev_provider.emulator.dialect_errors import render_error
from neev_provider.emulator.dialects import Dialect
from neev_provider.emulator.faults import FaultRule
from neev_provider.emulator.operations import operation_for
from neev_provider.emulator.responses import error_response
from neev_provider.emulator.settings import ADMIN_PREFIX
from neev_provider.emulator.state import EmulatorState
from neev_provider.emulator.tap import Observer, Tap


class ConnectionDropped(ConnectionError):
    """Raised when a drop fault fires outside uvicorn, where the connection cannot be reached."""


class _TaggedSend:
    """Add ``x-request-id`` to the response and remember its status."""

    __slots__ = ("header", "send", "status")

    def __init__(self, send: Send, request_id: str) -> None:
        self.send = send
        self.header = request_id.encode()
        self.status: int | None = None

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            headers = [*message.get("headers", ()), (b"x-request-id", self.header)]
            message = {**message, "headers": headers}
        await self.send(message)


async def _discard(message: Message) -> None:
    """Swallow a response: used by ``commit_then_drop``, whose client must never see it."""


async def drop_connection(send: Send, receive: Receive) -> None:
    """Close the client's TCP connection without sending any response.

    ASGI has no "hang up" message, and an app that returns without responding makes uvicorn
    send a 500. uvicorn's ``send`` is a bound method of its per-request cycle object, whose
    ``transport`` is the asyncio transport of the connection: aborting it resets the connection.
    This needs uvicorn's own ``send``: hence the middleware is the outermost layer of the app, and
    uvicorn runs with ``proxy_headers=False`` and a log level above ``trace`` so that it wraps the
    app in nothing (its message logger would replace ``send``). Elsewhere (an in-process ASGI
    transport, say) the drop surfaces as :class:`ConnectionDropped` instead.
    """
    transport: Any = getattr(getattr(send, "__self__", None), "transport", None)
    if transport is None:
        raise ConnectionDropped("connection dropped by an injected fault")
    transport.abort()
    # Let uvicorn notice the disconnect before we return, or it would log and try a 500.
    with contextlib.suppress(Exception):
        await asyncio.wait_for(_until_disconnect(receive), timeout=1.0)


async def _until_disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


class EmulatorMiddleware:
    """Tag, journal and (when a rule fires) fault every API request.

    :param app: the wrapped ASGI application.
    :param state: the emulator state holding the fault rules and the journal.
    :param observer: called with every public-API exchange (see :mod:`neev_provider.emulator.tap`).
    """

    def __init__(self, app: ASGIApp, state: EmulatorState, observer: Observer | None = None) -> None:
        self.app = app
        self.state = state
        self.observer = observer
        # Commits scheduled by error_then_commit, kept referenced until they have run.
        self._late: set[asyncio.Task[None]] = set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = uuid.uuid4().hex
        path: str = scope["path"]
        if path.startswith(ADMIN_PREFIX):
            await self._admin(scope, receive, _TaggedSend(send, request_id))
            return
        method: str = scope["method"]
        # The path as sent, so that an id holding "/" (sent as %2F) is one segment.
        raw_path: bytes = scope.get("raw_path") or path.encode()
        operation = operation_for(method, raw_path.decode("latin-1"))
        rule = self.state.faults.pick(operation, method)
        tap = None
        if self.observer is not None:
            fault = rule.kind if rule else None
            dialect = self.state.dialect.names
            tap = await Tap.open(
                self.observer, scope, receive, send, fault=fault, operation=operation, dialect=dialect
            )
            receive = tap.receive
        tagged = _TaggedSend(send if tap is None else tap.send, request_id)
        try:
            if rule is None:
                await self.app(scope, receive, tagged)
            else:
                await self._apply(rule, scope, receive, send, tagged)
        except ClientDisconnect:
            pass  # the client hung up while its body was read: nobody is left to answer
        finally:
            if tap is not None:
                tap.close()
            self.state.journal.record(
                method=method,
                path=path,
                operation=operation,
                status=tagged.status,
                fault=rule.kind if rule else None,
                request_id=request_id,
            )

    async def _admin(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve an admin request, unless it may come from a web page (see ``admin_guard``)."""
        refusal = admin_refusal(scope)
        if refusal is None:
            await self.app(scope, receive, send)
        else:
            await error_response(refusal)(scope, receive, send)

    async def _apply(
        self, rule: FaultRule, scope: Scope, receive: Receive, send: Send, tagged: _TaggedSend
    ) -> None:
        dialect = self.state.dialect
        if rule.kind == "status":
            await _fault_response(rule, dialect)(scope, receive, tagged)
        elif rule.kind == "latency":
            # The body is read first: a client that gives up during the pause leaves a request
            # that is still handled (like a slow backend), not a ClientDisconnect traceback.
            replay = await buffer_request(receive)
            await asyncio.sleep(rule.seconds or 0.0)
            await self.app(scope, replay, tagged)
        elif rule.kind == "drop":
            await drop_connection(send, receive)
        elif rule.kind == "commit_then_drop":  # the state change happens, the answer never arrives
            tagged.status = await self._commit(scope, receive)
            await drop_connection(send, receive)
        elif rule.kind == "late_commit":  # no answer; the change happens after the client gave up
            replay = await buffer_request(receive)
            await asyncio.sleep(rule.seconds or 0.0)
            tagged.status = await self._commit(scope, replay)
            await drop_connection(send, receive)
        else:  # error_then_commit: an error answer now, the change a moment later
            replay = await buffer_request(receive)
            await _fault_response(rule, dialect)(scope, receive, tagged)
            task = asyncio.create_task(self._commit_later(scope, replay, rule.seconds or 0.0))
            self._late.add(task)
            task.add_done_callback(self._late.discard)

    async def _commit(self, scope: Scope, receive: Receive) -> int | None:
        """Handle the request, discarding its answer; return the status it would have had."""
        swallowed = _TaggedSend(_discard, "")
        await self.app(scope, receive, swallowed)
        return swallowed.status

    async def _commit_later(self, scope: Scope, receive: Receive, seconds: float) -> None:
        await asyncio.sleep(seconds)
        await self._commit(scope, receive)


async def buffer_request(receive: Receive) -> Receive:
    """Read the whole request body now; return a ``receive`` that replays it.

    A fault that handles the request after the client may have gone must hold the body first:
    once the client disconnects, the original ``receive`` only says so.
    """
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


def _fault_response(rule: FaultRule, dialect: Dialect) -> Response:
    error = rule.error()
    if rule.body is None:
        return render_error(error, dialect)
    # A non-JSON body, e.g. the HTML page a gateway sends when the service behind it is down.
    return Response(rule.body, status_code=error.status, headers=error.headers, media_type=rule.content_type)
