"""NeevExtendVolumeOperator: grow a volume to a target total size, idempotently."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

from neev_provider._compat import Context
from neev_provider.assets import announce_volume
from neev_provider.client import validation
from neev_provider.client.errors import AmbiguousRequestError, NeevCloudValidationError
from neev_provider.exceptions import (
    NeevVolumeConflictError,
    NeevVolumeFailedError,
    result_of,
)
from neev_provider.lineage import NeevVolumeLineageMixin, keep_volume
from neev_provider.links import NeevVolumeLink, persist_volume_link
from neev_provider.operators.base import NeevVolumeBaseOperator, resume_state, task_entry

# The wait machinery loads when a task runs, not when a DAG file is parsed.
if TYPE_CHECKING:
    from neev_provider.client.models import Volume
    from neev_provider.volumes.wait import Target

# What to do when the volume is already larger than the target.
IfLarger = Literal["succeed", "fail"]
# An extend whose outcome stays unknown is re-read and retried this many times before giving up.
_MAX_AMBIGUOUS_EXTENDS = 3


class NeevExtendVolumeOperator(NeevVolumeLineageMixin, NeevVolumeBaseOperator):
    """Extend a volume to ``size_gb`` in total and wait until the new size is provisioned.

    Idempotent, so retries are safe: a volume already at the target succeeds without a
    call; a resize already running is waited for first; a volume still being created is
    waited for until bound. Only then, if it is still smaller, the extension is requested.

    .. seealso:: :ref:`howto-extend-volume`

    :param volume_id: the volume to extend.
    :param size_gb: the target total size in GB (not an increment), up to 1000.
    :param if_larger: the volume is already larger than ``size_gb``: ``succeed`` (it is
        large enough; the default) or ``fail`` (volumes cannot shrink, so a target below
        the current size is refused before any change is requested).
    """

    template_fields: Sequence[str] = ("volume_id", "size_gb", "org_id", "project_id", "neev_conn_id")
    ui_color = "#e4ecf7"
    operator_extra_links = (NeevVolumeLink(),)
    lineage_change = "ALTER"

    def __init__(
        self, *, volume_id: str, size_gb: int | str, if_larger: IfLarger = "succeed", **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        if if_larger not in ("succeed", "fail"):
            raise NeevCloudValidationError("if_larger", if_larger, "must be 'succeed' or 'fail'")
        self.volume_id = volume_id
        self.size_gb = size_gb
        self.if_larger = if_larger

    @task_entry
    def execute(self, context: Context) -> dict[str, Any] | None:
        persist_volume_link(context, self.hook, self.volume_id, log=self.log)
        return announce_volume(self, context, self._advance(context, requested=False))

    @task_entry
    def execute_complete(
        self, context: Context, event: dict[str, Any] | None = None
    ) -> dict[str, Any] | None:
        """Resume after the trigger's event: check the outcome, then take the next step."""
        from neev_provider.volumes.wait import WaitOutcome

        result_of(WaitOutcome.from_event(event or {}), task=self.task_id)
        requested = bool(resume_state(event).get("requested"))
        return announce_volume(self, context, self._advance(context, requested=requested))

    def _advance(self, context: Context, *, requested: bool) -> dict[str, Any] | None:
        """Take the next step towards the target; returns once the volume is there."""
        from neev_provider.volumes.wait import Target

        volume_id = validation.volume_id(self.volume_id)
        target = validation.size_gb(validation.whole_number(self.size_gb, "size_gb"))
        ambiguous = 0
        while True:
            volume = self.client.get_volume(volume_id)
            keep_volume(self, volume.name)
            step = self._next_step(volume, target, requested=requested)
            if step is None:
                return volume.to_dict()
            if step == "extend":
                if not self._request_extension(
                    volume, target, last_try=ambiguous + 1 == _MAX_AMBIGUOUS_EXTENDS
                ):
                    ambiguous += 1
                    continue  # unknown whether it was accepted: the next read tells
                requested = True
                step = Target.EXTENDED
            outcome = self.wait(
                context,
                volume_id,
                step,
                min_size_gb=target if requested else None,
                resume={"requested": requested},
            )
            result_of(outcome, task=self.task_id)

    def _next_step(
        self, volume: Volume, target: int, *, requested: bool
    ) -> Target | Literal["extend"] | None:
        """Return what to wait for, ``"extend"`` to request the extension, or ``None`` when done."""
        from neev_provider.client.models import ExtensionStatus, VolumeStatus
        from neev_provider.volumes.wait import Target, describe

        if volume.status.is_failure:
            raise NeevVolumeFailedError(
                f"{self.task_id}: volume {volume.id} cannot be extended: {describe(volume)}"
            )
        if volume.status is VolumeStatus.PENDING:
            return Target.BOUND
        if volume.extension_status is ExtensionStatus.RESIZING:
            return Target.EXTENDED
        if volume.capacity_gb >= target and volume.size_gb >= target:
            if volume.capacity_gb > target and self.if_larger == "fail":
                raise NeevVolumeConflictError(
                    f"{self.task_id}: volume {volume.id} is {volume.capacity_gb} GB, larger than the "
                    f"{target} GB asked for; volumes cannot shrink. Set if_larger='succeed' to accept it."
                )
            self.log.info(
                "Volume %s is %d GB: at or above the %d GB target", volume.id, volume.capacity_gb, target
            )
            return None
        if requested and volume.extension_status is ExtensionStatus.FAILED:
            raise NeevVolumeFailedError(
                f"{self.task_id}: extending volume {volume.id} failed: {describe(volume)}"
            )
        return "extend"

    def _request_extension(self, volume: Volume, target: int, *, last_try: bool) -> bool:
        """Ask for the extension; return whether the API is known to have accepted it."""
        self.log.info("Extending volume %s from %d GB to %d GB", volume.id, volume.capacity_gb, target)
        try:
            self.client.extend_volume(volume.id, target)
        except AmbiguousRequestError as ambiguity:
            if last_try:
                raise
            # The volume itself shows whether it was accepted (resizing, or the new size).
            self.log.warning(
                "The extend request may or may not have been accepted (%s); reading the volume",
                ambiguity.cause,
            )
            return False
        return True
