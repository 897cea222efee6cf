"""The asynchronous client, on an ``httpx.AsyncClient``; used by triggers.

It runs the same calls, flow, retry policy, body cap and call budget as
:mod:`neev_provider.client.sync`; an exchange is bounded by the budget with ``asyncio.wait_for``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any, TypeVar

import httpx
import tenacity

from neev_provider.client import endpoints, validation
from neev_provider.client.body import CHUNK_BYTES, BodyReader
from neev_provider.client.budget import CallBudget, seconds
from neev_provider.client.config import ClientConfig
from neev_provider.client.endpoints import ApiCall, CreateVolumeRequest
from neev_provider.client.errors import (
    NeevCloudError,
    NeevCloudTimeoutError,
    NeevCloudTransportError,
    NeevCloudValidationError,
    call_context,
    describe_network_failure,
    library_failure,
)
from neev_provider.client.flow import conversation, request_headers, secrets_of
from neev_provider.client.models import Page, Volume
from neev_provider.client.paging import PageWalk, named, pick_by_name
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
        self._http = http or _new_http(config)
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
        """Yield every volume of the project, fetching pages lazily.

        A server whose pages do not advance, or that has too many, ends the walk with an error
        (see :class:`~neev_provider.client.paging.PageWalk`).
        """
        walk = PageWalk(limit)
        page: int | None = 1
        while page is not None:
            result = await self.list_volumes(
                page=page, limit=limit, available=available, org_id=org_id, project_id=project_id
            )
            fresh, page = walk.accept(page, result)
            for volume in fresh:
                yield volume

    async def find_volume_by_name(
        self, name: str, *, org_id: str | None = None, project_id: str | None = None
    ) -> Volume | None:
        """Return the project's volume called ``name``, or ``None``.

        :raises DuplicateVolumeNameError: if several volumes have that name.
        """
        return pick_by_name(await self.find_volumes_by_name(name, org_id=org_id, project_id=project_id), name)

    async def find_volumes_by_name(
        self, name: str, *, org_id: str | None = None, project_id: str | None = None
    ) -> list[Volume]:
        """Return every volume of the project called ``name`` (the API has no name filter: it lists)."""
        validation.volume_name(name)
        scope = self.config.scope(org_id, project_id)
        try:
            return named([v async for v in self.iter_volumes(org_id=org_id, project_id=project_id)], name)
        except NeevCloudError as error:
            error.set_context(
                call_context(self.config.label, f"looking up volume {name!r} in {scope.describe()}")
            )
            raise

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
        except NeevCloudError as error:
            error.set_context(call_context(self.config.label, call.action or call.operation))
            raise

    async def _send_with_retry(self, call: ApiCall[T], authorization: str | None) -> T:
        budget = CallBudget.start(self.config.call_seconds, self.config.timeout)
        retrying = tenacity.AsyncRetrying(
            sleep=self._sleep,
            **self.config.retry.tenacity_arguments(call.operation, idempotent=call.idempotent, budget=budget),
        )
        try:
            result: T = await retrying(self._send_once, call, authorization, budget)
            return result
        except NeevCloudError as error:
            final = resolve_final_error(error, call.operation, idempotent=call.idempotent)
            if final is error:
                raise
            raise final from error

    async def _send_once(self, call: ApiCall[T], authorization: str | None, budget: CallBudget) -> T:
        url = self.config.host + call.path
        headers = request_headers(authorization, self.config.user_agent, has_body=call.json is not None)
        timeout = budget.attempt_timeout(self.config.timeout)
        try:
            status, answer_headers, content = await asyncio.wait_for(
                self._exchange(call, url, headers, timeout), budget.remaining()
            )
        except asyncio.TimeoutError:
            raise NeevCloudTimeoutError(
                f"no complete answer within the call's {seconds(budget.seconds)}",
                method=call.method,
                url=url,
                request_sent=True,
            ) from None
        except httpx.TimeoutException as exc:
            sent = not isinstance(exc, _NOT_SENT)
            what = "no answer" if sent else "could not connect"
            raise NeevCloudTimeoutError(
                f"{what} within {seconds(timeout)}", method=call.method, url=url, request_sent=sent
            ) from exc
        except httpx.TransportError as exc:
            sent = not isinstance(exc, _NOT_SENT)
            raise NeevCloudTransportError(
                describe_network_failure(exc, sent=sent), method=call.method, url=url, request_sent=sent
            ) from exc
        except NeevCloudError:
            raise
        except (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError, OSError, ValueError) as exc:
            # Anything else the HTTP stack raises (an invalid URL or header, a broken encoding) is
            # still the package's error, without the token in it.
            sent = not isinstance(exc, httpx.InvalidURL | UnicodeError)
            error, cause = library_failure(
                exc, method=call.method, url=url, request_sent=sent, secrets=secrets_of(authorization)
            )
            raise error from cause
        return call.parse_response(status, answer_headers, content, url=url)

    async def _exchange(
        self, call: ApiCall[T], url: str, headers: dict[str, str], timeout: float
    ) -> tuple[int, Mapping[str, str], bytes]:
        """Send the request and read the whole answer; ``wait_for`` cancels it at the deadline."""
        request = self._http.build_request(
            call.method, url, params=call.params, json=call.json, headers=headers, timeout=timeout
        )
        response = await self._http.send(request, stream=True, follow_redirects=False)
        try:
            reader = BodyReader(call.operation, content_length=response.headers.get("content-length"))
            async for chunk in response.aiter_bytes(CHUNK_BYTES):
                reader.feed(chunk)
        finally:
            await response.aclose()
        return response.status_code, response.headers, reader.content()


def _new_http(config: ClientConfig) -> httpx.AsyncClient:
    try:
        return httpx.AsyncClient(verify=config.verify, timeout=config.timeout)
    except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError
        # httpx loads the CA bundle here, not at the first request as requests does.
        raise NeevCloudValidationError(
            "verify", config.verify, f"could not be loaded as a CA bundle ({type(exc).__name__})"
        ) from exc
