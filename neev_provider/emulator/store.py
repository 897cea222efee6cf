"""The volume store: state, lifecycle transitions and the rules of each API operation.

No HTTP here. Methods are named after the API operations and return JSON-ready dicts (or raise
:class:`~neev_provider.emulator.errors.EmulatorError`). Transitions are lazy: a volume's
scheduled deadlines are checked against the clock whenever it is read, so no background task
exists and :meth:`Clock.advance` takes effect on the next request. One lock guards everything
because the in-thread server and a test's own thread may both reach the store.
"""

from __future__ import annotations

import math
import secrets
import threading
import uuid
from collections import deque
from collections.abc import Callable
from typing import Any

from neev_provider.emulator.clock import Clock
from neev_provider.emulator.dialects import SHIFT_PREFIX
from neev_provider.emulator.errors import EmulatorError, not_found, render_value, validation_error
from neev_provider.emulator.models import Attachment, Volume
from neev_provider.emulator.settings import MAX_SIZE_GB, EmulatorSettings
from neev_provider.emulator.validation import CreateVolumeRequest, ListQuery

#: Which scripted outcomes each operation accepts (``bind`` covers what a create turns into).
OUTCOMES = {"bind": ("failed", "terminated"), "extend": ("failed",)}
VOLUME_STATUSES = ("pending", "bound", "failed", "terminated")
EVENT_LOG_SIZE = 10_000
EXTENSION_STATUSES = ("resizing", "succeeded", "failed")


