"""NeevVolumeSensor: wait until a volume is bound or extended; fail at once if it fails."""

from __future__ import annotations

import datetime
import time
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

from neev_provider._compat import (
    AirflowSensorTimeout,
    AirflowSkipException,
    BaseSensorOperator,
    Context,
    PokeReturnValue,
    default_deferrable,
)
from neev_provider.client import validation
from neev_provider.client.errors import NeevCloudError, NeevCloudValidationError
from neev_provider.exceptions import result_of
from neev_provider.hooks import DEFAULT_CONN_ID
from neev_provider.links import NeevVolumeLink, persist_volume_link
from neev_provider.operators.base import DEFERRAL_BACKSTOP_GRACE, NeevHookMixin, task_entry

# The wait's rules and the retry policy are imported where a running sensor uses them: DAG files
# import this module on every parse (docs/architecture.rst).

TARGETS = ("bound", "extended")

DEFAULT_SENSOR_TIMEOUT = 30 * 60.0
# BaseSensorOperator's own default.
_DEFAULT_POKE_INTERVAL = 60.0


def _seconds(value: object, field: str, check: Callable[[object, str], float]) -> float:
    """A duration given as seconds or a ``datetime.timedelta``, checked before Airflow sees it.

    Airflow's sensor turns ``inf`` into an ``OverflowError`` and ``nan`` into a bare ``ValueError``.
    """
    return check(value.total_seconds() if isinstance(value, datetime.timedelta) else value, field)


