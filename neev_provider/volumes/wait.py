"""Waiting for a volume to reach a target: the one answer to "is it there yet?", and one wait's state.

:func:`evaluate` is pure: the operators' wait loop, the sensor's poke and the trigger's async
loop all hand it what they just read and act on its verdict. :class:`VolumeWatch` holds one
wait's state and decides, from each read, whether to stop; it does no I/O.
:func:`wait_for_volume` only fetches and sleeps (in a worker); the trigger drives the same
watch from the triggerer's loop. So every wait behaves alike: it ends at once on a failure the
API reports, keeps going through transient errors, and stops at an absolute deadline.
"""

from __future__ import annotations

import enum
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

from neev_provider.client import validation
from neev_provider.client.errors import NeevCloudError, NeevCloudValidationError
from neev_provider.client.models import ExtensionStatus, Volume, VolumeStatus
from neev_provider.client.retry import call_deadline, is_transient

if TYPE_CHECKING:
    from neev_provider.client import NeevCloudClient

log = logging.getLogger(__name__)


class Logger(Protocol):
    """What waits and the other volume policies log with: a stdlib logger, or Airflow's."""

    def info(self, msg: str, /, *args: Any) -> Any: ...

    def warning(self, msg: str, /, *args: Any) -> Any: ...


class Target(str, enum.Enum):
    """What a wait is waiting for."""

    BOUND = "bound"  # created and ready to mount
    EXTENDED = "extended"  # the latest extension succeeded
    DETACHED = "detached"  # no resource has it mounted any more (so it can be deleted)
    DELETED = "deleted"  # gone: the API answers 404

    @classmethod
    def parse(cls, value: object) -> Target:
        """Return the target named ``value``, with a clear error for anything else."""
        try:
            return cls(value)
        except ValueError:
            names = ", ".join(t.value for t in cls)
            raise NeevCloudValidationError("target", value, f"must be one of {names}") from None


@dataclass(frozen=True)
class Ready:
    """The wait is over: the volume (``None`` once deleted) is as wanted."""

    volume: Volume | None
    reason: str


@dataclass(frozen=True)
class Waiting:
    """Not yet; ``reason`` says what the volume is doing."""

    reason: str


@dataclass(frozen=True)
class Failed:
    """It will never get there; ``reason`` quotes what the API reported."""

    reason: str


#: What :func:`evaluate` says of one read.
WaitState = Ready | Waiting | Failed


def _size(volume: Volume) -> str:
    if volume.actual_size_gb is not None and volume.actual_size_gb != volume.size_gb:
        return f"{volume.actual_size_gb} GB provisioned of {volume.size_gb} GB"
    return f"{volume.size_gb} GB"


def _word(value: object) -> str:
    # The API's own word, quoted as sent, but never a page long whatever the server sends.
    text = str(value)
    return text if len(text) <= 40 else text[:39] + "…"


def describe(volume: Volume | None) -> str:
    """Return a one-line account of the volume's state, e.g. ``status=bound, 10 GB``."""
    if volume is None:
        return "not found"
    text = f"status={_word(volume.raw.get('status', volume.status.value))}"
    if volume.extension_status is not None:
        text += f", extension_status={_word(volume.raw.get('extension_status'))}"
    return f"{text}, {_size(volume)}"


def _size_verdict(volume: Volume, min_size_gb: int | None, ready_reason: str) -> WaitState:
    if min_size_gb is None or volume.capacity_gb >= min_size_gb:
        return Ready(volume, ready_reason)
    return Waiting(f"{describe(volume)}; waiting for {min_size_gb} GB")


def _detach_verdict(volume: Volume | None) -> WaitState:
    if volume is None:
        return Ready(None, "the volume is gone")
    mounted = volume.mounted_attachments
    if not mounted:
        return Ready(volume, "no resource has the volume mounted")
    return Waiting("mounted by " + "; ".join(a.describe() for a in mounted))


def evaluate(volume: Volume | None, target: Target, min_size_gb: int | None = None) -> WaitState:
    """Decide whether a wait for ``target`` is over, must go on, or can never succeed.

    :param volume: what the API just returned, or ``None`` if it answered 404.
    :param min_size_gb: also wait until the provisioned size reaches this.
    """
    if target is Target.DELETED:
        return Ready(None, "the volume is gone") if volume is None else Waiting(describe(volume))
    if target is Target.DETACHED:
        return _detach_verdict(volume)
    if volume is None:
        return Failed("the volume was not found (the API answers 404 for it)")
    if volume.status.is_failure:
        return Failed(f"the API reports the volume as {describe(volume)}")
    if target is Target.BOUND:
        if volume.status is not VolumeStatus.BOUND:
            return Waiting(describe(volume))
        return _size_verdict(volume, min_size_gb, f"the volume is bound ({_size(volume)})")
    if volume.extension_status is ExtensionStatus.FAILED:
        return Failed(f"the API reports the extension as failed: {describe(volume)}")
    if volume.extension_status is ExtensionStatus.SUCCEEDED and volume.status is VolumeStatus.BOUND:
        return _size_verdict(volume, min_size_gb, f"the extension succeeded ({_size(volume)})")
    if volume.extension_status is None and volume.status is VolumeStatus.BOUND and min_size_gb is not None:
        # Never extended, yet possibly large enough already.
        return _size_verdict(volume, min_size_gb, f"the volume is bound ({_size(volume)})")
    return Waiting(describe(volume))


