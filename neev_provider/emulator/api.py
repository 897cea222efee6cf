"""The public routes: the five Storage operations and the two tenant auth endpoints.

Handlers parse, call the store or authenticator and serialize; the rules live in the store.
The dialect (:mod:`neev_provider.emulator.dialects`) is applied here, one flag test per answer,
so the store knows of dialects only the list order and the shifting list. They are plain
Starlette endpoints (``Request -> Response``) rather than FastAPI path operations, so there is no
dependency injection, response model or 422 on the hot path.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from neev_provider.emulator.dialect_extras import listing_with_extras, volume_with_extras
from neev_provider.emulator.responses import empty_response, json_response
from neev_provider.emulator.settings import AUTH_PREFIX, STORAGE_PREFIX
from neev_provider.emulator.state import EmulatorState
from neev_provider.emulator.validation import (
    get_str,
    parse_create_volume,
    parse_email,
    parse_extend_volume,
    parse_json_object,
    parse_list_query,
)

VOLUMES_PATH = STORAGE_PREFIX + "/orgs/{org_id}/projects/{project_id}/volumes"
VOLUME_PATH = VOLUMES_PATH + "/{volume_id}"


def path_param(request: Request, name: str) -> str:
    """Return a path parameter, percent-decoded.

    Storage requests are routed on the path as sent (see ``app.route_on_raw_path``), so that an
    id holding ``/`` (sent as ``%2F``) stays one path segment; its parameters arrive encoded.
    """
    value: str = request.path_params[name]
    return unquote(value)


class PublicApi:
    """Route handlers bound to one :class:`EmulatorState`."""

    def __init__(self, state: EmulatorState) -> None:
        self.state = state

    def routes(self) -> list[BaseRoute]:
        """Return the Starlette routes of the public API."""
        return [
            Route(VOLUMES_PATH, self.list_volumes, methods=["GET"], include_in_schema=False),
            Route(VOLUMES_PATH, self.create_volume, methods=["POST"], include_in_schema=False),
            Route(VOLUME_PATH, self.get_volume, methods=["GET"], include_in_schema=False),
            Route(VOLUME_PATH, self.delete_volume, methods=["DELETE"], include_in_schema=False),
            Route(VOLUME_PATH + "/extend", self.extend_volume, methods=["POST"], include_in_schema=False),
            Route(AUTH_PREFIX + "/login", self.login, methods=["POST"], include_in_schema=False),
            Route(AUTH_PREFIX + "/refresh", self.refresh, methods=["POST"], include_in_schema=False),
        ]

    def _authenticate(self, request: Request) -> tuple[str, str]:
        self.state.auth.authenticate(request.headers.get("authorization"))
        return path_param(request, "org_id"), path_param(request, "project_id")

    def _volume(self, volume: dict[str, Any], status: int = 200) -> Response:
        if self.state.dialect.extra_fields:
            volume = volume_with_extras(volume)
        return json_response(volume, status)

    async def list_volumes(self, request: Request) -> Response:
        """``GET .../volumes`` (listNetworkVolumes)."""
        org_id, project_id = self._authenticate(request)
        query = parse_list_query(request.query_params)
        dialect = self.state.dialect
        store = self.state.store
        if dialect.shifting and query.page > 1:
            store.shift(org_id, project_id)
        listing = store.list_volumes(org_id, project_id, query, newest_first=dialect.newest_first)
        return json_response(listing_with_extras(listing) if dialect.extra_fields else listing)

    async def create_volume(self, request: Request) -> Response:
        """``POST .../volumes`` (createNetworkVolume)."""
        org_id, project_id = self._authenticate(request)
        body = parse_json_object(await request.body())
        volume_request = parse_create_volume(body, self.state.settings.regions)
        return self._volume(self.state.store.create_volume(org_id, project_id, volume_request), 201)

    async def get_volume(self, request: Request) -> Response:
        """``GET .../volumes/{volume_id}`` (getNetworkVolume)."""
        org_id, project_id = self._authenticate(request)
        volume_id = path_param(request, "volume_id")
        return self._volume(self.state.store.get_volume(org_id, project_id, volume_id))

    async def delete_volume(self, request: Request) -> Response:
        """``DELETE .../volumes/{volume_id}`` (deleteNetworkVolume)."""
        org_id, project_id = self._authenticate(request)
        self.state.store.delete_volume(org_id, project_id, path_param(request, "volume_id"))
        return empty_response(204)

    async def extend_volume(self, request: Request) -> Response:
        """``POST .../volumes/{volume_id}/extend`` (extendNetworkVolume)."""
        org_id, project_id = self._authenticate(request)
        size_gb = parse_extend_volume(parse_json_object(await request.body()))
        volume = self.state.store.extend_volume(org_id, project_id, path_param(request, "volume_id"), size_gb)
        return self._volume(volume, 202)

    async def login(self, request: Request) -> Response:
        """``POST /tenant/api/v1/auth/login``: e-mail and password to tokens."""
        body = parse_json_object(await request.body())
        email = parse_email(body)
        password = get_str(body, "password", non_empty=True)
        assert password is not None
        return json_response(self.state.auth.login(email, password))

    async def refresh(self, request: Request) -> Response:
        """``POST /tenant/api/v1/auth/refresh``: a refresh token to new (rotated) tokens."""
        body = parse_json_object(await request.body())
        refresh_token = get_str(body, "refresh_token", non_empty=True)
        assert refresh_token is not None
        return json_response(self.state.auth.refresh(refresh_token))
