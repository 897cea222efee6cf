"""Find, and optionally delete, volumes this deployment created that nothing uses any more.

A volume outlives its task only when everything else failed (a worker killed before it could
clean up, a cleanup the API refused until the retries ran out). The reaper is the last line, and
it fails closed: it deletes a volume only when it can prove the volume is this deployment's and
understands every reported part of its state. A volume is an orphan when

- its name is a default name *this deployment* generated
  (:func:`~neev_provider.volumes.naming.is_default_name` with the deployment's id): a name a person
  chose, another deployment's, or one from a build before deployment ids is never touched;
- it is listed in the scope the reaper was asked to look at (its ``orgID`` and ``projectID``);
- its status is ``bound`` or ``failed`` (``pending`` may have a create waiting for it,
  ``terminated`` is being deleted, any other word is not understood) and no extension is running
  or in an unknown state;
- no attachment is reported other than ones explicitly ``unmounted``, and no AIRuntime instance;
- it is older than ``max_age`` (a lease: longer than any DAG run that keeps a volume), and not
  ``protected``.

Each candidate is read again right before its DELETE and judged again, and one run deletes at most
``max_deletions`` volumes: above that it deletes nothing and says why. Every volume in this
deployment's default-name form gets a verdict with its reason, so a dry run shows exactly what a
real run would do.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Literal

from neev_provider.client.errors import NeevCloudError, NotFoundError
from neev_provider.client.models import ExtensionStatus, Volume, VolumeStatus
from neev_provider.volumes.naming import is_default_name, is_legacy_default_name
from neev_provider.volumes.reap_limits import (
    DEFAULT_MAX_DELETIONS,
    check_max_age,
    check_max_deletions,
    duration_words,
)
from neev_provider.volumes.wait import Logger

if TYPE_CHECKING:
    from neev_provider.client import NeevCloudClient, ProjectScope

log = logging.getLogger(__name__)

Action = Literal["delete", "keep"]

_DELETABLE = (VolumeStatus.BOUND, VolumeStatus.FAILED)
_SETTLED_EXTENSIONS = (None, ExtensionStatus.SUCCEEDED, ExtensionStatus.FAILED)


@dataclass(frozen=True)
class ReapVerdict:
    """What the reaper decided about one volume in this deployment's default-name form, and why."""

    volume: Volume
    action: Action
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """Return the verdict as a JSON-safe dict (what the reap operator returns)."""
        return {
            "id": self.volume.id,
            "name": self.volume.name,
            "status": str(self.volume.raw.get("status", self.volume.status.value)),
            "created_at": self.volume.created_at.isoformat() if self.volume.created_at else None,
            "action": self.action,
            "reason": self.reason,
        }


@dataclass
class ReapReport:
    """The verdicts of one run, and what happened to the volumes it meant to delete."""

    verdicts: list[ReapVerdict]
    dry_run: bool
    deleted: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    refused: str | None = None

    @property
    def orphans(self) -> list[ReapVerdict]:
        """The verdicts that say ``delete``."""
        return [v for v in self.verdicts if v.action == "delete"]


@dataclass(frozen=True)
class ReapRules:
    """What makes a volume an orphan (see the module docstring).

    :param deployment: the deployment whose default names are this reaper's.
    :param scope: the organisation and project being reaped.
    :param max_age: the lease: a younger volume may still be in use.
    :param protected: volume ids or names never to delete.
    :param max_deletions: the most one run deletes; with more orphans it deletes none.
    """

    deployment: str
    scope: ProjectScope
    max_age: timedelta
    protected: Collection[str] = ()
    max_deletions: int = DEFAULT_MAX_DELETIONS

    def __post_init__(self) -> None:
        check_max_age(self.max_age)
        check_max_deletions(self.max_deletions)

    def judge(self, volume: Volume, now: datetime) -> ReapVerdict:
        """Decide about one volume in this deployment's default-name form."""
        reason = self._reason_to_keep(volume, now)
        if reason is not None:
            return ReapVerdict(volume, "keep", reason)
        age = _age(volume, now)
        assert age is not None  # an unknown age is a reason to keep
        status = volume.status.value
        return ReapVerdict(
            volume,
            "delete",
            f"created {duration_words(age)} ago (max_age {duration_words(self.max_age)}), {status}, unused",
        )

    def _reason_to_keep(self, volume: Volume, now: datetime) -> str | None:
        if volume.id in self.protected or volume.name in self.protected:
            return "protected"
        if (volume.org_id, volume.project_id) != (self.scope.org_id, self.scope.project_id):
            return f"listed with org {volume.org_id!r}, project {volume.project_id!r}: not the scope reaped"
        in_use = _in_use(volume)
        if in_use is not None:
            return in_use
        age = _age(volume, now)
        if age is None:
            return "its creation time is unknown"
        if age < self.max_age:
            return f"created {duration_words(age)} ago, younger than max_age {duration_words(self.max_age)}"
        return None


