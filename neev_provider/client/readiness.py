"""The one answer to "is the volume there yet?", used by every wait in the project.

:func:`evaluate` is pure: the operators' wait loop, the sensor's poke and the trigger's
async loop all hand it what they just read and act on its verdict.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from neev_provider.client.errors import NeevCloudValidationError
from neev_provider.client.models import ExtensionStatus, Volume, VolumeStatus


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


Verdict = Ready | Waiting | Failed


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


def _size_verdict(volume: Volume, min_size_gb: int | None, ready_reason: str) -> Verdict:
    if min_size_gb is None or volume.capacity_gb >= min_size_gb:
        return Ready(volume, ready_reason)
    return Waiting(f"{describe(volume)}; waiting for {min_size_gb} GB")


def _detach_verdict(volume: Volume | None) -> Verdict:
    if volume is None:
        return Ready(None, "the volume is gone")
    mounted = volume.mounted_attachments
    if not mounted:
        return Ready(volume, "no resource has the volume mounted")
    return Waiting("mounted by " + "; ".join(a.describe() for a in mounted))


def evaluate(volume: Volume | None, target: Target, min_size_gb: int | None = None) -> Verdict:
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
