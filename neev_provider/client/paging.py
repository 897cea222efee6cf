"""Pure helpers over pages and lists of volumes, shared by both clients."""

from __future__ import annotations

from collections.abc import Iterable

from neev_provider.client.errors import DuplicateVolumeNameError
from neev_provider.client.models import Volume


def named(volumes: Iterable[Volume], name: str) -> list[Volume]:
    """Return every volume called ``name``, in the order listed."""
    return [volume for volume in volumes if volume.name == name]


def pick_by_name(volumes: Iterable[Volume], name: str) -> Volume | None:
    """Return the one volume called ``name``, ``None`` if there is none.

    :raises DuplicateVolumeNameError: if there are several: which one a task owns is then
        not knowable, and guessing could adopt or delete somebody else's volume.
    """
    matches = named(volumes, name)
    if len(matches) > 1:
        raise DuplicateVolumeNameError(name, [volume.id for volume in matches])
    return matches[0] if matches else None
