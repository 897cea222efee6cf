"""Run the emulator in a background thread, and steer it through the admin API.

``EmulatorServer`` binds its socket itself (port 0 picks a free port with no race between
choosing and binding) and hands it to uvicorn, which serves it on a daemon thread. The helper
methods talk to the admin API over HTTP with the standard library, so they behave exactly like
a test driving a ``python -m neev_provider.emulator`` process.
"""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType
from typing import Any

import uvicorn

from neev_provider.emulator.admin_client import EmulatorAdmin
from neev_provider.emulator.app import create_app
from neev_provider.emulator.settings import (
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


class EmulatorServer(EmulatorAdmin):
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
        super().__init__("", self.settings.token)
        self.host = host
        self.port = port
        self.observer = observer
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
