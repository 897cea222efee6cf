"""NeevCreateVolumeOperator: one volume per task instance, whatever fails."""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

from neev_provider._compat import Context
from neev_provider.assets import announce_volume
from neev_provider.client import validation
from neev_provider.client.errors import NeevCloudValidationError, VolumeNotReusableError
from neev_provider.exceptions import NeevVolumeConflictError, result_of
from neev_provider.lineage import NeevVolumeLineageMixin, keep_volume
from neev_provider.links import NeevVolumeLink, persist_volume_link
from neev_provider.operators.base import OWNERSHIP_KEY, NeevVolumeBaseOperator, resume_state, task_entry

# What only a running task needs is imported where it is used: DAG files import this module
# every time they are parsed (see neev_provider.operators.base).
if TYPE_CHECKING:
    from neev_provider.client import CreateVolumeRequest
    from neev_provider.client.models import Volume
    from neev_provider.volumes.create import VolumeEnsurer
    from neev_provider.volumes.records import CreateRecord
    from neev_provider.volumes.wait import WaitOutcome

DEFAULT_SETTLE_WINDOW = 30.0


#: The values of ``if_exists``.
IfExists = Literal["reuse", "fail"]


class NeevCreateVolumeOperator(NeevVolumeLineageMixin, NeevVolumeBaseOperator):
    """Create a network volume, exactly once per task instance, and wait until it is bound.

    The volume is named deterministically from the DAG, task, run and map index unless
    ``name`` is given, and the name is looked up before creating, so a retry adopts the
    volume an earlier try created. The API has no idempotency key and may commit a create
    after the client gave up, so after an ambiguous failure (a timeout, a reset connection, a
    5xx on the POST) the name is looked up again over ``settle_window`` seconds before
    creating again. Volumes bearing the task instance's own default name are all its own:
    duplicates are deleted down to one, its own ``failed`` volume is deleted and created
    anew, and a ``terminated`` one is waited out first.

    ``volume_id`` is pushed to XCom as soon as the volume is known, before any wait or
    refusal, with ``volume_ownership`` (``{"volume_id", "created"}``): whether this task
    instance created the volume or adopted one that existed. The return value is the volume as
    the API describes it (a JSON-safe dict). The provider deletes on its own only a volume this
    task instance provably created (its recorded id, or its own default name): if the volume
    fails or the wait times out and ``delete_on_failure`` is set, it is deleted before failing;
    if the task is killed while it waits (mark failed or success, clear), one bounded attempt
    deletes it: by :meth:`on_kill` in the worker, and on Airflow 3.3+ by the trigger when the
    wait is deferred. An adopted volume is never deleted, and a teardown delete fed from this
    task skips it.

    .. seealso:: :ref:`howto-create-volume`

    :param size_gb: size in GB, 1-1000.
    :param region_id: region, e.g. ``as-south-1``; default: the connection's ``region_id``.
    :param volume_mode: ``filesystem`` (default) or ``block``.
    :param name: the volume's name (a DNS label); default: deterministic per task instance.
    :param mount_path: where AIRuntime instances mount it, e.g. ``/mnt/data``.
    :param attached_to: AIRuntime instances to attach at creation
        (``[{"instance_id", "instance_name", "instance_type"}]``).
    :param if_exists: a volume with the given ``name`` already exists: ``reuse`` it when
        region, mode and size are compatible (default; it is adopted, never deleted by the
        provider), or ``fail``. A volume bearing the task instance's own default name is always
        this task's from an earlier try, and is reused.
    :param reuse_smaller: reuse an existing volume smaller than ``size_gb`` too, for a
        :class:`~neev_provider.operators.extend.NeevExtendVolumeOperator` after this task to grow it
        (what :func:`~neev_provider.operators.scratch.scratch_volume` does with ``extend_to_fit``).
    :param wait_for_completion: wait until the volume is bound (default) or return at once.
    :param delete_on_failure: delete the volume this task created if it fails or the wait times
        out. Errors of the connection, the credentials or the network fail the task and leave the
        volume to the next try.
    :param settle_window: seconds to keep looking for the volume after an ambiguous create
        before creating it again.
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
    operator_extra_links = (NeevVolumeLink(),)
    lineage_change = "CREATE"

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
        reuse_smaller: bool = False,
        wait_for_completion: bool = True,
        delete_on_failure: bool = True,
        settle_window: float = DEFAULT_SETTLE_WINDOW,
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
        self.reuse_smaller = reuse_smaller
        self.wait_for_completion = wait_for_completion
        self.delete_on_failure = delete_on_failure
        self.settle_window = validation.non_negative_number(settle_window, "settle_window")
        # The volume this try created and has not handed on yet: what on_kill deletes; and the
        # name of a volume whose POST is out, whose id is not known yet.
        self._unreturned_volume_id: str | None = None
        self._posting_name: str | None = None

    @task_entry
    def execute(self, context: Context) -> dict[str, Any] | None:
        request = self._request(context)
        keep_volume(self, request.name)
        ensurer = self._ensurer(context, request)
        try:
            ensured = ensurer.ensure()
        except VolumeNotReusableError as error:
            raise NeevVolumeConflictError(f"{self.task_id}: {error}") from error
        if self.mount_path:
            context["ti"].xcom_push(key="mount_path", value=self.mount_path)
        volume = ensured.volume
        if self.name is None and not ensured.owned:
            from neev_provider.deployment import NOT_CONFIGURED

            self.log.warning(
                "Volume %s has this task's name; it is kept whatever happens: %s", volume.id, NOT_CONFIGURED
            )
        if not self.wait_for_completion:
            if ensured.ambiguous:
                ensurer.converge(volume.id)
            self._unreturned_volume_id = None
            return volume.to_dict()
        from neev_provider.volumes.wait import Target

        resume = {"owned": ensured.owned, "ambiguous": ensured.ambiguous, "name": request.name}
        outcome = self.wait(context, volume.id, Target.BOUND, resume=resume, delete_on_kill=ensured.owned)
        return self._announce(context, self._finish(context, outcome, resume), resume)

    @task_entry
    def execute_complete(
        self, context: Context, event: dict[str, Any] | None = None
    ) -> dict[str, Any] | None:
        """Resume after the trigger's event, on the same path as a wait in the worker."""
        from neev_provider.volumes.wait import WaitOutcome

        outcome = WaitOutcome.from_event(event or {})
        resume = resume_state(event)
        keep_volume(self, resume.get("name"))
        return self._announce(context, self._finish(context, outcome, resume), resume)

    def on_kill(self) -> None:
        """Delete the volume this try created and has not handed on, in one bounded attempt.

        Airflow sends SIGKILL a few seconds after SIGTERM, so this makes one try of at most
        ``KILL_CLEANUP_SECONDS`` (3 s) and leaves the rest to the
        next try (which finds its own volume by its default name) or to the reaper. Killed while
        its POST was out, the task does not know the volume's id: under its own default name,
        with ``[neevcloud] deployment_id`` set, it looks the name up once and deletes what bears
        it; otherwise (a name the user gave, or no deployment id) nothing proves a volume found
        so is its own, and it leaves it and says so.
        """
        volume_id, self._unreturned_volume_id = self._unreturned_volume_id, None
        posting, self._posting_name = self._posting_name, None
        if volume_id is None and posting is None:
            return
        if volume_id is None and not self._name_is_proof:
            from neev_provider.deployment import NOT_CONFIGURED

            self.log.warning(
                "Killed while creating volume %s: if the create went through, that volume is left (%s)",
                posting,
                "under a name given to the task, nothing proves it is this task's"
                if self.name
                else NOT_CONFIGURED,
            )
            return
        from neev_provider.volumes.cleanup import KILL_CLEANUP_SECONDS, kill_cleanup

        # A new client: the task's own may be in the middle of a request the kill interrupted.
        with self.hook.new_client(timeout=KILL_CLEANUP_SECONDS, max_retries=0) as client:
            kill_cleanup(client, volume_id=volume_id, own_name=posting, logger=self.log)

    @property
    def _name_is_proof(self) -> bool:
        """Whether a volume found under this task's name is provably its task instance's own."""
        from neev_provider.deployment import deployment_is_configured

        return self.name is None and deployment_is_configured()

    # -- steps -----------------------------------------------------------------------------------

    def _request(self, context: Context) -> CreateVolumeRequest:
        from neev_provider.client import CreateVolumeRequest
        from neev_provider.deployment import task_volume_name
        from neev_provider.volumes.naming import looks_generated

        if self.name and looks_generated(self.name):
            raise NeevCloudValidationError(
                "name",
                self.name,
                "has the form of a name the provider generates for a task instance; such a name "
                "would make a deployment's reaper and retries take the volume for their own: "
                "choose another, or leave name unset",
            )
        # Checks the whole connection too, so every problem is reported in one run.
        region = self.hook.region_for(self.region_id)
        return CreateVolumeRequest(
            size_gb=validation.whole_number(self.size_gb, "size_gb"),
            region_id=region,
            volume_mode=self.volume_mode,
            name=self.name or task_volume_name(context["ti"]),
            mount_path=self.mount_path or None,
            attached_to=tuple(self.attached_to),
        )

    def _ensurer(self, context: Context, request: CreateVolumeRequest) -> VolumeEnsurer:
        from neev_provider.volumes.create import SettlePolicy, VolumeEnsurer

        # on_kill runs in a signal handler, which must not be the first to import what it needs
        # (a kill during that import would find it half-initialised): loaded now, before any POST.
        importlib.import_module("neev_provider.volumes.cleanup")

        def hold(volume: Volume, owned: bool) -> None:
            self._unreturned_volume_id, self._posting_name = (volume.id if owned else None), None
            context["ti"].xcom_push(key="volume_id", value=volume.id)
            context["ti"].xcom_push(key=OWNERSHIP_KEY, value={"volume_id": volume.id, "created": owned})
            persist_volume_link(context, self.hook, volume.id, region_id=volume.region_id, log=self.log)

        def posting(name: str) -> None:
            self._unreturned_volume_id, self._posting_name = None, name

        return VolumeEnsurer(
            self.client,
            request,
            own_name=self._name_is_proof,
            # if_exists is about names the user gave: a retry finds its own default-named volume.
            if_exists=self.if_exists if self.name else "reuse",
            reuse_smaller=self.reuse_smaller,
            policy=SettlePolicy(
                window=self.settle_window,
                initial_delay=min(1.0, self.poll_interval),
                gone_timeout=self.timeout,
                gone_poll=self.poll_interval,
            ),
            on_volume=hold,
            on_posting=posting,
            record=self._record(context),
            logger=self.log,
        )

    def _record(self, context: Context) -> CreateRecord | None:
        """The task instance's durable create record: Airflow 3.3's task state store, if present."""
        from neev_provider.volumes.records import CreateRecord

        store = context.get("task_state_store")
        if store is None:
            return None
        return CreateRecord(store, first_try=context["ti"].try_number == 1, logger=self.log)

    def _announce(
        self, context: Context, volume: dict[str, Any] | None, resume: Mapping[str, Any]
    ) -> dict[str, Any] | None:
        """Announce the ready volume, saying whether this task created it (its resume state's proof)."""
        return announce_volume(self, context, volume, created=bool(resume.get("owned")))

    def _finish(
        self, context: Context, outcome: WaitOutcome, resume: Mapping[str, Any]
    ) -> dict[str, Any] | None:
        # Only the volume's own failure or the deadline condemn it: an error of the connection,
        # the credentials or the network says nothing about the volume, which the next try reuses.
        if outcome.status in ("failed", "timeout") and resume.get("owned") and self.delete_on_failure:
            from neev_provider.volumes.cleanup import DEFAULT_CLEANUP_SECONDS, delete_owned_volume

            why = "it failed" if outcome.status == "failed" else "the wait timed out"
            delete_owned_volume(
                self.client, outcome.volume_id, why=why, timeout=DEFAULT_CLEANUP_SECONDS, logger=self.log
            )
        elif outcome.status == "success" and resume.get("ambiguous"):
            self._converge(context, outcome.volume_id, str(resume.get("name") or ""))
        self._unreturned_volume_id = None
        return result_of(outcome, task=self.task_id)

    def _converge(self, context: Context, volume_id: str, name: str) -> None:
        """Remove a late twin an ambiguous create may have left, now that the wait is over."""
        from neev_provider.deployment import task_volume_name
        from neev_provider.volumes.create import remove_twins
        from neev_provider.volumes.naming import is_legacy_default_name

        name = name or self.name or task_volume_name(context["ti"])
        # A name of the release before deployment ids (resumed across an upgrade) proves nothing.
        own_name = self._name_is_proof and not is_legacy_default_name(name)
        remove_twins(self.client, name, volume_id, own_name=own_name, logger=self.log)
