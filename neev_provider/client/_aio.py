"""The asynchronous client, on an ``httpx.AsyncClient``; used by triggers.

It drives the same request steps, retry policy, body reader and call budget as
:mod:`neev_provider.client._sync`; an exchange is bounded by the budget with :func:`within`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Mapping
from typing import Any, TypeVar

import httpx
import tenacity

from neev_provider.client import _calls, validation
from neev_provider.client._body import CHUNK_BYTES, BodyReader
from neev_provider.client._paging import LIST_LIMIT, PageWalk, all_volumes_steps, lookup_steps, pick_by_name
from neev_provider.client._transport import request_headers, ssl_context
from neev_provider.client.auth import RENEW, Send, Steps, renewal_steps, request_steps
from neev_provider.client.config import ClientConfig
from neev_provider.client.errors import (
    NeevCloudError,
    NeevCloudTimeoutError,
    NeevCloudTransportError,
    call_context,
    describe_network_failure,
    library_failure,
)
from neev_provider.client.models import CreateVolumeRequest, Page, ProjectScope, Volume
from neev_provider.client.retry import CallBudget, resolve_final_error, seconds

T = TypeVar("T")


async def within(awaitable: Awaitable[T], seconds: float) -> T:
    """``await awaitable``, raising :class:`asyncio.TimeoutError` after ``seconds``.

    Not ``asyncio.wait_for``: before Python 3.12 it swallows a cancellation that arrives as the
    awaitable finishes, so a trigger Airflow cancels (a killed task) would go on waiting. Either
    way the awaitable is cancelled and waited for, so that its cleanup (closing a response) is
    done when this returns, not left to a loop that may end next.
    """
    task = asyncio.ensure_future(awaitable)
    try:
        done, _ = await asyncio.wait({task}, timeout=seconds)
    except asyncio.CancelledError:
        task.cancel()
        # The caller's cancellation goes on, not the awaited's own end: Airflow's triggerer reads
        # the message of the one it sent to tell a killed task (on_kill) from a shutdown.
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await finish(task)
        raise
    if not done:
        task.cancel()
        await asyncio.wait({task})
        raise asyncio.TimeoutError
    return task.result()


async def finish(task: asyncio.Future[T]) -> T:
    """Wait until ``task`` ends, even when the caller is cancelled meanwhile; then raise that.

    A cleanup left running behind a cancelled caller is cut off if the loop ends next
    (``asyncio.run`` cancels every task left), and its sockets stay open.
    """
    cancelled: asyncio.CancelledError | None = None
    while not task.done():
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError as error:
            if not task.done():  # the caller was cancelled, not the task
                cancelled = cancelled or error
    if cancelled is not None:
        raise cancelled
    return task.result()


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
        self._http = http or httpx.AsyncClient(verify=ssl_context(config), timeout=config.timeout)
        # Looked up now, not at import, so that a test's patch of asyncio.sleep takes effect.
        self._sleep = sleep or asyncio.sleep
        self._renewing = asyncio.Lock()
        self._served: set[ProjectScope] = set()

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

    @property
    def closed(self) -> bool:
        """Whether the HTTP client is closed: no call can be made any more."""
        return self._http.is_closed

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
        return await self._run(_calls.list_volumes(scope, page=page, limit=limit, available=available))

    async def iter_volumes(
        self,
        *,
        limit: int = LIST_LIMIT,
        available: bool | None = None,
        org_id: str | None = None,
        project_id: str | None = None,
    ) -> AsyncIterator[Volume]:
        """Yield every volume of the project (``available=True``: only bound ones), fetching pages lazily.

        Each volume is yielded once, however the list shifts while it is read.
        """
        walk = PageWalk(limit, strict=False)
        page: int | None = 1
        while page is not None:
            answer = await self.list_volumes(
                page=page, limit=limit, available=available, org_id=org_id, project_id=project_id
            )
            fresh, page = walk.accept(page, answer)
            for volume in fresh:
                yield volume

    async def list_all_volumes(
        self, *, org_id: str | None = None, project_id: str | None = None
    ) -> list[Volume]:
        """Return every volume of the project, from a walk the list did not change under."""
        return await self._walk(all_volumes_steps(), "listing every volume", org_id, project_id)

    async def find_volumes_by_name(
        self, name: str, *, org_id: str | None = None, project_id: str | None = None
    ) -> list[Volume]:
        """Return every volume of the project called ``name`` (the API has no name filter: it lists)."""
        validation.volume_name(name)
        return await self._walk(lookup_steps(name), f"looking up volume {name!r}", org_id, project_id)

    async def find_volume_by_name(
        self, name: str, *, org_id: str | None = None, project_id: str | None = None
    ) -> Volume | None:
        """Return the project's volume called ``name``, or ``None``.

        :raises DuplicateVolumeNameError: if several volumes have that name.
        """
        found = await self.find_volumes_by_name(name, org_id=org_id, project_id=project_id)
        return pick_by_name(found, name)

    async def get_volume(
        self, volume_id: str, *, org_id: str | None = None, project_id: str | None = None
    ) -> Volume:
        """Return one volume. :raises NotFoundError: if it does not exist."""
        return await self._run(_calls.get_volume(self.config.scope(org_id, project_id), volume_id))

    async def find_volume(
        self, volume_id: str, *, org_id: str | None = None, project_id: str | None = None
    ) -> Volume | None:
        """Return one volume, or ``None`` if it does not exist."""
        return await self._run(_calls.find_volume(self.config.scope(org_id, project_id), volume_id))

    async def create_volume(
        self, request: CreateVolumeRequest, *, org_id: str | None = None, project_id: str | None = None
    ) -> Volume:
        """Create a volume; it starts ``pending``.

        :raises AmbiguousRequestError: if the POST may have created the volume although it failed.
        """
        return await self._run(_calls.create_volume(self.config.scope(org_id, project_id), request))

    async def extend_volume(
        self, volume_id: str, size_gb: int, *, org_id: str | None = None, project_id: str | None = None
    ) -> Volume:
        """Ask for a new total size; the resize runs asynchronously (``extension_status``)."""
        scope = self.config.scope(org_id, project_id)
        return await self._run(_calls.extend_volume(scope, volume_id, size_gb))

    async def delete_volume(
        self, volume_id: str, *, org_id: str | None = None, project_id: str | None = None
    ) -> None:
        """Delete a volume. :raises VolumeInUseError: while a resource has it mounted."""
        await self._run(_calls.delete_volume(self.config.scope(org_id, project_id), volume_id))

    # -- plumbing --------------------------------------------------------------------

    async def _walk(
        self, steps: Generator[int, Page, list[Volume]], what: str, org_id: str | None, project_id: str | None
    ) -> list[Volume]:
        scope = self.config.scope(org_id, project_id)
        try:
            page = next(steps)
            while True:
                answer = await self.list_volumes(
                    page=page, limit=LIST_LIMIT, org_id=org_id, project_id=project_id
                )
                page = steps.send(answer)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]
        except NeevCloudError as error:
            error.set_context(call_context(self.config.label, f"{what} in {scope.describe()}"))
            raise

    async def _run(self, call: _calls.ApiCall[T]) -> T:
        """Carry out one call: its steps (authorization, renewal, route proof), each sent with retries."""
        try:
            return await self._drive(request_steps(call, self.config.auth, self._served))
        except NeevCloudError as error:
            error.scrub(self.config.auth.secrets())
            error.set_context(call_context(self.config.label, call.action or call.operation))
            raise

    async def _drive(self, steps: Steps[T]) -> T:
        try:
            step = next(steps)
            while True:
                try:
                    result: Any = await (self._authorization() if step is RENEW else self._send(step))
                except NeevCloudError as error:
                    step = steps.throw(error)
                else:
                    step = steps.send(result)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]

    async def _authorization(self) -> str | None:
        header = self.config.auth.header()
        if header is not None:
            return header
        async with self._renewing:  # one renewal at a time: the waits behind it find a fresh token
            return await self._drive(renewal_steps(self.config.auth))

    async def _send(self, step: Any) -> Any:
        assert isinstance(step, Send)
        call = step.call
        budget = CallBudget.start(self.config.call_seconds, self.config.timeout)
        retrying = tenacity.AsyncRetrying(
            sleep=self._sleep,
            **self.config.retry._tenacity_arguments(
                call.operation, idempotent=call.idempotent, budget=budget
            ),
        )
        try:
            return await retrying(self._send_once, call, step.authorization, budget)
        except NeevCloudError as error:
            final = resolve_final_error(error, call.operation, idempotent=call.idempotent)
            if final is error:
                raise
            raise final from error

    async def _send_once(self, call: _calls.ApiCall[T], authorization: str | None, budget: CallBudget) -> T:
        url = self.config.host + call.path
        headers = request_headers(authorization, self.config.user_agent, has_body=call.json is not None)
        timeout = budget.attempt_timeout(self.config.timeout)
        try:
            status, answer_headers, content = await within(
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
        except (
            httpx.HTTPError,
            httpx.InvalidURL,
            httpx.StreamError,
            OSError,
            ValueError,
            RuntimeError,
        ) as exc:
            # Anything else the HTTP stack raises (an invalid URL or header, a client closed under
            # the call) is still the package's error, without the token in it.
            sent = not isinstance(exc, httpx.InvalidURL | UnicodeError | RuntimeError)
            error, cause = library_failure(
                exc, method=call.method, url=url, request_sent=sent, secrets=self.config.auth.secrets()
            )
            raise error from cause
        return call.parse_response(status, answer_headers, content, url=url)

    async def _exchange(
        self, call: _calls.ApiCall[T], url: str, headers: dict[str, str], timeout: float
    ) -> tuple[int, Mapping[str, str], bytes]:
        """Send the request and read the whole answer, raw, decoding it with the body cap.

        ``wait_for`` cancels it at the deadline.
        """
        request = self._http.build_request(
            call.method, url, params=call.params, json=call.json, headers=headers, timeout=timeout
        )
        response = await self._http.send(request, stream=True, follow_redirects=False)
        try:
            reader = BodyReader(
                call.operation,
                content_length=response.headers.get("content-length"),
                content_encoding=response.headers.get("content-encoding"),
            )
            chunks = response.aiter_raw(CHUNK_BYTES)
            try:
                async for chunk in chunks:
                    reader.feed(chunk)
            finally:
                # Stopped early (a body past the cap): close the generator now, not at GC time.
                await chunks.aclose()  # type: ignore[attr-defined]
        finally:
            await response.aclose()
        return response.status_code, response.headers, reader.content()
