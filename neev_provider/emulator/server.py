"""Run the emulator in a background thread, and steer it through the admin API.

``EmulatorServer`` binds its socket itself (port 0 picks a free port with no race between
choosing and binding) and hands it to uvicorn, which serves it on a daemon thread. The helper
methods talk to the admin API over HTTP with the standard library, so they behave exactly like
a test driving a ``python -m neev_provider.emulator`` process.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.error
import urllib.request
from types import TracebackType
from typing import Any

import uvicorn

from neev_provider.emulator.app import create_app
from neev_provider.emulator.connection import airflow_connection
from neev_provider.emulator.settings import (
    ADMIN_PREFIX,
    DEFAULT_ORG_ID,
    DEFAULT_PROJECT_ID,
    STORAGE_PREFIX,
    EmulatorSettings,
)
from neev_provider.emulator.tap import Observer

_STARTUP_TIMEOUT = 10.0


def bind_socket(host: str, port: int) -> socket.socket:
    """Bind and listen on ``host:port`` (port 0: any free port)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    return sock


def uvicorn_config(app: Any) -> uvicorn.Config:
    """Return the uvicorn configuration shared by the thread server and the CLI."""
    # proxy_headers=False keeps uvicorn from wrapping the app, so the middleware gets uvicorn's
    # own ``send`` (see middleware.drop_connection); lifespan is unused.
    return uvicorn.Config(
        app,
        loop="auto",
        http="auto",
        lifespan="off",
        log_level="warning",
        access_log=False,
        proxy_headers=False,
        server_header=False,
    )


def url_for(sock: socket.socket) -> str:
    """Return the base URL a bound socket serves."""
    host, port = sock.getsockname()[:2]
    # A wildcard address is not something to connect to; its loopback is.
    host = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