class Store:
    """Hold every volume of every (org, project) and apply the API's rules.

    :param clock: the emulator clock deadlines are measured on.
    :param settings: returns the current settings (delays are read at operation time).
    """

    def __init__(self, clock: Clock, settings: Callable[[], EmulatorSettings]) -> None:
        self._clock = clock
        self._settings = settings
        self._lock = threading.Lock()
        self._volumes: dict[str, Volume] = {}
        self._outcomes: dict[str, deque[str]] = {name: deque() for name in OUTCOMES}
        # What happened to each volume and when, for people watching a demo or a failing test.
        self._events: deque[dict[str, Any]] = deque(maxlen=EVENT_LOG_SIZE)

    def reset(self) -> None:
        """Forget all volumes and scripted outcomes."""
        with self._lock:
            self._volumes.clear()
            self._events.clear()
            for queue in self._outcomes.values():
                queue.clear()

    # -- API operations -------------------------------------------------------------------------

    def list_volumes(
        self, org_id: str, project_id: str, query: ListQuery, *, newest_first: bool = False
    ) -> dict[str, Any]:
        """Return one page of the project's volumes (``listNetworkVolumes``).

        :param newest_first: order by creation time and id descending (the ``newest-first``
            dialect) instead of ascending.
        """
        with self._lock:
            now = self._clock.now()
            scoped = [
                volume
                for volume in list(self._volumes.values())
                if volume.org_id == org_id and volume.project_id == project_id and self._alive(volume, now)
            ]
            if query.available:
                scoped = [volume for volume in scoped if volume.status == "bound"]
            scoped.sort(key=Volume.sort_key, reverse=newest_first)
            start = (query.page - 1) * query.limit
            page = [volume.to_dict() for volume in scoped[start : start + query.limit]]
        return {
            "volumes": page,
            "pagination": {
                "current_page": query.page,
                "items_per_page": query.limit,
                "total_items": len(scoped),
                "total_pages": math.ceil(len(scoped) / query.limit),
            },
        }

    def create_volume(self, org_id: str, project_id: str, request: CreateVolumeRequest) -> dict[str, Any]:
        """Create a ``pending`` volume that binds (or fails, if scripted) later (``createNetworkVolume``)."""
        settings = self._settings()
        with self._lock:
            now = self._clock.now()
            volume = Volume(
                id=str(uuid.uuid4()),
                org_id=org_id,
                project_id=project_id,
                name=request.name or f"nv-{secrets.token_hex(5)}",
                region_id=request.region_id,
                size_gb=request.size_gb,
                volume_mode=request.volume_mode,
                plan_id=f"nv-standard-{request.region_id}",
                created_at=now,
                updated_at=now,
                bind_at=now + settings.bind_delay,
                bind_outcome=self._next_outcome("bind", "bound"),
            )
            _attach_instances(volume, request, now)
            self._volumes[volume.id] = volume
            self._record(volume, now, f"created: pending, {volume.size_gb} GB in {volume.region_id}")
            # The answer shows the state at creation, even when bind_delay is 0.
            return volume.to_dict()

    def get_volume(self, org_id: str, project_id: str, volume_id: str) -> dict[str, Any]:
        """Return one volume (``getNetworkVolume``)."""
        with self._lock:
            return self._find(volume_id, self._clock.now(), (org_id, project_id)).to_dict()

    def delete_volume(self, org_id: str, project_id: str, volume_id: str) -> None:
        """Delete a volume that nothing has mounted (``deleteNetworkVolume``)."""
        delay = self._settings().delete_delay
        with self._lock:
            now = self._clock.now()
            volume = self._find(volume_id, now, (org_id, project_id))
            _check_not_in_use(volume)
            if delay <= 0:
                del self._volumes[volume_id]
                self._record(volume, now, "deleted")
            elif volume.delete_at is None:
                # Shown as terminated for a while, like a PVC being torn down, then gone.
                volume.status = "terminated"
                volume.bind_at = None
                volume.updated_at = now
                volume.delete_at = now + delay
                self._record(volume, now, "delete accepted: terminated")

    def extend_volume(self, org_id: str, project_id: str, volume_id: str, size_gb: int) -> dict[str, Any]:
        """Queue a resize to ``size_gb`` in total (``extendNetworkVolume``)."""
        delay = self._settings().resize_delay
        with self._lock:
            now = self._clock.now()
            volume = self._find(volume_id, now, (org_id, project_id))
            _check_extendable(volume, size_gb)
            volume.actual_size_gb = volume.size_gb
            volume.size_gb = size_gb
            volume.extension_status = "resizing"
            volume.resize_at = now + delay
            volume.resize_outcome = self._next_outcome("extend", "succeeded")
            volume.updated_at = now
            self._record(
                volume, now, f"extension requested: resizing {volume.actual_size_gb} -> {size_gb} GB"
            )
            return volume.to_dict()

    def shift(self, org_id: str, project_id: str) -> tuple[str, str] | None:
        """Replace the project's oldest ``shift-…`` volume with a new one (the ``shifting`` dialect).

        Stands for another client deleting and creating volumes while this one pages. The oldest
        alive volume of the project whose name starts with ``shift-`` (whatever a list filter
        would show) is removed at once, even if mounted, and a new volume named ``shift-`` plus
        10 hex digits is created now, with the same size, region, mode and status (a ``pending``
        one binds after ``bind_delay``; scripted outcomes are left for the test's own volumes),
        so the total stays the same. Returns ``(deleted id, created id)``, or ``None`` when the
        project has no such volume.
        """
        bind_delay = self._settings().bind_delay
        with self._lock:
            now = self._clock.now()
            foreign = [
                volume
                for volume in list(self._volumes.values())
                if volume.org_id == org_id
                and volume.project_id == project_id
                and volume.name.startswith(SHIFT_PREFIX)
                and self._alive(volume, now)
            ]
            if not foreign:
                return None
            oldest = min(foreign, key=Volume.sort_key)
            del self._volumes[oldest.id]
            self._record(oldest, now, "deleted by another client (shifting dialect)")
            volume = Volume(
                id=str(uuid.uuid4()),
                org_id=org_id,
                project_id=project_id,
                name=f"{SHIFT_PREFIX}{secrets.token_hex(5)}",
                region_id=oldest.region_id,
                size_gb=oldest.size_gb,
                volume_mode=oldest.volume_mode,
                plan_id=oldest.plan_id,
                created_at=now,
                updated_at=now,
                status=oldest.status,
                bind_at=now + bind_delay if oldest.status == "pending" else None,
            )
            self._volumes[volume.id] = volume
            self._record(volume, now, f"created by another client (shifting dialect): {volume.status}")
            return oldest.id, volume.id

    # -- admin operations -----------------------------------------------------------------------

    def all_volumes(self) -> list[dict[str, Any]]:
        """Return every volume of every org and project, settled, in list order."""
        with self._lock:
            now = self._clock.now()
            alive = [volume for volume in list(self._volumes.values()) if self._alive(volume, now)]
            return [volume.to_dict() for volume in sorted(alive, key=Volume.sort_key)]

    def force_state(
        self, volume_id: str, status: str | None = None, extension_status: str | None = None
    ) -> dict[str, Any]:
        """Set ``status`` and/or ``extension_status`` now; forced states stay until changed again."""
        with self._lock:
            now = self._clock.now()
            volume = self._find(volume_id, now)
            if status is not None:
                volume.status = status
                volume.bind_at = None
                volume.delete_at = None
            if extension_status is not None:
                _force_extension(volume, extension_status)
            volume.updated_at = now
            return volume.to_dict()

    def attach(
        self,
        volume_id: str,
        *,
        resource_type: str,
        resource_name: str,
        mount_path: str | None = None,
        resource_id: str | None = None,
        status: str = "mounted",
    ) -> dict[str, Any]:
        """Record that a resource mounted the volume and return the attachment."""
        with self._lock:
            now = self._clock.now()
            volume = self._find(volume_id, now)
            attachment = Attachment(
                id=str(uuid.uuid4()),
                volume_id=volume.id,
                resource_type=resource_type,
                resource_name=resource_name,
                resource_id=resource_id or str(uuid.uuid4()),
                mount_path=mount_path,
                status=status,
                created_at=now,
            )
            volume.attachments.append(attachment)
            volume.updated_at = now
            return attachment.to_dict()

    def detach(self, volume_id: str, attachment_id: str) -> None:
        """Remove an attachment (and the AIRuntime instance entry it came from, if any)."""
        with self._lock:
            now = self._clock.now()
            volume = self._find(volume_id, now)
            match = [item for item in volume.attachments if item.id == attachment_id]
            if not match:
                raise not_found("attachment", attachment_id)
            volume.attachments.remove(match[0])
            volume.airuntime_instances = [
                item for item in volume.airuntime_instances if item["instance_id"] != match[0].resource_id
            ]
            volume.updated_at = now

    def script_outcome(self, operation: str, outcome: str, times: int) -> dict[str, list[str]]:
        """Make the next ``times`` binds or extensions end with ``outcome``; return the queues."""
        with self._lock:
            self._outcomes[operation].extend([outcome] * times)
            return {name: list(queue) for name, queue in self._outcomes.items()}

    # -- internals ------------------------------------------------------------------------------

    def _next_outcome(self, operation: str, default: str) -> str:
        queue = self._outcomes[operation]
        return queue.popleft() if queue else default

    def _find(self, volume_id: str, now: float, scope: tuple[str, str] | None = None) -> Volume:
        volume = self._volumes.get(volume_id)
        # Another project's volume answers 404, as if it did not exist; so does a malformed id.
        if volume is None or (scope is not None and (volume.org_id, volume.project_id) != scope):
            raise not_found("volume", volume_id)
        if not self._alive(volume, now):
            raise not_found("volume", volume_id)
        return volume

    def _alive(self, volume: Volume, now: float) -> bool:
        """Apply every transition due by ``now``; drop and return False if the volume is gone."""
        for at, event in _settle(volume, now):
            self._record(volume, at, event)
        if volume.delete_at is not None and now >= volume.delete_at:
            del self._volumes[volume.id]
            self._record(volume, volume.delete_at, "deleted")
            return False
        return True

    def _record(self, volume: Volume, at: float, event: str) -> None:
        self._events.append({"time": at, "volume_id": volume.id, "volume_name": volume.name, "event": event})

    def events(self) -> list[dict[str, Any]]:
        """Return the lifecycle events recorded so far, oldest first.

        Transitions are applied lazily, so a transition shows once something has read the
        volume after it was due, stamped with the time it was due.
        """
        with self._lock:
            return sorted(self._events, key=lambda event: float(event["time"]))


