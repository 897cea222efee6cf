"""The HTTP side of the fake: routing, bearer auth, validation, faults, and the test hooks."""

from __future__ import annotations

import re
import threading
import uuid
from collections import Counter, deque
from collections.abc import Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.spec_fake.dialects import DIALECTS, Answer, Dialect
from tests.spec_fake.store import Delay, Lifecycle, Refusal, VolumeStore
from tests.spec_fake.validation import RequestError, extend_size, list_query, volume_request

# The spec's server URL is ``https://api.ai.neevcloud.com/storage`` and its paths start with
# ``/api/v1beta1``: the fake is the gateway root, so its URL plays ``https://api.ai.neevcloud.com``.
_ROUTE = re.compile(
    r"^/storage/api/v1beta1/orgs/(?P<org>[^/]+)/projects/(?P<project>[^/]+)/volumes"
    r"(?:/(?P<volume>[^/]+)(?P<extend>/extend)?)?$"
)
_OPERATIONS = {
    ("GET", False, False): "listNetworkVolumes",
    ("POST", False, False): "createNetworkVolume",
    ("GET", True, False): "getNetworkVolume",
    ("DELETE", True, False): "deleteNetworkVolume",
    ("POST", True, True): "extendNetworkVolume",
}
TRANSIENT_STATUSES = (429, 502, 504)
DEFAULT_DELAY = Delay()


@dataclass(frozen=True)
class Exchange:
    """One request the fake answered: its operationId (``unknown`` off the API) and the answer."""

    operation: str
    method: str
    path: str
    status: int
    content_type: str
    body: bytes


@dataclass(frozen=True)
class Route:
    operation: str
    org_id: str
    project_id: str
    volume_id: str | None


def match(method: str, path: str) -> Route | str | None:
    """The API route of ``path``: a :class:`Route`, ``None`` off the API, ``"method"`` for a bad verb."""
    found = _ROUTE.match(path)
    if found is None:
        return None
    key = (method, found["volume"] is not None, found["extend"] is not None)
    operation = _OPERATIONS.get(key)
    if operation is None:
        return "method"
    return Route(operation, found["org"], found["project"], found["volume"])


