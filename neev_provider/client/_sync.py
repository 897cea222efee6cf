"""The synchronous client, on a ``requests.Session`` (connection reuse, timeouts).

Each exchange is cut off at its call's deadline by the process's watchdog
(:mod:`neev_provider.client._cutoff`), whatever the server does, for the connections this client
opens itself (a proxied connection, or a session passed in, is bounded per read only). Bodies
are read raw and decoded by the shared :class:`~neev_provider.client._body.BodyReader` (size
cap, bounded decompression), and redirects are never followed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Generator, Iterator, Mapping
from typing import Any, TypeVar

import requests
import tenacity
import urllib3

from neev_provider.client import _calls, _cutoff, validation
from neev_provider.client._body import CHUNK_BYTES, BodyReader
from neev_provider.client._paging import LIST_LIMIT, PageWalk, all_volumes_steps, lookup_steps, pick_by_name
from neev_provider.client._transport import ca_bundle, request_headers
from neev_provider.client.auth import RENEW, Send, Steps, renewal_steps, request_steps
from neev_provider.client.config import ClientConfig
from neev_provider.client.errors import (
    NeevCloudError,
    NeevCloudTimeoutError,
    NeevCloudTransportError,
    call_context,
    describe_network_failure,
    exception_chain,
    library_failure,
)
from neev_provider.client.models import CreateVolumeRequest, Page, ProjectScope, Volume
from neev_provider.client.retry import CallBudget, resolve_final_error, seconds

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
        self._session.verify = ca_bundle(config)
        self._sleep = sleep or time.sleep
        self._renewing = threading.Lock()
        self._served: set[ProjectScope] = set()

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
        return self._run(_calls.list_volumes(scope, page=page, limit=limit, available=available))

    def iter_volumes(
        self,
        *,
        limit: int = LIST_LIMIT,
        available: bool | None = None,
        org_id: str | None = None,
        project_id: str | None = None,
    ) -> Iterator[Volume]:
        """Yield every volume of the project (``available=True``: only bound ones), fetching pages lazily.

        Each volume is yielded once, however the list shifts while it is read.
        """
        walk = PageWalk(limit, strict=False)
        page: int | None = 1
        while page is not None:
            answer = self.list_volumes(
                page=page, limit=limit, available=available, org_id=org_id, project_id=project_id
            )
            fresh, page = walk.accept(page, answer)
            yield from fresh

    def list_all_volumes(self, *, org_id: str | None = None, project_id: str | None = None) -> list[Volume]:
        """Return every volume of the project, from a walk the list did not change under."""
        return self._walk(all_volumes_steps(), "listing every volume", org_id, project_id)

    def find_volumes_by_name(
        self, name: str, *, org_id: str | None = None, project_id: str | None = None
    ) -> list[Volume]:
        """Return every volume of the project called ``name`` (the API has no name filter: it lists)."""
        validation.volume_name(name)
        return self._walk(lookup_steps(name), f"looking up volume {name!r}", org_id, project_id)

    def find_volume_by_name(
        self, name: str, *, org_id: str | None = None, project_id: str | None = None
    ) -> Volume | None:
        """Return the project's volume called ``name``, or ``None``.

        :raises DuplicateVolumeNameError: if several volumes have that name.
        """
        return pick_by_name(self.find_volumes_by_name(name, org_id=org_id, project_id=project_id), name)

    def get_volume(
        self, volume_id: str, *, org_id: str | None = None, project_id: str | None = None
    ) -> Volume:
        """Return one volume. :raises NotFoundError: if it does not exist."""
        return self._run(_calls.get_volume(self.config.scope(org_id, project_id), volume_id))

    def find_volume(
        self, volume_id: str, *, org_id: str | None = None, project_id: str | None = None
    ) -> Volume | None:
        """Return one volume, or ``None`` if it does not exist."""
        return self._run(_calls.find_volume(self.config.scope(org_id, project_id), volume_id))

    def create_volume(
        self, request: CreateVolumeRequest, *, org_id: str | None = None, project_id: str | None = None
    ) -> Volume:
        """Create a volume; it starts ``pending``.

        :raises AmbiguousRequestError: if the POST may have created the volume although it failed;
            look it up by name before trying again.
        """
        return self._run(_calls.create_volume(self.config.scope(org_id, project_id), request))

    def extend_volume(
        self, volume_id: str, size_gb: int, *, org_id: str | None = None, project_id: str | None = None
    ) -> Volume:
        """Ask for a new total size; the resize runs asynchronously (``extension_status``)."""
        return self._run(_calls.extend_volume(self.config.scope(org_id, project_id), volume_id, size_gb))

    def delete_volume(
        self, volume_id: str, *, org_id: str | None = None, project_id: str | None = None
    ) -> None:
        """Delete a volume. :raises VolumeInUseError: while a resource has it mounted."""
        self._run(_calls.delete_volume(self.config.scope(org_id, project_id), volume_id))

    # -- plumbing --------------------------------------------------------------------

    def _walk(
        self, steps: Generator[int, Page, list[Volume]], what: str, org_id: str | None, project_id: str | None
    ) -> list[Volume]:
        scope = self.config.scope(org_id, project_id)
        try:
            page = next(steps)
            while True:
                page = steps.send(
                    self.list_volumes(page=page, limit=LIST_LIMIT, org_id=org_id, project_id=project_id)
                )
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]
        except NeevCloudError as error:
            error.set_context(call_context(self.config.label, f"{what} in {scope.describe()}"))
            raise

    def _run(self, call: _calls.ApiCall[T]) -> T:
        """Carry out one call: its steps (authorization, renewal, route proof), each sent with retries."""
        try:
            return self._drive(request_steps(call, self.config.auth, self._served))
        except NeevCloudError as error:
            error.scrub(self.config.auth.secrets())
            error.set_context(call_context(self.config.label, call.action or call.operation))
            raise

    def _drive(self, steps: Steps[T]) -> T:
        try:
            step = next(steps)
            while True:
                try:
                    result: Any = self._authorization() if step is RENEW else self._send(step)
                except NeevCloudError as error:
                    step = steps.throw(error)
                else:
                    step = steps.send(result)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]

    def _authorization(self) -> str | None:
        header = self.config.auth.header()
        if header is not None:
            return header
        with self._renewing:  # one renewal at a time: the threads behind it find a fresh token
            return self._drive(renewal_steps(self.config.auth))

    def _send(self, step: Any) -> Any:
        assert isinstance(step, Send)
        call = step.call
        budget = CallBudget.start(self.config.call_seconds, self.config.timeout)
        retrying = tenacity.Retrying(
            sleep=self._sleep,
            **self.config.retry._tenacity_arguments(
                call.operation, idempotent=call.idempotent, budget=budget
            ),
        )
        try:
            return retrying(self._send_once, call, step.authorization, budget)
        except NeevCloudError as error:
            final = resolve_final_error(error, call.operation, idempotent=call.idempotent)
            if final is error:
                raise
            raise final from error

    def _send_once(self, call: _calls.ApiCall[T], authorization: str | None, budget: CallBudget) -> T:
        url = self.config.host + call.path
        headers = request_headers(authorization, self.config.user_agent, has_body=call.json is not None)
        timeout = budget.attempt_timeout(self.config.timeout)
        slot = _cutoff.Slot()
        alarm = _cutoff.WATCHDOG.arm(budget.ends_at, slot.cut)
        try:
            with _cutoff.carrying(slot):
                status, answer_headers, content = self._exchange(call, url, headers, timeout, budget, slot)
            if slot.fired:
                # Cut off in the middle: what was read is not the answer (headers may end early).
                raise _deadline_passed(call, url, budget)
        except NeevCloudError:
            raise
        except (requests.RequestException, urllib3.exceptions.HTTPError, OSError, ValueError) as exc:
            if slot.fired or budget.expired():
                raise _deadline_passed(call, url, budget) from exc
            secrets = self.config.auth.secrets()
            raise _transport_error(exc, call, url, timeout, secrets) from _cause(exc, secrets)
        finally:
            slot.over()
            alarm.cancel()
        return call.parse_response(status, answer_headers, content, url=url)

    def _exchange(
        self,
        call: _calls.ApiCall[T],
        url: str,
        headers: dict[str, str],
        timeout: float,
        budget: CallBudget,
        slot: _cutoff.Slot,
    ) -> tuple[int, Mapping[str, str], bytes]:
        """Send the request and read the whole answer, raw, decoding it with the body cap."""
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
                content_encoding=response.headers.get("content-encoding"),
                expired=budget.expired,
                on_expired=lambda: NeevCloudTimeoutError(
                    f"the answer was still arriving at the end of the call's {seconds(budget.seconds)}",
                    method=call.method,
                    url=url,
                    request_sent=True,
                ),
            )
            for chunk in response.raw.stream(CHUNK_BYTES, decode_content=False):
                reader.feed(chunk)
        return response.status_code, response.headers, reader.content()


def _deadline_passed(call: _calls.ApiCall[Any], url: str, budget: CallBudget) -> NeevCloudTimeoutError:
    return NeevCloudTimeoutError(
        f"no complete answer within the call's {seconds(budget.seconds)}",
        method=call.method,
        url=url,
        request_sent=True,
    )


def _transport_error(
    error: BaseException, call: _calls.ApiCall[Any], url: str, timeout: float, secrets: list[str]
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
    # Anything else the HTTP stack raises (an invalid URL or header, a CA bundle it cannot load) is
    # still the package's error, without the token in it.
    sent = not isinstance(error, requests.exceptions.InvalidURL | requests.exceptions.InvalidHeader)
    wrapped, _ = library_failure(error, method=call.method, url=url, request_sent=sent, secrets=secrets)
    return wrapped


def _cause(error: BaseException, secrets: list[str]) -> BaseException | None:
    """The exception to chain: ``error``, unless it quotes the credentials."""
    return library_failure(error, method="", url="", request_sent=False, secrets=secrets)[1]


def _new_session(config: ClientConfig) -> requests.Session:
    session = requests.Session()
    # requests re-reads proxy variables and .netrc from the environment on every call, which
    # costs more than the rest of the client's overhead; read the proxies once instead (the CA
    # bundle variables are read by ca_bundle).
    session.trust_env = False
    session.proxies.update(requests.utils.get_environ_proxies(config.host))
    _cutoff.track(session)
    return session


def _may_have_sent(error: BaseException) -> bool:
    """Whether the request may have reached the server before the connection failed.

    urllib3 raises ``NewConnectionError`` (refused, unreachable) and ``NameResolutionError``
    before a byte is sent; anything later (a reset, a closed connection) is ambiguous.
    """
    not_sent = (urllib3.exceptions.NewConnectionError, urllib3.exceptions.NameResolutionError)
    return not any(isinstance(item, not_sent) for item in exception_chain(error))
