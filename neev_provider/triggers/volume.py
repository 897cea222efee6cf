"""The trigger that waits for a volume in the triggerer, for operators and the sensor alike."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from neev_provider._compat import BaseTrigger, TriggerEvent
from neev_provider.client import NeevCloudError, NeevCloudValidationError, NotFoundError
from neev_provider.client._aio import within
from neev_provider.hooks.neevcloud import NeevCloudHook
from neev_provider.triggers.clients import ConnectionSetupError, SharedClient, SharedClients
from neev_provider.triggers.reads import watch_volume
from neev_provider.volumes.cleanup import KILL_CLEANUP_SECONDS
from neev_provider.volumes.wait import Target, VolumeWatch, WaitOutcome, check_format, resume_of_format_0

#: The version of :meth:`NeevVolumeTrigger.serialize`'s keyword arguments (their ``format``),
#: which Airflow keeps in its database while a task is deferred and rebuilds the trigger from.
#: 0, before versions: no ``format``; otherwise the same keywords as 1.
TRIGGER_FORMAT = 1


class NeevVolumeTrigger(BaseTrigger):
    """Poll a volume until it reaches ``target``; fire exactly one event.

    The event is ``WaitOutcome.to_event``: ``status`` is
    ``success`` (with the volume), ``failed`` (the API reports a failure), ``timeout`` or
    ``error``, plus ``resume``: whatever the deferring task needs to go on. The resume step
    reads its state from the event only, never from ``next_kwargs`` (which ``dag.test()`` on
    Airflow 3.3 replaces with the event), so a real triggerer, a restarted one and ``dag.test()``
    all resume alike. Every argument is a JSON-safe primitive and none is a secret: the
    connection is read in the triggerer.

    When the user kills the deferred task (mark failed or success, clear), Airflow 3.3+ calls
    :meth:`on_kill`; with ``delete_on_kill`` it deletes the volume, which the task created and had
    not yet handed on. A triggerer restart or a timeout does not call it.

    :param volume_id: the volume to watch.
    :param target: ``bound``, ``extended``, ``detached`` (no resource mounts it) or ``deleted``.
    :param deadline: when to give up, in seconds since the epoch; absolute, so that a
        triggerer restart does not start the clock again.
    :param started_at: when the wait began (for progress messages).
    :param min_size_gb: also wait until the provisioned size reaches this.
    :param poll_interval: seconds between reads.
    :param resume: JSON-safe state echoed in the event for the resume step (no secrets).
    :param delete_on_kill: delete the volume if the user kills the task while it waits.
    :param format: the version of these arguments' format: ``TRIGGER_FORMAT`` from code that
        builds the trigger, none (0) in those of a release before versions. A newer one raises
        ``PayloadFormatError``, which says what to do (see :doc:`/compatibility`).
    :param newer: arguments a newer release added without changing the format: ignored.
    """

    def __init__(
        self,
        *,
        volume_id: str,
        target: str,
        deadline: float,
        neev_conn_id: str = NeevCloudHook.default_conn_name,
        org_id: str | None = None,
        project_id: str | None = None,
        min_size_gb: int | None = None,
        poll_interval: float = 10.0,
        started_at: float | None = None,
        resume: dict[str, Any] | None = None,
        delete_on_kill: bool = False,
        format: int = 0,
        **newer: Any,
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        # Airflow rebuilds the trigger with cls(**kwargs) from what any release serialized. The
        # keywords of formats 0 and 1 are the same; a new format would translate older ones here.
        version = check_format(format, f"The deferred wait for volume {volume_id}", TRIGGER_FORMAT)
        if newer:
            self.log.info("Ignoring arguments of a newer release of the provider: %s", ", ".join(newer))
        self.volume_id = volume_id
        self.target = Target.parse(target).value
        self.deadline = float(deadline)
        self.neev_conn_id = neev_conn_id
        self.org_id = org_id
        self.project_id = project_id
        self.min_size_gb = min_size_gb
        self.poll_interval = float(poll_interval)
        self.started_at = time.time() if started_at is None else float(started_at)
        self.resume = dict(resume or {})
        # Format 0 also meant to delete a volume it had only found by its name.
        self.delete_on_kill = bool(delete_on_kill) and (
            version > 0 or resume_of_format_0(self.resume).get("owned", True) is not False
        )

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """Return the class path and the keyword arguments that rebuild this trigger."""
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "format": TRIGGER_FORMAT,
                "volume_id": self.volume_id,
                "target": self.target,
                "deadline": self.deadline,
                "neev_conn_id": self.neev_conn_id,
                "org_id": self.org_id,
                "project_id": self.project_id,
                "min_size_gb": self.min_size_gb,
                "poll_interval": self.poll_interval,
                "started_at": self.started_at,
                "resume": self.resume,
                "delete_on_kill": self.delete_on_kill,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Poll until the wait is over; yield its single event."""
        event = (await self._wait()).to_event()
        event["resume"] = self.resume
        yield TriggerEvent(event)  # type: ignore[no-untyped-call]

    async def on_kill(self) -> None:
        """Delete the volume when the user killed the waiting task and the task owned it (3.3+)."""
        if not self.delete_on_kill:
            return
        try:
            # One bounded attempt, as in the worker: Airflow also bounds on_kill ([triggerer]
            # on_kill_timeout), and what is left goes to the reaper.
            await within(self._delete(), KILL_CLEANUP_SECONDS)
        except NotFoundError:
            self.log.info("Volume %s was already gone when the task was killed", self.volume_id)
        except (Exception, asyncio.TimeoutError) as error:
            # on_kill must not raise: say what is left and what to do about it.
            self.log.error(
                "The task was killed; deleting its volume %s did not succeed (%s): "
                "NeevReapVolumesOperator finds it, or delete it by hand",
                self.volume_id,
                str(error) or type(error).__name__,  # a TimeoutError has no text
            )
        else:
            self.log.info("The task was killed while waiting: deleted its volume %s", self.volume_id)

    async def _delete(self) -> None:
        async with SharedClients.current().lease(self.neev_conn_id, self.org_id, self.project_id) as shared:
            assert shared.client is not None  # a lease is ready
            await shared.client.delete_volume(self.volume_id)

    async def _wait(self) -> WaitOutcome:
        try:
            watch = VolumeWatch(
                self.volume_id,
                Target(self.target),
                deadline=self.deadline,
                poll_interval=self.poll_interval,
                min_size_gb=self.min_size_gb,
                started_at=self.started_at,
                logger=self.log,
            )
        except NeevCloudError as error:
            # Arguments a deferring task could not have produced (edited in the database, say).
            return WaitOutcome("error", self.volume_id, str(error))
        # Every trigger of this connection in this triggerer shares one client and its batched reads.
        lease = SharedClients.current().lease(self.neev_conn_id, self.org_id, self.project_id)
        try:
            async with lease as shared:
                assert shared.reads is not None  # a lease is ready
                scope = (self.org_id, self.project_id)
                return await watch_volume(
                    shared.reads, watch, scope, renew=lambda asked: _renewed(shared, asked)
                )
        except ConnectionSetupError as error:
            # A missing or broken connection is reported as an event: a raising trigger fails
            # generically, with no word of what to fix. The error names the connection already.
            # A connection that breaks a rule fails without retries; a missing one may exist on
            # the host of the next try.
            retryable = not isinstance(error.__cause__, NeevCloudValidationError)
            return WaitOutcome("error", self.volume_id, str(error), retryable=retryable)


async def _renewed(shared: SharedClient, asked: float) -> bool:
    """After a 401 to a read asked at ``asked``: whether there are new credentials to try."""
    try:
        return await shared.renew(since=asked)
    except ConnectionSetupError:
        return False
