"""The fake's state: volumes, their attachments, and how they change over time.

Everything here is the dialect-free truth; :mod:`tests.spec_fake.dialects` decides how it is
worded on the wire. Shapes and field names follow ``NetworkVolumeResponse``,
``VolumeAttachmentResponse`` and ``AttachedTo`` of the Storage spec (v1beta1).

A volume that is waiting for something (``pending`` -> ``bound``, ``resizing`` -> ``succeeded``,
``terminated`` -> gone) is in a *phase*. A phase ends after a number of client reads of the volume
(a GET, or an appearance on a list page) or after a number of seconds, whichever comes first:
reads make tests deterministic, seconds make the fake usable from a clock-driven poller.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any


class Refusal(Exception):
    """An operation the API refuses; the server words it in its dialect.

    :param kind: ``not_found``, ``in_use`` or ``invalid``.
    :param volume_id: the volume concerned, if any.
    :param detail: what was wrong, in plain words (for ``invalid``).
    """

    def __init__(self, kind: str, volume_id: str | None = None, detail: str = "") -> None:
        super().__init__(kind, volume_id, detail)
        self.kind = kind
        self.volume_id = volume_id
        self.detail = detail


@dataclass(frozen=True)
class Delay:
    """When a phase ends: after ``reads`` client reads or ``seconds`` seconds, whichever is first.

    ``None`` disables a condition; ``Delay(reads=0)`` ends the phase at the first read.
    """

    reads: int | None = 2
    seconds: float | None = None

    def over(self, reads: int, started: float, now: float) -> bool:
        by_reads = self.reads is not None and reads >= self.reads
        by_time = self.seconds is not None and now - started >= self.seconds
        return by_reads or by_time


@dataclass
class Attachment:
    """A resource mounting a volume (``VolumeAttachmentResponse``)."""

    id: str
    volume_id: str
    resource_type: str
    resource_id: str
    resource_name: str
    mount_path: str
    status: str
    created_at: datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "volume_id": self.volume_id,
            "resource_type": self.resource_type,
            "resource_id": self.resource_id,
            "resource_name": self.resource_name,
            "mount_path": self.mount_path,
            "status": self.status,
            "createdAt": _rfc3339(self.created_at),
        }


@dataclass
class Volume:
    """One network volume and the phase it is in, if any."""

    id: str
    name: str
    org_id: str
    project_id: str
    region_id: str
    size_gb: int
    volume_mode: str
    status: str
    created_at: datetime
    updated_at: datetime
    plan_id: str = "plan-standard"
    extension_status: str | None = None
    actual_size_gb: int | None = None
    airuntime_instances: list[dict[str, str]] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    # The phase: "binding", "resizing" or "terminating"; reads counted and start time.
    phase: str | None = None
    phase_reads: int = 0
    phase_started: float = 0.0

    @property
    def mounted(self) -> list[Attachment]:
        return [a for a in self.attachments if a.status == "mounted"]

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "orgID": self.org_id,
            "projectID": self.project_id,
            "regionID": self.region_id,
            "sizeGB": self.size_gb,
            "volumeMode": self.volume_mode,
            "planID": self.plan_id,
            "status": self.status,
            "airuntime_instances": [dict(item) for item in self.airuntime_instances],
            "volumeAttachments": [a.to_json() for a in self.attachments],
            "createdAt": _rfc3339(self.created_at),
            "updatedAt": _rfc3339(self.updated_at),
        }
        # Both fields describe "the latest volume extension operation": absent until there is one.
        if self.extension_status is not None:
            body["extension_status"] = self.extension_status
        if self.actual_size_gb is not None:
            body["actual_sizeGB"] = self.actual_size_gb
        return body


def _rfc3339(when: datetime) -> str:
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class Lifecycle:
    """How long each phase lasts; ``terminated_reads`` > 0 keeps a deleted volume listed a while."""

    bind: Delay = Delay()
    resize: Delay = Delay()
    terminated_reads: int = 0


class VolumeStore:
    """Every project's volumes, behind one lock (the server answers from several threads)."""

    def __init__(self, lifecycle: Lifecycle) -> None:
        self.lifecycle = lifecycle
        self._lock = threading.RLock()
        self._volumes: dict[str, Volume] = {}
        self._last_stamp = datetime.now(timezone.utc) - timedelta(days=1)
        self._shifted = 0

    # -- what the API does ------------------------------------------------------------------

    def create(self, org_id: str, project_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """Create from a validated ``NetworkVolumeRequest``; the volume starts ``pending``."""
        with self._lock:
            volume = self._new(
                org_id,
                project_id,
                name=body.get("name") or f"vol-{uuid.uuid4().hex[:8]}",
                size_gb=body["sizeGB"],
                region_id=body["regionID"],
                volume_mode=body["volumeMode"],
                status="pending",
            )
            volume.airuntime_instances = [dict(item) for item in body.get("attachedTo", [])]
            self._start(volume, "binding")
            return volume.to_json()

    def read(self, org_id: str, project_id: str, volume_id: str) -> dict[str, Any]:
        """``getNetworkVolume``: one client read of the volume."""
        with self._lock:
            volume = self._observe(self._find(org_id, project_id, volume_id))
            if volume is None:
                raise Refusal("not_found", volume_id)
            return volume.to_json()

    def page(
        self,
        org_id: str,
        project_id: str,
        *,
        page: int,
        limit: int,
        newest_first: bool,
        available: bool | None,
    ) -> tuple[list[dict[str, Any]], int]:
        """``listNetworkVolumes``: the volumes on one page, and how many there are in all."""
        with self._lock:
            self._advance_all()
            listed = self._listed(org_id, project_id, newest_first)
            if available:
                listed = [v for v in listed if v.status == "bound"]
            chunk = listed[(page - 1) * limit : page * limit]
            # Only what the client is shown counts as read; a read may end a phase, and a
            # terminated volume whose time is up vanishes instead of being shown.
            shown = [self._observe(v) for v in chunk]
            return [v.to_json() for v in shown if v is not None], len(listed)

    def extend(self, org_id: str, project_id: str, volume_id: str, size_gb: int) -> dict[str, Any]:
        """``extendNetworkVolume``: ``sizeGB`` becomes the new total at once, ``actual_sizeGB`` later."""
        with self._lock:
            volume = self._find(org_id, project_id, volume_id)
            self._advance(volume)
            if volume.status != "bound" or volume.extension_status == "resizing":
                state = volume.extension_status if volume.status == "bound" else volume.status
                raise Refusal("invalid", volume_id, f"volume cannot be extended while {state}")
            if size_gb <= volume.size_gb:
                raise Refusal("invalid", volume_id, f"new size must be greater than {volume.size_gb} GB")
            volume.actual_size_gb = volume.size_gb
            volume.size_gb = size_gb
            volume.extension_status = "resizing"
            self._start(volume, "resizing")
            return volume.to_json()

    def delete(self, org_id: str, project_id: str, volume_id: str) -> None:
        """``deleteNetworkVolume``: refused while a resource has the volume mounted."""
        with self._lock:
            volume = self._find(org_id, project_id, volume_id)
            if volume.mounted:
                names = ", ".join(f"{a.resource_name} at {a.mount_path}" for a in volume.mounted)
                raise Refusal("in_use", volume_id, names)
            if volume.phase == "terminating":
                return  # already going away: a repeated delete is accepted
            if self.lifecycle.terminated_reads <= 0:
                del self._volumes[volume_id]
                return
            volume.status = "terminated"
            self._start(volume, "terminating")

    def shift(self, org_id: str, project_id: str) -> None:
        """Delete the oldest ``other-…`` volume and create a new one: the list moves by one."""
        with self._lock:
            others = [v for v in self._listed(org_id, project_id, False) if v.name.startswith("other-")]
            if not others:
                return
            del self._volumes[others[0].id]
            self._shifted += 1
            self._new(
                org_id,
                project_id,
                name=f"other-shifted-{self._shifted:04d}",
                size_gb=others[0].size_gb,
                region_id=others[0].region_id,
                volume_mode="filesystem",
                status="bound",
            )

    # -- test hooks ---------------------------------------------------------------------------

    def seed(self, org_id: str, project_id: str, **fields: Any) -> str:
        """Add a volume as if made earlier; ``status="pending"`` starts it binding."""
        with self._lock:
            status = fields.pop("status", "bound")
            volume = self._new(org_id, project_id, status=status, **fields)
            if status == "pending":
                self._start(volume, "binding")
            return volume.id

    def attach(self, volume_id: str, *, resource_name: str, mount_path: str, resource_type: str) -> str:
        with self._lock:
            volume = self._volumes[volume_id]
            attachment = Attachment(
                id=str(uuid.uuid4()),
                volume_id=volume_id,
                resource_type=resource_type,
                resource_id=str(uuid.uuid4()),
                resource_name=resource_name,
                mount_path=mount_path,
                status="mounted",
                created_at=self._stamp(),
            )
            volume.attachments.append(attachment)
            return attachment.id

    def detach(self, volume_id: str, attachment_id: str, *, keep_record: bool) -> None:
        """Unmount: the attachment goes away, or stays listed as ``unmounted`` (``keep_record``)."""
        with self._lock:
            volume = self._volumes[volume_id]
            (attachment,) = [a for a in volume.attachments if a.id == attachment_id]
            if keep_record:
                attachment.status = "unmounted"
            else:
                volume.attachments.remove(attachment)
            volume.updated_at = self._stamp()

    def snapshot(self, volume_id: str) -> dict[str, Any] | None:
        """The volume as it is now (time-based phases advanced; no read counted)."""
        with self._lock:
            self._advance_all()
            volume = self._volumes.get(volume_id)
            return None if volume is None else volume.to_json()

    def snapshots(self) -> list[dict[str, Any]]:
        """Every volume, oldest first."""
        with self._lock:
            self._advance_all()
            ordered = sorted(self._volumes.values(), key=lambda v: v.created_at)
            return [v.to_json() for v in ordered]

    # -- internals ----------------------------------------------------------------------------

    def _new(self, org_id: str, project_id: str, **fields: Any) -> Volume:
        stamp = self._stamp()
        volume = Volume(
            id=str(uuid.uuid4()),
            org_id=org_id,
            project_id=project_id,
            created_at=stamp,
            updated_at=stamp,
            **fields,
        )
        self._volumes[volume.id] = volume
        return volume

    def _stamp(self) -> datetime:
        # Strictly increasing, so that "oldest first" is the order of creation even for volumes
        # seeded within the same microsecond.
        now = datetime.now(timezone.utc)
        self._last_stamp = max(now, self._last_stamp + timedelta(microseconds=1))
        return self._last_stamp

    def _find(self, org_id: str, project_id: str, volume_id: str) -> Volume:
        volume = self._volumes.get(volume_id)
        if volume is None or (volume.org_id, volume.project_id) != (org_id, project_id):
            raise Refusal("not_found", volume_id)
        return volume

    def _listed(self, org_id: str, project_id: str, newest_first: bool) -> list[Volume]:
        mine = [v for v in self._volumes.values() if (v.org_id, v.project_id) == (org_id, project_id)]
        return sorted(mine, key=lambda v: v.created_at, reverse=newest_first)

    def _start(self, volume: Volume, phase: str) -> None:
        volume.phase, volume.phase_reads, volume.phase_started = phase, 0, time.monotonic()
        volume.updated_at = self._stamp()

    def _observe(self, volume: Volume) -> Volume | None:
        """Count one client read; return the volume, or ``None`` if it just went away."""
        self._advance(volume, reading=True)
        if volume.id not in self._volumes:
            return None
        if volume.phase is not None:
            volume.phase_reads += 1
        return volume

    def _advance_all(self) -> None:
        for volume in list(self._volumes.values()):
            self._advance(volume)

    def _advance(self, volume: Volume, *, reading: bool = False) -> None:
        if volume.phase is None:
            return
        delay = self._delay(volume.phase)
        # Reads only end a phase on a read, so that a test hook never consumes one.
        reads = volume.phase_reads if reading else -1
        if not delay.over(reads, volume.phase_started, time.monotonic()):
            return
        finished, volume.phase = volume.phase, None
        volume.updated_at = self._stamp()
        if finished == "binding":
            volume.status = "bound"
        elif finished == "resizing":
            volume.extension_status, volume.actual_size_gb = "succeeded", volume.size_gb
        else:
            del self._volumes[volume.id]

    def _delay(self, phase: str) -> Delay:
        if phase == "binding":
            return self.lifecycle.bind
        if phase == "resizing":
            return self.lifecycle.resize
        return Delay(reads=self.lifecycle.terminated_reads, seconds=None)
