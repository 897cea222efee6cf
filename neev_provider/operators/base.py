"""What the volume operators share: the connection, the scope, and waiting (in the worker or deferred)."""

from __future__ import annotations

import time
from functools import cached_property
from typing import Any

from neev_provider._compat import BaseOperator, Context, default_deferrable
from neev_provider.client import validation
from neev_provider.client.readiness import Target
from neev_provider.client.sync import NeevCloudClient
from neev_provider.client.waiting import VolumeWatch, WaitOutcome, wait_for_volume
from neev_provider.hooks.neevcloud import NeevCloudHook
from neev_provider.triggers.volume import NeevVolumeTrigger

DEFAULT_POLL_INTERVAL = 10.0
DEFAULT_TIMEOUT = 30 * 60.0


class NeevVolumeBaseOperator(BaseOperator):
    """Base class of the volume operators.

    :param neev_conn_id: the ``neevcloud`` connection.
    :param org_id: overrides the connection's organisation.
    :param project_id: overrides the connection's project.
    :param poll_interval: seconds between reads while waiting (0.01 to 3600).
    :param timeout: seconds a wait may last (at most 30 days); the deadline is absolute and
        survives deferral.
    :param deferrable: wait in the triggerer instead of holding a worker slot
        (default: ``[operators] default_deferrable``).
    """

    def __init__(
        self,
        *,
        neev_conn_id: str = NeevCloudHook.default_conn_name,
        org_id: str | None = None,
        project_id: str | None = None,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        timeout: float = DEFAULT_TIMEOUT,
        deferrable: bool | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.neev_conn_id = neev_conn_id
        self.org_id = org_id
        self.project_id = project_id
        self.poll_interval = validation.poll_interval(poll_interval)
        self.timeout = validation.positive_number(timeout, "timeout")
        self.deferrable = default_deferrable() if deferrable is None else deferrable

    @cached_property
    def hook(self) -> NeevCloudHook:
        """The hook, built on first use (never in ``__init__``: no I/O at DAG parse time)."""
        return NeevCloudHook(self.neev_conn_id, org_id=self.org_id, project_id=self.project_id)

    @property
    def client(self) -> NeevCloudClient:
        """The hook's sync client."""
        return self.hook.client

    def wait(
        self,
        context: Context,
        volume_id: str,
        target: Target,
        *,
        min_size_gb: int | None = None,
        method_name: str = "execute_complete",
        resume_kwargs: dict[str, Any] | None = None,
        started_at: float | None = None,
        timeout: float | None = None,
    ) -> WaitOutcome:
        """Wait for ``target`` here, or defer and resume in ``method_name`` with the outcome's event.

        Deferring does not return: Airflow later calls ``method_name(context, event=...,
        **resume_kwargs)``, which rebuilds the outcome with
        :meth:`~neev_provider.client.waiting.WaitOutcome.from_event`.

        :param timeout: this wait's own limit, instead of the operator's ``timeout``.
        """
        started = time.time() if started_at is None else started_at
        deadline = started + (self.timeout if timeout is None else timeout)
        if self.deferrable:
            trigger = NeevVolumeTrigger(
                volume_id=volume_id,
                target=target.value,
                deadline=deadline,
                neev_conn_id=self.neev_conn_id,
                org_id=self.org_id,
                project_id=self.project_id,
                min_size_gb=min_size_gb,
                poll_interval=self.poll_interval,
                started_at=started,
            )
            self.defer(trigger=trigger, method_name=method_name, kwargs=resume_kwargs)
        watch = VolumeWatch(
            volume_id,
            target,
            deadline=deadline,
            poll_interval=self.poll_interval,
            min_size_gb=min_size_gb,
            started_at=started,
            logger=self.log,
        )
        return wait_for_volume(self.client, watch)