def _in_use(volume: Volume) -> str | None:
    """Why the volume's reported state may mean something uses it, or ``None`` if nothing does."""
    status = str(volume.raw.get("status", ""))
    if volume.status is VolumeStatus.PENDING:
        return "still pending: a create may be waiting for it"
    if volume.status is VolumeStatus.TERMINATED:
        return "already terminated: being deleted"
    if volume.status not in _DELETABLE:
        return f"status {status!r} is not understood: kept"
    if volume.extension_status not in _SETTLED_EXTENSIONS:
        return f"extension_status {str(volume.raw.get('extension_status'))!r}: an extension may be running"
    attached = [a for a in _items(volume.raw.get("volumeAttachments")) if a.get("status") != "unmounted"]
    if attached:
        return "attached: " + "; ".join(_describe_attachment(a) for a in attached[:5])
    instances = volume.raw.get("airuntime_instances")
    if instances not in (None, []):
        return f"listed with AIRuntime instances ({_shorten(instances)})"
    return None


def _items(value: object) -> list[Mapping[str, Any]]:
    """The objects of a list field; anything else there counts as one unknown attachment."""
    if value is None:
        return []
    if not isinstance(value, list):
        return [{"status": repr(value)}]
    return [item if isinstance(item, Mapping) else {"status": repr(item)} for item in value]


def _describe_attachment(item: Mapping[str, Any]) -> str:
    who = item.get("resource_name") or item.get("resource_id") or item.get("id") or "a resource"
    return f"{item.get('resource_type') or 'resource'} {who} ({item.get('status')!r})"


def _shorten(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 120 else text[:119] + "…"


def judge_all(volumes: Iterable[Volume], rules: ReapRules, now: datetime) -> list[ReapVerdict]:
    """Return a verdict for every volume of this deployment; legacy default names are kept, and said so."""
    verdicts = []
    for volume in volumes:
        if is_default_name(volume.name, rules.deployment):
            verdicts.append(rules.judge(volume, now))
        elif is_legacy_default_name(volume.name):
            reason = (
                "a default name from before deployment ids: not provably this deployment's; delete it by hand"
            )
            verdicts.append(ReapVerdict(volume, "keep", reason))
    return verdicts


def reap(
    client: NeevCloudClient,
    rules: ReapRules,
    *,
    dry_run: bool = True,
    now: datetime | None = None,
    logger: Logger = log,
) -> ReapReport:
    """List the scope, judge every volume of this deployment, and delete the orphans unless ``dry_run``."""
    current = now or datetime.now(timezone.utc)
    scope = rules.scope
    verdicts = judge_all(
        client.iter_volumes(org_id=scope.org_id, project_id=scope.project_id), rules, current
    )
    report = ReapReport(verdicts, dry_run)
    for verdict in verdicts:
        verb = "would delete" if dry_run and verdict.action == "delete" else verdict.action
        logger.info("Volume %s (%s): %s: %s", verdict.volume.id, verdict.volume.name, verb, verdict.reason)
    if len(report.orphans) > rules.max_deletions:
        report.refused = (
            f"{len(report.orphans)} volumes qualify, more than max_deletions={rules.max_deletions}: nothing "
            "is deleted. Check the verdicts; raise max_deletions if they are right"
        )
        logger.warning("%s", report.refused)
        return report
    if not dry_run:
        for verdict in report.orphans:
            _delete_if_still_orphaned(client, rules, verdict.volume.id, report, logger)
    return report


def _delete_if_still_orphaned(
    client: NeevCloudClient, rules: ReapRules, volume_id: str, report: ReapReport, logger: Logger
) -> None:
    """Read the volume again, judge it again, and delete it only if it is still an orphan."""
    scope = rules.scope
    try:
        fresh = client.find_volume(volume_id, org_id=scope.org_id, project_id=scope.project_id)
        if fresh is None:
            return
        verdict = rules.judge(fresh, datetime.now(timezone.utc))
        if verdict.action == "keep":
            logger.info("Volume %s changed since it was listed (%s): kept", volume_id, verdict.reason)
            return
        client.delete_volume(volume_id, org_id=scope.org_id, project_id=scope.project_id)
    except NotFoundError:
        return
    except NeevCloudError as error:
        report.failed[volume_id] = str(error)
        logger.warning("Could not delete orphan volume %s: %s", volume_id, error)
        return
    report.deleted.append(volume_id)
    logger.info("Deleted orphan volume %s", volume_id)


def _age(volume: Volume, now: datetime) -> timedelta | None:
    created = volume.created_at
    if created is None:
        return None
    if created.tzinfo is None:
        created = created.replace(tzinfo=timezone.utc)
    return now - created
