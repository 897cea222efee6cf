"""A client of the emulator's admin API, for this process's emulator or another one's.

Standard library only (no FastAPI, no uvicorn), so a harness that runs the emulator in another
process, or a benchmark, steers it with the same methods a test uses on
:class:`~neev_provider.emulator.server.EmulatorServer`.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Sequence
from typing import Any

from neev_provider.emulator.connection import airflow_connection
from neev_provider.emulator.settings import (
    ADMIN_PREFIX,
    DEFAULT_ORG_ID,
    DEFAULT_PROJECT_ID,
    DEFAULT_TOKEN,
    STORAGE_PREFIX,
)


class EmulatorAdmin:
    """Steer a running emulator through its admin API: this process's or another one's.

    Over HTTP with the standard library, as a test driving ``python -m neev_provider.emulator``
    would: :class:`EmulatorServer` is one, and a harness that started the emulator in another
    process builds one from its URL.

    :param url: the emulator's base URL, e.g. ``http://127.0.0.1:6338``.
    :param token: the bearer token it accepts (for :meth:`airflow_connection`).
    """

    org_id = DEFAULT_ORG_ID
    project_id = DEFAULT_PROJECT_ID

    def __init__(self, url: str, token: str = DEFAULT_TOKEN) -> None:
        self.url = url
        self._token = token

    @property
    def token(self) -> str:
        """Return the static bearer token the emulator accepts."""
        return self._token

    def api_base(self, org_id: str | None = None, project_id: str | None = None) -> str:
        """Return the URL of a project's Storage API (``.../orgs/{org}/projects/{prj}``)."""
        org = org_id or self.org_id
        project = project_id or self.project_id
        return f"{self.url}{STORAGE_PREFIX}/orgs/{org}/projects/{project}"

    def _admin(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        # Every request says JSON, bodiless ones (reset, DELETE) too: the emulator refuses a state
        # change of any other content type (admin_guard). urllib sends the URL's loopback Host.
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

    def faults(self) -> list[dict[str, Any]]:
        """Return the installed fault rules, each with how often it ``fired``."""
        rules: list[dict[str, Any]] = self._admin("GET", "/faults")["faults"]
        return rules

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

    def configure(self, **settings: float | str | Sequence[str]) -> dict[str, Any]:
        """Change settings until the next reset; return them all (the token shown as ``"(set)"``).

        Tunable: ``bind_delay``, ``resize_delay``, ``delete_delay``, ``token_ttl`` and ``dialect``
        (names as a tuple or a comma-separated string, see ``neev_provider.emulator.dialects``).
        """
        current: dict[str, Any] = self._admin("PATCH", "/settings", dict(settings))
        return current