class NeevVolumeSensor(NeevHookMixin, BaseSensorOperator):
    """Wait until a volume is ``bound`` (or ``extended``), in poke, reschedule or deferrable mode.

    A volume that the API reports ``failed`` or ``terminated``, or whose extension failed,
    fails the sensor at once with the API's own words, instead of waiting out the timeout.
    Transient API errors (network failures, 429, and 500, 502, 503, 504) are waited through.
    The sensor's XCom value is the volume as the API describes it.

    .. seealso:: :ref:`howto-volume-sensor`

    :param volume_id: the volume to watch.
    :param target: ``bound`` (default) or ``extended``.
    :param min_size_gb: also wait until the provisioned size reaches this.
    :param deferrable: wait in the triggerer (default: ``[operators] default_deferrable``).
    :param timeout: seconds to wait in all (default 1800, shorter than Airflow's week-long
        sensor default: a volume that takes longer is not coming; at most 30 days). In every
        mode, the timeout's message names the volume and the state it was last seen in.
    :param poke_interval: seconds between pokes (0.01 to 3600; Airflow's default 60).
    """

    template_fields: Sequence[str] = ("volume_id", "min_size_gb", "org_id", "project_id", "neev_conn_id")
    ui_color = "#fff4d6"
    operator_extra_links = (NeevVolumeLink(),)

    def __init__(
        self,
        *,
        volume_id: str,
        target: str = "bound",
        min_size_gb: int | str | None = None,
        neev_conn_id: str = DEFAULT_CONN_ID,
        org_id: str | None = None,
        project_id: str | None = None,
        deferrable: bool | None = None,
        timeout: float | datetime.timedelta | None = DEFAULT_SENSOR_TIMEOUT,
        **kwargs: Any,
    ) -> None:
        interval = kwargs.pop("poke_interval", _DEFAULT_POKE_INTERVAL)
        super().__init__(
            # None: Airflow's [sensors] default_timeout, as for any sensor.
            timeout=None if timeout is None else _seconds(timeout, "timeout", validation.positive_number),
            poke_interval=_seconds(interval, "poke_interval", validation.poll_interval),
            **kwargs,
        )
        if target not in TARGETS:
            raise NeevCloudValidationError("target", target, "must be bound or extended")
        self.target = target
        self.volume_id = volume_id
        self.min_size_gb = min_size_gb
        self.neev_conn_id = neev_conn_id
        self.org_id = org_id
        self.project_id = project_id
        self.deferrable = default_deferrable() if deferrable is None else deferrable
        self._last_seen: str | None = None

    def _min_size(self) -> int | None:
        if self.min_size_gb is None or self.min_size_gb == "":
            return None
        return validation.size_gb(validation.whole_number(self.min_size_gb, "min_size_gb"), "min_size_gb")

    def _scope(self) -> str | None:
        """The organisation and project the volume is looked for in, for messages."""
        try:
            return self.hook.get_config().scope().describe()
        except NeevCloudError:  # the connection's own problems are not this message's subject
            return None

    def poke(self, context: Context) -> PokeReturnValue:
        from neev_provider.client.retry import is_transient
        from neev_provider.volumes.wait import Failed, Ready, Target, WaitOutcome, evaluate

        volume_id = validation.volume_id(self.volume_id)
        min_size = self._min_size()
        try:
            volume = self.hook.client.find_volume(volume_id)
        except NeevCloudError as error:
            if not is_transient(error):
                raise
            self._last_seen = f"the last read failed: {error}"
            self.log.warning("Reading volume %s failed (%s); trying again at the next poke", volume_id, error)
            return PokeReturnValue(is_done=False)
        verdict = evaluate(volume, Target(self.target), min_size)
        if isinstance(verdict, Ready):
            self.log.info("Volume %s: %s", volume_id, verdict.reason)
            return PokeReturnValue(is_done=True, xcom_value=volume.to_dict() if volume else None)
        if isinstance(verdict, Failed):
            outcome = WaitOutcome("failed", volume_id, verdict.reason, volume.to_dict() if volume else None)
            result_of(outcome, task=self.task_id, scope=self._scope())
        self._last_seen = verdict.reason
        self.log.info("Volume %s: %s (waiting for %s)", volume_id, verdict.reason, self.target)
        return PokeReturnValue(is_done=False)

    def _timeout_message(self, message: str | None = None) -> str:
        """Name the task, the volume, what it was last seen in, and the way out, as the operators do."""
        if message is None:
            from neev_provider.volumes.wait import timeout_message

            message = timeout_message(self.target, float(self.timeout), self._last_seen or "nothing read yet")
        return f"{self.task_id}: volume {self.volume_id}: {message}. Raise `timeout` if the API is just slow."

    def _poke_until_done(self, context: Context) -> Any:
        """Airflow's poke loop, with a timeout that names the volume and its last state."""
        try:
            return super().execute(context)
        except AirflowSensorTimeout as error:
            raise AirflowSensorTimeout(self._timeout_message()) from error
        except AirflowSkipException as error:
            # With soft_fail, Airflow skips on a timeout; our pokes never skip.
            if self.soft_fail and "timed out" in str(error):
                raise AirflowSkipException(self._timeout_message()) from error
            raise

    @task_entry
    def execute(self, context: Context) -> Any:
        persist_volume_link(context, self.hook, self.volume_id, log=self.log)
        if not self.deferrable:
            return self._poke_until_done(context)
        # One look first: a volume that is already there needs no trip through the triggerer.
        first = self.poke(context)
        if first.is_done:
            return first.xcom_value
        from neev_provider.triggers.volume import TRIGGER_FORMAT, NeevVolumeTrigger

        started = time.time()
        trigger = NeevVolumeTrigger(
            volume_id=validation.volume_id(self.volume_id),
            target=self.target,
            deadline=started + float(self.timeout),
            neev_conn_id=self.neev_conn_id,
            org_id=self.org_id,
            project_id=self.project_id,
            min_size_gb=self._min_size(),
            poll_interval=float(self.poke_interval),
            started_at=started,
            format=TRIGGER_FORMAT,
        )
        backstop = timedelta(seconds=float(self.timeout) + DEFERRAL_BACKSTOP_GRACE)
        self.defer(trigger=trigger, method_name="execute_complete", timeout=backstop)

    @task_entry
    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> Any:
        """Resume after the trigger's event, through the same path as the operators."""
        from neev_provider.volumes.wait import WaitOutcome

        outcome = WaitOutcome.from_event(event or {})
        if outcome.status == "timeout":
            message = self._timeout_message(outcome.message)
            if self.soft_fail:
                raise AirflowSkipException(message)
            raise AirflowSensorTimeout(message)
        return result_of(
            outcome, task=self.task_id, scope=self._scope() if outcome.status == "failed" else None
        )
