"""NeevCreateVolumeOperator: one volume per task instance, whatever fails."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from neev_provider._compat import Context
from neev_provider.client import validation
from neev_provider.client.endpoints import CreateVolumeRequest
from neev_provider.client.errors import AmbiguousRequestError, NeevCloudError, NeevCloudValidationError
from neev_provider.client.models import Volume
from neev_provider.client.readiness import Target
from neev_provider.client.waiting import WaitOutcome
from neev_provider.exceptions import NeevVolumeConflictError, result_of
from neev_provider.operators.base import NeevVolumeBaseOperator
from neev_provider.operators.naming import default_volume_name

# What to do when a volume with the given name exists.
IfExists = Literal["reuse", "fail"]
# A create whose outcome stays unknown is looked up this many times before giving up.
_MAX_AMBIGUOUS_CREATES = 3


def adoption_problems(volume: Volume, request: CreateVolumeRequest) -> list[str]:
    """List how an existing volume differs from what was asked, in ways that forbid reusing it."""
    problems = []
    if volume.region_id != request.region_id:
        problems.append(f"regionID is {volume.region_id!r}, not {request.region_id!r}")
    if volume.volume_mode != request.volume_mode:
        problems.append(f"volumeMode is {volume.volume_mode!r}, not {request.volume_mode!r}")
    if volume.capacity_gb < request.size_gb:
        problems.append(f"sizeGB is {volume.capacity_gb}, smaller than the {request.size_gb} asked for")
    if volume.status.is_failure:
        problems.append(f"status is {volume.status.value}")
    return problems


class NeevCreateVolumeOperator(NeevVolumeBaseOperator):
    """Create a network volume, exactly once per task instance, and wait until it is bound.

    The volume is named deterministically from the DAG, task, run and map index unless
    ``name`` is given; the name is looked up before creating, so a retry adopts the volume an
    earlier try created. After an ambiguous failure (a timeout, a reset connection, a 5xx
    on the POST) the name is looked up instead of POSTing twice.

    ``volume_id`` is pushed to XCom as soon as the volume exists; the return value is the
    volume as the API describes it (a JSON-safe dict). If the wait fails and
    ``delete_on_failure`` is set, the volume this task created is deleted before failing.

    .. seealso:: :ref:`howto-create-volume`

    :param size_gb: size in GB, 1-1000.
    :param region_id: region, e.g. ``as-south-1``; default: the connection's ``region_id``.
    :param volume_mode: ``filesystem`` (default) or ``block``.
    :param name: the volume's name (a DNS label); default: deterministic per task instance.
    :param mount_path: where AIRuntime instances mount it, e.g. ``/mnt/data``.
    :param attached_to: AIRuntime instances to attach at creation
        (``[{"instance_id", "instance_name", "instance_type"}]``).
    :param if_exists: a volume with the given ``name`` already exists: ``reuse`` it when
        region, mode and size are compatible, or ``fail``. A volume bearing the task
        instance's own default name is always this task's from an earlier try, and is reused.
    :param wait_for_completion: wait until the volume is bound (default) or return at once.
    :param delete_on_failure: delete the volume this task created if the wait fails.
    """

    template_fields: Sequence[str] = (
        "name",
        "size_gb",
        "region_id",
        "volume_mode",
        "mount_path",
        "org_id",
        "project_id",
        "neev_conn_id",
    )
    ui_color = "#d8f0e4"

    def __init__(
        self,
        *,
        size_gb: int | str,
        region_id: str | None = None,
        volume_mode: str = "filesystem",
        name: str | None = None,
        mount_path: str | None = None,
        attached_to: Sequence[Mapping[str, str]] | None = None,
        if_exists: IfExists = "reuse",
        wait_for_completion: bool = True,
        delete_on_failure: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if if_exists not in ("reuse", "fail"):
            raise NeevCloudValidationError("if_exists", if_exists, "must be 'reuse' or 'fail'")
        self.size_gb = size_gb
        self.region_id = region_id
        self.volume_mode = volume_mode
        self.name = name
        self.mount_path = mount_path
        self.attached_to = list(attached_to or [])
        self.if_exists = if_exists
        self.wait_for_completion = wait_for_completion
        self.delete_on_failure = delete_on_failure

    def execute(self, context: Context) -> dict[str, Any] | None:
        request = self._request(context)
        volume, owned = self._ensure_volume(request, default_name=self.name is None)
        context["ti"].xcom_push(key="volume_id", value=volume.id)
        if self.mount_path:
            context["ti"].xcom_push(key="mount_path", value=self.mount_path)
        if not self.wait_for_completion:
            return volume.to_dict()
        outcome = self.wait(context, volume.id, Target.BOUND, resume_kwargs={"owned": owned})
        return self._finish(outcome, owned)

    def execute_complete(
        self, context: Context, event: dict[str, Any] | None = None, owned: bool = False
    ) -> dict[str, Any] | None:
        """Resume after the trigger's event, on the same path as a wait in the worker."""
        return self._finish(WaitOutcome.from_event(event or {}), owned)

    def _request(self, context: Context) -> CreateVolumeRequest:
        # Checks the whole connection too, so every problem is reported in one run.
        region = self.hook.region_for(self.region_id)
        ti = context["ti"]
        map_index = -1 if ti.map_index is None else ti.map_index
        name = self.name or default_volume_name(ti.dag_id, ti.task_id, ti.run_id, map_index)
        return CreateVolumeRequest(
            size_gb=validation.whole_number(self.size_gb, "size_gb"),
            region_id=region,
            volume_mode=self.volume_mode,
            name=name,
            mount_path=self.mount_path or None,
            attached_to=tuple(self.attached_to),
        )

    def _ensure_volume(self, request: CreateVolumeRequest, *, default_name: bool) -> tuple[Volume, bool]:
        """Return the task's volume, adopted or created, and whether this task owns it."""
        assert request.name is not None
        existing = self.client.find_volume_by_name(request.name)
        if existing is None:
            return self._create(request), True
        if self.if_exists == "fail" and not default_name:
            raise NeevVolumeConflictError(
                f"a volume named {request.name!r} already exists ({existing.id}) and if_exists='fail'; "
                "delete it, choose another name, or set if_exists='reuse'"
            )
        problems = adoption_problems(existing, request)
        if problems:
            raise NeevVolumeConflictError(
                f"a volume named {request.name!r} already exists ({existing.id}) but cannot be reused: "
                + "; ".join(problems)
                + ". Delete it or choose another name."
            )
        self.log.info("Reusing volume %s (%s), created earlier with the same name", existing.id, request.name)
        return existing, default_name

    def _create(self, request: CreateVolumeRequest) -> Volume:
        assert request.name is not None
        attempt = 1
        while True:
            try:
                volume = self.client.create_volume(request)
            except AmbiguousRequestError as ambiguity:
                self.log.warning(
                    "Create may or may not have happened (%s); looking the name up", ambiguity.cause
                )
                found = self.client.find_volume_by_name(request.name)
                if found is not None:
                    self.log.info("The create did happen: volume %s", found.id)
                    return found
                if attempt == _MAX_AMBIGUOUS_CREATES:
                    raise
                attempt += 1
                continue
            self.log.info(
                "Created volume %s (%s, %d GB in %s)",
                volume.id,
                volume.name,
                volume.size_gb,
                volume.region_id,
            )
            return volume

    def _finish(self, outcome: WaitOutcome, owned: bool) -> dict[str, Any] | None:
        if outcome.status != "success" and owned and self.delete_on_failure:
            self._delete_quietly(outcome.volume_id)
        return result_of(outcome, task=self.task_id)

    def _delete_quietly(self, volume_id: str) -> None:
        """Delete the half-created volume; never let a cleanup error hide the original one."""
        try:
            self.client.delete_volume(volume_id)
            self.log.info("Deleted volume %s, which this task created, since the wait failed", volume_id)
        except NeevCloudError as error:
            self.log.error(
                "Could not delete volume %s after the failure (%s); delete it by hand to stop its cost",
                volume_id,
                error,
            )
