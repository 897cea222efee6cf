"""Observe the emulator's public-API exchanges, e.g. to check each one against the spec.

``create_app(settings, observer=...)`` and ``EmulatorServer(..., observer=...)`` take a callable
that receives one immutable :class:`Exchange` per public-API request (admin requests under
``/_emulator/`` are not observed). Without an observer nothing here runs, so the request path
costs exactly what it did.

With one, :class:`Tap` reads the request body before the app runs (so the exchange holds the
whole body even when the app answers without reading it, a 401 say) and replays it to the app,
copies the response as it is sent, and calls the observer *before the last response message is
passed on*: a client that has read a whole response knows that its exchange has been observed.
When no response reaches the client (an injected drop), the observer is called once the request
is over, with ``status`` ``None``.

The observer runs on the server's event loop: it should be quick (append to a list, say, and
do the expensive work elsewhere) and must not raise.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from starlette.types import Message, Receive, Scope, Send

Headers = tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class Exchange:
    """One public-API request and the response the client received.

    :param method: HTTP method, upper case.
    :param path: the percent-decoded path, as the journal records it.
    :param raw_path: the path as sent, still percent-encoded (``%2F`` stays in one segment).
    :param query_string: the raw query string, without ``?``.
    :param request_headers: request headers in order, names lower case.
    :param request_body: the whole request body.
    :param status: the status sent, ``None`` when the client got no response (dropped connection).
    :param response_headers: response headers in order, names lower case.
    :param response_body: the whole response body the client received.
    :param fault: the kind of the fault rule applied to the request, if one fired.
    :param operation: the operation id the journal records (``None``: not an API operation).
    :param dialect: the server's dialect when the request arrived (``("native",)`` by default),
        so that a checker can allow what a dialect adds, e.g. unknown fields under ``extra-fields``.
    """

    method: str
    path: str
    raw_path: str
    query_string: str
    request_headers: Headers
    request_body: bytes
    status: int | None
    response_headers: Headers
    response_body: bytes
    fault: str | None
    operation: str | None
    dialect: tuple[str, ...] = ("native",)

    def request_header(self, name: str) -> str | None:
        """Return the first request header called ``name`` (any case), or ``None``."""
        return _first(self.request_headers, name)

    def response_header(self, name: str) -> str | None:
        """Return the first response header called ``name`` (any case), or ``None``."""
        return _first(self.response_headers, name)


Observer = Callable[[Exchange], None]


def _first(headers: Headers, name: str) -> str | None:
    wanted = name.lower()
    return next((value for key, value in headers if key == wanted), None)


def _decode(headers: Iterable[tuple[bytes, bytes]]) -> Headers:
    return tuple((key.decode("latin-1").lower(), value.decode("latin-1")) for key, value in headers)


class Tap:
    """Record one request/response pair and hand it to the observer exactly once.

    Build it with :meth:`open`; pass :meth:`receive` and :meth:`send` to the app instead of the
    server's callables, and call :meth:`close` when the request is over.
    """

    def __init__(
        self,
        observer: Observer,
        scope: Scope,
        receive: Receive,
        send: Send,
        *,
        fault: str | None,
        operation: str | None,
        dialect: tuple[str, ...] = ("native",),
    ) -> None:
        self._observer = observer
        self._scope = scope
        self._receive = receive
        self._send = send
        self._fault = fault
        self._operation = operation
        self._dialect = dialect
        self._replay: list[Message] = []
        self._body = b""
        self._status: int | None = None
        self._headers: Headers = ()
        self._chunks: list[bytes] = []
        self._done = False

    @classmethod
    async def open(
        cls,
        observer: Observer,
        scope: Scope,
        receive: Receive,
        send: Send,
        *,
        fault: str | None,
        operation: str | None,
        dialect: tuple[str, ...] = ("native",),
    ) -> Tap:
        """Return a tap for this request, its body already read."""
        tap = cls(observer, scope, receive, send, fault=fault, operation=operation, dialect=dialect)
        await tap._read_body()
        return tap

    async def _read_body(self) -> None:
        chunks: list[bytes] = []
        while True:
            message = await self._receive()
            if message["type"] != "http.request":  # the client went away: let the app see it
                self._replay.append(message)
                break
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        self._body = b"".join(chunks)
        self._replay.insert(0, {"type": "http.request", "body": self._body, "more_body": False})

    async def receive(self) -> Message:
        """Give the app the buffered body, then whatever the server sends next."""
        if self._replay:
            return self._replay.pop(0)
        return await self._receive()

    async def send(self, message: Message) -> None:
        """Copy a response message; observe the exchange before its last message goes out."""
        if message["type"] == "http.response.start":
            self._status = message["status"]
            self._headers = _decode(message.get("headers", ()))
        elif message["type"] == "http.response.body":
            self._chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                self.close()
        await self._send(message)

    def close(self) -> None:
        """Hand the exchange to the observer, unless that has been done already."""
        if self._done:
            return
        self._done = True
        self._observer(self._exchange())

    def _exchange(self) -> Exchange:
        scope = self._scope
        raw_path: bytes = scope.get("raw_path") or scope["path"].encode()
        return Exchange(
            method=scope["method"],
            path=scope["path"],
            raw_path=raw_path.decode("latin-1"),
            query_string=scope.get("query_string", b"").decode("latin-1"),
            request_headers=_decode(scope.get("headers", ())),
            request_body=self._body,
            status=self._status,
            response_headers=self._headers,
            response_body=b"".join(self._chunks),
            fault=self._fault,
            operation=self._operation,
            dialect=self._dialect,
        )