OutcomeStatus = Literal["success", "failed", "timeout", "error"]

# Even without a change, say something this often, so a long wait never looks hung.
HEARTBEAT_SECONDS = 60.0


class PayloadFormatError(NeevCloudError, TypeError):
    """A persisted payload has a format this release cannot read: a newer release wrote it.

    A ``TypeError`` too: Airflow's triggerer fails the task, with this message in its log, when
    rebuilding a trigger raises one (what an older trigger raises for an argument it does not
    know); it does not handle other errors there.
    """


def check_format(version: object, what: str, known: int) -> int:
    """Return a payload's format version; raise :class:`PayloadFormatError` if this release cannot read it.

    A payload without one (``None``) is of the release before versions: format 0. Each persisted
    format keeps its own number and its own reader (docs: "Upgrades and compatibility"); this only
    checks the number.

    :param what: the payload, for the message, e.g. ``the trigger's event``.
    :param known: the newest version this release reads.
    """
    if version is None:
        return 0
    number = version if isinstance(version, int) and not isinstance(version, bool) else -1
    if 0 <= number <= known:
        return number
    if number > known:
        why = "a newer release wrote it. Finish the upgrade, so that every worker and triggerer runs "
        why += "that release (or roll all of them back), then clear the task"
    else:
        why = "it is not a format version. Clear the task"
    raise PayloadFormatError(
        f"{what} has format {version!r}, which this release of airflow-provider-neevcloud cannot read "
        f"(it reads formats 0 to {known}): {why}; a new try starts afresh"
    )


def resume_of_format_0(state: Mapping[str, Any]) -> dict[str, Any]:
    """Read a format-0 resume state (a create's ``owned``, ``ambiguous`` and ``name``) as this release's.

    Format 0 took a volume found by its name for the task's own: after an ambiguous create, and
    under its default name after a plain lookup too. Neither proves anything: a name the user
    gave may be another run's, and a default name of that release (a *legacy* one) carries no
    deployment, so another installation running the same DAG makes the same one. What is left
    as owned is a volume whose id the POST answered, under a name the user gave: nothing else
    is deleted on its own.
    """
    from neev_provider.volumes.naming import is_legacy_default_name

    upgraded = dict(state)
    if upgraded.get("ambiguous") or is_legacy_default_name(str(upgraded.get("name") or "")):
        upgraded["owned"] = False
    return upgraded


#: The version of the event payload :meth:`WaitOutcome.to_event` writes (its ``format`` key).
#: 0, before versions: no ``format``, no ``retryable`` (every ``error`` could be retried).
EVENT_FORMAT = 1


@dataclass(frozen=True)
class WaitOutcome:
    """How a wait ended. Round-trips through a JSON-safe dict (a trigger event's payload).

    :param retryable: for an ``error``, whether another try may succeed (``False`` for a
        connection whose settings break a rule: no retry mends it).
    """

    status: OutcomeStatus
    volume_id: str
    message: str
    volume: Mapping[str, Any] | None = field(default=None, compare=False)
    retryable: bool = True

    def to_event(self) -> dict[str, Any]:
        """Return the outcome as a JSON-safe dict."""
        event: dict[str, Any] = {
            "format": EVENT_FORMAT,
            "status": self.status,
            "volume_id": self.volume_id,
            "message": self.message,
        }
        if self.volume is not None:
            event["volume"] = dict(self.volume)
        if not self.retryable:
            event["retryable"] = False
        return event

    @classmethod
    def from_event(cls, event: Mapping[str, Any]) -> WaitOutcome:
        """Rebuild an outcome from :meth:`to_event`'s dict, of this format or an older one.

        An event of a newer format becomes an ``error`` outcome that says so.
        """
        volume_id = str(event.get("volume_id", ""))
        try:
            check_format(event.get("format"), "the trigger's event", EVENT_FORMAT)
        except PayloadFormatError as error:
            return cls("error", volume_id, str(error))
        status = event.get("status")
        if status not in ("success", "failed", "timeout", "error"):
            return cls("error", volume_id, f"unexpected event from the trigger: {event!r}")
        # Formats 0 and 1 have the same keys, but 0 has no ``retryable``: its errors all were.
        return cls(
            status,
            volume_id,
            str(event.get("message", "")),
            event.get("volume"),
            retryable=event.get("retryable") is not False,
        )