def _settle(volume: Volume, now: float) -> list[tuple[float, str]]:
    """Apply the transitions due by ``now``; return them as (when, what) for the event log."""
    happened = []
    if volume.bind_at is not None and now >= volume.bind_at:
        volume.status = volume.bind_outcome
        volume.updated_at = max(volume.updated_at, volume.bind_at)
        happened.append((volume.bind_at, volume.status))
        volume.bind_at = None
    if volume.resize_at is not None and now >= volume.resize_at:
        if volume.resize_outcome == "succeeded":
            volume.actual_size_gb = volume.size_gb
        elif volume.actual_size_gb is not None:
            volume.size_gb = volume.actual_size_gb
        volume.extension_status = volume.resize_outcome
        volume.updated_at = max(volume.updated_at, volume.resize_at)
        happened.append((volume.resize_at, f"extension {volume.resize_outcome}: {volume.size_gb} GB"))
        volume.resize_at = None
    return happened


def _attach_instances(volume: Volume, request: CreateVolumeRequest, now: float) -> None:
    """Record the create request's ``attachedTo`` instances as mounted AIRuntime attachments."""
    for instance in request.attached_to:
        volume.airuntime_instances.append(
            {
                "instance_id": instance.instance_id,
                "instance_name": instance.instance_name,
                "instance_type": instance.instance_type,
            }
        )
        volume.attachments.append(
            Attachment(
                id=str(uuid.uuid4()),
                volume_id=volume.id,
                resource_type="airuntime",
                resource_name=instance.instance_name,
                resource_id=instance.instance_id,
                mount_path=request.mount_path,
                created_at=now,
            )
        )