class EmulatorServer:
    """The emulator on a background thread; use as a context manager.

    :param settings: emulator settings (default :class:`EmulatorSettings` with its defaults).
    :param host: interface to bind; keep the loopback default.
    :param port: port to bind; 0 picks a free one.
    :param observer: called with every public-API exchange (see :mod:`neev_provider.emulator.tap`);
        it runs on the server thread.
    """

    def __init__(
        self,
        settings: EmulatorSettings | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        observer: Observer | None = None,
    ) -> None:
        self.settings = settings or EmulatorSettings()
        self.host = host
        self.port = port
        self.observer = observer
        self.url = ""
        self.org_id = DEFAULT_ORG_ID
        self.project_id = DEFAULT_PROJECT_ID
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def token(self) -> str:
        """Return the static bearer token the emulator accepts."""
        return self.settings.token

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> EmulatorServer:
        """Start serving and wait until the server accepts requests."""
        if self._thread is not None:
            return self
        sock = bind_socket(self.host, self.port)
        self.url = url_for(sock)
        self.port = sock.getsockname()[1]
        self._server = uvicorn.Server(uvicorn_config(create_app(self.settings, observer=self.observer)))
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="neev-emulator", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + _STARTUP_TIMEOUT
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                sock.close()
                raise RuntimeError("the NeevCloud emulator did not start")
            time.sleep(0.005)
        sock.close()  # uvicorn serves its own duplicate of the socket
        return self

    def stop(self) -> None:
        """Shut the server down and wait for its thread."""
        if self._server is None or self._thread is None:
            return
        self._server.should_exit = True
        self._thread.join(timeout=_STARTUP_TIMEOUT)
        self._server = None
        self._thread = None

    def api_base(self, org_id: str | None = None, project_id: str | None = None) -> str:
        """Return the URL of a project's Storage API (``.../orgs/{org}/projects/{prj}``)."""
        org = org_id or self.org_id
        project = project_id or self.project_id
        return f"{self.url}{STORAGE_PREFIX}/orgs/{org}/projects/{project}"

    # -- admin API ------------------------------------------------------------------------------

    def _admin(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"{self.url}{ADMIN_PREFIX}{path}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                payload = response.read()
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")
            exc.close()
            raise RuntimeError(f"emulator admin call {method} {path} failed: {exc.code} {detail}") from None
        return json.loads(payload) if payload else None

    def reset(self) -> None:
        """Drop all volumes, faults, outcomes, issued tokens and the journal; rewind the clock."""
        self._admin("POST", "/reset")

    def advance(self, seconds: float) -> None:
        """Move emulator time forward."""
        self._admin("POST", "/clock/advance", {"seconds": seconds})

    def inject(
        self,
        kind: str,
        *,
        operation: str | None = None,
        method: str | None = None,
        times: int | None = None,
        rate: float | None = None,
        status: int | None = None,
        retry_after: int | None = None,
        seconds: float | None = None,
        body: str | None = None,
        content_type: str | None = None,
    ) -> dict[str, Any]:
        """Install a fault rule and return it (see :mod:`neev_provider.emulator.faults`)."""
        spec = {
            "kind": kind,
            "operation": operation,
            "method": method,
            "times": times,
            "rate": rate,
            "status": status,
            "retry_after": retry_after,
            "seconds": seconds,
            "body": body,
            "content_type": content_type,
        }
        rule: dict[str, Any] = self._admin(
            "POST", "/faults", {k: v for k, v in spec.items() if v is not None}
        )
        return rule

    def clear_faults(self) -> None:
        """Remove every fault rule."""
        self._admin("DELETE", "/faults")

    def script_outcome(self, operation: str, outcome: str, times: int = 1) -> None:
        """Make the next ``times`` binds (``bind``) or extensions (``extend``) end with ``outcome``."""
        self._admin("POST", "/outcomes", {"operation": operation, "outcome": outcome, "times": times})

    def set_state(
        self, volume_id: str, status: str | None = None, extension_status: str | None = None
    ) -> dict[str, Any]:
        """Force a volume's ``status`` and/or ``extension_status``; return the volume."""
        body = {"status": status, "extension_status": extension_status}
        volume: dict[str, Any] = self._admin(
            "PUT", f"/volumes/{volume_id}/state", {k: v for k, v in body.items() if v is not None}
        )
        return volume

    def attach(
        self,
        volume_id: str,
        resource_type: str = "airuntime",
        resource_name: str = "trainer-0",
        mount_path: str = "/mnt/data",
    ) -> dict[str, Any]:
        """Mount the volume on a resource; return the attachment (delete then answers "in use")."""
        body = {"resource_type": resource_type, "resource_name": resource_name, "mount_path": mount_path}
        attachment: dict[str, Any] = self._admin("POST", f"/volumes/{volume_id}/attachments", body)
        return attachment

    def detach(self, volume_id: str, attachment_id: str) -> None:
        """Remove an attachment."""
        self._admin("DELETE", f"/volumes/{volume_id}/attachments/{attachment_id}")

    def volumes(self) -> list[dict[str, Any]]:
        """Return every volume of every org and project."""
        volumes: list[dict[str, Any]] = self._admin("GET", "/volumes")["volumes"]
        return volumes

    def airflow_connection(self, **overrides: Any) -> str:
        """Return a ``neevcloud`` connection to this emulator, for ``AIRFLOW_CONN_NEEVCLOUD_DEFAULT``.

        In a test::

            monkeypatch.setenv("AIRFLOW_CONN_NEEVCLOUD_DEFAULT", neev_emulator.airflow_connection())

        :param overrides: see :func:`~neev_provider.emulator.connection.airflow_connection`.
        """
        return airflow_connection(self.url, self.token, **overrides)

    def events(self) -> list[dict[str, Any]]:
        """Return every volume's lifecycle events (``time``, ``volume_id``, ``volume_name``, ``event``)."""
        events: list[dict[str, Any]] = self._admin("GET", "/events")["events"]
        return events

    def requests(self) -> list[dict[str, Any]]:
        """Return the request journal, oldest first."""
        entries: list[dict[str, Any]] = self._admin("GET", "/requests")["requests"]
        return entries

    def clear_requests(self) -> None:
        """Empty the request journal (it keeps the last 10,000 requests)."""
        self._admin("DELETE", "/requests")

    def configure(self, **settings: float) -> dict[str, Any]:
        """Change ``bind_delay``, ``resize_delay``, ``delete_delay`` or ``token_ttl`` until the next reset."""
        current: dict[str, Any] = self._admin("PATCH", "/settings", dict(settings))
        return current
