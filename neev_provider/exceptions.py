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

from typing import TYPE_CHECKING, Any

from neev_provider._compat import AirflowException

if TYPE_CHECKING:
    from neev_provider.client.waiting import WaitOutcome


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


def result_of(outcome: WaitOutcome, *, task: str) -> dict[str, Any] | None:
    """Return the volume a successful wait ended with, or raise what its failure means.

    Operators and the sensor call this both after a wait in the worker and when resuming
    from the trigger's event, so both paths end the same way.

    :param task: the waiting task's id, for the messages.
    """
    if outcome.status == "success":
        return dict(outcome.volume) if outcome.volume is not None else None
    where = f"{task}: volume {outcome.volume_id}"
    if outcome.status == "failed":
        raise NeevVolumeFailedError(
            f"{where}: {outcome.message}. Check the region's capacity and quota, then retry."
        )
    if outcome.status == "timeout":
        raise NeevVolumeTimeoutError(f"{where}: {outcome.message}. Raise `timeout` if the API is just slow.")
    raise NeevVolumeError(f"{where}: {outcome.message}")
