"""The emulator as a separate process (``python -m neev_provider.emulator``), steered over its admin API.

Its standard output is discarded: the banner prints a ready-made connection, token included,
for people at a terminal. Its standard error (uvicorn's warnings and errors) goes to its log,
which the token check reads like every other log.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import requests

from neev_provider.emulator.connection import airflow_connection
from neev_provider.emulator.settings import ADMIN_PREFIX
from tests.distributed.processes import Component, wait_for_port
from tests.integration.services import free_port


class EmulatorProcess:
    """One emulator process and the admin calls the harness needs."""

    def __init__(self, logs: Path, token: str) -> None:
        self.logs = logs
        self.token = token
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.component: Component | None = None
        self._session = requests.Session()
        # The emulator refuses an admin state change that does not say JSON, bodiless ones too.
        self._session.headers["Content-Type"] = "application/json"

    def start(self, *, bind_delay: float, resize_delay: float) -> None:
        command = [
            sys.executable, "-m", "neev_provider.emulator",
            "--port", str(self.port),
            "--token", self.token,
            "--bind-delay", str(bind_delay),
            "--resize-delay", str(resize_delay),
        ]  # fmt: skip
        self.component = Component("emulator", command, self.logs / "emulator.log", keep_stdout=False)
        wait_for_port(self.port, 30, self.component)
        deadline = time.monotonic() + 30
        while True:
            try:
                self.admin("GET", "/settings")
                return
            except requests.RequestException:
                self.component.check_alive()
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def stop(self) -> None:
        self._session.close()
        if self.component is not None:
            self.component.stop(grace=10)

    def connection(self) -> dict[str, Any]:
        """The ``neevcloud`` connection to this emulator, as Airflow's REST API takes it."""
        fields = json.loads(airflow_connection(self.url, self.token))
        return {
            "connection_id": "neevcloud_default",
            "conn_type": fields["conn_type"],
            "host": fields["host"],
            "password": fields["password"],
            "extra": json.dumps(fields["extra"]),
        }

    def admin(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        response = self._session.request(method, f"{self.url}{ADMIN_PREFIX}{path}", json=body, timeout=30)
        response.raise_for_status()
        return response.json() if response.content else None

    def configure(self, **settings: float) -> None:
        self.admin("PATCH", "/settings", dict(settings))

    def inject(self, rule: dict[str, Any]) -> None:
        self.admin("POST", "/faults", rule)

    def faults(self) -> list[dict[str, Any]]:
        faults: list[dict[str, Any]] = self.admin("GET", "/faults")["faults"]
        return faults

    def events(self) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = self.admin("GET", "/events")["events"]
        return events

    def journal(self) -> list[dict[str, Any]]:
        entries: list[dict[str, Any]] = self.admin("GET", "/requests")["requests"]
        return entries

    def volumes(self) -> list[dict[str, Any]]:
        volumes: list[dict[str, Any]] = self.admin("GET", "/volumes")["volumes"]
        return volumes
