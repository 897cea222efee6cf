"""Waiting for a volume to reach a target, sync and async, on one shared state machine.

:class:`VolumeWatch` holds a wait's state and decides, from each read, whether to stop;
it does no I/O. :func:`wait_for_volume` and :func:`await_volume` only fetch and sleep.
The Airflow trigger uses the same :class:`VolumeWatch`, so every wait behaves alike:
it ends at once on a failure the API reports, keeps going through transient errors,
and stops at an absolute deadline.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from neev_provider.client import validation
from neev_provider.client.budget import call_deadline
from neev_provider.client.errors import NeevCloudError
from neev_provider.client.logs import Logger
from neev_provider.client.models import Volume
from neev_provider.client.readiness import Failed, Ready, Target, describe, evaluate
from neev_provider.client.retry import is_transient

if TYPE_CHECKING:
    from neev_provider.client.aio import AsyncNeevCloudClient
    from neev_provider.client.sync import NeevCloudClient

log = logging.getLogger(__name__)


OutcomeStatus = Literal["success", "failed", "timeout", "error"]

# Even without a change, say something this often, so a long wait never looks hung.
HEARTBEAT_SECONDS = 60.0


@dataclass(frozen=True)
class WaitOutcome:
    """How a wait ended. Round-trips through a JSON-safe dict (a trigger event's payload).

    :param retryable: for an ``error``, whether another try may succeed (``False`` for a
        connection whose settings break a rule: no retry mends it).
    """

    status: OutcomeStatus
    volume_id: str
    message: str
    volume: Mapping[str, Any] | None = field(default=None, compare=False)
    retryable: bool = True

    def to_event(self) -> dict[str, Any]:
        """Return the outcome as a JSON-safe dict."""
        event: dict[str, Any] = {"status": self.status, "volume_id": self.volume_id, "message": self.message}
        if self.volume is not None:
            event["volume"] = dict(self.volume)
        if not self.retryable:
            event["retryable"] = False
        return event

    @classmethod
    def from_event(cls, event: Mapping[str, Any]) -> WaitOutcome:
        """Rebuild an outcome from :meth:`to_event`'s dict."""
        status = event.get("status")
        if status not in ("success", "failed", "timeout", "error"):
            return cls(
                "error", str(event.get("volume_id", "")), f"unexpected event from the trigger: {event!r}"
            )
        return cls(
            status,
            str(event.get("volume_id", "")),
            str(event.get("message", "")),
            event.get("volume"),
            retryable=event.get("retryable") is not False,
        )


class VolumeWatch:
    """The state of one wait; feed it each read, it says when to stop.

    :param deadline: when to give up, in seconds since the epoch (absolute, so it survives
        a triggerer restart or a deferral).
    :param started_at: when the wait began, for the "elapsed" in progress messages.
    """

    def __init__(
        self,
        volume_id: str,
        target: Target,
        *,
        deadline: float,
        poll_interval: float,
        min_size_gb: int | None = None,
        started_at: float | None = None,
        clock: Callable[[], float] = time.time,
        logger: Logger = log,
    ) -> None:
        self.volume_id = volume_id
        self.target = target
        # NaN would pass every comparison below: a busy loop, or a wait over at once.
        self.deadline = validation.number(deadline, "deadline", low=0, high=float("1e11"))
        self.poll_interval = validation.poll_interval(poll_interval)
        self.min_size_gb = min_size_gb
        self.clock = clock
        self.started_at = clock() if started_at is None else started_at
        self.log = logger
        self._last_state: str | None = None
        self._last_report = float("-inf")

    def observe(self, volume: Volume | None) -> WaitOutcome | None:
        """Take one read (``None`` for a 404); return the outcome if the wait is over."""
        verdict = evaluate(volume, self.target, self.min_size_gb)
        if isinstance(verdict, Ready):
            self._report(describe(volume), force=True)
            payload = verdict.volume.to_dict() if verdict.volume is not None else None
            return WaitOutcome("success", self.volume_id, verdict.reason, payload)
        if isinstance(verdict, Failed):
            return WaitOutcome(
                "failed", self.volume_id, verdict.reason, volume.to_dict() if volume is not None else None
            )
        self._report(verdict.reason)
        return self._timeout_if_due(verdict.reason)

    def observe_error(self, error: NeevCloudError) -> WaitOutcome | None:
        """Take a failed read: transient errors are waited through, others end the wait."""
        if not is_transient(error):
            return WaitOutcome("error", self.volume_id, f"reading the volume failed: {error}")
        self.log.warning(
            "Volume %s: reading it failed (%s); trying again at the next poll", self.volume_id, error
        )
        return self._timeout_if_due(f"the last read failed: {error}")

    def next_delay(self) -> float:
        """Return how long to sleep before the next read."""
        return max(0.0, min(self.poll_interval, self.deadline - self.clock()))

    def _timeout_if_due(self, last_state: str) -> WaitOutcome | None:
        if self.clock() < self.deadline:
            return None
        waited = self.clock() - self.started_at
        message = f"the volume was not {self.target.value} after {waited:.0f} s; last seen: {last_state}"
        return WaitOutcome("timeout", self.volume_id, message)

    def _report(self, state: str, *, force: bool = False) -> None:
        now = self.clock()
        if not force and state == self._last_state and now - self._last_report < HEARTBEAT_SECONDS:
            return
        self._last_state, self._last_report = state, now
        self.log.info(
            "Volume %s: %s (waiting for %s; %.0f s elapsed, %.0f s left)",
            self.volume_id,
            state,
            self.target.value,
            now - self.started_at,
            max(0.0, self.deadline - now),
        )


def _read(client: NeevCloudClient, watch: VolumeWatch, **scope: str | None) -> WaitOutcome | None:
    try:
        # A read never holds the wait past its deadline by more than one request timeout.
        with call_deadline(watch.deadline):
            return watch.observe(client.find_volume(watch.volume_id, **scope))
    except NeevCloudError as error:
        return watch.observe_error(error)


def wait_for_volume(
    client: NeevCloudClient,
    watch: VolumeWatch,
    *,
    sleep: Callable[[float], None] = time.sleep,
    org_id: str | None = None,
    project_id: str | None = None,
) -> WaitOutcome:
    """Poll until ``watch`` says the wait is over; return how it ended."""
    while True:
        outcome = _read(client, watch, org_id=org_id, project_id=project_id)
        if outcome is not None:
            return outcome
        sleep(watch.next_delay())


async def await_volume(
    client: AsyncNeevCloudClient,
    watch: VolumeWatch,
    *,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    org_id: str | None = None,
    project_id: str | None = None,
) -> WaitOutcome:
    """Poll until ``watch`` says the wait is over; return how it ended (asyncio)."""
    while True:
        try:
            with call_deadline(watch.deadline):
                volume = await client.find_volume(watch.volume_id, org_id=org_id, project_id=project_id)
            outcome = watch.observe(volume)
        except NeevCloudError as error:
            outcome = watch.observe_error(error)
        if outcome is not None:
            return outcome
        await sleep(watch.next_delay())
