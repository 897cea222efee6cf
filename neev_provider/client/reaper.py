"""Find, and optionally delete, volumes this provider created that nothing owns any more.

The create operator names volumes in a recognisable form (see
:func:`~neev_provider.client.naming.is_default_name`); a volume in that form outlives its task
only when everything else failed (a killed worker with no ``on_kill``, a cleanup the API refused
until the retries ran out). The reaper is the last line: it lists the project, and a volume is an
orphan when

- its name has this provider's default-name form (a name a person chose is never touched),
- it is older than ``max_age`` (a lease: choose it longer than any DAG run that uses a volume),
- no resource has it mounted, and it is not ``pending`` or resizing (something is working on it),
- it is not ``terminated`` already, and not listed in ``protected``.

Every volume in the default-name form gets a verdict with a reason, so a dry run shows exactly
what a real run would delete and why the others are kept.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Literal

from neev_provider.client.errors import NeevCloudError, NotFoundError
from neev_provider.client.logs import Logger
from neev_provider.client.models import ExtensionStatus, Volume, VolumeStatus
from neev_provider.client.naming import is_default_name

if TYPE_CHECKING:
    from neev_provider.client.sync import NeevCloudClient

log = logging.getLogger(__name__)

Action = Literal["delete", "keep"]


@dataclass(frozen=True)
class Verdict:
    """What the reaper decided about one volume in the default-name form, and why."""

    volume: Volume
    action: Action
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """Return the verdict as a JSON-safe dict (what the reap operator returns)."""
        return {
            "id": self.volume.id,
            "name": self.volume.name,
            "status": self.volume.status.value,
            "created_at": self.volume.created_at.isoformat() if self.volume.created_at else None,
            "action": self.action,
            "reason": self.reason,
        }


@dataclass
class ReapReport:
    """The verdicts of one run, and what happened to the volumes it meant to delete."""

    verdicts: list[Verdict]
    dry_run: bool
    deleted: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)

    @property
    def orphans(self) -> list[Verdict]:
        """The verdicts that say ``delete``."""
        return [v for v in self.verdicts if v.action == "delete"]


def _age(volume: Volume, now: datetime) -> timedelta | None:
    created = volume.created_at
    if created is None:
        return None
    if created.tzinfo is None:
        created = created.replace(tzinfo=timezone.utc)
    return now - created


def _busy(volume: Volume) -> str | None:
    mounted = volume.mounted_attachments
    if mounted:
        return "mounted by " + "; ".join(a.describe() for a in mounted)
    if volume.status is VolumeStatus.PENDING:
        return "still pending: a create may be waiting for it"
    if volume.extension_status is ExtensionStatus.RESIZING:
        return "being resized"
    return None


def judge(volume: Volume, *, now: datetime, max_age: timedelta, protected: Collection[str] = ()) -> Verdict:
    """Decide whether one volume in the default-name form is an orphan."""
    if volume.id in protected or volume.name in protected:
        return Verdict(volume, "keep", "protected")
    if volume.status is VolumeStatus.TERMINATED:
        return Verdict(volume, "keep", "already terminated: being deleted")
    busy = _busy(volume)
    if busy is not None:
        return Verdict(volume, "keep", busy)
    age = _age(volume, now)
    if age is None:
        return Verdict(volume, "keep", "its creation time is unknown")
    if age < max_age:
        return Verdict(volume, "keep", f"created {_span(age)} ago, younger than max_age {_span(max_age)}")
    return Verdict(
        volume,
        "delete",
        f"created {_span(age)} ago (max_age {_span(max_age)}), status {volume.status.value}, not attached",
    )


def judge_all(
    volumes: Iterable[Volume],
    *,
    max_age: timedelta,
    protected: Collection[str] = (),
    now: datetime | None = None,
) -> list[Verdict]:
    """Return a verdict for every volume in the default-name form; other volumes are not listed."""
    current = now or datetime.now(timezone.utc)
    return [
        judge(volume, now=current, max_age=max_age, protected=protected)
        for volume in volumes
        if is_default_name(volume.name)
    ]


def reap(
    client: NeevCloudClient,
    *,
    max_age: timedelta,
    dry_run: bool = True,
    protected: Collection[str] = (),
    now: datetime | None = None,
    logger: Logger = log,
) -> ReapReport:
    """List the project, judge every volume in the default-name form, delete orphans unless ``dry_run``."""
    verdicts = judge_all(client.iter_volumes(), max_age=max_age, protected=protected, now=now)
    report = ReapReport(verdicts, dry_run)
    for verdict in verdicts:
        verb = "would delete" if dry_run and verdict.action == "delete" else verdict.action
        logger.info("Volume %s (%s): %s: %s", verdict.volume.id, verdict.volume.name, verb, verdict.reason)
    if dry_run:
        return report
    for verdict in report.orphans:
        try:
            client.delete_volume(verdict.volume.id)
        except NotFoundError:
            pass
        except NeevCloudError as error:
            report.failed[verdict.volume.id] = str(error)
            logger.warning("Could not delete orphan volume %s: %s", verdict.volume.id, error)
            continue
        report.deleted.append(verdict.volume.id)
    return report


def _span(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds >= 2 * 86400:
        return f"{seconds // 86400} d"
    if seconds >= 2 * 3600:
        return f"{seconds // 3600} h"
    if seconds >= 120:
        return f"{seconds // 60} min"
    return f"{seconds} s"
