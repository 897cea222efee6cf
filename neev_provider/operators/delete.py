"""NeevDeleteVolumeOperator: delete a volume, safely enough to be a teardown."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from neev_provider._compat import Context
from neev_provider.client import validation
from neev_provider.client.errors import NotFoundError, VolumeInUseError
from neev_provider.exceptions import NeevVolumeInUseError, result_of
from neev_provider.lineage import NeevVolumeLineageMixin, keep_volume, remember_volume_name
from neev_provider.links import NeevVolumeLink, persist_volume_link
from neev_provider.operators.base import NeevVolumeBaseOperator, resume_state

# The wait machinery loads when a task runs, not when a DAG file is parsed.
if TYPE_CHECKING:
    from neev_provider.client.waiting import WaitOutcome

DEFAULT_DETACH_TIMEOUT = 10 * 60.0


class NeevDeleteVolumeOperator(NeevVolumeLineageMixin, NeevVolumeBaseOperator):
    """Delete a volume; meant to run as a teardown (``delete.as_teardown(setups=create)``).

    A volume that is already gone counts as deleted. While a resource still has the volume
    mounted, the API refuses the delete ("in use"): the operator waits for it to be detached,
    up to ``detach_timeout``, then fails naming the attachments.

    .. seealso:: :ref:`howto-delete-volume`

    :param volume_id: the volume to delete, e.g.
        ``"{{ ti.xcom_pull(task_ids='create_volume', key='volume_id') }}"``.
    :param not_found_ok: treat a volume that does not exist as deleted (default).
    :param detach_timeout: seconds to wait for attachments to go away.
    :param wait_for_completion: wait until the API no longer knows the volume (default).
    """

    template_fields: Sequence[str] = ("volume_id", "org_id", "project_id", "neev_conn_id")
    ui_color = "#f7e4e4"
    operator_extra_links = (NeevVolumeLink(),)
    lineage_change = "DROP"

    def __init__(
        self,
        *,
        volume_id: str,
        not_found_ok: bool = True,
        detach_timeout: float = DEFAULT_DETACH_TIMEOUT,
        wait_for_completion: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.volume_id = volume_id
        self.not_found_ok = not_found_ok
        self.detach_timeout = validation.positive_number(detach_timeout, "detach_timeout")
        self.wait_for_completion = wait_for_completion

    def execute(self, context: Context) -> None:
        persist_volume_link(context, self.hook, self.volume_id, log=self.log)
        name = remember_volume_name(self, context, self.volume_id)
        self._delete(context, detach_started=time.time(), name=name)

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> None:
        """Resume after the trigger's event: a detach wait retries the delete, a gone wait ends."""
        from neev_provider.client.waiting import WaitOutcome

        outcome = WaitOutcome.from_event(event or {})
        resume = resume_state(event)
        name = resume.get("volume_name")
        keep_volume(self, name)
        detach_started = resume.get("detach_started")
        if not isinstance(detach_started, int | float):
            result_of(outcome, task=self.task_id)
            return
        if outcome.status == "timeout":
            self._give_up_in_use()
        result_of(outcome, task=self.task_id)
        self._delete(context, detach_started=detach_started, name=name if isinstance(name, str) else None)

    def _delete(self, context: Context, *, detach_started: float, name: str | None) -> None:
        volume_id = validation.volume_id(self.volume_id)
        while True:
            try:
                self.client.delete_volume(volume_id)
                break
            except NotFoundError:
                if not self.not_found_ok:
                    raise
                self.log.info("Volume %s does not exist (any more): nothing to delete", volume_id)
                return
            except VolumeInUseError as error:
                if time.time() - detach_started >= self.detach_timeout:
                    self._give_up_in_use()
                self.log.info(
                    "Volume %s is in use (%s); waiting for it to be detached", volume_id, error.message
                )
                outcome = self._wait_detached(context, volume_id, detach_started, name)
                if outcome.status == "timeout":
                    self._give_up_in_use()
                result_of(outcome, task=self.task_id)
        self.log.info("Deleted volume %s", volume_id)
        if self.wait_for_completion:
            from neev_provider.client.readiness import Target

            # The name travels in the event, for the DROP lineage of a delete that resumes elsewhere.
            resume = {"volume_name": name} if name else None
            result_of(self.wait(context, volume_id, Target.DELETED, resume=resume), task=self.task_id)

    def _wait_detached(
        self, context: Context, volume_id: str, detach_started: float, name: str | None
    ) -> WaitOutcome:
        from neev_provider.client.readiness import Target

        # The detach wait has its own deadline; the operator's timeout bounds the wait until gone.
        return self.wait(
            context,
            volume_id,
            Target.DETACHED,
            started_at=detach_started,
            timeout=self.detach_timeout,
            resume={"detach_started": detach_started, "volume_name": name},
        )

    def _give_up_in_use(self) -> None:
        from neev_provider.client.readiness import describe

        volume = self.client.find_volume(validation.volume_id(self.volume_id))
        mounted = "; ".join(a.describe() for a in volume.mounted_attachments) if volume else "unknown"
        raise NeevVolumeInUseError(
            f"{self.task_id}: volume {self.volume_id} is still in use after {self.detach_timeout:.0f} s, "
            f"mounted by: {mounted} ({describe(volume)}). Detach it from these resources (stop the "
            "AIRuntime instance or VM), then clear this task."
        )
