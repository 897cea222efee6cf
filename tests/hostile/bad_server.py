"""A small loopback HTTP server that answers badly on purpose, byte by byte.

The emulator is faithful to the spec; this server is not. Each request is answered by a
*route* (a function of the request) with an answer the emulator cannot give: a wrong list
envelope, a page that never advances, 28 MB, JSON nested 100,000 deep, a redirect, a body or
headers trickled a byte at a time, silence, garbage instead of HTTP. The clients talk to it
over real sockets; nothing in the HTTP libraries is patched.

Every connection carries one exchange and is then closed, so each answer is independent.
"""

from __future__ import annotations

import gzip
import json
import socket
import socketserver
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

_REASONS = {
    200: "OK",
    201: "Created",
    302: "Found",
    303: "See Other",
    404: "Not Found",
    429: "Too Many",
    500: "Error",
}


@dataclass(frozen=True)
class Request:
    """What the server received."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes


@dataclass
class Answer:
    """An HTTP answer; ``chunks`` (an iterable of bytes) streams a body without holding it."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    chunks: Iterable[bytes] | None = None


@dataclass
class Raw:
    """Bytes written as they are (not HTTP, or HTTP written by hand).

    ``first`` goes out at once; ``data`` follows ``piece`` bytes at a time, ``drip`` seconds
    apart, for at most ``until`` seconds.
    """

    data: bytes
    drip: float = 0.0
    piece: int = 1
    until: float = 30.0
    first: bytes = b""


@dataclass
class Silence:
    """Accept the request, then say nothing for ``seconds``."""

    seconds: float = 30.0


@dataclass
class HangUp:
    """Close the connection without answering."""


Reply = Answer | Raw | Silence | HangUp
Route = Callable[[Request], Reply]


def json_answer(payload: Any, status: int = 200, **headers: str) -> Answer:
    return Answer(status, json.dumps(payload).encode(), {"Content-Type": "application/json", **headers})


def volume(volume_id: str, name: str = "vol", **extra: Any) -> dict[str, Any]:
    """A volume object as the spec describes it."""
    return {
        "id": volume_id,
        "name": name,
        "orgID": "org-bad",
        "projectID": "prj-bad",
        "regionID": "as-south-1",
        "sizeGB": 10,
        "volumeMode": "filesystem",
        "planID": "plan",
        "status": "bound",
        **extra,
    }


def gzip_bomb(size: int) -> bytes:
    """A gzip body that inflates to ``size`` zero bytes."""
    return gzip.compress(b"\0" * size, compresslevel=1)


def _read_request(sock: socket.socket) -> Request | None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, target, _ = lines[0].split(" ", 2)
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    length = int(headers.get("content-length", "0") or 0)
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    parts = urlsplit(target)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    return Request(method, parts.path, query, headers, body)


def _status_line(status: int) -> bytes:
    return f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}\r\n".encode()


def _send_answer(sock: socket.socket, answer: Answer) -> None:
    headers = {"Connection": "close", **answer.headers}
    if answer.chunks is None:
        headers.setdefault("Content-Length", str(len(answer.body)))
    head = _status_line(answer.status) + "".join(f"{k}: {v}\r\n" for k, v in headers.items()).encode()
    sock.sendall(head + b"\r\n")
    if answer.chunks is None:
        sock.sendall(answer.body)
        return
    for chunk in answer.chunks:
        sock.sendall(chunk)


def _pieces(data: bytes, size: int) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


class BadServer:
    """Serve ``route`` on 127.0.0.1 on a free port; use as a context manager.

    :attr url: the base URL, e.g. ``http://127.0.0.1:41234``.
    """

    def __init__(self) -> None:
        self.route: Route = lambda request: HangUp()
        self.requests: list[Request] = []
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        outer = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                outer._handle(self.request)

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self._server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="bad-server", daemon=True)

    def __enter__(self) -> BadServer:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stopping.set()
        self._server.shutdown()
        self._server.server_close()

    def serve(self, route: Route) -> None:
        """Answer every request from now on with ``route``, and forget earlier requests."""
        with self._lock:
            self.route = route
            self.requests = []

    def _handle(self, sock: socket.socket) -> None:
        sock.settimeout(10)
        try:
            request = _read_request(sock)
            if request is None:
                return
            with self._lock:
                self.requests.append(request)
                route = self.route
            self._reply(sock, route(request))
        except OSError:
            pass  # the client gave up: exactly what some answers are for

    def _reply(self, sock: socket.socket, reply: Reply) -> None:
        if isinstance(reply, Answer):
            _send_answer(sock, reply)
        elif isinstance(reply, Raw):
            sock.sendall(reply.first)
            ends = time.monotonic() + reply.until
            for piece in _pieces(reply.data, reply.piece if reply.drip else len(reply.data) or 1):
                if self.stopping.is_set() or time.monotonic() > ends:
                    return
                sock.sendall(piece)
                if reply.drip:
                    time.sleep(reply.drip)
        elif isinstance(reply, Silence):
            self.stopping.wait(reply.seconds)
