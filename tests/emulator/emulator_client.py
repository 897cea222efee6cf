"""A Storage API client for the emulator tests that checks every answer against the spec."""

from __future__ import annotations

from typing import Any

import requests

from neev_provider.emulator.server import EmulatorServer
from tests.support.spec import check_response

DEFAULT_BODY = {"sizeGB": 10, "regionID": "as-south-1", "volumeMode": "filesystem"}


class ApiClient:
    """Call the Storage API over HTTP and check every answer against the spec."""

    def __init__(self, server: EmulatorServer, session: requests.Session, *, strict: bool = True) -> None:
        self.server = server
        self.session = session
        # strict: no field beyond the spec's (off for the extra-fields dialect, which adds some).
        self.strict = strict

    def call(
        self,
        operation_id: str,
        method: str,
        path: str = "",
        *,
        org: str | None = None,
        project: str | None = None,
        **kwargs: Any,
    ) -> requests.Response:
        """Send a request below the project base URL and validate the response."""
        response = self.session.request(
            method, self.server.api_base(org, project) + path, timeout=10, **kwargs
        )
        assert len(response.headers["x-request-id"]) == 32
        check_response(
            operation_id,
            response.status_code,
            response.headers.get("content-type"),
            response.content,
            strict=self.strict,
        )
        return response

    def create(self, expect: int = 201, **fields: Any) -> dict[str, Any]:
        """Create a volume from the default body updated with ``fields``."""
        response = self.call("createNetworkVolume", "POST", "/volumes", json={**DEFAULT_BODY, **fields})
        assert response.status_code == expect, response.text
        return response.json()

    def get(self, volume_id: str, **kwargs: Any) -> requests.Response:
        return self.call("getNetworkVolume", "GET", f"/volumes/{volume_id}", **kwargs)

    def list(self, **params: Any) -> requests.Response:
        return self.call("listNetworkVolumes", "GET", "/volumes", params=params)

    def delete(self, volume_id: str) -> requests.Response:
        return self.call("deleteNetworkVolume", "DELETE", f"/volumes/{volume_id}")

    def extend(self, volume_id: str, size_gb: Any) -> requests.Response:
        return self.call(
            "extendNetworkVolume", "POST", f"/volumes/{volume_id}/extend", json={"sizeGB": size_gb}
        )

    def bound_volume(self, **fields: Any) -> dict[str, Any]:
        """Create a volume and advance the clock until it is bound."""
        volume = self.create(**fields)
        self.server.advance(self.server.settings.bind_delay)
        return self.get(volume["id"]).json()
