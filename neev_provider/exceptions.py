"""What operators and the sensor raise, and the one place a finished wait becomes a result.

::

    AirflowException
    └── NeevVolumeError
        ├── NeevVolumeFailedError     the API reports the volume (or its extension) failed
        ├── NeevVolumeTimeoutError    the deadline passed first
        ├── NeevVolumeConflictError   a same-name volume exists that cannot be adopted
        └── NeevVolumeInUseError      delete gave up waiting for attachments to go away
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from neev_provider._compat import AirflowException, AirflowFailException
from neev_provider.client.errors import NeevCloudValidationError

if TYPE_CHECKING:
    from neev_provider.volumes.wait import WaitOutcome


F = TypeVar("F", bound=Callable[..., Any])


def no_retry_for_bad_input(method: F) -> F:
    """Fail the task without retries when its input or connection breaks a rule.

    A retry cannot mend a wrong argument or connection (``AirflowFailException`` is Airflow's way
    to say so); the message is the rule's, naming the field and the value.
    """

    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except NeevCloudValidationError as error:
            raise AirflowFailException(f"{self.task_id}: {error}") from error

    return wrapper  # type: ignore[return-value]


class NeevVolumeError(AirflowException):
    """Base class of the provider's task failures."""


class NeevVolumeFailedError(NeevVolumeError):
    """Raised when the API reports the volume or its extension as failed."""


class NeevVolumeTimeoutError(NeevVolumeError):
    """Raised when a wait reached its deadline."""


class NeevVolumeConflictError(NeevVolumeError):
    """Raised when a volume with the wanted name exists but differs from what was asked."""


class NeevVolumeInUseError(NeevVolumeError):
    """Raised when a volume stayed attached past the detach timeout."""


def failure_advice(volume: Mapping[str, Any] | None, scope: str | None = None) -> str:
    """Say what to do about a failed wait, from what the API last reported of the volume.

    Capacity and quota are named only where the API reports a provisioning failure (the
    volume, or its extension, ``failed``): a volume that is not found, or was terminated,
    needs other advice.

    :param volume: the volume as last read, or ``None`` when the API answered 404.
    :param scope: the organisation and project looked in, e.g. ``org 'org-a', project 'prj-b'``.
    """
    if volume is None:
        where = scope or "the org_id and project_id of the task or connection"
        return (
            f"The API does not know this volume in {where}: check the volume id and the scope "
            "(org_id, project_id); if the id is right, the volume was deleted."
        )
    if str(volume.get("status", "")).lower() == "terminated":
        return "The volume was deleted (terminated); create a new one."
    if str(volume.get("extension_status", "")).lower() == "failed":
        return "Check the region's capacity and quota, then run the extension again."
    return "Check the region's capacity and quota, then retry."


def result_of(outcome: WaitOutcome, *, task: str, scope: str | None = None) -> dict[str, Any] | None:
    """Return the volume a successful wait ended with, or raise what its failure means.

    Operators and the sensor call this both after a wait in the worker and when resuming
    from the trigger's event, so both paths end the same way.

    :param task: the waiting task's id, for the messages.
    :param scope: the organisation and project the volume was looked for in, for advice on a 404.
    """
    if outcome.status == "success":
        return dict(outcome.volume) if outcome.volume is not None else None
    where = f"{task}: volume {outcome.volume_id}"
    if outcome.status == "failed":
        raise NeevVolumeFailedError(f"{where}: {outcome.message}. {failure_advice(outcome.volume, scope)}")
    if outcome.status == "timeout":
        raise NeevVolumeTimeoutError(f"{where}: {outcome.message}. Raise `timeout` if the API is just slow.")
    if not outcome.retryable:
        raise AirflowFailException(f"{where}: {outcome.message}")
    raise NeevVolumeError(f"{where}: {outcome.message}")
