"""The asynchronous client, on an ``httpx.AsyncClient``; used by triggers.

It runs the same calls, flow and retry policy as :mod:`neev_provider.client.sync`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import httpx
import tenacity

from neev_provider.client import endpoints, validation
from neev_provider.client.config import ClientConfig
from neev_provider.client.endpoints import ApiCall, CreateVolumeRequest
from neev_provider.client.errors import (
    NeevCloudError,
    NeevCloudTimeoutError,
    NeevCloudTransportError,
    describe_network_failure,
)
from neev_provider.client.flow import conversation, request_headers
from neev_provider.client.models import Page, Volume
from neev_provider.client.paging import named, pick_by_name
from neev_provider.client.retry import resolve_final_error

T = TypeVar("T")

# Failures that happen before the request is written: replaying is always safe.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)


class AsyncNeevCloudClient:
    """Call the NeevCloud Storage API from asyncio code.

    :param config: where and as whom to call.
    :param http: an ``httpx.AsyncClient`` to use instead of a new one (then not closed here).
    :param sleep: how to wait between retries (default ``asyncio.sleep``); replaceable in tests.
    """

    def __init__(
        self,
        config: ClientConfig,
        *,
        http: httpx.AsyncClient | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
    ) -> None:
        self.config = config
        self._owns_http = http is None
        self._http = http or httpx.AsyncClient(verify=config.verify, timeout=config.timeout)
        # Looked up now, not at import, so that a test's patch of asyncio.sleep takes effect.
        self._sleep = sleep or asyncio.sleep

    def __repr__(self) -> str:
        return (
            f"AsyncNeevCloudClient(host={self.config.host!r}, org_id={self.config.org_id!r}, "
            f"project_id={self.config.project_id!r})"
        )

    async def __aenter__(self) -> AsyncNeevCloudClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP client, if this client opened it."""
        if self._owns_http:
            await self._http.aclose()

    # -- the API ---------------------------------------------------------------------

    async def list_volumes(
        self,
        *,
        page: int = 1,
        limit: int = 20,
        available: bool | None = None,
        org_id: str | None = None,
        project_id: str | None = None,
    ) -> Page:
        """Return one page of the project's volumes (``available=True``: only bound ones)."""
        scope = self.config.scope(org_id, project_id)
        return await self._execute(endpoints.list_volumes(scope, page=page, limit=limit, available=available))

    async def iter_volumes(
        self,
        *,
        limit: int = 100,
        available: bool | None = None,
        org_id: str | None = None,
        project_id: str | None = None,
    ) -> AsyncIterator[Volume]:
        """Yield every volume of the project, fetching pages lazily."""
        page: int | None = 1
        while page is not None:
            result = await self.list_volumes(
                page=page, limit=limit, available=available, org_id=org_id, project_id=project_id
            )
            for volume in result.volumes:
                yield volume
            page = result.next_page

    async def find_volume_by_name(
        self, name: str, *, org_id: str | None = None, project_id: str | None = None
    ) -> Volume | None:
        """Return the project's volume called ``name``, or ``None``.

        :raises DuplicateVolumeNameError: if several volumes have that name.
        """
        validation.non_empty(name, "name")
        volumes = [v async for v in self.iter_volumes(org_id=org_id, project_id=project_id)]
        return pick_by_name(volumes, name)

    async def find_volumes_by_name(
        self, name: str, *, org_id: str | None = None, project_id: str | None = None
    ) -> list[Volume]:
        """Return every volume of the project called ``name`` (the API has no name filter: it lists)."""
        validation.non_empty(name, "name")
        return named([v async for v in self.iter_volumes(org_id=org_id, project_id=project_id)], name)

    async def get_volume(
        self, volume_id: str, *, org_id: str | None = None, project_id: str | None = None
    ) -> Volume:
        """Return one volume. :raises NotFoundError: if it does not exist."""
        return await self._execute(endpoints.get_volume(self.config.scope(org_id, project_id), volume_id))

    async def find_volume(
        self, volume_id: str, *, org_id: str | None = None, project_id: str | None = None
    ) -> Volume | None:
        """Return one volume, or ``None`` if it does not exist (the API answers 404)."""
        return await self._execute(endpoints.find_volume(self.config.scope(org_id, project_id), volume_id))

    async def create_volume(
        self, request: CreateVolumeRequest, *, org_id: str | None = None, project_id: str | None = None
    ) -> Volume:
        """Create a volume; it starts ``pending``.

        :raises AmbiguousRequestError: if the POST may have created the volume although it failed.
        """
        return await self._execute(endpoints.create_volume(self.config.scope(org_id, project_id), request))

    async def extend_volume(
        self, volume_id: str, size_gb: int, *, org_id: str | None = None, project_id: str | None = None
    ) -> Volume:
        """Ask for a new total size; the resize runs asynchronously (``extension_status``)."""
        scope = self.config.scope(org_id, project_id)
        return await self._execute(endpoints.extend_volume(scope, volume_id, size_gb))

    async def delete_volume(
        self, volume_id: str, *, org_id: str | None = None, project_id: str | None = None
    ) -> None:
        """Delete a volume. :raises VolumeInUseError: while a resource has it mounted."""
        await self._execute(endpoints.delete_volume(self.config.scope(org_id, project_id), volume_id))

    # -- plumbing --------------------------------------------------------------------

    async def _execute(self, call: ApiCall[T]) -> T:
        flow = conversation(call, self.config.auth)
        try:
            step = next(flow)
            while True:
                try:
                    result: Any = await self._send_with_retry(*step)
                except NeevCloudError as error:
                    step = flow.throw(error)
                else:
                    step = flow.send(result)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]

    async def _send_with_retry(self, call: ApiCall[T], authorization: str | None) -> T:
        retrying = tenacity.AsyncRetrying(
            sleep=self._sleep,
            **self.config.retry.tenacity_arguments(call.operation, idempotent=call.idempotent),
        )
        try:
            result: T = await retrying(self._send_once, call, authorization)
            return result
        except NeevCloudError as error:
            final = resolve_final_error(error, call.operation, idempotent=call.idempotent)
            if final is error:
                raise
            raise final from error

    async def _send_once(self, call: ApiCall[T], authorization: str | None) -> T:
        url = self.config.host + call.path
        headers = request_headers(authorization, self.config.user_agent, has_body=call.json is not None)
        try:
            response = await self._http.request(
                call.method,
                url,
                params=call.params,
                json=call.json,
                headers=headers,
                timeout=self.config.timeout,
            )
        except httpx.TimeoutException as exc:
            sent = not isinstance(exc, _NOT_SENT)
            what = "no answer" if sent else "could not connect"
            raise NeevCloudTimeoutError(
                f"{what} within {self.config.timeout:g} s", method=call.method, url=url, request_sent=sent
            ) from exc
        except httpx.TransportError as exc:
            sent = not isinstance(exc, _NOT_SENT)
            raise NeevCloudTransportError(
                describe_network_failure(exc, sent=sent), method=call.method, url=url, request_sent=sent
            ) from exc
        return call.parse_response(response.status_code, response.headers, response.content, url=url)
