"""What the volume operators share: the connection, the scope, and waiting (in the worker or deferred)."""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Mapping
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeVar

from neev_provider._compat import BaseOperator, Context, default_deferrable
from neev_provider.client import validation
from neev_provider.exceptions import no_retry_for_bad_input
from neev_provider.hooks import DEFAULT_CONN_ID

# Only what a DAG file needs is imported here: the DAG processor parses files again and again,
# and the client, the trigger and the hook are needed only when a task runs.
if TYPE_CHECKING:
    from neev_provider.client import NeevCloudClient
    from neev_provider.hooks.neevcloud import NeevCloudHook
    from neev_provider.volumes.wait import Target, WaitOutcome

#: XCom key of ``{"volume_id": ..., "created": bool}`` that the create operator pushes: whether
#: this task instance created the volume (``False``: it adopted one that existed). A delete fed
#: from that create reads it, so that a teardown never deletes a volume the setup only adopted.
OWNERSHIP_KEY = "volume_ownership"
DEFAULT_POLL_INTERVAL = 10.0
DEFAULT_TIMEOUT = 30 * 60.0
# The scheduler ends a deferral this long after the trigger's own deadline: a backstop for a
# deployment whose triggerer is down, never the way a wait normally ends.
DEFERRAL_BACKSTOP_GRACE = 5 * 60.0


#: The version of the ``resume`` state a deferring operator sends along with its trigger (its
#: ``format`` key), which comes back in the event. 0, before versions: no ``format``; otherwise the
#: same keys as 1: ``owned``, ``ambiguous`` and ``name`` (create), ``requested`` (extend),
#: ``volume_name`` and ``detach_started`` (delete).
RESUME_FORMAT = 1


def resume_state(event: Mapping[str, Any] | None) -> dict[str, Any]:
    """Return the state a deferring operator sent along with its trigger (the event's ``resume``).

    It may have been sent by an older release (read as this one's), never by a newer one: that
    raises :class:`~neev_provider.volumes.wait.PayloadFormatError`, saying what to do.
    """
    from neev_provider.volumes.wait import check_format, resume_of_format_0

    state = (event or {}).get("resume")
    if not isinstance(state, Mapping):
        return {}
    version = check_format(state.get("format"), "The state this task deferred with", RESUME_FORMAT)
    # Formats 0 and 1 have the same keys; format 0 claimed more ownership than it could prove.
    state = resume_of_format_0(state) if version == 0 else state
    return {key: value for key, value in state.items() if key != "format"}


F = TypeVar("F", bound=Callable[..., Any])

log = logging.getLogger(__name__)


class NeevHookMixin:
    """The ``hook`` of every NeevCloud task, from its ``neev_conn_id``, ``org_id`` and ``project_id``."""

    neev_conn_id: str
    org_id: str | None
    project_id: str | None

    @cached_property
    def hook(self) -> NeevCloudHook:
        """The hook, built on first use (never in ``__init__``: no I/O at DAG parse time)."""
        from neev_provider.hooks.neevcloud import NeevCloudHook

        return NeevCloudHook(self.neev_conn_id, org_id=self.org_id, project_id=self.project_id)

    def _close_client(self) -> None:
        """Close the hook's client if one was built; never hides the task's own outcome."""
        hook = self.__dict__.get("hook")  # a cached_property: present only once built
        if hook is None:
            return
        try:
            hook.close()
        except Exception as error:  # a failed close must not replace the task's result or error
            log.warning("Closing the NeevCloud client failed: %s", error)


def task_entry(method: F) -> F:
    """An operator's ``execute`` or ``execute_complete``: bad input fails without retries, and the
    client it opened is closed when it ends, a deferral included (in a long-lived process, as under
    ``dag.test()``, the operator outlives the call and its sockets would wait for the collector).
    """
    checked = no_retry_for_bad_input(method)

    @functools.wraps(method)
    def wrapper(self: NeevHookMixin, *args: Any, **kwargs: Any) -> Any:
        try:
            return checked(self, *args, **kwargs)
        finally:
            self._close_client()

    return wrapper  # type: ignore[return-value]


class NeevVolumeBaseOperator(NeevHookMixin, BaseOperator):
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
        neev_conn_id: str = DEFAULT_CONN_ID,
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
        resume: dict[str, Any] | None = None,
        started_at: float | None = None,
        timeout: float | None = None,
        delete_on_kill: bool = False,
    ) -> WaitOutcome:
        """Wait for ``target`` here, or defer and resume in ``method_name`` with the outcome's event.

        Deferring does not return: Airflow later calls ``method_name(context, event=...)``, which
        rebuilds the outcome with ``WaitOutcome.from_event``
        and its own state with :func:`resume_state`. The deferral carries a scheduler-side
        ``timeout`` too, so the task ends even if no triggerer runs.

        :param resume: JSON-safe state the resume step needs; it travels in the trigger's event.
        :param timeout: this wait's own limit, instead of the operator's ``timeout``.
        :param delete_on_kill: the trigger deletes the volume if the user kills the task (3.3+).
        """
        from neev_provider.triggers.volume import TRIGGER_FORMAT, NeevVolumeTrigger
        from neev_provider.volumes.wait import VolumeWatch, wait_for_volume

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
                resume={"format": RESUME_FORMAT, **(resume or {})},
                delete_on_kill=delete_on_kill,
                format=TRIGGER_FORMAT,
            )
            backstop = max(0.0, deadline - time.time()) + DEFERRAL_BACKSTOP_GRACE
            self.defer(trigger=trigger, method_name=method_name, timeout=timedelta(seconds=backstop))
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