def timeout_message(target: str, waited: float, last_state: str) -> str:
    """The one wording of a wait's timeout, in every mode: the target, the time, the last state."""
    return f"the volume was not {target} after {waited:.0f} s; last seen: {last_state}"


class VolumeWatch:
    """The state of one wait; feed it each read, it says when to stop.

    :param deadline: when to give up, in seconds since the epoch (absolute, so it survives
        a triggerer restart or a deferral).
    :param started_at: when the wait began, for the "elapsed" in progress messages.
    """

    def __init__(
        self,
        volume_id: str,
        target: Target,
        *,
        deadline: float,
        poll_interval: float,
        min_size_gb: int | None = None,
        started_at: float | None = None,
        clock: Callable[[], float] = time.time,
        logger: Logger = log,
    ) -> None:
        self.volume_id = volume_id
        self.target = target
        # NaN would pass every comparison below: a busy loop, or a wait over at once.
        self.deadline = validation.number(deadline, "deadline", low=0, high=float("1e11"))
        self.poll_interval = validation.poll_interval(poll_interval)
        self.min_size_gb = min_size_gb
        self.clock = clock
        self.started_at = clock() if started_at is None else started_at
        self.log = logger
        self._last_state: str | None = None
        self._last_report = float("-inf")

    def observe(self, volume: Volume | None) -> WaitOutcome | None:
        """Take one read (``None`` for a 404); return the outcome if the wait is over."""
        verdict = evaluate(volume, self.target, self.min_size_gb)
        if isinstance(verdict, Ready):
            self._report(describe(volume), force=True)
            payload = verdict.volume.to_dict() if verdict.volume is not None else None
            return WaitOutcome("success", self.volume_id, verdict.reason, payload)
        if isinstance(verdict, Failed):
            return WaitOutcome(
                "failed", self.volume_id, verdict.reason, volume.to_dict() if volume is not None else None
            )
        self._report(verdict.reason)
        return self._timeout_if_due(verdict.reason)

    def observe_error(self, error: NeevCloudError) -> WaitOutcome | None:
        """Take a failed read: transient errors are waited through, others end the wait."""
        if not is_transient(error):
            return WaitOutcome("error", self.volume_id, f"reading the volume failed: {error}")
        self.log.warning(
            "Volume %s: reading it failed (%s); trying again at the next poll", self.volume_id, error
        )
        return self._timeout_if_due(f"the last read failed: {error}")

    def timeout_if_due(self) -> WaitOutcome | None:
        """Return the timeout outcome if the deadline has passed (with no read to make first)."""
        return self._timeout_if_due(self._last_state or "nothing read yet")

    def next_delay(self) -> float:
        """Return how long to sleep before the next read."""
        return max(0.0, min(self.poll_interval, self.deadline - self.clock()))

    def _timeout_if_due(self, last_state: str) -> WaitOutcome | None:
        if self.clock() < self.deadline:
            return None
        waited = self.clock() - self.started_at
        return WaitOutcome("timeout", self.volume_id, timeout_message(self.target.value, waited, last_state))

    def _report(self, state: str, *, force: bool = False) -> None:
        now = self.clock()
        if not force and state == self._last_state and now - self._last_report < HEARTBEAT_SECONDS:
            return
        self._last_state, self._last_report = state, now
        self.log.info(
            "Volume %s: %s (waiting for %s; %.0f s elapsed, %.0f s left)",
            self.volume_id,
            state,
            self.target.value,
            now - self.started_at,
            max(0.0, self.deadline - now),
        )


def _read(client: NeevCloudClient, watch: VolumeWatch, **scope: str | None) -> WaitOutcome | None:
    try:
        # A read never holds the wait past its deadline by more than one request timeout.
        with call_deadline(watch.deadline):
            return watch.observe(client.find_volume(watch.volume_id, **scope))
    except NeevCloudError as error:
        return watch.observe_error(error)


def wait_for_volume(
    client: NeevCloudClient,
    watch: VolumeWatch,
    *,
    sleep: Callable[[float], None] = time.sleep,
    org_id: str | None = None,
    project_id: str | None = None,
) -> WaitOutcome:
    """Poll until ``watch`` says the wait is over; return how it ended."""
    while True:
        outcome = _read(client, watch, org_id=org_id, project_id=project_id)
        if outcome is not None:
            return outcome
        sleep(watch.next_delay())
