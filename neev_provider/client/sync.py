"""The synchronous client, on a ``requests.Session`` (connection reuse, timeouts).

Each exchange is cut off at the call's deadline by the process's
:class:`~neev_provider.client.cutoff.Watchdog`, whatever the server does; bodies are read in
chunks through the shared :class:`~neev_provider.client.body.BodyReader` (size cap), and
redirects are never followed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar

import requests
import tenacity
import urllib3

from neev_provider.client import cutoff, endpoints, validation
from neev_provider.client.body import CHUNK_BYTES, BodyReader
from neev_provider.client.budget import CallBudget, seconds
from neev_provider.client.config import ClientConfig
from neev_provider.client.endpoints import ApiCall, CreateVolumeRequest
from neev_provider.client.errors import (
    NeevCloudError,
    NeevCloudTimeoutError,
    NeevCloudTransportError,
    call_context,
    describe_network_failure,
    exception_chain,
    library_failure,
)
from neev_provider.client.flow import conversation, request_headers, secrets_of
from neev_provider.client.models import Page, Volume
from neev_provider.client.paging import PageWalk, named, pick_by_name
from neev_provider.client.retry import resolve_final_error

T = TypeVar("T")


class NeevCloudClient:
    """Call the NeevCloud Storage API.

    :param config: where and as whom to call.
    :param session: a session to use instead of a new one (the client then does not close it).
    :param sleep: how to wait between retries (default ``time.sleep``); replaceable in tests.
    """

    def __init__(
        self,
        config: ClientConfig,
        *,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.config = config
        self._owns_session = session is None
        self._session = session or _new_session(config)
        self._session.verify = config.verify
        self._sleep = sleep or time.sleep

    def __repr__(self) -> str:
        return (
            f"NeevCloudClient(host={self.config.host!r}, org_id={self.config.org_id!r}, "
            f"project_id={self.config.project_id!r})"
        )

    def __enter__(self) -> NeevCloudClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the HTTP session, if the client opened it."""
        if self._owns_session:
            self._session.close()

    # -- the API ---------------------------------------------------------------------

    def list_volumes(
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
        return self._execute(endpoints.list_volumes(scope, page=page, limit=limit, available=available))

    def iter_volumes(
        self,
        *,
        limit: int = 100,
        available: bool | None = None,
        org_id: str | None = None,
        project_id: str | None = None,
    ) -> Iterator[Volume]:
        """Yield every volume of the project, fetching pages lazily.

        A server whose pages do not advance, or that has too many, ends the walk with an error
        (see :class:`~neev_provider.client.paging.PageWalk`).
        """
        walk = PageWalk(limit)
        page: int | None = 1
        while page is not None:
            result = self.list_volumes(
                page=page, limit=limit, available=available, org_id=org_id, project_id=project_id
            )
            fresh, page = walk.accept(page, result)
            yield from fresh

    def find_volume_by_name(
        self, name: str, *, org_id: str | None = None, project_id: str | None = None
    ) -> Volume | None:
        """Return the project's volume called ``name``, or ``None``.

        :raises DuplicateVolumeNameError: if several volumes have that name.
        """
        return pick_by_name(self.find_volumes_by_name(name, org_id=org_id, project_id=project_id), name)

    def find_volumes_by_name(
        self, name: str, *, org_id: str | None = None, project_id: str | None = None
    ) -> list[Volume]:
        """Return every volume of the project called ``name`` (the API has no name filter: it lists)."""
        validation.volume_name(name)
        scope = self.config.scope(org_id, project_id)
        try:
            return named(self.iter_volumes(org_id=org_id, project_id=project_id), name)
        except NeevCloudError as error:
            error.set_context(
                call_context(self.config.label, f"looking up volume {name!r} in {scope.describe()}")
            )
            raise

    def get_volume(
        self, volume_id: str, *, org_id: str | None = None, project_id: str | None = None
    ) -> Volume:
        """Return one volume. :raises NotFoundError: if it does not exist."""
        return self._execute(endpoints.get_volume(self.config.scope(org_id, project_id), volume_id))

    def find_volume(
        self, volume_id: str, *, org_id: str | None = None, project_id: str | None = None
    ) -> Volume | None:
        """Return one volume, or ``None`` if it does not exist (the API answers 404)."""
        return self._execute(endpoints.find_volume(self.config.scope(org_id, project_id), volume_id))

    def create_volume(
        self, request: CreateVolumeRequest, *, org_id: str | None = None, project_id: str | None = None
    ) -> Volume:
        """Create a volume; it starts ``pending``.

        :raises AmbiguousRequestError: if the POST may have created the volume although it failed;
            look it up by name before trying again.
        """
        return self._execute(endpoints.create_volume(self.config.scope(org_id, project_id), request))

    def extend_volume(
        self, volume_id: str, size_gb: int, *, org_id: str | None = None, project_id: str | None = None
    ) -> Volume:
        """Ask for a new total size; the resize runs asynchronously (``extension_status``)."""
        return self._execute(
            endpoints.extend_volume(self.config.scope(org_id, project_id), volume_id, size_gb)
        )

    def delete_volume(
        self, volume_id: str, *, org_id: str | None = None, project_id: str | None = None
    ) -> None:
        """Delete a volume. :raises VolumeInUseError: while a resource has it mounted."""
        self._execute(endpoints.delete_volume(self.config.scope(org_id, project_id), volume_id))

    # -- plumbing --------------------------------------------------------------------

    def _execute(self, call: ApiCall[T]) -> T:
        flow = conversation(call, self.config.auth)
        try:
            step = next(flow)
            while True:
                try:
                    result: Any = self._send_with_retry(*step)
                except NeevCloudError as error:
                    step = flow.throw(error)
                else:
                    step = flow.send(result)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]
        except NeevCloudError as error:
            error.set_context(call_context(self.config.label, call.action or call.operation))
            raise

    def _send_with_retry(self, call: ApiCall[T], authorization: str | None) -> T:
        budget = CallBudget.start(self.config.call_seconds, self.config.timeout)
        retrying = tenacity.Retrying(
            sleep=self._sleep,
            **self.config.retry.tenacity_arguments(call.operation, idempotent=call.idempotent, budget=budget),
        )
        try:
            result: T = retrying(self._send_once, call, authorization, budget)
            return result
        except NeevCloudError as error:
            final = resolve_final_error(error, call.operation, idempotent=call.idempotent)
            if final is error:
                raise
            raise final from error

    def _send_once(self, call: ApiCall[T], authorization: str | None, budget: CallBudget) -> T:
        url = self.config.host + call.path
        headers = request_headers(authorization, self.config.user_agent, has_body=call.json is not None)
        timeout = budget.attempt_timeout(self.config.timeout)
        slot = cutoff.Slot()
        alarm = cutoff.WATCHDOG.arm(budget.ends_at, slot.cut)
        try:
            with cutoff.carrying(slot):
                status, answer_headers, content = self._exchange(call, url, headers, timeout, budget, slot)
            if slot.fired:
                # Cut off in the middle: what was read is not the answer (headers may end early).
                raise _deadline_passed(call, url, budget)
        except NeevCloudError:
            raise
        except (requests.RequestException, urllib3.exceptions.HTTPError, OSError, ValueError) as exc:
            if slot.fired or budget.expired():
                raise _deadline_passed(call, url, budget) from exc
            raise _transport_error(exc, call, url, timeout, authorization) from _cause(exc, authorization)
        finally:
            slot.over()
            alarm.cancel()
        return call.parse_response(status, answer_headers, content, url=url)

    def _exchange(
        self,
        call: ApiCall[T],
        url: str,
        headers: dict[str, str],
        timeout: float,
        budget: CallBudget,
        slot: cutoff.Slot,
    ) -> tuple[int, Mapping[str, str], bytes]:
        """Send the request and read the whole answer."""
        response = self._session.request(
            call.method,
            url,
            params=call.params,
            json=call.json,
            headers=headers,
            timeout=timeout,
            stream=True,
            allow_redirects=False,
        )
        slot.response = response.raw
        with response:
            reader = BodyReader(
                call.operation,
                content_length=response.headers.get("content-length"),
                expired=budget.expired,
                on_expired=lambda: NeevCloudTimeoutError(
                    f"the answer was still arriving at the end of the call's {seconds(budget.seconds)}",
                    method=call.method,
                    url=url,
                    request_sent=True,
                ),
            )
            for chunk in response.iter_content(CHUNK_BYTES):
                reader.feed(chunk)
        return response.status_code, response.headers, reader.content()