def _force_extension(volume: Volume, extension_status: str) -> None:
    volume.resize_at = None
    volume.extension_status = extension_status
    if extension_status == "failed" and volume.actual_size_gb is not None:
        volume.size_gb = volume.actual_size_gb
    elif extension_status == "succeeded" or volume.actual_size_gb is None:
        volume.actual_size_gb = volume.size_gb


def _check_not_in_use(volume: Volume) -> None:
    mounted = [item for item in volume.attachments if item.status == "mounted"]
    if not mounted:
        return
    names = ", ".join(f"{item.resource_type} {render_value(item.resource_name)}" for item in mounted)
    raise EmulatorError(
        400,
        "volume_in_use",
        f"volume {volume.id} is in use: mounted by {names}; detach it before deleting",
        {"volume_id": volume.id, "attachments": [item.to_dict() for item in mounted]},
    )


def _check_extendable(volume: Volume, size_gb: int) -> None:
    if size_gb > MAX_SIZE_GB:
        raise validation_error(
            "sizeGB", "maximum", f"must be at most {MAX_SIZE_GB} (platform limit)", size_gb
        )
    if volume.status != "bound":
        raise EmulatorError(
            400,
            "invalid_state",
            f"volume {volume.id} cannot be extended while its status is {volume.status}; it must be bound",
            {"volume_id": volume.id, "status": volume.status},
        )
    if volume.extension_status == "resizing":
        raise EmulatorError(
            400,
            "extension_in_progress",
            f"volume {volume.id} is already being resized to {volume.size_gb} GB",
            {"volume_id": volume.id, "extension_status": "resizing", "sizeGB": volume.size_gb},
        )
    if size_gb <= volume.size_gb:
        raise validation_error(
            "sizeGB",
            "greater_than_current",
            f"must be greater than the current size {volume.size_gb}",
            size_gb,
            current_sizeGB=volume.size_gb,
        )