class SpecFake:
    """The Storage API, faked from the spec; use it as a context manager.

    :param dialect: ``plain``, ``generic``, ``shifting``, ``extra`` or ``gateway``.
    :param token: the one bearer token accepted (anything else: 401).
    :param bind: when a new volume turns ``bound``.
    :param resize: when an extension succeeds.
    :param terminated_reads: a deleted volume stays, ``terminated``, for this many reads.
    """

    def __init__(
        self,
        dialect: str = "plain",
        *,
        token: str = "spec-fake-token",
        org_id: str = "org-spec",
        project_id: str = "prj-spec",
        bind: Delay = DEFAULT_DELAY,
        resize: Delay = DEFAULT_DELAY,
        terminated_reads: int = 0,
    ) -> None:
        self.dialect: Dialect = DIALECTS[dialect]
        self.token = token
        self.org_id = org_id
        self.project_id = project_id
        self.store = VolumeStore(Lifecycle(bind=bind, resize=resize, terminated_reads=terminated_reads))
        #: Set once the fake has answered a DELETE refused because the volume is in use.
        self.refused_delete = threading.Event()
        self._lock = threading.Lock()
        self._faults: dict[str, deque[int]] = {}
        self._exchanges: list[Exchange] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ----------------------------------------------------------------------------

    def __enter__(self) -> SpecFake:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, args=(0.05,), name="spec-fake", daemon=True
        )
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    @property
    def url(self) -> str:
        """The gateway root, e.g. ``http://127.0.0.1:PORT`` (the API is under ``/storage``)."""
        if self._server is None:
            raise RuntimeError("the fake is not running: use it as a context manager")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    # -- test hooks (Python, never HTTP) ------------------------------------------------------

    def seed(
        self, name: str, *, size_gb: int = 10, status: str = "bound", region_id: str = "in-west-1"
    ) -> str:
        """Add a volume to the default project; returns its id."""
        return self.store.seed(
            self.org_id,
            self.project_id,
            name=name,
            size_gb=size_gb,
            status=status,
            region_id=region_id,
            volume_mode="filesystem",
        )

    def attach(
        self, volume_id: str, *, resource_name: str = "trainer-0", mount_path: str = "/mnt/data"
    ) -> str:
        """Mount the volume on an AIRuntime instance; returns the attachment's id."""
        return self.store.attach(
            volume_id, resource_name=resource_name, mount_path=mount_path, resource_type="airuntime"
        )

    def detach(self, volume_id: str, attachment_id: str) -> None:
        self.store.detach(volume_id, attachment_id, keep_record=self.dialect.keeps_unmounted)

    def volume(self, volume_id: str) -> dict[str, Any] | None:
        """The volume's state (spec field names, no dialect), or ``None`` once it is gone."""
        return self.store.snapshot(volume_id)

    def volumes(self) -> list[dict[str, Any]]:
        return self.store.snapshots()

    def inject(self, operation: str, *statuses: int) -> None:
        """Answer the next ``len(statuses)`` requests of ``operation`` with these transient errors."""
        unknown = [s for s in statuses if s not in TRANSIENT_STATUSES]
        if unknown:
            raise ValueError(f"only {TRANSIENT_STATUSES} can be injected, not {unknown}")
        with self._lock:
            self._faults.setdefault(operation, deque()).extend(statuses)

    def count(self, operation: str, status: int | None = None) -> int:
        """How many requests of ``operation`` (an operationId, or ``unknown``) were answered."""
        wanted = (e for e in self.exchanges() if e.operation == operation)
        return sum(1 for e in wanted if status is None or e.status == status)

    def counts(self) -> Counter[str]:
        return Counter(e.operation for e in self.exchanges())

    def exchanges(self) -> list[Exchange]:
        with self._lock:
            return list(self._exchanges)

    # -- answering ----------------------------------------------------------------------------

    def answer(self, method: str, target: str, headers: Mapping[str, str], body: bytes) -> tuple[str, Answer]:
        """Answer one request; return its operationId and the answer."""
        parts = urlsplit(target)
        route = match(method, parts.path)
        if route is None:
            return "unknown", self.dialect.unknown_path(method, parts.path)
        if route == "method":
            return "unknown", self.dialect.error(405, "method", detail=f"{method} is not allowed here")
        assert isinstance(route, Route)
        if headers.get("authorization") != f"Bearer {self.token}":
            return route.operation, self.dialect.error(401, "unauthorized")
        fault = self._next_fault(route.operation)
        if fault is not None:
            return route.operation, self.dialect.transient(fault)
        try:
            return route.operation, self._serve(route, parse_qs(parts.query), body)
        except RequestError as error:
            return route.operation, self.dialect.error(400, "invalid", detail=str(error))
        except Refusal as refusal:
            status = 404 if refusal.kind == "not_found" else 400
            refused = self.dialect.error(status, refusal.kind, refusal.volume_id, refusal.detail)
            return route.operation, refused

    def record(self, operation: str, method: str, path: str, answer: Answer) -> None:
        """Log an answer before it is sent: once a client has it, a test may count it."""
        with self._lock:
            exchange = Exchange(operation, method, path, answer.status, answer.content_type, answer.body)
            self._exchanges.append(exchange)

    def sent(self, operation: str, answer: Answer) -> None:
        """Called once an answer is out."""
        # The spec's only 400 for a DELETE is "the volume cannot be deleted because it is in use".
        if operation == "deleteNetworkVolume" and answer.status == 400:
            self.refused_delete.set()

    def _next_fault(self, operation: str) -> int | None:
        with self._lock:
            queue = self._faults.get(operation)
            return queue.popleft() if queue else None

    def _serve(self, route: Route, query: dict[str, list[str]], body: bytes) -> Answer:
        scope = (route.org_id, route.project_id)
        if route.operation == "listNetworkVolumes":
            return self._list(route, query)
        if route.operation == "createNetworkVolume":
            created = self.store.create(*scope, volume_request(body))
            return Answer.json(201, self.dialect.volume(created))
        volume_id = _volume_id(route.volume_id)
        if route.operation == "getNetworkVolume":
            return Answer.json(200, self.dialect.volume(self.store.read(*scope, volume_id)))
        if route.operation == "extendNetworkVolume":
            extended = self.store.extend(*scope, volume_id, extend_size(body))
            return Answer.json(202, self.dialect.volume(extended))
        self.store.delete(*scope, volume_id)
        return Answer(204)

    def _list(self, route: Route, query: dict[str, list[str]]) -> Answer:
        page, limit, available = list_query(query)
        if page > 1 and self.dialect.shifts_pages:
            self.store.shift(route.org_id, route.project_id)
        volumes, total = self.store.page(
            route.org_id,
            route.project_id,
            page=page,
            limit=limit,
            newest_first=self.dialect.newest_first,
            available=available,
        )
        pagination = {
            "current_page": page,
            "items_per_page": limit,
            "total_items": total,
            "total_pages": -(-total // limit),
        }
        return Answer.json(200, self.dialect.listing(volumes, pagination))


def _volume_id(value: str | None) -> str:
    # The spec types volume_id as a uuid; anything else names no volume.
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        raise Refusal("not_found", value) from None


class _Handler(BaseHTTPRequestHandler):
    """Hands every request to :meth:`SpecFake.answer` and writes its answer."""

    fake: SpecFake
    # HTTP/1.1 keeps the client's connections alive, as a real gateway does.
    protocol_version = "HTTP/1.1"
    server_version = "spec-fake"

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def do_PATCH(self) -> None:
        self._handle()

    def _handle(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {key.lower(): value for key, value in self.headers.items()}
        operation, answer = self.fake.answer(self.command, self.path, headers, body)
        self.fake.record(operation, self.command, urlsplit(self.path).path, answer)
        self._send(answer)
        # Only now: a test woken by refused_delete knows the client has the refusal in hand.
        self.fake.sent(operation, answer)

    def _send(self, answer: Answer) -> None:
        self.send_response(answer.status)
        for name, value in answer.headers.items():
            self.send_header(name, value)
        if answer.body:
            self.send_header("Content-Type", answer.content_type)
        self.send_header("Content-Length", str(len(answer.body)))
        self.end_headers()
        if answer.body:
            self.wfile.write(answer.body)
        self.wfile.flush()

    def log_message(self, format: str, *args: Any) -> None:
        return  # quiet: the exchanges are recorded instead


def _handler_for(fake: SpecFake) -> type[BaseHTTPRequestHandler]:
    return type("SpecFakeHandler", (_Handler,), {"fake": fake})
