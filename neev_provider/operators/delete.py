"""NeevDeleteVolumeOperator: delete a volume, safely enough to be a teardown."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from neev_provider._compat import AirflowSkipException, Context
from neev_provider.client import validation
from neev_provider.client.errors import NotFoundError, VolumeInUseError
from neev_provider.exceptions import NeevVolumeInUseError, result_of
from neev_provider.lineage import NeevVolumeLineageMixin, keep_volume, remember_volume_name
from neev_provider.links import NeevVolumeLink, persist_volume_link
from neev_provider.operators.base import OWNERSHIP_KEY, NeevVolumeBaseOperator, resume_state, task_entry

# The wait machinery loads when a task runs, not when a DAG file is parsed.
if TYPE_CHECKING:
    from neev_provider.volumes.wait import WaitOutcome

DEFAULT_DETACH_TIMEOUT = 10 * 60.0


class NeevDeleteVolumeOperator(NeevVolumeLineageMixin, NeevVolumeBaseOperator):
    """Delete a volume; meant to run as a teardown (``delete.as_teardown(setups=create)``).

    A volume that is already gone counts as deleted. While a resource still has the volume
    mounted, the API refuses the delete ("in use"): the operator waits for it to be detached,
    up to ``detach_timeout``, then fails naming the attachments.

    Fed from a create (the create is upstream, as with ``as_teardown(setups=create)``), it skips a
    volume that create adopted rather than created (a volume that already existed under the name
    it was given), with one log line saying so, unless ``delete_adopted`` is set.

    .. seealso:: :ref:`howto-delete-volume`

    :param volume_id: the volume to delete, e.g. ``create.output["volume_id"]``.
    :param not_found_ok: treat a volume that does not exist as deleted (default).
    :param detach_timeout: seconds to wait for attachments to go away.
    :param wait_for_completion: wait until the API no longer knows the volume (default).
    :param delete_adopted: delete the volume even when an upstream create only adopted it.
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
        delete_adopted: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.volume_id = volume_id
        self.not_found_ok = not_found_ok
        self.detach_timeout = validation.positive_number(detach_timeout, "detach_timeout")
        self.wait_for_completion = wait_for_completion
        self.delete_adopted = delete_adopted

    @task_entry
    def execute(self, context: Context) -> None:
        adopter = None if self.delete_adopted else self._adopting_create(context)
        if adopter is not None:
            raise AirflowSkipException(
                f"Volume {self.volume_id} was adopted by {adopter}, not created by it (it existed "
                "before): not deleted. Set delete_adopted=True to delete it anyway"
            )
        persist_volume_link(context, self.hook, self.volume_id, log=self.log)
        name = remember_volume_name(self, context, self.volume_id)
        self._delete(context, detach_started=time.time(), name=name)

    @task_entry
    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> None:
        """Resume after the trigger's event: a detach wait retries the delete, a gone wait ends."""
        from neev_provider.volumes.wait import WaitOutcome

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

    def _adopting_create(self, context: Context) -> str | None:
        """The upstream create task that adopted this volume rather than created it, if any."""
        if not self.upstream_task_ids:  # not in a DAG, or nothing upstream: not fed from a create
            return None
        # Every create upstream, however far: a sensor or the job may stand between the two.
        relatives = self.get_flat_relatives(upstream=True)
        creates = [task.task_id for task in relatives if _pushes_ownership(task)]
        if not creates:
            return None
        pulled = context["ti"].xcom_pull(task_ids=creates, key=OWNERSHIP_KEY)
        for record in _records(pulled):
            if record.get("volume_id") == self.volume_id and record.get("created") is False:
                return f"task {_creator(record, creates)}"
        return None

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
            from neev_provider.volumes.wait import Target

            # The name travels in the event, for the DROP lineage of a delete that resumes elsewhere.
            resume = {"volume_name": name} if name else None
            result_of(self.wait(context, volume_id, Target.DELETED, resume=resume), task=self.task_id)

    def _wait_detached(
        self, context: Context, volume_id: str, detach_started: float, name: str | None
    ) -> WaitOutcome:
        from neev_provider.volumes.wait import Target

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
        from neev_provider.volumes.wait import describe

        volume = self.client.find_volume(validation.volume_id(self.volume_id))
        mounted = "; ".join(a.describe() for a in volume.mounted_attachments) if volume else "unknown"
        raise NeevVolumeInUseError(
            f"{self.task_id}: volume {self.volume_id} is still in use after {self.detach_timeout:.0f} s, "
            f"mounted by: {mounted} ({describe(volume)}). Detach it from these resources (stop the "
            "AIRuntime instance or VM), then clear this task."
        )


def _pushes_ownership(task: Any) -> bool:
    """Whether ``task`` is a create operator (or a mapped one), which pushes ``volume_ownership``."""
    from neev_provider.operators.create import NeevCreateVolumeOperator

    cls = task if isinstance(task, type) else getattr(task, "operator_class", type(task))
    return isinstance(cls, type) and issubclass(cls, NeevCreateVolumeOperator)


def _records(pulled: Any) -> list[Mapping[str, Any]]:
    """The ownership records an ``xcom_pull`` returned: one, a list of them, or nested lists (mapped)."""
    if isinstance(pulled, Mapping):
        return [pulled]
    if pulled is None or isinstance(pulled, str | bytes):
        return []
    try:
        items = list(pulled)
    except TypeError:
        return []
    return [record for item in items for record in _records(item)]


def _creator(record: Mapping[str, Any], creates: list[str]) -> str:
    return creates[0] if len(creates) == 1 else " or ".join(creates)