def _deadline_passed(call: ApiCall[Any], url: str, budget: CallBudget) -> NeevCloudTimeoutError:
    return NeevCloudTimeoutError(
        f"no complete answer within the call's {seconds(budget.seconds)}",
        method=call.method,
        url=url,
        request_sent=True,
    )


def _transport_error(
    error: BaseException, call: ApiCall[Any], url: str, timeout: float, authorization: str | None
) -> NeevCloudError:
    """Map what ``requests`` raised to the package's transport errors."""
    if isinstance(error, requests.ConnectTimeout):
        message, sent = f"could not connect within {seconds(timeout)}", False
        return NeevCloudTimeoutError(message, method=call.method, url=url, request_sent=sent)
    if isinstance(error, requests.Timeout):
        message, sent = f"no answer within {seconds(timeout)}", True
        return NeevCloudTimeoutError(message, method=call.method, url=url, request_sent=sent)
    if isinstance(error, requests.ConnectionError):
        sent = _may_have_sent(error)
        message = describe_network_failure(error, sent=sent)
        return NeevCloudTransportError(message, method=call.method, url=url, request_sent=sent)
    # Anything else the HTTP stack raises (an invalid URL or header, a broken encoding, a CA
    # bundle it cannot load) is still the package's error, without the token in it.
    sent = not isinstance(error, requests.exceptions.InvalidURL | requests.exceptions.InvalidHeader)
    wrapped, _ = library_failure(
        error, method=call.method, url=url, request_sent=sent, secrets=secrets_of(authorization)
    )
    return wrapped


def _cause(error: BaseException, authorization: str | None) -> BaseException | None:
    """The exception to chain: ``error``, unless it quotes the credentials."""
    return library_failure(error, method="", url="", request_sent=False, secrets=secrets_of(authorization))[1]


def _new_session(config: ClientConfig) -> requests.Session:
    session = requests.Session()
    # requests re-reads proxy variables and .netrc from the environment on every call, which
    # costs more than the rest of the client's overhead; read the proxies once instead.
    session.trust_env = False
    session.proxies.update(requests.utils.get_environ_proxies(config.host))
    cutoff.track(session)
    return session


def _may_have_sent(error: BaseException) -> bool:
    """Whether the request may have reached the server before the connection failed.

    urllib3 raises ``NewConnectionError`` (refused, unreachable) and ``NameResolutionError``
    before a byte is sent; anything later (a reset, a closed connection) is ambiguous.
    """
    not_sent = (urllib3.exceptions.NewConnectionError, urllib3.exceptions.NameResolutionError)
    return not any(isinstance(item, not_sent) for item in exception_chain(error))
