"""The trigger that waits for a volume in the triggerer, for operators and the sensor alike."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

from neev_provider._compat import BaseTrigger, TriggerEvent
from neev_provider.client.readiness import Target
from neev_provider.client.waiting import VolumeWatch, WaitOutcome, await_volume
from neev_provider.hooks.neevcloud import NeevCloudHook


class NeevVolumeTrigger(BaseTrigger):
    """Poll a volume until it reaches ``target``; fire exactly one event.

    The event is :meth:`~neev_provider.client.waiting.WaitOutcome.to_event`: ``status`` is
    ``success`` (with the volume), ``failed`` (the API reports a failure), ``timeout`` or
    ``error``. Every argument is a JSON-safe primitive and none is a secret: the connection
    is read in the triggerer.

    :param volume_id: the volume to watch.
    :param target: ``bound``, ``extended`` or ``deleted``.
    :param deadline: when to give up, in seconds since the epoch; absolute, so that a
        triggerer restart does not start the clock again.
    :param started_at: when the wait began (for progress messages).
    :param min_size_gb: also wait until the provisioned size reaches this.
    :param poll_interval: seconds between reads.
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
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.volume_id = volume_id
        self.target = Target.parse(target).value
        self.deadline = float(deadline)
        self.neev_conn_id = neev_conn_id
        self.org_id = org_id
        self.project_id = project_id
        self.min_size_gb = min_size_gb
        self.poll_interval = float(poll_interval)
        self.started_at = time.time() if started_at is None else float(started_at)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """Return the class path and the keyword arguments that rebuild this trigger."""
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "volume_id": self.volume_id,
                "target": self.target,
                "deadline": self.deadline,
                "neev_conn_id": self.neev_conn_id,
                "org_id": self.org_id,
                "project_id": self.project_id,
                "min_size_gb": self.min_size_gb,
                "poll_interval": self.poll_interval,
                "started_at": self.started_at,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Poll until the wait is over; yield its single event."""
        yield TriggerEvent((await self._wait()).to_event())  # type: ignore[no-untyped-call]

    async def _wait(self) -> WaitOutcome:
        watch = VolumeWatch(
            self.volume_id,
            Target(self.target),
            deadline=self.deadline,
            poll_interval=self.poll_interval,
            min_size_gb=self.min_size_gb,
            started_at=self.started_at,
            logger=self.log,
        )
        hook = NeevCloudHook(self.neev_conn_id, org_id=self.org_id, project_id=self.project_id)
        try:
            client = await hook.get_async_client()
        except Exception as error:
            # A missing or broken connection is reported as an event: a raising trigger fails
            # generically, with no word of what to fix.
            return WaitOutcome("error", self.volume_id, f"connection {self.neev_conn_id!r}: {error}")
        async with client:
            return await await_volume(client, watch)
